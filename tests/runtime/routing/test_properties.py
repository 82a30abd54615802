"""A stateful property test: random valid route graphs (sequences, parallel splits with their
joins, exclusive conditions, approvals in every mode) driven by random decisions.

After every step, for every instance: no token is lost (a running instance has an active token,
and every active token at a person's step has an open task), none is duplicated (the generated
graphs have no loops), a join fires at most once, and an
instance is finished exactly when a token has reached an end (or a rejection ended it) and no
token is left active or waiting. (Live tokens: one per step, and at a join one per branch
that arrived.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from potok.platform.models import RouteEvent, RouteTask, RouteToken
from tests.runtime.routing.conftest import World, edge, node, route

APPROVERS = ("u1", "u2", "u3")
DECISIONS = {
    "assignment": ("complete",) * 5 + ("refuse",),
    "approval": ("approve",) * 6 + ("reject", "return_for_revision"),
    "revision": ("resubmit",),
}

human = st.one_of(
    st.just(("assignment",)),
    st.tuples(
        st.just("approval"),
        st.sampled_from(["sequence", "all", "any", "quorum"]),
        st.integers(min_value=1, max_value=3),
        st.integers(min_value=1, max_value=3),
    ),
)
blocks = st.recursive(
    human,
    lambda inner: st.one_of(
        st.tuples(st.just("seq"), st.lists(inner, min_size=2, max_size=3)),
        st.tuples(st.just("par"), st.lists(inner, min_size=2, max_size=3)),
        st.tuples(
            st.just("cond"),
            st.lists(inner, min_size=2, max_size=3),
            st.lists(st.integers(min_value=0, max_value=3_000_000), min_size=3, max_size=3),
        ),
    ),
    max_leaves=7,
)

# Routes with parallel branches at the top half of the time, so joins are exercised often.
routes = st.one_of(blocks, st.tuples(st.just("par"), st.lists(blocks, min_size=2, max_size=3)))


@dataclass
class Graph:
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)

    def key(self, prefix: str) -> str:
        return f"{prefix}{len(self.nodes)}"

    def add(self, prefix: str, type_: str, **spec: Any) -> str:
        key = self.key(prefix)
        self.nodes.append(node(key, type_, **spec))
        return key

    def single_exit(self, exits: list[str]) -> str:
        if len(exits) == 1:
            return exits[0]
        merge = self.add("m", "wait", until={"duration": {"minutes": 0}})
        self.edges.extend(edge(item, merge) for item in exits)
        return merge

    def build(self, block: tuple[Any, ...]) -> tuple[str, list[str]]:
        kind = block[0]
        if kind == "assignment":
            key = self.add("h", "assignment", executor={"author": True})
            return key, [key]
        if kind == "approval":
            _, mode, count, quorum = block
            spec: dict[str, Any] = {
                "mode": mode,
                "executors": [{"user": u} for u in APPROVERS[:count]],
            }
            if mode == "quorum":
                spec["quorum"] = min(quorum, count)
            key = self.add("h", "approval", **spec)
            return key, [key]
        if kind == "seq":
            entry, exits = self.build(block[1][0])
            for part in block[1][1:]:
                following, after = self.build(part)
                self.edges.extend(edge(item, following) for item in exits)
                exits = after
            return entry, exits
        if kind == "par":
            split = self.add("s", "split")
            ends = []
            for branch in block[1]:
                entry, exits = self.build(branch)
                self.edges.append(edge(split, entry))
                ends.append(self.single_exit(exits))
            join = self.add("j", "join")
            self.joins.append(join)
            self.edges.extend(edge(item, join) for item in ends)
            return split, [join]
        condition = self.add("c", "condition")
        exits = []
        for index, branch in enumerate(block[1]):
            entry, after = self.build(branch)
            if index == len(block[1]) - 1:
                self.edges.append(edge(condition, entry, default=True))
            else:
                threshold = block[2][index]
                self.edges.append(
                    edge(condition, entry, when={">": [{"var": "amount"}, threshold]})
                )
            exits += after
        return condition, exits

    def document(self, key: str, block: tuple[Any, ...]) -> dict[str, Any]:
        entry, exits = self.build(block)
        self.edges.append(edge("start", entry))
        self.edges.extend(edge(item, "end") for item in exits)
        return route(key, node("start", "start"), *self.nodes, node("end", "end"), edges=self.edges)


class RouteMachine(RuleBasedStateMachine):
    world: World
    counter = 0

    def __init__(self) -> None:
        super().__init__()
        self.instances: list[int] = []
        self.joins: list[str] = []

    @initialize(block=routes, amounts=st.lists(st.integers(0, 3_000_000), min_size=1, max_size=2))
    def publish_and_start(self, block: tuple[Any, ...], amounts: list[int]) -> None:
        RouteMachine.counter += 1
        key = f"r{RouteMachine.counter}"
        graph = Graph()
        self.world.publish(graph.document(key, block))
        self.joins = graph.joins
        for amount in amounts:
            self.instances.append(
                self.world.start(key, self.world.document(amount=Decimal(amount)))
            )

    def _open(self) -> list[tuple[int, str, int]]:
        with self.world.db.session() as session:
            rows = session.execute(
                select(RouteTask.id, RouteTask.kind, RouteTask.assignee_id)
                .where(RouteTask.instance_id.in_(self.instances), RouteTask.status == "open")
                .order_by(RouteTask.id)
            ).all()
        return [(task_id, kind, assignee) for task_id, kind, assignee in rows]

    @rule(pick=st.integers(0, 1000), choice=st.integers(0, 1000), again=st.booleans())
    def decide(self, pick: int, choice: int, again: bool) -> None:
        """Decide a random open task; sometimes submit the same decision twice."""
        open_tasks = self._open()
        if not open_tasks:
            return
        task_id, kind, assignee = open_tasks[pick % len(open_tasks)]
        options = DECISIONS[kind]
        decision = options[choice % len(options)]
        who = next(name for name, user_id in self.world.users.items() if user_id == assignee)
        self.world.decide(task_id, who, decision, "because")
        if again:
            before = self._state()
            self.world.decide(task_id, who, decision, "because")
            assert self._state() == before

    def _state(self) -> list[Any]:
        return [
            (self.world.instance(i).version, self.world.live_tokens(i), self.world.open_tasks(i))
            for i in self.instances
        ]

    @invariant()
    def tokens_are_neither_lost_nor_duplicated(self) -> None:
        for instance_id in self.instances:
            state = self.world.instance(instance_id)
            assert state.status in ("running", "finished"), state.error
            live = self.world.live_tokens(instance_id)
            with self.world.db.session() as session:
                reached_end = session.scalar(
                    select(func.count()).where(
                        RouteToken.instance_id == instance_id, RouteToken.node == "end"
                    )
                )
                fired = session.execute(
                    select(RouteEvent.node, func.count())
                    .where(RouteEvent.instance_id == instance_id, RouteEvent.what == "joined")
                    .group_by(RouteEvent.node)
                ).all()
                open_by_token = dict(
                    session.execute(
                        select(RouteTask.token_id, func.count())
                        .where(
                            RouteTask.instance_id == instance_id,
                            RouteTask.status.in_(("open", "delegated")),
                        )
                        .group_by(RouteTask.token_id)
                    ).all()
                )
                places = session.execute(
                    select(RouteToken.node, RouteToken.arrived_from, RouteToken.status).where(
                        RouteToken.instance_id == instance_id, RouteToken.status != "consumed"
                    )
                ).all()
                active = session.scalars(
                    select(RouteToken.id).where(
                        RouteToken.instance_id == instance_id, RouteToken.status == "active"
                    )
                ).all()
            assert all(count == 1 for _, count in fired), fired
            # one live token per step, and at a join one per branch that arrived
            spots = [(key, came if status == "waiting" else None) for key, came, status in places]
            assert len(spots) == len(set(spots)), places
            if state.status == "running":
                assert live, "a running instance lost its tokens"
                assert any(status == "active" for _, status in live)
                assert all(open_by_token.get(token, 0) >= 1 for token in active)
            else:
                assert live == []
                assert open_by_token == {}
                if state.outcome == "completed":
                    assert reached_end >= 1


def test_random_routes_and_decisions_keep_the_token_invariants(world: World) -> None:
    for name in APPROVERS:
        world.user(name)
    RouteMachine.world = world
    run_state_machine_as_test(
        RouteMachine,
        settings=settings(max_examples=30, stateful_step_count=40, deadline=None),
    )
