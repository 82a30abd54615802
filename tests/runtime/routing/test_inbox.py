"""The inbox through the web: tabs and counts, deputies, delegation, filters, keyset pages,
every decision, and bad input (a refusal without comment, a closed task, someone else's task,
forged ids, a missing CSRF token, a document the user cannot read)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from potok.platform.auth import CurrentUser
from potok.platform.db import Database
from potok.platform.models import Role, RouteTask, user_roles
from potok.runtime import documents, inbox
from potok.runtime.routing import engine
from tests.builders import Publisher, field, labels, stream
from tests.conftest import Client, FakeClock
from tests.runtime.routing.conftest import (
    NOW,
    World,
    chain,
    contract_route,
    node,
)

CONTRACTS = stream(
    "contracts",
    field("title", searchable=True, in_list=True),
    field("amount", "money"),
    field("manager", "user"),
    field(
        "status",
        "choice",
        options=[{"value": v, "labels": labels(v)} for v in ("new", "approved", "signing")],
    ),
    title_field="title",
    numbering={"template": "K-{counter:3}"},
    access={"grants": [{"role": "staff", "read": "all", "create": True}]},
)
LEASES = stream(
    "leases",
    field("title", searchable=True),
    title_field="title",
    access={"grants": [{"role": "staff", "read": "all", "create": True}]},
)


class Office:
    """The routing tests' small company, with passwords: each person can log in."""

    def __init__(
        self,
        world: World,
        create_user: Callable[..., int],
        make_client: Callable[[], Client],
        clock: FakeClock,
    ) -> None:
        self.world = world
        self.create_user = create_user
        self.make_client = make_client
        self.clock = clock
        self.clients: dict[str, Client] = {}

    def person(self, name: str, *roles: str) -> None:
        user_id = self.create_user(name)
        self.world.users[name] = user_id
        with self.world.db.session(write=True) as session:
            for key in roles:
                role = session.scalar(select(Role).where(Role.key == key))
                if role is None:
                    role = Role(key=key, labels=labels(key), created_at=NOW, updated_at=NOW)
                    session.add(role)
                    session.flush()
                session.execute(insert(user_roles).values(user_id=user_id, role_id=role.id))

    def client(self, name: str) -> Client:
        if name not in self.clients:
            client = self.make_client()
            assert client.login(name).status_code == 303
            self.clients[name] = client
        return self.clients[name]

    def route(self, doc: int, key: str = "visa") -> int:
        return self.world.start(key, doc, now=self.clock())

    def deadline(self, task_id: int, **delta: float) -> None:
        with self.world.db.session(write=True) as session:
            session.execute(
                update(RouteTask)
                .where(RouteTask.id == task_id)
                .values(deadline=self.clock() + timedelta(**delta))
            )


@pytest.fixture
def office(
    db: Database,
    publisher: Publisher,
    create_user: Callable[..., int],
    make_client: Callable[[], Client],
    clock: FakeClock,
) -> Office:
    world = World(db, publisher)
    publisher.publish(CONTRACTS, LEASES)
    world.published = True
    company = Office(world, create_user, make_client, clock)
    company.person("author", "staff")
    company.person("legal", "staff", "legal")
    company.person("cfo", "staff", "cfo")
    company.person("ceo", "staff")
    company.person("manager", "staff")
    company.person("secretary", "staff", "secretary")
    company.person("outsider")
    return company


def visa(office: Office, **spec: object) -> None:
    office.world.publish(chain("visa", node("visa", "approval", **spec)))


def doc(office: Office, title: str = "Supply contract", **values: object) -> int:
    return office.world.document(title=title, **values)


def tab(client: Client, name: str = "todo", **params: str) -> str:
    response = client.get("/inbox", params={"tab": name, **params})
    assert response.status_code == 200, response.text
    return response.text


def counts(page: str) -> dict[str, int]:
    found = re.findall(
        r'tab=(\w+)[^"]*"[^>]*>[^<]*<span class="inbox-count[^"]*">(\d+)</span>', page
    )
    return {name: int(number) for name, number in found}


def decide(client: Client, task_id: int, action: str, htmx: bool = False, **form: object) -> Any:
    headers = {"HX-Request": "true"} if htmx else {}
    return client.submit(f"/inbox/{task_id}", {"action": action, **form}, headers=headers)


# Tabs, counts, the navigation ----------------------------------------------------------------


def test_tabs_and_counts_follow_the_decisions(office: Office) -> None:
    visa(office, executors=[{"role": "legal"}])
    first = office.route(doc(office, "Supply contract"))
    office.route(doc(office, "Lease of the warehouse"))
    legal = office.client("legal")
    page = tab(legal)
    assert counts(page) == {"todo": 2, "overdue": 0, "delegated": 0, "done": 0}
    assert "Supply contract" in page and "K-001" in page and "Visa" in page
    assert "Inbox (2)" in page  # the navigation's badge
    task = office.world.task(first, "visa")
    assert decide(legal, task, "approve").status_code == 303
    page = tab(legal, "done")
    assert counts(page) == {"todo": 1, "overdue": 0, "delegated": 0, "done": 1}
    assert "Supply contract" in page and "Approved" in page
    assert "Lease of the warehouse" not in page
    assert "Inbox (1)" in tab(legal)
    assert counts(tab(office.client("cfo"))) == {"todo": 0, "overdue": 0, "delegated": 0, "done": 0}


def test_overdue_tasks_are_counted_and_highlighted(office: Office) -> None:
    visa(office, executors=[{"role": "legal"}])
    late = office.world.task(office.route(doc(office, "Late contract")), "visa")
    soon = office.world.task(office.route(doc(office, "Fresh contract")), "visa")
    office.deadline(late, hours=-2)
    office.deadline(soon, days=3)
    page = tab(office.client("legal"), "overdue")
    assert counts(page)["overdue"] == 1 and counts(page)["todo"] == 2
    assert "Late contract" in page and "Fresh contract" not in page
    assert "inbox-row-overdue" in page and "overdue since" in page
    todo = tab(office.client("legal"))
    assert todo.index("Late contract") < todo.index("Fresh contract")  # by deadline


def test_a_deputy_sees_the_absent_owners_tasks_and_both_can_decide(office: Office) -> None:
    today = office.clock().date()
    office.world.deputy("legal", "manager", today - timedelta(days=1), today + timedelta(days=3))
    visa(office, executors=[{"role": "legal"}])
    instance = office.route(doc(office))
    task = office.world.task(instance, "visa")
    assert office.world.task_row(task).assignee_id == office.world.users["manager"]
    deputy_page = tab(office.client("manager"))
    assert counts(deputy_page)["todo"] == 1 and "for Legal" in deputy_page
    owner_page = tab(office.client("legal"))
    assert counts(owner_page)["todo"] == 1 and "Supply contract" in owner_page
    assert decide(office.client("legal"), task, "approve").status_code == 303
    assert counts(tab(office.client("manager")))["todo"] == 0
    assert counts(tab(office.client("legal"), "done"))["done"] == 1


def test_a_deputy_named_after_the_task_was_given_acts_for_the_assignee(office: Office) -> None:
    """The deputy of a user who went away after the task was given: in the deputy's inbox,
    "for" the assignee; the document, which the deputy may not read, stays hidden and the
    deputy cannot decide it."""
    visa(office, executors=[{"role": "legal"}])
    instance = office.route(doc(office, "Secret merger"))
    task = office.world.task(instance, "visa")
    today = office.clock().date()
    office.world.deputy("legal", "outsider", today, today + timedelta(days=2))
    outsider = office.client("outsider")
    page = tab(outsider)
    assert counts(page)["todo"] == 1 and "for Legal" in page
    assert "Secret merger" not in page and "a document you cannot read" in page
    opened = outsider.get(f"/inbox/{task}")
    assert opened.status_code == 200
    assert "Secret merger" not in opened.text and "You cannot read" in opened.text
    refused = decide(outsider, task, "approve")
    assert refused.status_code == 403 and "cannot read" in refused.text
    assert office.world.task_row(task).status == "open"
    assert "Secret merger" not in tab(outsider, q="Secret")


def test_delegation_is_visible_to_both_and_returns_to_the_owner(office: Office) -> None:
    visa(office, executors=[{"role": "legal"}])
    instance = office.route(doc(office))
    task = office.world.task(instance, "visa")
    legal, manager = office.client("legal"), office.client("manager")
    answer = decide(
        legal, task, "delegate", user=office.world.users["manager"], comment="check the terms"
    )
    assert answer.status_code == 303
    page = tab(legal, "delegated")
    assert counts(page) == {"todo": 0, "overdue": 0, "delegated": 1, "done": 0}
    assert "with Manager" in page
    child = office.world.task(instance, "visa", "manager")
    assert "Supply contract" in tab(manager)
    assert decide(manager, child, "complete", comment="terms are fine").status_code == 303
    assert counts(tab(legal))["todo"] == 1 and counts(tab(legal))["delegated"] == 0
    assert counts(tab(manager, "done"))["done"] == 1
    assert decide(legal, task, "approve").status_code == 303
    assert office.world.instance(instance).status == "finished"


# Filters and pages -----------------------------------------------------------------------------


def test_filters_by_stream_and_by_text(office: Office) -> None:
    office.world.publish(
        chain("visa", node("visa", "approval", executors=[{"role": "legal"}])),
        chain("lease", node("check", "approval", executors=[{"role": "legal"}]))
        | {"stream": "leases"},
    )
    office.route(doc(office, "Supply of pipes"))
    office.route(doc(office, "Consulting"))
    with office.world.db.session(write=True) as session:
        runtime = office.world.env.streams.get(session, "leases")
        lease = documents.create(
            session,
            runtime,
            {"title": "Office lease"},
            actor=office.world.actor("author"),
            now=NOW,
            link_readable=lambda _s, _i: True,
        ).id
        engine.start(
            session,
            office.world.env,
            "leases",
            lease,
            "lease",
            office.world.actor("author"),
            now=office.clock(),
        )
    legal = office.client("legal")
    page = tab(legal, q="pipes")
    assert "Supply of pipes" in page and "Consulting" not in page and "Office lease" not in page
    assert counts(page)["todo"] == 1
    page = tab(legal, stream="leases")
    assert "Office lease" in page and "Supply of pipes" not in page
    assert counts(page)["todo"] == 1
    assert "K-002" in tab(legal, q="K-002")
    assert counts(tab(legal, stream="nonexistent"))["todo"] == 0
    assert counts(tab(legal, q="<script>'%_"))["todo"] == 0
    assert counts(tab(legal))["todo"] == 3


def test_keyset_pages_show_every_task_once(office: Office) -> None:
    visa(office, executors=[{"role": "legal"}])
    for number in range(57):
        office.route(doc(office, f"Contract {number:02d}"))
    legal = office.client("legal")
    page = tab(legal)
    first = re.findall(r"Contract (\d\d)", page)
    assert len(first) == 50
    more = re.search(r'hx-get="([^"]+)"', page.split('id="inbox-more"')[1])
    assert more is not None
    rest = legal.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert rest.status_code == 200 and "<html" not in rest.text
    second = re.findall(r"Contract (\d\d)", rest.text)
    assert len(second) == 7 and 'id="inbox-more"' not in rest.text
    assert sorted(first + second) == [f"{n:02d}" for n in range(57)]
    assert tab(legal, after="garbage~x").count("inbox-row") >= 50  # a bad cursor: page one


def test_open_inbox_pages_the_done_tab_newest_first(office: Office) -> None:
    visa(office, executors=[{"role": "legal"}])
    tasks_ = [office.world.task(office.route(doc(office, f"C{n}")), "visa") for n in range(5)]
    for task in tasks_:
        office.clock.advance(minutes=1)
        assert decide(office.client("legal"), task, "approve").status_code == 303
    with office.world.db.session() as session:
        me = CurrentUser(
            id=office.world.users["legal"],
            username="legal",
            full_name="Legal",
            email=None,
            language="en",
            department_id=None,
            capabilities=frozenset(),
            session_id="",
            roles=frozenset({"staff", "legal"}),
        )
        seen: list[int] = []
        filters = inbox.Filters(tab="done")
        while True:
            page = inbox.open_inbox(
                session,
                office.world.env,
                me,
                filters,
                now=office.clock(),
                today=office.clock().date(),
                language="en",
                page_size=2,
            )
            seen.extend(row.task_id for row in page.rows)
            if not page.next_after:
                break
            filters = inbox.Filters(tab="done", after=inbox.parse_cursor(page.next_after))
    assert seen == list(reversed(tasks_))
    assert page.counts["done"] == 5


# Decisions ------------------------------------------------------------------------------------


def test_an_assignment_completed_and_one_refused_with_a_comment(office: Office) -> None:
    office.world.publish(chain("call", node("call", "assignment", executor={"author": True})))
    done_id = office.world.task(office.route(doc(office), "call"), "call")
    refused_instance = office.route(doc(office, "Another"), "call")
    refused_id = office.world.task(refused_instance, "call")
    author = office.client("author")
    page = author.get(f"/inbox/{done_id}").text
    assert 'value="complete"' in page and 'value="refuse"' in page and 'value="approve"' not in page
    assert decide(author, done_id, "complete", comment="called, all set").status_code == 303
    row = office.world.task_row(done_id)
    assert (row.status, row.decision, row.comment) == ("done", "complete", "called, all set")
    no_comment = decide(author, refused_id, "refuse", comment="  ", htmx=True)
    assert no_comment.status_code == 400
    assert "Write a comment to explain this decision." in no_comment.text
    assert 'id="error-comment"' in no_comment.text
    assert office.world.task_row(refused_id).status == "open"
    assert decide(author, refused_id, "refuse", comment="no prospect").status_code == 303
    assert office.world.instance(refused_instance).outcome == "refused"


def test_approve_reject_and_return_for_revision_then_resubmit(office: Office) -> None:
    visa(office, executors=[{"role": "legal"}])
    rejected = office.route(doc(office, "To reject"))
    legal = office.client("legal")
    task = office.world.task(rejected, "visa")
    assert decide(legal, task, "reject", comment="bad terms").status_code == 303
    assert office.world.instance(rejected).outcome == "rejected"

    revised = office.route(doc(office, "To revise"))
    task = office.world.task(revised, "visa")
    answer = decide(legal, task, "return_for_revision", comment="fix the amount", htmx=True)
    assert answer.status_code == 200 and "Returned to the author for revision." in answer.text
    revision = office.world.task(revised, "visa", "author")
    author = office.client("author")
    page = author.get(f"/inbox/{revision}").text
    assert 'value="resubmit"' in page and 'value="approve"' not in page
    assert decide(author, revision, "resubmit", comment="fixed").status_code == 303
    again = office.world.task(revised, "visa", "legal")
    assert again != task
    assert decide(legal, again, "approve").status_code == 303
    assert office.world.instance(revised).outcome == "completed"


def test_the_contract_route_from_the_inbox(office: Office) -> None:
    office.world.publish(contract_route())
    big = doc(office, "Big deal", amount=Decimal("2000000"), manager=office.world.users["manager"])
    instance = office.route(big, "contract")
    for step, who in (("legal", "legal"), ("cfo", "cfo"), ("ceo", "ceo")):
        task = office.world.task(instance, step)
        assert decide(office.client(who), task, "approve").status_code == 303
    for step, who in (("invoice", "manager"), ("print", "secretary")):
        task = office.world.task(instance, step)
        assert decide(office.client(who), task, "complete", comment="done").status_code == 303
    assert office.world.instance(instance).status == "finished"
    assert office.world.values(big)["status"] == "signing"


def test_reassign_by_the_controller_only(office: Office) -> None:
    visa(office, executors=[{"user": "legal"}], controller={"user": "cfo"})
    instance = office.route(doc(office))
    task = office.world.task(instance, "visa")
    assert "Reassign" not in office.client("legal").get(f"/inbox/{task}").text
    cfo = office.client("cfo")
    assert "Reassign" in cfo.get(f"/inbox/{task}").text
    refused = decide(office.client("legal"), task, "reassign", user=office.world.users["ceo"])
    assert refused.status_code == 403
    bad = decide(cfo, task, "reassign", user="99999999999", htmx=True)
    assert bad.status_code == 400 and "Choose another active user." in bad.text
    assert decide(cfo, task, "reassign", user=office.world.users["ceo"]).status_code == 303
    assert office.world.task_row(task).assignee_id == office.world.users["ceo"]
    assert counts(tab(office.client("ceo")))["todo"] == 1


def test_the_head_of_the_assignees_department_may_open_and_reassign_a_task(
    office: Office,
) -> None:
    office.world.department("Legal", "ceo", "legal")
    visa(office, executors=[{"user": "legal"}])
    task = office.world.task(office.route(doc(office)), "visa")
    ceo = office.client("ceo")
    page = ceo.get(f"/inbox/{task}")
    assert page.status_code == 200 and "Reassign" in page.text
    assert 'value="approve"' not in page.text  # not theirs to decide
    assert decide(ceo, task, "approve").status_code == 403
    assert decide(ceo, task, "reassign", user=office.world.users["cfo"]).status_code == 303
    assert office.world.task_row(task).assignee_id == office.world.users["cfo"]
    assert office.client("secretary").get(f"/inbox/{task}").status_code == 404


def test_a_late_decision_needs_the_reason_for_the_delay(office: Office) -> None:
    visa(office, executors=[{"role": "legal"}])
    task = office.world.task(office.route(doc(office)), "visa")
    office.deadline(task, hours=-1)
    legal = office.client("legal")
    assert 'name="delay_reason"' in legal.get(f"/inbox/{task}").text
    missing = decide(legal, task, "approve", htmx=True)
    assert missing.status_code == 400
    assert "The deadline has passed: write the reason for the delay." in missing.text
    assert 'id="error-delay"' in missing.text
    assert office.world.task_row(task).status == "open"
    assert decide(legal, task, "approve", delay_reason="was ill").status_code == 303
    assert office.world.task_row(task).delay_reason == "was ill"


def test_a_double_submit_has_one_effect_and_says_so(office: Office) -> None:
    visa(office, executors=[{"role": "legal"}, {"role": "cfo"}])
    instance = office.route(doc(office))
    task = office.world.task(instance, "visa")
    legal = office.client("legal")
    first = decide(legal, task, "approve", htmx=True)
    assert first.status_code == 200 and "Approved." in first.text
    version = office.world.instance(instance).version
    second = decide(legal, task, "approve", htmx=True)
    assert second.status_code == 200
    assert "This decision is already recorded; nothing was changed." in second.text
    assert decide(legal, task, "approve").status_code == 303  # without JavaScript: back to inbox
    assert office.world.instance(instance).version == version
    assert office.world.open_tasks(instance) == [("visa", "cfo", "approval")]


# Bad input ------------------------------------------------------------------------------------


def test_a_decision_on_a_closed_task_is_refused_with_a_message(office: Office) -> None:
    visa(office, executors=[{"role": "legal"}])
    instance = office.route(doc(office))
    task = office.world.task(instance, "visa")
    legal = office.client("legal")
    assert decide(legal, task, "approve").status_code == 303
    other = decide(legal, task, "reject", comment="changed my mind")
    assert other.status_code == 409
    assert "This task is already closed; nothing was changed." in other.text
    assert office.world.task_row(task).decision == "approve"
    unknown = decide(legal, task, "<script>", htmx=True)
    assert unknown.status_code in (400, 409) and "<script>" not in unknown.text


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/inbox/0", id="zero"),
        pytest.param("/inbox/99999999999", id="huge"),
        pytest.param("/inbox/-1", id="negative"),
        pytest.param("/inbox/abc", id="text"),
        pytest.param("/inbox/12345", id="missing"),
    ],
)
def test_forged_task_ids_are_not_found(office: Office, path: str) -> None:
    legal = office.client("legal")
    assert legal.get(path).status_code == 404
    assert legal.submit(path, {"action": "approve"}).status_code in (404, 405)


def test_someone_elses_task_is_not_found(office: Office) -> None:
    visa(office, executors=[{"role": "legal"}])
    task = office.world.task(office.route(doc(office)), "visa")
    cfo = office.client("cfo")
    assert cfo.get(f"/inbox/{task}").status_code == 404
    assert decide(cfo, task, "approve").status_code == 404
    assert office.world.task_row(task).status == "open"


def test_a_decision_without_the_csrf_token_changes_nothing(office: Office) -> None:
    visa(office, executors=[{"role": "legal"}])
    task = office.world.task(office.route(doc(office)), "visa")
    legal = office.client("legal")
    answer = legal.post(f"/inbox/{task}", data={"action": "approve"})
    assert answer.status_code == 403
    assert office.world.task_row(task).status == "open"


def test_the_inbox_needs_a_login(client: Client) -> None:
    assert client.get("/inbox").status_code in (302, 303)


def test_todo_count_counts_deputies(office: Office) -> None:
    visa(office, executors=[{"role": "legal"}])
    office.route(doc(office))
    today = office.clock().date()
    office.world.deputy("legal", "ceo", today, today)
    with office.world.db.session() as session:
        assert inbox.todo_count(session, office.world.users["legal"], today) == 1
        assert inbox.todo_count(session, office.world.users["ceo"], today) == 1
        assert inbox.todo_count(session, office.world.users["ceo"], today + timedelta(1)) == 0
        assert inbox.todo_count(session, office.world.users["cfo"], date(2026, 1, 1)) == 0


def test_an_assignment_is_accepted_from_the_task_page_then_completed(office: Office) -> None:
    office.world.publish(chain("call", node("call", "assignment", executor={"author": True})))
    task_id = office.world.task(office.route(doc(office), "call"), "call")
    author = office.client("author")
    page = author.get(f"/inbox/{task_id}").text
    assert 'value="accept"' in page and ">Accept</button>" in page
    assert "<dt>Accepted</dt>" not in page
    assert 'value="accept"' not in office.client("legal").get(f"/inbox/{task_id}").text
    stranger = decide(office.client("legal"), task_id, "accept")
    assert stranger.status_code == 404
    assert office.world.task_row(task_id).accepted_at is None
    accepted = decide(author, task_id, "accept", htmx=True)
    assert accepted.status_code == 200
    assert "The task is accepted; complete it when the work is done." in accepted.text
    assert "<dt>Accepted</dt>" in accepted.text
    assert 'value="accept"' not in accepted.text
    assert 'value="complete"' in accepted.text  # the work can now be completed
    row = office.world.task_row(task_id)
    assert (row.status, row.accepted_at) == ("open", office.clock())
    assert decide(author, task_id, "accept").status_code == 303  # a second accept: no change
    assert office.world.task_row(task_id).accepted_at == row.accepted_at
    assert decide(author, task_id, "complete", comment="called").status_code == 303
    assert office.world.task_row(task_id).status == "done"
