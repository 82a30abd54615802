"""A small company for route tests: people, roles, departments, the contracts stream, and
helpers that run every transition in a transaction of its own, the way a request would."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select

from potok.app import create_app, services_of
from potok.platform.audit import Actor
from potok.platform.db import Database
from potok.platform.i18n import Catalogs
from potok.platform.models import (
    Department,
    Deputy,
    OutgoingMail,
    Role,
    RouteEvent,
    RouteInstance,
    RouteTask,
    RouteToken,
    User,
    user_roles,
)
from potok.platform.services import Services
from potok.runtime import documents
from potok.runtime.routing import engine, tasks
from potok.runtime.streams import Streams
from tests.builders import Publisher, field, labels, stream
from tests.platform.test_mail import Inbox
from tests.platform.test_mail import smtp_server as smtp_server

NOW = datetime(2026, 12, 2, 10, 0)  # a Wednesday, in working hours

CLIENTS = stream("clients", field("name"), field("manager", "user"))
CONTRACTS = stream(
    "contracts",
    field("title"),
    field("amount", "money"),
    field("manager", "user"),
    field("signed_on", "date"),
    field("email", "email"),
    field("client", "link", stream="clients"),
    field(
        "status",
        "choice",
        options=[{"value": v, "labels": labels(v)} for v in ("new", "approved", "signing")],
    ),
)


def node(key: str, type_: str, **spec: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "labels": labels(key.title()), **spec}


def edge(source: str, target: str, **spec: Any) -> dict[str, Any]:
    return {"from": source, "to": target, **spec}


def route(
    key: str, *nodes: dict[str, Any], edges: list[dict[str, Any]], stream_key: str = "contracts"
) -> dict[str, Any]:
    return {
        "kind": "route",
        "key": key,
        "labels": labels(key),
        "stream": stream_key,
        "nodes": list(nodes),
        "edges": edges,
    }


def chain(key: str, *middle: dict[str, Any]) -> dict[str, Any]:
    """start -> middle… -> end."""
    keys = ["start", *(n["key"] for n in middle), "end"]
    return route(
        key,
        node("start", "start"),
        *middle,
        node("end", "end"),
        edges=[edge(a, b) for a, b in itertools.pairwise(keys)],
    )


def contract_route() -> dict[str, Any]:
    """The Sales contract route: legal -> CFO -> CEO above a threshold, then in parallel to
    the manager and the secretary."""
    return route(
        "contract",
        node("start", "start"),
        node("legal", "approval", executors=[{"role": "legal"}]),
        node("cfo", "approval", executors=[{"role": "cfo"}]),
        node("big", "condition"),
        node("ceo", "approval", executors=[{"user": "ceo"}]),
        node("fork", "split"),
        node("invoice", "assignment", executor={"field": "manager"}),
        node("print", "assignment", executor={"role": "secretary"}),
        node("meet", "join"),
        node(
            "signing", "action", action={"type": "set_field", "field": "status", "value": "signing"}
        ),
        node("end", "end"),
        edges=[
            edge("start", "legal"),
            edge("legal", "cfo"),
            edge("cfo", "big"),
            edge("big", "ceo", when={">": [{"var": "amount"}, 1000000]}),
            edge("big", "fork", default=True),
            edge("ceo", "fork"),
            edge("fork", "invoice"),
            edge("fork", "print"),
            edge("invoice", "meet"),
            edge("print", "meet"),
            edge("meet", "signing"),
            edge("signing", "end"),
        ],
    )


class World:
    def __init__(self, db: Database, publisher: Publisher) -> None:
        self.db = db
        self.publisher = publisher
        self.env = engine.Env(Streams(), Catalogs("en", "UTC"))
        self.users: dict[str, int] = {}
        self.published = False

    # people -----------------------------------------------------------------------------

    def user(self, name: str, *roles: str, email: bool = True, language: str | None = None) -> int:
        with self.db.session(write=True) as session:
            user = User(
                username=name,
                full_name=name.title(),
                email=f"{name}@example.com" if email else None,
                is_active=True,
                is_system=False,
                language=language,
                created_at=NOW,
                updated_at=NOW,
            )
            session.add(user)
            session.flush()
            for key in roles:
                role = session.scalar(select(Role).where(Role.key == key))
                if role is None:
                    role = Role(key=key, labels=labels(key), created_at=NOW, updated_at=NOW)
                    session.add(role)
                    session.flush()
                session.execute(insert(user_roles).values(user_id=user.id, role_id=role.id))
            self.users[name] = user.id
            return user.id

    def department(self, name: str, head: str, *members: str) -> int:
        with self.db.session(write=True) as session:
            department = Department(
                name=name, head_id=self.users[head], position=0, created_at=NOW, updated_at=NOW
            )
            session.add(department)
            session.flush()
            for member in members:
                session.get(User, self.users[member]).department_id = department.id  # type: ignore[union-attr]
            return department.id

    def deputy(self, principal: str, deputy: str, starts: date, ends: date) -> None:
        with self.db.session(write=True) as session:
            session.add(
                Deputy(
                    principal_id=self.users[principal],
                    deputy_id=self.users[deputy],
                    starts_on=starts,
                    ends_on=ends,
                    reason="leave",
                    created_at=NOW,
                )
            )

    def actor(self, name: str) -> Actor:
        return Actor(self.users[name], name)

    # metadata and documents ---------------------------------------------------------------

    def publish(self, *routes: dict[str, Any]) -> None:
        documents_ = [copy.deepcopy(r) for r in routes]
        if not self.published:
            documents_ = [CLIENTS, CONTRACTS, *documents_]
            self.published = True
        self.publisher.publish(*documents_)

    def document(self, author: str = "author", **values: Any) -> int:
        values.setdefault("title", "Supply contract")
        values.setdefault("amount", Decimal("500000"))
        with self.db.session(write=True) as session:
            runtime = self.env.streams.get(session, str(values.pop("stream", "contracts")))
            created = documents.create(
                session,
                runtime,
                values,
                actor=self.actor(author),
                now=NOW,
                link_readable=lambda _s, _i: True,
            )
            return created.id

    def values(self, doc_id: int, stream_key: str = "contracts") -> dict[str, Any]:
        with self.db.session() as session:
            runtime = self.env.streams.get(session, stream_key)
            return documents.load(session, runtime, doc_id).values

    # transitions --------------------------------------------------------------------------

    def start(self, route_key: str, doc_id: int, by: str = "author", now: datetime = NOW) -> int:
        with self.db.session(write=True) as session:
            instance = engine.start(
                session, self.env, "contracts", doc_id, route_key, self.actor(by), now=now
            )
            return instance.id

    def decide(
        self,
        task_id: int,
        by: str,
        decision: str,
        comment: str = "",
        now: datetime = NOW,
        delay_reason: str | None = None,
    ) -> None:
        with self.db.session(write=True) as session:
            tasks.decide(
                session,
                self.env,
                task_id,
                self.actor(by),
                decision,
                comment,
                now=now,
                delay_reason=delay_reason,
            )

    # reading ------------------------------------------------------------------------------

    def instance(self, instance_id: int) -> RouteInstance:
        with self.db.session() as session:
            found = session.get(RouteInstance, instance_id)
            assert found is not None
            return found

    def open_tasks(self, instance_id: int) -> list[tuple[str, str, str]]:
        """(step, assignee, kind) of every open task, oldest first."""
        names = {v: k for k, v in self.users.items()}
        with self.db.session() as session:
            rows = session.execute(
                select(RouteTask.node, RouteTask.assignee_id, RouteTask.kind)
                .where(RouteTask.instance_id == instance_id, RouteTask.status == "open")
                .order_by(RouteTask.id)
            ).all()
        return [(n, names[a], k) for n, a, k in rows]

    def task(self, instance_id: int, node_key: str, assignee: str | None = None) -> int:
        with self.db.session() as session:
            statement = select(RouteTask.id).where(
                RouteTask.instance_id == instance_id,
                RouteTask.node == node_key,
                RouteTask.status == "open",
            )
            if assignee is not None:
                statement = statement.where(RouteTask.assignee_id == self.users[assignee])
            found = session.scalars(statement.order_by(RouteTask.id)).all()
            assert len(found) == 1, found
            return found[0]

    def task_row(self, task_id: int) -> RouteTask:
        with self.db.session() as session:
            found = session.get(RouteTask, task_id)
            assert found is not None
            return found

    def live_tokens(self, instance_id: int) -> list[tuple[str, str]]:
        with self.db.session() as session:
            rows = session.execute(
                select(RouteToken.node, RouteToken.status)
                .where(RouteToken.instance_id == instance_id, RouteToken.status != "consumed")
                .order_by(RouteToken.id)
            ).all()
        return [(n, s) for n, s in rows]

    def events(self, instance_id: int) -> list[str]:
        with self.db.session() as session:
            return list(
                session.scalars(
                    select(RouteEvent.what)
                    .where(RouteEvent.instance_id == instance_id)
                    .order_by(RouteEvent.id)
                )
            )

    def mails(self) -> list[tuple[list[str], str]]:
        with self.db.session() as session:
            return [
                (list(m.recipients), m.subject)
                for m in session.scalars(select(OutgoingMail).order_by(OutgoingMail.id))
            ]


@pytest.fixture
def world(db: Database, publisher: Publisher) -> World:
    company = World(db, publisher)
    company.user("author")
    company.user("legal", "legal")
    company.user("cfo", "cfo")
    company.user("ceo")
    company.user("manager")
    company.user("secretary", "secretary")
    return company


@pytest.fixture
def mailing(
    settings: Any, clock: Any, smtp_server: tuple[Inbox, int]
) -> Iterator[tuple[Services, Inbox]]:
    """An app on the test database that sends its mail to a real SMTP server (aiosmtpd):
    its services, and what the server received. The test's own app does the rest."""
    received, port = smtp_server
    app = create_app(settings.replace(smtp_url=f"smtp://127.0.0.1:{port}"), clock=clock)
    services = services_of(app)
    try:
        yield services, received
    finally:
        services.db.dispose()
