"""The organisation: departments (a tree, each with a head) and deputies.

Routes use both: "the head of the author's department" (:func:`head_of_department_of`) and
"who acts for an absent user today" (:func:`acting_for`). Changes are validated in full and
audited; as in ``accounts``, a :class:`ValidationFailed` means the caller rolls back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from potok.errors import N_, NotFound, ValidationFailed
from potok.platform import audit
from potok.platform.accounts import MAX_ID, parse_id
from potok.platform.audit import Actor
from potok.platform.models import Department, Deputy, User

# Departments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentNode:
    department: Department
    depth: int
    member_count: int


def department_tree(session: Session) -> list[DepartmentNode]:
    """Every department in tree order (parents before children, siblings by position/name)."""
    departments = list(
        session.scalars(
            select(Department)
            .options(selectinload(Department.head))
            .order_by(Department.position, func.lower(Department.name))
        )
    )
    counts = dict(
        session.execute(
            select(User.department_id, func.count())
            .where(User.department_id.is_not(None), User.is_active.is_(True))
            .group_by(User.department_id)
        ).all()
    )
    children: dict[int | None, list[Department]] = {}
    for department in departments:
        children.setdefault(department.parent_id, []).append(department)
    nodes: list[DepartmentNode] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for department in children.get(parent_id, []):
            nodes.append(DepartmentNode(department, depth, counts.get(department.id, 0)))
            walk(department.id, depth + 1)

    walk(None, 0)
    return nodes


def get_department(session: Session, department_id: int) -> Department:
    department = session.get(Department, department_id) if 0 < department_id <= MAX_ID else None
    if department is None:
        raise NotFound()
    return department


@dataclass(frozen=True)
class DepartmentInput:
    name: str = ""
    code: str = ""
    parent_id: str = ""
    head_id: str = ""
    position: str = "0"

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> DepartmentInput:
        return cls(
            name=str(form.get("name", "")),
            code=str(form.get("code", "")),
            parent_id=str(form.get("parent_id", "")),
            head_id=str(form.get("head_id", "")),
            position=str(form.get("position", "0") or "0"),
        )


def _ancestors(session: Session, department_id: int | None) -> set[int]:
    seen: set[int] = set()
    while department_id is not None and department_id not in seen:
        seen.add(department_id)
        department_id = session.scalar(
            select(Department.parent_id).where(Department.id == department_id)
        )
    return seen


def _department_snapshot(department: Department) -> dict[str, Any]:
    return {
        "name": department.name,
        "code": department.code,
        "parent": department.parent.name if department.parent else None,
        "head": department.head.username if department.head else None,
        "position": department.position,
    }


def _apply_department(session: Session, department: Department, values: DepartmentInput) -> None:
    errors: dict[str, str] = {}
    name = values.name.strip()
    if not name:
        errors["name"] = N_("Enter the department's name.")
    elif len(name) > 200:
        errors["name"] = N_("Keep the name under 200 characters.")
    code = values.code.strip() or None
    if code is not None:
        if len(code) > 32:
            errors["code"] = N_("Keep the code under 32 characters.")
        else:
            clash = session.scalar(
                select(Department.id).where(func.lower(Department.code) == code.lower())
            )
            if clash is not None and clash != department.id:
                errors["code"] = N_("Another department already has this code.")
    parent: Department | None = None
    if values.parent_id:
        wanted = parse_id(values.parent_id)
        parent = session.get(Department, wanted) if wanted else None
        if parent is None:
            errors["parent_id"] = N_("Choose a department from the list.")
        elif department.id is not None and department.id in _ancestors(session, parent.id):
            errors["parent_id"] = N_(
                "A department cannot be placed inside itself or its own sub-department."
            )
    head: User | None = None
    if values.head_id:
        head_id = parse_id(values.head_id)
        head = session.get(User, head_id) if head_id else None
        if head is None or head.is_system or not head.is_active:
            errors["head_id"] = N_("Choose an active user as the head.")
    raw_position = values.position.strip() or "0"
    position = int(raw_position) if re.fullmatch(r"-?[0-9]{1,9}", raw_position) else None
    if position is None:
        errors["position"] = N_("Enter a whole number.")
    if errors:
        raise ValidationFailed(field_errors=errors)
    department.name = name
    department.code = code
    department.parent = parent
    department.head = head
    department.position = position or 0


def create_department(
    session: Session, actor: Actor, values: DepartmentInput, *, now: datetime
) -> Department:
    department = Department(created_at=now, updated_at=now)
    _apply_department(session, department, values)
    session.add(department)
    session.flush()
    audit.record(
        session,
        actor,
        "department.create",
        at=now,
        object_type="department",
        object_id=department.id,
        object_label=department.name,
        details={"values": _department_snapshot(department)},
    )
    return department


def update_department(
    session: Session,
    actor: Actor,
    department: Department,
    values: DepartmentInput,
    *,
    now: datetime,
) -> None:
    before = _department_snapshot(department)
    _apply_department(session, department, values)
    session.flush()
    changes = audit.changes(before, _department_snapshot(department))
    if changes:
        department.updated_at = now
        audit.record(
            session,
            actor,
            "department.update",
            at=now,
            object_type="department",
            object_id=department.id,
            object_label=department.name,
            details={"changes": changes},
        )


def delete_department(
    session: Session, actor: Actor, department: Department, *, now: datetime
) -> None:
    if session.scalar(select(Department.id).where(Department.parent_id == department.id).limit(1)):
        raise ValidationFailed(
            N_("This department has sub-departments; move or delete them first.")
        )
    members = list(session.scalars(select(User).where(User.department_id == department.id)))
    for member in members:
        member.department_id = None
    snapshot = _department_snapshot(department)
    session.delete(department)
    audit.record(
        session,
        actor,
        "department.delete",
        at=now,
        object_type="department",
        object_id=department.id,
        object_label=snapshot["name"],
        details={"values": snapshot, "members_moved_out": [m.username for m in members]},
    )


def head_of_department_of(session: Session, user_id: int) -> User | None:
    """The head of the user's department, or of the nearest parent department that has one.

    A user who heads their own department reports to the head of the parent department.
    """
    department_id = session.scalar(select(User.department_id).where(User.id == user_id))
    seen: set[int] = set()
    while department_id is not None and department_id not in seen:
        seen.add(department_id)
        department = session.get(Department, department_id)
        if department is None:
            return None
        head = department.head
        if head is not None and head.is_active and head.id != user_id:
            return head
        department_id = department.parent_id
    return None


# Deputies ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeputyInput:
    principal_id: str = ""
    deputy_id: str = ""
    starts_on: str = ""
    ends_on: str = ""
    reason: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> DeputyInput:
        return cls(**{field: str(form.get(field, "")) for field in cls.__dataclass_fields__})


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def list_deputies(session: Session, *, today: date, include_past: bool = False) -> list[Deputy]:
    statement = (
        select(Deputy)
        .options(selectinload(Deputy.principal), selectinload(Deputy.deputy))
        .order_by(Deputy.starts_on.desc(), Deputy.id.desc())
    )
    if not include_past:
        statement = statement.where(Deputy.ends_on >= today)
    return list(session.scalars(statement))


def create_deputy(session: Session, actor: Actor, values: DeputyInput, *, now: datetime) -> Deputy:
    errors: dict[str, str] = {}

    def active_user(raw: str) -> User | None:
        user_id = parse_id(raw)
        user = session.get(User, user_id) if user_id else None
        return user if user is not None and not user.is_system else None

    principal = active_user(values.principal_id)
    if principal is None:
        errors["principal_id"] = N_("Choose the user who will be away.")
    deputy = active_user(values.deputy_id)
    if deputy is None or not deputy.is_active:
        errors["deputy_id"] = N_("Choose an active user as the deputy.")
    elif principal is not None and deputy.id == principal.id:
        errors["deputy_id"] = N_("A user cannot be their own deputy.")
    starts_on = _parse_date(values.starts_on)
    ends_on = _parse_date(values.ends_on)
    if starts_on is None:
        errors["starts_on"] = N_("Enter a date.")
    if ends_on is None:
        errors["ends_on"] = N_("Enter a date.")
    elif starts_on is not None and ends_on < starts_on:
        errors["ends_on"] = N_("The last day cannot be before the first day.")
    reason = values.reason.strip()
    if len(reason) > 200:
        errors["reason"] = N_("Keep the reason under 200 characters.")
    if principal and deputy and starts_on and ends_on and not errors:
        overlap = session.scalar(
            select(Deputy.id).where(
                Deputy.principal_id == principal.id,
                Deputy.deputy_id == deputy.id,
                Deputy.starts_on <= ends_on,
                Deputy.ends_on >= starts_on,
            )
        )
        if overlap is not None:
            errors["starts_on"] = N_("This deputy already covers part of this period.")
    if errors or not (principal and deputy and starts_on and ends_on):
        raise ValidationFailed(field_errors=errors)
    entry = Deputy(
        principal=principal,
        deputy=deputy,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
        created_by_id=actor.user_id,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor,
        "deputy.create",
        at=now,
        object_type="deputy",
        object_id=entry.id,
        object_label=f"{deputy.username} → {principal.username}",
        details={
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
            "reason": reason,
        },
    )
    return entry


def delete_deputy(session: Session, actor: Actor, deputy_id: int, *, now: datetime) -> None:
    entry = session.get(Deputy, deputy_id) if 0 < deputy_id <= MAX_ID else None
    if entry is None:
        raise NotFound()
    label = f"{entry.deputy.username} → {entry.principal.username}"
    details = {"starts_on": entry.starts_on.isoformat(), "ends_on": entry.ends_on.isoformat()}
    session.delete(entry)
    audit.record(
        session,
        actor,
        "deputy.delete",
        at=now,
        object_type="deputy",
        object_id=deputy_id,
        object_label=label,
        details=details,
    )


_DEPUTIES, _USERS = Deputy.__table__.c, User.__table__.c
_FIRST_DEPUTY = (
    select(_DEPUTIES.deputy_id)
    .join_from(Deputy.__table__, User.__table__, _USERS.id == _DEPUTIES.deputy_id)
    .where(
        _DEPUTIES.principal_id == bindparam("principal_id"),
        _DEPUTIES.starts_on <= bindparam("on"),
        _DEPUTIES.ends_on >= bindparam("on"),
        _USERS.is_active.is_(True),
    )
    .order_by(_DEPUTIES.created_at, _DEPUTIES.id)
    .limit(1)
)


def first_deputy_id(session: Session, principal_id: int, on: date) -> int | None:
    """The first of :func:`acting_for`'s deputies, by id (one prepared statement: the route
    engine asks for every task it creates)."""
    return session.scalar(_FIRST_DEPUTY, {"principal_id": principal_id, "on": on})


def acting_for(session: Session, principal_id: int, on: date) -> list[User]:
    """Active deputies of ``principal_id`` on day ``on``, earliest assignment first."""
    return list(
        session.scalars(
            select(User)
            .join(Deputy, Deputy.deputy_id == User.id)
            .where(
                Deputy.principal_id == principal_id,
                Deputy.starts_on <= on,
                Deputy.ends_on >= on,
                User.is_active.is_(True),
            )
            .order_by(Deputy.created_at, Deputy.id)
        )
    )
