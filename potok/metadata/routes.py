"""Routes as a typed model, and the checks a JSON Schema cannot make.

:func:`parse` turns a schema-valid route document into frozen dataclasses the engine walks;
:func:`check_route` answers with every :class:`Problem` of the graph and of the fields the
route names, and never raises on a schema-valid document. The graph rules: exactly one
start; every step reachable from it and every step able to reach an end; a condition has two
ways out or more, exactly one of them the default and the others with a condition; a split
has two ways out or more, a join two ways in or more; an end has no way out; other steps have
exactly one way out (plus one ``on: rejected`` / ``on: refused`` way for approvals and
assignments).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from potok.errors import N_
from potok.metadata import conditions
from potok.metadata.schema import Problem, problem
from potok.metadata.types import FieldValueError, field_type

HUMAN = ("assignment", "approval")
BRANCHING = ("condition", "split")
OUTCOME_EDGE = {"approval": "rejected", "assignment": "refused"}
DATE_KINDS = ("date", "datetime")
NOT_SETTABLE = ("computed", "registration_number", "table", "files")


@dataclass(frozen=True)
class Executor:
    """Who does a step. ``kind``: user, role, head_of_author_department, field, author."""

    kind: str
    value: str | None = None  # username, role key or field key
    pick: str = "least_loaded"
    supervisor: Executor | None = None

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Executor:
        if "role" in spec:
            supervisor = spec.get("supervisor")
            return cls(
                "role",
                str(spec["role"]),
                str(spec.get("pick", "least_loaded")),
                cls.parse(supervisor) if supervisor else None,
            )
        for kind in ("user", "field"):
            if kind in spec:
                return cls(kind, str(spec[kind]))
        return cls("author" if "author" in spec else "head_of_author_department")


@dataclass(frozen=True)
class Duration:
    unit: str  # working_days, working_hours, days, hours, minutes
    amount: int

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Duration:
        ((unit, amount),) = spec.items()
        return cls(str(unit), int(amount))


@dataclass(frozen=True)
class Deadline:
    duration: Duration | None = None
    field: str | None = None

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Deadline:
        if "field" in spec:
            return cls(field=str(spec["field"]))
        return cls(duration=Duration.parse(spec))


@dataclass(frozen=True)
class Wait:
    date: str | None = None
    field: str | None = None
    duration: Duration | None = None


@dataclass(frozen=True)
class Action:
    type: str
    spec: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Node:
    key: str
    type: str
    labels: Mapping[str, str] = field(default_factory=dict)
    executors: tuple[Executor, ...] = ()
    mode: str = "sequence"
    quorum: int = 0
    deadline: Deadline | None = None
    reminders: tuple[Duration, ...] = ()
    controller: Executor | None = None
    forbid_self_approval: bool = False
    action: Action | None = None
    wait: Wait | None = None

    def label(self, language: str) -> str:
        return str(self.labels.get(language) or self.labels.get("en") or self.key)


@dataclass(frozen=True)
class Edge:
    index: int
    source: str
    target: str
    when: Any = None
    default: bool = False
    on: str | None = None


@dataclass(frozen=True)
class Route:
    key: str
    stream: str
    labels: Mapping[str, str]
    nodes: Mapping[str, Node]
    edges: tuple[Edge, ...]

    def outgoing(self, key: str) -> list[Edge]:
        return [edge for edge in self.edges if edge.source == key]

    def incoming(self, key: str) -> list[Edge]:
        return [edge for edge in self.edges if edge.target == key]

    @property
    def start(self) -> Node:
        return next(node for node in self.nodes.values() if node.type == "start")


def _node(spec: Mapping[str, Any]) -> Node:
    kind = str(spec["type"])
    executors: tuple[Executor, ...] = ()
    if kind == "assignment":
        executors = (Executor.parse(spec["executor"]),)
    elif kind == "approval":
        executors = tuple(Executor.parse(item) for item in spec["executors"])
    wait = None
    if kind == "wait":
        until = spec["until"]
        wait = Wait(
            date=until.get("date"),
            field=until.get("field"),
            duration=Duration.parse(until["duration"]) if "duration" in until else None,
        )
    action = None
    if kind == "action":
        action = Action(str(spec["action"]["type"]), dict(spec["action"]))
    return Node(
        key=str(spec["key"]),
        type=kind,
        labels=dict(spec.get("labels") or {}),
        executors=executors,
        mode=str(spec.get("mode", "sequence")),
        quorum=int(spec.get("quorum", 0)),
        deadline=Deadline.parse(spec["deadline"]) if "deadline" in spec else None,
        reminders=tuple(Duration.parse(item) for item in spec.get("reminders", [])),
        controller=Executor.parse(spec["controller"]) if "controller" in spec else None,
        forbid_self_approval=bool(spec.get("forbid_self_approval", False)),
        action=action,
        wait=wait,
    )


def parse(document: Mapping[str, Any]) -> Route:
    """The typed form of a schema-valid route document (later duplicate keys are dropped:
    :func:`check_route` reports them)."""
    nodes: dict[str, Node] = {}
    for spec in document["nodes"]:
        nodes.setdefault(str(spec["key"]), _node(spec))
    edges = tuple(
        Edge(
            index=index,
            source=str(spec["from"]),
            target=str(spec["to"]),
            when=spec.get("when"),
            default=bool(spec.get("default", False)),
            on=spec.get("on"),
        )
        for index, spec in enumerate(document["edges"])
    )
    return Route(
        key=str(document["key"]),
        stream=str(document["stream"]),
        labels=dict(document["labels"]),
        nodes=nodes,
        edges=edges,
    )


# Graph checks -------------------------------------------------------------------------------


def _keys_and_ends(document: Mapping[str, Any]) -> list[Problem]:
    found: list[Problem] = []
    keys = [str(node["key"]) for node in document["nodes"]]
    for index, key in enumerate(keys):
        if keys.count(key) > 1 and keys.index(key) != index:
            found.append(
                problem(f"nodes[{index}].key", N_("Two steps have the key %(key)s."), key=key)
            )
    for index, edge in enumerate(document["edges"]):
        for end in ("from", "to"):
            if edge[end] not in keys:
                found.append(
                    problem(f"edges[{index}].{end}", N_("There is no step %(key)s."), key=edge[end])
                )
    return found


def _walk(start: str, neighbours: Mapping[str, list[str]]) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for following in neighbours.get(stack.pop(), []):
            if following not in seen:
                seen.add(following)
                stack.append(following)
    return seen


def _edge_rules(route: Route, where: Mapping[str, str]) -> list[Problem]:
    found: list[Problem] = []
    for node in route.nodes.values():
        out, into = route.outgoing(node.key), route.incoming(node.key)
        path = where[node.key]
        plain = [edge for edge in out if edge.on is None]
        if node.type == "end" and out:
            found.append(problem(path, N_("No way may lead out of an end.")))
        elif node.type == "start" and into:
            found.append(problem(path, N_("No way may lead into the start.")))
        elif node.type in BRANCHING and len(out) < 2:
            found.append(problem(path, N_("A condition or a split needs two ways out or more.")))
        elif node.type not in BRANCHING and node.type != "end" and len(plain) != 1:
            found.append(problem(path, N_("This step needs exactly one way out.")))
        if node.type == "join" and len(into) < 2:
            found.append(problem(path, N_("A join needs two ways in or more.")))
        if node.type == "condition" and len(out) >= 2:
            defaults = [edge for edge in out if edge.default]
            if len(defaults) != 1:
                found.append(problem(path, N_("A condition needs exactly one default way.")))
            for edge in out:
                if not edge.default and edge.when is None:
                    found.append(
                        problem(
                            f"edges[{edge.index}].when",
                            N_("A way out of a condition needs a condition, or is the default."),
                        )
                    )
        for edge in out:
            if node.type != "condition" and (edge.when is not None or edge.default):
                found.append(
                    problem(
                        f"edges[{edge.index}]",
                        N_("Only ways out of a condition step carry a condition."),
                    )
                )
            if edge.on is not None and OUTCOME_EDGE.get(node.type) != edge.on:
                found.append(
                    problem(
                        f"edges[{edge.index}].on",
                        N_("Only an approval has a way on rejection, an assignment on refusal."),
                    )
                )
        if len(out) - len(plain) > 1:
            found.append(problem(path, N_("A step has at most one way on rejection or refusal.")))
        if node.type == "approval" and node.mode == "quorum" and node.quorum > len(node.executors):
            found.append(
                problem(f"{path}.quorum", N_("The quorum is larger than the number of approvers."))
            )
    return found


def check_graph(route: Route, where: Mapping[str, str] | None = None) -> list[Problem]:
    """Problems of the graph alone (``where`` maps step keys to their paths)."""
    where = where or {key: f"nodes[{index}]" for index, key in enumerate(route.nodes)}
    starts = [node for node in route.nodes.values() if node.type == "start"]
    if len(starts) != 1:
        return [problem("nodes", N_("A route needs exactly one start."))]
    ends = [node.key for node in route.nodes.values() if node.type == "end"]
    if not ends:
        return [problem("nodes", N_("A route needs an end."))]
    found = _edge_rules(route, where)
    forward: dict[str, list[str]] = {}
    backward: dict[str, list[str]] = {}
    for edge in route.edges:
        forward.setdefault(edge.source, []).append(edge.target)
        backward.setdefault(edge.target, []).append(edge.source)
    reachable = _walk(starts[0].key, forward)
    finishing: set[str] = set()
    for end in ends:
        finishing |= _walk(end, backward)
    for key in route.nodes:
        if key not in reachable:
            found.append(
                problem(where[key], N_("Step %(key)s cannot be reached from the start."), key=key)
            )
        elif key not in finishing:
            found.append(
                problem(where[key], N_("From step %(key)s no way leads to an end."), key=key)
            )
    return found


# Field checks -------------------------------------------------------------------------------


def _field_of(stream: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    return next((spec for spec in stream.get("fields", []) if spec["key"] == key), None)


def _field_kind_problem(
    stream: Mapping[str, Any], key: str, path: str, kinds: tuple[str, ...], message: str
) -> list[Problem]:
    spec = _field_of(stream, key)
    if spec is None:
        return [problem(path, N_("There is no field %(key)s."), key=key)]
    kind = field_type(str(spec["type"]))
    if spec["type"] not in kinds and kind.kind not in kinds:
        return [problem(path, message, key=key)]
    return []


def _executor_problems(stream: Mapping[str, Any], executor: Executor, path: str) -> list[Problem]:
    found: list[Problem] = []
    if executor.kind == "field" and executor.value:
        found += _field_kind_problem(
            stream,
            executor.value,
            f"{path}.field",
            ("user",),
            N_("Field %(key)s is not a user field."),
        )
    if executor.supervisor is not None:
        found += _executor_problems(stream, executor.supervisor, f"{path}.supervisor")
    return found


def _same_type(source: Mapping[str, Any], target: Mapping[str, Any]) -> bool:
    if source["type"] != target["type"]:
        kinds = {condition_kind_of(source), condition_kind_of(target)}
        return len(kinds) == 1 and kinds <= {
            "text",
            "integer",
            "decimal",
            "date",
            "datetime",
            "boolean",
        }
    return all(source.get(name) == target.get(name) for name in ("dictionary", "stream"))


def condition_kind_of(spec: Mapping[str, Any]) -> str:
    return field_type(str(spec["type"])).kind


def _action_problems(
    route: Route,
    action: Action,
    stream: Mapping[str, Any],
    documents: Mapping[tuple[str, str], Any],
    path: str,
) -> list[Problem]:
    spec = action.spec
    path = f"{path}.action"
    found: list[Problem] = []
    if action.type == "set_field":
        target = _field_of(stream, str(spec["field"]))
        if target is None:
            return [problem(f"{path}.field", N_("There is no field %(key)s."), key=spec["field"])]
        kind = field_type(str(target["type"]))
        if target["type"] in NOT_SETTABLE or kind.kind in ("table", "none", "multi"):
            return [
                problem(f"{path}.field", N_("A route cannot set field %(key)s."), key=spec["field"])
            ]
        if spec["value"] is not None:
            try:
                kind.check(target, kind.parse(target, spec["value"]))
            except (FieldValueError, TypeError, ValueError):
                found.append(
                    problem(
                        f"{path}.value",
                        N_("The value does not fit field %(key)s."),
                        key=spec["field"],
                    )
                )
    elif action.type == "create_linked":
        other = documents.get(("stream", str(spec["stream"])))
        if other is None:
            return [
                problem(f"{path}.stream", N_("There is no stream %(key)s."), key=spec["stream"])
            ]
        for target_key, source_key in spec["fields"].items():
            target, source = _field_of(other, target_key), _field_of(stream, source_key)
            if target is None:
                found.append(
                    problem(
                        f"{path}.fields.{target_key}",
                        N_("There is no field %(key)s."),
                        key=target_key,
                    )
                )
            elif source is None:
                found.append(
                    problem(
                        f"{path}.fields.{target_key}",
                        N_("There is no field %(key)s."),
                        key=source_key,
                    )
                )
            elif target["type"] in NOT_SETTABLE or not _same_type(source, target):
                found.append(
                    problem(
                        f"{path}.fields.{target_key}",
                        N_("Fields %(key)s and %(other)s have different types."),
                        key=target_key,
                        other=source_key,
                    )
                )
        if "link_field" in spec:
            link = _field_of(stream, str(spec["link_field"]))
            if link is None or link["type"] != "link" or link.get("stream") != spec["stream"]:
                found.append(
                    problem(
                        f"{path}.link_field",
                        N_("Field %(key)s is not a link to stream %(stream)s."),
                        key=spec["link_field"],
                        stream=spec["stream"],
                    )
                )
    elif action.type == "send_email":
        to = spec["to"]
        if "address_field" in to:
            found += _field_kind_problem(
                stream,
                str(to["address_field"]),
                f"{path}.to.address_field",
                ("email",),
                N_("Field %(key)s is not an e-mail field."),
            )
        else:
            found += _executor_problems(stream, Executor.parse(to), f"{path}.to")
    elif action.type == "start_route":
        other = documents.get(("route", str(spec["route"])))
        if other is None:
            return [problem(f"{path}.route", N_("There is no route %(key)s."), key=spec["route"])]
        if "link_field" in spec:
            link = _field_of(stream, str(spec["link_field"]))
            if link is None or link["type"] != "link" or link.get("stream") != other.get("stream"):
                found.append(
                    problem(
                        f"{path}.link_field",
                        N_("Field %(key)s is not a link to stream %(stream)s."),
                        key=spec["link_field"],
                        stream=other.get("stream"),
                    )
                )
        elif other.get("stream") != route.stream:
            found.append(
                problem(
                    f"{path}.route",
                    N_("Route %(key)s is for another stream; name the link field to follow."),
                    key=spec["route"],
                )
            )
        elif spec["route"] == route.key:
            found.append(
                problem(f"{path}.route", N_("A route cannot start itself on the same document."))
            )
    return found


def _node_fields(
    route: Route,
    node: Node,
    stream: Mapping[str, Any],
    documents: Mapping[tuple[str, str], Any],
    path: str,
) -> list[Problem]:
    found: list[Problem] = []
    key = "executor" if node.type == "assignment" else "executors"
    for index, executor in enumerate(node.executors):
        where = f"{path}.executor" if node.type == "assignment" else f"{path}.{key}[{index}]"
        found += _executor_problems(stream, executor, where)
    if node.controller is not None:
        found += _executor_problems(stream, node.controller, f"{path}.controller")
    date_message = N_("Field %(key)s is not a date field.")
    if node.deadline is not None and node.deadline.field:
        found += _field_kind_problem(
            stream, node.deadline.field, f"{path}.deadline.field", DATE_KINDS, date_message
        )
    if node.wait is not None and node.wait.field:
        found += _field_kind_problem(
            stream, node.wait.field, f"{path}.until.field", DATE_KINDS, date_message
        )
    if node.action is not None:
        found += _action_problems(route, node.action, stream, documents, path)
    return found


def check_route(
    document: Mapping[str, Any],
    stream: Mapping[str, Any],
    kinds: Mapping[str, str],
    documents: Mapping[tuple[str, str], Any],
) -> list[Problem]:
    """Every problem of a schema-valid route of ``stream`` (whose fields have condition
    ``kinds``) within the configuration ``documents``."""
    found = _keys_and_ends(document)
    if found:
        return found
    route = parse(document)
    where = {str(spec["key"]): f"nodes[{index}]" for index, spec in enumerate(document["nodes"])}
    found += check_graph(route, where)
    for edge in route.edges:
        if edge.when is not None:
            for item in conditions.check(edge.when, kinds):
                found.append(
                    Problem(
                        f"edges[{edge.index}].when.{item.path}".rstrip("."),
                        item.message,
                        item.params,
                    )
                )
    for node in route.nodes.values():
        found += _node_fields(route, node, stream, documents, where[node.key])
    return found
