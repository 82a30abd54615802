"""An administrator's hand on instances: retry one that needs attention, cancel one, read
its timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from potok.platform.audit import Actor
from potok.platform.models import RouteEvent, RouteInstance, RouteTimer, RouteToken
from potok.runtime.routing.context import Env, Step, step_for
from potok.runtime.routing.engine import finish, guarded, live_tokens, move
from potok.runtime.routing.errors import RouteNotRunning
from potok.runtime.routing.steps import first_positions, open_tasks
from potok.runtime.routing.tasks import current_tasks, evaluate


def retry(
    session: Session, env: Env, instance_id: int, actor: Actor, *, now: datetime
) -> RouteInstance:
    """Move an instance that needs attention on from where it stopped (after the cause —
    an empty role, a missing value — is fixed); it needs attention again if it still fails."""
    step = step_for(session, env, instance_id, actor, now, running=False)
    if step.instance.status != "needs_attention":
        raise RouteNotRunning()
    step.instance.status = "running"
    step.instance.error = None
    step.event("retried")
    guarded(step, lambda: _resume_all(step))
    return step.instance


def _resume_all(step: Step) -> None:
    for token in live_tokens(step):
        node = step.route.nodes.get(token.node)
        if node is None or token.status != "active":
            continue
        if node.type in ("assignment", "approval"):
            if current_tasks(step, token):
                evaluate(step, token, node)
            else:
                open_tasks(step, token, node, first_positions(node))
        elif node.type == "wait":
            fired = step.session.scalar(
                select(RouteTimer.id).where(
                    RouteTimer.token_id == token.id, RouteTimer.fired_at.is_not(None)
                )
            )
            if fired is not None:
                move(step, token, next(e for e in step.route.outgoing(node.key) if e.on is None))
        else:
            move(step, token, next(e for e in step.route.outgoing(node.key) if e.on is None))


def cancel(
    session: Session, env: Env, instance_id: int, actor: Actor, *, now: datetime
) -> RouteInstance:
    step = step_for(session, env, instance_id, actor, now, running=False)
    if step.instance.status not in ("running", "needs_attention"):
        raise RouteNotRunning()
    finish(step, "cancelled")
    step.instance.status = "cancelled"
    return step.instance


def timeline(session: Session, instance_id: int) -> list[RouteEvent]:
    return list(
        session.scalars(
            select(RouteEvent).where(RouteEvent.instance_id == instance_id).order_by(RouteEvent.id)
        )
    )


def instances_of(session: Session, stream: str, doc_id: int) -> list[RouteInstance]:
    return list(
        session.scalars(
            select(RouteInstance)
            .where(RouteInstance.stream == stream, RouteInstance.doc_id == doc_id)
            .order_by(RouteInstance.id)
        )
    )


def tokens_of(session: Session, instance_id: int) -> list[RouteToken]:
    return list(
        session.scalars(
            select(RouteToken).where(RouteToken.instance_id == instance_id).order_by(RouteToken.id)
        )
    )
