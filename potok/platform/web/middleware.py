"""Middleware every request passes: security headers, the request body limit, and who the
user is (session cookie) and which language they read."""

from __future__ import annotations

import logging
from datetime import datetime
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from potok.errors import PayloadTooLarge, PotokError
from potok.platform import auth
from potok.platform.i18n import ByteSize
from potok.platform.web.errors import as_potok_error, render_error
from potok.platform.web.page import EXPIRED_KEY, LANG_COOKIE, LANG_KEY, PENDING_KEY, USER_KEY

if TYPE_CHECKING:
    from potok.platform.services import Services

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


class SecurityHeadersMiddleware:
    """Adds the security headers to every response, and ``no-store`` to dynamic ones."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Refuses request bodies over ``POTOK_MAX_REQUEST_BYTES`` with 413: at once when the
    declared length is too big, or as soon as the streamed body passes the limit."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services
        self.limit = services.settings.max_request_bytes

    def _error(self) -> PayloadTooLarge:
        return PayloadTooLarge(params={"limit": ByteSize(self.limit)})

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await run_in_threadpool(render_error, self.services, request, self._error())
        response.headers["connection"] = "close"
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    await self._refuse(scope, receive, send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise self._error()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except PayloadTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)


def _cookies(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: S112 - a malformed cookie header is ignored
                continue
            found.update({key: morsel.value for key, morsel in jar.items()})
    return found


class SessionMiddleware:
    """Puts who the user is (or None) and the interface language into the scope.

    The session cookie is looked up lazily (``page.resolve_session``): a view looks it up in
    its own worker thread and database transaction, so a request makes one thread hop and
    one transaction, not two. Whatever needs the user first — a view, an error page — asks.
    """

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    def _lookup(self, token: str, session: Session | None) -> auth.SessionLookup:
        services = self.services
        now = services.clock()
        if session is None:
            with services.db.session() as own:
                found = self._find(own, token, now)
        else:
            found = self._find(session, token, now)
        if found.touch and found.user is not None:
            with services.db.session(write=True) as writing:
                auth.touch_session(writing, found.user.session_id, now)
        return found

    def _find(self, session: Session, token: str, now: datetime) -> auth.SessionLookup:
        services = self.services
        return auth.find_session(
            session, token, now=now, timeouts=services.timeouts, registry=services.capabilities
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        token = cookies.get(auth.SESSION_COOKIE)
        scope[USER_KEY] = None
        scope[EXPIRED_KEY] = False
        scope[LANG_KEY] = self._language(None, cookies)
        if token:

            def resolve(scope: Scope, session: Session | None) -> None:
                try:
                    found = self._lookup(token, session)
                except Exception as exc:
                    error = as_potok_error(exc)
                    if error.status >= 500 and not isinstance(exc, PotokError):
                        log.error("session lookup failed", exc_info=exc)
                    raise error from exc
                scope[USER_KEY] = found.user
                scope[EXPIRED_KEY] = found.expired
                scope[LANG_KEY] = self._language(found.user, cookies)

            scope[PENDING_KEY] = resolve
        await self.app(scope, receive, send)

    def _language(self, user: auth.CurrentUser | None, cookies: dict[str, str]) -> str:
        catalogs = self.services.catalogs
        if user is not None and catalogs.supported(user.language):
            return str(user.language)
        chosen = cookies.get(LANG_COOKIE)
        if catalogs.supported(chosen):
            return str(chosen)
        return catalogs.default_language
