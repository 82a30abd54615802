"""Home, health check, logging in and out, and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from potok.errors import N_, TooManyRequests, ValidationFailed
from potok.platform import audit, auth
from potok.platform.csrf import SCOPE_KEY as CSRF_SCOPE_KEY
from potok.platform.csrf import CsrfState
from potok.platform.models import User
from potok.platform.services import Services
from potok.platform.web.context import Ctx, endpoint
from potok.platform.web.page import EXPIRED_KEY, LANG_COOKIE

LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site paths may be redirect targets (no ``//host``, no scheme)."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(char) < 32 for char in target):
        return fallback
    return target


@endpoint()
def home(ctx: Ctx) -> Response:
    sections = [item for item in ctx.services.nav_for(ctx.me, ctx.db) if item.url_name != "home"]
    return ctx.render("platform/home.html", {"sections": sections})


async def healthz(request: Request) -> Response:
    services: Services = request.app.state.services
    if await run_in_threadpool(services.db.ping):
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable", "database": "not answering"}, status_code=503)


def _login_page(ctx: Ctx, *, error: str | None = None, status: int = 200) -> Response:
    next_url = safe_next(
        str(ctx.form.get("next") or ctx.request.query_params.get("next") or ""), ""
    )
    return ctx.render(
        "platform/login.html",
        {
            "error": error,
            "username": str(ctx.form.get("username", ""))[:64],
            "next_url": next_url,
            "expired": bool(ctx.request.scope.get(EXPIRED_KEY))
            or ctx.request.query_params.get("expired") == "1",
        },
        status=status,
    )


@endpoint(login=False)
def login(ctx: Ctx) -> Response:
    if ctx.request.method == "GET":
        if ctx.user is not None:
            return ctx.redirect(safe_next(ctx.request.query_params.get("next"), ctx.url("home")))
        return _login_page(ctx)
    username = str(ctx.form.get("username", ""))
    password = str(ctx.form.get("password", ""))
    try:
        user = auth.authenticate(ctx.db, username, password, ip=ctx.ip, now=ctx.now)
    except TooManyRequests as error:
        ctx.keep_changes_on_error = True
        return _login_page(ctx, error=ctx.t.error_message(error), status=error.status)
    except ValidationFailed as error:
        ctx.keep_changes_on_error = True  # the failed attempt and its audit entry stay
        return _login_page(ctx, error=ctx.t.error_message(error), status=400)
    if ctx.user is not None:
        auth.end_session(ctx.db, ctx.user.session_id, now=ctx.now, reason="new login")
    token = auth.start_session(
        ctx.db, user, ip=ctx.ip, user_agent=ctx.request.headers.get("user-agent", ""), now=ctx.now
    )
    csrf_state = ctx.request.scope.get(CSRF_SCOPE_KEY)
    if isinstance(csrf_state, CsrfState):
        csrf_state.rotate()
    ctx.set_cookie(auth.SESSION_COOKIE, token)
    if user.language:
        ctx.set_cookie(LANG_COOKIE, user.language, max_age=LANG_COOKIE_MAX_AGE)
    return ctx.redirect(safe_next(str(ctx.form.get("next", "")), ctx.url("home")))


@endpoint(login=False)
def logout(ctx: Ctx) -> Response:
    if ctx.request.method == "GET":
        if ctx.user is None:
            return ctx.redirect(ctx.url("login"))
        return ctx.render("platform/logout.html")
    if ctx.user is not None:
        auth.end_session(ctx.db, ctx.user.session_id, now=ctx.now, reason="logout")
        audit.record(
            ctx.db,
            ctx.actor,
            "logout",
            at=ctx.now,
            object_type="user",
            object_id=ctx.user.id,
            object_label=ctx.user.username,
        )
    ctx.set_cookie(auth.SESSION_COOKIE, None)
    ctx.flash(N_("You have logged out."))
    return ctx.redirect(ctx.url("login"))


@endpoint(login=False)
def set_language(ctx: Ctx) -> Response:
    language = str(ctx.form.get("language", ""))
    back = safe_next(str(ctx.form.get("next", "")), ctx.url("home"))
    if not ctx.services.catalogs.supported(language):
        raise ValidationFailed(N_("Choose a language from the list."))
    if ctx.user is not None:
        user = ctx.db.get(User, ctx.user.id)
        if user is not None:
            user.language = language
    ctx.set_cookie(LANG_COOKIE, language, max_age=LANG_COOKIE_MAX_AGE)
    return ctx.redirect(back)
