"""Views are plain functions of a :class:`Ctx`, wrapped by :func:`endpoint`.

The wrapper checks login and capability, reads the form, runs the view in a worker thread
inside one database transaction and commits it — unless the view answers with an error
status (4xx/5xx) or raises, in which case nothing the view did is kept. ``GET`` views run in
a read transaction; unsafe methods in a write transaction.

    @endpoint(capability=USERS)
    def user_list(ctx: Ctx) -> Response:
        return ctx.render("platform/admin/users.html", {"users": ...})
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from potok.errors import BadRequest, NotAuthenticated, PermissionDenied
from potok.platform.audit import Actor
from potok.platform.auth import CurrentUser
from potok.platform.csrf import SAFE_METHODS
from potok.platform.i18n import Translator
from potok.platform.templating import url_path
from potok.platform.web.page import (
    FLASH_COOKIE,
    base_context,
    current_user,
    flash_serializer,
    is_htmx,
    translator_for,
)

if TYPE_CHECKING:
    from potok.platform.services import Services

View = Callable[["Ctx"], Response]
MAX_FORM_FIELDS = 2000
MAX_FORM_FILES = 50


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


@dataclass
class Ctx:
    """One request as a view sees it. Everything is passed in; nothing is global."""

    request: Request
    services: Services
    db: Session
    user: CurrentUser | None
    t: Translator
    form: FormData
    now: datetime
    keep_changes_on_error: bool = False
    _flashes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    _cookies: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)

    @property
    def ip(self) -> str:
        return client_ip(self.request)

    @property
    def actor(self) -> Actor:
        if self.user is None:
            return Actor(None, "", self.ip)
        return self.user.actor(self.ip)

    @property
    def me(self) -> CurrentUser:
        """The logged-in user (views behind ``endpoint(login=True)`` always have one)."""
        if self.user is None:
            raise NotAuthenticated()
        return self.user

    @property
    def is_htmx(self) -> bool:
        return is_htmx(self.request)

    def url(self, name: str, **params: Any) -> str:
        return url_path(self.request.app, name, params)

    def require(self, capability: str) -> None:
        if not self.me.can(capability):
            raise PermissionDenied()

    def form_list(self, name: str) -> list[str]:
        return [str(value) for value in self.form.getlist(name)]

    def render(
        self,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
        fragment: str | None = None,
    ) -> Response:
        """Render ``template`` in the layout, or just ``fragment`` for an htmx request."""
        chosen = fragment if fragment and self.is_htmx else template
        values = base_context(self.services, self.request, session=self.db, nav=chosen is template)
        values.update(context or {})
        html = self.services.templates.get_template(chosen).render(values)
        response = HTMLResponse(html, status_code=status)
        if values["flashes"]:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response

    def redirect(self, url: str) -> Response:
        if self.is_htmx:
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    def flash(
        self, message: str, params: Mapping[str, Any] | None = None, kind: str = "success"
    ) -> None:
        """Show ``message`` (a message id) on the next page this browser renders."""
        self._flashes.append((kind, message, dict(params or {})))

    def set_cookie(self, name: str, value: str | None, **options: Any) -> None:
        """Set (or with ``value=None`` delete) a cookie on whatever response the view returns."""
        self._cookies.append((name, value, options))

    def finish(self, response: Response) -> Response:
        secure = self.services.settings.secure_cookies == "on" or (
            self.services.settings.secure_cookies == "auto" and self.request.url.scheme == "https"
        )
        if self._flashes:
            response.set_cookie(
                FLASH_COOKIE,
                flash_serializer(self.services).dumps(self._flashes),
                httponly=True,
                samesite="lax",
                secure=secure,
                path="/",
            )
        for name, value, options in self._cookies:
            if value is None:
                response.delete_cookie(name, path="/")
            else:
                options = {
                    "httponly": True,
                    "samesite": "lax",
                    "secure": secure,
                    "path": "/",
                    **options,
                }
                response.set_cookie(name, value, **options)
        return response


def _allowed(user: CurrentUser | None, login: bool, capability: str | None) -> None:
    if login and user is None:
        raise NotAuthenticated()
    if capability is not None and (user is None or not user.can(capability)):
        raise PermissionDenied()


@dataclass(frozen=True)
class _Guard:
    login: bool
    capability: str | None


def _run(
    view: View,
    request: Request,
    services: Services,
    guard: _Guard,
    form: FormData,
    write: bool,
) -> Response:
    with services.db.session(write=write) as session:
        # The session cookie is looked up here, in this transaction (unless an unsafe
        # request had it looked up before its body was read).
        user = current_user(request.scope, session)
        _allowed(user, guard.login, guard.capability)
        ctx = Ctx(
            request=request,
            services=services,
            db=session,
            user=user,
            t=translator_for(services, request.scope),
            form=form,
            now=services.clock(),
        )
        response = view(ctx)
        if response.status_code >= 400 and not ctx.keep_changes_on_error:
            session.rollback()
        return ctx.finish(response)


def endpoint(
    *, login: bool = True, capability: str | None = None, write: bool | None = None
) -> Callable[[View], Callable[[Request], Awaitable[Response]]]:
    """Turn a view of :class:`Ctx` into a Starlette endpoint (see the module docstring)."""
    guard = _Guard(login, capability)

    def decorate(view: View) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(view)
        async def run(request: Request) -> Response:
            services: Services = request.app.state.services
            unsafe = request.method not in SAFE_METHODS
            form = FormData()
            if unsafe:
                # Who is asking is known before a body is read: a stranger's upload is refused
                # unread. (Safe requests look the user up in the view's own transaction.)
                user = await run_in_threadpool(current_user, request.scope)
                _allowed(user, login, capability)
                try:
                    form = await request.form(max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS)
                except MultiPartException as exc:
                    raise BadRequest() from exc
            try:
                return await run_in_threadpool(
                    _run, view, request, services, guard, form, unsafe if write is None else write
                )
            finally:
                await form.close()

        return run

    return decorate
