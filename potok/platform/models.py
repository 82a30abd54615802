"""System tables owned by the platform: accounts, organisation, sessions, audit, mail.

Times are stored as naive UTC (``platform.clock.utcnow``) on both databases; they are shown
in ``POTOK_TIMEZONE``. Every change to these tables goes through an Alembic migration in
``platform/migrations/versions``; a test checks the models and the migrations agree.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


user_roles = Table(
    "user_roles",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(8))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL", use_alter=True), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)

    roles: Mapped[list[Role]] = relationship(secondary=user_roles, order_by="Role.key")
    department: Mapped[Department | None] = relationship(foreign_keys=[department_id])

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    capabilities: Mapped[list[Any]] = mapped_column(JSON, default=list)
    all_capabilities: Mapped[bool] = mapped_column(Boolean, default=False)
    is_builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    def label(self, language: str) -> str:
        """The name in ``language``, else in the other language, else the key."""
        for candidate in (language, "en", "ru"):
            if self.labels.get(candidate):
                return str(self.labels[candidate])
        return self.key


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    head_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    head: Mapped[User | None] = relationship(foreign_keys=[head_id])
    parent: Mapped[Department | None] = relationship(remote_side="Department.id")


class Deputy(Base):
    """User ``deputy`` acts for the absent user ``principal`` from ``starts_on`` to ``ends_on``."""

    __tablename__ = "deputies"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    deputy_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    principal: Mapped[User] = relationship(foreign_keys=[principal_id])
    deputy: Mapped[User] = relationship(foreign_keys=[deputy_id])

    __table_args__ = (Index("ix_deputies_principal_dates", "principal_id", "starts_on", "ends_on"),)


class UserSession(Base):
    """A login. The cookie holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    object_label: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)


class OutgoingMail(Base):
    """The mail outbox: mail is queued in the same transaction as what caused it and sent by
    the scheduler, so a failing mail server never loses a message or blocks a request."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    recipients: Mapped[list[Any]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class SystemState(Base):
    """Small facts about this installation, e.g. when it was first initialised."""

    __tablename__ = "system_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


# The route engine's state (interpreted by potok.runtime.routing) ------------------------------


class WorkCalendarDay(Base):
    """A holiday (``working`` false) or a weekend day worked (``working`` true)."""

    __tablename__ = "work_calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")


class RouteInstance(Base):
    """One run of a route over one document, on the route version it started with.
    ``version`` counts transitions: each one locks the row and bumps it."""

    __tablename__ = "route_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(40))
    doc_id: Mapped[int] = mapped_column(Integer)
    route: Mapped[str] = mapped_column(String(40))
    route_version_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)  # running/finished/…
    outcome: Mapped[str | None] = mapped_column(String(20))  # completed/rejected/refused
    error: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("ix_route_instances_doc", "stream", "doc_id"),)


class RouteToken(Base):
    """Where a branch of an instance is: ``active`` at a step in progress, ``waiting`` at a
    join for the other branches (``arrived_from``: the step it came from), ``consumed``."""

    __tablename__ = "route_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("route_instances.id", ondelete="CASCADE"))
    node: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(16))
    arrived_from: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_route_tokens_instance", "instance_id", "status"),)


class RouteTask(Base):
    """A person's task at a human step. ``original_assignee_id``: the absent user a deputy
    acts for; ``parent_id``: the task a delegated one returns to; ``pool_role``: the role a
    supervisor picks the executor from. ``key`` makes creating a task idempotent."""

    __tablename__ = "route_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("route_instances.id", ondelete="CASCADE"))
    token_id: Mapped[int] = mapped_column(ForeignKey("route_tokens.id", ondelete="CASCADE"))
    node: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(16))  # assignment/approval/revision/delegated
    position: Mapped[int] = mapped_column(Integer, default=0)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    original_assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("route_tasks.id", ondelete="CASCADE"))
    pool_role: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # open/done/refused/cancelled/delegated
    decision: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    delay_reason: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[datetime | None] = mapped_column(DateTime)
    controller_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    key: Mapped[str] = mapped_column(String(120), unique=True)

    __table_args__ = (
        Index("ix_route_tasks_assignee", "assignee_id", "status"),
        Index("ix_route_tasks_instance", "instance_id", "status"),
        Index("ix_route_tasks_original", "original_assignee_id", "status"),
        Index("ix_route_tasks_controller", "controller_id", "status"),
        Index("ix_route_tasks_decided", "decided_by_id", "decided_at", "id"),
        Index("ix_route_tasks_token", "token_id", "parent_id"),
    )


class RouteTimer(Base):
    """A reminder, an overdue notice or the end of a wait, swept by the scheduler; ``key`` is
    unique and ``fired_at`` set once, so a timer fires once."""

    __tablename__ = "route_timers"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("route_instances.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # reminder/overdue/wait
    due_at: Mapped[datetime] = mapped_column(DateTime)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("route_tasks.id", ondelete="CASCADE"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("route_tokens.id", ondelete="CASCADE"))
    fired_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    key: Mapped[str] = mapped_column(String(120), unique=True)

    __table_args__ = (
        Index("ix_route_timers_due", "fired_at", "cancelled_at", "due_at"),
        Index("ix_route_timers_task", "task_id"),
        Index("ix_route_timers_token", "token_id"),
    )


class RouteEvent(Base):
    """The timeline of an instance: who did what at which step, when."""

    __tablename__ = "route_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("route_instances.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    node: Mapped[str | None] = mapped_column(String(30))
    task_id: Mapped[int | None] = mapped_column(Integer)
    what: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    delay_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_route_events_instance", "instance_id", "id"),)


class Notification(Base):
    """An in-app notice to one person, written in the transaction of the route transition
    that causes it. ``text`` is a message id and ``params`` its values (a value may be a
    ``{"en": …, "ru": …}`` label), so it is shown in the reader's language."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    kind: Mapped[str] = mapped_column(String(32))
    stream: Mapped[str] = mapped_column(String(40))
    doc_id: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("route_tasks.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_notifications_user", "user_id", "read_at", "id"),)
