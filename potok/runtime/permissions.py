"""Who may do what with a stream's documents — decided here, in one place, for every path.

A stream's metadata grants each role a scope for reading, editing and deleting (none, own,
department, all) and yes/no for creating, exporting and configuring; it may hide a field
from a role or make it read-only. A user's rights are the union of their roles' grants.
Administrators (a role that may do everything) see and do everything.

*Own* documents are those the user registered or is responsible for (the stream's
``owner_field``); *department* adds those of people in the user's department and the
departments under it. A document is also readable by users it is shared with and by its
route's participants (whoever has or had a task on it — a deputy or a delegate too — and the
tasks' controllers). Reading is an
SQL condition (:func:`readable`) so lists, search, pickers, reverse links, reports and
exports all apply the same rule; single documents are checked with :func:`can`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    bindparam,
    event,
    false,
    or_,
    select,
    true,
)
from sqlalchemy.orm import ORMExecuteState, Session

from potok.platform.auth import CurrentUser
from potok.platform.models import Department, RouteInstance, RouteTask, User
from potok.runtime.streams import StreamRuntime
from potok.runtime.tables import Share

SCOPES = ("none", "own", "department", "all")


def _wider(a: str, b: str) -> str:
    return a if SCOPES.index(a) >= SCOPES.index(b) else b


@dataclass(frozen=True)
class Access:
    """One user's rights on one stream."""

    read: str = "none"
    edit: str = "none"
    delete: str = "none"
    create: bool = False
    export: bool = False
    configure: bool = False
    hidden: frozenset[str] = field(default_factory=frozenset)
    readonly: frozenset[str] = field(default_factory=frozenset)

    @property
    def sees_stream(self) -> bool:
        return self.read != "none" or self.create


ALL = Access("all", "all", "all", True, True, True)


def access_for(user: CurrentUser, runtime: StreamRuntime) -> Access:
    if user.superuser:
        return ALL
    rules: Mapping[str, Any] = runtime.access()
    read = edit = delete = "none"
    create = export = configure = False
    granted_roles = set()
    for grant in rules.get("grants", []):
        if grant["role"] not in user.roles:
            continue
        granted_roles.add(grant["role"])
        read = _wider(read, grant.get("read", "none"))
        edit = _wider(edit, grant.get("edit", "none"))
        delete = _wider(delete, grant.get("delete", "none"))
        create = create or bool(grant.get("create"))
        export = export or bool(grant.get("export"))
        configure = configure or bool(grant.get("configure"))
    # A field is hidden (or read-only) only when every role of the user that has a grant
    # says so: another role that shows it wins.
    per_field: dict[str, set[str]] = {}
    for rule in rules.get("fields", []):
        if rule["role"] in granted_roles:
            per_field.setdefault(rule["field"], set()).add(f"{rule['role']}:{rule['access']}")
    hidden, readonly = set(), set()
    for key, marks in per_field.items():
        roles_hiding = {mark.split(":")[0] for mark in marks if mark.endswith(":hidden")}
        roles_limiting = {mark.split(":")[0] for mark in marks}
        if roles_hiding == granted_roles:
            hidden.add(key)
        elif roles_limiting == granted_roles:
            readonly.add(key)
    # Editing implies reading what one may edit.
    read = _wider(read, edit)
    return Access(
        read, edit, delete, create, export, configure, frozenset(hidden), frozenset(readonly)
    )


def department_ids(session: Session, user: CurrentUser) -> list[int]:
    """The user's department and every department under it."""
    if user.department_id is None:
        return []
    rows = session.execute(select(Department.id, Department.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for department_id, parent_id in rows:
        children.setdefault(parent_id, []).append(department_id)
    found, stack = [], [user.department_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def _owners(runtime: StreamRuntime) -> list[ColumnElement[Any]]:
    table = runtime.compiled.table
    columns: list[ColumnElement[Any]] = [table.c.author_id]
    owner = runtime.stream.document.get("owner_field")
    if owner and owner in runtime.compiled.columns:
        columns.append(runtime.compiled.columns[owner])
    return columns


def scope_clause(
    session: Session, user: CurrentUser, runtime: StreamRuntime, scope: str
) -> ColumnElement[bool]:
    """Documents within ``scope`` for ``user`` (trash not excluded here)."""
    departments = department_ids(session, user) if scope == "department" else []
    return _scope(runtime, scope, user.id, departments)


def _scope(runtime: StreamRuntime, scope: str, me: Any, departments: Any) -> ColumnElement[bool]:
    """``scope`` as SQL; ``me`` and ``departments`` are values or bound parameters."""
    if scope == "all":
        return true()
    if scope == "none":
        return false()
    owners = _owners(runtime)
    clauses = [column == me for column in owners]
    if scope == "department" and (departments or isinstance(departments, BindParameter)):
        people = select(User.id).where(User.department_id.in_(departments))
        clauses += [column.in_(people) for column in owners]
    return or_(*clauses)


def _shared(runtime: StreamRuntime, me: Any) -> ColumnElement[bool]:
    return runtime.compiled.table.c.id.in_(
        select(Share.doc_id).where(Share.stream == runtime.key, Share.user_id == me)
    )


def _participant(
    runtime: StreamRuntime, me: Any, among: Collection[int] | None = None
) -> ColumnElement[bool]:
    """The user has (or had) a task on the document's route, acts for its owner (a deputy),
    or controls one of its tasks. An uncorrelated ``id IN (…)``: the user's tasks come from
    their indexes, so a list filtered by it never reads the stream's table row by row.
    ``among`` narrows it to known documents (a page of the inbox), so a user with thousands
    of tasks does not gather them all to check fifty."""
    documents = (
        select(RouteInstance.doc_id)
        .join(RouteTask, RouteTask.instance_id == RouteInstance.id)
        .where(
            RouteInstance.stream == runtime.key,
            or_(
                RouteTask.assignee_id == me,
                RouteTask.original_assignee_id == me,
                RouteTask.controller_id == me,
            ),
        )
    )
    if among is not None:
        documents = documents.where(RouteInstance.doc_id.in_(sorted(among)))
    return runtime.compiled.table.c.id.in_(documents)


def readable_within(
    runtime: StreamRuntime, scope: str, me: Any, departments: Any
) -> ColumnElement[bool]:
    """:func:`readable` for a statement built once: ``scope`` is the user's read scope,
    ``me`` and ``departments`` bound parameters (``departments`` an expanding one, given
    :func:`department_ids`)."""
    return or_(
        _scope(runtime, scope, me, departments),
        _shared(runtime, me),
        _participant(runtime, me),
    )


def readable(
    session: Session,
    user: CurrentUser,
    runtime: StreamRuntime,
    among: Collection[int] | None = None,
) -> ColumnElement[bool]:
    """The SQL condition for documents of ``runtime``'s stream that ``user`` may read;
    ``among``, when the caller asks about known documents only, keeps it to them."""
    access = access_for(user, runtime)
    return or_(
        scope_clause(session, user, runtime, access.read),
        _shared(runtime, user.id),
        _participant(runtime, user.id, among),
    )


def can(
    session: Session,
    user: CurrentUser,
    runtime: StreamRuntime,
    action: str,
    doc_id: int,
) -> bool:
    """Whether ``user`` may ``action`` (read, edit, delete) the document ``doc_id``.

    The three rights are read together in one query and kept in the session until it writes
    anything, so a page that asks several times (the card, its panels) asks the database once.
    """
    rights: dict[tuple[int, str, int], dict[str, bool]] = session.info.setdefault(_RIGHTS, {})
    key = (user.id, runtime.key, doc_id)
    if key not in rights:
        rights[key] = _rights(session, user, runtime, doc_id)
    return rights[key].get(action, False)


_RIGHTS = "potok.runtime.rights"
ACTIONS = ("read", "edit", "delete")


def _rights(
    session: Session, user: CurrentUser, runtime: StreamRuntime, doc_id: int
) -> dict[str, bool]:
    access = access_for(user, runtime)
    scopes = (access.read, access.edit, access.delete)

    def build() -> Select[*tuple[Any, ...]]:
        me: BindParameter[int] = bindparam("me")
        departments: BindParameter[list[int]] = bindparam("departments", expanding=True)
        read = readable_within(runtime, access.read, me, departments)
        edit, delete = (_scope(runtime, scope, me, departments) for scope in scopes[1:])
        rights: Select[*tuple[Any, ...]] = select(
            read.label("read"), edit.label("edit"), delete.label("delete")
        )
        return rights.where(runtime.compiled.table.c.id == bindparam("doc_id"))

    # One statement per combination of scopes, built once per stream.
    statement = runtime.statement("rights." + ".".join(scopes), build)
    departments = department_ids(session, user) if "department" in scopes else []
    row = session.execute(
        statement, {"me": user.id, "departments": departments, "doc_id": doc_id}
    ).first()
    return {action: bool(row is not None and row[index]) for index, action in enumerate(ACTIONS)}


@event.listens_for(Session, "do_orm_execute")
def _forget_rights_on_write(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info.pop(_RIGHTS, None)


@event.listens_for(Session, "after_flush")
def _forget_rights_on_flush(session: Session, _context: Any) -> None:
    session.info.pop(_RIGHTS, None)


def visible_fields(runtime: StreamRuntime, access: Access) -> list[str]:
    return [item.key for item in runtime.stream.fields if item.key not in access.hidden]


def streams_for(user: CurrentUser, runtimes: Iterable[StreamRuntime]) -> list[StreamRuntime]:
    """The streams ``user`` may see at all (read something or create)."""
    return [runtime for runtime in runtimes if access_for(user, runtime).sees_stream]
