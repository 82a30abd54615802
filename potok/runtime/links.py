"""Links between documents, as a card shows them.

- *Reverse links*: the documents of other streams whose ``link`` / ``links`` field points to
  this one (a client's works and contracts), grouped by stream and field, counted in SQL on
  the indexed link column, only those the user may read and not in the trash.
- *Ad-hoc links*: a :class:`DocumentLink` of a kind between any two documents, shown on
  both cards (the kind read from each side: "based on" / "basis for"). Adding one needs the
  right to edit the source and to read the target; removing one, the right to edit either
  side. Both documents' histories record it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    ScalarSelect,
    Select,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from potok.errors import N_, NotFound, PermissionDenied, ValidationFailed
from potok.metadata.model import Field
from potok.platform.audit import Actor
from potok.platform.auth import CurrentUser
from potok.runtime import permissions
from potok.runtime.display import titles
from potok.runtime.documents import record_history
from potok.runtime.streams import StreamRuntime
from potok.runtime.tables import DocumentLink

REVERSE_SHOWN = 10
MAX_LINKS_SHOWN = 200


@dataclass(frozen=True)
class Kind:
    key: str
    label: str  # as the source reads it ("Based on")
    inverse: str  # as the target reads it ("Basis for")


KINDS: dict[str, Kind] = {
    kind.key: kind
    for kind in (
        Kind("related", N_("Related"), N_("Related")),
        Kind("based_on", N_("Based on"), N_("Basis for")),
        Kind("reply_to", N_("Reply to"), N_("Replied by")),
        Kind("duplicate", N_("Duplicate of"), N_("Duplicated by")),
    )
}


class LinkRefused(ValidationFailed):
    """A link that cannot be added; the message says why."""


# Reverse links -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReverseGroup:
    """The readable documents of ``runtime`` whose ``field`` links to one document."""

    runtime: StreamRuntime
    field: Field
    count: int
    first: list[tuple[int, str]]  # (id, title), newest first


def linking_fields(
    runtimes: Iterable[StreamRuntime], target: str
) -> list[tuple[StreamRuntime, Field]]:
    """Every active ``link`` / ``links`` field of a published stream that points to ``target``."""
    found = []
    for runtime in runtimes:
        for item in runtime.stream.fields:
            if item.type not in ("link", "links") or item.spec.get("stream") != target:
                continue
            stored = runtime.compiled.columns if item.type == "link" else runtime.compiled.parts
            if item.key in stored:
                found.append((runtime, item))
    return found


def points_to(runtime: StreamRuntime, item: Field, doc_id: Any) -> ColumnElement[bool]:
    """Documents of ``runtime`` whose link field ``item`` names ``doc_id``."""
    table = runtime.compiled.table
    if item.type == "link":
        return runtime.compiled.columns[item.key] == doc_id
    part = runtime.compiled.parts[item.key]
    return table.c.id.in_(select(part.c.doc_id).where(part.c.value_id == doc_id))


def reverse_links(
    session: Session,
    user: CurrentUser,
    runtimes: Iterable[StreamRuntime],
    target: StreamRuntime,
    doc_id: int,
    *,
    shown: int = REVERSE_SHOWN,
) -> list[ReverseGroup]:
    """Who links to ``doc_id`` of ``target``: the counts of every linking field in one query,
    then the newest ``shown`` documents of each non-empty group. Fields hidden from the user
    are skipped."""
    pairs = [
        (runtime, item, permissions.access_for(user, runtime))
        for runtime, item in linking_fields(runtimes, target.key)
    ]
    pairs = [
        (runtime, item, access) for runtime, item, access in pairs if item.key not in access.hidden
    ]
    if not pairs:
        return []
    scopes = [access.read for _, _, access in pairs]

    def build() -> tuple[Select[*tuple[Any, ...]], list[Select[Any]]]:
        me: BindParameter[int] = bindparam("me")
        doc: BindParameter[int] = bindparam("doc_id")
        departments: BindParameter[list[int]] = bindparam("departments", expanding=True)
        counts: list[ScalarSelect[int]] = []
        newest: list[Select[Any]] = []
        for (runtime, item, _), scope in zip(pairs, scopes, strict=True):
            table = runtime.compiled.table
            where = and_(
                points_to(runtime, item, doc),
                table.c.deleted == false(),
                permissions.readable_within(runtime, scope, me, departments),
            )
            counts.append(select(func.count()).select_from(table).where(where).scalar_subquery())
            newest.append(select(table.c.id).where(where).order_by(table.c.id.desc()).limit(shown))
        return select(*counts), newest

    # Built once per combination of linking fields, read scopes and page size.
    signature = ";".join(
        f"{runtime.key}.{item.key}.{scope}"
        for (runtime, item, _), scope in zip(pairs, scopes, strict=True)
    )
    counted, newest = target.statement(f"reverse:{shown}:{signature}", build)
    departments = permissions.department_ids(session, user) if "department" in scopes else []
    params = {"me": user.id, "doc_id": doc_id, "departments": departments}
    found = session.execute(counted, params).one()
    groups = []
    for (runtime, item, _), count, first in zip(pairs, found, newest, strict=True):
        if not count:
            continue
        ids = list(session.scalars(first, params))
        names = titles(session, runtime, ids)
        groups.append(ReverseGroup(runtime, item, count, [(i, names.get(i, f"#{i}")) for i in ids]))
    return groups


# Ad-hoc links ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownLink:
    """An ad-hoc link as one card shows it: the other document and the kind from this side."""

    id: int
    label: str
    stream: StreamRuntime
    doc_id: int
    title: str
    outgoing: bool


def _alive(session: Session, runtime: StreamRuntime, doc_id: int) -> bool:
    table = runtime.compiled.table
    found = session.scalar(
        select(table.c.id).where(table.c.id == doc_id, table.c.deleted == false())
    )
    return found is not None


def _readable_ids(
    session: Session, user: CurrentUser, runtime: StreamRuntime, ids: Iterable[int]
) -> set[int]:
    table = runtime.compiled.table
    return set(
        session.scalars(
            select(table.c.id).where(
                table.c.id.in_(sorted(set(ids))),
                table.c.deleted == false(),
                permissions.readable(session, user, runtime),
            )
        )
    )


def links_of(
    session: Session,
    user: CurrentUser,
    runtimes: Mapping[str, StreamRuntime],
    stream: str,
    doc_id: int,
) -> list[ShownLink]:
    """The ad-hoc links of a document, both ways, to documents the user may read (others
    are left out), oldest first."""
    rows = list(
        session.scalars(
            select(DocumentLink)
            .where(
                or_(
                    and_(DocumentLink.from_stream == stream, DocumentLink.from_id == doc_id),
                    and_(DocumentLink.to_stream == stream, DocumentLink.to_id == doc_id),
                )
            )
            .order_by(DocumentLink.id)
            .limit(MAX_LINKS_SHOWN)
        )
    )
    others: dict[str, set[int]] = {}
    for row in rows:
        outgoing = row.from_stream == stream and row.from_id == doc_id
        other_stream, other_id = (
            (row.to_stream, row.to_id) if outgoing else (row.from_stream, row.from_id)
        )
        others.setdefault(other_stream, set()).add(other_id)
    names: dict[tuple[str, int], str] = {}
    for key, ids in others.items():
        runtime = runtimes.get(key)
        if runtime is None:
            continue
        visible = _readable_ids(session, user, runtime, ids)
        for other_id, title in titles(session, runtime, visible).items():
            names[(key, other_id)] = title
    shown = []
    for row in rows:
        outgoing = row.from_stream == stream and row.from_id == doc_id
        other_stream, other_id = (
            (row.to_stream, row.to_id) if outgoing else (row.from_stream, row.from_id)
        )
        if (other_stream, other_id) not in names:
            continue
        kind = KINDS.get(row.kind, KINDS["related"])
        shown.append(
            ShownLink(
                id=row.id,
                label=kind.label if outgoing else kind.inverse,
                stream=runtimes[other_stream],
                doc_id=other_id,
                title=names[(other_stream, other_id)],
                outgoing=outgoing,
            )
        )
    return shown


def _record(
    session: Session,
    actor: Actor,
    now: datetime,
    action: str,
    link: DocumentLink,
    numbers: Mapping[tuple[str, int], str | None],
) -> None:
    """A history entry on both documents: ``{"link": {kind, direction, stream, id, number}}``."""
    ends = ((link.from_stream, link.from_id), (link.to_stream, link.to_id))
    for index, (stream, doc_id) in enumerate(ends):
        other = ends[1 - index]
        record_history(
            session,
            stream,
            doc_id,
            actor,
            now,
            action,
            {
                "link": {
                    "kind": link.kind,
                    "direction": "out" if index == 0 else "in",
                    "stream": other[0],
                    "id": other[1],
                    "number": numbers.get(other),
                }
            },
        )


def _number(session: Session, runtime: StreamRuntime, doc_id: int) -> str | None:
    table = runtime.compiled.table
    number: str | None = session.scalar(select(table.c.reg_number).where(table.c.id == doc_id))
    return number


def add(
    session: Session,
    user: CurrentUser,
    source: StreamRuntime,
    source_id: int,
    target: StreamRuntime,
    target_id: int,
    kind: str,
    *,
    actor: Actor,
    now: datetime,
) -> DocumentLink:
    """Link ``source_id`` to ``target_id``. The user must be able to edit the source (else
    :class:`NotFound` / :class:`PermissionDenied`) and read the target (else
    :class:`LinkRefused`, as for any wrong choice)."""
    if not permissions.can(session, user, source, "read", source_id) or not _alive(
        session, source, source_id
    ):
        raise NotFound()
    if not permissions.can(session, user, source, "edit", source_id):
        raise PermissionDenied()
    if kind not in KINDS:
        raise LinkRefused(N_("Choose a kind of link from the list."))
    if not (
        permissions.can(session, user, target, "read", target_id)
        and _alive(session, target, target_id)
    ):
        raise LinkRefused(N_("Choose a document from the list."))
    if (source.key, source_id) == (target.key, target_id):
        raise LinkRefused(N_("A document cannot be linked to itself."))
    pair = or_(
        and_(
            DocumentLink.from_stream == source.key,
            DocumentLink.from_id == source_id,
            DocumentLink.to_stream == target.key,
            DocumentLink.to_id == target_id,
        ),
        and_(
            DocumentLink.from_stream == target.key,
            DocumentLink.from_id == target_id,
            DocumentLink.to_stream == source.key,
            DocumentLink.to_id == source_id,
        ),
    )
    if session.scalar(select(DocumentLink.id).where(pair, DocumentLink.kind == kind)):
        raise LinkRefused(N_("These documents are already linked this way."))
    link = DocumentLink(
        from_stream=source.key,
        from_id=source_id,
        to_stream=target.key,
        to_id=target_id,
        kind=kind,
        created_at=now,
        created_by_id=user.id,
    )
    try:
        with session.begin_nested():
            session.add(link)
            session.flush()
    except IntegrityError:  # the same link added at the same moment by someone else
        raise LinkRefused(N_("These documents are already linked this way.")) from None
    numbers = {
        (source.key, source_id): _number(session, source, source_id),
        (target.key, target_id): _number(session, target, target_id),
    }
    _record(session, actor, now, "link", link, numbers)
    return link


def remove(
    session: Session,
    user: CurrentUser,
    runtimes: Mapping[str, StreamRuntime],
    runtime: StreamRuntime,
    doc_id: int,
    link_id: int,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """Remove link ``link_id`` of document ``doc_id`` (which the caller has shown the user).
    A link of another document is :class:`NotFound`; without the right to edit either end,
    :class:`PermissionDenied`."""
    link = session.get(DocumentLink, link_id)
    if link is None or (runtime.key, doc_id) not in (
        (link.from_stream, link.from_id),
        (link.to_stream, link.to_id),
    ):
        raise NotFound()
    ends = ((link.from_stream, link.from_id), (link.to_stream, link.to_id))
    numbers: dict[tuple[str, int], str | None] = {}
    may_edit = False
    for stream, end_id in ends:
        end = runtimes.get(stream)
        if end is None:
            continue
        numbers[(stream, end_id)] = _number(session, end, end_id)
        may_edit = may_edit or permissions.can(session, user, end, "edit", end_id)
    if not may_edit:
        raise PermissionDenied()
    _record(session, actor, now, "unlink", link, numbers)
    session.delete(link)
    session.flush()


def describe(changes: Mapping[str, Any]) -> tuple[str, str, int, str | None] | None:
    """A history entry's link as (label, stream, id, number), for the history screen."""
    link = changes.get("link")
    if not isinstance(link, dict):
        return None
    kind = KINDS.get(str(link.get("kind")), KINDS["related"])
    label = kind.label if link.get("direction") == "out" else kind.inverse
    return label, str(link.get("stream")), int(link.get("id") or 0), link.get("number")
