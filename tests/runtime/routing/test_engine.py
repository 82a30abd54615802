"""The engine over each step kind, on the Sales contract route and on small routes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from potok.errors import NotFound, ValidationFailed
from potok.platform.models import RouteInstance
from potok.runtime.routing import instances
from potok.runtime.routing.errors import RouteAlreadyRunning
from tests.runtime.routing.conftest import NOW, World, chain, contract_route, edge, node, route


def approve_all(world: World, instance_id: int, node_key: str) -> None:
    for _, user, _ in [t for t in world.open_tasks(instance_id) if t[0] == node_key]:
        world.decide(world.task(instance_id, node_key, user), user, "approve")


def test_a_small_contract_goes_legal_cfo_then_both_branches(world: World) -> None:
    world.publish(contract_route())
    doc = world.document(manager=world.users["manager"], amount=Decimal("500000"))
    instance = world.start("contract", doc)
    assert world.open_tasks(instance) == [("legal", "legal", "approval")]
    world.decide(world.task(instance, "legal"), "legal", "approve", "fine")
    assert world.open_tasks(instance) == [("cfo", "cfo", "approval")]
    world.decide(world.task(instance, "cfo"), "cfo", "approve")
    assert world.open_tasks(instance) == [
        ("invoice", "manager", "assignment"),
        ("print", "secretary", "assignment"),
    ]
    assert world.live_tokens(instance) == [("invoice", "active"), ("print", "active")]
    world.decide(world.task(instance, "print"), "secretary", "complete")
    assert world.live_tokens(instance) == [("invoice", "active"), ("meet", "waiting")]
    assert world.instance(instance).status == "running"
    world.decide(world.task(instance, "invoice"), "manager", "complete")
    finished = world.instance(instance)
    assert (finished.status, finished.outcome, finished.finished_at) == (
        "finished",
        "completed",
        NOW,
    )
    assert world.live_tokens(instance) == []
    assert world.values(doc)["status"] == "signing"
    events = world.events(instance)
    assert events.count("joined") == 1
    assert events[0] == "started" and events[-1] == "finished"


def test_a_big_contract_also_goes_to_the_ceo(world: World) -> None:
    world.publish(contract_route())
    doc = world.document(manager=world.users["manager"], amount=Decimal("2500000"))
    instance = world.start("contract", doc)
    approve_all(world, instance, "legal")
    approve_all(world, instance, "cfo")
    assert world.open_tasks(instance) == [("ceo", "ceo", "approval")]
    approve_all(world, instance, "ceo")
    assert [t[0] for t in world.open_tasks(instance)] == ["invoice", "print"]


def test_a_rejection_without_a_way_for_it_ends_the_route_rejected(world: World) -> None:
    world.publish(contract_route())
    instance = world.start("contract", world.document(manager=world.users["manager"]))
    world.decide(world.task(instance, "legal"), "legal", "reject", "No stamp")
    finished = world.instance(instance)
    assert (finished.status, finished.outcome) == ("finished", "rejected")
    assert world.open_tasks(instance) == []


def test_a_rejection_follows_its_way_when_there_is_one(world: World) -> None:
    world.publish(
        route(
            "visa",
            node("start", "start"),
            node("legal", "approval", executors=[{"role": "legal"}]),
            node("fix", "assignment", executor={"author": True}),
            node("end", "end"),
            edges=[
                edge("start", "legal"),
                edge("legal", "end"),
                edge("legal", "fix", on="rejected"),
                edge("fix", "end"),
            ],
        )
    )
    instance = world.start("visa", world.document())
    world.decide(world.task(instance, "legal"), "legal", "reject", "Wrong amount")
    assert world.open_tasks(instance) == [("fix", "author", "assignment")]


def test_a_refusal_ends_an_assignment_refused(world: World) -> None:
    world.publish(chain("call", node("call", "assignment", executor={"field": "manager"})))
    instance = world.start("call", world.document(manager=world.users["manager"]))
    world.decide(world.task(instance, "call"), "manager", "refuse", "No prospect")
    assert world.instance(instance).outcome == "refused"


@pytest.mark.parametrize(
    ("mode", "quorum", "decisions", "expected"),
    [
        pytest.param("sequence", None, ["approve", "approve", "approve"], "done", id="sequence"),
        pytest.param("sequence", None, ["approve", "reject"], "rejected", id="sequence-reject"),
        pytest.param("all", None, ["approve", "approve", "approve"], "done", id="all"),
        pytest.param("all", None, ["approve", "reject"], "rejected", id="all-one-reject"),
        pytest.param("any", None, ["reject", "approve"], "done", id="any"),
        pytest.param("any", None, ["reject", "reject", "reject"], "rejected", id="any-all-reject"),
        pytest.param("quorum", 2, ["approve", "reject", "approve"], "done", id="quorum"),
        pytest.param("quorum", 2, ["reject", "reject"], "rejected", id="quorum-impossible"),
    ],
)
def test_approval_modes(
    world: World, mode: str, quorum: int | None, decisions: list[str], expected: str
) -> None:
    for name in ("ann", "bob", "cid"):
        world.user(name)
    spec = {"mode": mode, "executors": [{"user": n} for n in ("ann", "bob", "cid")]}
    if quorum:
        spec["quorum"] = quorum
    world.publish(chain("board", node("board", "approval", **spec)))
    instance = world.start("board", world.document())
    asked = [t[1] for t in world.open_tasks(instance)]
    assert asked == (["ann"] if mode == "sequence" else ["ann", "bob", "cid"])
    for name, decision in zip(("ann", "bob", "cid"), decisions, strict=False):
        world.decide(world.task(instance, "board", name), name, decision, "why")
    state = world.instance(instance)
    if expected == "done":
        assert (state.status, state.outcome) == ("finished", "completed")
    else:
        assert (state.status, state.outcome) == ("finished", "rejected")
    assert world.open_tasks(instance) == []


def test_actions_create_a_linked_client_and_queue_an_email(world: World) -> None:
    world.publish(
        chain(
            "onboard",
            node(
                "client",
                "action",
                action={
                    "type": "create_linked",
                    "stream": "clients",
                    "fields": {"name": "title", "manager": "manager"},
                    "link_field": "client",
                },
            ),
            node(
                "tell",
                "action",
                action={
                    "type": "send_email",
                    "to": {"address_field": "email"},
                    "subject": {"en": "Contract {title}", "ru": "Договор {title}"},
                    "body": {"en": "Amount {amount}"},
                },
            ),
        )
    )
    doc = world.document(title="Steel", manager=world.users["manager"], email="buyer@example.com")
    instance = world.start("onboard", doc)
    assert world.instance(instance).status == "finished"
    client_id = world.values(doc)["client"]
    assert world.values(client_id, "clients") == {
        "name": "Steel",
        "manager": world.users["manager"],
    }
    assert world.mails() == [(["buyer@example.com"], "Contract Steel")]


def test_an_action_that_fails_leaves_the_instance_needing_attention(world: World) -> None:
    world.publish(
        chain(
            "tell",
            node(
                "tell",
                "action",
                action={
                    "type": "send_email",
                    "to": {"address_field": "email"},
                    "subject": {"en": "x", "ru": "x"},
                },
            ),
        )
    )
    instance = world.start("tell", world.document())
    state = world.instance(instance)
    assert (state.status, state.error) == (
        "needs_attention",
        "There is no e-mail address to send to.",
    )
    assert world.mails() == []
    assert world.live_tokens(instance) == [("start", "active")]


def test_an_empty_role_needs_attention_and_a_retry_moves_on(world: World) -> None:
    world.publish(chain("audit", node("audit", "assignment", executor={"role": "auditor"})))
    instance = world.start("audit", world.document())
    state = world.instance(instance)
    assert state.status == "needs_attention"
    assert state.error == "Role auditor has no active users."
    assert world.open_tasks(instance) == []
    world.user("aud", "auditor")
    with world.db.session(write=True) as session:
        instances.retry(session, world.env, instance, world.actor("author"), now=NOW)
    assert world.instance(instance).status == "running"
    assert world.open_tasks(instance) == [("audit", "aud", "assignment")]


def test_a_decision_whose_next_step_fails_is_kept(world: World) -> None:
    world.publish(
        chain(
            "two",
            node("one", "assignment", executor={"author": True}),
            node("two", "assignment", executor={"field": "manager"}),
        )
    )
    instance = world.start("two", world.document())
    task = world.task(instance, "one")
    world.decide(task, "author", "complete")
    assert world.task_row(task).status == "done"
    state = world.instance(instance)
    assert state.status == "needs_attention"
    assert "manager" in (state.error or "")
    assert world.live_tokens(instance) == [("one", "active")]


def test_start_route_action_and_stream_mismatch(world: World) -> None:
    world.publish(chain("inner", node("do", "assignment", executor={"author": True})))
    world.publish(
        chain("outer", node("kick", "action", action={"type": "start_route", "route": "inner"}))
    )
    doc = world.document()
    outer = world.start("outer", doc)
    assert world.instance(outer).status == "finished"
    with world.db.session() as session:
        runs = instances.instances_of(session, "contracts", doc)
    assert [(r.route, r.status) for r in runs] == [("outer", "finished"), ("inner", "running")]
    with pytest.raises(RouteAlreadyRunning):
        world.start("inner", doc)
    world.publish(
        route(
            "for_clients",
            node("start", "start"),
            node("end", "end"),
            edges=[edge("start", "end")],
            stream_key="clients",
        )
    )
    with pytest.raises(ValidationFailed):
        world.start("for_clients", doc)
    with pytest.raises(NotFound):
        world.start("ghost", doc)


def test_a_wait_until_a_date_field_in_the_past_passes_at_once(world: World) -> None:
    from datetime import date

    world.publish(chain("pause", node("pause", "wait", until={"field": "signed_on"})))
    instance = world.start("pause", world.document(signed_on=date(2026, 11, 1)))
    assert world.instance(instance).status == "finished"


def test_running_instances_keep_their_route_version(world: World) -> None:
    world.publish(chain("visa", node("one", "assignment", executor={"author": True})))
    doc = world.document()
    instance = world.start("visa", doc)
    changed = chain(
        "visa",
        node("one", "assignment", executor={"author": True}),
        node("two", "assignment", executor={"author": True}),
    )
    world.publish(changed)
    world.decide(world.task(instance, "one"), "author", "complete")
    assert world.instance(instance).status == "finished"  # the old version had no step two
    other = world.start("visa", world.document())
    world.decide(world.task(other, "one"), "author", "complete")
    assert world.open_tasks(other) == [("two", "author", "assignment")]
    with world.db.session() as session:
        versions = session.scalars(
            select(RouteInstance.route_version_id).order_by(RouteInstance.id)
        ).all()
    assert versions[0] != versions[1]


def test_cancel_closes_everything(world: World) -> None:
    world.publish(contract_route())
    instance = world.start("contract", world.document(manager=world.users["manager"]))
    with world.db.session(write=True) as session:
        instances.cancel(session, world.env, instance, world.actor("author"), now=NOW)
    state = world.instance(instance)
    assert (state.status, state.outcome) == ("cancelled", "cancelled")
    assert world.open_tasks(instance) == []
    assert world.live_tokens(instance) == []
