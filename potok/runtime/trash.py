"""A stream's trash: the deleted documents a user may restore, newest deletion first.

- Only documents in the trash that the user may both read and delete (restoring needs the
  same rights as deleting, :mod:`permissions`).
- Found by registration number or by word prefixes, with the list's search
  (:func:`potok.runtime.listing.search_clause`).
- Keyset pagination on (``deleted_at``, id), descending: page 1,000 costs what page 1 costs.
- Who deleted a document comes from its history (the newest ``delete`` entry).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.orm import Session

from potok.platform.auth import CurrentUser
from potok.platform.models import User
from potok.runtime import listing, permissions
from potok.runtime.streams import StreamRuntime
from potok.runtime.tables import HistoryEntry

PAGE = 50


@dataclass(frozen=True)
class Trashed:
    """One document in the trash, as the trash list shows it."""

    id: int
    reg_number: str | None
    title: str
    deleted_at: datetime | None
    deleted_by: str


@dataclass
class TrashPage:
    rows: list[Trashed]
    next_after: str | None
    count: int
    count_capped: bool


def _encode(deleted_at: datetime | None, doc_id: int) -> str:
    data = json.dumps([deleted_at.isoformat() if deleted_at else None, doc_id])
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def _decode(token: str) -> tuple[datetime | None, int] | None:
    """The position a ``next_after`` token names, or None for a token we did not make."""
    try:
        padded = token + "=" * (-len(token) % 4)
        shown, doc_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(doc_id, int) or isinstance(doc_id, bool):
            return None
        if shown is None:
            return None, doc_id
        if not isinstance(shown, str):
            return None
        return datetime.fromisoformat(shown), doc_id
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def base_query(
    session: Session, user: CurrentUser, runtime: StreamRuntime, *, search: str = ""
) -> Select[Any]:
    """The ids of the documents in ``runtime``'s trash that ``user`` may restore."""
    table = runtime.compiled.table
    access = permissions.access_for(user, runtime)
    where: list[ColumnElement[bool]] = [
        table.c.deleted == true(),
        permissions.readable(session, user, runtime),
        permissions.scope_clause(session, user, runtime, access.delete),
    ]
    if search.strip():
        where.append(listing.search_clause(session, runtime, search, access.hidden))
    return select(table.c.id).where(*where)


def _after(runtime: StreamRuntime, token: str) -> ColumnElement[bool]:
    table = runtime.compiled.table
    position = _decode(token)
    if position is None:
        return true()
    deleted_at, last_id = position
    if deleted_at is None:
        return and_(table.c.deleted_at.is_(None), table.c.id < last_id)
    return or_(
        table.c.deleted_at < deleted_at,
        and_(table.c.deleted_at == deleted_at, table.c.id < last_id),
        table.c.deleted_at.is_(None),
    )


def deleters(session: Session, runtime: StreamRuntime, ids: list[int]) -> dict[int, str]:
    """Who moved each of ``ids`` to the trash (the newest ``delete`` entry of its history):
    the person's full name, or the name the history kept when the account is gone."""
    if not ids:
        return {}
    rows = session.execute(
        select(HistoryEntry.doc_id, HistoryEntry.user_name, User.full_name, User.username)
        .outerjoin(User, User.id == HistoryEntry.user_id)
        .where(
            HistoryEntry.stream == runtime.key,
            HistoryEntry.doc_id.in_(ids),
            HistoryEntry.action == "delete",
        )
        .order_by(HistoryEntry.id)
    )
    found: dict[int, str] = {}
    for doc_id, kept_name, full_name, username in rows:
        found[doc_id] = full_name or username or kept_name or ""
    return found


def page(
    session: Session,
    user: CurrentUser,
    runtime: StreamRuntime,
    *,
    search: str = "",
    after: str = "",
    size: int = PAGE,
) -> TrashPage:
    """One page of the trash, newest deletion first; ``after`` is the previous page's
    ``next_after`` (a token we did not make starts from the beginning)."""
    table = runtime.compiled.table
    query = base_query(session, user, runtime, search=search)
    title_key = runtime.stream.title_field
    title_column = runtime.compiled.columns.get(title_key) if title_key else None
    hidden = permissions.access_for(user, runtime).hidden
    shown: list[ColumnElement[Any]] = [table.c.id, table.c.reg_number, table.c.deleted_at]
    if title_column is not None and title_key not in hidden:
        shown.append(title_column.label("title"))
    rows_query = query.with_only_columns(*shown)
    if after:
        rows_query = rows_query.where(_after(runtime, after))
    rows = list(
        session.execute(
            rows_query.order_by(table.c.deleted_at.desc().nulls_last(), table.c.id.desc()).limit(
                size + 1
            )
        ).mappings()
    )
    next_after = None
    if len(rows) > size:
        rows = rows[:size]
        next_after = _encode(rows[-1]["deleted_at"], rows[-1]["id"])
    by_whom = deleters(session, runtime, [row["id"] for row in rows])
    trashed = [
        Trashed(
            id=row["id"],
            reg_number=row["reg_number"],
            title=str(row.get("title") or ""),
            deleted_at=row["deleted_at"],
            deleted_by=by_whom.get(row["id"], ""),
        )
        for row in rows
    ]
    counted = (
        session.scalar(
            select(func.count()).select_from(query.limit(listing.COUNT_LIMIT + 1).subquery())
        )
        or 0
    )
    return TrashPage(
        trashed, next_after, min(counted, listing.COUNT_LIMIT), counted > listing.COUNT_LIMIT
    )
