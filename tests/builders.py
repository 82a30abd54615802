"""Building metadata documents and publishing them into a test database, for any test."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import MetaData, Table, insert, inspect, select

from potok.metadata import schema_changes, store
from potok.platform.db import Database

Doc = dict[str, Any]


def labels(en: str, ru: str | None = None) -> dict[str, str]:
    return {"en": en, "ru": ru or en}


def field(key: str, type_: str = "text", **spec: Any) -> Doc:
    return {"key": key, "type": type_, "labels": labels(key.title()), **spec}


def stream(key: str, *fields: Doc, **extra: Any) -> Doc:
    return {
        "kind": "stream",
        "key": key,
        "labels": labels(key.title()),
        "fields": list(fields),
        **extra,
    }


def dictionary(key: str, *codes: str, tree: bool = False) -> Doc:
    return {
        "kind": "dictionary",
        "key": key,
        "labels": labels(key.title()),
        "tree": tree,
        "items": [{"code": code, "labels": labels(code.title())} for code in codes],
    }


class Publisher:
    """Publishes documents the way the designer will: plan, look, publish."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def plan(self, *documents: Doc) -> store.PublishPlan:
        with self.db.session(write=True) as session:
            return store.plan_publish(
                session,
                documents={(d["kind"], d["key"]): copy.deepcopy(d) for d in documents},
            )

    def publish(self, *documents: Doc, clear: bool = False) -> store.PublishPlan:
        with self.db.session(write=True) as session:
            plan = store.plan_publish(
                session,
                documents={(d["kind"], d["key"]): copy.deepcopy(d) for d in documents},
            )
            store.publish(
                session, plan, author="tester", now=self.clock(), clear_unconvertible=clear
            )
        return plan

    def table(self, name: str) -> Table:
        return Table(name, MetaData(), autoload_with=self.db.engine)

    def columns(self, name: str) -> list[str]:
        with self.db.engine.connect() as connection:
            return [column["name"] for column in inspect(connection).get_columns(name)]

    def indexes(self, name: str) -> dict[str, dict[str, Any]]:
        with self.db.engine.connect() as connection:
            return {
                index["name"]: index
                for index in inspect(connection).get_indexes(name)
                if index["name"]
            }

    def insert(self, name: str, *rows: dict[str, Any]) -> list[int]:
        with self.db.session(write=True) as session:
            _, compiled = schema_changes.Workspace(session, self.clock(), {}).compile()
            table = next(c.table for c in compiled.values() if c.table.name == name)
            ids = []
            for row in rows:
                values = {"created_at": self.clock(), "updated_at": self.clock(), **row}
                ids.append(
                    session.execute(insert(table).values(values).returning(table.c.id)).scalar_one()
                )
            return ids

    def rows(self, name: str, *columns: str) -> list[tuple[Any, ...]]:
        with self.db.session() as session:
            _, compiled = schema_changes.Workspace(session, self.clock(), {}).compile()
            table = next(c.table for c in compiled.values() if c.table.name == name)
            return [
                tuple(row)
                for row in session.execute(
                    select(*(table.c[column] for column in columns)).order_by(table.c.id)
                )
            ]
