"""The audit log: who did what, when and from where.

Every login, failed login, logout and administrative change is written here in the same
transaction as the change itself, so the log and the data cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from potok.errors import N_
from potok.platform.models import AuditEntry

# How the audit log names actions and objects; other packages add theirs through
# ``PackageParts.audit_labels``. Codes without a label are shown as they are.
ACTION_LABELS: dict[str, str] = {
    "login": N_("Logged in"),
    "login.failed": N_("Failed login"),
    "logout": N_("Logged out"),
    "session.end": N_("Ended a session"),
    "user.create": N_("Created a user"),
    "user.update": N_("Changed a user"),
    "user.password": N_("Changed a password"),
    "user.sessions_ended": N_("Ended a user's sessions"),
    "role.create": N_("Created a role"),
    "role.update": N_("Changed a role"),
    "role.delete": N_("Deleted a role"),
    "department.create": N_("Created a department"),
    "department.update": N_("Changed a department"),
    "department.delete": N_("Deleted a department"),
    "deputy.create": N_("Assigned a deputy"),
    "deputy.delete": N_("Removed a deputy"),
    "mail.test": N_("Sent a test e-mail"),
    "object.user": N_("user"),
    "object.role": N_("role"),
    "object.department": N_("department"),
    "object.deputy": N_("deputy"),
    "actor.system": N_("system"),
    "actor.cli": N_("command line"),
    "field.username": N_("Username"),
    "field.full_name": N_("Full name"),
    "field.email": N_("E-mail"),
    "field.language": N_("Interface language"),
    "field.department": N_("Department"),
    "field.roles": N_("Roles"),
    "field.active": N_("Active"),
    "field.password": N_("Password"),
    "field.key": N_("Key"),
    "field.labels": N_("Names"),
    "field.description": N_("Description"),
    "field.capabilities": N_("Capabilities"),
    "field.name": N_("Department name"),
    "field.code": N_("Code"),
    "field.parent": N_("Part of"),
    "field.head": N_("Head"),
    "field.position": N_("Order among siblings"),
    "field.reason": N_("Reason"),
    "field.starts_on": N_("First day"),
    "field.ends_on": N_("Last day"),
    "field.recipient": N_("Recipient"),
    "field.count": N_("Count"),
    "field.members_moved_out": N_("People moved out"),
    "field.values": N_("Values"),
    "field.cause": N_("Cause"),
    "cause.wrong_credentials": N_("wrong username or password"),
    "cause.disabled": N_("the account is disabled"),
}


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
