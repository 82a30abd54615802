"""Protection against cross-site request forgery, for every unsafe request.

Signed double submit: the browser holds a random value in the HttpOnly cookie
``potok_csrf``; pages carry ``HMAC(secret key, cookie value)`` as the hidden input
``csrf_token`` (forms) or the header ``X-CSRF-Token`` (htmx sets it from ``hx-headers`` on
``<body>``). A POST, PUT, PATCH or DELETE whose token does not match its cookie is refused
with 403 before any view runs, so nothing changes. Logging in rotates the cookie.

Why not a library: starlette-csrf reads only a header, and asgi-csrf lets requests without
cookies through and ignores the configured field name in multipart forms. The crypto is the
standard library's ``hmac``; the multipart scanning is python-multipart's streaming parser.
Only the part of a body before the token is buffered: ours put ``csrf_token`` first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from potok.errors import PotokError

CSRF_COOKIE = "potok_csrf"
FORM_FIELD = "csrf_token"
HEADER = b"x-csrf-token"
SCOPE_KEY = "potok.csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def token_for(secret_key: str, cookie_value: str) -> str:
    digest = hmac.new(
        secret_key.encode("utf-8"), b"csrf:" + cookie_value.encode("ascii"), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class CsrfState:
    """The request's CSRF cookie value and the token that goes with it."""

    def __init__(self, secret_key: str, cookie_value: str | None) -> None:
        self._secret_key = secret_key
        self.from_cookie = cookie_value
        self.value = cookie_value or secrets.token_urlsafe(32)
        self.must_set_cookie = cookie_value is None

    @property
    def token(self) -> str:
        return token_for(self._secret_key, self.value)

    def rotate(self) -> None:
        """Use a new value from this response on (after a login, against fixation)."""
        self.value = secrets.token_urlsafe(32)
        self.must_set_cookie = True

    def accepts(self, submitted: str | None) -> bool:
        if not self.from_cookie or not submitted:
            return False
        expected = token_for(self._secret_key, self.from_cookie)
        return hmac.compare_digest(submitted.encode("utf-8"), expected.encode("utf-8"))


def _cookie_value(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # noqa: S112 - a malformed cookie header is just no cookie
                continue
            morsel = cookie.get(CSRF_COOKIE)
            if morsel is not None and _COOKIE_VALUE.match(morsel.value):
                return morsel.value
    return None


class _Found(Exception):
    def __init__(self, token: str) -> None:
        self.token = token


class _FileFirst(Exception):
    pass


class _BodyReader:
    """Reads the request body from ``receive`` while keeping it for replay."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._kept: list[Message] = []
        self.done = False

    async def chunks(self) -> AsyncIterator[bytes]:
        while not self.done:
            message = await self._receive()
            self._kept.append(message)
            if message["type"] != "http.request":
                self.done = True
                return
            self.done = not message.get("more_body", False)
            yield message.get("body", b"")

    async def replay(self) -> Message:
        if self._kept:
            return self._kept.pop(0)
        return await self._receive()


async def _urlencoded_token(reader: _BodyReader) -> str | None:
    body = b"".join([chunk async for chunk in reader.chunks()])
    values = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    found = values.get(FORM_FIELD)
    return found[0] if found else None


class _MultipartScanner:
    """Callbacks for python-multipart that stop at the token field, or at a file before it."""

    MAX_TOKEN_BYTES = 1024

    def __init__(self) -> None:
        self.header_field = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.in_token = False
        self.data = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        if b"filename" in options:
            raise _FileFirst
        self.in_token = options.get(b"name") == FORM_FIELD.encode()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_token:
            self.data += data[start:end]
            if len(self.data) > self.MAX_TOKEN_BYTES:
                raise _FileFirst

    def on_part_end(self) -> None:
        if self.in_token:
            raise _Found(self.data.decode("utf-8", "replace"))
        self.headers, self.in_token = {}, False


async def _multipart_token(reader: _BodyReader, boundary: bytes) -> str | None:
    scanner = _MultipartScanner()
    callbacks = {
        name: getattr(scanner, name)
        for name in (
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_part_data",
            "on_part_end",
        )
    }
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        async for chunk in reader.chunks():
            parser.write(chunk)
    except _Found as found:
        return found.token
    except PotokError:
        raise
    except Exception:
        return None
    return None


async def submitted_token(scope: Scope, reader: _BodyReader) -> str | None:
    headers = dict(scope["headers"])
    if HEADER in headers:
        return headers[HEADER].decode("latin-1")
    content_type, options = parse_options_header(headers.get(b"content-type", b""))
    if content_type == b"application/x-www-form-urlencoded":
        return await _urlencoded_token(reader)
    if content_type == b"multipart/form-data" and options.get(b"boundary"):
        return await _multipart_token(reader, options[b"boundary"])
    return None


FailureResponder = Callable[[Scope, Receive, Send], Awaitable[None]]


class CsrfMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_key: str,
        exempt_prefixes: Sequence[str],
        secure_cookies: str,
        on_failure: FailureResponder,
    ) -> None:
        self.app = app
        self.secret_key = secret_key
        self.exempt_prefixes = tuple(exempt_prefixes)
        self.secure_cookies = secure_cookies
        self.on_failure = on_failure

    def _secure(self, scope: Scope) -> bool:
        if self.secure_cookies == "auto":
            return bool(scope.get("scheme") == "https")
        return self.secure_cookies == "on"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = CsrfState(self.secret_key, _cookie_value(scope))
        scope[SCOPE_KEY] = state

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and state.must_set_cookie:
                headers = MutableHeaders(scope=message)
                secure = "; Secure" if self._secure(scope) else ""
                headers.append(
                    "set-cookie",
                    f"{CSRF_COOKIE}={state.value}; Path=/; HttpOnly; SameSite=Lax{secure}",
                )
            await send(message)

        if scope["method"] in SAFE_METHODS or scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send_with_cookie)
            return
        reader = _BodyReader(receive)
        if not state.accepts(await submitted_token(scope, reader)):
            await self.on_failure(scope, reader.replay, send_with_cookie)
            return
        await self.app(scope, reader.replay, send_with_cookie)
