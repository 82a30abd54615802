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
- nothing is dropped, except by an explicit ``schema_changes.purge``.

``potok.metadata.schema_changes`` carries the steps out inside the caller's transaction, so
on PostgreSQL and on SQLite (both have transactional DDL) an interrupted publish leaves the
previous version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from sqlalchemy import (
    Connection,
    MetaData,
    false,
    func,
    select,
)

from potok.errors import N_
from potok.metadata import compiler
from potok.metadata.compiler import (
    part_table_name,
    reference_table,
    signature_of,
    slot_plan,
    table_name,
)
from potok.metadata.tables import StreamColumn
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
