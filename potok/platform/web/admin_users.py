"""Administration of users and roles (capability ``users``)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from potok.errors import N_, ValidationFailed
from potok.platform import accounts, audit, auth, org
from potok.platform.auth import capabilities_of
from potok.platform.capabilities import USERS
from potok.platform.models import User
from potok.platform.web.context import Ctx, endpoint


def _user_form_context(ctx: Ctx) -> dict[str, Any]:
    return {
        "roles": accounts.list_roles(ctx.db),
        "departments": org.department_tree(ctx.db),
    }


def _values_of(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email or "",
        "language": user.language or "",
        "department_id": str(user.department_id or ""),
        "role_ids": [str(role.id) for role in user.roles],
        "is_active": user.is_active,
    }


def _values_from_input(values: accounts.UserInput) -> dict[str, Any]:
    return {
        "username": values.username,
        "full_name": values.full_name,
        "email": values.email,
        "language": values.language,
        "department_id": values.department_id,
        "role_ids": list(values.role_ids),
        "is_active": values.is_active,
    }


@endpoint(capability=USERS)
def user_list(ctx: Ctx) -> Response:
    search = ctx.request.query_params.get("q", "")[:100]
    show = ctx.request.query_params.get("show", "all")
    users = accounts.list_users(ctx.db, search=search, include_inactive=show != "active")
    return ctx.render(
        "platform/admin/users.html",
        {"users": users, "search": search, "show": show},
        fragment="platform/admin/_users_table.html",
    )


@endpoint(capability=USERS)
def user_new(ctx: Ctx) -> Response:
    if ctx.request.method == "GET":
        values: dict[str, Any] = {"is_active": True, "role_ids": [], "language": ""}
        return ctx.render(
            "platform/admin/user_form.html",
            {"subject": None, "values": values, "errors": {}, **_user_form_context(ctx)},
        )
    submitted = accounts.UserInput.from_form(ctx.form, ctx.form_list("role_ids"))
    try:
        user = accounts.create_user(ctx.db, ctx.actor, submitted, now=ctx.now)
    except ValidationFailed as error:
        return ctx.render(
            "platform/admin/user_form.html",
            {
                "subject": None,
                "values": _values_from_input(submitted),
                "errors": error.field_errors,
                **_user_form_context(ctx),
            },
            status=400,
        )
    ctx.flash(N_("User %(name)s is created."), {"name": user.username})
    return ctx.redirect(ctx.url("admin:user", user_id=user.id))


@endpoint(capability=USERS)
def user_edit(ctx: Ctx) -> Response:
    user = accounts.get_user(ctx.db, int(ctx.request.path_params["user_id"]))
    sessions = auth.open_sessions(ctx.db, user.id, now=ctx.now, timeouts=ctx.services.timeouts)
    context: dict[str, Any] = {"subject": user, "sessions": sessions, **_user_form_context(ctx)}
    if ctx.request.method == "GET":
        return ctx.render(
            "platform/admin/user_form.html", {**context, "values": _values_of(user), "errors": {}}
        )
    submitted = accounts.UserInput.from_form(ctx.form, ctx.form_list("role_ids"))
    submitted = accounts.UserInput(**{**submitted.__dict__, "username": user.username})
    try:
        changes = accounts.update_user(ctx.db, ctx.actor, user, submitted, now=ctx.now)
    except ValidationFailed as error:
        return ctx.render(
            "platform/admin/user_form.html",
            {**context, "values": _values_from_input(submitted), "errors": error.field_errors},
            status=400,
        )
    if "active" in changes and not user.is_active:
        auth.end_user_sessions(ctx.db, user.id, now=ctx.now, reason="user disabled")
    elif "password" in changes:
        # Like a change on the account page: one's own current session stays.
        keep = ctx.me.session_id if user.id == ctx.me.id else None
        auth.end_user_sessions(ctx.db, user.id, now=ctx.now, reason="password reset", keep=keep)
    ctx.flash(N_("User %(name)s is saved."), {"name": user.username})
    if user.id == ctx.me.id and USERS not in capabilities_of(user.roles, ctx.services.capabilities):
        # You gave away your own right to manage users: the form is no longer yours to see.
        return ctx.redirect(ctx.url("home"))
    return ctx.redirect(ctx.url("admin:user", user_id=user.id))


@endpoint(capability=USERS)
def user_end_sessions(ctx: Ctx) -> Response:
    user = accounts.get_user(ctx.db, int(ctx.request.path_params["user_id"]))
    ended = auth.end_user_sessions(ctx.db, user.id, now=ctx.now, reason="ended by administrator")
    audit.record(
        ctx.db,
        ctx.actor,
        "user.sessions_ended",
        at=ctx.now,
        object_type="user",
        object_id=user.id,
        object_label=user.username,
        details={"count": ended},
    )
    ctx.flash(N_("Sessions ended: %(count)s."), {"count": ended})
    if user.id == ctx.me.id:
        ctx.set_cookie(auth.SESSION_COOKIE, None)
        return ctx.redirect(ctx.url("login"))
    return ctx.redirect(ctx.url("admin:user", user_id=user.id))


# Roles --------------------------------------------------------------------------------------


def _role_values(role: Any) -> dict[str, Any]:
    return {
        "key": role.key,
        "label_en": role.labels.get("en", ""),
        "label_ru": role.labels.get("ru", ""),
        "description": role.description,
        "capabilities": list(role.capabilities),
    }


def _role_input_values(values: accounts.RoleInput) -> dict[str, Any]:
    return {**values.__dict__, "capabilities": list(values.capabilities)}


@endpoint(capability=USERS)
def role_list(ctx: Ctx) -> Response:
    return ctx.render(
        "platform/admin/roles.html",
        {"roles": accounts.list_roles(ctx.db), "members": accounts.role_member_counts(ctx.db)},
    )


@endpoint(capability=USERS)
def role_new(ctx: Ctx) -> Response:
    context: dict[str, Any] = {"subject": None, "capabilities": list(ctx.services.capabilities)}
    if ctx.request.method == "GET":
        return ctx.render(
            "platform/admin/role_form.html",
            {**context, "values": {"capabilities": []}, "errors": {}},
        )
    submitted = accounts.RoleInput.from_form(ctx.form, ctx.form_list("capabilities"))
    try:
        role = accounts.create_role(
            ctx.db, ctx.actor, submitted, ctx.services.capabilities, now=ctx.now
        )
    except ValidationFailed as error:
        return ctx.render(
            "platform/admin/role_form.html",
            {**context, "values": _role_input_values(submitted), "errors": error.field_errors},
            status=400,
        )
    ctx.flash(N_("Role %(name)s is created."), {"name": role.label(ctx.t.language)})
    return ctx.redirect(ctx.url("admin:roles"))


@endpoint(capability=USERS)
def role_edit(ctx: Ctx) -> Response:
    role = accounts.get_role(ctx.db, int(ctx.request.path_params["role_id"]))
    context: dict[str, Any] = {"subject": role, "capabilities": list(ctx.services.capabilities)}
    if ctx.request.method == "GET":
        return ctx.render(
            "platform/admin/role_form.html", {**context, "values": _role_values(role), "errors": {}}
        )
    submitted = accounts.RoleInput.from_form(ctx.form, ctx.form_list("capabilities"))
    try:
        accounts.update_role(
            ctx.db, ctx.actor, role, submitted, ctx.services.capabilities, now=ctx.now
        )
    except ValidationFailed as error:
        return ctx.render(
            "platform/admin/role_form.html",
            {**context, "values": _role_input_values(submitted), "errors": error.field_errors},
            status=400,
        )
    ctx.flash(N_("Role %(name)s is saved."), {"name": role.label(ctx.t.language)})
    return ctx.redirect(ctx.url("admin:roles"))


@endpoint(capability=USERS)
def role_delete(ctx: Ctx) -> Response:
    role = accounts.get_role(ctx.db, int(ctx.request.path_params["role_id"]))
    name = role.label(ctx.t.language)
    accounts.delete_role(ctx.db, ctx.actor, role, now=ctx.now)
    ctx.flash(N_("Role %(name)s is deleted."), {"name": name})
    return ctx.redirect(ctx.url("admin:roles"))
