"""Static files (our CSS and JS, vendored front-end libraries) served by WhiteNoise.

WhiteNoise is a WSGI library; this module uses its file table and responders (ETags,
conditional and range requests, caching headers) from an ASGI middleware. Each file is
published twice: under its plain name with a short cache lifetime, and under a name carrying
its content hash (``css/potok.3f2a1b9c04d1.css``) cached for a year as immutable. Templates
always link the hashed name through ``static()``, so a new release is never hidden by a
browser cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send
from whitenoise.base import WhiteNoise

PREFIX = "/static/"
CHUNK = 64 * 1024


def _hashed_name(relative: str, digest: str) -> str:
    path = PurePosixPath(relative)
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


class StaticFiles:
    """The static file table: ``url(path)`` for templates, ``middleware(app)`` to serve."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self._immutable: set[str] = set()
        self._whitenoise = WhiteNoise(
            None,
            max_age=300,
            allow_all_origins=False,
            immutable_file_test=lambda _path, url: url in self._immutable,
        )
        self._urls: dict[str, str] = {}
        for root in roots:
            for file in sorted(root.rglob("*")):
                if not file.is_file() or file.name.startswith("."):
                    continue
                relative = file.relative_to(root).as_posix()
                digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
                hashed = PREFIX + _hashed_name(relative, digest)
                self._immutable.add(hashed)
                self._whitenoise.add_file_to_dictionary(PREFIX + relative, str(file))
                self._whitenoise.add_file_to_dictionary(hashed, str(file))
                self._urls[relative] = hashed

    def url(self, relative: str) -> str:
        try:
            return self._urls[relative]
        except KeyError:
            raise LookupError(f"no static file {relative!r}") from None

    def middleware(self, app: ASGIApp) -> ASGIApp:
        files: dict[str, Any] = self._whitenoise.files

        async def serve_static(scope: Scope, receive: Receive, send: Send) -> None:
            static_file = (
                files.get(scope["path"])
                if scope["type"] == "http" and scope["path"].startswith(PREFIX)
                else None
            )
            if static_file is None or scope["method"] not in ("GET", "HEAD"):
                await app(scope, receive, send)
                return
            environ = {
                "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
                for name, value in scope["headers"]
            }
            response = static_file.get_response(scope["method"], environ)
            await send(
                {
                    "type": "http.response.start",
                    "status": int(response.status),
                    "headers": [
                        (name.lower().encode("latin-1"), value.encode("latin-1"))
                        for name, value in response.headers
                    ],
                }
            )
            if response.file is None:
                await send({"type": "http.response.body", "body": b""})
                return
            try:
                while True:
                    chunk = await anyio.to_thread.run_sync(response.file.read, CHUNK)
                    await send(
                        {"type": "http.response.body", "body": chunk, "more_body": bool(chunk)}
                    )
                    if not chunk:
                        break
            finally:
                response.file.close()

        return serve_static
