"""Comments on cards: ``POST /s/<stream>/<id>/comments`` adds one (anyone who may read the
document), ``…/comments/<comment>/delete`` removes the author's own. Under htmx the answer is
the panel again; without JavaScript, the card (or, for a refused comment, a page with it)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from potok.errors import N_
from potok.platform.web.context import Ctx, endpoint
from potok.runtime import comments, extras
from potok.runtime.documents import Document
from potok.runtime.web.common import CardPanel, Place, document_of, path_id, stream_place

PANEL = "runtime/_comments_panel.html"
PAGE = "runtime/_comments_page.html"


def panel_data(
    ctx: Ctx,
    place: Place,
    document: Document,
    *,
    text: str = "",
    error: str = "",
    present: frozenset[str] = extras.EVERYTHING,
) -> dict[str, Any]:
    found = (
        comments.comments_of(ctx.db, place.runtime.key, document.id)
        if "comments" in present
        else []
    )
    return {
        "template": PANEL,
        "comments": found,
        "me": ctx.me.id,
        "text": text,
        "error": error,
        "max_length": comments.MAX_LENGTH,
    }


def card_panel(
    ctx: Ctx, place: Place, document: Document, present: frozenset[str]
) -> dict[str, Any] | None:
    """The card's comments panel: a dict with "template" (and whatever it shows), or None."""
    return panel_data(ctx, place, document, present=present)


VIEW = CardPanel(PAGE, PANEL, "comments", panel_data)


@endpoint()
def add(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place)
    text = str(ctx.form.get("text", ""))
    try:
        comments.add(ctx.db, ctx.me, place.runtime.key, document.id, text, now=ctx.now)
    except comments.CommentRefused as error:
        message = ctx.t.format(error.message, error.params)
        return VIEW.render(
            ctx, place, document, status=400, text=text[: comments.MAX_LENGTH * 2], error=message
        )
    return VIEW.done(ctx, place, document, N_("Comment added."))


@endpoint()
def delete(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place)
    comment_id = path_id(ctx, "comment_id")
    comments.delete(ctx.db, ctx.me, place.runtime.key, document.id, comment_id)
    return VIEW.done(ctx, place, document, N_("Comment deleted."))


routes: list[BaseRoute] = [
    Route("/{stream}/{doc_id:int}/comments", add, methods=["POST"], name="comment_add"),
    Route(
        "/{stream}/{doc_id:int}/comments/{comment_id:int}/delete",
        delete,
        methods=["POST"],
        name="comment_delete",
    ),
]
