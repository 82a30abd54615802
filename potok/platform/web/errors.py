"""Every error response is made here: a page in the layout, an htmx fragment, or JSON — in
the user's language, with the status of the :class:`~potok.errors.PotokError` class.

Starlette's own HTTP errors (unknown URL, wrong method), database outages and unexpected
exceptions are mapped onto the same hierarchy first, so they look the same.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from potok.errors import NotAuthenticated, PotokError, ServiceUnavailable, error_for_status
from potok.platform.db import is_unavailable
from potok.platform.web.page import base_context, is_htmx, translator_for, wants_json

if TYPE_CHECKING:
    from potok.platform.services import Services

log = logging.getLogger(__name__)


def as_potok_error(exc: BaseException) -> PotokError:
    if isinstance(exc, PotokError):
        return exc
    if isinstance(exc, HTTPException):
        error = error_for_status(exc.status_code)
        if exc.headers:
            error.headers.update(exc.headers)
        return error
    if is_unavailable(exc):
        return ServiceUnavailable()
    return PotokError()


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return str(request.app.url_path_for("login")) + "?" + urlencode({"next": target})


def render_error(services: Services, request: Request, error: PotokError) -> Response:
    translator = translator_for(services, request.scope)
    headers = dict(error.headers)
    if isinstance(error, NotAuthenticated) and not wants_json(request):
        target = login_url(request)
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        if request.method in ("GET", "HEAD"):
            return RedirectResponse(target, status_code=303)
    if wants_json(request):
        body: dict[str, object] = {
            "error": translator.error_title(error),
            "detail": translator.error_message(error),
            "status": error.status,
        }
        if error.field_errors:
            body["fields"] = {
                name: translator.gettext(message) for name, message in error.field_errors.items()
            }
        return JSONResponse(body, status_code=error.status, headers=headers)
    context = base_context(services, request)
    context.update(
        error=error,
        status=error.status,
        title=translator.error_title(error),
        message=translator.error_message(error),
    )
    if is_htmx(request):
        # Show the message in the page's message area instead of the swap target.
        headers.update({"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"})
        template = "platform/_error.html"
    else:
        template = "platform/error.html"
    html = services.templates.get_template(template).render(context)
    return HTMLResponse(html, status_code=error.status, headers=headers)


def handler(services: Services):  # type: ignore[no-untyped-def]
    """The exception handler Starlette calls for any exception reaching the router level."""

    def handle(request: Request, exc: Exception) -> Response:
        error = as_potok_error(exc)
        if error.status >= 500 and not isinstance(exc, PotokError | HTTPException):
            log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        try:
            return render_error(services, request, error)
        except Exception:
            log.exception("the error page itself failed")
            return HTMLResponse(
                "<!doctype html><title>Potok</title><h1>Error</h1>", status_code=error.status
            )

    return handle


def responder(services: Services, error_type: type[PotokError]):  # type: ignore[no-untyped-def]
    """An ASGI callable answering with ``error_type`` (for middleware that refuses early)."""

    async def respond(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = render_error(services, request, error_type())
        await response(scope, receive, send)

    return respond
