"""The administration overview, the audit log and the system page."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select
from starlette.responses import Response

from potok.errors import N_, PermissionDenied
from potok.platform import accounts, audit, mail
from potok.platform.capabilities import AUDIT, SYSTEM, USERS
from potok.platform.models import AuditEntry, Department, Deputy, OutgoingMail, Role, User
from potok.platform.web.context import Ctx, endpoint

AUDIT_PAGE = 50


@endpoint()
def index(ctx: Ctx) -> Response:
    if not any(ctx.me.can(capability) for capability in (USERS, AUDIT, SYSTEM)):
        raise PermissionDenied()

    def count(model: Any, *where: Any) -> int:
        return int(ctx.db.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    today = ctx.t.local(ctx.now).date()
    counts = {
        "users": count(User, User.is_system.is_(False), User.is_active.is_(True)),
        "roles": count(Role),
        "departments": count(Department),
        "deputies": count(Deputy, Deputy.ends_on >= today),
        "audit_today": count(AuditEntry, AuditEntry.at >= ctx.now - timedelta(days=1)),
        "mail_failed": count(OutgoingMail, OutgoingMail.status == "failed"),
    }
    return ctx.render("platform/admin/index.html", {"counts": counts})


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@endpoint(capability=AUDIT)
def audit_log(ctx: Ctx) -> Response:
    params = ctx.request.query_params
    filters = {
        "action": params.get("action", "")[:64],
        "actor": params.get("actor", "").strip()[:64],
        "since": params.get("since", "")[:10],
        "until": params.get("until", "")[:10],
    }
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE + 1)
    if filters["action"]:
        statement = statement.where(AuditEntry.action == filters["action"])
    if filters["actor"]:
        statement = statement.where(AuditEntry.actor_name == filters["actor"].lower())
    since, until = _parse_day(filters["since"]), _parse_day(filters["until"])
    start = _day_start(since, 0, ctx.t.tz) if since else None
    if start is not None:
        statement = statement.where(AuditEntry.at >= start)
    end = _day_start(until, 1, ctx.t.tz) if until else None
    if end is not None:
        statement = statement.where(AuditEntry.at < end)
    before = accounts.parse_id(params.get("before", ""))
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    entries = list(ctx.db.scalars(statement))
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    actions = list(ctx.db.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
    return ctx.render(
        "platform/admin/audit.html",
        {
            "entries": entries,
            "filters": filters,
            "actions": actions,
            "labels": ctx.services.audit_labels,
            "next_before": entries[-1].id if more and entries else None,
        },
        fragment="platform/admin/_audit_rows.html",
    )


def _day_start(day: date, days_later: int, tz: tzinfo) -> datetime | None:
    """The start of ``day`` (plus ``days_later``) in ``tz`` as naive UTC, or None (no bound)
    when that moment is outside what ``datetime`` holds, e.g. the day after 9999-12-31."""
    try:
        start = datetime.combine(day + timedelta(days=days_later), time.min, tzinfo=tz)
        return start.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        return None


def _system_page(
    ctx: Ctx, *, test_to: str = "", error: str | None = None, status: int = 200
) -> Response:
    statuses = dict(
        ctx.db.execute(
            select(OutgoingMail.status, func.count()).group_by(OutgoingMail.status)
        ).all()
    )
    recent = list(ctx.db.scalars(select(OutgoingMail).order_by(OutgoingMail.id.desc()).limit(20)))
    return ctx.render(
        "platform/admin/system.html",
        {
            "settings_rows": ctx.services.settings.describe(),
            "database": ctx.services.db.dialect,
            "mail_statuses": statuses,
            "recent_mail": recent,
            "smtp_configured": bool(ctx.services.settings.smtp_url),
            "test_to": test_to or (ctx.me.email or ""),
            "test_error": error,
            "scheduler_on": ctx.services.settings.scheduler,
        },
        status=status,
    )


@endpoint(capability=SYSTEM)
def system(ctx: Ctx) -> Response:
    return _system_page(ctx)


@endpoint(capability=SYSTEM)
def send_test_mail(ctx: Ctx) -> Response:
    to = str(ctx.form.get("to", "")).strip()
    if not accounts.EMAIL_RE.match(to) or len(to) > 254:
        message = ctx.t.gettext(N_("Enter an e-mail address like name@example.com."))
        return _system_page(ctx, test_to=to, error=message, status=400)
    mail.queue(
        ctx.db,
        to=[to],
        subject=ctx.t.gettext(N_("Potok test message")),
        text=ctx.t.gettext(
            N_("This is a test message from Potok. If you can read it, outgoing mail works.")
        ),
        now=ctx.now,
    )
    audit.record(ctx.db, ctx.actor, "mail.test", at=ctx.now, details={"recipient": to})
    ctx.flash(
        N_("A test message to %(to)s is in the outbox; it goes out within a minute."), {"to": to}
    )
    return ctx.redirect(ctx.url("admin:system"))
