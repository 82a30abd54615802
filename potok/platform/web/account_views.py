"""The user's own account: name, e-mail, language, password, and open sessions."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from potok.errors import N_, NotFound, ValidationFailed
from potok.platform import accounts, audit, auth
from potok.platform.models import User, UserSession
from potok.platform.web.context import Ctx, endpoint
from potok.platform.web.page import LANG_COOKIE
from potok.platform.web.session_views import LANG_COOKIE_MAX_AGE


def _me(ctx: Ctx) -> User:
    user = ctx.db.get(User, ctx.me.id)
    if user is None:
        raise NotFound()
    return user


def _profile_of(user: User) -> dict[str, Any]:
    return {"full_name": user.full_name, "email": user.email or "", "language": user.language or ""}


def _page(
    ctx: Ctx,
    user: User,
    *,
    profile: dict[str, Any] | None = None,
    profile_errors: dict[str, str] | None = None,
    password_errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    sessions = auth.open_sessions(ctx.db, user.id, now=ctx.now, timeouts=ctx.services.timeouts)
    return ctx.render(
        "platform/account.html",
        {
            "account": user,
            "profile": profile or _profile_of(user),
            "profile_errors": profile_errors or {},
            "password_errors": password_errors or {},
            "sessions": sessions,
            "current_session": ctx.me.session_id,
        },
        status=status,
    )


@endpoint()
def account(ctx: Ctx) -> Response:
    user = _me(ctx)
    if ctx.request.method == "GET":
        return _page(ctx, user)
    values = accounts.UserInput(
        username=user.username,
        full_name=str(ctx.form.get("full_name", "")),
        email=str(ctx.form.get("email", "")),
        language=str(ctx.form.get("language", "")),
        department_id=str(user.department_id or ""),
        role_ids=tuple(str(role.id) for role in user.roles),
        is_active=True,
    )
    try:
        accounts.update_user(ctx.db, ctx.actor, user, values, now=ctx.now)
    except ValidationFailed as error:
        profile = {
            "full_name": values.full_name,
            "email": values.email,
            "language": values.language,
        }
        return _page(ctx, user, profile=profile, profile_errors=error.field_errors, status=400)
    # "Server default" drops the browser's choice too, or the old cookie would still win.
    ctx.set_cookie(LANG_COOKIE, values.language or None, max_age=LANG_COOKIE_MAX_AGE)
    ctx.flash(N_("Your profile is saved."))
    return ctx.redirect(ctx.url("account"))


@endpoint()
def change_password(ctx: Ctx) -> Response:
    user = _me(ctx)
    try:
        accounts.change_own_password(
            ctx.db,
            ctx.actor,
            user,
            current=str(ctx.form.get("current_password", "")),
            new=str(ctx.form.get("new_password", "")),
            repeat=str(ctx.form.get("repeat_password", "")),
            now=ctx.now,
        )
    except ValidationFailed as error:
        return _page(ctx, user, password_errors=error.field_errors, status=400)
    ended = auth.end_user_sessions(
        ctx.db, user.id, now=ctx.now, reason="password changed", keep=ctx.me.session_id
    )
    ctx.flash(
        N_("Your password is changed. Sessions ended on other devices: %(count)s."),
        {"count": ended},
    )
    return ctx.redirect(ctx.url("account"))


@endpoint()
def end_session(ctx: Ctx) -> Response:
    session_id = str(ctx.request.path_params["session_id"])
    row = ctx.db.get(UserSession, session_id)
    if row is None or row.user_id != ctx.me.id or row.revoked_at is not None:
        raise NotFound()
    auth.end_session(ctx.db, session_id, now=ctx.now, reason="ended by user")
    audit.record(
        ctx.db,
        ctx.actor,
        "session.end",
        at=ctx.now,
        object_type="user",
        object_id=ctx.me.id,
        object_label=ctx.me.username,
    )
    if session_id == ctx.me.session_id:
        ctx.set_cookie(auth.SESSION_COOKIE, None)
        return ctx.redirect(ctx.url("login"))
    ctx.flash(N_("The session is ended."))
    return ctx.redirect(ctx.url("account"))
