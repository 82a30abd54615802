"""Notifications (``/notifications``): the bell in the top bar and the list behind it.

The bell is a navigation item carrying the unread count (one indexed count on the request's
session); the layout draws it beside the language switch instead of in the menu. Opening a
notification (``GET /notifications/<id>``) marks it read and goes to its task, or to its
document when the task is no longer the user's to open; it only ever touches the user's own
notification (someone else's is not found), so a link is safe to follow as a GET. "Mark all
as read" is a POST.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from potok.errors import N_
from potok.platform.auth import CurrentUser
from potok.platform.models import RouteTask
from potok.platform.nav import NavItem
from potok.platform.web.context import Ctx, endpoint
from potok.runtime import inbox, notifications
from potok.runtime.web.common import path_id, streams_of
from potok.settings import LANGUAGES

BELL = "runtime:notifications"


@dataclass(frozen=True)
class BellItem(NavItem):
    """The navigation's notifications item, with the number of unread ones."""

    count: int = 0


def nav_item(user: CurrentUser, services: Any, session: Session | None) -> BellItem:
    if session is None:
        with services.db.session() as own:
            count = notifications.unread_count(own, user.id)
    else:
        count = notifications.unread_count(session, user.id)
    labels = {}
    for language in LANGUAGES:
        translator = services.catalogs.translator(language)
        labels[language] = (
            translator.format(N_("Notifications (%(count)s)"), {"count": count})
            if count
            else translator.gettext(N_("Notifications"))
        )
    return BellItem(
        N_("Notifications"),
        BELL,
        order=55,
        labels=labels,
        description=N_("What happened to your tasks and documents."),
        count=count,
    )


def _before(ctx: Ctx) -> int | None:
    text = ctx.request.query_params.get("before", "")
    return int(text) if text.isdigit() and len(text) <= 10 else None


@endpoint()
def notifications_page(ctx: Ctx) -> Response:
    found = notifications.page(ctx.db, ctx.me.id, before=_before(ctx))
    documents = notifications.document_names(
        ctx.db,
        streams_of(ctx),
        ctx.me,
        {(item.stream, item.doc_id) for item in found.items},
        ctx.t.language,
    )
    rows = [
        {
            "item": item,
            "text": notifications.text_of(item, ctx.t),
            "document": documents.get((item.stream, item.doc_id)),
        }
        for item in found.items
    ]
    more = f"{ctx.url(BELL)}?before={found.next_before}" if found.next_before else ""
    return ctx.render(
        "runtime/notifications.html",
        {
            "rows": rows,
            "more_href": more,
            "unread": notifications.unread_count(ctx.db, ctx.me.id),
        },
        fragment="runtime/_notifications_rows.html" if _before(ctx) is not None else None,
    )


@endpoint(write=True)
def open_notification(ctx: Ctx) -> Response:
    """Mark the notification read and go to what it is about."""
    item = notifications.mine(ctx.db, ctx.me.id, path_id(ctx, "notification_id"))
    notifications.mark_read(ctx.db, ctx.me.id, item.id, now=ctx.now)
    task = ctx.db.get(RouteTask, item.task_id) if item.task_id is not None else None
    if task is not None and inbox.task_visible_to(ctx.db, task, ctx.me.id, ctx.now.date()):
        return ctx.redirect(ctx.url("runtime:task", task_id=task.id))
    return ctx.redirect(ctx.url("runtime:card", stream=item.stream, doc_id=item.doc_id))


@endpoint()
def mark_all_read(ctx: Ctx) -> Response:
    notifications.mark_all_read(ctx.db, ctx.me.id, now=ctx.now)
    ctx.flash(N_("All notifications are marked as read."))
    return ctx.redirect(ctx.url(BELL))


routes: list[BaseRoute] = [
    Route("/notifications", notifications_page, name=BELL),
    Route(
        "/notifications/read", mark_all_read, methods=["POST"], name="runtime:notifications_read"
    ),
    Route(
        "/notifications/{notification_id:int}",
        open_notification,
        name="runtime:notification",
    ),
]
