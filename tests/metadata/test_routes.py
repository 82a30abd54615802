"""Routes: the schema of each step kind, the typed model, and the graph and field checks."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potok.metadata import routes
from potok.metadata.schema import check_document
from potok.metadata.validate import check_configuration
from tests.builders import field, labels, stream

CLIENTS = stream("clients", field("name"), field("manager", "user"))
CONTRACTS = stream(
    "contracts",
    field("title"),
    field("amount", "money"),
    field("manager", "user"),
    field("signed_on", "date"),
    field("call_by", "datetime"),
    field("email", "email"),
    field("client", "link", stream="clients"),
    field("status", "choice", options=[{"value": "new", "labels": labels("New")}]),
)


def node(key: str, type_: str, **spec: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "labels": labels(key), **spec}


def edge(source: str, target: str, **spec: Any) -> dict[str, Any]:
    return {"from": source, "to": target, **spec}


def contract_route() -> dict[str, Any]:
    """The Sales contract route: legal -> CFO -> CEO above a threshold, then in parallel to the
    manager and the secretary."""
    return {
        "kind": "route",
        "key": "contract_approval",
        "labels": labels("Contract approval", "Согласование договора"),
        "stream": "contracts",
        "nodes": [
            node("start", "start"),
            node(
                "visas",
                "approval",
                executors=[{"role": "legal"}, {"role": "cfo", "pick": "round_robin"}],
                mode="sequence",
                deadline={"working_days": 1},
                reminders=[{"working_hours": 2}],
                controller={"head_of_author_department": True},
                forbid_self_approval=True,
            ),
            node("big", "condition"),
            node("ceo", "approval", executors=[{"user": "ceo"}], deadline={"field": "signed_on"}),
            node("fork", "split"),
            node("invoice", "assignment", executor={"field": "manager"}),
            node(
                "print",
                "assignment",
                executor={
                    "role": "secretary",
                    "pick": "supervisor",
                    "supervisor": {"head_of_author_department": True},
                },
            ),
            node("meet", "join"),
            node(
                "mark",
                "action",
                action={"type": "set_field", "field": "status", "value": "new"},
            ),
            node("end", "end"),
        ],
        "edges": [
            edge("start", "visas"),
            edge("visas", "big"),
            edge("big", "ceo", when={">": [{"var": "amount"}, 1000000]}),
            edge("big", "fork", default=True),
            edge("ceo", "fork"),
            edge("fork", "invoice"),
            edge("fork", "print"),
            edge("invoice", "meet"),
            edge("print", "meet"),
            edge("meet", "mark"),
            edge("mark", "end"),
        ],
    }


def configuration(route: dict[str, Any], *more: dict[str, Any]) -> dict[tuple[str, str], Any]:
    documents = {("stream", "clients"): CLIENTS, ("stream", "contracts"): CONTRACTS}
    for document in (route, *more):
        documents[(document["kind"], document["key"])] = document
    return documents


def problems(route: dict[str, Any], *more: dict[str, Any]) -> list[str]:
    return [str(item) for item in check_configuration(configuration(route, *more))]


def test_the_contract_route_is_valid_and_parses_into_the_model() -> None:
    document = contract_route()
    assert check_document(document) == []
    assert problems(document) == []
    route = routes.parse(document)
    assert route.start.key == "start"
    visas = route.nodes["visas"]
    assert visas.executors == (
        routes.Executor("role", "legal"),
        routes.Executor("role", "cfo", "round_robin"),
    )
    assert visas.deadline == routes.Deadline(duration=routes.Duration("working_days", 1))
    assert visas.reminders == (routes.Duration("working_hours", 2),)
    assert visas.controller == routes.Executor("head_of_author_department")
    assert visas.forbid_self_approval
    assert route.nodes["ceo"].deadline == routes.Deadline(field="signed_on")
    printing = route.nodes["print"].executors[0]
    assert printing.pick == "supervisor"
    assert printing.supervisor == routes.Executor("head_of_author_department")
    assert [e.target for e in route.outgoing("big")] == ["ceo", "fork"]
    assert [e.default for e in route.outgoing("big")] == [False, True]
    assert len(route.incoming("meet")) == 2
    assert route.nodes["mark"].action == routes.Action(
        "set_field", {"type": "set_field", "field": "status", "value": "new"}
    )


def test_every_action_and_wait_kind_is_accepted() -> None:
    document = contract_route()
    document["nodes"][8:9] = [
        node(
            "mark",
            "action",
            action={
                "type": "create_linked",
                "stream": "clients",
                "fields": {"name": "title", "manager": "manager"},
                "link_field": "client",
            },
        ),
        node(
            "mail",
            "action",
            action={
                "type": "send_email",
                "to": {"address_field": "email"},
                "subject": labels("Contract {title}", "Договор {title}"),
                "body": {"en": "Amount {amount}", "ru": "Сумма {amount}"},
            },
        ),
        node("pause", "wait", until={"duration": {"working_days": 2}}),
        node("until_day", "wait", until={"field": "signed_on"}),
        node("fixed", "wait", until={"date": "2027-01-11"}),
        node("again", "action", action={"type": "start_route", "route": "other"}),
    ]
    document["edges"][-2:] = [
        edge("meet", "mark"),
        edge("mark", "mail"),
        edge("mail", "pause"),
        edge("pause", "until_day"),
        edge("until_day", "fixed"),
        edge("fixed", "again"),
        edge("again", "end"),
    ]
    other = copy.deepcopy(contract_route())
    other["key"] = "other"
    assert problems(document, other) == []
    route = routes.parse(document)
    assert route.nodes["pause"].wait == routes.Wait(duration=routes.Duration("working_days", 2))
    assert route.nodes["until_day"].wait == routes.Wait(field="signed_on")


def test_older_routes_without_settings_keep_their_shape_problems_readable() -> None:
    document = contract_route()
    document["nodes"][1] = {"key": "visas", "type": "approval"}
    assert [str(p) for p in check_document(document)] == ["nodes[1]: executors is required."]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda d: d["nodes"][1].update(mode="quorum"),
            "nodes[1]: quorum is required.",
            id="quorum-without-number",
        ),
        pytest.param(
            lambda d: d["nodes"][9].update(executor={"user": "x"}),
            "nodes[9]: Unknown property",
            id="end-with-executor",
        ),
        pytest.param(
            lambda d: d["nodes"][1].update(type="teleport"),
            "nodes[1].type: Not one of the allowed values",
            id="unknown-kind",
        ),
        pytest.param(
            lambda d: d["nodes"][5].update(executor={"role": "x", "pick": "dice"}),
            "nodes[5].executor: Not valid",
            id="unknown-pick",
        ),
        pytest.param(
            lambda d: d["nodes"][1].update(deadline={"working_days": 0}),
            "nodes[1].deadline: Not valid",
            id="zero-deadline",
        ),
        pytest.param(
            lambda d: d["edges"][0].update(on="maybe"),
            "edges[0].on: Not one of the allowed values",
            id="unknown-outcome",
        ),
        pytest.param(
            lambda d: d["nodes"][8]["action"].update(type="format_disk"),
            "nodes[8].action.type: Not one of the allowed values",
            id="unknown-action",
        ),
    ],
)
def test_shape_problems(change: Any, expected: str) -> None:
    document = contract_route()
    change(document)
    found = [str(p) for p in check_document(document)]
    assert any(item.startswith(expected) for item in found), found


def _remove_edge(document: dict[str, Any], source: str, target: str) -> None:
    document["edges"] = [
        e for e in document["edges"] if not (e["from"] == source and e["to"] == target)
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda d: d["nodes"].append(node("start2", "start")),
            "route contract_approval › nodes: A route needs exactly one start.",
            id="two-starts",
        ),
        pytest.param(
            lambda d: d["nodes"].__setitem__(
                9, node("end", "assignment", executor={"author": True})
            ),
            "route contract_approval › nodes: A route needs an end.",
            id="no-end",
        ),
        pytest.param(
            lambda d: (
                d["nodes"].append(node("lost", "assignment", executor={"author": True}))
                or d["edges"].append(edge("lost", "end"))
            ),
            "route contract_approval › nodes[10]: Step lost cannot be reached from the start.",
            id="unreachable",
        ),
        pytest.param(
            lambda d: (
                d["nodes"].append(node("loop", "assignment", executor={"author": True}))
                or d["edges"].extend([edge("fork", "loop"), edge("loop", "loop")])
            ),
            "route contract_approval › nodes[10]: From step loop no way leads to an end.",
            id="dead-end",
        ),
        pytest.param(
            lambda d: _remove_edge(d, "big", "ceo") or _remove_edge(d, "ceo", "fork"),
            "route contract_approval › nodes[2]: A condition or a split needs two ways out",
            id="condition-one-way",
        ),
        pytest.param(
            lambda d: d["edges"][3].pop("default"),
            "route contract_approval › nodes[2]: A condition needs exactly one default way.",
            id="no-default",
        ),
        pytest.param(
            lambda d: d["edges"][2].update(default=True),
            "route contract_approval › nodes[2]: A condition needs exactly one default way.",
            id="two-defaults",
        ),
        pytest.param(
            lambda d: d["edges"][2].pop("when"),
            "route contract_approval › edges[2].when: A way out of a condition needs a condition",
            id="branch-without-condition",
        ),
        pytest.param(
            lambda d: _remove_edge(d, "print", "meet") or d["edges"].append(edge("print", "mark")),
            "route contract_approval › nodes[7]: A join needs two ways in or more.",
            id="join-one-way-in",
        ),
        pytest.param(
            lambda d: _remove_edge(d, "fork", "print") or _remove_edge(d, "print", "meet"),
            "route contract_approval › nodes[4]: A condition or a split needs two ways out",
            id="split-one-way-out",
        ),
        pytest.param(
            lambda d: d["edges"].append(edge("end", "mark")),
            "route contract_approval › nodes[9]: No way may lead out of an end.",
            id="edge-out-of-end",
        ),
        pytest.param(
            lambda d: d["edges"].append(edge("mark", "start")),
            "route contract_approval › nodes[0]: No way may lead into the start.",
            id="edge-into-start",
        ),
        pytest.param(
            lambda d: d["edges"].append(edge("visas", "end")),
            "route contract_approval › nodes[1]: This step needs exactly one way out.",
            id="two-ways-out-of-approval",
        ),
        pytest.param(
            lambda d: d["edges"][0].update(when={"==": [1, 1]}),
            "route contract_approval › edges[0]: Only ways out of a condition step carry",
            id="condition-on-plain-edge",
        ),
        pytest.param(
            lambda d: d["edges"].append(edge("invoice", "end", on="rejected")),
            "route contract_approval › edges[11].on: Only an approval has a way on rejection",
            id="rejected-way-from-assignment",
        ),
        pytest.param(
            lambda d: d["nodes"][1].update(mode="quorum", quorum=3),
            "route contract_approval › nodes[1].quorum: The quorum is larger",
            id="quorum-too-large",
        ),
        pytest.param(
            lambda d: d["edges"].append(edge("fork", "nowhere")),
            "route contract_approval › edges[11].to: There is no step nowhere.",
            id="missing-step",
        ),
        pytest.param(
            lambda d: d["nodes"].append(node("visas", "end")),
            "route contract_approval › nodes[10].key: Two steps have the key visas.",
            id="duplicate-key",
        ),
        pytest.param(
            lambda d: d["edges"][2].update(when={">": [{"var": "price"}, 1]}),
            "route contract_approval › edges[2].when.>[0]:",
            id="condition-on-missing-field",
        ),
        pytest.param(
            lambda d: d["edges"][2].update(when={">": [{"var": "amount"}, "many"]}),
            "route contract_approval › edges[2].when.>[1]:",
            id="condition-type-mismatch",
        ),
        pytest.param(
            lambda d: d["nodes"][5].update(executor={"field": "title"}),
            "route contract_approval › nodes[5].executor.field: Field title is not a user field.",
            id="executor-field-not-user",
        ),
        pytest.param(
            lambda d: d["nodes"][5].update(executor={"field": "nobody"}),
            "route contract_approval › nodes[5].executor.field: There is no field nobody.",
            id="executor-field-missing",
        ),
        pytest.param(
            lambda d: d["nodes"][1].update(controller={"field": "amount"}),
            "route contract_approval › nodes[1].controller.field: Field amount is not a user",
            id="controller-not-user",
        ),
        pytest.param(
            lambda d: d["nodes"][3].update(deadline={"field": "title"}),
            "route contract_approval › nodes[3].deadline.field: Field title is not a date field.",
            id="deadline-not-date",
        ),
        pytest.param(
            lambda d: d["nodes"][8].update(
                action={"type": "set_field", "field": "amount", "value": "lots"}
            ),
            "route contract_approval › nodes[8].action.value: The value does not fit field amount.",
            id="set-field-bad-value",
        ),
        pytest.param(
            lambda d: d["nodes"][8].update(
                action={"type": "set_field", "field": "nope", "value": 1}
            ),
            "route contract_approval › nodes[8].action.field: There is no field nope.",
            id="set-field-missing",
        ),
        pytest.param(
            lambda d: d["nodes"][8].update(
                action={"type": "create_linked", "stream": "clients", "fields": {"name": "amount"}}
            ),
            "route contract_approval › nodes[8].action.fields.name: Fields name and amount have",
            id="create-linked-type-mismatch",
        ),
        pytest.param(
            lambda d: d["nodes"][8].update(
                action={"type": "create_linked", "stream": "works", "fields": {}}
            ),
            "route contract_approval › nodes[8].action.stream: There is no stream works.",
            id="create-linked-missing-stream",
        ),
        pytest.param(
            lambda d: d["nodes"][8].update(
                action={
                    "type": "create_linked",
                    "stream": "clients",
                    "fields": {},
                    "link_field": "manager",
                }
            ),
            "route contract_approval › nodes[8].action.link_field: Field manager is not a link",
            id="create-linked-bad-link",
        ),
        pytest.param(
            lambda d: d["nodes"][8].update(
                action={
                    "type": "send_email",
                    "to": {"address_field": "title"},
                    "subject": labels("Hi"),
                }
            ),
            "route contract_approval › nodes[8].action.to.address_field: Field title is not",
            id="mail-to-non-email",
        ),
        pytest.param(
            lambda d: d["nodes"][8].update(action={"type": "start_route", "route": "ghost"}),
            "route contract_approval › nodes[8].action.route: There is no route ghost.",
            id="start-missing-route",
        ),
        pytest.param(
            lambda d: d["nodes"][8].update(
                action={"type": "start_route", "route": "contract_approval"}
            ),
            "route contract_approval › nodes[8].action.route: A route cannot start itself",
            id="start-itself",
        ),
        pytest.param(
            lambda d: (
                d["nodes"][8].update(type="wait", until={"field": "amount"}, action=None)
                or d["nodes"][8].pop("action")
            ),
            "route contract_approval › nodes[8].until.field: Field amount is not a date field.",
            id="wait-on-non-date",
        ),
        pytest.param(
            lambda d: d.update(stream="works"),
            "route contract_approval › stream: There is no stream works.",
            id="missing-stream",
        ),
    ],
)
def test_each_problem_is_reported(change: Any, expected: str) -> None:
    document = contract_route()
    change(document)
    found = problems(document)
    assert any(item.startswith(expected) for item in found), found


def test_start_route_on_another_stream_needs_a_link_field() -> None:
    clients_route = {
        "kind": "route",
        "key": "client_route",
        "labels": labels("Client"),
        "stream": "clients",
        "nodes": [node("start", "start"), node("end", "end")],
        "edges": [edge("start", "end")],
    }
    document = contract_route()
    document["nodes"][8]["action"] = {"type": "start_route", "route": "client_route"}
    assert any("is for another stream" in item for item in problems(document, clients_route))
    document["nodes"][8]["action"]["link_field"] = "client"
    assert problems(document, clients_route) == []


def test_the_graph_check_is_pure_and_finds_cycles_without_an_exit() -> None:
    document = contract_route()
    route = routes.parse(document)
    assert routes.check_graph(route) == []
    document["edges"].append(edge("mark", "mark"))
    found = [str(p) for p in routes.check_graph(routes.parse(document))]
    assert found == ["nodes[8]: This step needs exactly one way out."]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(
    nodes=st.lists(
        st.fixed_dictionaries(
            {
                "key": st.sampled_from(["aa", "bb", "cc", "dd"]),
                "type": st.sampled_from(
                    [
                        "start",
                        "end",
                        "condition",
                        "split",
                        "join",
                        "assignment",
                        "approval",
                        "action",
                        "wait",
                        "xx",
                    ]
                ),
            },
            optional={
                "executor": json_values,
                "executors": json_values,
                "until": json_values,
                "action": json_values,
                "mode": json_values,
                "quorum": json_values,
            },
        ),
        max_size=6,
    ),
    edges=st.lists(
        st.fixed_dictionaries(
            {
                "from": st.sampled_from(["aa", "bb", "cc", "zz"]),
                "to": st.sampled_from(["aa", "bb", "cc", "dd"]),
            },
            optional={"when": json_values, "default": json_values, "on": json_values},
        ),
        max_size=8,
    ),
)
def test_hostile_routes_get_problems_not_exceptions(nodes: list[Any], edges: list[Any]) -> None:
    document = {
        "kind": "route",
        "key": "contract_approval",
        "labels": labels("X"),
        "stream": "contracts",
        "nodes": nodes,
        "edges": edges,
    }
    found = check_configuration(configuration(document))
    assert all(item.message for item in found)
    if not found:
        route = routes.parse(document)
        assert len([n for n in route.nodes.values() if n.type == "start"]) == 1


def test_absurd_input_stops_at_the_schema() -> None:
    document = contract_route()
    document["nodes"] = [node(f"n{i}", "end") for i in range(501)]
    assert any("nodes" in str(item) for item in check_document(document))
    document = contract_route()
    document["edges"][2]["when"] = {"and": [{"and": []}]} | {"or": []}
    assert any("edges[2].when" in str(item) for item in check_document(document))


# Which route a stream's documents follow (the stream's "routes") -----------------------------


def contracts_choosing(choice: Any) -> dict[str, Any]:
    document = copy.deepcopy(CONTRACTS)
    document["routes"] = choice
    return document


def test_a_stream_names_its_default_and_conditional_routes() -> None:
    big = contract_route() | {"key": "big_contract"}
    choice = {
        "default": "contract_approval",
        "conditional": [{"when": {">": [{"var": "amount"}, 1000000]}, "route": "big_contract"}],
        "start": "on_registration",
    }
    document = contracts_choosing(choice)
    assert check_document(document) == []
    assert problems(contract_route(), big, document) == []


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        pytest.param(
            {"default": "nowhere"},
            "stream contracts › routes.default: There is no route nowhere.",
            id="missing-route",
        ),
        pytest.param(
            {"default": "client_check"},
            "stream contracts › routes.default: Route client_check is not for this stream.",
            id="route-of-another-stream",
        ),
        pytest.param(
            {
                "default": "contract_approval",
                "conditional": [{"when": {"==": [{"var": "colour"}, "red"]}, "route": "nowhere"}],
            },
            "stream contracts › routes.conditional[0].route: There is no route nowhere.",
            id="missing-conditional-route",
        ),
        pytest.param(
            {"start": "manual"},
            "stream contracts › routes: Name a default route or a conditional one.",
            id="no-route-named",
        ),
    ],
)
def test_route_choice_problems(choice: Any, expected: str) -> None:
    other = {
        "kind": "route",
        "key": "client_check",
        "labels": labels("Client check"),
        "stream": "clients",
        "nodes": [node("start", "start"), node("end", "end")],
        "edges": [edge("start", "end")],
    }
    assert expected in problems(contract_route(), other, contracts_choosing(choice))


def test_a_route_choice_condition_must_name_fields_of_the_stream() -> None:
    choice = {
        "default": "contract_approval",
        "conditional": [{"when": {"==": [{"var": "colour"}, "red"]}, "route": "contract_approval"}],
    }
    found = problems(contract_route(), contracts_choosing(choice))
    assert len(found) == 1
    assert found[0].startswith("stream contracts › routes.conditional[0].when")
    assert "colour" in found[0]


def test_a_route_choice_of_the_wrong_shape_stops_at_the_schema() -> None:
    for choice in (
        {"default": "contract_approval", "start": "sometimes"},
        {"default": "contract_approval", "conditional": [{"route": "contract_approval"}]},
        {"default": "contract_approval", "extra": True},
    ):
        assert check_document(contracts_choosing(choice)) != []
