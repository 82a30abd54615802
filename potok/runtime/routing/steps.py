"""People's steps: who is asked first, opening their tasks (with deadline, reminders and
controller), closing them."""

from __future__ import annotations

from datetime import datetime

from potok.metadata.routes import Node
from potok.platform.models import RouteTask, RouteToken
from potok.runtime.routing import deadlines, executors
from potok.runtime.routing.context import Step


def first_positions(node: Node) -> list[int] | None:
    """Who is asked first: the first executor of an assignment or a sequence, else all."""
    return [0] if node.type == "assignment" or node.mode == "sequence" else None


def open_tasks(step: Step, token: RouteToken, node: Node, positions: list[int] | None) -> None:
    """Tasks for the executors at ``positions`` of a person's step (all when None)."""
    values = step.lazy_values
    today = step.now.date()
    deadline = deadlines.deadline_for(node.deadline, values, step.now, step.calendar, step.env.zone)
    controller = (
        executors.person(step.session, node.controller, step.instance, values)
        if node.controller is not None
        else None
    )
    for position in positions if positions is not None else range(len(node.executors)):
        who = executors.resolve(
            step.session,
            node.executors[position],
            step.instance,
            values,
            node=node.key,
            position=position,
            today=today,
        )
        add_task(
            step,
            token,
            node,
            kind=node.type,
            position=position,
            assignee=who,
            deadline=deadline,
            controller_id=controller,
        )


def add_task(
    step: Step,
    token: RouteToken,
    node: Node,
    *,
    kind: str,
    position: int,
    assignee: executors.Assignee,
    deadline: datetime | None,
    controller_id: int | None,
    parent_id: int | None = None,
    comment: str = "",
) -> RouteTask:
    task = step.writer.add(
        RouteTask,
        {
            "instance_id": step.instance.id,
            "token_id": token.id,
            "node": node.key,
            "kind": kind,
            "position": position,
            "assignee_id": assignee.user_id,
            "original_assignee_id": assignee.original_id,
            "parent_id": parent_id,
            "pool_role": assignee.pool_role,
            "status": "open",
            "comment": comment,
            "deadline": deadline,
            "controller_id": controller_id,
            "created_at": step.now,
            "key": step.new_key(),
        },
    )
    step.created.append(task)
    if kind in ("assignment", "approval"):
        deadlines.schedule_task(step.writer, task, node, step.now, step.calendar, step.env.zone)
    step.event("task_created", node.key, task)
    return task


def close_tasks(step: Step, tasks: list[RouteTask], status: str = "cancelled") -> None:
    step.writer.change_all(tasks, status=status, decided_at=step.now)
    deadlines.cancel_task_timers(step.writer, [task.id for task in tasks], step.now)
