"""First start and every start: bring the database to the current schema and make sure an
administrator exists. Idempotent: a second run changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from potok.platform import accounts, migrate
from potok.platform.clock import Clock, utcnow
from potok.platform.db import Database, make_unpooled_engine
from potok.platform.models import SystemState
from potok.settings import Settings

INITIALISED = "initialised"


@dataclass(frozen=True)
class Bootstrap:
    new_database: bool
    admin_username: str
    generated_password: str | None


def initialise(settings: Settings, *, clock: Clock = utcnow) -> Bootstrap:
    engine = make_unpooled_engine(settings)
    try:
        new_database = migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        database = Database(engine)
        now = clock()
        with database.session(write=True) as session:
            admin, generated = accounts.ensure_admin(
                session, password=settings.admin_password, now=now, language=settings.language
            )
            if session.scalar(select(SystemState).where(SystemState.key == INITIALISED)) is None:
                session.add(
                    SystemState(key=INITIALISED, value={"at": now.isoformat()}, updated_at=now)
                )
            username = admin.username
    finally:
        engine.dispose()
    return Bootstrap(new_database, username, generated)
