"""The route on a card: which route a stream's document follows and when it starts, the card's
route panel (the steps with the current position, the timeline, the instance's state, the
user's own open tasks), and the actions on it: ``POST /s/<stream>/<id>/route/start`` (a user
who may edit the document), ``…/route/<instance>/retry`` (an administrator, for an instance
that needs attention), ``…/route/<instance>/cancel`` (a user who may configure the stream) and
``…/route/migrate`` (the same, to move the running instance to the newest published version of
its route).

A card asks :func:`potok.runtime.extras.present` whether the document has a route instance at
all; without one the panel costs no query."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import BaseRoute, NoMatchFound, Route

from potok.errors import N_, Conflict, NotFound, PermissionDenied, PotokError, ValidationFailed
from potok.metadata import conditions
from potok.metadata.routes import Route as RouteModel
from potok.platform.models import RouteInstance, RouteTask, User
from potok.platform.web.context import Ctx, endpoint
from potok.runtime import extras, permissions
from potok.runtime.documents import Document
from potok.runtime.routing import engine, instances
from potok.runtime.routing.errors import RouteNotRunning
from potok.runtime.routing.jobs import env_of
from potok.runtime.streams import StreamRuntime
from potok.runtime.web.common import CardPanel, Place, document_of, path_id, stream_place

log = logging.getLogger(__name__)

PANEL = "runtime/_route_panel.html"
LIVE = ("running", "needs_attention")

EVENT_TEXTS = {
    "started": N_("Route started"),
    "task_created": N_("Task given to %(user)s"),
    "decided": N_("Decided"),
    "delegated": N_("Task delegated"),
    "returned": N_("Returned by the delegate"),
    "reassigned": N_("Reassigned"),
    "revision": N_("Sent back to the author for revision"),
    "resubmitted": N_("Resubmitted by the author"),
    "branch": N_("Branch chosen"),
    "joined": N_("Branches joined"),
    "waiting": N_("Waiting"),
    "resumed": N_("Wait over"),
    "action": N_("Automatic action"),
    "reminder": N_("Reminder sent"),
    "overdue": N_("Overdue notice sent"),
    "needs_attention": N_("Stopped: needs attention"),
    "retried": N_("Retried"),
    "migrated": N_("Moved to a newer version of the route"),
    "accepted": N_("Task accepted"),
    "reached_end": N_("Reached the end"),
    "finished": N_("Route finished"),
}
DECISION_TEXTS = {
    "approve": N_("approved"),
    "reject": N_("rejected"),
    "return_for_revision": N_("returned for revision"),
    "complete": N_("completed"),
    "refuse": N_("refused"),
    "resubmit": N_("resubmitted"),
    "completed": N_("completed"),
    "rejected": N_("rejected"),
    "refused": N_("refused"),
    "cancelled": N_("cancelled"),
}
STATUS_TEXTS = {
    "running": N_("Running"),
    "finished": N_("Finished"),
    "needs_attention": N_("Needs attention"),
    "cancelled": N_("Cancelled"),
}


# Which route runs -----------------------------------------------------------------------------


def route_choice(runtime: StreamRuntime) -> dict[str, Any]:
    """The stream's ``routes`` setting ({} when it names none)."""
    choice = runtime.stream.document.get("routes") or {}
    return dict(choice)


def chosen_route(runtime: StreamRuntime, document: Document, ctx: Ctx) -> str | None:
    """The first conditional route whose condition holds for the document, else the
    default; None when the stream names no route."""
    choice = route_choice(runtime)
    values = {
        **document.values,
        "author_id": document.author_id,
        "created_at": document.created_at,
        "updated_at": document.updated_at,
        "reg_number": document.reg_number,
    }
    for item in choice.get("conditional", []):
        try:
            if conditions.prepare(item["when"], runtime.kinds).evaluate(values, now=ctx.now):
                return str(item["route"])
        except (conditions.ConditionError, TypeError) as error:
            # Validated at publishing; a value that still does not fit skips this route.
            log.warning("route condition of stream %s skipped: %s", runtime.key, error)
    default = choice.get("default")
    return str(default) if default else None


@dataclass(frozen=True)
class Started:
    instance: RouteInstance | None
    message: str
    params: dict[str, Any]
    kind: str


def start_route(ctx: Ctx, place: Place, document: Document) -> Started:
    """Start the document's route in the request's transaction. A route that cannot start
    (none published, a check refused) changes nothing here; one that stops at once on a
    run-time error is kept, needing an administrator's attention."""
    key = chosen_route(place.runtime, document, ctx)
    if key is None:
        return Started(None, N_("This stream names no route."), {}, "error")
    nested = ctx.db.begin_nested()
    try:
        instance = engine.start(
            ctx.db,
            env_of(ctx.services),
            place.runtime.key,
            document.id,
            key,
            ctx.actor,
            now=ctx.now,
        )
        nested.commit()
    except PotokError as error:
        nested.rollback()
        if isinstance(error, NotFound):
            reason = ctx.t.format(N_("Route %(route)s is not published."), {"route": key})
        else:
            reason = ctx.t.format(error.message, error.params)
        return Started(
            None, N_("The route could not start: %(error)s"), {"error": reason}, "warning"
        )
    if instance.status == "needs_attention" and ctx.me.superuser:
        return Started(
            instance,
            N_("The route stopped at once and needs an administrator's attention: %(error)s"),
            {"error": instance.error or ""},
            "warning",
        )
    if instance.status == "needs_attention":
        message = N_("The route stopped at once and needs an administrator's attention.")
        return Started(instance, message, {}, "warning")
    return Started(instance, N_("The route has started."), {}, "success")


def start_on_registration(ctx: Ctx, place: Place, document: Document) -> None:
    """Called by registration: starts the chosen route when the stream says so; the document
    is registered whatever happens to the route, and the user is told."""
    if route_choice(place.runtime).get("start") != "on_registration":
        return
    started = start_route(ctx, place, document)
    if started.kind != "success":
        ctx.flash(started.message, started.params, kind=started.kind)


# The card's panel -----------------------------------------------------------------------------


def _order(route: RouteModel) -> list[str]:
    """The steps from the start, each once, in the order a reader follows them."""
    seen: list[str] = []
    queue = [route.start.key]
    while queue:
        key = queue.pop(0)
        if key in seen or key not in route.nodes:
            continue
        seen.append(key)
        edges = route.outgoing(key)
        plain = [edge.target for edge in edges if edge.on is None]
        queue.extend(plain + [edge.target for edge in edges if edge.on is not None])
    ends = [key for key in seen if route.nodes[key].type == "end"]
    return [key for key in seen if key not in ends] + ends


def task_url(ctx: Ctx, task_id: int) -> str:
    try:
        return ctx.url("runtime:task", task_id=task_id)
    except NoMatchFound:
        return f"/inbox/{task_id}"


def panel_data(
    ctx: Ctx,
    place: Place,
    document: Document,
    *,
    present: frozenset[str] = extras.EVERYTHING,
    notice: str = "",
    error: str = "",
) -> dict[str, Any]:
    may_edit = permissions.can(ctx.db, ctx.me, place.runtime, "edit", document.id)
    choice = route_choice(place.runtime)
    data: dict[str, Any] = {
        "template": PANEL,
        "instance": None,
        "may_start": bool(choice) and may_edit,
        "may_retry": False,
        "may_cancel": False,
        "may_migrate": False,
        "notice": notice,
        "error": error,
    }
    if "route" not in present:
        return data
    found = instances.instances_of(ctx.db, place.runtime.key, document.id)
    if not found:
        return data
    instance = found[-1]
    language = ctx.t.language
    route = env_of(ctx.services).route(ctx.db, instance.route_version_id)
    tokens = instances.tokens_of(ctx.db, instance.id)
    current = {token.node for token in tokens if token.status in ("active", "waiting")}
    passed = {token.node for token in tokens if token.status == "consumed"}
    steps = [
        {
            "key": key,
            "label": route.nodes[key].label(language),
            "type": route.nodes[key].type,
            "state": "current" if key in current else "done" if key in passed else "ahead",
        }
        for key in _order(route)
    ]
    tasks = list(
        ctx.db.scalars(
            select(RouteTask).where(RouteTask.instance_id == instance.id).order_by(RouteTask.id)
        )
    )
    events = instances.timeline(ctx.db, instance.id)
    people = {task.assignee_id for task in tasks} | {
        event.actor_id for event in events if event.actor_id is not None
    }
    names = {
        row[0]: row[1] or row[2]
        for row in ctx.db.execute(
            select(User.id, User.full_name, User.username).where(User.id.in_(people))
        )
    }
    assignees = {task.id: names.get(task.assignee_id, "—") for task in tasks}
    timeline = []
    for event in events:
        node = route.nodes.get(event.node or "")
        what = event.what
        params = {"user": assignees.get(event.task_id or 0, "—")}
        text = EVENT_TEXTS.get(what)
        timeline.append(
            {
                "at": event.at,
                "who": names.get(event.actor_id or 0) or event.actor_name or "—",
                "what": ctx.t.format(text, params) if text else what,
                "step": node.label(language) if node else "",
                "decision": ctx.t.gettext(DECISION_TEXTS[event.decision])
                if event.decision in DECISION_TEXTS
                else "",
                # A run-time error's text is for administrators (as on the state line).
                "comment": ""
                if what == "branch" or (what == "needs_attention" and not ctx.me.superuser)
                else event.comment or "",
                "delay_reason": event.delay_reason or "",
                "problem": what == "needs_attention",
            }
        )
    mine = [
        {
            "id": task.id,
            "step": route.nodes[task.node].label(language) if task.node in route.nodes else "",
            "url": task_url(ctx, task.id),
            "deadline": task.deadline,
        }
        for task in tasks
        if task.status == "open" and task.assignee_id == ctx.me.id
    ]
    running = instance.status in LIVE
    data.update(
        {
            "instance": instance,
            "route_label": route.labels.get(language) or route.labels.get("en") or route.key,
            "status": ctx.t.gettext(STATUS_TEXTS.get(instance.status, instance.status)),
            "outcome": ctx.t.gettext(DECISION_TEXTS[instance.outcome])
            if instance.status == "finished" and instance.outcome in DECISION_TEXTS
            else "",
            "steps": steps,
            "timeline": timeline,
            "my_tasks": mine,
            "earlier": len(found) - 1,
            "show_error": ctx.me.superuser and instance.status == "needs_attention",
            "may_retry": ctx.me.superuser and instance.status == "needs_attention",
            "may_cancel": place.access.configure and running,
            "may_migrate": running
            and _may_configure(ctx, place)
            and instances.newer_version(ctx.db, instance) is not None,
            "may_start": data["may_start"] and not running,
        }
    )
    return data


def card_panel(
    ctx: Ctx, place: Place, document: Document, present: frozenset[str]
) -> dict[str, Any] | None:
    """The card's route panel, or None for a document without a route that none can start."""
    data = panel_data(ctx, place, document, present=present)
    if data["instance"] is None and not data["may_start"]:
        return None
    return data


VIEW = CardPanel(PANEL, PANEL, "route", panel_data, notice="notice")


# Actions --------------------------------------------------------------------------------------


class RouteRunning(Conflict):
    message = N_("A route is already running for this document.")


def _instance_of(ctx: Ctx, place: Place, document: Document) -> RouteInstance:
    instance = ctx.db.get(RouteInstance, path_id(ctx, "instance_id"))
    if instance is None or (instance.stream, instance.doc_id) != (place.runtime.key, document.id):
        raise NotFound()
    return instance


@endpoint()
def start(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place, "edit")
    if not route_choice(place.runtime):
        raise ValidationFailed(N_("This stream names no route."))
    running = ctx.db.scalar(
        select(RouteInstance.id).where(
            RouteInstance.stream == place.runtime.key,
            RouteInstance.doc_id == document.id,
            RouteInstance.status.in_(LIVE),
        )
    )
    if running is not None:
        raise RouteRunning()
    started = start_route(ctx, place, document)
    if started.instance is None:
        raise Conflict(started.message, params=started.params)
    return VIEW.done(ctx, place, document, started.message, started.params)


@endpoint()
def retry(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place)
    if not ctx.me.superuser:
        raise PermissionDenied()
    instance = _instance_of(ctx, place, document)
    retried = instances.retry(ctx.db, env_of(ctx.services), instance.id, ctx.actor, now=ctx.now)
    if retried.status == "needs_attention":
        message = N_("The route still needs attention: %(error)s")
        return VIEW.done(ctx, place, document, message, {"error": retried.error or ""})
    return VIEW.done(ctx, place, document, N_("The route goes on."))


@endpoint()
def cancel(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place)
    if not place.access.configure:
        raise PermissionDenied()
    instance = _instance_of(ctx, place, document)
    instances.cancel(ctx.db, env_of(ctx.services), instance.id, ctx.actor, now=ctx.now)
    return VIEW.done(ctx, place, document, N_("The route is cancelled."))


def _may_configure(ctx: Ctx, place: Place) -> bool:
    return bool(place.access.configure or ctx.me.superuser)


@endpoint()
def migrate(ctx: Ctx) -> Response:
    """Move the document's running route to the newest published version; a refusal (a step
    the document is at now is missing there…) changes nothing and is shown with its reason."""
    place = stream_place(ctx)
    document = document_of(ctx, place)
    if not _may_configure(ctx, place):
        raise PermissionDenied()
    live = [
        found
        for found in instances.instances_of(ctx.db, place.runtime.key, document.id)
        if found.status in LIVE
    ]
    if not live:
        raise RouteNotRunning()
    try:
        instances.migrate(
            ctx.db,
            env_of(ctx.services),
            live[-1].id,
            ctx.actor,
            now=ctx.now,
            language=ctx.t.language,
        )
    except (Conflict, ValidationFailed) as refused:
        if not ctx.is_htmx:
            raise
        ctx.db.rollback()
        reason = ctx.t.format(refused.message, refused.params)
        return VIEW.render(ctx, place, document, status=refused.status, error=reason)
    return VIEW.done(ctx, place, document, N_("The route now follows its newest version."))


routes: list[BaseRoute] = [
    Route("/{stream}/{doc_id:int}/route/start", start, methods=["POST"], name="route_start"),
    Route("/{stream}/{doc_id:int}/route/migrate", migrate, methods=["POST"], name="route_migrate"),
    Route(
        "/{stream}/{doc_id:int}/route/{instance_id:int}/retry",
        retry,
        methods=["POST"],
        name="route_retry",
    ),
    Route(
        "/{stream}/{doc_id:int}/route/{instance_id:int}/cancel",
        cancel,
        methods=["POST"],
        name="route_cancel",
    ),
]
