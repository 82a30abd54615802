"""Documents: register, read, change, delete to the trash and restore — each in the caller's
transaction, each change recorded in the history.

Saving checks what only the database knows: that referenced dictionary items, users,
departments and linked documents exist (and, for new values, are active and readable by the
user) and that unique fields stay unique. Changing a document is optimistic: the caller says
which version it edited; if someone saved meanwhile, :class:`EditConflict` carries the
document as it is now, and nothing is written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, Table, bindparam, delete, false, insert, select, update
from sqlalchemy.orm import Session

from potok.errors import N_, Conflict, NotFound, ValidationFailed
from potok.metadata import numbering
from potok.metadata.compiler import reference_table, signature_of
from potok.metadata.model import Field
from potok.metadata.tables import DictionaryItem
from potok.metadata.types import FieldValueError
from potok.platform.audit import Actor
from potok.platform.models import Department, User
from potok.runtime.streams import StreamRuntime
from potok.runtime.tables import HistoryEntry

LinkReadable = Callable[[str, int], bool]


@dataclass
class Document:
    stream: str
    id: int
    reg_number: str | None
    version: int
    author_id: int | None
    created_at: datetime
    updated_at: datetime
    deleted: bool
    values: dict[str, Any] = field(default_factory=dict)


class EditConflict(Conflict):
    message = N_(
        "Someone else saved this card after you opened it. Your changes are not saved yet: "
        "compare them with the current version below."
    )

    def __init__(self, current: Document) -> None:
        self.current = current
        super().__init__()


class InvalidValues(ValidationFailed):
    """Values that break a rule; ``errors`` maps field paths to the problem."""

    def __init__(self, errors: Mapping[str, FieldValueError]) -> None:
        self.errors = dict(errors)
        super().__init__(field_errors={path: error.message for path, error in errors.items()})


def jsonable(value: Any) -> Any:
    """A value as the history stores it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


# Reading -----------------------------------------------------------------------------------


def _scalar_fields(runtime: StreamRuntime) -> list[Field]:
    return [item for item in runtime.stream.fields if item.key in runtime.compiled.columns]


def _multi_values(part: Table) -> Select[Any]:
    found: Select[Any] = select(part.c.value_id).where(part.c.doc_id == bindparam("doc_id"))
    return found


def _child_rows(part: Table) -> Select[Any]:
    found: Select[Any] = (
        select(part)
        .where(part.c.doc_id == bindparam("doc_id"))
        .order_by(part.c.position, part.c.id)
    )
    return found


def load(
    session: Session, runtime: StreamRuntime, doc_id: int, *, include_deleted: bool = False
) -> Document:
    table = runtime.compiled.table
    by_id = runtime.statement(
        "load", lambda: select(table).where(table.c.id == bindparam("doc_id"))
    )
    row = session.execute(by_id, {"doc_id": doc_id}).mappings().first()
    if row is None or (row["deleted"] and not include_deleted):
        raise NotFound()
    document = Document(
        stream=runtime.key,
        id=row["id"],
        reg_number=row["reg_number"],
        version=row["version"],
        author_id=row["author_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted=bool(row["deleted"]),
    )
    for item in _scalar_fields(runtime):
        document.values[item.key] = row[runtime.compiled.columns[item.key].name]
    for item in runtime.stream.fields:
        part = runtime.compiled.parts.get(item.key)
        if part is None:
            continue
        if item.storage == "multi":
            values: Select[Any] = runtime.statement(
                f"load.{item.key}", functools.partial(_multi_values, part)
            )
            document.values[item.key] = sorted(session.scalars(values, {"doc_id": doc_id}))
        elif item.storage == "child":
            columns = runtime.compiled.part_columns[item.key]
            lines: Select[Any] = runtime.statement(
                f"load.{item.key}", functools.partial(_child_rows, part)
            )
            document.values[item.key] = [
                {
                    "id": str(line["id"]),
                    **{key: line[column.name] for key, column in columns.items()},
                }
                for line in session.execute(lines, {"doc_id": doc_id}).mappings()
            ]
    return document


# Checking against the database -------------------------------------------------------------


def _ids_exist(
    session: Session, target: str, ids: set[int], *, dictionary: str | None, active_only: bool
) -> set[int]:
    if not ids:
        return set()
    if target == "dictionary_items":
        statement = select(DictionaryItem.id).where(
            DictionaryItem.id.in_(ids), DictionaryItem.dictionary == dictionary
        )
        if active_only:
            statement = statement.where(DictionaryItem.active.is_(True))
    elif target == "users":
        statement = select(User.id).where(User.id.in_(ids), User.is_system.is_(False))
        if active_only:
            statement = statement.where(User.is_active.is_(True))
    elif target == "departments":
        statement = select(Department.id).where(Department.id.in_(ids))
    else:
        return ids  # attachments and links are checked elsewhere
    return set(session.scalars(statement))


def _as_set(value: Any) -> set[int]:
    if value is None:
        return set()
    return set(value) if isinstance(value, list) else {value}


def check_references(
    session: Session,
    runtime: StreamRuntime,
    values: Mapping[str, Any],
    before: Mapping[str, Any],
    link_readable: LinkReadable,
) -> dict[str, FieldValueError]:
    """Problems with ids the values refer to. Values already stored may stay even if their
    item was deactivated since; new ones must be active, and links must be readable."""
    errors: dict[str, FieldValueError] = {}

    def check(path: str, item: Field, value: Any, old: Any) -> None:
        kind = item.field_type
        if kind.refers_to is None or kind.refers_to == "attachment":
            return
        ids, kept = _as_set(value), _as_set(old)
        if not ids:
            return
        new = ids - kept
        if kind.refers_to == "stream":
            target_stream = str(item.spec["stream"])
            for doc_id in sorted(new):
                if not link_readable(target_stream, doc_id):
                    errors[path] = FieldValueError(N_("Choose a document from the list."))
            return
        target = reference_table(signature_of(item.spec)) or ""
        dictionary = item.spec.get("dictionary")
        found = _ids_exist(session, target, ids, dictionary=dictionary, active_only=False)
        active = _ids_exist(session, target, new, dictionary=dictionary, active_only=True)
        if ids - found or new - active:
            errors[path] = FieldValueError(N_("Choose a value from the list."))

    for item in runtime.stream.fields:
        if item.storage == "child":
            old_rows = {row.get("id"): row for row in before.get(item.key) or []}
            for index, row in enumerate(values.get(item.key) or []):
                old = old_rows.get(row.get("id"), {})
                for column in item.columns:
                    check(
                        f"{item.key}[{index}].{column.key}",
                        column,
                        row.get(column.key),
                        old.get(column.key),
                    )
        elif item.key in values:
            check(item.key, item, values.get(item.key), before.get(item.key))
    return errors


def check_unique(
    session: Session, runtime: StreamRuntime, values: Mapping[str, Any], doc_id: int | None
) -> dict[str, FieldValueError]:
    errors: dict[str, FieldValueError] = {}
    table = runtime.compiled.table
    for item in runtime.stream.fields:
        if not item.flag("unique") or values.get(item.key) in (None, ""):
            continue
        column = runtime.compiled.columns[item.key]
        statement = select(table.c.reg_number, table.c.id).where(
            column == values[item.key], table.c.deleted == false()
        )
        if doc_id is not None:
            statement = statement.where(table.c.id != doc_id)
        clash = session.execute(statement.limit(1)).first()
        if clash is not None:
            errors[item.key] = FieldValueError(
                N_("This value is already used by document %(number)s."),
                number=clash[0] or f"#{clash[1]}",
            )
    return errors


# Writing -----------------------------------------------------------------------------------


def _column_values(runtime: StreamRuntime, values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        runtime.compiled.columns[item.key].name: values.get(item.key)
        for item in _scalar_fields(runtime)
        if item.key in values
    }


def _write_parts(
    session: Session,
    runtime: StreamRuntime,
    doc_id: int,
    values: Mapping[str, Any],
    before: Mapping[str, Any],
) -> dict[str, Any]:
    """Write multi-valued and table fields; returns their changes for the history."""
    changes: dict[str, Any] = {}
    for item in runtime.stream.fields:
        part: Table | None = runtime.compiled.parts.get(item.key)
        if part is None or item.key not in values or item.type == "files":
            continue
        if item.storage == "multi":
            new, old = set(values[item.key] or []), set(before.get(item.key) or [])
            if new == old:
                continue
            session.execute(
                delete(part).where(part.c.doc_id == doc_id, part.c.value_id.in_(old - new))
            )
            if new - old:
                session.execute(
                    insert(part), [{"doc_id": doc_id, "value_id": v} for v in sorted(new - old)]
                )
            changes[item.key] = [sorted(old), sorted(new)]
        elif item.storage == "child":
            changes.update(
                _write_rows(
                    session,
                    runtime,
                    item,
                    part,
                    doc_id,
                    values[item.key],
                    before.get(item.key) or [],
                )
            )
    return changes


def _write_rows(
    session: Session,
    runtime: StreamRuntime,
    item: Field,
    part: Table,
    doc_id: int,
    rows: list[dict[str, Any]],
    old_rows: list[dict[str, Any]],
) -> dict[str, Any]:
    columns = runtime.compiled.part_columns[item.key]
    old_by_id = {str(row["id"]): row for row in old_rows}
    kept: set[str] = set()
    added, changed = [], []
    for position, row in enumerate(rows):
        data = {columns[key].name: row.get(key) for key in columns}
        row_id = str(row.get("id") or "")
        if row_id in old_by_id and row_id not in kept:
            kept.add(row_id)
            old = old_by_id[row_id]
            diff = {
                key: [jsonable(old.get(key)), jsonable(row.get(key))]
                for key in columns
                if old.get(key) != row.get(key)
            }
            session.execute(
                update(part)
                .where(part.c.id == int(row_id), part.c.doc_id == doc_id)
                .values(position=position, **data)
            )
            if diff:
                changed.append({"row": position + 1, "changes": diff})
        else:
            session.execute(insert(part).values(doc_id=doc_id, position=position, **data))
            added.append({key: jsonable(row.get(key)) for key in columns})
    removed_ids = [int(row_id) for row_id in old_by_id if row_id not in kept]
    if removed_ids:
        session.execute(delete(part).where(part.c.id.in_(removed_ids)))
    removed = [{key: jsonable(old_by_id[str(i)].get(key)) for key in columns} for i in removed_ids]
    if not (added or changed or removed):
        return {}
    return {item.key: {"rows_added": added, "rows_changed": changed, "rows_removed": removed}}


def record_history(
    session: Session,
    stream: str,
    doc_id: int,
    actor: Actor,
    now: datetime,
    action: str,
    changes: Mapping[str, Any],
) -> None:
    """Add an entry to a document's history: who did ``action`` when, and ``changes``."""
    session.add(
        HistoryEntry(
            stream=stream,
            doc_id=doc_id,
            at=now,
            user_id=actor.user_id,
            user_name=actor.username[:64],
            action=action,
            changes=jsonable(dict(changes)),
        )
    )


def _refresh_search(session: Session, runtime: StreamRuntime, doc_id: int) -> None:
    if runtime.compiled.search_fields:
        table = runtime.compiled.table
        session.execute(
            update(table)
            .where(table.c.id == doc_id)
            .values(search_text=runtime.compiled.search_expression())
        )


def create(
    session: Session,
    runtime: StreamRuntime,
    values: Mapping[str, Any],
    *,
    actor: Actor,
    now: datetime,
    link_readable: LinkReadable,
) -> Document:
    """Register a new document (with the next registration number) from clean values."""
    errors = check_references(session, runtime, values, {}, link_readable)
    errors.update(check_unique(session, runtime, values, None))
    if errors:
        raise InvalidValues(errors)
    number, year = numbering.next_number(session, runtime.key, runtime.stream.numbering, now)
    table = runtime.compiled.table
    doc_id = session.execute(
        insert(table)
        .values(
            reg_number=number,
            reg_year=year,
            author_id=actor.user_id,
            created_at=now,
            updated_at=now,
            version=1,
            deleted=False,
            **_column_values(runtime, values),
        )
        .returning(table.c.id)
    ).scalar_one()
    _write_parts(session, runtime, doc_id, values, {})
    _refresh_search(session, runtime, doc_id)
    record_history(
        session,
        runtime.key,
        doc_id,
        actor,
        now,
        "create",
        {key: value for key, value in values.items() if value not in (None, [], "")},
    )
    return load(session, runtime, doc_id)


def change(
    session: Session,
    runtime: StreamRuntime,
    doc_id: int,
    values: Mapping[str, Any],
    *,
    expected_version: int,
    actor: Actor,
    now: datetime,
    link_readable: LinkReadable,
) -> Document:
    """Save new values over version ``expected_version``; raises :class:`EditConflict`
    when the document changed since, with nothing written."""
    current = load(session, runtime, doc_id)
    if current.version != expected_version:
        raise EditConflict(current)
    errors = check_references(session, runtime, values, current.values, link_readable)
    errors.update(check_unique(session, runtime, values, doc_id))
    if errors:
        raise InvalidValues(errors)
    table = runtime.compiled.table
    changed = session.execute(
        update(table)
        .where(table.c.id == doc_id, table.c.version == expected_version)
        .values(version=expected_version + 1, updated_at=now, **_column_values(runtime, values))
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:  # saved by someone else between our read and our write
        raise EditConflict(load(session, runtime, doc_id))
    changes = {
        item.key: [current.values.get(item.key), values.get(item.key)]
        for item in _scalar_fields(runtime)
        if item.key in values and current.values.get(item.key) != values.get(item.key)
    }
    changes.update(_write_parts(session, runtime, doc_id, values, current.values))
    _refresh_search(session, runtime, doc_id)
    if changes:
        record_history(session, runtime.key, doc_id, actor, now, "update", changes)
    return load(session, runtime, doc_id)


def move_to_trash(
    session: Session, runtime: StreamRuntime, doc_id: int, *, actor: Actor, now: datetime
) -> None:
    table = runtime.compiled.table
    done = session.execute(
        update(table)
        .where(table.c.id == doc_id, table.c.deleted == false())
        .values(deleted=True, deleted_at=now, version=table.c.version + 1)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound()
    record_history(session, runtime.key, doc_id, actor, now, "delete", {})


def restore(
    session: Session, runtime: StreamRuntime, doc_id: int, *, actor: Actor, now: datetime
) -> Document:
    document = load(session, runtime, doc_id, include_deleted=True)
    if not document.deleted:
        return document
    clashes = check_unique(session, runtime, document.values, doc_id)
    if clashes:
        raise InvalidValues(clashes)
    table = runtime.compiled.table
    session.execute(
        update(table)
        .where(table.c.id == doc_id)
        .values(deleted=False, deleted_at=None, version=table.c.version + 1)
    )
    record_history(session, runtime.key, doc_id, actor, now, "restore", {})
    return load(session, runtime, doc_id)


def history(session: Session, runtime: StreamRuntime, doc_id: int) -> list[HistoryEntry]:
    return list(
        session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.stream == runtime.key, HistoryEntry.doc_id == doc_id)
            .order_by(HistoryEntry.id.desc())
        )
    )
