"""Comments on a document: anyone who may read it may comment; authors may delete their own
comments (they are kept, marked deleted). Checking who may read is the caller's part."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from potok.errors import N_, NotFound, PermissionDenied, ValidationFailed
from potok.platform.auth import CurrentUser
from potok.runtime.tables import Comment

MAX_LENGTH = 5000
MAX_SHOWN = 500


class CommentRefused(ValidationFailed):
    """A comment that cannot be saved; ``field_errors["text"]`` says why."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message, params=params, field_errors={"text": message})


def clean(text: str) -> str:
    """The text as stored: line ends normalised, blank edges trimmed; refused when empty or
    longer than :data:`MAX_LENGTH`."""
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not cleaned:
        raise CommentRefused(N_("Write a comment first."))
    if len(cleaned) > MAX_LENGTH:
        raise CommentRefused(N_("A comment may be at most %(limit)s characters."), limit=MAX_LENGTH)
    return cleaned


def comments_of(session: Session, stream: str, doc_id: int) -> list[Comment]:
    """The document's comments that are not deleted, newest last (the latest ``MAX_SHOWN``)."""
    newest = list(
        session.scalars(
            select(Comment)
            .where(Comment.stream == stream, Comment.doc_id == doc_id, Comment.deleted == false())
            .order_by(Comment.id.desc())
            .limit(MAX_SHOWN)
        )
    )
    return newest[::-1]


def add(
    session: Session, user: CurrentUser, stream: str, doc_id: int, text: str, *, now: datetime
) -> Comment:
    comment = Comment(
        stream=stream,
        doc_id=doc_id,
        author_id=user.id,
        author_name=user.display_name[:200],
        at=now,
        text=clean(text),
        deleted=False,
    )
    session.add(comment)
    session.flush()
    return comment


def delete(session: Session, user: CurrentUser, stream: str, doc_id: int, comment_id: int) -> None:
    """Mark the user's own comment deleted; another document's comment is :class:`NotFound`,
    someone else's :class:`PermissionDenied`."""
    comment = session.get(Comment, comment_id)
    if comment is None or comment.deleted or (comment.stream, comment.doc_id) != (stream, doc_id):
        raise NotFound()
    if comment.author_id != user.id:
        raise PermissionDenied()
    comment.deleted = True
    session.flush()
