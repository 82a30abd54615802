import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text

from potok.errors import ServiceUnavailable
from potok.platform import migrate
from potok.platform.db import Database
from potok.platform.models import Base, SystemState
from potok.settings import Settings


def test_sqlite_connections_are_tuned(db: Database):
    if not db.is_sqlite:
        pytest.skip("SQLite pragmas")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_concurrent_writers_never_see_database_is_locked(db: Database, clock):
    """Many threads read, then write, in one transaction each: all must commit."""
    errors: list[BaseException] = []
    threads_count, rounds = 8, 15

    def work(worker: int) -> None:
        try:
            for round_ in range(rounds):
                with db.session(write=True) as session:
                    session.scalar(select(func.count()).select_from(SystemState))
                    session.add(
                        SystemState(
                            key=f"w{worker}-{round_}", value={"n": round_}, updated_at=clock()
                        )
                    )
                with db.session() as session:
                    session.scalar(select(func.count()).select_from(SystemState))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.session() as session:
        written = session.scalar(
            select(func.count()).select_from(SystemState).where(SystemState.key.like("w%"))
        )
    assert written == threads_count * rounds


def test_a_failed_block_changes_nothing(db: Database, clock):
    with pytest.raises(RuntimeError), db.session(write=True) as session:
        session.add(SystemState(key="half", value={}, updated_at=clock()))
        session.flush()
        raise RuntimeError("boom")
    with db.session() as session:
        assert session.get(SystemState, "half") is None


def test_an_unreachable_database_is_service_unavailable(tmp_path):
    settings = Settings.defaults(
        data_dir=tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    database = Database.from_settings(settings)
    assert database.ping() is False
    with pytest.raises(ServiceUnavailable), database.session() as session:
        session.execute(text("SELECT 1"))
    database.dispose()


def test_the_models_and_the_migrations_agree(db: Database):
    import potok.metadata.tables
    import potok.runtime.tables  # noqa: F401

    def system_table(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
        return not (type_ == "table" and name.startswith("s_"))  # streams are not migrations'

    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": system_table}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_migrations_go_down_and_up_again(db: Database):
    assert migrate.is_up_to_date(db.engine)
    migrate.downgrade(db.engine, "base")
    assert migrate.current_revision(db.engine) is None
    with db.engine.connect() as connection:
        tables = set(db.engine.dialect.get_table_names(connection))
    assert "users" not in tables
    migrate.upgrade(db.engine)
    migrate.upgrade(db.engine)  # a second upgrade is a no-op
    assert migrate.current_revision(db.engine) == migrate.head_revision()
