"""Decisions on tasks: bad decisions change nothing, deputies, delegation, reassignment,
return for revision, self-approval, late decisions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from potok.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from potok.runtime.routing import tasks
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
from tests.runtime.routing.conftest import NOW, World, chain, edge, node, route


def one_step(world: World, **spec: object) -> int:
    world.publish(chain("visa", node("visa", "approval", **spec)))
    return world.start("visa", world.document())


def snapshot(world: World, instance: int) -> tuple[object, ...]:
    state = world.instance(instance)
    return (state.version, state.status, world.open_tasks(instance), world.events(instance))


@pytest.mark.parametrize(
    ("who", "decision", "comment", "error"),
    [
        pytest.param("cfo", "approve", "", NotYourTask, id="someone-elses-task"),
        pytest.param("legal", "refuse", "x", UnknownDecision, id="refuse-on-approval"),
        pytest.param("legal", "reject", "  ", CommentRequired, id="reject-without-comment"),
        pytest.param("legal", "return_for_revision", "", CommentRequired, id="return-no-comment"),
        pytest.param("legal", "<script>", "", UnknownDecision, id="hostile-decision"),
    ],
)
def test_bad_decisions_change_nothing(
    world: World, who: str, decision: str, comment: str, error: type[Exception]
) -> None:
    instance = one_step(world, executors=[{"role": "legal"}])
    task = world.task(instance, "visa")
    before = snapshot(world, instance)
    with pytest.raises(error):
        world.decide(task, who, decision, comment)
    assert snapshot(world, instance) == before
    assert world.task_row(task).status == "open"


def test_error_classes_have_the_right_status() -> None:
    assert issubclass(NotYourTask, PermissionDenied)
    assert issubclass(TaskClosed, Conflict)
    assert issubclass(CommentRequired, ValidationFailed)
    assert CommentRequired().field_errors == {"comment": CommentRequired.message}


def test_a_refusal_without_a_comment_is_refused(world: World) -> None:
    world.publish(chain("call", node("call", "assignment", executor={"author": True})))
    instance = world.start("call", world.document())
    with pytest.raises(CommentRequired):
        world.decide(world.task(instance, "call"), "author", "refuse")
    assert world.open_tasks(instance) == [("call", "author", "assignment")]


def test_a_double_submit_has_one_effect_and_a_closed_task_refuses_other_decisions(
    world: World,
) -> None:
    instance = one_step(world, executors=[{"role": "legal"}])
    task = world.task(instance, "visa")
    world.decide(task, "legal", "approve")
    after = snapshot(world, instance)
    world.decide(task, "legal", "approve")  # the second click
    assert snapshot(world, instance) == after
    with pytest.raises(TaskClosed):
        world.decide(task, "legal", "reject", "changed my mind")
    assert snapshot(world, instance) == after


def test_unknown_tasks_are_not_found(world: World) -> None:
    for task_id in (0, 999999, 2**70):
        with pytest.raises(NotFound):
            world.decide(task_id, "legal", "approve")


def test_no_decision_on_a_route_that_needs_attention(world: World) -> None:
    world.publish(
        route(
            "branches",
            node("start", "start"),
            node("fork", "split"),
            node("one", "assignment", executor={"author": True}),
            node("two", "assignment", executor={"field": "manager"}),
            node("broken", "assignment", executor={"role": "nobody"}),
            node("meet", "join"),
            node("end", "end"),
            edges=[
                edge("start", "fork"),
                edge("fork", "one"),
                edge("fork", "two"),
                edge("one", "broken"),
                edge("broken", "meet"),
                edge("two", "meet"),
                edge("meet", "end"),
            ],
        )
    )
    instance = world.start("branches", world.document(manager=world.users["manager"]))
    world.decide(world.task(instance, "one"), "author", "complete")
    assert world.instance(instance).status == "needs_attention"
    task = world.task(instance, "two")
    before = snapshot(world, instance)
    with pytest.raises(RouteNotRunning):
        world.decide(task, "manager", "complete")
    assert snapshot(world, instance) == before


def test_self_approval_can_be_forbidden(world: World) -> None:
    world.user("boss", "legal")
    instance = one_step(world, executors=[{"user": "author"}], forbid_self_approval=True)
    task = world.task(instance, "visa")
    with pytest.raises(SelfApprovalForbidden):
        world.decide(task, "author", "approve")
    world.decide(task, "author", "reject", "I withdraw it")  # rejecting one's own is allowed
    assert world.instance(instance).outcome == "rejected"


def test_a_late_decision_needs_the_reason_for_the_delay(world: World) -> None:
    instance = one_step(world, executors=[{"role": "legal"}], deadline={"working_hours": 2})
    task = world.task(instance, "visa")
    assert world.task_row(task).deadline == NOW + timedelta(hours=2)
    late = NOW + timedelta(days=1)
    with pytest.raises(DelayReasonRequired):
        world.decide(task, "legal", "approve", now=late)
    world.decide(task, "legal", "approve", now=late, delay_reason="Was ill")
    assert world.task_row(task).delay_reason == "Was ill"


def test_return_for_revision_and_resubmit_restart_the_step(world: World) -> None:
    instance = one_step(world, executors=[{"role": "legal"}, {"role": "cfo"}], mode="sequence")
    world.decide(world.task(instance, "visa"), "legal", "approve")
    world.decide(world.task(instance, "visa"), "cfo", "return_for_revision", "Wrong VAT")
    assert world.open_tasks(instance) == [("visa", "author", "revision")]
    revision = world.task(instance, "visa")
    with pytest.raises(NotYourTask):
        world.decide(revision, "legal", "resubmit")
    with world.db.session(write=True) as session:
        tasks.resubmit(session, world.env, revision, world.actor("author"), "Fixed", now=NOW)
    assert world.open_tasks(instance) == [("visa", "legal", "approval")]
    world.decide(world.task(instance, "visa"), "legal", "approve")
    world.decide(world.task(instance, "visa"), "cfo", "approve")
    assert world.instance(instance).outcome == "completed"
    assert world.events(instance).count("revision") == 1
    assert len(world.live_tokens(instance)) == 0


def test_a_deputy_gets_the_task_of_an_absent_user_and_both_may_decide(world: World) -> None:
    world.user("stand_in")
    world.deputy("legal", "stand_in", date(2026, 12, 1), date(2026, 12, 10))
    instance = one_step(world, executors=[{"role": "legal"}])
    task = world.task(instance, "visa")
    row = world.task_row(task)
    assert (row.assignee_id, row.original_assignee_id) == (
        world.users["stand_in"],
        world.users["legal"],
    )
    with pytest.raises(NotYourTask):
        world.decide(task, "cfo", "approve")
    world.decide(task, "legal", "approve")  # the owner still sees and may decide it
    assert world.instance(instance).status == "finished"


def test_a_deputy_named_after_the_task_was_created_may_decide(world: World) -> None:
    instance = one_step(world, executors=[{"role": "legal"}])
    world.user("stand_in")
    world.deputy("legal", "stand_in", date(2026, 12, 1), date(2026, 12, 10))
    world.decide(world.task(instance, "visa"), "stand_in", "approve")
    assert world.instance(instance).status == "finished"


def test_delegation_returns_the_task_to_its_owner(world: World) -> None:
    world.user("junior")
    instance = one_step(world, executors=[{"role": "legal"}])
    task = world.task(instance, "visa")
    with world.db.session(write=True) as session, pytest.raises(InvalidAssignee):
        tasks.delegate(
            session, world.env, task, world.actor("legal"), world.users["legal"], now=NOW
        )
    with world.db.session(write=True) as session:
        child = tasks.delegate(
            session,
            world.env,
            task,
            world.actor("legal"),
            world.users["junior"],
            "Check it",
            now=NOW,
        ).id
    assert world.open_tasks(instance) == [("visa", "junior", "delegated")]
    with pytest.raises(TaskDelegated):
        world.decide(task, "legal", "approve")  # delegated: waits for the colleague
    world.decide(child, "junior", "complete", "Looks fine")
    assert world.open_tasks(instance) == [("visa", "legal", "approval")]
    assert world.instance(instance).status == "running"
    world.decide(task, "legal", "approve")
    assert world.instance(instance).status == "finished"
    assert "returned" in world.events(instance)


def test_reassign_by_controller_or_head_but_not_by_others(world: World) -> None:
    world.user("chief")
    world.user("other", "legal")
    world.department("Legal", "chief", "legal", "other")
    instance = one_step(world, executors=[{"user": "legal"}], controller={"user": "cfo"})
    task = world.task(instance, "visa")
    with world.db.session(write=True) as session, pytest.raises(NotYourTask):
        tasks.reassign(
            session, world.env, task, world.actor("manager"), world.users["other"], now=NOW
        )
    for by in ("cfo", "chief"):
        with world.db.session(write=True) as session:
            tasks.reassign(session, world.env, task, world.actor(by), world.users["other"], now=NOW)
        assert world.task_row(task).assignee_id == world.users["other"]
        with world.db.session(write=True) as session:
            tasks.reassign(session, world.env, task, world.actor(by), world.users["legal"], now=NOW)
    with world.db.session(write=True) as session, pytest.raises(InvalidAssignee):
        tasks.reassign(session, world.env, task, world.actor("cfo"), 10**9, now=NOW)


def test_a_supervisor_picks_the_executor_among_the_role(world: World) -> None:
    world.user("chief")
    world.user("sec2", "secretary")
    world.department("Office", "chief", "author")
    world.publish(
        chain(
            "print",
            node(
                "print",
                "assignment",
                executor={"role": "secretary", "pick": "supervisor"},
            ),
        )
    )
    instance = world.start("print", world.document())
    task = world.task(instance, "print")
    assert world.open_tasks(instance) == [("print", "chief", "assignment")]
    with world.db.session(write=True) as session, pytest.raises(InvalidAssignee):
        tasks.reassign(session, world.env, task, world.actor("chief"), world.users["cfo"], now=NOW)
    with world.db.session(write=True) as session:
        tasks.reassign(session, world.env, task, world.actor("chief"), world.users["sec2"], now=NOW)
    world.decide(task, "sec2", "complete")
    assert world.instance(instance).status == "finished"


def test_round_robin_and_least_loaded_spread_the_work(world: World) -> None:
    world.user("sec2", "secretary")
    world.publish(
        chain(
            "rr", node("do", "assignment", executor={"role": "secretary", "pick": "round_robin"})
        ),
        chain("ll", node("do", "assignment", executor={"role": "secretary"})),
    )
    picked = []
    for _ in range(3):
        instance = world.start("rr", world.document())
        picked.append(world.open_tasks(instance)[0][1])
    assert picked == ["secretary", "sec2", "secretary"]
    # now secretary has 2 open tasks and sec2 has 1: least loaded picks sec2
    instance = world.start("ll", world.document())
    assert world.open_tasks(instance)[0][1] == "sec2"


def test_no_decision_after_the_route_is_cancelled(world: World) -> None:
    from potok.runtime.routing import instances

    instance = one_step(world, executors=[{"role": "legal"}, {"role": "cfo"}], mode="all")
    task = world.task(instance, "visa", "legal")
    with world.db.session(write=True) as session:
        instances.cancel(session, world.env, instance, world.actor("author"), now=NOW)
    with pytest.raises(TaskClosed):
        world.decide(task, "legal", "approve")
    with world.db.session(write=True) as session, pytest.raises(RouteNotRunning):
        instances.cancel(session, world.env, instance, world.actor("author"), now=NOW)


def test_the_assignee_accepts_an_assignment_once_and_then_completes_it(world: World) -> None:
    world.publish(chain("call", node("call", "assignment", executor={"field": "manager"})))
    instance = world.start("call", world.document(manager=world.users["manager"]))
    task = world.task(instance, "call")
    assert world.task_row(task).accepted_at is None
    later = NOW + timedelta(hours=1)
    world.decide(task, "manager", "accept", now=later)
    row = world.task_row(task)
    assert (row.status, row.accepted_at, row.decision) == ("open", later, None)
    assert world.events(instance)[-1] == "accepted"
    version = world.instance(instance).version
    world.decide(task, "manager", "accept", now=later + timedelta(hours=1))  # a double click
    assert world.task_row(task).accepted_at == later
    assert world.instance(instance).version == version
    assert world.events(instance).count("accepted") == 1
    world.decide(task, "manager", "complete", "Called", now=later + timedelta(hours=2))
    assert world.instance(instance).status == "finished"
    with pytest.raises(TaskClosed):
        world.decide(task, "manager", "accept")


def test_only_the_assignee_or_their_deputy_accepts_and_only_an_assignment(world: World) -> None:
    world.user("stand_in")
    world.deputy("manager", "stand_in", date(2026, 12, 1), date(2026, 12, 10))
    world.publish(
        chain("call", node("call", "assignment", executor={"field": "manager"})),
        chain("visa", node("visa", "approval", executors=[{"role": "legal"}])),
    )
    instance = world.start("call", world.document(manager=world.users["manager"]))
    task = world.task(instance, "call")
    before = snapshot(world, instance)
    with pytest.raises(NotYourTask):
        world.decide(task, "cfo", "accept")
    assert snapshot(world, instance) == before
    assert world.task_row(task).accepted_at is None
    world.decide(task, "stand_in", "accept")  # the deputy of the absent manager
    assert world.task_row(task).accepted_at == NOW
    visa = world.start("visa", world.document())
    approval = world.task(visa, "visa")
    with pytest.raises(UnknownDecision):
        world.decide(approval, "legal", "accept")
    assert world.task_row(approval).accepted_at is None


def test_completing_without_accepting_still_works(world: World) -> None:
    world.publish(chain("call", node("call", "assignment", executor={"author": True})))
    instance = world.start("call", world.document())
    task = world.task(instance, "call")
    world.decide(task, "author", "complete", "Done")
    row = world.task_row(task)
    assert (row.status, row.accepted_at) == ("done", None)
    assert "accepted" not in world.events(instance)
