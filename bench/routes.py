"""Route engine scenarios (issue: route engine), each beside its raw floor in the same run.

The Sales configuration is published and its Contracts stream filled with N documents (bulk
INSERTs); two routes of the benchmark's own are published beside the Sales route:

- ``bench_chain``: start -> four approval steps in sequence -> end, each step with a plain
  user executor, a deadline of two working days and a reminder four working hours before it
  (as the Sales route's steps have);
- ``bench_fork``: start -> split -> two approvals in parallel -> join -> one approval -> end.

Scenarios:

- ``route_transitions``: the route started on a sample of the documents and every task
  approved, each transition (a start, a decision) through the engine API
  (:func:`potok.runtime.routing.engine.start`, :func:`potok.runtime.routing.tasks.decide`) in
  a write transaction of its own, the way a request runs it; transitions go level by level
  (every document started, then every first step approved…). Floor: the same number of write
  transactions, each doing what a transition minimally writes, by hand with SQLAlchemy Core
  ``text()``: UPDATE the decided task, INSERT the next task, INSERT an event. Reported as
  transitions per second (the sum of the transactions' times), with the p50 and p99 of one
  transition. Target: at least 500 transitions/s on SQLite. ``route_transitions_fork`` is the
  same over the split/join route.
- ``inbox``: a plain user (no grants: they read their tasks' documents as a route participant)
  with 10,000 tasks — 1,000 open with deadlines (a tenth overdue), 9,000 decided by them — and
  10,000 tasks of twenty colleagues, written with bulk INSERTs into ``route_instances``,
  ``route_tokens`` and ``route_tasks`` on the published ``bench_chain`` version. The whole
  ``/inbox`` page (navigation count, tab counts, the first page, documents' numbers and titles)
  through the real app with the user's session cookie, timed server-side with
  :class:`bench.runtime.ServerTime`, vs a bare Starlette endpoint running the hand-written page
  query (the user's open tasks ordered by deadline, LIMIT 51, joined to their documents) and
  its count. ``inbox_done`` is the "Done" tab (decided tasks, newest first) against the same
  kind of floor. Target: p95 < 50 ms server-side. The number of tasks does not follow
  ``--size``.
"""

from __future__ import annotations

import copy
import html
import itertools
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import func, insert, select, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bench.harness import Result, Throughput, Timing, measure
from bench.metadata import BATCH, load_sales
from bench.runtime import ServerTime, login
from potok.app import create_app
from potok.metadata import store
from potok.metadata.dictionaries import items
from potok.metadata.schema_changes import Workspace
from potok.platform import auth
from potok.platform.audit import Actor
from potok.platform.clock import utcnow
from potok.platform.db import Database
from potok.platform.i18n import Catalogs
from potok.platform.models import RouteInstance, RouteTask, RouteToken, User
from potok.runtime.routing import engine, tasks
from potok.runtime.routing.context import published_version
from potok.runtime.streams import Streams
from potok.settings import Settings

SCENARIOS = ("route_transitions", "inbox")
NOW = datetime(2026, 12, 2, 10, 0)  # a Wednesday, in working hours
STEPS = 4  # approvals of bench_chain
ROUTED = 1_000  # documents bench_chain runs on (5 transitions each)
ROUTED_FORK = 250  # documents bench_fork runs on (4 transitions each)
INBOX_TASKS = 10_000  # the inbox user's tasks, and as many of colleagues'
OPEN_SHARE = 10  # one task in ten of the inbox user's is open
COLLEAGUES = 20
TRANSITION_TARGET = ">= 500 transitions/s on SQLite"
INBOX_TARGET = "p95 < 50 ms server-side"


def _labels(text_: str) -> dict[str, str]:
    return {"en": text_, "ru": text_}


def _approval(key: str, username: str) -> dict[str, Any]:
    return {
        "key": key,
        "type": "approval",
        "labels": _labels(f"Approval {key}"),
        "executors": [{"user": username}],
        "deadline": {"working_days": 2},
        "reminders": [{"working_hours": 4}],
    }


def _node(key: str, type_: str) -> dict[str, Any]:
    return {"key": key, "type": type_, "labels": _labels(key.title())}


def chain_route() -> dict[str, Any]:
    keys = ["start", *(f"a{n}" for n in range(1, STEPS + 1)), "end"]
    return {
        "kind": "route",
        "key": "bench_chain",
        "labels": _labels("Benchmark chain"),
        "stream": "contracts",
        "nodes": [
            _node("start", "start"),
            *(_approval(f"a{n}", f"approver{n}") for n in range(1, STEPS + 1)),
            _node("end", "end"),
        ],
        "edges": [{"from": a, "to": b} for a, b in itertools.pairwise(keys)],
    }


def fork_route() -> dict[str, Any]:
    return {
        "kind": "route",
        "key": "bench_fork",
        "labels": _labels("Benchmark fork"),
        "stream": "contracts",
        "nodes": [
            _node("start", "start"),
            _node("fork", "split"),
            _approval("left", "approver1"),
            _approval("right", "approver2"),
            _node("meet", "join"),
            _approval("final", "approver3"),
            _node("end", "end"),
        ],
        "edges": [
            {"from": "start", "to": "fork"},
            {"from": "fork", "to": "left"},
            {"from": "fork", "to": "right"},
            {"from": "left", "to": "meet"},
            {"from": "right", "to": "meet"},
            {"from": "meet", "to": "final"},
            {"from": "final", "to": "end"},
        ],
    }


# Filling ---------------------------------------------------------------------------------


@dataclass
class Filled:
    size: int
    doc_ids: list[int]
    users: dict[str, int]  # username -> id
    table: str  # the contracts table
    title: str  # its title column
    version_id: int  # the published bench_chain version


def _user(session: Any, username: str, full_name: str) -> int:
    user = User(
        username=username,
        full_name=full_name,
        email=f"{username}@example.com",
        is_active=True,
        is_system=False,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(user)
    session.flush()
    return int(user.id)


def fill(database: Database, size: int) -> Filled:
    """Sales and the two routes published, people, and ``size`` contracts (deterministic)."""
    load_sales(database, NOW)
    rng = random.Random(7)
    with database.session(write=True) as session:
        plan = store.plan_publish(
            session,
            documents={
                ("route", doc["key"]): copy.deepcopy(doc) for doc in (chain_route(), fork_route())
            },
        )
        store.publish(session, plan, author="bench", now=NOW)
    with database.session(write=True) as session:
        users = {"author": _user(session, "author", "Автор Договоров")}
        for number in range(1, STEPS + 1):
            users[f"approver{number}"] = _user(
                session, f"approver{number}", f"Согласующий {number}"
            )
        users["inbox"] = _user(session, "inbox", "Ирина Входящая")
        for number in range(COLLEAGUES):
            users[f"colleague{number}"] = _user(session, f"colleague{number}", f"Коллега {number}")
        kinds = [item.id for item in items(session, "contract_kinds")]
        statuses = [item.id for item in items(session, "contract_statuses")]
        _, compiled = Workspace(session, NOW, {}).compile()
        contracts = compiled["contracts"]
        table = contracts.table
        columns = {key: column.name for key, column in contracts.columns.items()}
        for start in range(0, size, BATCH):
            rows = []
            for number in range(start, min(size, start + BATCH)):
                created = NOW - timedelta(minutes=number)
                title = f"Договор поставки № {number + 1}"
                rows.append(
                    {
                        "reg_number": f"CT-{number + 1:07d}",
                        "reg_year": created.year,
                        "author_id": users["author"],
                        "created_at": created,
                        "updated_at": created,
                        "search_text": title,
                        columns["title"]: title,
                        columns["kind"]: rng.choice(kinds),
                        columns["status"]: rng.choice(statuses),
                        columns["amount"]: Decimal(rng.randrange(10_000, 5_000_000)),
                        columns["manager"]: users["author"],
                    }
                )
            session.execute(insert(table), rows)
        doc_ids = list(session.scalars(text(f"SELECT id FROM {table.name} ORDER BY id")))
        version_id = published_version(session, "bench_chain")
    _analyze(database)
    return Filled(size, doc_ids, users, table.name, columns["title"], version_id)


def _analyze(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("ANALYZE"))


# route_transitions --------------------------------------------------------------------------


def _throughput(samples: list[float]) -> Throughput:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return Throughput(len(samples), sum(samples), 0, statistics.median(samples), p99)


class Transitions:
    """The engine's transitions over documents, each in a write transaction of its own."""

    def __init__(self, database: Database, filled: Filled) -> None:
        self.database = database
        self.filled = filled
        self.env = engine.Env(Streams(), Catalogs("en", "UTC"))
        self.names = {user_id: name for name, user_id in filled.users.items()}

    def timed(self, action: Callable[[], object]) -> float:
        started = time.perf_counter()
        action()
        return time.perf_counter() - started

    def start(self, route_key: str, doc_id: int) -> None:
        with self.database.session(write=True) as session:
            engine.start(
                session,
                self.env,
                "contracts",
                doc_id,
                route_key,
                Actor(self.filled.users["author"], "author"),
                now=NOW,
            )

    def approve(self, task_id: int, assignee: int) -> None:
        with self.database.session(write=True) as session:
            tasks.decide(
                session,
                self.env,
                task_id,
                Actor(assignee, self.names[assignee]),
                "approve",
                now=NOW,
            )

    def open_tasks(self, route_key: str) -> list[tuple[int, int]]:
        """(task, assignee) of every open task of ``route_key``'s instances."""
        with self.database.session() as session:
            rows = session.execute(
                select(RouteTask.id, RouteTask.assignee_id)
                .join(RouteInstance, RouteInstance.id == RouteTask.instance_id)
                .where(RouteInstance.route == route_key, RouteTask.status == "open")
                .order_by(RouteTask.id)
            ).all()
        return [(row[0], row[1]) for row in rows]

    def run(self, route_key: str, doc_ids: list[int]) -> list[float]:
        """Start ``route_key`` on each document, then approve open tasks until none is left."""
        samples = [self.timed(partial(self.start, route_key, doc)) for doc in doc_ids]
        while found := self.open_tasks(route_key):
            for task_id, assignee in found:
                samples.append(self.timed(partial(self.approve, task_id, assignee)))
        with self.database.session() as session:
            unfinished = session.scalar(
                select(func.count())
                .select_from(RouteInstance)
                .where(RouteInstance.route == route_key, RouteInstance.status != "finished")
            )
        assert unfinished == 0, f"{unfinished} instances of {route_key} did not finish"
        return samples


class TransitionFloor:
    """What a transition minimally writes, by hand: the decided task updated, the next task
    and an event inserted, in a write transaction of its own."""

    UPDATE = text(
        "UPDATE route_tasks SET status = 'done', decision = 'approve', decided_at = :now, "
        "decided_by_id = :user WHERE id = :id"
    )
    TASK = text(
        "INSERT INTO route_tasks (instance_id, token_id, node, kind, position, assignee_id, "
        "status, comment, deadline, created_at, key) VALUES (:instance, :token, :node, "
        "'approval', 0, :user, 'open', '', :deadline, :now, :key) RETURNING id"
    )
    EVENT = text(
        "INSERT INTO route_events (instance_id, at, actor_id, actor_name, node, task_id, what, "
        "comment) VALUES (:instance, :now, :user, 'approver', :node, :task, 'approved', '')"
    )

    def __init__(self, database: Database, filled: Filled) -> None:
        self.database = database
        self.filled = filled
        self.serial = 0

    def prepare(self, doc_ids: list[int], label: str) -> list[list[int]]:
        """An instance, a token and a first task per document (not timed): [instance,
        token, task] each."""
        user = self.filled.users["approver1"]
        with self.database.session(write=True) as session:
            before = session.scalar(select(func.coalesce(func.max(RouteInstance.id), 0)))
            session.execute(
                insert(RouteInstance),
                [
                    {
                        "stream": "contracts",
                        "doc_id": doc,
                        "route": f"floor_{label}",
                        "route_version_id": self.filled.version_id,
                        "status": "running",
                        "started_at": NOW,
                        "version": 1,
                    }
                    for doc in doc_ids
                ],
            )
            instances = list(
                session.scalars(
                    select(RouteInstance.id).where(RouteInstance.id > before).order_by("id")
                )
            )
            positions = self._tokens(session, instances)
            chains = []
            for instance, token in zip(instances, positions, strict=True):
                task = self._task(session, instance, token, user)
                chains.append([instance, token, task])
        return chains

    def _tokens(self, session: Any, instances: list[int]) -> list[int]:
        before = session.scalar(select(func.coalesce(func.max(RouteToken.id), 0)))
        session.execute(
            insert(RouteToken),
            [
                {"instance_id": i, "node": "a1", "status": "active", "created_at": NOW}
                for i in instances
            ],
        )
        return list(
            session.scalars(select(RouteToken.id).where(RouteToken.id > before).order_by("id"))
        )

    def _task(self, session: Any, instance: int, token: int, user: int) -> int:
        self.serial += 1
        return int(
            session.execute(
                self.TASK,
                {
                    "instance": instance,
                    "token": token,
                    "node": "a1",
                    "user": user,
                    "deadline": NOW + timedelta(days=2),
                    "now": NOW,
                    "key": f"floor:{self.serial}",
                },
            ).scalar_one()
        )

    def transition(self, chain: list[int]) -> None:
        instance, token, task = chain
        user = self.filled.users["approver1"]
        with self.database.session(write=True) as session:
            session.execute(self.UPDATE, {"now": NOW, "user": user, "id": task})
            chain[2] = self._task(session, instance, token, user)
            session.execute(
                self.EVENT,
                {"instance": instance, "now": NOW, "user": user, "node": "a1", "task": chain[2]},
            )

    def run(self, doc_ids: list[int], per_document: int, label: str) -> list[float]:
        chains = self.prepare(doc_ids, label)
        samples = []
        for _ in range(per_document):
            for chain in chains:
                started = time.perf_counter()
                self.transition(chain)
                samples.append(time.perf_counter() - started)
        return samples


def route_transitions(
    database: Database, filled: Filled, routed: int = ROUTED, routed_fork: int = ROUTED_FORK
) -> list[Result]:
    potok = Transitions(database, filled)
    floor = TransitionFloor(database, filled)
    ids = filled.doc_ids
    chain_docs = ids[: min(routed, len(ids))]
    fork_docs = ids[len(chain_docs) : len(chain_docs) + min(routed_fork, len(ids))] or ids[:1]
    warm = ids[-1:]  # the first transitions parse the route and compile the stream
    potok.run("bench_fork", warm)
    floor.run(warm, 2, "warm")
    results = []
    for key, docs, per_document, name in (
        ("bench_chain", chain_docs, 1 + STEPS, "route_transitions"),
        ("bench_fork", fork_docs, 4, "route_transitions_fork"),
    ):
        measured = potok.run(key, docs)
        assert len(measured) == len(docs) * per_document, (key, len(measured))
        floored = floor.run(docs, per_document, key)
        shape = (
            f"start -> {STEPS} approvals in sequence -> end"
            if key == "bench_chain"
            else "start -> split -> 2 approvals in parallel -> join -> 1 approval -> end"
        )
        results.append(
            Result(
                name,
                filled.size,
                _throughput(measured),
                _throughput(floored),
                TRANSITION_TARGET,
                f"{len(measured)} transitions (req/s = transitions/s; a start or an approval, "
                f"each its own write transaction) on {len(docs)} contracts, route {shape}, "
                "user executors, deadline 2 working days + reminder; floor: UPDATE task + "
                "INSERT task + INSERT event by hand per transaction",
            )
        )
    return results


# inbox ----------------------------------------------------------------------------------------


def fill_inbox(database: Database, filled: Filled, count: int, now: datetime) -> None:
    """``count`` tasks of the inbox user (a tenth open) and ``count`` of colleagues, each on
    an instance of its own over the contracts, in bulk."""
    rng = random.Random(11)
    me = filled.users["inbox"]
    colleagues = [filled.users[f"colleague{n}"] for n in range(COLLEAGUES)]
    specs = []  # (assignee, open?)
    for number in range(count):
        specs.append((me, number % OPEN_SHARE == 0))
    for number in range(count):
        specs.append((rng.choice(colleagues), number % OPEN_SHARE == 0))
    rng.shuffle(specs)
    docs = filled.doc_ids
    with database.session(write=True) as session:
        for start in range(0, len(specs), BATCH):
            batch = specs[start : start + BATCH]
            before = session.scalar(select(func.coalesce(func.max(RouteInstance.id), 0)))
            session.execute(
                insert(RouteInstance),
                [
                    {
                        "stream": "contracts",
                        "doc_id": docs[(start + n) % len(docs)],
                        "route": "bench_chain",
                        "route_version_id": filled.version_id,
                        "status": "running" if is_open else "finished",
                        "outcome": None if is_open else "completed",
                        "author_id": filled.users["author"],
                        "started_by_id": filled.users["author"],
                        "started_at": now - timedelta(days=rng.randrange(1, 400)),
                        "version": 2,
                    }
                    for n, (_, is_open) in enumerate(batch)
                ],
            )
            instances = list(
                session.scalars(
                    select(RouteInstance.id).where(RouteInstance.id > before).order_by("id")
                )
            )
            before = session.scalar(select(func.coalesce(func.max(RouteToken.id), 0)))
            session.execute(
                insert(RouteToken),
                [
                    {
                        "instance_id": instance,
                        "node": "a1",
                        "status": "active" if is_open else "consumed",
                        "created_at": now,
                    }
                    for instance, (_, is_open) in zip(instances, batch, strict=True)
                ],
            )
            tokens = list(
                session.scalars(select(RouteToken.id).where(RouteToken.id > before).order_by("id"))
            )
            rows = []
            for n, (instance, token, (assignee, is_open)) in enumerate(
                zip(instances, tokens, batch, strict=True)
            ):
                created = now - timedelta(days=rng.randrange(1, 400), minutes=rng.randrange(1440))
                deadline = now + timedelta(hours=rng.randrange(-24 * 5, 24 * 45))
                rows.append(
                    {
                        "instance_id": instance,
                        "token_id": token,
                        "node": f"a{rng.randrange(1, STEPS + 1)}",
                        "kind": "approval",
                        "position": 0,
                        "assignee_id": assignee,
                        "status": "open" if is_open else "done",
                        "decision": None if is_open else "approve",
                        "comment": "",
                        "deadline": deadline,
                        "created_at": created,
                        "decided_at": None if is_open else created + timedelta(hours=3),
                        "decided_by_id": None if is_open else assignee,
                        "key": f"bench-inbox:{start + n}",
                    }
                )
            session.execute(insert(RouteTask), rows)
    _analyze(database)


class InboxFloor:
    """The inbox page's reads by hand: one page of the user's tasks joined to their
    documents, and the count of the tab."""

    def __init__(self, database: Database, filled: Filled) -> None:
        self.database = database
        shown = (
            f"SELECT t.id, t.node, t.kind, t.deadline, t.decided_at, i.doc_id, c.reg_number, "
            f"c.{filled.title} FROM route_tasks t "
            "JOIN route_instances i ON i.id = t.instance_id "
            f"JOIN {filled.table} c ON c.id = i.doc_id "
        )
        self.todo = text(
            shown + "WHERE t.assignee_id = :user AND t.status = 'open' "
            "ORDER BY t.deadline, t.id LIMIT 51"
        )
        self.todo_count = text(
            "SELECT count(*) FROM route_tasks WHERE assignee_id = :user AND status = 'open'"
        )
        self.done = text(
            shown + "WHERE t.decided_by_id = :user AND t.status IN ('done', 'refused') "
            "ORDER BY t.decided_at DESC, t.id DESC LIMIT 51"
        )
        self.done_count = text(
            "SELECT count(*) FROM route_tasks WHERE decided_by_id = :user "
            "AND status IN ('done', 'refused')"
        )

    def page(self, request: Request) -> HTMLResponse:
        user = int(request.query_params["user"])
        done = request.query_params.get("tab") == "done"
        with self.database.session() as session:
            rows = session.execute(self.done if done else self.todo, {"user": user}).all()
            count = session.scalar(self.done_count if done else self.todo_count, {"user": user})
        body = "".join(
            f"<tr><td>{row[0]}</td><td>{html.escape(row[1])}</td><td>{row[3] or row[4]}</td>"
            f"<td>{html.escape(row[6] or '')}</td><td>{html.escape(str(row[7] or ''))}</td></tr>"
            for row in rows
        )
        return HTMLResponse(f"<html><body><p>{count}</p><table>{body}</table></body></html>")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/inbox", self.page)])


def _get(client: TestClient, url: str) -> float:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:500])
    return float(client.app.last)  # type: ignore[attr-defined]


def _timed(client: TestClient, url: str, runs: int) -> Timing:
    for _ in range(min(runs, 20)):
        _get(client, url)
    return measure(lambda _run: _get(client, url), runs)


def inbox(
    settings: Settings, database: Database, filled: Filled, runs: int, count: int = INBOX_TASKS
) -> list[Result]:
    now = utcnow()
    fill_inbox(database, filled, count, now)
    me = filled.users["inbox"]
    app = create_app(settings, database=database)
    potok = TestClient(ServerTime(app), follow_redirects=False)
    potok.cookies.set(auth.SESSION_COOKIE, login(database, me))
    bare = TestClient(ServerTime(InboxFloor(database, filled).app()), follow_redirects=False)
    try:
        page = potok.get("/inbox")
        assert page.status_code == 200 and "CT-" in page.text, page.text[:500]
        results = []
        for name, tab, what in (
            ("inbox", "", "the user's open tasks ordered by deadline"),
            ("inbox_done", "done", "the tasks the user decided, newest first"),
        ):
            query = f"?tab={tab}" if tab else ""
            results.append(
                Result(
                    name,
                    filled.size,
                    _timed(potok, f"/inbox{query}", runs),
                    _timed(bare, f"/inbox?user={me}{'&tab=done' if tab else ''}", runs),
                    INBOX_TARGET,
                    f"/inbox{query} of a plain user with {count} tasks ({count // OPEN_SHARE} "
                    f"open) among {2 * count}, whole page, vs {what} (LIMIT 51, joined to the "
                    "documents) and the tab's count by hand in a bare endpoint",
                )
            )
        return results
    finally:
        potok.close()
        bare.close()


def run(
    settings: Settings,
    database: Database,
    size: int,
    chosen: set[str],
    *,
    runs: int = 200,
    routed: int = ROUTED,
    routed_fork: int = ROUTED_FORK,
    inbox_tasks: int = INBOX_TASKS,
) -> list[Result]:
    filled = fill(database, size)
    results: list[Result] = []
    if "route_transitions" in chosen:
        results += route_transitions(database, filled, routed, routed_fork)
    if "inbox" in chosen:
        results += inbox(settings, database, filled, runs, inbox_tasks)
    return results


__all__ = ["SCENARIOS", "InboxFloor", "TransitionFloor", "Transitions", "fill", "run"]
