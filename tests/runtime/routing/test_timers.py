"""Timers: reminders and overdue notices sent once through the outbox, waits resumed once,
and two decisions at the same moment meeting at a join."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from potok.runtime.routing import timers
from tests.runtime.routing.conftest import NOW, World, chain, edge, node, route


def sweep(world: World, at: datetime) -> list[str]:
    with world.db.session(write=True) as session:
        return [fired.kind for fired in timers.sweep_timers(session, world.env, now=at)]


def test_a_reminder_and_an_overdue_notice_fire_once_each(world: World) -> None:
    world.publish(
        chain(
            "visa",
            node(
                "visa",
                "approval",
                executors=[{"role": "legal"}],
                deadline={"working_hours": 4},
                reminders=[{"working_hours": 1}, {"hours": 10}],
                controller={"user": "cfo"},
            ),
        )
    )
    instance = world.start("visa", world.document())
    task = world.task(instance, "visa")
    assert world.task_row(task).deadline == NOW + timedelta(hours=4)
    assert sweep(world, NOW + timedelta(hours=2)) == []
    assert sweep(world, NOW + timedelta(hours=3, minutes=30)) == ["reminder"]
    assert sweep(world, NOW + timedelta(hours=3, minutes=30)) == []  # swept again: nothing
    assert world.mails() == [
        (["legal@example.com"], "Reminder: a task is due 12/2/26, 2:00\u202fPM")
    ]
    assert sweep(world, NOW + timedelta(hours=5)) == ["overdue"]
    assert sweep(world, NOW + timedelta(hours=6)) == []
    assert world.mails()[1:] == [
        (["legal@example.com"], "Overdue: a task was due 12/2/26, 2:00\u202fPM"),
        (["cfo@example.com"], "Overdue: a task was due 12/2/26, 2:00\u202fPM"),
    ]
    assert world.events(instance).count("reminder") == 1
    assert world.events(instance).count("overdue") == 1


def test_a_decision_cancels_the_timers_of_its_task(world: World) -> None:
    world.publish(
        chain(
            "visa",
            node(
                "visa",
                "approval",
                executors=[{"role": "legal"}],
                deadline={"working_days": 1},
                reminders=[{"working_hours": 2}],
            ),
        )
    )
    instance = world.start("visa", world.document())
    world.decide(world.task(instance, "visa"), "legal", "approve")
    assert sweep(world, NOW + timedelta(days=5)) == []
    assert world.mails() == []


def test_a_wait_resumes_once_when_its_time_comes(world: World) -> None:
    world.publish(
        chain(
            "pause",
            node("pause", "wait", until={"duration": {"hours": 2}}),
            node("after", "assignment", executor={"author": True}),
        )
    )
    instance = world.start("pause", world.document())
    assert world.live_tokens(instance) == [("pause", "active")]
    assert sweep(world, NOW + timedelta(hours=1)) == []
    assert sweep(world, NOW + timedelta(hours=3)) == ["wait"]
    assert sweep(world, NOW + timedelta(hours=3)) == []
    assert world.open_tasks(instance) == [("after", "author", "assignment")]
    assert world.live_tokens(instance) == [("after", "active")]


def test_a_wait_until_a_fixed_date_uses_the_start_of_the_working_day(world: World) -> None:
    world.publish(chain("pause", node("pause", "wait", until={"date": "2027-01-11"})))
    instance = world.start("pause", world.document())
    assert sweep(world, datetime(2027, 1, 11, 8, 59)) == []
    assert sweep(world, datetime(2027, 1, 11, 9, 0)) == ["wait"]
    assert world.instance(instance).status == "finished"


def test_two_decisions_at_the_same_moment_fire_the_join_once(world: World) -> None:
    world.publish(
        route(
            "both",
            node("start", "start"),
            node("fork", "split"),
            node("left", "assignment", executor={"author": True}),
            node("right", "assignment", executor={"field": "manager"}),
            node("meet", "join"),
            node("after", "assignment", executor={"author": True}),
            node("end", "end"),
            edges=[
                edge("start", "fork"),
                edge("fork", "left"),
                edge("fork", "right"),
                edge("left", "meet"),
                edge("right", "meet"),
                edge("meet", "after"),
                edge("after", "end"),
            ],
        )
    )
    errors: list[BaseException] = []

    def decide(barrier: threading.Barrier, task_id: int, who: str) -> None:
        try:
            barrier.wait()
            world.decide(task_id, who, "complete")
        except BaseException as error:
            errors.append(error)

    for _ in range(3):
        instance = world.start("both", world.document(manager=world.users["manager"]))
        left, right = world.task(instance, "left"), world.task(instance, "right")
        barrier = threading.Barrier(2)

        threads = [
            threading.Thread(target=decide, args=(barrier, left, "author")),
            threading.Thread(target=decide, args=(barrier, right, "manager")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert world.events(instance).count("joined") == 1
        assert world.open_tasks(instance) == [("after", "author", "assignment")]
        assert world.live_tokens(instance) == [("after", "active")]
