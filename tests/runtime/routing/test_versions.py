"""Route versions: a running instance keeps the version it started with until an
administrator moves it to a newer one, which is refused (nothing changed) when a step the
instance is at now is missing from it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from potok.errors import NotFound
from potok.metadata.tables import MetaVersion
from potok.platform.models import RouteEvent, RouteTimer
from potok.runtime.routing import instances
from potok.runtime.routing.errors import (
    RouteNotRunning,
    RouteVersionCurrent,
    RouteVersionOlder,
    StepsMissingInVersion,
)
from tests.builders import Publisher
from tests.runtime.routing.conftest import NOW, World, chain, node
from tests.runtime.routing.test_web import Company
from tests.runtime.routing.test_web import node as web_node
from tests.runtime.routing.test_web import route as web_route
from tests.runtime.test_screens import card_id

LEGAL = node("legal", "approval", executors=[{"role": "legal"}], deadline={"working_days": 2})
CFO = node("cfo", "approval", executors=[{"role": "cfo"}])
CEO = node("ceo", "approval", executors=[{"user": "ceo"}])


def versions(world: World, key: str = "visa") -> list[int]:
    with world.db.session() as session:
        return list(
            session.scalars(
                select(MetaVersion.id)
                .where(MetaVersion.kind == "route", MetaVersion.key == key)
                .order_by(MetaVersion.version)
            )
        )


def migrate(world: World, instance: int, to_version_id: int | None = None) -> None:
    with world.db.session(write=True) as session:
        instances.migrate(
            session,
            world.env,
            instance,
            world.actor("ceo"),
            now=NOW + timedelta(hours=1),
            to_version_id=to_version_id,
        )


def state(world: World, instance: int) -> tuple[object, ...]:
    row = world.instance(instance)
    return (
        row.route_version_id,
        row.version,
        row.status,
        world.open_tasks(instance),
        world.live_tokens(instance),
        world.events(instance),
    )


def timers(world: World, instance: int) -> list[tuple[str, object]]:
    with world.db.session() as session:
        return [
            (kind, due)
            for kind, due in session.execute(
                select(RouteTimer.kind, RouteTimer.due_at)
                .where(RouteTimer.instance_id == instance, RouteTimer.cancelled_at.is_(None))
                .order_by(RouteTimer.id)
            )
        ]


def test_a_moved_instance_follows_the_new_versions_ways(world: World) -> None:
    world.publish(chain("visa", LEGAL, CFO))
    moved = world.start("visa", world.document())
    stays = world.start("visa", world.document())
    first = versions(world)[0]
    task = world.task(moved, "legal")
    before_timers = timers(world, moved)
    assert before_timers  # the legal step has a deadline
    world.publish(chain("visa", LEGAL, CFO, CEO))  # a CEO step added after the CFO
    newest = versions(world)[-1]
    assert newest != first
    assert world.instance(moved).route_version_id == first  # untouched until moved
    version = world.instance(moved).version
    migrate(world, moved)
    row = world.instance(moved)
    assert (row.route_version_id, row.status, row.version) == (newest, "running", version + 1)
    assert world.open_tasks(moved) == [("legal", "legal", "approval")]  # the same task
    assert world.task(moved, "legal") == task
    assert world.live_tokens(moved) == [("legal", "active")]
    assert timers(world, moved) == before_timers
    with world.db.session() as session:
        event = session.scalars(
            select(RouteEvent).where(RouteEvent.instance_id == moved).order_by(RouteEvent.id)
        ).all()[-1]
        assert (event.what, event.actor_id, event.comment) == (
            "migrated",
            world.users["ceo"],
            "1 → 2",
        )
    world.decide(task, "legal", "approve")
    world.decide(world.task(moved, "cfo"), "cfo", "approve")
    assert world.open_tasks(moved) == [("ceo", "ceo", "approval")]  # the new step is visited
    world.decide(world.task(moved, "ceo"), "ceo", "approve")
    assert world.instance(moved).status == "finished"
    # The instance that was not moved goes on along its own version: no CEO step.
    assert world.instance(stays).route_version_id == first
    world.decide(world.task(stays, "legal"), "legal", "approve")
    world.decide(world.task(stays, "cfo"), "cfo", "approve")
    assert world.instance(stays).status == "finished"
    assert "ceo" not in [n for n, _ in world.live_tokens(stays)]


def test_refused_when_a_current_step_is_missing_and_nothing_changes(world: World) -> None:
    world.publish(chain("visa", LEGAL, CFO))
    instance = world.start("visa", world.document())
    world.publish(chain("visa", node("review", "approval", executors=[{"role": "legal"}]), CFO))
    before = state(world, instance)
    with pytest.raises(StepsMissingInVersion) as refused:
        migrate(world, instance)
    assert "Legal" in str(refused.value)  # the missing step by its label
    assert state(world, instance) == before


def test_refused_when_a_current_step_changed_kind(world: World) -> None:
    world.publish(chain("visa", LEGAL, CFO))
    instance = world.start("visa", world.document())
    world.publish(chain("visa", node("legal", "assignment", executor={"role": "legal"}), CFO))
    before = state(world, instance)
    with pytest.raises(StepsMissingInVersion, match="Legal"):
        migrate(world, instance)
    assert state(world, instance) == before


def test_refused_when_finished_cancelled_current_or_older(world: World) -> None:
    world.publish(chain("visa", LEGAL))
    done = world.start("visa", world.document())
    world.decide(world.task(done, "legal"), "legal", "approve")
    assert world.instance(done).status == "finished"
    running = world.start("visa", world.document())
    with pytest.raises(RouteVersionCurrent):  # already on the newest version
        migrate(world, running)
    world.publish(chain("visa", LEGAL, CFO))
    first, second = versions(world)
    before = state(world, done)
    with pytest.raises(RouteNotRunning):
        migrate(world, done)
    assert state(world, done) == before
    migrate(world, running)
    with pytest.raises(RouteVersionOlder):
        migrate(world, running, to_version_id=first)
    world.publish(chain("other", LEGAL, CFO))
    for stranger in (versions(world, "other")[0], 10**9):  # not a version of this route
        with pytest.raises(NotFound):
            migrate(world, running, to_version_id=stranger)
    assert world.instance(running).route_version_id == second
    with world.db.session(write=True) as session:
        instances.cancel(session, world.env, running, world.actor("ceo"), now=NOW)
    with pytest.raises(RouteNotRunning):
        migrate(world, running)


def test_moved_to_a_given_newer_version_not_only_the_newest(world: World) -> None:
    world.publish(chain("visa", LEGAL))
    instance = world.start("visa", world.document())
    world.publish(chain("visa", LEGAL, CFO))
    world.publish(chain("visa", LEGAL, CFO, CEO))
    first, second, third = versions(world)
    migrate(world, instance, to_version_id=second)
    assert world.instance(instance).route_version_id == second
    world.decide(world.task(instance, "legal"), "legal", "approve")
    assert world.open_tasks(instance) == [("cfo", "cfo", "approval")]
    migrate(world, instance)  # and later on to the newest
    assert world.instance(instance).route_version_id == third
    world.decide(world.task(instance, "cfo"), "cfo", "approve")
    assert world.open_tasks(instance) == [("ceo", "ceo", "approval")]
    assert first < second < third


# Through the web: the card's route panel -----------------------------------------------------


@pytest.fixture
def company(publisher: Publisher, db: Any, clock: Any, as_user: Any, admin: Any) -> Company:
    found = Company(publisher, db, clock, as_user)
    found.boss = admin  # type: ignore[attr-defined]  # "boss", the administrator
    return found


def visa(*middle: dict[str, Any]) -> dict[str, Any]:
    return web_route("visa", *middle)


LEGAL_STEP = web_node("legal", "approval", executors=[{"role": "legal"}])


def test_an_administrator_moves_the_route_to_the_newest_version_from_the_card(
    company: Company,
) -> None:
    sara = company.person("sara", "sales")
    company.person("lena", "legal")
    company.person("carl", "sales")
    nick = company.person("nick", "sales")
    boss = company.boss  # type: ignore[attr-defined]
    company.publish()
    doc_id = card_id(company.register(sara))
    card = f"/s/deals/{doc_id}"
    move = f"{card}/route/migrate"
    assert "A newer version of this route is published." not in boss.get(card).text
    company.publisher.publish(
        visa(LEGAL_STEP, web_node("archive", "assignment", executor={"author": True}))
    )
    shown = boss.get(card).text
    assert "A newer version of this route is published." in shown
    assert "Move to the newest version" in shown
    assert "Move to the newest version" not in sara.get(card).text
    old_version = company.instance(doc_id).route_version_id
    assert sara.submit(move).status_code == 403
    assert nick.submit(move).status_code == 404
    assert company.instance(doc_id).route_version_id == old_version
    moved = boss.submit(move, headers={"HX-Request": "true"})
    assert moved.status_code == 200
    assert "The route now follows its newest version." in moved.text
    assert "Moved to a newer version of the route" in moved.text
    assert "A newer version of this route is published." not in moved.text
    assert "Archive" in moved.text  # the new step is among the steps ahead
    assert company.instance(doc_id).route_version_id != old_version


def test_a_refused_move_shows_the_reason_and_changes_nothing(company: Company) -> None:
    sara = company.person("sara", "sales")
    company.person("lena", "legal")
    company.person("carl", "sales")
    boss = company.boss  # type: ignore[attr-defined]
    company.publish()
    doc_id = card_id(company.register(sara))
    company.publisher.publish(visa(web_node("review", "approval", executors=[{"role": "legal"}])))
    before = company.instance(doc_id)
    move = f"/s/deals/{doc_id}/route/migrate"
    refused = boss.submit(move, headers={"HX-Request": "true"})
    assert refused.status_code == 409
    assert "lacks the steps the document is at now: Legal." in refused.text
    assert 'class="notice notice-error"' in refused.text
    plain = boss.submit(move)
    assert plain.status_code == 409 and "Legal" in plain.text
    after = company.instance(doc_id)
    assert (after.route_version_id, after.version) == (before.route_version_id, before.version)
    # A document whose route is over has nothing to move.
    boss.submit(f"/s/deals/{doc_id}/route/{before.id}/cancel")
    assert boss.submit(move).status_code == 409
