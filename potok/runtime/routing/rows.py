"""Writing the engine's rows with plain SQL as a transition goes, keeping the session's
objects in step without a flush.

A transition writes a handful of small rows (a token, a task, its timers, timeline events,
notifications) and changes a few (the decided task, the consumed token, the instance's
version). Through the ORM's unit of work that cost several times the SQL itself, so the
engine writes each row with one prepared statement on the session's connection — inside
the session's transaction and savepoints — and keeps the objects it hands out up to date:
a new row becomes a persistent object in the session's identity map, a changed one gets its
new values as committed state. Nothing of the engine's is left for the session to flush.

A savepoint rolled back (:func:`potok.runtime.routing.engine.guarded`) calls :func:`undo`
with the objects created inside it: they leave the session, and everything else is expired
so it is read again as the database has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult, Executable, Table, bindparam, insert, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import Insert, Update

from potok.platform.models import Base

Row = TypeVar("Row", bound=Base)

_INSERTS: dict[str, Insert] = {}
_UPDATES: dict[tuple[str, tuple[str, ...], bool], Update] = {}
_DEFAULTS: dict[str, dict[str, Any]] = {}


def table_of(model: type[Base]) -> Table:
    """The table a model maps (typed as such, for statements prepared on it)."""
    table = model.__table__
    assert isinstance(table, Table)  # noqa: S101 - every model maps one table
    return table


def _defaults(table: Table) -> dict[str, Any]:
    """Every column but the key, with its scalar default (or None): a new object gets
    each attribute, so none is left to be loaded."""
    if table.name not in _DEFAULTS:
        _DEFAULTS[table.name] = {
            column.key: (
                getattr(column.default, "arg", None)
                if column.default is not None and column.default.is_scalar
                else None
            )
            for column in table.c
            if not column.primary_key
        }
    return _DEFAULTS[table.name]


class Writer:
    """Writes one transition's rows on the session's connection (looked up once)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = self.session.connection()
        return self._connection

    def add(self, model: type[Row], values: Mapping[str, Any]) -> Row:
        """Insert one row and return it as a persistent object of the session."""
        table = table_of(model)
        row_values = {**_defaults(table), **values}
        key = self.connection.execute(_insert(table), row_values).inserted_primary_key
        row = model(**row_values)
        row.id = key[0] if key is not None else None  # type: ignore[attr-defined]
        make_transient_to_detached(row)
        self.session.add(row)
        return row

    def add_many(self, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows nobody reads back in this transaction (timers, events)."""
        if rows:
            table = table_of(model)
            defaults = _defaults(table)
            self.connection.execute(_insert(table), [{**defaults, **row} for row in rows])

    def change(self, row: Base, **values: Any) -> None:
        """Update one row's columns and the object alike."""
        self.change_all([row], **values)

    def change_all(self, rows: Iterable[Base], **values: Any) -> None:
        """Update the same columns of several rows of one table with one statement."""
        rows = list(rows)
        if not rows:
            return
        table = table_of(type(rows[0]))
        many = len(rows) > 1
        ids: dict[str, Any] = (
            {"row_ids": [row.id for row in rows]}  # type: ignore[attr-defined]
            if many
            else {"row_id": rows[0].id}  # type: ignore[attr-defined]
        )
        self.connection.execute(
            _update(table, tuple(values), many),
            {**ids, **{f"new_{name}": value for name, value in values.items()}},
        )
        for row in rows:
            for name, value in values.items():
                set_committed_value(row, name, value)

    def execute(self, statement: Executable, parameters: Mapping[str, Any]) -> CursorResult[Any]:
        """A prepared statement of the engine's own (e.g. cancelling timers)."""
        return self.connection.execute(statement, parameters)


def _insert(table: Table) -> Insert:
    statement = _INSERTS.get(table.name)
    if statement is None:
        statement = _INSERTS.setdefault(table.name, insert(table))
    return statement


def _update(table: Table, names: tuple[str, ...], many: bool) -> Update:
    key = (table.name, names, many)
    statement = _UPDATES.get(key)
    if statement is None:
        by_id = (
            table.c.id.in_(bindparam("row_ids", expanding=True))
            if many
            else table.c.id == bindparam("row_id")
        )
        statement = update(table).where(by_id).values({n: bindparam(f"new_{n}") for n in names})
        _UPDATES[key] = statement
    return statement


def undo(session: Session, created: Iterable[Base]) -> None:
    """After a savepoint's rollback: the rows created inside it are gone, the rest is read
    again."""
    for row in created:
        if row in session:
            session.expunge(row)
    session.expire_all()
