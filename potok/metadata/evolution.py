"""Schema evolution: publishing a changed stream is a planned migration the user sees first.

:func:`plan_stream` (pure) compares the stream being published with what the database holds
(its ``stream_columns`` slots) and returns the steps:

- a new field adds a column (or a child/association table), indexed as its flags ask;
- a field whose type changed gets a new column filled by the type's conversion; the old
  column stays, hidden; :func:`dry_run` counts (and lists the first of) the values that would
  not convert, and the user chooses to cancel or to clear those values;
- a removed field is hidden — its column and data stay, and re-adding the field with the
  same type shows them again;
- a label, hint or rule change needs no SQL;
- adding "unique" over duplicate data is refused, with the duplicates listed;
- nothing is dropped, except by an explicit :func:`purge`.

:func:`apply_plan` runs the steps inside the caller's transaction, so on PostgreSQL and on
SQLite (both have transactional DDL) an interrupted publish leaves the previous version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as default
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Index,
    MetaData,
    Table,
    bindparam,
    false,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateColumn

from potok.errors import N_
from potok.metadata import compiler
from potok.metadata.compiler import (
    CompiledStream,
    column_type,
    fts_table_name,
    index_name,
    part_table_name,
    reference_table,
    signature_of,
    slot_plan,
    table_name,
)
from potok.metadata.model import read_stream
from potok.metadata.tables import StreamColumn, StreamTable
from potok.metadata.types import FieldType, convert_values, field_type

CHANGE_TYPE = N_(
    "Change the type of field %(field)s from %(old)s to %(new)s: its values are converted "
    "into a new column; the old column is kept, hidden."
)
RESTORE = N_("Show field %(field)s again, with the values it had.")
HIDE = N_(
    "Hide field %(field)s: it leaves the cards, its values are kept and come back if the "
    "field is added again."
)
CONVERSION_BATCH = 5000
EXAMPLES = 10


@dataclass
class Step:
    """One thing publishing does. ``message``/``params`` describe it to the user."""

    action: str
    field: str
    message: str
    params: dict[str, Any] = default(default_factory=dict)
    changes_schema: bool = True
    data: dict[str, Any] = default(default_factory=dict)
    # Filled by dry_run:
    blocked: str | None = None  # a message id: this step cannot run
    failures: int = 0
    examples: list[tuple[Any, Any, str]] = default(default_factory=list)
    duplicates: list[tuple[Any, int]] = default(default_factory=list)


@dataclass
class StreamPlan:
    stream: str
    steps: list[Step]

    @property
    def blocked(self) -> list[Step]:
        return [step for step in self.steps if step.blocked]

    @property
    def unconvertible(self) -> int:
        return sum(step.failures for step in self.steps)

    @property
    def changes_schema(self) -> bool:
        return any(step.changes_schema for step in self.steps)


@dataclass(frozen=True)
class SlotState:
    """A recorded slot, as a plain value (the planner stays free of the database)."""

    id: int
    field: str
    table_name: str
    column_name: str
    signature: str
    active: bool
    indexed: bool
    unique: bool

    @classmethod
    def of(cls, row: StreamColumn) -> SlotState:
        return cls(
            row.id,
            row.field,
            row.table_name,
            row.column_name,
            row.signature,
            row.active,
            row.indexed,
            row.unique,
        )


def wants_index(spec: Mapping[str, Any]) -> bool:
    kind = field_type(str(spec["type"]))
    if not kind.indexable or kind.storage != "column":
        return False
    refers = kind.refers_to in ("dictionary", "stream", "user", "department")
    return bool(refers or spec.get("filterable") or spec.get("sortable") or spec.get("unique"))


def search_fields(stream: Mapping[str, Any]) -> list[str]:
    return [
        str(spec["key"])
        for spec in stream["fields"]
        if spec.get("searchable")
        and field_type(str(spec["type"])).searchable
        and field_type(str(spec["type"])).storage == "column"
    ]


def _free_column_name(key: str, taken: set[str]) -> str:
    if key not in taken:
        return key
    number = 2
    while f"{key}__{number}" in taken:
        number += 1
    return f"{key}__{number}"


def _add_slot_steps(stream: str, spec: Mapping[str, Any], taken: set[str]) -> list[Step]:
    steps = []
    for field_key, table, column, signature in slot_plan(stream, spec):
        if column:
            column = _free_column_name(column, taken) if table == table_name(stream) else column
            taken.add(column)
        if "." in field_key:
            continue  # columns of a new table field come with its table
        if column:
            steps.append(
                Step(
                    "add_column",
                    field_key,
                    N_("Add field %(field)s: a new column."),
                    {"field": field_key},
                    data={
                        "table": table,
                        "column": column,
                        "signature": signature,
                        "index": wants_index(spec),
                        "unique": bool(spec.get("unique")),
                    },
                )
            )
        else:
            steps.append(
                Step(
                    "add_part",
                    field_key,
                    N_("Add field %(field)s: a new table."),
                    {"field": field_key},
                    data={"table": table, "signature": signature, "slots": slot_plan(stream, spec)},
                )
            )
    return steps


def _column_steps(
    stream: str,
    spec: Mapping[str, Any],
    active: SlotState | None,
    hidden: Sequence[SlotState],
    taken: set[str],
    table: str,
    field_key: str,
) -> list[Step]:
    """Steps for one column-stored field (of the stream, or of a table field)."""
    signature = signature_of(spec)
    if active is not None and active.signature == signature:
        steps = []
        if wants_index(spec) and not active.indexed:
            steps.append(
                Step(
                    "add_index",
                    field_key,
                    N_("Index field %(field)s."),
                    {"field": field_key},
                    data={"slot": active},
                )
            )
        if not wants_index(spec) and active.indexed:
            steps.append(
                Step(
                    "drop_index",
                    field_key,
                    N_("Stop indexing field %(field)s."),
                    {"field": field_key},
                    data={"slot": active},
                )
            )
        if spec.get("unique") and not active.unique:
            steps.append(
                Step(
                    "add_unique",
                    field_key,
                    N_("Make field %(field)s unique."),
                    {"field": field_key},
                    data={"slot": active},
                )
            )
        if not spec.get("unique") and active.unique:
            steps.append(
                Step(
                    "drop_unique",
                    field_key,
                    N_("Allow repeated values in field %(field)s."),
                    {"field": field_key},
                    data={"slot": active},
                )
            )
        return steps
    if active is not None:
        column = _free_column_name(field_key.split(".")[-1], taken)
        taken.add(column)
        old_type = compiler._spec_of_signature(active.signature)["type"]
        return [
            Step(
                "change_type",
                field_key,
                CHANGE_TYPE,
                {"field": field_key, "old": old_type, "new": spec["type"]},
                data={
                    "table": table,
                    "old": active,
                    "column": column,
                    "signature": signature,
                    "index": wants_index(spec),
                    "unique": bool(spec.get("unique")),
                    "spec": dict(spec),
                },
            )
        ]
    for slot in hidden:
        if slot.signature == signature:
            return [
                Step(
                    "restore",
                    field_key,
                    RESTORE,
                    {"field": field_key},
                    changes_schema=False,
                    data={
                        "slot": slot,
                        "index": wants_index(spec),
                        "unique": bool(spec.get("unique")),
                    },
                )
            ]
    column = _free_column_name(field_key.split(".")[-1], taken)
    taken.add(column)
    return [
        Step(
            "add_column",
            field_key,
            N_("Add field %(field)s: a new column."),
            {"field": field_key},
            data={
                "table": table,
                "column": column,
                "signature": signature,
                "index": wants_index(spec),
                "unique": bool(spec.get("unique")),
            },
        )
    ]


def plan_stream(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    slots: Iterable[SlotState],
    *,
    search_before: Sequence[str] = (),
) -> StreamPlan:
    """The steps that bring the database from ``slots`` to the stream ``new``."""
    stream = str(new["key"])
    slots = list(slots)
    if not slots and old is None:
        return StreamPlan(
            stream,
            [
                Step(
                    "create_stream",
                    "",
                    N_("Create the table of stream %(stream)s."),
                    {"stream": stream},
                )
            ],
        )
    steps: list[Step] = []
    taken_main = {slot.column_name for slot in slots if slot.table_name == table_name(stream)}
    by_field: dict[str, list[SlotState]] = {}
    for slot in slots:
        by_field.setdefault(slot.field, []).append(slot)
    wanted = {str(spec["key"]): spec for spec in new["fields"]}
    for key, spec in wanted.items():
        kind = field_type(str(spec["type"]))
        own = by_field.get(key, [])
        active = next((slot for slot in own if slot.active), None)
        hidden = [slot for slot in own if not slot.active]
        if kind.storage == "system":
            continue
        if kind.storage == "column" and (
            active is None or not active.signature.startswith(("multi:", "child:"))
        ):
            steps += _column_steps(
                stream, spec, active, hidden, taken_main, table_name(stream), key
            )
            continue
        signature = "multi:" + signature_of(spec) if kind.storage == "multi" else "child:table"
        if active is not None and active.signature == signature:
            if kind.storage == "child":
                steps += _table_column_steps(stream, spec, by_field)
            continue
        if active is not None:
            steps.append(
                Step(
                    "change_type",
                    key,
                    CHANGE_TYPE,
                    {
                        "field": key,
                        "old": compiler._spec_of_signature(active.signature.removeprefix("multi:"))[
                            "type"
                        ],
                        "new": spec["type"],
                    },
                    data={
                        "table": part_table_name(stream, key)
                        if kind.storage != "column"
                        else table_name(stream),
                        "old": active,
                        "signature": signature,
                        "column": _free_column_name(key, taken_main)
                        if kind.storage == "column"
                        else "",
                        "spec": dict(spec),
                        "index": wants_index(spec),
                        "unique": bool(spec.get("unique")),
                    },
                )
            )
            continue
        restorable = next((slot for slot in hidden if slot.signature == signature), None)
        if restorable is not None:
            steps.append(
                Step(
                    "restore",
                    key,
                    RESTORE,
                    {"field": key},
                    changes_schema=False,
                    data={"slot": restorable, "index": False, "unique": False},
                )
            )
            if kind.storage == "child":
                steps += _table_column_steps(stream, spec, by_field)
            continue
        steps += _add_slot_steps(stream, spec, taken_main)
    for key, own in by_field.items():
        if "." in key or key in wanted:
            continue
        active_slots = [slot for slot in own if slot.active]
        if active_slots:
            steps.append(
                Step(
                    "hide",
                    key,
                    HIDE,
                    {"field": key},
                    changes_schema=False,
                    data={"slots": active_slots},
                )
            )
    wanted_search = search_fields(new)
    if list(search_before) != wanted_search and (wanted_search or search_before):
        steps.append(
            Step(
                "search",
                "",
                N_("Rebuild the full-text index over: %(fields)s."),
                {"fields": ", ".join(wanted_search) or "—"},
                data={"fields": wanted_search},
            )
        )
    if old is not None and not steps and dict(old) != dict(new):
        steps.append(
            Step(
                "metadata_only",
                "",
                N_("Only names, hints or rules change: no change to the data."),
                changes_schema=False,
            )
        )
    return StreamPlan(stream, steps)


def _table_column_steps(
    stream: str, spec: Mapping[str, Any], by_field: Mapping[str, list[SlotState]]
) -> list[Step]:
    key = str(spec["key"])
    part = part_table_name(stream, key)
    taken = {
        slot.column_name for slots in by_field.values() for slot in slots if slot.table_name == part
    }
    steps: list[Step] = []
    wanted = set()
    for column in spec.get("columns", ()):
        column_key = f"{key}.{column['key']}"
        wanted.add(column_key)
        own = by_field.get(column_key, [])
        active = next((slot for slot in own if slot.active), None)
        hidden = [slot for slot in own if not slot.active]
        steps += _column_steps(
            stream, {**column, "filterable": False}, active, hidden, taken, part, column_key
        )
    for column_key, own in by_field.items():
        if column_key.startswith(key + ".") and column_key not in wanted:
            active_slots = [slot for slot in own if slot.active]
            if active_slots:
                steps.append(
                    Step(
                        "hide",
                        column_key,
                        HIDE,
                        {"field": column_key},
                        changes_schema=False,
                        data={"slots": active_slots},
                    )
                )
    return steps


# Dry run -------------------------------------------------------------------------------------


def _spec_for(signature: str) -> dict[str, Any]:
    return compiler._spec_of_signature(signature.removeprefix("multi:"))


def _old_values(connection: Connection, metadata: MetaData, step: Step) -> list[tuple[Any, Any]]:
    old: SlotState = step.data["old"]
    table = metadata.tables[old.table_name]
    if old.column_name:
        owner = table.c.id
        rows = connection.execute(
            select(owner, table.c[old.column_name]).where(table.c[old.column_name].is_not(None))
        ).all()
        return [(row[0], row[1]) for row in rows]
    values: dict[Any, list[int]] = {}
    for doc_id, value_id in connection.execute(select(table.c.doc_id, table.c.value_id)):
        values.setdefault(doc_id, []).append(value_id)
    return [(doc_id, sorted(ids)) for doc_id, ids in values.items()]


def _conversion(step: Step, rows: list[tuple[Any, Any]]) -> tuple[list[Any], list[Any]]:
    old: SlotState = step.data["old"]
    source_spec = _spec_for(old.signature)
    source = field_type(source_spec["type"])
    target_spec = step.data["spec"]
    target: FieldType = field_type(str(target_spec["type"]))
    if source.refers_to and target.refers_to and source.refers_to == target.refers_to:
        old_target = reference_table(old.signature.removeprefix("multi:"))
        new_target = reference_table(signature_of(target_spec))
        if old_target != new_target:
            message = N_("The value points to another list or stream.")
            return [], [(row_id, value, message) for row_id, value in rows]
    outcome = convert_values(source, source_spec, target, target_spec, rows)
    return outcome.converted, outcome.failed


def dry_run(connection: Connection, metadata: MetaData, plan: StreamPlan) -> StreamPlan:
    """Annotate ``plan`` with what the data says: unconvertible values, duplicates."""
    for step in plan.steps:
        if step.action == "change_type":
            _, failed = _conversion(step, _old_values(connection, metadata, step))
            step.failures = len(failed)
            step.examples = failed[:EXAMPLES]
        elif step.action in ("add_unique", "restore") and (
            step.action == "add_unique" or step.data.get("unique")
        ):
            slot: SlotState = step.data["slot"]
            step.duplicates = _duplicates(connection, metadata, slot.table_name, slot.column_name)
        if step.duplicates:
            step.blocked = N_(
                "Field %(field)s cannot become unique: some values repeat. "
                "Correct the duplicates first."
            )
    return plan


def _duplicates(
    connection: Connection, metadata: MetaData, table: str, column: str
) -> list[tuple[Any, int]]:
    target = metadata.tables[table]
    value = target.c[column]
    query = (
        select(value, func.count())
        .where(value.is_not(None))
        .group_by(value)
        .having(func.count() > 1)
        .order_by(func.count().desc())
        .limit(EXAMPLES)
    )
    if "deleted" in target.c:
        query = query.where(target.c.deleted == false())
    return [(row[0], int(row[1])) for row in connection.execute(query)]


# Applying ------------------------------------------------------------------------------------


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
