"""What hangs on a document besides its fields — comments, files, ad-hoc links, shares, a
route.

Most documents have none of these. A card asks once, in one query, which of them a document
has, and reads only those; the panels of the others are drawn empty without a query.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, exists, false, select
from sqlalchemy.orm import Session

from potok.platform.models import RouteInstance
from potok.runtime.tables import Comment, DocumentFile, DocumentLink, Share

EVERYTHING = frozenset({"comments", "files", "links", "shares", "route"})


def _present_statement() -> Select[*tuple[Any, ...]]:
    stream: BindParameter[str] = bindparam("stream")
    doc_id: BindParameter[int] = bindparam("doc_id")
    checks = {
        "comments": exists().where(
            Comment.stream == stream, Comment.doc_id == doc_id, Comment.deleted == false()
        ),
        "files": exists().where(DocumentFile.stream == stream, DocumentFile.doc_id == doc_id),
        "links_out": exists().where(
            DocumentLink.from_stream == stream, DocumentLink.from_id == doc_id
        ),
        "links_in": exists().where(DocumentLink.to_stream == stream, DocumentLink.to_id == doc_id),
        "shares": exists().where(Share.stream == stream, Share.doc_id == doc_id),
        "route": exists().where(RouteInstance.stream == stream, RouteInstance.doc_id == doc_id),
    }
    found: Select[*tuple[Any, ...]] = select(*(check.label(name) for name, check in checks.items()))
    return found


# Built once: every card asks it, and building the statement cost more than running it.
_PRESENT = _present_statement()


def present(session: Session, stream: str, doc_id: int) -> frozenset[str]:
    """The kinds of extras (a subset of :data:`EVERYTHING`) the document has."""
    row = session.execute(_PRESENT, {"stream": stream, "doc_id": doc_id}).one()
    found = {name for name, value in row._mapping.items() if value}
    if found & {"links_out", "links_in"}:
        found.add("links")
    return frozenset(found) & EVERYTHING
