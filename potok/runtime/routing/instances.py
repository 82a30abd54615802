"""An administrator's hand on instances: retry one that needs attention, cancel one, move one
to a newer version of its route, read its timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from potok.errors import NotFound
from potok.metadata.routes import Route
from potok.metadata.tables import MetaVersion
from potok.platform.audit import Actor
from potok.platform.models import RouteEvent, RouteInstance, RouteTask, RouteTimer, RouteToken
from potok.runtime.routing.context import Env, Step, published_version, step_for
from potok.runtime.routing.engine import finish, guarded, live_tokens, move
from potok.runtime.routing.errors import (
    RouteNotRunning,
    RouteVersionCurrent,
    RouteVersionOlder,
    StepsMissingInVersion,
)
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
    step.writer.change(step.instance, status="running", error=None)
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
    step.writer.change(step.instance, status="cancelled")
    return step.instance


def migrate(
    session: Session,
    env: Env,
    instance_id: int,
    actor: Actor,
    *,
    now: datetime,
    to_version_id: int | None = None,
    language: str = "en",
) -> RouteInstance:
    """Move a running (or stopped) instance to the newest published version of its route,
    or to ``to_version_id``, a newer version of it. Refused, with nothing changed, when the
    instance is over, already on that version, or when a step it is at now — an active or
    waiting token, an open or delegated task — is missing from the new version or is of
    another kind there (the message names those steps in ``language``). Tokens, tasks and
    timers stay as they are; from now on the instance follows the new version's ways."""
    step = step_for(session, env, instance_id, actor, now, running=False)
    instance = step.instance
    if instance.status not in ("running", "needs_attention"):
        raise RouteNotRunning()
    if to_version_id is None:
        to_version_id = published_version(session, instance.route)
    numbers: dict[int, int] = dict(
        session.execute(
            select(MetaVersion.id, MetaVersion.version).where(
                MetaVersion.id.in_((instance.route_version_id, to_version_id)),
                MetaVersion.kind == "route",
                MetaVersion.key == instance.route,
            )
        ).all()
    )
    if to_version_id not in numbers:
        raise NotFound()
    if to_version_id == instance.route_version_id:
        raise RouteVersionCurrent()
    old_number = numbers.get(instance.route_version_id, 0)
    if numbers[to_version_id] < old_number:
        raise RouteVersionOlder()
    target = env.route(session, to_version_id)
    missing = _missing_steps(session, step.route, target, instance.id)
    if missing:
        labels = [
            step.route.nodes[key].label(language) if key in step.route.nodes else key
            for key in missing
        ]
        raise StepsMissingInVersion(params={"steps": ", ".join(labels)})
    step.writer.change(instance, route_version_id=to_version_id)
    step.event("migrated", comment=f"{old_number} → {numbers[to_version_id]}")
    return instance


def newer_version(session: Session, instance: RouteInstance) -> int | None:
    """The id of the published version of the instance's route when it is newer than the
    one the instance follows (None otherwise, or when the route is not published)."""
    try:
        published = published_version(session, instance.route)
    except NotFound:
        return None
    if published == instance.route_version_id:
        return None
    numbers = dict(
        session.execute(
            select(MetaVersion.id, MetaVersion.version).where(
                MetaVersion.id.in_((instance.route_version_id, published))
            )
        ).all()
    )
    return (
        published if numbers.get(published, 0) > numbers.get(instance.route_version_id, 0) else None
    )


def _missing_steps(session: Session, old: Route, new: Route, instance_id: int) -> list[str]:
    """The steps the instance is at now that the new version lacks (or has as another kind;
    a join that no longer has a way in from where a branch waits counts too), in route order
    of the old version."""
    tokens = list(
        session.scalars(
            select(RouteToken).where(
                RouteToken.instance_id == instance_id,
                RouteToken.status.in_(("active", "waiting")),
            )
        )
    )
    nodes = {token.node for token in tokens}
    nodes |= set(
        session.scalars(
            select(RouteTask.node).where(
                RouteTask.instance_id == instance_id,
                RouteTask.status.in_(("open", "delegated")),
            )
        )
    )
    missing = set()
    for key in nodes:
        here, there = old.nodes.get(key), new.nodes.get(key)
        if there is None or (here is not None and here.type != there.type):
            missing.add(key)
    for token in tokens:
        if token.status == "waiting" and token.node not in missing:
            sources = {edge.source for edge in new.incoming(token.node)}
            if token.arrived_from not in sources:
                missing.add(token.node)
    order = list(old.nodes)
    return sorted(missing, key=lambda key: (order.index(key) if key in order else len(order), key))


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
