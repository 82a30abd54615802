"""Dictionary items: the entries of lookup lists (industries, regions, statuses…).

Items are data, not versioned metadata: documents refer to them by id, so renaming an item
keeps every reference; deactivating one hides it from new choices and keeps old values.
In a configuration folder, items travel with their dictionary, identified by code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from potok.metadata.tables import DictionaryItem


def items(session: Session, dictionary: str, *, active_only: bool = False) -> list[DictionaryItem]:
    """The items of a dictionary in order (parents before their children)."""
    statement = select(DictionaryItem).where(DictionaryItem.dictionary == dictionary)
    if active_only:
        statement = statement.where(DictionaryItem.active.is_(True))
    return _tree_order(
        session.scalars(statement.order_by(DictionaryItem.position, DictionaryItem.id))
    )


def items_of(session: Session, dictionaries: Iterable[str]) -> dict[str, list[DictionaryItem]]:
    """The items of several dictionaries, each in order, read in one query."""
    keys = sorted(set(dictionaries))
    if not keys:
        return {}
    grouped: dict[str, list[DictionaryItem]] = {key: [] for key in keys}
    statement = (
        select(DictionaryItem)
        .where(DictionaryItem.dictionary.in_(keys))
        .order_by(DictionaryItem.position, DictionaryItem.id)
    )
    for row in session.scalars(statement):
        grouped[row.dictionary].append(row)
    return {key: _tree_order(rows) for key, rows in grouped.items()}


def _tree_order(rows: Iterable[DictionaryItem]) -> list[DictionaryItem]:
    """Items sorted by position with each parent before its children."""
    children: dict[int | None, list[DictionaryItem]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    ordered: list[DictionaryItem] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        row = stack.pop()
        ordered.append(row)
        stack.extend(reversed(children.get(row.id, [])))
    return ordered


def sync_items(
    session: Session, dictionary: str, documents: Sequence[Mapping[str, Any]], *, now: datetime
) -> None:
    """Make the items match a folder's list: create new codes, update known ones (labels,
    order, parent, active), deactivate codes that are gone (never delete: documents may
    refer to them)."""
    existing = {
        row.code: row
        for row in session.scalars(
            select(DictionaryItem).where(DictionaryItem.dictionary == dictionary)
        )
    }
    seen: set[str] = set()
    stack: list[tuple[Mapping[str, Any], DictionaryItem | None, int]] = [
        (document, None, position) for position, document in enumerate(documents)
    ]
    while stack:
        document, parent, position = stack.pop(0)
        code = str(document["code"])
        seen.add(code)
        row = existing.get(code)
        if row is None:
            row = DictionaryItem(dictionary=dictionary, code=code, created_at=now)
            session.add(row)
            existing[code] = row
        row.labels = dict(document["labels"])
        row.active = bool(document.get("active", True))
        row.position = position
        row.parent_id = parent.id if parent is not None else None
        row.updated_at = now
        session.flush()
        stack.extend((child, row, index) for index, child in enumerate(document.get("items", [])))
    for code, row in existing.items():
        if code not in seen and row.active:
            row.active = False
            row.updated_at = now


def as_documents(session: Session, dictionary: str) -> list[dict[str, Any]]:
    """The items as a folder stores them: nested by parent, identified by code."""
    rows = items(session, dictionary)
    nodes: dict[int, dict[str, Any]] = {}
    top: list[dict[str, Any]] = []
    for row in rows:
        node: dict[str, Any] = {"code": row.code, "labels": dict(row.labels)}
        if not row.active:
            node["active"] = False
        nodes[row.id] = node
        if row.parent_id is None:
            top.append(node)
        else:
            nodes[row.parent_id].setdefault("items", []).append(node)
    return top
