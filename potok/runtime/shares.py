"""Sharing a document with one more user, who may then read it (see
:func:`potok.runtime.permissions.readable`). Who may share is the caller's check (the right
to edit the document); here: the user must exist, be active and not have it already."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from potok.errors import N_, NotFound, ValidationFailed
from potok.platform.audit import Actor
from potok.platform.models import User
from potok.runtime.documents import record_history
from potok.runtime.tables import Share

MAX_USERS = 1000


class ShareRefused(ValidationFailed):
    """A share that cannot be added; the message says why."""


@dataclass(frozen=True)
class Shared:
    user_id: int
    name: str
    at: datetime


def shares_of(session: Session, stream: str, doc_id: int) -> list[Shared]:
    rows = session.execute(
        select(Share.user_id, User.full_name, User.username, Share.at)
        .join(User, User.id == Share.user_id)
        .where(Share.stream == stream, Share.doc_id == doc_id)
        .order_by(Share.at, Share.user_id)
    )
    return [Shared(row[0], row[1] or row[2], row[3]) for row in rows]


def candidates(session: Session, exclude: set[int]) -> list[tuple[int, str]]:
    """Active people to share with (not system users, not those in ``exclude``), by name."""
    rows = session.execute(
        select(User.id, User.full_name, User.username)
        .where(User.is_active.is_(True), User.is_system == false())
        .order_by(User.full_name, User.username)
        .limit(MAX_USERS)
    )
    return [(row[0], row[1] or row[2]) for row in rows if row[0] not in exclude]


def grant(
    session: Session, stream: str, doc_id: int, user_id: int, *, actor: Actor, now: datetime
) -> Share:
    person = session.get(User, user_id)
    if person is None or not person.is_active or person.is_system:
        raise ShareRefused(N_("Choose a person from the list."))
    if person.id == actor.user_id:
        raise ShareRefused(N_("You can already open this document."))
    if session.get(Share, (stream, doc_id, user_id)) is not None:
        raise ShareRefused(
            N_("The document is already shared with %(name)s."),
            params={"name": person.display_name},
        )
    share = Share(
        stream=stream, doc_id=doc_id, user_id=user_id, granted_by_id=actor.user_id, at=now
    )
    try:
        with session.begin_nested():
            session.add(share)
            session.flush()
    except IntegrityError:  # shared with them at the same moment by someone else
        raise ShareRefused(
            N_("The document is already shared with %(name)s."),
            params={"name": person.display_name},
        ) from None
    record_history(
        session, stream, doc_id, actor, now, "share", {"share": {"user": person.display_name}}
    )
    return share


def revoke(
    session: Session, stream: str, doc_id: int, user_id: int, *, actor: Actor, now: datetime
) -> None:
    person = session.get(User, user_id)
    done = session.execute(
        delete(Share).where(
            Share.stream == stream, Share.doc_id == doc_id, Share.user_id == user_id
        )
    )
    if done.rowcount != 1 or person is None:  # type: ignore[attr-defined]
        raise NotFound()
    record_history(
        session, stream, doc_id, actor, now, "unshare", {"share": {"user": person.display_name}}
    )
