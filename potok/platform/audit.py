"""The audit log: who did what, when and from where.

Every login, failed login, logout and administrative change is written here in the same
transaction as the change itself, so the log and the data cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from potok.platform.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who is acting, for the audit log: a user (or nobody, for an anonymous request)."""

    user_id: int | None
    username: str
    ip: str = ""

    @classmethod
    def system(cls) -> Actor:
        return cls(None, "system", "")


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    at: datetime,
    object_type: str = "",
    object_id: object = "",
    object_label: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=at,
        actor_id=actor.user_id,
        actor_name=actor.username[:64],
        ip=actor.ip[:64],
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id not in (None, "") else "",
        object_label=object_label[:200],
        details=details or {},
    )
    session.add(entry)
    return entry


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Field -> [old, new] for every field whose value differs."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
