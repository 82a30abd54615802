"""Files on cards, under ``/s/<stream>/<id>/files``: the panel (``GET``), uploading one or
more files (``POST``, edit right), ``…/<file>/download`` and ``…/<file>/preview`` (read
right) and ``…/<file>/delete`` (edit right). Another user's document is 404 on every path.

Downloads are always ``attachment`` with ``nosniff``; a preview shows inline only images a
browser renders safely, PDF, and text as ``text/plain``, under a restrictive CSP (sandboxed,
except for PDF: Chrome refuses to run its PDF viewer in a sandboxed document). Under htmx or
files.js (``HX-Request``) uploading and removing answer with the panel; without JavaScript,
with the card (or, for refused files, a page with the panel and the reasons).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from potok.errors import N_
from potok.metadata.tables import Attachment
from potok.platform.web.context import Ctx, endpoint
from potok.runtime import attachments, extras, permissions
from potok.runtime.documents import Document
from potok.runtime.web.common import CardPanel, Place, document_of, path_id, stream_place

PANEL = "runtime/_files_panel.html"
PAGE = "runtime/_files_page.html"
SANDBOXED = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
PDF_POLICY = (
    "default-src 'none'; object-src 'self'; img-src 'self' data: blob:; "
    "style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
)


def upload_limit(ctx: Ctx) -> int:
    """The largest file accepted: the setting, but never more than a request may carry."""
    settings = ctx.services.settings
    return min(settings.max_upload_bytes, settings.max_request_bytes)


def panel_data(
    ctx: Ctx,
    place: Place,
    document: Document,
    *,
    errors: list[str] | None = None,
    present: frozenset[str] = extras.EVERYTHING,
) -> dict[str, Any]:
    files = (
        attachments.files_of(ctx.db, place.runtime.key, document.id) if "files" in present else []
    )
    return {
        "template": PANEL,
        "files": files,
        "may_edit": permissions.can(ctx.db, ctx.me, place.runtime, "edit", document.id),
        "errors": errors or [],
        "limit": upload_limit(ctx),
        "size": ctx.t.size,
    }


def card_panel(
    ctx: Ctx, place: Place, document: Document, present: frozenset[str]
) -> dict[str, Any] | None:
    """The card's files panel: a dict with "template" (and whatever it shows), or None."""
    return panel_data(ctx, place, document, present=present)


VIEW = CardPanel(PAGE, PANEL, "files", panel_data)


def _store(ctx: Ctx) -> attachments.FileStore:
    return attachments.FileStore.of(ctx.services.settings)


@endpoint()
def panel(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place)
    return VIEW.render(ctx, place, document)


@endpoint()
def upload(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place, "edit")
    uploads = [
        (item.filename or "", item.file)
        for item in ctx.form.getlist("files")
        if isinstance(item, UploadFile) and (item.filename or item.size)
    ]
    try:
        added = attachments.attach(
            ctx.db,
            _store(ctx),
            place.runtime,
            document.id,
            uploads,
            limit=upload_limit(ctx),
            actor=ctx.actor,
            now=ctx.now,
        )
    except attachments.FilesRefused as refused:
        errors = [ctx.t.format(problem.message, problem.params) for problem in refused.problems]
        return VIEW.render(ctx, place, document, status=400, errors=errors)
    return VIEW.done(ctx, place, document, N_("Files attached: %(count)s."), {"count": len(added)})


@endpoint()
def delete(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place, "edit")
    name = attachments.remove(
        ctx.db, place.runtime, document.id, path_id(ctx, "file_id"), actor=ctx.actor, now=ctx.now
    )
    return VIEW.done(ctx, place, document, N_("File “%(name)s” removed."), {"name": name})


def _attachment(ctx: Ctx) -> Attachment:
    place = stream_place(ctx)
    document = document_of(ctx, place)
    return attachments.find(ctx.db, place.runtime.key, document.id, path_id(ctx, "file_id"))


def disposition(kind: str, name: str) -> str:
    """``attachment`` or ``inline`` with the name for old browsers (ASCII, no quotes) and
    in full as RFC 5987 UTF-8."""
    plain = "".join(char if 32 <= ord(char) < 127 and char not in '"\\' else "_" for char in name)
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def _file_response(
    ctx: Ctx, attachment: Attachment, media_type: str, headers: dict[str, str]
) -> Response:
    path = _store(ctx).path(attachment.storage_key)
    return FileResponse(
        path,
        media_type=media_type,
        headers={
            "x-content-type-options": "nosniff",
            "cross-origin-resource-policy": "same-origin",
            "cache-control": "private, no-store",
            **headers,
        },
    )


@endpoint()
def download(ctx: Ctx) -> Response:
    attachment = _attachment(ctx)
    return _file_response(
        ctx,
        attachment,
        attachment.content_type,
        {
            "content-disposition": disposition("attachment", attachment.name),
            "content-security-policy": SANDBOXED,
        },
    )


@endpoint()
def preview(ctx: Ctx) -> Response:
    attachment = _attachment(ctx)
    shown_as = attachments.preview_type(attachment.content_type)
    if shown_as is None:
        return ctx.redirect(
            ctx.url(
                "runtime:file_download",
                stream=str(ctx.request.path_params["stream"]),
                doc_id=int(ctx.request.path_params["doc_id"]),
                file_id=path_id(ctx, "file_id"),
            )
        )
    policy = PDF_POLICY if shown_as == "application/pdf" else SANDBOXED
    return _file_response(
        ctx,
        attachment,
        shown_as,
        {
            "content-disposition": disposition("inline", attachment.name),
            "content-security-policy": policy,
        },
    )


routes: list[BaseRoute] = [
    Route("/{stream}/{doc_id:int}/files", panel, name="files"),
    Route("/{stream}/{doc_id:int}/files", upload, methods=["POST"], name="files_upload"),
    Route("/{stream}/{doc_id:int}/files/{file_id:int}/download", download, name="file_download"),
    Route("/{stream}/{doc_id:int}/files/{file_id:int}/preview", preview, name="file_preview"),
    Route(
        "/{stream}/{doc_id:int}/files/{file_id:int}/delete",
        delete,
        methods=["POST"],
        name="file_delete",
    ),
]
