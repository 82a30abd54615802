"""Carrying out a stream's evolution plan: the DDL (columns, indexes, full-text set-up),
the value conversions, and the ``stream_columns`` slots that record what now exists.

Everything runs in the caller's transaction (PostgreSQL and SQLite both have transactional
DDL), so a publish that fails half-way leaves the previous version in place. DDL is built
only from validated keys, always quoted by the dialect; values are always bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Index, MetaData, Table, bindparam, false, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateColumn

from potok.metadata import compiler
from potok.metadata.compiler import (
    CompiledStream,
    column_type,
    fts_table_name,
    index_name,
    part_table_name,
    reference_table,
    slot_plan,
    table_name,
)
from potok.metadata.evolution import (
    CONVERSION_BATCH,
    SlotState,
    Step,
    StreamPlan,
    _conversion,
    _duplicates,
    _old_values,
    search_fields,
    wants_index,
)
from potok.metadata.model import read_stream
from potok.metadata.tables import StreamColumn, StreamTable


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def add_column(connection: Connection, table: str, column: str, signature: str) -> None:
    compiled = CreateColumn(compiler.value_column(column, signature)).compile(
        dialect=connection.dialect
    )
    ddl = f"ALTER TABLE {_quote(connection, table)} ADD COLUMN {compiled}"
    target = reference_table(signature)
    if target is not None and connection.dialect.name == "sqlite":
        ddl += f" REFERENCES {_quote(connection, target)}(id) ON DELETE SET NULL"
    connection.execute(text(ddl))
    if target is not None and connection.dialect.name != "sqlite":
        name = compiler.short_name(f"fk_{table}__{column}")
        constraint = _quote(connection, name)
        connection.execute(
            text(
                f"ALTER TABLE {_quote(connection, table)} ADD CONSTRAINT {constraint} "
                f"FOREIGN KEY ({_quote(connection, column)}) REFERENCES "
                f"{_quote(connection, target)} (id) ON DELETE SET NULL"
            )
        )


def create_index(connection: Connection, table: Table, column: str, *, unique: bool) -> None:
    options: dict[str, Any] = {}
    if unique and "deleted" in table.c:
        options = {
            "sqlite_where": table.c.deleted == false(),
            "postgresql_where": table.c.deleted == false(),
        }
    Index(
        index_name(table.name, column, unique=unique), table.c[column], unique=unique, **options
    ).create(connection)


def drop_index(connection: Connection, table: str, column: str, *, unique: bool) -> None:
    name = _quote(connection, index_name(table, column, unique=unique))
    connection.execute(text(f"DROP INDEX IF EXISTS {name}"))


def setup_search(connection: Connection, compiled: CompiledStream) -> None:
    table = compiled.table.name
    quoted = _quote(connection, table)
    if connection.dialect.name == "sqlite":
        fts = _quote(connection, fts_table_name(compiled.stream.key))
        connection.execute(
            text(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(search_text, "
                f"content={quoted}, content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
            )
        )
        for suffix, body in (
            ("ai", f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text);"),
            (
                "ad",
                f"INSERT INTO {fts}({fts}, rowid, search_text) "
                "VALUES ('delete', old.id, old.search_text);",
            ),
            (
                "au",
                f"INSERT INTO {fts}({fts}, rowid, search_text) "
                "VALUES ('delete', old.id, old.search_text); "
                f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text);",
            ),
        ):
            event = {
                "ai": "AFTER INSERT",
                "ad": "AFTER DELETE",
                "au": "AFTER UPDATE OF search_text",
            }[suffix]
            trigger = _quote(connection, compiler.short_name(f"{table}__fts_{suffix}"))
            connection.execute(
                text(f"CREATE TRIGGER IF NOT EXISTS {trigger} {event} ON {quoted} BEGIN {body} END")
            )
    else:
        name = _quote(connection, index_name(table, "search"))
        connection.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {name} ON {quoted} USING gin "
                f"(to_tsvector('{compiler.SEARCH_CONFIG}', coalesce(search_text, '')))"
            )
        )


def rebuild_search(connection: Connection, compiled: CompiledStream) -> None:
    """Recompute ``search_text`` for every document and refresh the index."""
    connection.execute(update(compiled.table).values(search_text=compiled.search_expression()))
    if connection.dialect.name == "sqlite":
        fts = _quote(connection, fts_table_name(compiled.stream.key))
        connection.execute(text(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')"))


class UnconvertibleValues(Exception):
    """Raised when a plan with unconvertible values runs without permission to clear them."""


class BlockedPlan(Exception):
    """Raised when a plan that the dry run refused (e.g. duplicates) is applied anyway."""


def load_slots(session: Session, stream: str) -> list[StreamColumn]:
    return list(
        session.scalars(
            select(StreamColumn).where(StreamColumn.stream == stream).order_by(StreamColumn.id)
        )
    )


@dataclass
class Workspace:
    """What applying steps needs: the session (one transaction), the clock, and the
    documents of every stream (links between streams resolve through them)."""

    session: Session
    now: datetime
    streams: Mapping[str, Mapping[str, Any]]

    @property
    def connection(self) -> Connection:
        return self.session.connection()

    def compile(self) -> tuple[MetaData, dict[str, CompiledStream]]:
        """Every stream's tables as recorded right now, in one MetaData."""
        metadata = compiler.new_metadata()
        compiled = {}
        for state in self.session.scalars(select(StreamTable).order_by(StreamTable.stream)):
            document = self.streams.get(state.stream) or {
                "key": state.stream,
                "labels": {},
                "fields": [],
            }
            compiled[state.stream] = compiler.compile_stream(
                read_stream(document),
                load_slots(self.session, state.stream),
                metadata,
                search_fields=state.search_fields,
            )
        return metadata, compiled

    def record(
        self,
        stream: str,
        field_key: str,
        table: str,
        column: str,
        signature: str,
        *,
        indexed: bool = False,
        unique: bool = False,
    ) -> StreamColumn:
        slot = StreamColumn(
            stream=stream,
            field=field_key,
            table_name=table,
            column_name=column,
            signature=signature,
            active=True,
            indexed=indexed,
            unique=unique,
            created_at=self.now,
        )
        self.session.add(slot)
        self.session.flush()
        return slot


def record_new_stream(workspace: Workspace, document: Mapping[str, Any]) -> None:
    """Record the slots and the table of a stream published for the first time."""
    stream = str(document["key"])
    for spec in document["fields"]:
        for field_key, table, column, signature in slot_plan(stream, spec):
            column_spec = spec
            if "." in field_key:
                column_spec = next(c for c in spec["columns"] if c["key"] == column)
            main = table == table_name(stream)
            workspace.record(
                stream,
                field_key,
                table,
                column,
                signature,
                indexed=bool(column) and wants_index(column_spec),
                unique=bool(column) and main and bool(column_spec.get("unique")),
            )
    workspace.session.add(
        StreamTable(
            stream=stream,
            table_name=table_name(stream),
            search_fields=search_fields(document),
            created_at=workspace.now,
        )
    )
    workspace.session.flush()


def create_stream_tables(workspace: Workspace, streams: Sequence[str]) -> None:
    """Create the tables of newly recorded streams (together, so links between them work)."""
    metadata, compiled = workspace.compile()
    connection = workspace.connection
    tables = [
        table for key in streams for table in (compiled[key].table, *compiled[key].parts.values())
    ]
    metadata.create_all(connection, tables=tables)
    for key in streams:
        for slot in load_slots(workspace.session, key):
            if slot.column_name and slot.active:
                table = metadata.tables[slot.table_name]
                if slot.indexed:
                    create_index(connection, table, slot.column_name, unique=False)
                if slot.unique:
                    create_index(connection, table, slot.column_name, unique=True)
        setup_search(connection, compiled[key])


def apply_steps(
    workspace: Workspace,
    plan: StreamPlan,
    *,
    clear_unconvertible: bool = False,
) -> None:
    """Run an existing stream's (dry-run) plan in the caller's transaction."""
    stream = plan.stream
    session = workspace.session
    if plan.blocked:
        raise BlockedPlan(stream)
    if plan.unconvertible and not clear_unconvertible:
        raise UnconvertibleValues(stream)
    rows = {slot.id: slot for slot in load_slots(session, stream)}
    search_changed = False
    for step in plan.steps:
        data = step.data
        connection = workspace.connection
        if step.action == "add_column":
            add_column(connection, data["table"], data["column"], data["signature"])
            workspace.record(
                stream,
                step.field,
                data["table"],
                data["column"],
                data["signature"],
                indexed=data["index"],
                unique=data["unique"],
            )
            _index_new(workspace, data["table"], data["column"], data)
        elif step.action == "add_part":
            for field_key, table, column, signature in data["slots"]:
                workspace.record(stream, field_key, table, column, signature)
            metadata, _ = workspace.compile()
            metadata.tables[data["table"]].create(connection)
        elif step.action == "restore":
            row = rows[data["slot"].id]
            row.active = True
            if data.get("unique") and not row.unique and row.column_name:
                metadata, _ = workspace.compile()
                create_index(
                    connection, metadata.tables[row.table_name], row.column_name, unique=True
                )
                row.unique = True
        elif step.action == "hide":
            for slot in data["slots"]:
                rows[slot.id].active = False
        elif step.action in ("add_index", "drop_index", "add_unique", "drop_unique"):
            row = rows[data["slot"].id]
            unique = step.action.endswith("unique")
            adding = step.action.startswith("add")
            if adding:
                metadata, _ = workspace.compile()
                create_index(
                    connection, metadata.tables[row.table_name], row.column_name, unique=unique
                )
            else:
                drop_index(connection, row.table_name, row.column_name, unique=unique)
            if unique:
                row.unique = adding
            else:
                row.indexed = adding
        elif step.action == "change_type":
            _change_type(workspace, stream, step, rows)
        elif step.action == "search":
            state = session.get(StreamTable, stream)
            if state is not None:
                state.search_fields = list(data["fields"])
            search_changed = True
        session.flush()
    if search_changed:
        _, compiled = workspace.compile()
        rebuild_search(workspace.connection, compiled[stream])


def _index_new(workspace: Workspace, table: str, column: str, data: Mapping[str, Any]) -> None:
    if not (data.get("index") or data.get("unique")):
        return
    metadata, _ = workspace.compile()
    if data.get("index"):
        create_index(workspace.connection, metadata.tables[table], column, unique=False)
    if data.get("unique"):
        create_index(workspace.connection, metadata.tables[table], column, unique=True)


def _change_type(
    workspace: Workspace, stream: str, step: Step, rows: Mapping[int, StreamColumn]
) -> None:
    data = step.data
    old: SlotState = data["old"]
    metadata, _ = workspace.compile()
    converted, _failed = _conversion(step, _old_values(workspace.connection, metadata, step))
    rows[old.id].active = False
    signature: str = data["signature"]
    if signature.startswith("multi:"):
        table = part_table_name(stream, step.field)
        if any(row.table_name == table for row in rows.values()):
            table = compiler.short_name(f"{table}__{len(rows) + 1}")
        workspace.record(stream, step.field, table, "", signature)
        metadata, _ = workspace.compile()
        part = metadata.tables[table]
        part.create(workspace.connection)
        pairs = [
            {"doc_id": doc_id, "value_id": value_id}
            for doc_id, values in converted
            for value_id in (values or [])
        ]
        for start in range(0, len(pairs), CONVERSION_BATCH):
            workspace.connection.execute(part.insert(), pairs[start : start + CONVERSION_BATCH])
        return
    table_key = data["table"]
    column = data["column"]
    add_column(workspace.connection, table_key, column, signature)
    workspace.record(stream, step.field, table_key, column, signature)
    metadata, _ = workspace.compile()
    target = metadata.tables[table_key]
    statement = (
        update(target)
        .where(target.c.id == bindparam("row_id"))
        .values({column: bindparam("new_value", type_=column_type(signature))})
    )
    values = [
        {"row_id": row_id, "new_value": value} for row_id, value in converted if value is not None
    ]
    for start in range(0, len(values), CONVERSION_BATCH):
        workspace.connection.execute(statement, values[start : start + CONVERSION_BATCH])
    if data["unique"] and _duplicates(workspace.connection, metadata, table_key, column):
        raise BlockedPlan(f"{stream}.{step.field}")
    slot = next(
        row
        for row in load_slots(workspace.session, stream)
        if row.column_name == column and row.table_name == table_key
    )
    slot.indexed, slot.unique = bool(data["index"]), bool(data["unique"])
    _index_new(workspace, table_key, column, data)


def purge(session: Session, stream: str, field_key: str | None = None) -> list[str]:
    """Drop hidden slots (all of the stream's, or one field's): their data is gone for good."""
    connection = session.connection()
    dropped = []
    for slot in load_slots(session, stream):
        if slot.active or (field_key is not None and slot.field.split(".")[0] != field_key):
            continue
        if slot.column_name:
            for unique in (False, True):
                drop_index(connection, slot.table_name, slot.column_name, unique=unique)
            if connection.dialect.name != "sqlite":
                name = compiler.short_name(f"fk_{slot.table_name}__{slot.column_name}")
                connection.execute(
                    text(
                        f"ALTER TABLE {_quote(connection, slot.table_name)} "
                        f"DROP CONSTRAINT IF EXISTS {_quote(connection, name)}"
                    )
                )
            connection.execute(
                text(
                    f"ALTER TABLE {_quote(connection, slot.table_name)} "
                    f"DROP COLUMN {_quote(connection, slot.column_name)}"
                )
            )
            dropped.append(f"{slot.table_name}.{slot.column_name}")
        else:
            connection.execute(text(f"DROP TABLE IF EXISTS {_quote(connection, slot.table_name)}"))
            dropped.append(slot.table_name)
        session.delete(slot)
    session.flush()
    return dropped
