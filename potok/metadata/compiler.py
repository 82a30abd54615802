"""From a published stream to real SQL tables.

Each stream is a table ``s_<stream>`` with the system columns and one typed column per
scalar field, named by the field's key (a column that had to be replaced by a type change
gets a suffix, ``amount__2``). A table field is a child table ``s_<stream>__<field>``; a
multi-valued field an association table of the same name. Reference fields (dictionary item,
user, department, linked document) are foreign keys and always indexed (reverse links and
grouping use them); filterable or sortable fields get an index; unique fields a unique index
over documents not in the trash. Full-text search runs over the system column ``search_text``
(SQLite FTS5 / PostgreSQL GIN over ``to_tsvector``).

Which columns exist is not derived from the metadata but read from ``stream_columns``
(:class:`~potok.metadata.tables.StreamColumn`): the physical truth the evolution planner
keeps, including hidden columns of removed fields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    literal,
    text,
)
from sqlalchemy.types import TypeEngine

from potok.metadata.model import Stream
from potok.metadata.tables import Attachment, DictionaryItem, StreamColumn
from potok.metadata.types import field_type
from potok.platform.models import Department, User

PREFIX = "s_"
MAX_NAME = 63
SEARCH_CONFIG = "simple"
REFERENCE_TARGETS = {
    "dictionary": "dictionary_items",
    "user": "users",
    "department": "departments",
    "attachment": "attachments",
}


def short_name(name: str) -> str:
    """A database identifier of at most 63 characters (PostgreSQL's limit), stable."""
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


def table_name(stream: str) -> str:
    return f"{PREFIX}{stream}"


def part_table_name(stream: str, field_key: str) -> str:
    return short_name(f"{PREFIX}{stream}__{field_key}")


def index_name(table: str, column: str, *, unique: bool = False) -> str:
    return short_name(f"{'uq' if unique else 'ix'}_{table}__{column}")


def fts_table_name(stream: str) -> str:
    return short_name(f"{PREFIX}{stream}__fts")


def signature_of(spec: Mapping[str, Any]) -> str:
    return field_type(str(spec["type"])).signature(spec)


def _spec_of_signature(signature: str) -> dict[str, Any]:
    """Enough of a field spec to rebuild a column from its stored signature."""
    parts = signature.split(":")
    if parts[0] == "computed":
        return {"type": "computed", "result": parts[1]}
    spec: dict[str, Any] = {"type": parts[0]}
    if len(parts) > 1 and parts[1]:
        target_kind = field_type(parts[0]).refers_to
        spec["dictionary" if target_kind == "dictionary" else "stream"] = parts[1]
    return spec


def column_type(signature: str) -> TypeEngine[Any]:
    spec = _spec_of_signature(signature)
    return field_type(spec["type"]).column_type(spec)


def reference_table(signature: str) -> str | None:
    spec = _spec_of_signature(signature)
    kind = field_type(spec["type"]).refers_to
    if kind == "stream":
        return table_name(str(spec["stream"]))
    return REFERENCE_TARGETS.get(kind or "")


def new_metadata() -> MetaData:
    """A MetaData for stream tables, holding copies of the system tables they refer to."""
    metadata = MetaData()
    for model in (User, Department, DictionaryItem, Attachment):
        model.__table__.to_metadata(metadata)  # type: ignore[attr-defined]
    return metadata


def _foreign_key(signature: str) -> ForeignKey | None:
    target = reference_table(signature)
    if target is None:
        return None
    # Links between streams may form cycles; PostgreSQL then adds them after the tables.
    return ForeignKey(f"{target}.id", ondelete="SET NULL", use_alter=target.startswith(PREFIX))


def system_columns() -> list[Column[Any]]:
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("reg_number", Text, nullable=True),
        Column("reg_year", Integer, nullable=True),
        Column("author_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        Column("created_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
        Column("version", Integer, nullable=False, server_default=text("1")),
        Column("deleted", Boolean, nullable=False, server_default=text("false")),
        Column("deleted_at", DateTime, nullable=True),
        Column("search_text", Text, nullable=True),
    ]


def value_column(name: str, signature: str) -> Column[Any]:
    foreign = _foreign_key(signature)
    args: list[Any] = [foreign] if foreign is not None else []
    return Column(name, column_type(signature), *args, nullable=True)


@dataclass
class CompiledStream:
    """The SQLAlchemy tables of one stream, as they are in the database now."""

    stream: Stream
    table: Table
    columns: dict[str, Column[Any]] = field(default_factory=dict)  # active field -> column
    parts: dict[str, Table] = field(default_factory=dict)  # multi / table field -> table
    part_columns: dict[str, dict[str, Column[Any]]] = field(default_factory=dict)
    search_fields: tuple[str, ...] = ()

    def column(self, key: str) -> Column[Any]:
        if key in self.columns:
            return self.columns[key]
        return self.table.c[key]  # system columns

    def search_expression(self) -> ColumnElement[Any]:
        """The value of ``search_text``: the searchable fields' text, space separated."""
        pieces: list[ColumnElement[Any]] = [
            func.coalesce(self.columns[key], literal("")) for key in self.search_fields
        ]
        if not pieces:
            return literal(None, Text)
        expression = pieces[0]
        for piece in pieces[1:]:
            expression = expression + literal(" ") + piece
        return func.nullif(func.trim(expression), literal(""))


def _part_table(
    metadata: MetaData,
    stream: str,
    field_key: str,
    slots: Iterable[StreamColumn],
    kind: str,
    signature: str,
) -> tuple[Table, dict[str, Column[Any]]]:
    name = part_table_name(stream, field_key)
    owner = ForeignKey(f"{table_name(stream)}.id", ondelete="CASCADE")
    if kind == "multi":
        target = _foreign_key(signature.removeprefix("multi:"))
        value_args: list[Any] = [target] if target is not None else []
        table = Table(
            name,
            metadata,
            Column("doc_id", Integer, owner, primary_key=True),
            Column("value_id", Integer, *value_args, primary_key=True),
            Index(index_name(name, "value_id"), "value_id"),
        )
        return table, {}
    columns = {
        slot.field.split(".", 1)[1]: value_column(slot.column_name, slot.signature)
        for slot in slots
        if slot.table_name == name and slot.column_name and slot.active
    }
    hidden = [
        value_column(slot.column_name, slot.signature)
        for slot in slots
        if slot.table_name == name and slot.column_name and not slot.active
    ]
    table = Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("doc_id", Integer, owner, nullable=False),
        Column("position", Integer, nullable=False, server_default=text("0")),
        *columns.values(),
        *hidden,
        Index(index_name(name, "doc_id"), "doc_id", "position"),
    )
    return table, {key: table.c[column.name] for key, column in columns.items()}


def compile_stream(
    stream: Stream,
    slots: Iterable[StreamColumn],
    metadata: MetaData,
    *,
    search_fields: Iterable[str] = (),
) -> CompiledStream:
    """SQLAlchemy tables for ``stream`` from its recorded slots (active and hidden)."""
    slots = list(slots)
    main = table_name(stream.key)
    value_columns: list[Column[Any]] = []
    active: dict[str, str] = {}
    for slot in slots:
        if slot.table_name == main and slot.column_name:
            value_columns.append(value_column(slot.column_name, slot.signature))
            if slot.active:
                active[slot.field] = slot.column_name
    table = Table(main, metadata, *system_columns(), *value_columns)
    compiled = CompiledStream(
        stream=stream,
        table=table,
        columns={key: table.c[name] for key, name in active.items()},
        search_fields=tuple(key for key in search_fields if key in active),
    )
    for slot in slots:
        if slot.column_name or not slot.active:
            continue
        kind = "multi" if slot.signature.startswith("multi:") else "child"
        part, part_columns = _part_table(
            metadata, stream.key, slot.field, slots, kind, slot.signature
        )
        compiled.parts[slot.field] = part
        compiled.part_columns[slot.field] = part_columns
    return compiled


def slot_plan(stream: str, spec: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """The slots a new field needs: (field, table name, column name, signature)."""
    kind = field_type(str(spec["type"])).storage
    key = str(spec["key"])
    if kind == "column":
        return [(key, table_name(stream), key, signature_of(spec))]
    if kind == "multi":
        return [(key, part_table_name(stream, key), "", "multi:" + signature_of(spec))]
    if kind == "child":
        part = part_table_name(stream, key)
        slots = [(key, part, "", "child:table")]
        for column in spec.get("columns", ()):
            slots.append((f"{key}.{column['key']}", part, column["key"], signature_of(column)))
        return slots
    return []


def is_reference(signature: str) -> bool:
    return reference_table(signature) is not None
