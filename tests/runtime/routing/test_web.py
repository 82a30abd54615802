"""The route on the card: which route starts on registration or by hand, the route panel (steps,
timeline, state, the user's tasks), retry and cancel, and who may read a document because
they take part in its route."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from potok.app import services_of
from potok.metadata import folders, store
from potok.platform.audit import Actor
from potok.platform.models import Department, Role, RouteInstance, RouteTask, User
from potok.runtime import documents, extras
from potok.runtime.routing import jobs, tasks
from tests.builders import Publisher, field, labels, stream
from tests.runtime.test_screens import card_id


def node(key: str, type_: str, **spec: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "labels": labels(key.title(), f"Шаг {key}"), **spec}


def route(key: str, *middle: dict[str, Any]) -> dict[str, Any]:
    keys = ["start", *(item["key"] for item in middle), "end"]
    return {
        "kind": "route",
        "key": key,
        "labels": labels(key.replace("_", " ").title()),
        "stream": "deals",
        "nodes": [node("start", "start"), *middle, node("end", "end")],
        "edges": [{"from": a, "to": b} for a, b in itertools.pairwise(keys)],
    }


GRANTS = {
    "grants": [
        {"role": "sales", "read": "own", "edit": "own", "create": True},
        {"role": "legal", "read": "own"},
        {"role": "viewer", "read": "all"},
    ]
}


def deals(start: str = "on_registration") -> dict[str, Any]:
    return stream(
        "deals",
        field("title", required=True),
        field("amount", "money"),
        access=GRANTS,
        routes={
            "default": "visa",
            "conditional": [
                {"when": {">": [{"var": "amount"}, 1000000]}, "route": "big_visa"},
            ],
            "start": start,
        },
    )


VISA = route(
    "visa",
    node(
        "legal",
        "approval",
        executors=[{"role": "legal"}],
        controller={"user": "carl"},
    ),
)
BIG_VISA = route(
    "big_visa",
    node("legal", "approval", executors=[{"role": "legal"}]),
    node("ceo", "approval", executors=[{"user": "boss"}]),
)


class Company:
    def __init__(self, publisher: Publisher, db: Any, clock: Any, as_user: Any) -> None:
        self.publisher, self.db, self.clock, self.as_user = publisher, db, clock, as_user

    def publish(self, start: str = "on_registration") -> None:
        self.publisher.publish(deals(start), VISA, BIG_VISA)

    def person(self, name: str, *roles: str, **options: Any) -> Any:
        client = self.as_user(name, **options)
        with self.db.session(write=True) as session:
            user = session.scalar(select(User).where(User.username == name))
            assert user is not None
            for key in roles:
                role = session.scalar(select(Role).where(Role.key == key))
                if role is None:
                    role = Role(
                        key=key,
                        labels=labels(key),
                        description="",
                        capabilities=[],
                        created_at=self.clock(),
                        updated_at=self.clock(),
                    )
                    session.add(role)
                    session.flush()
                user.roles.append(role)
        return client

    def register(self, client: Any, **values: str) -> Any:
        return client.submit("/s/deals/new", {"title": "Supply", "amount": "500000", **values})

    def instance(self, doc_id: int) -> RouteInstance:
        with self.db.session() as session:
            found = session.scalar(
                select(RouteInstance)
                .where(RouteInstance.stream == "deals", RouteInstance.doc_id == doc_id)
                .order_by(RouteInstance.id.desc())
            )
            assert found is not None
            return found

    def open_task(self, doc_id: int) -> RouteTask:
        with self.db.session() as session:
            found = session.scalar(
                select(RouteTask)
                .join(RouteInstance, RouteInstance.id == RouteTask.instance_id)
                .where(RouteInstance.doc_id == doc_id, RouteTask.status == "open")
            )
            assert found is not None
            return found


@pytest.fixture
def company(publisher: Publisher, db: Any, clock: Any, as_user: Any, admin: Any) -> Company:
    found = Company(publisher, db, clock, as_user)
    found.boss = admin  # type: ignore[attr-defined]  # "boss", the administrator, is the CEO
    return found


def test_registering_starts_the_chosen_route_and_the_card_shows_it(company: Company) -> None:
    sara = company.person("sara", "sales")
    lena = company.person("lena", "legal")
    company.person("carl", "sales")
    company.publish()
    response = company.register(sara)
    assert response.status_code == 303
    doc_id = card_id(response)
    assert company.instance(doc_id).route == "visa"
    card = sara.get(f"/s/deals/{doc_id}")
    assert card.status_code == 200
    assert 'id="route"' in card.text and "Visa" in card.text
    assert '<li class="route-step route-step-current" aria-current="step">' in card.text
    assert "Route started" in card.text and "Task given to Lena" in card.text
    assert "Your task" not in card.text  # Sara has no task here
    task = company.open_task(doc_id)
    lena_card = lena.get(f"/s/deals/{doc_id}")
    assert lena_card.status_code == 200
    assert f'href="/inbox/{task.id}"' in lena_card.text
    assert "Your task: Legal" in lena_card.text
    big = card_id(company.register(sara, amount="2000000"))
    assert company.instance(big).route == "big_visa"


def test_route_participants_may_read_the_document_others_get_404(company: Company) -> None:
    sara = company.person("sara", "sales")
    lena = company.person("lena", "legal")
    carl = company.person("carl", "sales")  # the controller of the legal step
    nick = company.person("nick", "sales")
    company.publish()
    doc_id = card_id(company.register(sara))
    assert lena.get(f"/s/deals/{doc_id}").status_code == 200
    assert carl.get(f"/s/deals/{doc_id}").status_code == 200
    assert nick.get(f"/s/deals/{doc_id}").status_code == 404
    assert nick.get(f"/s/deals/{doc_id}/history").status_code == 404
    # Lists apply the same rule: the participant finds it, the stranger does not.
    assert f'href="/s/deals/{doc_id}"' in lena.get("/s/deals/").text
    assert f'href="/s/deals/{doc_id}"' not in nick.get("/s/deals/").text
    # Reading is all a participant gets: editing stays with the grants.
    assert lena.get(f"/s/deals/{doc_id}/edit").status_code == 403


def test_a_participant_without_any_grant_on_the_stream_reads_only_that_card(
    company: Company,
) -> None:
    """A route reaches people whose roles have no rights on the stream at all (a CFO asked
    to approve one contract): they open that card and its history, nothing else."""
    sara = company.person("sara", "sales")
    olga = company.person("olga")  # no role with a grant on deals
    company.person("lena", "legal")
    company.person("carl", "sales")
    company.publish()
    doc_id = card_id(company.register(sara))
    other = card_id(company.register(sara))
    assert olga.get(f"/s/deals/{doc_id}").status_code == 404
    with company.db.session(write=True) as session:
        task = session.get(RouteTask, company.open_task(doc_id).id)
        assert task is not None
        task.assignee_id = session.scalar(select(User.id).where(User.username == "olga"))
    card = olga.get(f"/s/deals/{doc_id}")
    assert card.status_code == 200 and "Supply" in card.text
    assert olga.get(f"/s/deals/{doc_id}/history").status_code == 200
    assert olga.get(f"/s/deals/{other}").status_code == 404
    assert olga.get("/s/deals/").status_code == 404
    assert olga.get(f"/s/deals/{doc_id}/edit").status_code == 403  # reads, may not edit


def test_a_route_that_stops_at_once_keeps_the_document_and_tells_why(company: Company) -> None:
    sara = company.person("sara", "sales")
    company.person("carl", "sales")
    company.publish()  # nobody holds the role "legal" yet
    response = company.register(sara)
    assert response.status_code == 303
    doc_id = card_id(response)
    card = sara.get(response.headers["location"])
    assert "is registered" in card.text
    assert "needs an administrator&#39;s attention" in card.text
    assert company.instance(doc_id).status == "needs_attention"
    assert "Needs attention" in card.text
    assert "an administrator has to look at it" in card.text
    assert "Retry" not in card.text and "Cancel route" not in card.text
    assert "Role legal has no active users." not in card.text  # the error is for admins
    boss = company.boss  # type: ignore[attr-defined]
    admin_card = boss.get(f"/s/deals/{doc_id}")
    assert '<p class="route-error">Role legal has no active users.</p>' in admin_card.text
    instance = company.instance(doc_id)
    retry = f"/s/deals/{doc_id}/route/{instance.id}/retry"
    assert sara.submit(retry).status_code == 403
    still = boss.submit(retry, headers={"HX-Request": "true"})
    assert still.status_code == 200 and "The route still needs attention" in still.text
    company.person("lena", "legal")
    done = boss.submit(retry, headers={"HX-Request": "true"})
    assert "The route goes on." in done.text
    assert company.instance(doc_id).status == "running"


def test_manual_start_by_an_editor_once(company: Company) -> None:
    sara = company.person("sara", "sales")
    company.person("lena", "legal")
    company.person("carl", "sales")
    viewer = company.person("vera", "viewer")
    company.publish(start="manual")
    doc_id = card_id(company.register(sara))
    card = sara.get(f"/s/deals/{doc_id}")
    assert "No route has started for this document." in card.text
    assert "Start route" in card.text
    assert "Start route" not in viewer.get(f"/s/deals/{doc_id}").text
    start = f"/s/deals/{doc_id}/route/start"
    assert viewer.submit(start).status_code == 403
    started = sara.submit(start, headers={"HX-Request": "true"})
    assert started.status_code == 200
    assert "The route has started." in started.text and "Task given to Lena" in started.text
    again = sara.submit(start)
    assert again.status_code == 409
    assert "A route is already running for this document." in again.text
    with company.db.session() as session:
        assert (
            len(list(session.scalars(select(RouteInstance).where(RouteInstance.doc_id == doc_id))))
            == 1
        )


def test_cancel_needs_the_configure_right(company: Company) -> None:
    sara = company.person("sara", "sales")
    company.person("lena", "legal")
    company.person("carl", "sales")
    company.publish()
    doc_id = card_id(company.register(sara))
    instance = company.instance(doc_id)
    cancel = f"/s/deals/{doc_id}/route/{instance.id}/cancel"
    assert "Cancel route" not in sara.get(f"/s/deals/{doc_id}").text
    assert sara.submit(cancel).status_code == 403
    boss = company.boss  # type: ignore[attr-defined]
    assert "Cancel route" in boss.get(f"/s/deals/{doc_id}").text
    response = boss.submit(cancel)
    assert response.status_code == 303
    assert company.instance(doc_id).status == "cancelled"
    card = boss.get(f"/s/deals/{doc_id}")
    assert "Cancelled" in card.text and "The route is cancelled." in card.text
    # Another document's instance cannot be reached through this one.
    other = card_id(company.register(sara))
    assert boss.submit(f"/s/deals/{other}/route/{instance.id}/cancel").status_code == 404


def test_the_panel_speaks_russian(company: Company) -> None:
    sara = company.person("sara", "sales")
    company.person("lena", "legal")
    company.person("carl", "sales")
    company.publish()
    doc_id = card_id(company.register(sara))
    with company.db.session(write=True) as session:
        user = session.scalar(select(User).where(User.username == "sara"))
        assert user is not None
        user.language = "ru"
    card = sara.get(f"/s/deals/{doc_id}")
    assert "Шаг legal" in card.text and "Шаг start" in card.text


def test_the_card_learns_in_one_query_whether_a_route_exists(company: Company) -> None:
    sara = company.person("sara", "sales")
    company.person("lena", "legal")
    company.person("carl", "sales")
    company.publish(start="manual")
    doc_id = card_id(company.register(sara))
    with company.db.session() as session:
        assert "route" not in extras.present(session, "deals", doc_id)
    sara.submit(f"/s/deals/{doc_id}/route/start")
    with company.db.session() as session:
        assert "route" in extras.present(session, "deals", doc_id)
        assert "route" not in extras.present(session, "clients", doc_id)


# The Sales configuration's contract route ------------------------------------------------------


SALES = Path(__file__).resolve().parents[3] / "potok" / "seed_configs" / "sales"


# Who does what in the Sales tests: the head of sales and two managers in the Sales
# department, and one person in each role the contract route names.
SALES_STAFF = {
    "hanna": "head_of_sales",
    "artem": "sales_manager",
    "mila": "sales_manager",
    "lena": "lawyer",
    "fedor": "cfo",
    "oleg": "ceo",
    "sveta": "secretary",
}


class Sales:
    """The Sales folder imported (its roles with it); Hanna heads the Sales department,
    where Artem registers contracts for Mila; Lena, Fedor, Oleg and Sveta hold the roles
    the contract route names."""

    def __init__(self, app: Any, db: Any, clock: Any, create_user: Any) -> None:
        self.db, self.clock = db, clock
        self.env = jobs.env_of(services_of(app))
        with db.session(write=True) as session:
            store.import_documents(
                session, folders.validate_folder(SALES).documents, author="t", now=clock()
            )
        self.ids = {name: create_user(name) for name in SALES_STAFF}
        with db.session(write=True) as session:
            department = Department(
                name="Sales",
                head_id=self.ids["hanna"],
                position=0,
                created_at=clock(),
                updated_at=clock(),
            )
            session.add(department)
            session.flush()
            for name, role_key in SALES_STAFF.items():
                person = session.get(User, self.ids[name])
                role = session.scalar(select(Role).where(Role.key == role_key))
                assert person is not None and role is not None
                person.roles.append(role)
                if role_key in ("head_of_sales", "sales_manager"):
                    person.department_id = department.id

    def contract(self, amount: str) -> int:
        with self.db.session(write=True) as session:
            runtime = self.env.streams.get(session, "contracts")
            document = documents.create(
                session,
                runtime,
                {"title": "Supply", "amount": Decimal(amount), "manager": self.ids["mila"]},
                actor=Actor(self.ids["artem"], "artem"),
                now=self.clock(),
                link_readable=lambda _s, _i: True,
            )
            return document.id

    def steps(self, doc_id: int) -> list[tuple[str, str]]:
        names = {value: key for key, value in self.ids.items()}
        with self.db.session() as session:
            rows = session.execute(
                select(RouteTask.node, RouteTask.assignee_id)
                .join(RouteInstance, RouteInstance.id == RouteTask.instance_id)
                .where(RouteInstance.doc_id == doc_id, RouteTask.status == "open")
                .order_by(RouteTask.id)
            ).all()
        return [(node_key, names[user]) for node_key, user in rows]

    def decide(self, doc_id: int, step: str, decision: str, comment: str = "") -> None:
        with self.db.session(write=True) as session:
            task_id = session.scalar(
                select(RouteTask.id)
                .join(RouteInstance, RouteInstance.id == RouteTask.instance_id)
                .where(
                    RouteInstance.doc_id == doc_id,
                    RouteTask.node == step,
                    RouteTask.status == "open",
                )
            )
            assert task_id is not None, step
            task = session.get(RouteTask, task_id)
            assert task is not None
            who = session.get(User, task.assignee_id)
            assert who is not None
            tasks.decide(
                session,
                self.env,
                task_id,
                Actor(who.id, who.username),
                decision,
                comment,
                now=self.clock(),
            )


@pytest.mark.parametrize(("amount", "ceo"), [("500000", False), ("2000000", True)])
def test_the_sales_contract_route_runs_to_its_end(
    app: Any, db: Any, clock: Any, create_user: Any, admin: Any, amount: str, ceo: bool
) -> None:
    sales = Sales(app, db, clock, create_user)
    doc_id = sales.contract(amount)
    card = admin.get(f"/s/contracts/{doc_id}")
    assert "Start route" in card.text  # the Contracts stream starts it by hand
    assert admin.submit(f"/s/contracts/{doc_id}/route/start").status_code == 303
    assert sales.steps(doc_id) == [("legal", "lena")]
    sales.decide(doc_id, "legal", "reject", "Wrong liability clause")
    assert sales.steps(doc_id) == [("revision", "artem")]
    sales.decide(doc_id, "revision", "complete")
    sales.decide(doc_id, "legal", "approve")
    assert sales.steps(doc_id) == [("cfo", "fedor")]
    sales.decide(doc_id, "cfo", "approve")
    if ceo:
        assert sales.steps(doc_id) == [("ceo", "oleg")]
        sales.decide(doc_id, "ceo", "approve")
    assert sales.steps(doc_id) == [("manager", "mila"), ("secretary", "sveta")]
    with db.session() as session:
        controllers = set(
            session.scalars(
                select(RouteTask.controller_id)
                .join(RouteInstance, RouteInstance.id == RouteTask.instance_id)
                .where(RouteInstance.doc_id == doc_id)
            )
        )
    assert controllers == {sales.ids["hanna"]}  # the head of sales watches every step
    sales.decide(doc_id, "secretary", "complete")
    sales.decide(doc_id, "manager", "complete")
    with db.session() as session:
        instance = session.scalar(select(RouteInstance).where(RouteInstance.doc_id == doc_id))
        assert instance is not None
        assert (instance.status, instance.outcome) == ("finished", "completed")
    card = admin.get(f"/s/contracts/{doc_id}")
    assert "Wrong liability clause" in card.text and "Finished" in card.text


def test_a_client_card_lists_what_waits_for_my_decision(
    app: Any, db: Any, clock: Any, create_user: Any, admin: Any, make_client: Any
) -> None:
    """One click on a Client gives everything about it, the contracts waiting for the
    user's decision among them; others see no such panel."""
    sales = Sales(app, db, clock, create_user)
    with db.session(write=True) as session:
        clients = sales.env.streams.get(session, "clients")
        client = documents.create(
            session,
            clients,
            {"name": "Romashka"},
            actor=Actor(sales.ids["artem"], "artem"),
            now=clock(),
            link_readable=lambda _s, _i: True,
        ).id
    other = sales.contract("700000")
    with db.session(write=True) as session:
        contract = documents.create(
            session,
            sales.env.streams.get(session, "contracts"),
            {
                "title": "Pumps",
                "amount": Decimal(500000),
                "manager": sales.ids["mila"],
                "client": client,
            },
            actor=Actor(sales.ids["artem"], "artem"),
            now=clock(),
            link_readable=lambda _s, _i: True,
        ).id
    for doc_id in (contract, other):
        assert admin.submit(f"/s/contracts/{doc_id}/route/start").status_code == 303
    lena, artem = make_client(), make_client()
    assert lena.login("lena").status_code == 303 and artem.login("artem").status_code == 303
    card = lena.get(f"/s/clients/{client}")  # the lawyer reads every client
    assert card.status_code == 200
    assert 'id="waiting"' in card.text and "Waiting for your decision" in card.text
    shown = re.findall(
        r'href="/inbox/(\d+)"', card.text.split('id="waiting"')[1].split("</section>")[0]
    )
    with db.session() as session:
        task_id = session.scalar(
            select(RouteTask.id)
            .join(RouteInstance, RouteInstance.id == RouteTask.instance_id)
            .where(RouteInstance.doc_id == contract, RouteTask.status == "open")
        )
    assert shown == [str(task_id)]  # the other contract is not this client's
    assert 'id="waiting"' not in artem.get(f"/s/clients/{client}").text  # his own client
    # Each step waits on the client card of the one whose role it is, and after the
    # decision no longer does.
    people = {"lena": lena, "fedor": make_client(), "sveta": make_client()}
    for name in ("fedor", "sveta"):
        assert people[name].login(name).status_code == 303
    for step, name, decision in (
        ("legal", "lena", "approve"),
        ("cfo", "fedor", "approve"),
        ("secretary", "sveta", "complete"),
    ):
        waiting = people[name].get(f"/s/clients/{client}").text.split('id="waiting"')[1]
        with db.session() as session:
            node = session.scalar(
                select(RouteTask.node).where(
                    RouteTask.id == int(re.findall(r'href="/inbox/(\d+)"', waiting)[0])
                )
            )
        assert node == step
        sales.decide(contract, step, decision)
        assert 'id="waiting"' not in people[name].get(f"/s/clients/{client}").text
