"""Sweeping the timers: reminders before deadlines, overdue notices, the end of waits.

:func:`sweep_timers` runs from the scheduler (any number of times, from any process): each
due timer is claimed with an ``UPDATE … WHERE fired_at IS NULL`` that only one sweep can win,
so a reminder is sent once even when two sweeps overlap or a sweep is repeated. Notices go
through the mail outbox in the same transaction. A wait resumes its branch as a transition
of its instance (locked, a run-time error leaving the instance needing attention).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from potok.errors import N_
from potok.platform import mail
from potok.platform.audit import Actor
from potok.platform.models import RouteTask, RouteTimer, RouteToken, User
from potok.runtime.routing.context import Env, step_for
from potok.runtime.routing.engine import guarded, move

BATCH = 500

REMINDER_SUBJECT = N_("Reminder: a task is due %(deadline)s")
REMINDER_TEXT = N_("Your task at step %(step)s of document %(document)s is due %(deadline)s.")
OVERDUE_SUBJECT = N_("Overdue: a task was due %(deadline)s")
OVERDUE_TEXT = N_(
    "The task of %(user)s at step %(step)s of document %(document)s was due %(deadline)s "
    "and is not done."
)


@dataclass(frozen=True)
class Fired:
    timer_id: int
    kind: str
    task_id: int | None = None
    token_id: int | None = None


def sweep_timers(session: Session, env: Env, *, now: datetime) -> list[Fired]:
    """Fire every due timer once; returns what fired."""
    due = list(
        session.scalars(
            select(RouteTimer)
            .where(
                RouteTimer.fired_at.is_(None),
                RouteTimer.cancelled_at.is_(None),
                RouteTimer.due_at <= now,
            )
            .order_by(RouteTimer.due_at, RouteTimer.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    fired: list[Fired] = []
    for timer in due:
        claimed = session.execute(
            update(RouteTimer)
            .where(
                RouteTimer.id == timer.id,
                RouteTimer.fired_at.is_(None),
                RouteTimer.cancelled_at.is_(None),  # e.g. by a wait that resumed just before
            )
            .values(fired_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            continue
        if timer.kind == "wait":
            _resume(session, env, timer, now)
        else:
            _notify(session, env, timer, now)
        fired.append(Fired(timer.id, timer.kind, timer.task_id, timer.token_id))
    return fired


def _resume(session: Session, env: Env, timer: RouteTimer, now: datetime) -> None:
    step = step_for(session, env, timer.instance_id, Actor.system(), now, running=False)
    token = session.get(RouteToken, timer.token_id) if timer.token_id else None
    if step.instance.status != "running" or token is None or token.status != "active":
        return
    edge = next(e for e in step.route.outgoing(token.node) if e.on is None)
    step.event("resumed", token.node)
    guarded(step, lambda: move(step, token, edge))


def _notify(session: Session, env: Env, timer: RouteTimer, now: datetime) -> None:
    task = session.get(RouteTask, timer.task_id) if timer.task_id else None
    if task is None or task.status not in ("open", "delegated"):
        return
    step = step_for(session, env, task.instance_id, Actor.system(), now, running=False)
    node = step.route.nodes.get(task.node)
    recipients = [task.assignee_id]
    if timer.kind == "overdue" and task.controller_id is not None:
        recipients.append(task.controller_id)
    assignee = session.get(User, task.assignee_id)
    for user_id in dict.fromkeys(recipients):
        user = session.get(User, user_id)
        if user is None or not user.email or not user.is_active:
            continue
        translate = env.catalogs.translator(user.language) if env.catalogs else None
        params = {
            "deadline": task.deadline,
            "step": node.label(translate.language if translate else "en") if node else task.node,
            "document": f"{step.instance.stream} #{step.instance.doc_id}",
            "user": assignee.display_name if assignee else "",
        }
        subject, text = (
            (REMINDER_SUBJECT, REMINDER_TEXT)
            if timer.kind == "reminder"
            else (OVERDUE_SUBJECT, OVERDUE_TEXT)
        )
        mail.queue(
            session,
            to=[user.email],
            subject=translate.format(subject, params) if translate else subject % params,
            text=translate.format(text, params) if translate else text % params,
            now=now,
        )
    step.event(timer.kind, task.node, task=task)
