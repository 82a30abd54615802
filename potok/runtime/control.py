"""The controller's view: open tasks past their deadline of the people a user controls.

A user controls a task when they are its controller, or when they are the head of the
department of its assignee (of the absent owner when a deputy has it) — the same people the
engine lets give the task to someone else (:func:`potok.platform.org.head_of_department_of`:
the nearest department up the tree with an active head other than the assignee).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.orm import Session

from potok.platform.auth import CurrentUser
from potok.platform.models import Department, RouteInstance, RouteTask, User
from potok.runtime import inbox, notifications
from potok.runtime.routing.context import Env
from potok.runtime.routing.errors import RouteRuntimeError

LIMIT = 500


def controls_anything(session: Session, user_id: int) -> bool:
    """Whether to show the view at all: the controller of an open task, or a head of a
    department (two indexed lookups in one query)."""
    return bool(
        session.scalar(
            select(
                or_(
                    exists().where(RouteTask.controller_id == user_id, RouteTask.status == "open"),
                    exists().where(Department.head_id == user_id),
                )
            )
        )
    )


def people_headed(session: Session, user_id: int) -> set[int]:
    """Whose head of department ``user_id`` is."""
    departments = {
        row.id: (row.parent_id, row.head_id if row.active else None)
        for row in session.execute(
            select(
                Department.id,
                Department.parent_id,
                Department.head_id,
                User.is_active.label("active"),
            ).outerjoin(User, User.id == Department.head_id)
        )
    }
    if not any(head == user_id for _, head in departments.values()):
        return set()

    def chain(department_id: int | None) -> list[int]:
        seen: list[int] = []
        while department_id is not None and department_id not in seen:
            seen.append(department_id)
            department_id = departments.get(department_id, (None, None))[0]
        return seen

    below = [d for d in departments if any(departments[up][1] == user_id for up in chain(d))]
    people = set()
    for member, department_id in session.execute(
        select(User.id, User.department_id).where(User.department_id.in_(below))
    ):
        head = next(
            (
                departments[up][1]
                for up in chain(department_id)
                if departments[up][1] not in (None, member)
            ),
            None,
        )
        if head == user_id:
            people.add(member)
    return people


@dataclass
class Row:
    task_id: int
    step: str
    assignee: str
    deadline: datetime
    overdue_by: float  # seconds
    stream: str
    doc_id: int
    document: notifications.DocumentName | None


def overdue_tasks(
    session: Session, env: Env, user: CurrentUser, *, now: datetime, language: str
) -> list[Row]:
    """Open tasks past their deadline that ``user`` controls, the most overdue first."""
    people = sorted(people_headed(session, user.id))
    headed = (
        or_(
            and_(RouteTask.original_assignee_id.is_(None), RouteTask.assignee_id.in_(people)),
            RouteTask.original_assignee_id.in_(people),
        )
        if people
        else false()
    )
    found = session.execute(
        select(
            RouteTask.id,
            RouteTask.node,
            RouteTask.assignee_id,
            RouteTask.deadline,
            RouteInstance.stream,
            RouteInstance.doc_id,
            RouteInstance.route_version_id,
        )
        .join(RouteInstance, RouteInstance.id == RouteTask.instance_id)
        .where(
            RouteTask.status == "open",
            RouteTask.deadline.is_not(None),
            RouteTask.deadline < now,
            or_(RouteTask.controller_id == user.id, headed),
        )
        .order_by(RouteTask.deadline, RouteTask.id)
        .limit(LIMIT)
    ).all()
    names = inbox.people_names(session, {item.assignee_id for item in found})
    documents = notifications.document_names(
        session, env.streams, user, {(item.stream, item.doc_id) for item in found}, language
    )
    return [
        Row(
            task_id=item.id,
            step=_step(session, env, item.route_version_id, item.node, language),
            assignee=names.get(item.assignee_id, ""),
            deadline=item.deadline,
            overdue_by=(now - item.deadline).total_seconds(),
            stream=item.stream,
            doc_id=item.doc_id,
            document=documents.get((item.stream, item.doc_id)),
        )
        for item in found
    ]


def _step(session: Session, env: Env, version_id: int, node: str, language: str) -> str:
    try:
        step = env.route(session, version_id).nodes.get(node)
    except RouteRuntimeError:
        return node
    return step.label(language) if step is not None else node
