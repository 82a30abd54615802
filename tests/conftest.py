"""Fixtures in the shape STYLE.md asks for: ``settings`` -> ``app`` -> ``client`` -> ``as_user``.

Every test gets a database of its own: on SQLite a copy of a migrated template file, on
PostgreSQL (``POTOK_TEST_DATABASE_URL`` set) a database cloned from a migrated template and
dropped afterwards, so tests never see each other's data and repeated runs start clean.
"""

from __future__ import annotations

import os
import secrets
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette
from starlette.testclient import TestClient

from potok.app import create_app, services_of
from potok.platform import accounts, migrate, passwords
from potok.platform.audit import Actor
from potok.platform.clock import utcnow
from potok.platform.csrf import CSRF_COOKIE, token_for
from potok.platform.db import Database, make_unpooled_engine
from potok.platform.models import Role
from potok.settings import Settings

# Property-based tests: no per-example deadline (CI machines are noisy) and a fixed seed, so a
# failure seen once is seen again on every run.
hypothesis_settings.register_profile("potok", deadline=None, derandomize=True)
hypothesis_settings.load_profile("potok")

TEST_DATABASE_URL = os.environ.get("POTOK_TEST_DATABASE_URL", "").strip()
SECRET_KEY = "test-secret-key-" + "x" * 32
PASSWORD = "correct-horse-battery"
_PREFIX = "potok_test_"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Real argon2id, with the cost turned down: production's cost is ~0.1 s per hash."""
    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = original


# Databases -------------------------------------------------------------------------------


def _admin_engine() -> Engine:
    return create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _drop_stale_databases() -> None:
    """Drop databases of earlier runs whose process is gone (a crashed or killed run)."""
    engine = _admin_engine()
    with engine.connect() as connection:
        names = connection.scalars(
            text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
            {"prefix": _PREFIX + "%"},
        ).all()
        for name in names:
            try:
                pid = int(name.split("_")[2])
            except (IndexError, ValueError):
                continue
            try:
                os.kill(pid, 0)
                continue
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@dataclass
class DatabaseFactory:
    """Makes a fresh, migrated database for each test from one migrated template."""

    tmp_root: Path
    template: str = ""
    counter: int = 0

    def setup(self) -> None:
        run = f"{_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
        if TEST_DATABASE_URL:
            _drop_stale_databases()
            self.template = f"{run}_template"
            engine = _admin_engine()
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{self.template}"'))
            engine.dispose()
            url = make_url(TEST_DATABASE_URL).set(database=self.template)
            migrated = create_engine(url)
            migrate.upgrade(migrated)
            migrated.dispose()
            self.run = run
        else:
            self.template = str(self.tmp_root / "template.sqlite3")
            settings = Settings.defaults(data_dir=self.tmp_root / "template")
            engine = make_unpooled_engine(settings)
            migrate.upgrade(engine)
            engine.dispose()
            shutil.copy(settings.sqlite_path, self.template)

    def _create(self, *, from_template: bool) -> str:
        self.counter += 1
        name = f"{self.run}_{self.counter}"
        template = f' TEMPLATE "{self.template}"' if from_template else ""
        engine = _admin_engine()
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{template}'))
        engine.dispose()
        return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)

    def new(self, data_dir: Path) -> str | None:
        """A migrated database for one test (None: the SQLite file copied into ``data_dir``)."""
        if not TEST_DATABASE_URL:
            data_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.template, data_dir / "potok.sqlite3")
            return None
        return self._create(from_template=True)

    def new_empty(self) -> str | None:
        """An empty PostgreSQL database (None on SQLite: an empty data folder is enough)."""
        return self._create(from_template=False) if TEST_DATABASE_URL else None

    def drop(self, url: str | None) -> None:
        if url is None:
            return
        name = make_url(url).database
        engine = _admin_engine()
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    def teardown(self) -> None:
        if TEST_DATABASE_URL and self.template:
            engine = _admin_engine()
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))
            engine.dispose()


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    factory.setup()
    yield factory
    factory.teardown()


@pytest.fixture
def database_url(database_factory: DatabaseFactory, tmp_path: Path) -> Iterator[str | None]:
    url = database_factory.new(tmp_path / "data")
    yield url
    database_factory.drop(url)


@pytest.fixture
def empty_database(database_factory: DatabaseFactory, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment variables for a Potok process on a brand-new, empty database."""
    url = database_factory.new_empty()
    environment = {"POTOK_DATA_DIR": str(tmp_path / "fresh-data")}
    if url:
        environment["POTOK_DATABASE_URL"] = url
    yield environment
    database_factory.drop(url)


# Time -------------------------------------------------------------------------------------


class FakeClock:
    """A clock tests can move: ``clock.advance(minutes=30)``."""

    def __init__(self) -> None:
        self.now = utcnow().replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# App and clients --------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings.defaults(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=SECRET_KEY,
        scheduler=False,
    )


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> Iterator[Starlette]:
    application = create_app(settings, clock=clock)
    yield application
    services_of(application).db.dispose()


@pytest.fixture
def db(app: Starlette) -> Database:
    return services_of(app).db


class Client(TestClient):
    """A browser-like test client: keeps cookies and fills in the CSRF token."""

    @property
    def csrf_token(self) -> str:
        if CSRF_COOKIE not in self.cookies:
            self.get("/healthz")
        return token_for(SECRET_KEY, self.cookies[CSRF_COOKIE])

    def submit(self, url: str, data: dict[str, object] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
        """POST a form the way the browser would, with the page's CSRF token."""
        return self.post(url, data={"csrf_token": self.csrf_token, **(data or {})}, **kwargs)  # type: ignore[arg-type]

    def login(self, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        return self.submit("/login", {"username": username, "password": password})


@pytest.fixture
def make_client(app: Starlette) -> Iterator[Callable[[], Client]]:
    clients: list[Client] = []

    def make() -> Client:
        client = Client(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[[], Client]) -> Client:
    return make_client()


UserMaker = Callable[..., Client]


@pytest.fixture
def create_user(app: Starlette, clock: FakeClock) -> Callable[..., int]:
    """Create a user directly; roles by key are created on the fly with given capabilities."""
    services = services_of(app)

    def create(
        username: str,
        *,
        capabilities: tuple[str, ...] = (),
        admin: bool = False,
        password: str = PASSWORD,
        **fields: str,
    ) -> int:
        with services.db.session(write=True) as session:
            roles: list[Role] = []
            if admin:
                accounts.ensure_admin(session, password=secrets.token_urlsafe(12), now=clock())
                admin_role = session.query(Role).filter_by(key=accounts.ADMIN_ROLE).one()
                roles.append(admin_role)
            if capabilities:
                role = Role(
                    key=f"role_{username}",
                    labels={"en": f"Role of {username}", "ru": f"Роль {username}"},
                    description="",
                    capabilities=list(capabilities),
                    created_at=clock(),
                    updated_at=clock(),
                )
                session.add(role)
                session.flush()
                roles.append(role)
            values = accounts.UserInput(
                username=username,
                full_name=fields.get("full_name", username.title()),
                email=fields.get("email", f"{username}@example.com"),
                role_ids=tuple(str(role.id) for role in roles),
                password=password,
            )
            user = accounts.create_user(session, Actor.system(), values, now=clock())
            return user.id

    return create


@pytest.fixture
def as_user(make_client: Callable[[], Client], create_user: Callable[..., int]) -> UserMaker:
    """``as_user("manager")``: a new client logged in as a new user of that name."""

    def log_in(username: str, **options: object) -> Client:
        create_user(username, **options)
        client = make_client()
        response = client.login(username)
        assert response.status_code == 303, response.text
        return client

    return log_in


@pytest.fixture
def admin(as_user: UserMaker) -> Client:
    return as_user("boss", admin=True)


@pytest.fixture
def publisher(db: Database, clock: FakeClock):  # type: ignore[no-untyped-def]
    """Publishes metadata documents the way the designer will (see tests/builders.py)."""
    from tests.builders import Publisher

    return Publisher(db, clock)
