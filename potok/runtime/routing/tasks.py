"""People's decisions on tasks: accept, complete, refuse, approve, reject, return for
revision, resubmit, delegate, reassign.

Each function is one transition (see :mod:`.engine`): it locks the instance, checks
everything — the task is open, it is the actor's (or their absent principal's, or the
deputy's), the decision fits the task, a refusal has a comment, a late decision has a delay
reason — and only then writes. A repeated submit of the same decision by the same person is
answered with the task as it is, and changes nothing.

Approval steps decide by their mode: ``sequence`` asks the approvers one after another,
``all`` needs every approval, ``any`` one, ``quorum`` N; a rejection that makes approval
impossible rejects the step. Returning for revision cancels the step's other tasks and
gives the author a revision task; when the author resubmits, the step starts again.
A delegated task goes to the colleague; when they finish it, it returns to its owner to
review and decide.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from potok.errors import NotFound
from potok.metadata.routes import Node
from potok.platform import org
from potok.platform.audit import Actor
from potok.platform.models import RouteInstance, RouteTask, RouteToken, User
from potok.runtime.routing import executors
from potok.runtime.routing.context import Env, Step
from potok.runtime.routing.deadlines import cancel_task_timers
from potok.runtime.routing.engine import consume, guarded, leave, new_token
from potok.runtime.routing.errors import (
    CommentRequired,
    DelayReasonRequired,
    InvalidAssignee,
    NotYourTask,
    RouteNotRunning,
    SelfApprovalForbidden,
    TaskClosed,
    TaskDelegated,
    UnknownDecision,
)
from potok.runtime.routing.steps import add_task, close_tasks, first_positions, open_tasks

DECISIONS = {
    "assignment": ("complete", "refuse"),
    "approval": ("approve", "reject", "return_for_revision"),
    "revision": ("resubmit",),
    "delegated": ("complete", "refuse"),
}
NEEDS_COMMENT = ("refuse", "reject", "return_for_revision")
MAX_COMMENT = 5000


_BEGIN = (
    select(RouteTask, RouteInstance, RouteToken)
    .join(RouteInstance, RouteInstance.id == RouteTask.instance_id)
    .join(RouteToken, RouteToken.id == RouteTask.token_id)
    .where(RouteTask.id == bindparam("task_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
_CURRENT = (
    select(RouteTask)
    .where(RouteTask.token_id == bindparam("token_id"), RouteTask.parent_id.is_(None))
    .order_by(RouteTask.id)
)


def _begin(
    session: Session, env: Env, task_id: int, actor: Actor, now: datetime
) -> tuple[Step, RouteTask, RouteToken]:
    """The task, its token and its instance read in one statement that locks the instance
    (and them) for the rest of the transaction."""
    row = session.execute(_BEGIN, {"task_id": task_id}).first() if 0 < task_id < 2**63 else None
    if row is None:
        raise NotFound()
    task, instance, token = row
    route = env.route(session, instance.route_version_id)
    return Step(session, env, instance, route, actor, now), task, token


def _check_open(step: Step, task: RouteTask) -> None:
    if task.status == "delegated":
        raise TaskDelegated()
    if task.status != "open":
        raise TaskClosed()
    if not executors.may_act(step.session, task, step.actor.user_id, step.now.date()):
        raise NotYourTask()
    if step.instance.status != "running":
        raise RouteNotRunning()


def decide(
    session: Session,
    env: Env,
    task_id: int,
    actor: Actor,
    decision: str,
    comment: str = "",
    *,
    now: datetime,
    delay_reason: str | None = None,
) -> RouteTask:
    """Record ``decision`` on a task and move the route on as far as it goes."""
    if decision == "accept":
        return accept(session, env, task_id, actor, now=now)
    step, task, token = _begin(session, env, task_id, actor, now)
    if task.status != "open" and task.decided_by_id == actor.user_id and task.decision == decision:
        return task  # a repeated submit: nothing happens
    _check_open(step, task)
    comment = (comment or "").strip()[:MAX_COMMENT]
    delay_reason = (delay_reason or "").strip()[:MAX_COMMENT] or None
    if decision not in DECISIONS.get(task.kind, ()):
        raise UnknownDecision()
    if decision in NEEDS_COMMENT and not comment:
        raise CommentRequired()
    if task.deadline is not None and now > task.deadline and delay_reason is None:
        raise DelayReasonRequired()
    node = step.route.nodes[task.node]
    if (
        decision == "approve"
        and node.forbid_self_approval
        and actor.user_id == step.instance.author_id
    ):
        raise SelfApprovalForbidden()
    moving = token.status == "active" and task.kind not in ("delegated", "revision")
    # read before anything is written, so nothing has to be flushed for it
    siblings = current_tasks(step, token) if moving and decision != "return_for_revision" else []
    step.writer.change(
        task,
        status="refused" if decision in ("refuse", "reject") else "done",
        decision=decision,
        comment=comment,
        delay_reason=delay_reason,
        decided_at=now,
        decided_by_id=actor.user_id,
    )
    cancel_task_timers(step.writer, [task.id], now)
    step.event(
        "decided",
        task.node,
        task,
        decision=decision,
        comment=comment,
        delay_reason=delay_reason,
    )
    if token.status != "active":
        return task
    if task.kind == "delegated":
        _return_to_owner(step, task)
    elif task.kind == "revision":
        guarded(step, lambda: _restart(step, token, node))
    elif decision == "return_for_revision":
        guarded(step, lambda: _return_for_revision(step, token, node, task))
    else:
        guarded(step, lambda: evaluate(step, token, node, siblings))
    return task


def accept(session: Session, env: Env, task_id: int, actor: Actor, *, now: datetime) -> RouteTask:
    """The assignee (or their deputy) acknowledges an open assignment and starts work on it;
    the task stays open. Accepting it again changes nothing; completing it does not need it."""
    step, task, _token = _begin(session, env, task_id, actor, now)
    if task.kind != "assignment":
        raise UnknownDecision()
    _check_open(step, task)
    if task.accepted_at is not None:
        return task
    step.writer.change(task, accepted_at=now)
    step.event("accepted", task.node, task=task)
    return task


def resubmit(
    session: Session, env: Env, task_id: int, actor: Actor, comment: str = "", *, now: datetime
) -> RouteTask:
    """The author sends the revised document back; the step starts again."""
    return decide(session, env, task_id, actor, "resubmit", comment, now=now)


def current_tasks(step: Step, token: RouteToken) -> list[RouteTask]:
    return list(step.session.scalars(_CURRENT, {"token_id": token.id}))


def node_outcome(node: Node, tasks: list[RouteTask]) -> str:
    """``done``, ``rejected``, ``refused``, ``next`` (sequence: ask the next approver) or
    ``pending`` for the tasks of a person's step."""
    tasks = [task for task in tasks if task.kind == node.type]
    if node.type == "assignment":
        last = tasks[-1] if tasks else None
        if last is None or last.status in ("open", "delegated"):
            return "pending"
        return "refused" if last.decision == "refuse" else "done"
    approvals = sum(task.decision == "approve" for task in tasks)
    rejections = sum(task.decision == "reject" for task in tasks)
    waiting = sum(task.status in ("open", "delegated") for task in tasks)
    count = len(node.executors)
    if node.mode == "sequence":
        if rejections:
            return "rejected"
        if approvals >= count:
            return "done"
        return "pending" if waiting else "next"
    needed = {"all": count, "any": 1}.get(node.mode, node.quorum)
    if approvals >= needed:
        return "done"
    if approvals + waiting < needed:
        return "rejected"
    return "pending"


def evaluate(
    step: Step, token: RouteToken, node: Node, tasks: list[RouteTask] | None = None
) -> None:
    """Move on from a person's step when its tasks (``tasks``: read already) decide it."""
    tasks = current_tasks(step, token) if tasks is None else tasks
    outcome = node_outcome(node, tasks)
    if outcome == "pending":
        return
    if outcome == "next":
        approved = sum(task.decision == "approve" for task in tasks)
        open_tasks(step, token, node, [approved])
        return
    close_tasks(step, [task for task in tasks if task.status in ("open", "delegated")])
    leave(step, token, node, outcome)


def _return_for_revision(step: Step, token: RouteToken, node: Node, task: RouteTask) -> None:
    close_tasks(step, [t for t in current_tasks(step, token) if t.status in ("open", "delegated")])
    consume(step, token)
    again = new_token(step, node.key, "active", token.arrived_from)
    author = executors.person(
        step.session, executors.Executor("author"), step.instance, step.values()
    )
    who = executors.with_deputy(step.session, author, step.now.date())
    add_task(
        step,
        again,
        node,
        kind="revision",
        position=0,
        assignee=who,
        deadline=None,
        controller_id=None,
    )
    step.event("revision", node.key, task=task)


def _restart(step: Step, token: RouteToken, node: Node) -> None:
    open_tasks(step, token, node, first_positions(node))
    step.event("resubmitted", node.key)


def _return_to_owner(step: Step, task: RouteTask) -> None:
    parent = step.session.get(RouteTask, task.parent_id) if task.parent_id else None
    if parent is not None and parent.status == "delegated":
        step.writer.change(parent, status="open")
        step.event("returned", parent.node, task=parent, decision=task.decision)


def _active_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if 0 < user_id < 2**63 else None
    if user is None or not user.is_active or user.is_system:
        raise InvalidAssignee()
    return user


def delegate(
    session: Session,
    env: Env,
    task_id: int,
    actor: Actor,
    to_user_id: int,
    comment: str = "",
    *,
    now: datetime,
) -> RouteTask:
    """Hand an open task to a colleague; it returns to its owner when they are done."""
    step, task, token = _begin(session, env, task_id, actor, now)
    _check_open(step, task)
    if task.kind not in ("assignment", "approval"):
        raise UnknownDecision()
    colleague = _active_user(session, to_user_id)
    if colleague.id in (actor.user_id, task.assignee_id):
        raise InvalidAssignee()
    step.writer.change(task, status="delegated")
    child = add_task(
        step,
        token,
        step.route.nodes[task.node],
        kind="delegated",
        position=task.position,
        assignee=executors.Assignee(colleague.id),
        deadline=task.deadline,
        controller_id=None,
        parent_id=task.id,
        comment=(comment or "").strip()[:MAX_COMMENT],
    )
    step.event("delegated", task.node, task=task, comment=child.comment)
    return child


def reassign(
    session: Session,
    env: Env,
    task_id: int,
    actor: Actor,
    to_user_id: int,
    comment: str = "",
    *,
    now: datetime,
) -> RouteTask:
    """Give an open task to someone else: by its controller, by the assignee's head of
    department, or by the supervisor who picks the executor among a role."""
    step, task, _token = _begin(session, env, task_id, actor, now)
    if task.status != "open":
        raise TaskClosed()
    head = org.head_of_department_of(session, task.original_assignee_id or task.assignee_id)
    picking = task.pool_role is not None and executors.may_act(
        session, task, actor.user_id, now.date()
    )
    if actor.user_id is None or not (
        actor.user_id == task.controller_id
        or (head is not None and head.id == actor.user_id)
        or picking
    ):
        raise NotYourTask()
    user = _active_user(session, to_user_id)
    if task.pool_role is not None and not executors.has_role(session, user.id, task.pool_role):
        raise InvalidAssignee()
    who = executors.with_deputy(session, user.id, now.date())
    step.writer.change(
        task,
        assignee_id=who.user_id,
        original_assignee_id=who.original_id,
        pool_role=None,
    )
    step.event("reassigned", task.node, task=task, comment=(comment or "").strip()[:MAX_COMMENT])
    return task
