"""What the runtime's views share: finding the stream and the document a URL names, with the
user's rights checked the same way everywhere (another user's id gives 404, never data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    runtime = streams_of(ctx).get(ctx.db, str(ctx.request.path_params["stream"]))
    access = permissions.access_for(ctx.me, runtime)
    if not access.sees_stream:
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
