"""The route engine: instances, tokens and their movement through the graph.

Every transition (start, a decision, a fired timer, a retry) runs in the caller's session and
transaction: it first locks the instance row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
write transactions are already serialised by ``BEGIN IMMEDIATE``) and bumps its version once
it writes, so concurrent decisions on one instance happen one after the other and a join fires once.

Tokens mark where the instance is: ``active`` at a step in progress (a person's step or a
wait), ``waiting`` at a join for the other branches, ``consumed`` once they moved on. A token
moves through automatic steps (conditions, splits, joins, actions, waits already due) in the
same transition until it reaches a person's step, a wait, a join that is not complete or an
end. The instance finishes when no token is left active or waiting.

A :class:`RouteRuntimeError` during the movement (an empty role, a missing field…) rolls the
movement back to a savepoint and leaves the instance in ``needs_attention`` with the error;
what came before the movement (e.g. the decision that caused it) is kept, and :func:`retry`
moves on once an administrator has fixed the cause.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from potok.errors import N_, NotFound, PotokError, ValidationFailed
from potok.metadata import conditions
from potok.metadata.routes import Edge, Node
from potok.platform.audit import Actor
from potok.platform.models import RouteInstance, RouteTask, RouteToken
from potok.runtime.routing import actions, deadlines, rows
from potok.runtime.routing.context import Env, Step, published_version
from potok.runtime.routing.errors import RouteAlreadyRunning, RouteRuntimeError
from potok.runtime.routing.steps import close_tasks, first_positions, open_tasks

__all__ = ["Env", "Step", "guarded", "leave", "move", "start"]

MAX_STEPS = 10_000  # automatic steps in one transition: more means a loop without people
LIVE = ("active", "waiting")


_RUNNING = select(RouteInstance.id).where(
    RouteInstance.stream == bindparam("stream"),
    RouteInstance.doc_id == bindparam("doc_id"),
    RouteInstance.route == bindparam("route"),
    RouteInstance.status.in_(("running", "needs_attention")),
)


def start(
    session: Session,
    env: Env,
    stream: str,
    doc_id: int,
    route_key: str,
    actor: Actor,
    *,
    now: datetime,
) -> RouteInstance:
    """Start the published route ``route_key`` on a document; the instance keeps that
    version for good."""
    version_id = published_version(session, route_key)
    route = env.route(session, version_id)
    if route.stream != stream:
        raise ValidationFailed(
            N_("Route %(route)s is not for this stream."), params={"route": route_key}
        )
    runtime = env.streams.get(session, stream)
    table = runtime.compiled.table
    document = session.execute(
        runtime.statement(
            "route.lock",
            lambda: (
                select(table.c.author_id, table.c.deleted)
                .where(table.c.id == bindparam("doc_id"))
                .with_for_update()
            ),
        ),
        {"doc_id": doc_id},
    ).first()
    if document is None or document.deleted:
        raise NotFound()
    running = session.scalar(_RUNNING, {"stream": stream, "doc_id": doc_id, "route": route_key})
    if running is not None:
        raise RouteAlreadyRunning()
    instance = rows.Writer(session).add(
        RouteInstance,
        {
            "stream": stream,
            "doc_id": doc_id,
            "route": route_key,
            "route_version_id": version_id,
            "status": "running",
            "outcome": None,
            "error": None,
            "author_id": document.author_id,
            "started_by_id": actor.user_id,
            "started_at": now,
            "finished_at": None,
            "version": 0,
        },
    )
    step = Step(session, env, instance, route, actor, now)
    token = new_token(step, route.start.key, "active")
    step.event("started", route.start.key)
    guarded(step, lambda: move(step, token, route.outgoing(route.start.key)[0]))
    return instance


def guarded(step: Step, movement: Callable[[], None]) -> None:
    """Run ``movement``; a run-time error undoes it and leaves the instance needing
    attention."""
    nested = step.session.begin_nested()
    step.session.connection()  # the SAVEPOINT now: the writer uses the connection directly
    resting, created = step.resting, len(step.created)
    try:
        movement()
        nested.commit()
    except RouteRuntimeError as error:
        nested.rollback()
        rows.undo(step.session, step.created[created:])
        del step.created[created:]
        step.resting = resting
        step.forget_values()
        step.writer.change(step.instance, status="needs_attention", error=error.text[:2000])
        step.event("needs_attention", comment=error.text[:2000])


# Movement -------------------------------------------------------------------------------------


def new_token(step: Step, node: str, status: str, arrived_from: str | None = None) -> RouteToken:
    token = step.writer.add(
        RouteToken,
        {
            "instance_id": step.instance.id,
            "node": node,
            "status": status,
            "arrived_from": arrived_from,
            "created_at": step.now,
            "consumed_at": step.now if status == "consumed" else None,
        },
    )
    step.created.append(token)
    return token


def consume(step: Step, token: RouteToken) -> None:
    step.writer.change(token, status="consumed", consumed_at=step.now)


def move(step: Step, token: RouteToken, edge: Edge) -> None:
    """``token`` leaves its step along ``edge``; automatic steps run until the branches rest."""
    consume(step, token)
    queue: list[tuple[str, str]] = [(edge.target, token.node)]
    while queue:
        key, came_from = queue.pop(0)
        step.moves += 1
        if step.moves > MAX_STEPS:
            raise RouteRuntimeError(N_("The route goes round in circles without a person's step."))
        node = step.route.nodes[key]
        queue.extend((target, key) for target in _enter(step, node, came_from))
    settle(step)


def _enter(step: Step, node: Node, came_from: str) -> list[str]:
    """Handle a token arriving at ``node``; returns the steps it goes on to."""
    out = [edge for edge in step.route.outgoing(node.key) if edge.on is None]
    if node.type == "end":
        new_token(step, node.key, "consumed", came_from)
        step.event("reached_end", node.key)
        return []
    if node.type in ("assignment", "approval"):
        token = new_token(step, node.key, "active", came_from)
        step.resting = True
        open_tasks(step, token, node, first_positions(node))
        return []
    if node.type == "condition":
        chosen = choose(step, node)
        step.event("branch", node.key, comment=chosen.target)
        return [chosen.target]
    if node.type == "split":
        return [edge.target for edge in out]
    if node.type == "join":
        return _join(step, node, came_from)
    if node.type == "action":
        return _act(step, node, out)
    if node.type == "wait":
        due = deadlines.wait_until(node, step.lazy_values, step.now, step.calendar, step.env.zone)
        if due <= step.now:
            return [out[0].target]
        token = new_token(step, node.key, "active", came_from)
        step.resting = True
        deadlines.schedule_wait(step.writer, token, due)
        step.event("waiting", node.key)
        return []
    return [out[0].target]  # start


def _act(step: Step, node: Node, out: list[Edge]) -> list[str]:
    if node.action is None:
        return [out[0].target]
    if node.action.type == "start_route":
        _start_other(step, node)
    else:
        actions.run(
            step.session,
            step.env.streams,
            step.runtime,
            node.action,
            step.instance,
            step.values(),
            step.actor,
            step.now,
            step.env.catalogs,
        )
        step.forget_values()
    step.event("action", node.key, decision=node.action.type)
    return [out[0].target]


def _start_other(step: Step, node: Node) -> None:
    assert node.action is not None  # noqa: S101 - only called for action steps
    spec = node.action.spec
    other = step.env.route(step.session, published_version(step.session, str(spec["route"])))
    doc_id: Any = step.instance.doc_id
    if "link_field" in spec:
        doc_id = step.values().get(str(spec["link_field"]))
        if not isinstance(doc_id, int):
            raise RouteRuntimeError(
                N_("Field %(field)s of the document links to no document."),
                field=spec["link_field"],
            )
    try:
        start(step.session, step.env, other.stream, doc_id, other.key, step.actor, now=step.now)
    except PotokError as error:
        if isinstance(error, RouteRuntimeError):
            raise
        raise RouteRuntimeError(
            N_("Route %(route)s could not start: %(error)s"),
            route=other.key,
            error=str(error),
        ) from error


def choose(step: Step, node: Node) -> Edge:
    """The first way out whose condition holds, else the default way."""
    default: Edge | None = None
    for edge in step.route.outgoing(node.key):
        if edge.default:
            default = edge
            continue
        try:
            condition = conditions.prepare(edge.when, step.runtime.kinds)
            if condition.evaluate(step.values(), now=step.now):
                return edge
        except (conditions.ConditionError, TypeError) as error:
            raise RouteRuntimeError(
                N_("The condition after step %(node)s does not fit the document: %(error)s"),
                node=node.key,
                error=str(error),
            ) from error
    if default is None:
        raise RouteRuntimeError(N_("Step %(node)s has no default way."), node=node.key)
    return default


def _join(step: Step, node: Node, came_from: str) -> list[str]:
    new_token(step, node.key, "waiting", came_from)
    waiting = list(
        step.session.scalars(
            select(RouteToken)
            .where(
                RouteToken.instance_id == step.instance.id,
                RouteToken.node == node.key,
                RouteToken.status == "waiting",
            )
            .order_by(RouteToken.id)
        )
    )
    sources = {edge.source for edge in step.route.incoming(node.key)}
    first: dict[str, RouteToken] = {}
    for token in waiting:
        first.setdefault(token.arrived_from or "", token)
    if not sources <= set(first):
        return []
    for source in sources:
        consume(step, first[source])
    step.event("joined", node.key)
    return [edge.target for edge in step.route.outgoing(node.key)]


_LIVE = select(RouteToken).where(
    RouteToken.instance_id == bindparam("instance_id"), RouteToken.status.in_(LIVE)
)


def live_tokens(step: Step) -> list[RouteToken]:
    return list(step.session.scalars(_LIVE, {"instance_id": step.instance.id}))


def settle(step: Step) -> None:
    """Finish the instance when no branch is left; a route stuck at a join is an error.
    A branch that came to rest at a person's step or a wait in this movement is left, so
    there is nothing to read."""
    if step.resting:
        return
    live = live_tokens(step)
    if not live:
        finish(step, step.instance.outcome or "completed")
    elif all(token.status == "waiting" for token in live):
        raise RouteRuntimeError(
            N_("The route is stuck at step %(node)s: a branch never arrives there."),
            node=live[0].node,
        )


_OPEN_LEFT = select(RouteTask).where(
    RouteTask.instance_id == bindparam("instance_id"),
    RouteTask.status.in_(("open", "delegated")),
)


def finish(step: Step, outcome: str) -> None:
    close_tasks(step, list(step.session.scalars(_OPEN_LEFT, {"instance_id": step.instance.id})))
    step.writer.change_all(live_tokens(step), status="consumed", consumed_at=step.now)
    step.writer.change(step.instance, status="finished", outcome=outcome, finished_at=step.now)
    step.event("finished", decision=outcome)


def leave(step: Step, token: RouteToken, node: Node, outcome: str) -> None:
    """A person's step is over: ``done`` goes the plain way, ``rejected``/``refused`` the way
    marked for it, or ends the route with that outcome when there is none."""
    edges = step.route.outgoing(node.key)
    if outcome == "done":
        move(step, token, next(edge for edge in edges if edge.on is None))
        return
    marked = next((edge for edge in edges if edge.on == outcome), None)
    if marked is not None:
        move(step, token, marked)
    else:
        consume(step, token)
        finish(step, outcome)
