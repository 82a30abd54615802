"""Who does a human step: executors resolved to users, pick strategies, deputies.

An executor names a user, a role (the user picked round-robin per step, the least loaded,
or a supervisor who chooses), the head of the author's department, a user field of the card
or the author. A user who is away on the day gets their deputy (``org.acting_for``), and the
task remembers the owner, who still sees it and may still decide it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from potok.errors import N_
from potok.metadata.routes import Executor
from potok.platform import org
from potok.platform.models import Role, RouteInstance, RouteTask, User, user_roles
from potok.runtime.routing.errors import RouteRuntimeError


@dataclass(frozen=True)
class Assignee:
    user_id: int
    original_id: int | None = None  # the absent owner a deputy acts for
    pool_role: str | None = None  # a supervisor picks the executor among this role


def _active(session: Session, user_id: int | None) -> int | None:
    """``user_id`` when it names an active person, else None."""
    if user_id is None:
        return None
    with session.no_autoflush:
        user = session.get(User, user_id)
    return user_id if user is not None and user.is_active and not user.is_system else None


def role_members(session: Session, role: str) -> list[int]:
    return list(
        session.scalars(
            select(User.id)
            .join(user_roles, user_roles.c.user_id == User.id)
            .join(Role, Role.id == user_roles.c.role_id)
            .where(Role.key == role, User.is_active.is_(True), User.is_system.is_(False))
            .order_by(User.id)
        )
    )


def _round_robin(
    session: Session, members: list[int], instance: RouteInstance, node: str, position: int
) -> int:
    last = session.scalar(
        select(func.coalesce(RouteTask.original_assignee_id, RouteTask.assignee_id))
        .join(RouteInstance, RouteInstance.id == RouteTask.instance_id)
        .where(
            RouteInstance.route == instance.route,
            RouteTask.node == node,
            RouteTask.position == position,
            RouteTask.parent_id.is_(None),
        )
        .order_by(RouteTask.id.desc())
        .limit(1)
    )
    following = [member for member in members if last is not None and member > last]
    return following[0] if following else members[0]


def _least_loaded(session: Session, members: list[int]) -> int:
    load = dict(
        session.execute(
            select(RouteTask.assignee_id, func.count())
            .where(RouteTask.assignee_id.in_(members), RouteTask.status == "open")
            .group_by(RouteTask.assignee_id)
        ).all()
    )
    return min(members, key=lambda member: (load.get(member, 0), member))


_ACTIVE_BY_NAME = select(User.__table__.c.id).where(
    User.__table__.c.username == bindparam("username"),
    User.__table__.c.is_active.is_(True),
    User.__table__.c.is_system.is_(False),
)


def person(
    session: Session, executor: Executor, instance: RouteInstance, values: Mapping[str, Any]
) -> int:
    """The one user an executor without a role choice names (raises RouteRuntimeError)."""
    if executor.kind == "user":
        user_id = session.scalar(_ACTIVE_BY_NAME, {"username": executor.value})
        if user_id is None:
            raise RouteRuntimeError(N_("There is no active user %(name)s."), name=executor.value)
        return user_id
    if executor.kind == "author":
        author_id = _active(session, instance.author_id)
        if author_id is None:
            raise RouteRuntimeError(N_("The document's author is not an active user."))
        return author_id
    if executor.kind == "field":
        value = values.get(str(executor.value))
        field_user = _active(session, value) if isinstance(value, int) else None
        if field_user is None:
            raise RouteRuntimeError(
                N_("Field %(field)s of the document names no active user."), field=executor.value
            )
        return field_user
    if executor.kind == "head_of_author_department":
        head = org.head_of_department_of(session, instance.author_id or 0)
        if head is None:
            raise RouteRuntimeError(N_("The author's department has no head."))
        return head.id
    raise RouteRuntimeError(N_("A role cannot be used here."))


def resolve(
    session: Session,
    executor: Executor,
    instance: RouteInstance,
    values: Mapping[str, Any],
    *,
    node: str,
    position: int,
    today: date,
) -> Assignee:
    """Who gets the task of ``executor`` at step ``node`` today (deputies applied)."""
    if executor.kind != "role":
        return with_deputy(session, person(session, executor, instance, values), today)
    members = role_members(session, str(executor.value))
    if not members:
        raise RouteRuntimeError(N_("Role %(role)s has no active users."), role=executor.value)
    if executor.pick == "supervisor":
        chooser = executor.supervisor or Executor("head_of_author_department")
        picked = with_deputy(session, person(session, chooser, instance, values), today)
        return Assignee(picked.user_id, picked.original_id, pool_role=str(executor.value))
    if executor.pick == "round_robin":
        chosen = _round_robin(session, members, instance, node, position)
    else:
        chosen = _least_loaded(session, members)
    return with_deputy(session, chosen, today)


def with_deputy(session: Session, user_id: int, today: date) -> Assignee:
    deputy = org.first_deputy_id(session, user_id, today)
    return Assignee(user_id) if deputy is None else Assignee(deputy, original_id=user_id)


def may_act(session: Session, task: RouteTask, user_id: int | None, today: date) -> bool:
    """The assignee, the absent owner a deputy acts for, or a deputy of the assignee today."""
    if user_id is None:
        return False
    if user_id in (task.assignee_id, task.original_assignee_id):
        return True
    return any(user.id == user_id for user in org.acting_for(session, task.assignee_id, today))


def has_role(session: Session, user_id: int, role: str) -> bool:
    return user_id in role_members(session, role)
