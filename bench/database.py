"""A scratch database for a benchmark: created and migrated on entry, dropped on exit."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.runtime import SECRET_KEY
from potok.platform import migrate
from potok.platform.db import Database
from potok.settings import Settings

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class BenchDatabase:
    """A fresh, migrated database for one scenario, dropped afterwards: a temporary SQLite
    folder, or a PostgreSQL database created beside ``admin_url``'s."""

    def __init__(self, kind: str, admin_url: str = POSTGRES_ADMIN) -> None:
        self.kind = kind
        self.admin_url = admin_url
        self.folder = tempfile.TemporaryDirectory(prefix="potok-bench-")
        self.name = f"potok_bench_{Path(self.folder.name).name.replace('-', '_')}"

    def __enter__(self) -> Database:
        if self.kind == "sqlite":
            settings = Settings.defaults(data_dir=Path(self.folder.name), secret_key=SECRET_KEY)
        else:
            admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{self.name}"'))
            admin.dispose()
            url = self.admin_url.rsplit("/", 1)[0] + "/" + self.name
            settings = Settings.defaults(
                data_dir=Path(self.folder.name), database_url=url, secret_key=SECRET_KEY
            )
        self.settings = settings.replace(scheduler=False)
        self.database = Database.from_settings(settings)
        migrate.upgrade(self.database.engine)
        return self.database

    def __exit__(self, *_: object) -> None:
        self.database.dispose()
        if self.kind != "sqlite":
            admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            admin.dispose()
        self.folder.cleanup()
