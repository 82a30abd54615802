"""Logging in and out: password check, throttling, server-side sessions.

A session is a row in ``user_sessions`` keyed by the SHA-256 of a random token that only
the browser's cookie holds, so a stolen database does not yield live sessions. Sessions end
after ``POTOK_SESSION_IDLE_MINUTES`` without use or ``POTOK_SESSION_MAX_HOURS`` after login,
on logout, when an administrator ends them, and when the user is disabled or changes the
password.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Result, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from potok.errors import N_, TooManyRequests, ValidationFailed
from potok.platform import audit, passwords
from potok.platform.audit import Actor
from potok.platform.capabilities import CapabilityRegistry
from potok.platform.models import LoginAttempt, Role, User, UserSession, user_roles

SESSION_COOKIE = "potok_session"
THROTTLE_WINDOW = timedelta(minutes=10)
THROTTLE_MAX_FAILURES = 10
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class CurrentUser:
    """The logged-in user as a request sees it: plain values, safe to pass between threads."""

    id: int
    username: str
    full_name: str
    email: str | None
    language: str | None
    department_id: int | None
    capabilities: frozenset[str]
    session_id: str
    roles: frozenset[str] = frozenset()
    superuser: bool = False  # holds a role that may do everything (the built-in admin)

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def actor(self, ip: str = "") -> Actor:
        return Actor(self.id, self.username, ip)


@dataclass(frozen=True)
class SessionTimeouts:
    idle: timedelta
    absolute: timedelta


def _rowcount(result: Result[Any]) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def capabilities_of(roles: Iterable[Any], registry: CapabilityRegistry) -> frozenset[str]:
    """What roles (anything with ``capabilities`` and ``all_capabilities``) allow together."""
    roles = list(roles)
    if any(role.all_capabilities for role in roles):
        return frozenset(registry.keys())
    granted = {key for role in roles for key in role.capabilities}
    return frozenset(key for key in granted if key in registry)


def start_session(session: Session, user: User, *, ip: str, user_agent: str, now: datetime) -> str:
    """Open a session for ``user``; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            id=token_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            ip=ip[:64],
            user_agent=user_agent[:300],
        )
    )
    return token


@dataclass(frozen=True)
class SessionLookup:
    user: CurrentUser | None
    expired: bool = False
    touch: bool = False


_SESSION_OWNER = (
    select(
        UserSession.id,
        UserSession.created_at,
        UserSession.last_seen_at,
        UserSession.revoked_at,
        User.id,
        User.username,
        User.full_name,
        User.email,
        User.language,
        User.department_id,
        User.is_active,
    )
    .join(User, User.id == UserSession.user_id)
    .where(UserSession.id == bindparam("digest"))
)
_ROLES_OF = (
    select(Role.key, Role.capabilities, Role.all_capabilities)
    .join(user_roles, user_roles.c.role_id == Role.id)
    .where(user_roles.c.user_id == bindparam("user_id"))
)


def find_session(
    session: Session,
    token: str,
    *,
    now: datetime,
    timeouts: SessionTimeouts,
    registry: CapabilityRegistry,
) -> SessionLookup:
    """Who a session cookie belongs to. ``expired`` tells a timed-out or revoked session from
    a cookie that never matched; ``touch`` says ``last_seen_at`` is due for an update."""
    # Plain columns, not ORM objects, and statements built once: this runs on every request.
    row = session.execute(_SESSION_OWNER, {"digest": token_digest(token)}).first()
    if row is None:
        return SessionLookup(None)
    session_id, created_at, last_seen_at, revoked_at, user_id = row[:5]
    if (
        revoked_at is not None
        or not row.is_active
        or now - last_seen_at > timeouts.idle
        or now - created_at > timeouts.absolute
    ):
        return SessionLookup(None, expired=True)
    roles = session.execute(_ROLES_OF, {"user_id": user_id}).all()
    current = CurrentUser(
        id=user_id,
        username=row.username,
        full_name=row.full_name,
        email=row.email,
        language=row.language,
        department_id=row.department_id,
        capabilities=capabilities_of(roles, registry),
        session_id=session_id,
        roles=frozenset(role.key for role in roles),
        superuser=any(role.all_capabilities for role in roles),
    )
    return SessionLookup(current, touch=now - last_seen_at > LAST_SEEN_RESOLUTION)


def touch_session(session: Session, session_id: str, now: datetime) -> None:
    session.execute(
        update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now)
    )


def end_session(session: Session, session_id: str, *, now: datetime, reason: str) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


def end_user_sessions(
    session: Session,
    user_id: int,
    *,
    now: datetime,
    reason: str,
    keep: str | None = None,
) -> int:
    """End every open session of a user (but ``keep``); returns how many were ended."""
    statement = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    if keep is not None:
        statement = statement.where(UserSession.id != keep)
    return _rowcount(session.execute(statement))


def open_sessions(
    session: Session, user_id: int, *, now: datetime, timeouts: SessionTimeouts
) -> list[UserSession]:
    return list(
        session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.last_seen_at > now - timeouts.idle,
                UserSession.created_at > now - timeouts.absolute,
            )
            .order_by(UserSession.last_seen_at.desc())
        )
    )


def purge_sessions(session: Session, *, now: datetime, timeouts: SessionTimeouts) -> int:
    """Delete sessions that can no longer be used, and login attempts past the window."""
    horizon = now - timedelta(days=30)
    removed = session.execute(
        delete(UserSession).where(
            or_(
                UserSession.revoked_at < horizon,
                UserSession.last_seen_at < now - timeouts.idle - timedelta(days=30),
                UserSession.created_at < now - timeouts.absolute - timedelta(days=30),
            )
        )
    )
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < horizon))
    return _rowcount(removed)


def _throttled_until(session: Session, username: str, ip: str, now: datetime) -> datetime | None:
    since = now - THROTTLE_WINDOW
    last_success = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(True)
        )
    )
    user_since = max(since, last_success) if last_success else since
    for condition, start in (
        (LoginAttempt.username == username, user_since),
        (LoginAttempt.ip == ip, since),
    ):
        failures = list(
            session.scalars(
                select(LoginAttempt.at)
                .where(condition, LoginAttempt.success.is_(False), LoginAttempt.at > start)
                .order_by(LoginAttempt.at.desc())
                .limit(THROTTLE_MAX_FAILURES)
            )
        )
        if len(failures) >= THROTTLE_MAX_FAILURES:
            return failures[-1] + THROTTLE_WINDOW
    return None


class LoginThrottled(TooManyRequests):
    message = N_(
        "Too many failed login attempts. For your security, logging in is paused until %(time)s."
    )

    def __init__(self, until: datetime) -> None:
        self.until = until
        super().__init__(params={"time": until})


INVALID_CREDENTIALS = N_("The username or password is not correct.")
ACCOUNT_DISABLED = N_("This account is disabled. Ask your administrator to enable it.")


def authenticate(session: Session, username: str, password: str, *, ip: str, now: datetime) -> User:
    """The user with these credentials. Every attempt is recorded (and audited); raises
    :class:`LoginThrottled` after too many failures and :class:`ValidationFailed` for wrong
    credentials or a disabled account. The caller must commit even when this raises."""
    username = username.strip().lower()[:64]
    if not username or not password:
        raise ValidationFailed(INVALID_CREDENTIALS)
    until = _throttled_until(session, username, ip, now)
    if until is not None:
        raise LoginThrottled(until)
    user = session.scalar(select(User).where(User.username == username))
    valid = passwords.verify_password(user.password_hash if user else None, password)
    ok = bool(user and valid and user.is_active and not user.is_system)
    session.add(LoginAttempt(at=now, username=username, ip=ip[:64], success=ok))
    actor = Actor(user.id if user else None, username, ip)
    if not ok:
        cause = "disabled" if user and valid else "wrong_credentials"
        audit.record(
            session,
            actor,
            "login.failed",
            at=now,
            object_type="user",
            object_id=user.id if user else "",
            object_label=username,
            details={"cause": cause},
        )
        raise ValidationFailed(ACCOUNT_DISABLED if cause == "disabled" else INVALID_CREDENTIALS)
    if user is None:  # unreachable: ok implies a user; keeps the type checker informed
        raise ValidationFailed(INVALID_CREDENTIALS)
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = now
    audit.record(
        session,
        actor,
        "login",
        at=now,
        object_type="user",
        object_id=user.id,
        object_label=user.username,
    )
    return user
