"""What the runtime's views share: finding the stream and the document a URL names, with the
user's rights checked the same way everywhere (another user's id gives 404, never data)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from potok.errors import NotFound, PermissionDenied
from potok.platform.web.context import Ctx
from potok.runtime import documents, permissions
from potok.runtime.display import Lookups
from potok.runtime.permissions import Access
from potok.runtime.streams import StreamRuntime, Streams
from potok.runtime.values import Context

STREAMS = "runtime.streams"
MAX_ID = 2**31 - 1  # ids are 32-bit integers on both databases; larger ones name nothing


def streams_of(ctx: Ctx) -> Streams:
    streams: Streams = ctx.services.extensions[STREAMS]
    return streams


@dataclass
class Place:
    """The stream a request is about, and the user's rights there."""

    runtime: StreamRuntime
    access: Access


def stream_place(ctx: Ctx) -> Place:
    """The stream in the URL. A user with no rights on the stream gets 404 — except on a
    document's own URLs, where a document shared with them or on whose route they take part
    may still be read (:func:`document_of` decides, from ``permissions.readable``)."""
    runtime = streams_of(ctx).get(ctx.db, str(ctx.request.path_params["stream"]))
    access = permissions.access_for(ctx.me, runtime)
    if not access.sees_stream and "doc_id" not in ctx.request.path_params:
        raise NotFound()
    return Place(runtime, access)


def document_of(
    ctx: Ctx,
    place: Place,
    action: str = "read",
    *,
    in_trash: bool = False,
    doc_id: int | None = None,
) -> documents.Document:
    """The document in the URL (or ``doc_id``), if the user may ``action`` it: 404 when they
    may not even read it, 403 when they may read but not ``action``."""
    if doc_id is None:
        doc_id = int(ctx.request.path_params["doc_id"])
    if not 0 < doc_id <= MAX_ID:
        raise NotFound()
    if not permissions.can(ctx.db, ctx.me, place.runtime, "read", doc_id):
        raise NotFound()
    if action != "read" and not permissions.can(ctx.db, ctx.me, place.runtime, action, doc_id):
        raise PermissionDenied()
    return documents.load(ctx.db, place.runtime, doc_id, include_deleted=in_trash)


def path_id(ctx: Ctx, name: str) -> int:
    """The id ``name`` in the URL; 404 for one that no row can have."""
    value = int(ctx.request.path_params[name])
    if not 0 < value <= MAX_ID:
        raise NotFound()
    return value


def card_url(ctx: Ctx, place: Place, document: documents.Document, anchor: str) -> str:
    url = ctx.url("runtime:card", stream=place.runtime.key, doc_id=document.id)
    return f"{url}#{anchor}"


@dataclass(frozen=True)
class CardPanel:
    """How a card's panel answers its own forms. ``data(ctx, place, document, **options)``
    gives what the panel shows; ``page`` shows it on a page of its own (where a form lands
    without JavaScript); ``fragment`` is what an htmx request gets back (the panel, or the
    part of it a form changes); ``anchor`` is the panel's place on the card; ``notice``, if
    set, the option of ``data`` that shows an htmx request what its change did."""

    page: str
    fragment: str
    anchor: str
    data: Callable[..., dict[str, Any]]
    notice: str = ""

    def render(
        self,
        ctx: Ctx,
        place: Place,
        document: documents.Document,
        *,
        status: int = 200,
        **options: Any,
    ) -> Response:
        return ctx.render(
            self.page,
            {
                "runtime": place.runtime,
                "document": document,
                "panel": self.data(ctx, place, document, **options),
            },
            status=status,
            fragment=self.fragment,
        )

    def done(
        self,
        ctx: Ctx,
        place: Place,
        document: documents.Document,
        message: str,
        params: dict[str, Any] | None = None,
        **options: Any,
    ) -> Response:
        """After a change: under htmx the panel again (with ``options``, and ``message`` as
        its notice); without JavaScript, ``message`` (a message id) flashed and back to the
        card."""
        if ctx.is_htmx:
            if self.notice:
                options[self.notice] = ctx.t.format(message, params)
            return self.render(ctx, place, document, **options)
        ctx.flash(message, params)
        return ctx.redirect(card_url(ctx, place, document, self.anchor))


def link_checker(ctx: Ctx) -> documents.LinkReadable:
    streams = streams_of(ctx)

    def readable(stream: str, doc_id: int) -> bool:
        try:
            runtime = streams.get(ctx.db, stream)
        except NotFound:
            return False
        if not permissions.can(ctx.db, ctx.me, runtime, "read", doc_id):
            return False
        try:
            documents.load(ctx.db, runtime, doc_id)
        except NotFound:
            return False
        return True

    return readable


def fill_context(ctx: Ctx) -> Context:
    return Context(
        user_id=ctx.me.id,
        department_id=ctx.me.department_id,
        now=ctx.now,
        today_local=ctx.t.local(ctx.now).date(),
    )


def lookups(ctx: Ctx) -> Lookups:
    return Lookups(ctx.db, streams_of(ctx), ctx.t)


def field_errors(ctx: Ctx, errors: dict[str, Any]) -> dict[str, str]:
    """Field path -> message in the user's language."""
    shown = {}
    for path, error in errors.items():
        texts = getattr(error, "texts", None) or {}
        if texts.get(ctx.t.language):
            shown[path] = texts[ctx.t.language]
        else:
            shown[path] = ctx.t.format(error.message, getattr(error, "params", None))
    return shown
