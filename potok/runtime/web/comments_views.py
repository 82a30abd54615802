"""Comments on cards: ``POST /s/<stream>/<id>/comments`` adds one (anyone who may read the
document), ``…/comments/<comment>/delete`` removes the author's own. Under htmx the answer is
the panel again; without JavaScript, the card (or, for a refused comment, a page with it)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from potok.errors import N_, NotFound
from potok.platform.web.context import Ctx, endpoint
from potok.runtime import comments
from potok.runtime.documents import Document
from potok.runtime.web.common import MAX_ID, Place, document_of, stream_place

PANEL = "runtime/_comments_panel.html"
PAGE = "runtime/_comments_page.html"


def panel_data(
    ctx: Ctx, place: Place, document: Document, *, text: str = "", error: str = ""
) -> dict[str, Any]:
    return {
        "template": PANEL,
        "comments": comments.comments_of(ctx.db, place.runtime.key, document.id),
        "me": ctx.me.id,
        "text": text,
        "error": error,
        "max_length": comments.MAX_LENGTH,
    }


def card_panel(ctx: Ctx, place: Place, document: Document) -> dict[str, Any] | None:
    """The card's comments panel: a dict with "template" (and whatever it shows), or None."""
    return panel_data(ctx, place, document)


def _render(
    ctx: Ctx, place: Place, document: Document, *, status: int = 200, **options: Any
) -> Response:
    return ctx.render(
        PAGE,
        {
            "runtime": place.runtime,
            "document": document,
            "panel": panel_data(ctx, place, document, **options),
        },
        status=status,
        fragment=PANEL,
    )


def _back(ctx: Ctx, place: Place, document: Document) -> Response:
    url = ctx.url("runtime:card", stream=place.runtime.key, doc_id=document.id)
    return ctx.redirect(f"{url}#comments")


@endpoint()
def add(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place)
    text = str(ctx.form.get("text", ""))
    try:
        comments.add(ctx.db, ctx.me, place.runtime.key, document.id, text, now=ctx.now)
    except comments.CommentRefused as error:
        message = ctx.t.format(error.message, error.params)
        return _render(
            ctx, place, document, status=400, text=text[: comments.MAX_LENGTH * 2], error=message
        )
    if ctx.is_htmx:
        return _render(ctx, place, document)
    ctx.flash(N_("Comment added."))
    return _back(ctx, place, document)


@endpoint()
def delete(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place)
    comment_id = int(ctx.request.path_params["comment_id"])
    if not 0 < comment_id <= MAX_ID:
        raise NotFound()
    comments.delete(ctx.db, ctx.me, place.runtime.key, document.id, comment_id)
    if ctx.is_htmx:
        return _render(ctx, place, document)
    ctx.flash(N_("Comment deleted."))
    return _back(ctx, place, document)


routes: list[BaseRoute] = [
    Route("/{stream}/{doc_id:int}/comments", add, methods=["POST"], name="comment_add"),
    Route(
        "/{stream}/{doc_id:int}/comments/{comment_id:int}/delete",
        delete,
        methods=["POST"],
        name="comment_delete",
    ),
]
