"""The inbox (``/inbox``) and a task beside its document (``/inbox/<task_id>``).

A task's decisions are posted to its own address: ``action`` names the decision (accept,
complete, refuse, approve, reject, return_for_revision, resubmit, delegate, reassign). The engine
checks everything before it writes and the request's transaction is rolled back on any error, so a
refused decision changes nothing; its message is shown beside the form. A second identical
submit (a double click) changes nothing and says so. Under htmx the answer is the task's
fragment again; without JavaScript a decision flashes its result and goes back to the inbox.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from potok.errors import N_, NotFound, PermissionDenied, PotokError
from potok.platform.auth import CurrentUser
from potok.platform.models import RouteInstance, RouteTask
from potok.platform.nav import NavItem
from potok.platform.web.context import Ctx, endpoint
from potok.runtime import control, documents, inbox, permissions
from potok.runtime.routing import executors, tasks
from potok.runtime.routing.context import Env
from potok.runtime.routing.errors import UnknownDecision
from potok.runtime.web.common import MAX_ID, STREAMS, Place, lookups, path_id, streams_of
from potok.runtime.web.layout import card_sections
from potok.settings import LANGUAGES

ROUTE_ENV = "runtime.routing.env"  # shared with the scheduler's jobs
DECISIONS = ("accept", "complete", "refuse", "approve", "reject", "return_for_revision", "resubmit")
ACTIONS = {
    "assignment": ("complete", "refuse"),
    "delegated": ("complete", "refuse"),
    "approval": ("approve", "reject", "return_for_revision"),
    "revision": ("resubmit",),
}
ACTION_LABELS = {
    "complete": N_("Complete"),
    "refuse": N_("Refuse"),
    "approve": N_("Approve"),
    "reject": N_("Reject"),
    "return_for_revision": N_("Return for revision"),
    "resubmit": N_("Resubmit"),
}
DONE_MESSAGES = {
    "accept": N_("The task is accepted; complete it when the work is done."),
    "complete": N_("The task is completed."),
    "refuse": N_("The task is refused."),
    "approve": N_("Approved."),
    "reject": N_("Rejected."),
    "return_for_revision": N_("Returned to the author for revision."),
    "resubmit": N_("Sent back for approval."),
    "delegate": N_("The task is delegated; it comes back to you when your colleague is done."),
    "reassign": N_("The task is given to someone else."),
}
TAB_LABELS = {
    "todo": N_("To do"),
    "overdue": N_("Overdue"),
    "delegated": N_("Delegated"),
    "done": N_("Done"),
}
DECISION_LABELS = {
    **ACTION_LABELS,
    "complete": N_("Completed"),
    "refuse": N_("Refused"),
    "approve": N_("Approved"),
    "reject": N_("Rejected"),
    "return_for_revision": N_("Returned for revision"),
    "resubmit": N_("Resubmitted"),
}


def route_env(services: Any) -> Env:
    """The engine's environment for this app (parsed route versions are cached in it)."""
    env = services.extensions.get(ROUTE_ENV)
    if env is None:
        env = Env(
            services.extensions[STREAMS],
            services.catalogs,
            ZoneInfo(services.settings.timezone),
        )
        env = services.extensions.setdefault(ROUTE_ENV, env)
    return env


# The inbox -------------------------------------------------------------------------------


def _query(filters: inbox.Filters, **changes: str) -> str:
    values = {"tab": filters.tab, "stream": filters.stream, "q": filters.search, **changes}
    return urlencode({key: value for key, value in values.items() if value})


@endpoint()
def inbox_page(ctx: Ctx) -> Response:
    filters = inbox.Filters.parse(ctx.request.query_params)
    env = route_env(ctx.services)
    found = inbox.open_inbox(
        ctx.db,
        env,
        ctx.me,
        filters,
        now=ctx.now,
        today=ctx.now.date(),
        language=ctx.t.language,
    )
    base = ctx.url("runtime:inbox")
    more = f"{base}?{_query(filters, after=found.next_after)}" if found.next_after else ""
    streams = [
        (runtime.key, runtime.stream.label(ctx.t.language))
        for runtime in permissions.streams_for(ctx.me, streams_of(ctx).all(ctx.db))
    ]
    return ctx.render(
        "runtime/inbox.html",
        {
            "inbox": found,
            "filters": filters,
            "tabs": [
                (tab, TAB_LABELS[tab], f"{base}?{_query(filters, tab=tab)}") for tab in inbox.TABS
            ],
            "streams": streams,
            "more_href": more,
            "decision_labels": DECISION_LABELS,
            "now": ctx.now,
            "control_href": ""
            if filters.after or not control.controls_anything(ctx.db, ctx.me.id)
            else ctx.url("runtime:control"),
        },
        fragment="runtime/_inbox_rows.html" if filters.after else None,
    )


def nav_item(user: CurrentUser, services: Any, session: Session | None) -> NavItem:
    """ "Inbox" in the navigation, with the number of tasks to do (one count query)."""
    today = services.clock().date()
    if session is None:
        with services.db.session() as own:
            count = inbox.todo_count(own, user.id, today)
    else:
        count = inbox.todo_count(session, user.id, today)
    labels = {}
    for language in LANGUAGES:
        translator = services.catalogs.translator(language)
        labels[language] = (
            translator.format(N_("Inbox (%(count)s)"), {"count": count})
            if count
            else translator.gettext(N_("Inbox"))
        )
    return NavItem(N_("Inbox"), "runtime:inbox", order=50, labels=labels)


def card_panel(
    ctx: Ctx, place: Place, document: documents.Document, present: frozenset[str]
) -> dict[str, Any] | None:
    """ "Waiting for your decision" on a card: the user's open tasks on this document and on
    the documents linking to it (a Client's contracts and works), left out when none."""
    rows = inbox.waiting_for(
        ctx.db,
        route_env(ctx.services),
        ctx.me,
        place.runtime,
        document.id,
        now=ctx.now,
        today=ctx.now.astimezone(ctx.t.tz).date(),
        language=ctx.t.language,
    )
    if not rows:
        return None
    return {"template": "runtime/_waiting_panel.html", "rows": rows}


# One task --------------------------------------------------------------------------------


def _task_of(ctx: Ctx) -> RouteTask:
    """The task in the URL if it is in one of the user's tabs (404 otherwise)."""
    task_id = path_id(ctx, "task_id")
    task = ctx.db.get(RouteTask, task_id) if 0 < task_id <= MAX_ID else None
    if task is None or not inbox.task_visible_to(ctx.db, task, ctx.me.id, ctx.now.date()):
        raise NotFound()
    return task


def _document(ctx: Ctx, instance: RouteInstance) -> tuple[Place | None, Any]:
    """The task's document, if the user may read it (else None, None)."""
    try:
        runtime = streams_of(ctx).get(ctx.db, instance.stream)
    except NotFound:
        return None, None
    if not permissions.can(ctx.db, ctx.me, runtime, "read", instance.doc_id):
        return None, None
    try:
        document = documents.load(ctx.db, runtime, instance.doc_id)
    except NotFound:
        return None, None
    return Place(runtime, permissions.access_for(ctx.me, runtime)), document


def _task_data(
    ctx: Ctx,
    task: RouteTask,
    instance: RouteInstance,
    readable: bool,
    *,
    notice: str = "",
    error: str = "",
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
) -> dict[str, Any]:
    env = route_env(ctx.services)
    today = ctx.now.date()
    route = env.route(ctx.db, instance.route_version_id)
    node = route.nodes.get(task.node)
    is_open = task.status == "open" and instance.status == "running" and readable
    may_act = is_open and task.assignee_id is not None and _may_act(ctx, task)
    delegated_to = ""
    if task.status == "delegated":
        names = inbox.people_names(ctx.db, set(inbox.delegates_of(ctx.db, [task.id]).values()))
        delegated_to = ", ".join(names.values())
    owner = inbox.owner_for(ctx.me.id, task.assignee_id, task.original_assignee_id)
    people = inbox.people_names(
        ctx.db, {i for i in (owner, task.assignee_id, task.decided_by_id) if i is not None}
    )
    return {
        "task": task,
        "instance": instance,
        "step": node.label(ctx.t.language) if node is not None else task.node,
        "readable": readable,
        "is_open": is_open,
        "actions": [(a, ACTION_LABELS[a]) for a in ACTIONS.get(task.kind, ())] if may_act else [],
        "may_accept": may_act and task.kind == "assignment" and task.accepted_at is None,
        "may_delegate": may_act and task.kind in ("assignment", "approval"),
        "may_reassign": readable
        and instance.status == "running"
        and inbox.may_reassign(ctx.db, task, ctx.me.id, today),
        "late": task.deadline is not None and ctx.now > task.deadline,
        "colleagues": inbox.colleagues(ctx.db, {ctx.me.id, task.assignee_id}) if is_open else [],
        "acting_for": people.get(owner, "") if owner is not None else "",
        "assignee": people.get(task.assignee_id, ""),
        "decided_by": people.get(task.decided_by_id, "") if task.decided_by_id else "",
        "delegated_to": delegated_to,
        "decision_labels": DECISION_LABELS,
        "notice": notice,
        "error": error,
        "errors": errors or {},
        "typed": typed or {},
    }


def _may_act(ctx: Ctx, task: RouteTask) -> bool:
    return executors.may_act(ctx.db, task, ctx.me.id, ctx.now.date())


def _render(
    ctx: Ctx,
    task: RouteTask,
    instance: RouteInstance,
    *,
    status: int = 200,
    **options: Any,
) -> Response:
    place, document = _document(ctx, instance)
    context: dict[str, Any] = {
        "panel": _task_data(ctx, task, instance, document is not None, **options),
        "runtime": place.runtime if place else None,
        "document": document,
        "sections": [],
        "title": "",
    }
    if place is not None and document is not None:
        names = lookups(ctx)
        names.want_document(place.runtime, document.values)
        names.prefetch()
        title_key = place.runtime.stream.title_field
        context["title"] = str(document.values.get(title_key) or "") if title_key else ""
        context["sections"] = card_sections(place, document.values, names, ctx)
    return ctx.render("runtime/task.html", context, status=status, fragment="runtime/_task.html")


@endpoint()
def task_page(ctx: Ctx) -> Response:
    task = _task_of(ctx)
    instance = ctx.db.get(RouteInstance, task.instance_id)
    if instance is None:
        raise NotFound()
    if ctx.request.method == "GET":
        return _render(ctx, task, instance)
    return _decide(ctx, task, instance)


def _form_text(ctx: Ctx, name: str, limit: int = tasks.MAX_COMMENT) -> str:
    return str(ctx.form.get(name, "") or "")[: limit * 2]


def _decide(ctx: Ctx, task: RouteTask, instance: RouteInstance) -> Response:
    action = str(ctx.form.get("action", ""))
    comment = _form_text(ctx, "comment")
    delay_reason = _form_text(ctx, "delay_reason")
    typed = {"comment": comment, "delay_reason": delay_reason, "action": action}
    env = route_env(ctx.services)
    repeated = (
        action in DECISIONS
        and task.status != "open"
        and task.decided_by_id == ctx.me.id
        and task.decision == action
    )
    try:
        if _document(ctx, instance)[1] is None:
            raise PermissionDenied(
                N_("You cannot read this task's document, so you cannot decide it.")
            )
        if repeated:
            return _answer(
                ctx,
                task,
                instance,
                N_("This decision is already recorded; nothing was changed."),
                kind="info",
            )
        if action in DECISIONS:
            tasks.decide(
                ctx.db,
                env,
                task.id,
                ctx.actor,
                action,
                comment,
                now=ctx.now,
                delay_reason=delay_reason,
            )
        elif action in ("delegate", "reassign"):
            to_user = str(ctx.form.get("user", ""))
            user_id = int(to_user) if to_user.isdigit() and len(to_user) < 11 else 0
            change = tasks.delegate if action == "delegate" else tasks.reassign
            change(ctx.db, env, task.id, ctx.actor, user_id, comment, now=ctx.now)
        else:
            raise UnknownDecision()
    except PotokError as failure:
        if isinstance(failure, NotFound):
            raise
        ctx.db.rollback()
        task = _reload(ctx, task.id)
        instance = ctx.db.get(RouteInstance, task.instance_id) or instance
        errors = {key: ctx.t.gettext(text) for key, text in failure.field_errors.items()}
        return _render(
            ctx,
            task,
            instance,
            status=failure.status,
            error="" if errors else ctx.t.format(failure.message, failure.params),
            errors=errors,
            typed=typed,
        )
    return _answer(ctx, task, instance, DONE_MESSAGES[action])


def _reload(ctx: Ctx, task_id: int) -> RouteTask:
    task = ctx.db.get(RouteTask, task_id)
    if task is None:
        raise NotFound()
    return task


def _answer(
    ctx: Ctx, task: RouteTask, instance: RouteInstance, message: str, kind: str = "success"
) -> Response:
    if ctx.is_htmx:
        ctx.db.flush()
        ctx.db.refresh(task)
        ctx.db.refresh(instance)
        return _render(ctx, task, instance, notice=ctx.t.gettext(message))
    ctx.flash(message, kind=kind)
    return ctx.redirect(ctx.url("runtime:inbox"))


routes: list[BaseRoute] = [
    Route("/inbox", inbox_page, name="runtime:inbox"),
    Route("/inbox/{task_id:int}", task_page, methods=["GET", "POST"], name="runtime:task"),
]
