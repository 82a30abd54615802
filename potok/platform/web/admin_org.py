"""Administration of departments and deputies (capability ``users``)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from starlette.responses import Response

from potok.errors import N_, ValidationFailed
from potok.platform import accounts, org
from potok.platform.capabilities import USERS
from potok.platform.models import Department
from potok.platform.web.context import Ctx, endpoint


def _department_values(department: Department) -> dict[str, Any]:
    return {
        "name": department.name,
        "code": department.code or "",
        "parent_id": str(department.parent_id or ""),
        "head_id": str(department.head_id or ""),
        "position": str(department.position),
    }


def _department_form(
    ctx: Ctx,
    subject: Department | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    tree = org.department_tree(ctx.db)
    if subject is not None:
        # A department cannot move under itself or its descendants: leave them out.
        excluded: set[int] = {subject.id}
        for node in tree:
            if node.department.parent_id in excluded:
                excluded.add(node.department.id)
        tree = [node for node in tree if node.department.id not in excluded]
    return ctx.render(
        "platform/admin/department_form.html",
        {
            "subject": subject,
            "values": values,
            "errors": errors,
            "parents": tree,
            "users": accounts.list_users(ctx.db, include_inactive=False),
            "members": [] if subject is None else _members(ctx, subject),
        },
        status=status,
    )


def _members(ctx: Ctx, department: Department) -> list[Any]:
    return [user for user in accounts.list_users(ctx.db) if user.department_id == department.id]


@endpoint(capability=USERS)
def department_list(ctx: Ctx) -> Response:
    return ctx.render("platform/admin/departments.html", {"tree": org.department_tree(ctx.db)})


@endpoint(capability=USERS)
def department_new(ctx: Ctx) -> Response:
    if ctx.request.method == "GET":
        parent = ctx.request.query_params.get("parent", "")
        values = {"parent_id": parent if parent.isdigit() else "", "position": "0"}
        return _department_form(ctx, None, values, {})
    submitted = org.DepartmentInput.from_form(ctx.form)
    try:
        department = org.create_department(ctx.db, ctx.actor, submitted, now=ctx.now)
    except ValidationFailed as error:
        return _department_form(ctx, None, asdict(submitted), error.field_errors, 400)
    ctx.flash(N_("Department %(name)s is created."), {"name": department.name})
    return ctx.redirect(ctx.url("admin:departments"))


@endpoint(capability=USERS)
def department_edit(ctx: Ctx) -> Response:
    department = org.get_department(ctx.db, int(ctx.request.path_params["department_id"]))
    if ctx.request.method == "GET":
        return _department_form(ctx, department, _department_values(department), {})
    submitted = org.DepartmentInput.from_form(ctx.form)
    try:
        org.update_department(ctx.db, ctx.actor, department, submitted, now=ctx.now)
    except ValidationFailed as error:
        return _department_form(ctx, department, asdict(submitted), error.field_errors, 400)
    ctx.flash(N_("Department %(name)s is saved."), {"name": department.name})
    return ctx.redirect(ctx.url("admin:departments"))


@endpoint(capability=USERS)
def department_delete(ctx: Ctx) -> Response:
    department = org.get_department(ctx.db, int(ctx.request.path_params["department_id"]))
    name = department.name
    org.delete_department(ctx.db, ctx.actor, department, now=ctx.now)
    ctx.flash(N_("Department %(name)s is deleted."), {"name": name})
    return ctx.redirect(ctx.url("admin:departments"))


# Deputies -----------------------------------------------------------------------------------


def _deputy_page(
    ctx: Ctx, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    today = ctx.t.local(ctx.now).date()
    show_past = ctx.request.query_params.get("past") == "1"
    return ctx.render(
        "platform/admin/deputies.html",
        {
            "deputies": org.list_deputies(ctx.db, today=today, include_past=show_past),
            "users": accounts.list_users(ctx.db, include_inactive=False),
            "values": values,
            "errors": errors,
            "today": today,
            "show_past": show_past,
        },
        status=status,
    )


@endpoint(capability=USERS)
def deputy_list(ctx: Ctx) -> Response:
    today = ctx.t.local(ctx.now).date()
    if ctx.request.method == "GET":
        values = {
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=7)).isoformat(),
        }
        return _deputy_page(ctx, values, {})
    submitted = org.DeputyInput.from_form(ctx.form)
    try:
        org.create_deputy(ctx.db, ctx.actor, submitted, now=ctx.now)
    except ValidationFailed as error:
        return _deputy_page(ctx, asdict(submitted), error.field_errors, 400)
    ctx.flash(N_("The deputy is assigned."))
    return ctx.redirect(ctx.url("admin:deputies"))


@endpoint(capability=USERS)
def deputy_delete(ctx: Ctx) -> Response:
    org.delete_deputy(ctx.db, ctx.actor, int(ctx.request.path_params["deputy_id"]), now=ctx.now)
    ctx.flash(N_("The deputy assignment is removed."))
    return ctx.redirect(ctx.url("admin:deputies"))
