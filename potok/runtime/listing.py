"""Lists: which documents a user sees on a page, found, filtered, sorted and paged in SQL.

- Only documents the user may read and that are not in the trash (:mod:`permissions`).
- Full-text search over ``search_text`` (FTS5 on SQLite, ``tsvector`` on PostgreSQL) by word
  prefixes, plus the registration number.
- Filters are conditions of the condition language, compiled to SQL.
- Keyset pagination on (sort column, id): the next page starts after the last row shown, so
  page 1,000 costs what page 1 costs. Empty values sort last in both directions.
- Counting stops at 10,000 ("10,000+"): an exact count of a million rows is never worth it.
  A list page asks for its count separately (:func:`count`), so its rows never wait for it.
- On SQLite a filtered page first looks among the next few thousand rows in sort
  order, which an index gives without sorting; only when they hold less than a page does it
  fall back to the plan SQLite chooses (read what the filters' indexes find, then sort).
- Group counts (the side panel) are one GROUP BY over an indexed reference column (or a
  multi-valued field's part table, indexed by value), computed only when asked for, top 50.
- Saved filters (personal, or shared when ``owner_id`` is None) and each user's columns and
  sort are kept in :mod:`potok.runtime.tables`.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from potok.metadata import conditions
from potok.metadata.compiler import SEARCH_CONFIG, fts_table_name
from potok.metadata.types import FieldValueError
from potok.platform.auth import CurrentUser
from potok.runtime import permissions
from potok.runtime.streams import StreamRuntime
from potok.runtime.tables import ListPreference, SavedFilter

PAGE = 50
COUNT_LIMIT = 10_000
# How many rows in sort order a filtered page on SQLite looks at first, and at most (see
# _nearest_rows()).
WINDOW = 3_000
WINDOW_MAX = 60_000
GROUPS = 50
SYSTEM_SORTS = ("created_at", "updated_at", "reg_number")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool


class Resolver:
    """Columns for the condition language's SQL back end."""

    def __init__(self, runtime: StreamRuntime) -> None:
        self.runtime = runtime

    def column(self, key: str) -> ColumnElement[Any]:
        return self.runtime.compiled.column(key)

    def has_any(self, key: str, values: list[int]) -> ColumnElement[bool]:
        part = self.runtime.compiled.parts[key]
        table = self.runtime.compiled.table
        return table.c.id.in_(select(part.c.doc_id).where(part.c.value_id.in_(values)))

    def is_empty(self, key: str) -> ColumnElement[bool]:
        part = self.runtime.compiled.parts[key]
        table = self.runtime.compiled.table
        return table.c.id.not_in(select(part.c.doc_id))


def search_clause(
    session: Session, runtime: StreamRuntime, query: str, hidden: Collection[str] = ()
) -> ColumnElement[bool]:
    """Documents whose searchable text has words starting with every word of ``query``, or
    whose registration number contains ``query``. When a searchable field is ``hidden`` from
    the user, every word must also be in a field they see: a search never tells what a
    hidden field holds."""
    table = runtime.compiled.table
    words = _WORD.findall(query.lower())[:10]
    # Numbers have digits; a query without one is not looked for in them (a LIKE '%…%'
    # reads every row).
    wanted = query.strip()[:60]
    by_number = (
        table.c.reg_number.contains(wanted, autoescape=True)
        if any(char.isdigit() for char in wanted)
        else false()
    )
    if not words:
        return by_number
    full_text = _full_text(session, runtime, words)
    concealed = [key for key in runtime.compiled.search_fields if key in hidden]
    if concealed:
        shown = [key for key in runtime.compiled.search_fields if key not in hidden]
        seen = {
            "and": [
                {"or": [{"contains_text": [{"var": key}, word]} for key in shown]} for word in words
            ]
        }
        kinds = dict.fromkeys(shown, "text")
        visible = (
            conditions.to_sql(seen, Resolver(runtime), kinds, now=_NO_DATES) if shown else false()
        )
        full_text = and_(full_text, visible)
    return or_(full_text, by_number)


_NO_DATES = datetime(2000, 1, 1)  # the search condition has no dates; to_sql wants a now


def _full_text(session: Session, runtime: StreamRuntime, words: list[str]) -> ColumnElement[bool]:
    table = runtime.compiled.table
    if session.get_bind().dialect.name == "sqlite":
        fts = fts_table_name(runtime.key)
        match = " ".join(f'"{word}"*' for word in words)
        found: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(text(f'"{fts}"'))
            .where(text(f'"{fts}" MATCH :match'))
            .params(match=match)
        )
        return table.c.id.in_(found.scalar_subquery())
    terms = " & ".join(f"{word}:*" for word in words)
    vector = func.to_tsvector(SEARCH_CONFIG, func.coalesce(table.c.search_text, ""))
    return vector.op("@@")(func.to_tsquery(SEARCH_CONFIG, terms))


def sortable(runtime: StreamRuntime) -> list[str]:
    keys = [
        item.key
        for item in runtime.stream.fields
        if item.key in runtime.compiled.columns
        and (
            item.flag("sortable")
            or item.flag("filterable")
            or item.field_type.kind in ("date", "datetime", "integer", "decimal")
        )
    ]
    return keys + list(SYSTEM_SORTS)


def default_sort(runtime: StreamRuntime) -> Sort:
    for item in runtime.stream.document.get("list", {}).get("sort", []):
        return Sort(item["field"], bool(item.get("descending")))
    return Sort("created_at", True)


def _encode(value: Any, doc_id: int) -> str:
    shown = value.isoformat() if hasattr(value, "isoformat") else value
    data = json.dumps([value is None, None if value is None else str(shown), doc_id])
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def _decode(runtime: StreamRuntime, sort: Sort, token: str) -> tuple[bool, Any, int] | None:
    try:
        padded = token + "=" * (-len(token) % 4)
        is_null, shown, doc_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(doc_id, int) or not isinstance(is_null, bool):
            return None
        if is_null:
            return True, None, doc_id
        if sort.key in SYSTEM_SORTS:
            value: Any = datetime.fromisoformat(shown) if sort.key != "reg_number" else shown
        else:
            item = runtime.stream.field(sort.key)
            value = item.field_type.parse(item.spec, shown)
        return False, value, doc_id
    except (ValueError, TypeError, KeyError, FieldValueError, json.JSONDecodeError):
        return None


@dataclass
class Page:
    rows: list[Mapping[str, Any]]
    next_after: str | None
    count: int | None  # None: not counted (see count())
    count_capped: bool


def base_query(
    session: Session,
    user: CurrentUser,
    runtime: StreamRuntime,
    *,
    search: str = "",
    condition: Any = None,
    now: datetime,
) -> Select[Any]:
    table = runtime.compiled.table
    where: list[ColumnElement[bool]] = [
        table.c.deleted == false(),
        permissions.readable(session, user, runtime),
    ]
    if search.strip():
        hidden = permissions.access_for(user, runtime).hidden
        where.append(search_clause(session, runtime, search, hidden))
    if condition:
        where.append(conditions.to_sql(condition, Resolver(runtime), runtime.kinds, now=now))
    return select(table.c.id).where(*where)


def page(
    session: Session,
    user: CurrentUser,
    runtime: StreamRuntime,
    columns: Sequence[str],
    *,
    sort: Sort,
    search: str = "",
    condition: Any = None,
    after: str = "",
    now: datetime,
    size: int = PAGE,
    counted: bool = True,
    window: int = WINDOW,
) -> Page:
    """One page of the list. ``counted=False`` leaves the count to :func:`count` (a list
    page shows its rows first and its count a moment later)."""
    table = runtime.compiled.table
    query = base_query(session, user, runtime, search=search, condition=condition, now=now)
    shown = [table.c.id, table.c.reg_number, table.c.created_at, table.c.version] + [
        runtime.compiled.column(key) for key in columns if key not in ("reg_number", "created_at")
    ]
    order_column = runtime.compiled.column(sort.key)
    if all(column.name != order_column.name for column in shown):
        shown.append(order_column)
    position = _decode(runtime, sort, after) if after else None
    beyond: list[ColumnElement[bool]] = []
    if position is not None:
        is_null, value, last_id = position
        before_after = table.c.id < last_id if sort.descending else table.c.id > last_id
        if is_null:
            beyond.append(and_(order_column.is_(None), before_after))
        else:
            further = order_column < value if sort.descending else order_column > value
            beyond.append(
                or_(further, and_(order_column == value, before_after), order_column.is_(None))
            )
    ordering = order_column.desc() if sort.descending else order_column.asc()
    id_order = table.c.id.desc() if sort.descending else table.c.id.asc()
    order = (ordering.nulls_last(), id_order)
    rows_query = query.with_only_columns(*shown).where(*beyond).order_by(*order)
    rows: list[Mapping[str, Any]] = []
    if window and condition and not search.strip() and session.get_bind().dialect.name == "sqlite":
        rows = _nearest_rows(
            session, rows_query, select(table.c.id).where(*beyond), order, size, window
        )
    if len(rows) <= size:
        rows = _rows(session, rows_query, size)
    next_after = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_after = _encode(last[order_column.name], last["id"])
    if not counted:
        return Page(rows, next_after, None, False)
    total, capped = _count(session, query)
    return Page(rows, next_after, total, capped)


def _nearest_rows(
    session: Session,
    rows_query: Select[Any],
    ahead: Select[Any],
    order: tuple[ColumnElement[Any], ...],
    size: int,
    window: int,
) -> list[Mapping[str, Any]]:
    """The page among the next ``window`` rows in sort order, or fewer rows when they do not
    hold it (the caller then asks the ordinary way).

    SQLite's planner reads every row a filter's index finds and sorts them, however few are
    wanted. The next rows in sort order come from an index without sorting, and when they
    hold a whole page it is the page: later rows sort after all of them. A first look at
    ``window`` rows tells roughly how often the filters match; when a page is likely within
    :data:`WINDOW_MAX` rows a second look goes that far, else the caller's plan is cheaper.
    """
    table_id = ahead.selected_columns[0]

    def within(rows: int) -> list[Mapping[str, Any]]:
        nearest = ahead.order_by(*order).limit(rows).scalar_subquery()
        return _rows(session, rows_query.where(table_id.in_(nearest)), size)

    found = within(window)
    if len(found) > size or not found:
        return found
    wanted = math.ceil((size + 1) * window / len(found) * 1.5)
    return within(wanted) if wanted <= WINDOW_MAX else found


def _rows(session: Session, query: Select[Any], size: int) -> list[Mapping[str, Any]]:
    return [dict(row) for row in session.execute(query.limit(size + 1)).mappings()]


def count(
    session: Session,
    user: CurrentUser,
    runtime: StreamRuntime,
    *,
    search: str = "",
    condition: Any = None,
    now: datetime,
) -> tuple[int, bool]:
    """How many documents the list finds, exactly up to :data:`COUNT_LIMIT`; the flag says
    there are more."""
    query = base_query(session, user, runtime, search=search, condition=condition, now=now)
    return _count(session, query)


def _count(session: Session, query: Select[Any]) -> tuple[int, bool]:
    limited = query.limit(COUNT_LIMIT + 1).subquery()
    found = session.scalar(select(func.count()).select_from(limited)) or 0
    return min(found, COUNT_LIMIT), found > COUNT_LIMIT


def group_counts(
    session: Session,
    user: CurrentUser,
    runtime: StreamRuntime,
    key: str,
    *,
    search: str = "",
    condition: Any = None,
    now: datetime,
    limit: int = GROUPS,
) -> list[tuple[int, int]]:
    """(value id, number of documents) for the field ``key`` among the documents the list
    would show, the most frequent first; empty values are not counted."""
    query = base_query(session, user, runtime, search=search, condition=condition, now=now)
    part = runtime.compiled.parts.get(key)
    if part is not None:
        found = query.subquery()
        statement = (
            select(part.c.value_id, func.count())
            .where(part.c.doc_id.in_(select(found.c.id)))
            .group_by(part.c.value_id)
            .order_by(func.count().desc(), part.c.value_id)
        )
    else:
        column = runtime.compiled.columns[key]
        statement = (
            query.with_only_columns(column, func.count())
            .where(column.is_not(None))
            .group_by(column)
            .order_by(func.count().desc(), column)
        )
    return [(int(value), int(count)) for value, count in session.execute(statement.limit(limit))]


# Saved filters and list preferences -------------------------------------------------------


def saved_filters(session: Session, user: CurrentUser, stream: str) -> list[SavedFilter]:
    """The user's own filters and the shared ones, shared first, by name."""
    return list(
        session.scalars(
            select(SavedFilter)
            .where(
                SavedFilter.stream == stream,
                or_(SavedFilter.owner_id == user.id, SavedFilter.owner_id.is_(None)),
            )
            .order_by(SavedFilter.owner_id.is_not(None), SavedFilter.name, SavedFilter.id)
        )
    )


def saved_filter(
    session: Session, user: CurrentUser, stream: str, filter_id: int
) -> SavedFilter | None:
    """One filter the user may use (their own or a shared one), or None."""
    found = session.get(SavedFilter, filter_id)
    if found is None or found.stream != stream or found.owner_id not in (None, user.id):
        return None
    return found


def save_filter(
    session: Session,
    user: CurrentUser,
    stream: str,
    name: str,
    params: dict[str, list[str]],
    *,
    shared: bool,
    now: datetime,
) -> SavedFilter:
    """Keep ``params`` (the list's query parameters) under ``name``; a filter of the same
    name and owner is replaced."""
    owner = None if shared else user.id
    existing = session.scalar(
        select(SavedFilter).where(
            SavedFilter.stream == stream,
            SavedFilter.name == name,
            SavedFilter.owner_id.is_(None) if owner is None else SavedFilter.owner_id == owner,
        )
    )
    if existing is None:
        existing = SavedFilter(stream=stream, owner_id=owner, name=name, created_at=now)
        session.add(existing)
    existing.condition = {"params": params}
    session.flush()
    return existing


def preference(session: Session, user: CurrentUser, stream: str) -> ListPreference | None:
    return session.get(ListPreference, (user.id, stream))


def set_preference(
    session: Session, user: CurrentUser, stream: str, columns: list[str], sort: list[Any]
) -> None:
    found = preference(session, user, stream)
    if found is None:
        found = ListPreference(user_id=user.id, stream=stream)
        session.add(found)
    found.columns = columns
    found.sort = sort
    session.flush()


def clear_preference(session: Session, user: CurrentUser, stream: str) -> None:
    session.execute(
        delete(ListPreference).where(
            ListPreference.user_id == user.id, ListPreference.stream == stream
        )
    )
