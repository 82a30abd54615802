"""Runtime scenarios (issue: runtime), each beside its raw floor in the same run.

The Clients stream of the Sales configuration is filled with N documents: company names made
of Russian words (so search finds something), skewed regions, industries, statuses and
categories, twenty managers, three years of creation dates; ``search_text`` is written with
the rows, so the FTS5 table (its triggers) or the GIN index over it is filled too. Requests
go through the real Potok app as the administrator, with a session cookie.

- ``card``: GET ``/s/clients/<id>`` vs a bare Starlette endpoint reading the same row by
  primary key with SQLAlchemy and answering a small HTML page. Target: p50 < 10 ms.
- ``card_throughput``: the same two endpoints served by uvicorn (one process each), loaded
  with 32 connections (``wrk`` when installed, else 32 httpx tasks). Target: Potok at least
  half the bare endpoint's requests per second.
- ``list``: the first page of ``/s/clients/?q=<word>&sort=created_at&dir=desc`` vs the
  hand-written FTS query with the same order and LIMIT, in a bare endpoint.
- ``list_filter``: :func:`potok.runtime.listing.page` with a condition on two fields
  (manager and status), sorted by name, vs ``SELECT … WHERE manager = ? AND status = ?
  ORDER BY name, id LIMIT 51``. Target: p95 < 50 ms.
- ``list_count``: the count a filtered list page loads after its rows
  (``/s/clients/count?f.manager=…&f.status=…``, exact up to 10,000) vs ``SELECT count(*) FROM
  (… LIMIT 10001)`` by hand. No target of its own: the page does not wait for it.
- ``list_page_filter``: the whole list page ``/s/clients/?f.manager=<id>&f.status=<id>`` (sorted
  by name; filter panel, group panel and bulk form included) vs the same hand-written query
  in a bare endpoint. Target: p95 < 50 ms.
- ``search``: ``/s/clients/?q=<word>`` (sorted by name, the list's default) vs FTS5 MATCH /
  ``tsvector @@ tsquery`` by hand, in a bare endpoint. Target: p95 < 100 ms.

Timings are server-side: both apps run in this process behind Starlette's test client, each
wrapped in :class:`ServerTime`, which times the application from the request's arrival to the
last byte of its answer — the test client's own cost (a thread hop per request) is left out,
for Potok and the floor alike.
"""

from __future__ import annotations

import asyncio
import html
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import insert, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from bench.harness import Result, Throughput, measure
from bench.metadata import BATCH, load_sales, valid_inn
from potok.app import create_app
from potok.metadata.compiler import fts_table_name
from potok.metadata.dictionaries import items
from potok.metadata.schema_changes import Workspace
from potok.platform import accounts, auth
from potok.platform.audit import Actor
from potok.platform.clock import utcnow
from potok.platform.db import Database
from potok.platform.models import User
from potok.runtime import listing
from potok.runtime.streams import Streams
from potok.settings import Settings

SCENARIOS = (
    "card",
    "card_throughput",
    "list",
    "list_filter",
    "list_page_filter",
    "list_count",
    "search",
)
ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 1)
FORMS = ("ООО", "АО", "ПАО", "ЗАО", "ИП")
LEGAL = {
    "ООО": "Общество с ограниченной ответственностью",
    "АО": "Акционерное общество",
    "ПАО": "Публичное акционерное общество",
    "ЗАО": "Закрытое акционерное общество",
    "ИП": "Индивидуальный предприниматель",
}
WORDS = (  # noqa: SIM905 - easier to read as prose
    "Северный Звезда Ромашка Василёк Лютик Вектор Гранит Меридиан Орбита Прогресс Восток "
    "Заря Радуга Сфера Техно Строй Энерго Агро Логистика Трейд Сервис Инвест Капитал "
    "Монолит Континент Импульс Гарант Фортуна Рубин Янтарь Кедр Берёза Волга Урал Сибирь "
    "Балтика Нева Алмаз Титан Атлант Феникс Пегас Олимп Парус Маяк Причал Слава Надежда "
    "Победа Дружба Родник Исток Колос Нива Полёт Горизонт Эталон Ресурс Стандарт Аврора "
    "Омега Дельта Лидер Партнёр Союз Мост Ладья Терем Купец Мастер Промышленный Торговый "
    "Южный Западный Центр"
).split()
SEARCHED = ("маяк", "нева", "горизонт", "строй", "кедр", "партн", "ромашка", "урал")
MANAGERS = 20
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a scratch database's only user
SECRET_KEY = "bench-secret-key-" + "b" * 32


def _skewed(rng: random.Random, choices: list[int]) -> int:
    """One of ``choices``, the first ones far more often (the way Moscow outweighs Tver)."""
    weights = [1 / (rank + 1) for rank in range(len(choices))]
    return rng.choices(choices, weights)[0]


def _company(rng: random.Random) -> tuple[str, str]:
    form = rng.choice(FORMS)
    words = f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
    return f"{form} «{words}»", f"{LEGAL[form]} «{words}»"


@dataclass
class Filled:
    """What the scenarios need to know about the data: ids to ask for and filter by."""

    size: int
    doc_ids: tuple[int, int]  # first and last
    managers: list[int]
    statuses: list[int]
    columns: dict[str, str]  # field -> column name in s_clients
    fts_table: str
    admin_id: int


def _managers(database: Database) -> tuple[int, list[int]]:
    with database.session(write=True) as session:
        admin, _ = accounts.ensure_admin(session, password=ADMIN_PASSWORD, now=NOW)
        session.flush()
        managers = []
        for number in range(MANAGERS):
            values = accounts.UserInput(
                username=f"manager{number}",
                full_name=f"Менеджер {number}",
                email=f"manager{number}@example.com",
                password=ADMIN_PASSWORD,
            )
            managers.append(accounts.create_user(session, Actor.system(), values, now=NOW).id)
        return admin.id, managers


def fill(database: Database, size: int) -> Filled:
    """The Sales configuration with ``size`` clients (deterministic: the same data each run)."""
    load_sales(database, NOW)
    admin_id, managers = _managers(database)
    rng = random.Random(42)
    with database.session(write=True) as session:
        ids = {
            key: [item.id for item in items(session, key)]
            for key in ("industries", "regions", "client_statuses", "client_categories")
        }
        _, compiled = Workspace(session, NOW, {}).compile()
        clients = compiled["clients"]
        table = clients.table
        columns = {key: column.name for key, column in clients.columns.items()}
        span = timedelta(days=3 * 365) / max(size, 1)
        for start in range(0, size, BATCH):
            rows = []
            for number in range(start, min(size, start + BATCH)):
                name, full_name = _company(rng)
                inn = valid_inn(number + 1)
                manager = rng.choice(managers)
                created = NOW - span * (size - number) + timedelta(seconds=rng.randrange(3600))
                rows.append(
                    {
                        "reg_number": f"CL-{number + 1:05d}",
                        "reg_year": created.year,
                        "author_id": manager,
                        "created_at": created,
                        "updated_at": created,
                        "search_text": f"{name} {full_name} {inn}",
                        columns["name"]: name,
                        columns["full_name"]: full_name,
                        columns["inn"]: inn,
                        columns["industry"]: _skewed(rng, ids["industries"]),
                        columns["region"]: _skewed(rng, ids["regions"]),
                        columns["status"]: _skewed(rng, ids["client_statuses"]),
                        columns["category"]: rng.choice(ids["client_categories"]),
                        columns["manager"]: manager,
                        columns["phone"]: f"+7 495 {rng.randrange(10**7):07d}",
                    }
                )
            session.execute(insert(table), rows)
        first_last = session.execute(text(f"SELECT min(id), max(id) FROM {table.name}")).one()
    with database.engine.begin() as connection:
        if database.is_sqlite:
            connection.execute(text("ANALYZE"))
        else:
            connection.execute(text(f"ANALYZE {table.name}"))
    return Filled(
        size=size,
        doc_ids=(first_last[0] or 0, first_last[1] or 0),
        managers=managers,
        statuses=ids["client_statuses"],
        columns=columns,
        fts_table=fts_table_name("clients"),
        admin_id=admin_id,
    )


def login(database: Database, user_id: int) -> str:
    """A session token for the cookie, as the login form would start one."""
    with database.session(write=True) as session:
        user = session.get(User, user_id)
        assert user is not None
        return auth.start_session(session, user, ip="127.0.0.1", user_agent="bench", now=utcnow())


# The floor: a bare Starlette app with the same reads written by hand ---------------------


LIST_COLUMNS = ("name", "inn", "industry", "region", "status", "manager")


class Floor:
    """Hand-written SQL for each scenario, over the same engine as Potok's."""

    def __init__(self, database: Database, columns: dict[str, str]) -> None:
        self.database = database
        self.c = columns
        self.fts = fts_table_name("clients")
        shown = ", ".join(["id", "reg_number", "created_at", "version"])
        shown += "".join(f", {columns[key]}" for key in LIST_COLUMNS)
        self.shown = shown

    def card(self, doc_id: int) -> Any:
        query = text("SELECT * FROM s_clients WHERE id = :id AND deleted = false")
        with self.database.engine.connect() as connection:
            return connection.execute(query, {"id": doc_id}).mappings().first()

    def filtered(self, manager: int, status: int) -> list[Any]:
        c = self.c
        query = text(
            f"SELECT {self.shown} FROM s_clients WHERE deleted = false "
            f"AND {c['manager']} = :manager AND {c['status']} = :status "
            f"ORDER BY {c['name']} NULLS LAST, id LIMIT 51"
        )
        with self.database.engine.connect() as connection:
            return list(connection.execute(query, {"manager": manager, "status": status}))

    def count(self, manager: int, status: int) -> int:
        c = self.c
        query = text(
            "SELECT count(*) FROM (SELECT 1 FROM s_clients WHERE deleted = false "
            f"AND {c['manager']} = :manager AND {c['status']} = :status LIMIT 10001) AS found"
        )
        with self.database.engine.connect() as connection:
            return int(
                connection.execute(query, {"manager": manager, "status": status}).scalar_one()
            )

    def search(self, word: str, order: str) -> list[Any]:
        if self.database.is_sqlite:
            found = f"id IN (SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH :match)"
            match = f'"{word}"*'
        else:
            found = (
                "to_tsvector('simple', coalesce(search_text, '')) @@ to_tsquery('simple', :match)"
            )
            match = f"{word}:*"
        query = text(
            f"SELECT {self.shown} FROM s_clients WHERE deleted = false AND {found} "
            f"ORDER BY {order} NULLS LAST, id LIMIT 51"
        )
        with self.database.engine.connect() as connection:
            return list(connection.execute(query, {"match": match}))

    def app(self) -> Starlette:
        def page(title: str, rows: list[Any]) -> HTMLResponse:
            body = "".join(
                f"<li>{html.escape(str(row[0]))} {html.escape(str(row[1]))}</li>" for row in rows
            )
            return HTMLResponse(
                f"<!doctype html><title>{html.escape(title)}</title><ul>{body}</ul>"
            )

        def card(request: Request) -> Response:
            row = self.card(int(request.path_params["doc_id"]))
            if row is None:
                return HTMLResponse("not found", status_code=404)
            name, inn = row[self.c["name"]], row[self.c["inn"]]
            return HTMLResponse(
                f"<!doctype html><title>{html.escape(name)}</title>"
                f"<h1>{html.escape(name)}</h1><p>{html.escape(inn)}</p>"
            )

        def filtered(request: Request) -> Response:
            params = request.query_params
            return page("list", self.filtered(int(params["manager"]), int(params["status"])))

        def count(request: Request) -> Response:
            params = request.query_params
            found = self.count(int(params["manager"]), int(params["status"]))
            return HTMLResponse(f"<p>{found}</p>")

        def search(request: Request) -> Response:
            params = request.query_params
            order = self.c["name"] if params.get("sort") != "created_at" else "created_at"
            if params.get("dir") == "desc":
                order += " DESC"
            return page("search", self.search(params["q"], order))

        return Starlette(
            routes=[
                Route("/card/{doc_id:int}", card),
                Route("/filtered", filtered),
                Route("/count", count),
                Route("/search", search),
            ]
        )


def floor_app_from_environment() -> Starlette:
    """The bare endpoint for ``uvicorn --factory`` (the throughput scenario)."""
    database = Database.from_settings(Settings.from_env())
    with database.session() as session:
        _, compiled = Workspace(session, NOW, {}).compile()
    columns = {key: column.name for key, column in compiled["clients"].columns.items()}
    return Floor(database, columns).app()


# Scenarios -----------------------------------------------------------------------------------


class ServerTime:
    """An ASGI wrapper that keeps how long the application took with its last request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last = time.perf_counter() - started


class Stage:
    """Both apps over one filled database, with test clients for server-side timings."""

    def __init__(self, settings: Settings, database: Database, filled: Filled) -> None:
        self.settings = settings
        self.database = database
        self.filled = filled
        self.token = login(database, filled.admin_id)
        self.floor = Floor(database, filled.columns)
        self.app = create_app(settings, database=database)
        self.potok = TestClient(ServerTime(self.app), follow_redirects=False)
        self.potok.cookies.set(auth.SESSION_COOKIE, self.token)
        self.bare = TestClient(ServerTime(self.floor.app()), follow_redirects=False)

    def get(self, client: TestClient, url: str) -> float:
        """Request ``url``; the seconds the application spent on it."""
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.text[:500])
        return float(client.app.last)  # type: ignore[attr-defined]

    def timed(self, url_of: Callable[[int], str], client: TestClient, runs: int) -> Any:
        for run in range(min(runs, 20)):
            self.get(client, url_of(run))
        return measure(lambda run: self.get(client, url_of(run)), runs)

    def manager_and_status(self, run: int) -> tuple[int, int]:
        """A filter the lists are timed with: one of the managers and a frequent status."""
        rng = random.Random(run)
        return rng.choice(self.filled.managers), rng.choice(self.filled.statuses[:3])

    def doc_id(self, run: int) -> int:
        first, last = self.filled.doc_ids
        return random.Random(run).randint(first, last)

    def card(self, runs: int) -> Result:
        return Result(
            "card",
            self.filled.size,
            self.timed(lambda run: f"/s/clients/{self.doc_id(run)}", self.potok, runs),
            self.timed(lambda run: f"/card/{self.doc_id(run)}", self.bare, runs),
            "p50 < 10 ms server-side",
            "GET /s/clients/<random id> as admin vs bare Starlette + SQLAlchemy primary-key read",
        )

    def list(self, runs: int) -> Result:
        def word(run: int) -> str:
            return SEARCHED[run % len(SEARCHED)]

        return Result(
            "list",
            self.filled.size,
            self.timed(
                lambda run: f"/s/clients/?q={word(run)}&sort=created_at&dir=desc", self.potok, runs
            ),
            self.timed(
                lambda run: f"/search?q={word(run)}&sort=created_at&dir=desc", self.bare, runs
            ),
            "p95 < 50 ms server-side (first page, sorted)",
            "list page searched and sorted by created_at desc vs the hand-written query "
            "(Potok also counts up to 10,001 matches and shows dictionary names)",
        )

    def list_filter(self, runs: int) -> Result:
        filled = self.filled
        runtime = self._runtime()
        user = self._admin()
        choice = self.manager_and_status

        def potok(run: int) -> None:
            manager, status = choice(run)
            condition = {
                "and": [
                    {"==": [{"var": "manager"}, manager]},
                    {"==": [{"var": "status"}, status]},
                ]
            }
            with self.database.session() as session:
                listing.page(
                    session,
                    user,
                    runtime,
                    list(LIST_COLUMNS),
                    sort=listing.Sort("name", False),
                    condition=condition,
                    now=NOW,
                    counted=False,
                )

        def floor(run: int) -> None:
            self.floor.filtered(*choice(run))

        for run in range(10):
            potok(run)
            floor(run)
        return Result(
            "list_filter",
            filled.size,
            measure(potok, runs),
            measure(floor, runs),
            "p95 < 50 ms server-side",
            "listing.page() filtered on manager and status, sorted by name, vs "
            "SELECT … WHERE manager = ? AND status = ? ORDER BY name LIMIT 51 "
            "(the count is list_count's)",
        )

    def list_page_filter(self, runs: int) -> Result:
        filled = self.filled
        choice = self.manager_and_status

        def potok(run: int) -> str:
            manager, status = choice(run)
            return f"/s/clients/?f.manager={manager}&f.status={status}&sort=name"

        def floor(run: int) -> str:
            manager, status = choice(run)
            return f"/filtered?manager={manager}&status={status}"

        return Result(
            "list_page_filter",
            filled.size,
            self.timed(potok, self.potok, runs),
            self.timed(floor, self.bare, runs),
            "p95 < 50 ms server-side",
            "the list page filtered on manager and status, sorted by name, with its filter, "
            "group and bulk panels, vs the hand-written query in a bare endpoint",
        )

    def list_count(self, runs: int) -> Result:
        filled = self.filled
        choice = self.manager_and_status

        def potok(run: int) -> str:
            manager, status = choice(run)
            return f"/s/clients/count?f.manager={manager}&f.status={status}"

        def floor(run: int) -> str:
            manager, status = choice(run)
            return f"/count?manager={manager}&status={status}"

        return Result(
            "list_count",
            filled.size,
            self.timed(potok, self.potok, runs),
            self.timed(floor, self.bare, runs),
            "none of its own (the list page shows its rows without waiting for it)",
            "the count a filtered list page loads after its rows (exact up to 10,000) vs "
            "SELECT count(*) FROM (… WHERE manager = ? AND status = ? LIMIT 10001)",
        )

    def search(self, runs: int) -> Result:
        def word(run: int) -> str:
            return SEARCHED[run % len(SEARCHED)]

        return Result(
            "search",
            self.filled.size,
            self.timed(lambda run: f"/s/clients/?q={word(run)}", self.potok, runs),
            self.timed(lambda run: f"/search?q={word(run)}", self.bare, runs),
            "p95 < 100 ms server-side",
            f"/s/clients/?q=<word> (sorted by name) vs FTS by hand; words: {', '.join(SEARCHED)}",
        )

    def card_throughput(self, seconds: float) -> Result:
        environment = _environment(self.settings)
        urls = [f"/s/clients/{self.doc_id(run)}" for run in range(64)]
        with _served("potok.app:app_from_environment", environment) as base:
            potok = load(base, urls, {"Cookie": f"{auth.SESSION_COOKIE}={self.token}"}, seconds)
        floor_urls = [f"/card/{self.doc_id(run)}" for run in range(64)]
        with _served("bench.runtime:floor_app_from_environment", environment) as base:
            floor = load(base, floor_urls, {}, seconds)
        return Result(
            "card_throughput",
            self.filled.size,
            potok,
            floor,
            "Potok >= 0.5 x the bare endpoint's requests/s",
            f"uvicorn, one process each, 32 connections for {seconds:g} s "
            f"({'wrk' if shutil.which('wrk') else 'httpx'})",
        )

    def _runtime(self) -> Any:
        with self.database.session() as session:
            return Streams().get(session, "clients")

    def _admin(self) -> auth.CurrentUser:
        with self.database.session() as session:
            found = auth.find_session(
                session,
                self.token,
                now=utcnow(),
                timeouts=auth.SessionTimeouts(timedelta(days=1), timedelta(days=1)),
                registry=self.app.state.services.capabilities,
            )
        assert found.user is not None
        return found.user

    def close(self) -> None:
        self.potok.close()
        self.bare.close()


def run(
    settings: Settings,
    database: Database,
    size: int,
    chosen: set[str],
    *,
    runs: int = 200,
    seconds: float = 10.0,
) -> list[Result]:
    filled = fill(database, size)
    stage = Stage(settings, database, filled)
    try:
        results = []
        for name in SCENARIOS:
            if name not in chosen:
                continue
            if name == "card_throughput":
                results.append(stage.card_throughput(seconds))
            else:
                results.append(getattr(stage, name)(runs))
        return results
    finally:
        stage.close()


# Serving and loading -------------------------------------------------------------------------


def _environment(settings: Settings) -> dict[str, str]:
    environment = {
        **os.environ,
        "POTOK_DATA_DIR": str(settings.data_dir),
        "POTOK_SECRET_KEY": settings.secret_key or SECRET_KEY,
        "POTOK_SCHEDULER": "off",
        "POTOK_DEFAULT_CONFIG": "none",
        "POTOK_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    if settings.database_url:
        environment["POTOK_DATABASE_URL"] = settings.database_url
    else:
        environment.pop("POTOK_DATABASE_URL", None)
    return environment


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _served(factory: str, environment: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(command, env=environment, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{factory} did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def load(base: str, urls: list[str], headers: dict[str, str], seconds: float) -> Throughput:
    """32 connections asking for ``urls`` in turn for ``seconds`` (after a short warm-up)."""
    for url in urls:
        response = httpx.get(base + url, headers=headers, timeout=30)
        assert response.status_code == 200, (url, response.status_code)
    if shutil.which("wrk"):
        return _wrk(base, urls, headers, seconds)
    return asyncio.run(_httpx_load(base, urls, headers, seconds))


LUA = """
local urls = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, urls[(n %% #urls) + 1])
end
"""
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _wrk_seconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def _wrk(base: str, urls: list[str], headers: dict[str, str], seconds: float) -> Throughput:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(LUA % ", ".join(f'"{url}"' for url in urls))
        script.flush()
        command = ["wrk", "-t4", "-c32", "--latency", "-s", script.name]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        warm = [*command, "-d1s", base]
        subprocess.run(warm, check=True, capture_output=True)
        duration = max(1, round(seconds))
        output = subprocess.run(
            [*command, f"-d{duration}s", base], check=True, capture_output=True, text=True
        ).stdout
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    elapsed = _wrk_seconds(re.search(r"requests in ([\d.]+\w+),", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    failed = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(bad.group(1)) if bad else 0
    errors += sum(int(n) for n in failed.groups()) if failed else 0
    latency = {
        share: _wrk_seconds(value)
        for share, value in re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE)
    }
    return Throughput(requests, elapsed, errors, latency.get("50", 0.0), latency.get("99", 0.0))


async def _httpx_load(
    base: str, urls: list[str], headers: dict[str, str], seconds: float
) -> Throughput:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:

        async def worker(offset: int, until: float, record: bool) -> None:
            nonlocal errors
            number = offset
            while time.perf_counter() < until:
                started = time.perf_counter()
                response = await client.get(urls[number % len(urls)])
                if record:
                    latencies.append(time.perf_counter() - started)
                    errors += response.status_code != 200
                number += 32

        warm_until = time.perf_counter() + min(1.0, seconds)
        await asyncio.gather(*(worker(n, warm_until, False) for n in range(32)))
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(worker(n, until, True) for n in range(32)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p50 = latencies[len(latencies) // 2] if latencies else 0.0
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else 0.0
    return Throughput(len(latencies), elapsed, errors, p50, p99)


__all__ = ["SCENARIOS", "Floor", "Stage", "fill", "floor_app_from_environment", "load", "run"]
