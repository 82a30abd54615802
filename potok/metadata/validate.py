"""Validation of a whole configuration before anything is published.

The JSON Schema checks each object's shape; this module checks what a schema cannot: that a
layout names only fields of its stream, that a dictionary field names a dictionary that
exists, that a link points to a stream, that conditions and formulas refer to fields that
exist and fit their types, that keys are unique and not reserved. Every problem carries the
object and the path, and nothing is published while there is one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from potok.errors import N_
from potok.metadata import conditions, formulas, routes
from potok.metadata.model import RESERVED_KEYS, SYSTEM_COLUMNS
from potok.metadata.schema import KINDS, Problem, check_document, problem
from potok.metadata.types import FieldValueError, field_type
from potok.platform.accounts import ADMIN_ROLE
from potok.platform.capabilities import PLATFORM_CAPABILITIES

Documents = Mapping[tuple[str, str], Mapping[str, Any]]

NUMBERING_PLACEHOLDER = re.compile(r"\{([a-z]+)(?::(\d))?\}")
NUMBERING_NAMES = {"counter", "year", "yy", "month"}
SYSTEM_FIELD_KINDS = {
    "created_at": "datetime",
    "updated_at": "datetime",
    "author_id": "ref",
    "reg_number": "text",
}
# Nested quantifiers such as (a+)+ can take exponential time on some inputs.
_NESTED_QUANTIFIER = re.compile(r"\([^)]*[+*}][^)]*\)[+*{]")


NOT_COPIED = ("registration_number", "computed", "files")


def _in(kind: str, key: str, found: Iterable[Problem]) -> list[Problem]:
    where = f"{kind} {key}"
    return [
        Problem(f"{where} › {item.path}" if item.path else where, item.message, item.params)
        for item in found
    ]


def condition_kind(spec: Mapping[str, Any]) -> str | None:
    """The kind a field has in conditions and formulas (None: not usable there)."""
    kind = field_type(str(spec["type"]))
    if kind.key == "computed":
        return field_type(str(spec.get("result", "decimal"))).kind
    if kind.kind in ("table", "none"):
        return None
    return kind.kind


def field_kinds(stream: Mapping[str, Any]) -> dict[str, str]:
    kinds = dict(SYSTEM_FIELD_KINDS)
    for spec in stream.get("fields", []):
        kind = condition_kind(spec)
        if kind is not None:
            kinds[str(spec["key"])] = kind
    return kinds


def formula_types(stream: Mapping[str, Any]) -> dict[str, str]:
    """Field kinds in the form formulas.infer_type expects (table fields described by
    their columns: ``table:amount:decimal,qty:integer``)."""
    kinds: dict[str, str] = {}
    for spec in stream.get("fields", []):
        if spec["type"] == "table":
            columns = ",".join(
                f"{column['key']}:{condition_kind(column) or 'text'}"
                for column in spec.get("columns", [])
            )
            kinds[str(spec["key"])] = f"table:{columns}"
        else:
            kind = condition_kind(spec)
            if kind is not None and kind != "multi":
                kinds[str(spec["key"])] = {"choice": "text", "ref": "integer"}.get(kind, kind)
    return kinds


def _check_regex(path: str, regex: str) -> list[Problem]:
    try:
        re.compile(regex)
    except re.error as error:
        return [
            problem(
                path,
                N_("The pattern is not a valid regular expression: %(error)s"),
                error=str(error),
            )
        ]
    if _NESTED_QUANTIFIER.search(regex):
        return [
            problem(
                path, N_("The pattern repeats a repetition, which can be very slow; simplify it.")
            )
        ]
    return []


def _check_field(
    spec: Mapping[str, Any], path: str, documents: Documents, *, column: bool = False
) -> list[Problem]:
    found: list[Problem] = []
    key = str(spec["key"])
    kind = field_type(str(spec["type"]))
    if key in RESERVED_KEYS:
        found.append(
            problem(f"{path}.key", N_("%(key)s is reserved for Potok's own use."), key=key)
        )
    if key.endswith("_") or "__" in key:
        found.append(problem(f"{path}.key", N_("A key may not end with _ or contain __.")))
    if "dictionary" in spec and ("dictionary", spec["dictionary"]) not in documents:
        found.append(
            problem(
                f"{path}.dictionary", N_("There is no dictionary %(key)s."), key=spec["dictionary"]
            )
        )
    if "stream" in spec and ("stream", spec["stream"]) not in documents:
        found.append(
            problem(f"{path}.stream", N_("There is no stream %(key)s."), key=spec["stream"])
        )
    if "min" in spec and "max" in spec and spec["min"] > spec["max"]:
        found.append(problem(f"{path}.max", N_("The maximum is below the minimum.")))
    if (
        kind.key == "scale"
        and "min" in spec
        and "max" in spec
        and (spec["max"] - spec["min"] > 100 or spec["min"] != int(spec["min"]))
    ):
        found.append(problem(f"{path}.max", N_("A scale has whole steps and at most 100 of them.")))
    if "min_length" in spec and "max_length" in spec and spec["min_length"] > spec["max_length"]:
        found.append(problem(f"{path}.max_length", N_("The maximum is below the minimum.")))
    if spec.get("options"):
        values = [option["value"] for option in spec["options"]]
        if len(values) != len(set(values)):
            found.append(problem(f"{path}.options", N_("Two options have the same value.")))
    if spec.get("pattern"):
        found += _check_regex(f"{path}.pattern.regex", spec["pattern"]["regex"])
    for flag in ("unique", "filterable", "sortable"):
        if spec.get(flag) and (not kind.indexable or kind.storage != "column"):
            found.append(
                problem(
                    f"{path}.{flag}",
                    N_("A field of type %(type)s cannot be %(flag)s."),
                    type=kind.key,
                    flag=flag,
                )
            )
    if spec.get("searchable") and not kind.searchable:
        found.append(
            problem(f"{path}.searchable", N_("Only text fields can be searched in full text."))
        )
    if spec.get("copy_on_base") and kind.key in NOT_COPIED:
        found.append(
            problem(
                f"{path}.copy_on_base",
                N_("A field of type %(type)s is never copied to a new document."),
                type=kind.key,
            )
        )
    if column and not kind.in_tables:
        found.append(
            problem(
                f"{path}.type", N_("A table cannot have a column of type %(type)s."), type=kind.key
            )
        )
    default = spec.get("default")
    if default and "value" in default:
        try:
            value = kind.parse(spec, default["value"])
            if value is not None and value != []:
                kind.check(spec, value)
        except FieldValueError as error:
            found.append(
                problem(
                    f"{path}.default",
                    N_("The default value does not fit: %(error)s"),
                    error=str(error),
                )
            )
    elif (
        default
        and default.get("dynamic") in ("today", "now")
        and kind.kind not in ("date", "datetime")
    ):
        found.append(problem(f"{path}.default", N_("Only dates can default to today or now.")))
    elif default and default.get("dynamic") == "current_user" and kind.key != "user":
        found.append(
            problem(f"{path}.default", N_("Only user fields can default to the current user."))
        )
    elif default and default.get("dynamic") == "current_department" and kind.key != "department":
        found.append(
            problem(
                f"{path}.default",
                N_("Only department fields can default to the current department."),
            )
        )
    return found


def _check_table(spec: Mapping[str, Any], path: str, documents: Documents) -> list[Problem]:
    found: list[Problem] = []
    keys = [str(column["key"]) for column in spec["columns"]]
    for index, column in enumerate(spec["columns"]):
        found += _check_field(column, f"{path}.columns[{index}]", documents, column=True)
        if keys.count(column["key"]) > 1:
            found.append(
                problem(
                    f"{path}.columns[{index}].key",
                    N_("Two columns have the key %(key)s."),
                    key=column["key"],
                )
            )
    column_types = {
        str(column["key"]): kind
        for column in spec["columns"]
        if (kind := condition_kind(column)) is not None and kind != "multi"
    }
    for index, column in enumerate(spec["columns"]):
        if "formula" not in column:
            continue
        others = {
            k: {"choice": "text", "ref": "integer"}.get(v, v)
            for k, v in column_types.items()
            if k != column["key"]
        }
        try:
            formulas.infer_type(formulas.compile_formula(str(column["formula"])), others)
        except formulas.FormulaError as error:
            found.append(
                problem(
                    f"{path}.columns[{index}].formula",
                    N_("The formula is not valid: %(error)s"),
                    error=str(error),
                )
            )
    for index, total in enumerate(spec.get("totals", [])):
        column = next((c for c in spec["columns"] if c["key"] == total), None)
        if column is None:
            found.append(
                problem(f"{path}.totals[{index}]", N_("There is no column %(key)s."), key=total)
            )
        elif field_type(str(column["type"])).kind not in ("integer", "decimal"):
            found.append(problem(f"{path}.totals[{index}]", N_("Only number columns have totals.")))
    return found


def _check_formulas(stream: Mapping[str, Any]) -> list[Problem]:
    found: list[Problem] = []
    compiled: dict[str, Any] = {}
    types = formula_types(stream)
    for index, spec in enumerate(stream["fields"]):
        if spec["type"] != "computed":
            continue
        path = f"fields[{index}].formula"
        try:
            formula = formulas.compile_formula(str(spec["formula"]))
            formulas.infer_type(
                formula,
                {k: v for k, v in types.items() if k != spec["key"]}
                | {key: types.get(key, "decimal") for key in formula.fields if key == spec["key"]},
            )
        except formulas.FormulaError as error:
            found.append(problem(path, N_("The formula is not valid: %(error)s"), error=str(error)))
            continue
        compiled[str(spec["key"])] = formula
    for cycle in formulas.check_cycles(compiled):
        found.append(
            problem(
                "fields",
                N_("Computed fields refer to each other in a circle: %(cycle)s"),
                cycle=" → ".join(cycle),
            )
        )
    return found


def _check_conditions(stream: Mapping[str, Any]) -> list[Problem]:
    found: list[Problem] = []
    kinds = field_kinds(stream)
    for index, spec in enumerate(stream["fields"]):
        for rule in ("visible_when", "required_when", "readonly_when"):
            if rule in spec:
                for item in conditions.check(spec[rule], kinds):
                    found.append(
                        problem(
                            f"fields[{index}].{rule}.{item.path}".rstrip("."),
                            item.message,
                            **dict(getattr(item, "params", {}) or {}),
                        )
                    )
    return found


def check_stream(document: Mapping[str, Any], documents: Documents) -> list[Problem]:
    found: list[Problem] = []
    keys = [str(spec["key"]) for spec in document["fields"]]
    for index, spec in enumerate(document["fields"]):
        path = f"fields[{index}]"
        if keys.count(spec["key"]) > 1:
            found.append(
                problem(f"{path}.key", N_("Two fields have the key %(key)s."), key=spec["key"])
            )
        found += _check_field(spec, path, documents)
        if spec["type"] == "table":
            found += _check_table(spec, path, documents)
    numbering = document.get("numbering")
    if numbering:
        names = {name for name, _ in NUMBERING_PLACEHOLDER.findall(numbering["template"])}
        unknown = names - NUMBERING_NAMES
        if unknown:
            found.append(
                problem(
                    "numbering.template",
                    N_("Unknown placeholders: %(names)s"),
                    names=", ".join(sorted(unknown)),
                )
            )
        if numbering.get("reset") == "yearly" and not names & {"year", "yy"}:
            found.append(
                problem(
                    "numbering.template",
                    N_(
                        "A counter that restarts every year needs {year} or {yy} "
                        "in the number, or numbers would repeat."
                    ),
                )
            )
    owner = document.get("owner_field")
    if owner and owner not in keys:
        found.append(problem("owner_field", N_("There is no field %(key)s."), key=owner))
    elif owner and next(s for s in document["fields"] if s["key"] == owner)["type"] != "user":
        found.append(problem("owner_field", N_("The responsible person must be a user field.")))
    for index, rule in enumerate(document.get("access", {}).get("fields", [])):
        if rule["field"] not in keys:
            found.append(
                problem(
                    f"access.fields[{index}].field",
                    N_("There is no field %(key)s."),
                    key=rule["field"],
                )
            )
    roles = [grant["role"] for grant in document.get("access", {}).get("grants", [])]
    for index, role in enumerate(roles):
        if roles.count(role) > 1:
            found.append(
                problem(
                    f"access.grants[{index}].role", N_("Role %(role)s has two grants."), role=role
                )
            )
    title = document.get("title_field")
    if title and title not in keys:
        found.append(problem("title_field", N_("There is no field %(key)s."), key=title))
    allowed = set(keys) | set(SYSTEM_COLUMNS)
    for index, column in enumerate(document.get("list", {}).get("columns", [])):
        if column not in allowed:
            found.append(
                problem(f"list.columns[{index}]", N_("There is no field %(key)s."), key=column)
            )
    for index, item in enumerate(document.get("list", {}).get("sort", [])):
        if item["field"] not in allowed:
            found.append(
                problem(
                    f"list.sort[{index}].field", N_("There is no field %(key)s."), key=item["field"]
                )
            )
    found += _check_formulas(document)
    found += _check_conditions(document)
    found += _check_route_choice(document, documents)
    return found


def _check_route_choice(document: Mapping[str, Any], documents: Documents) -> list[Problem]:
    """The stream's ``routes``: each named route exists and is for this stream, each
    condition refers to fields of the stream."""
    choice = document.get("routes")
    if not choice:
        return []
    found: list[Problem] = []
    named: list[tuple[str, Any]] = []
    if "default" in choice:
        named.append(("routes.default", choice["default"]))
    for index, item in enumerate(choice.get("conditional", [])):
        named.append((f"routes.conditional[{index}].route", item["route"]))
        for issue in conditions.check(item["when"], field_kinds(document)):
            found.append(
                problem(
                    f"routes.conditional[{index}].when.{issue.path}".rstrip("."),
                    issue.message,
                    **dict(getattr(issue, "params", {}) or {}),
                )
            )
    if not named:
        found.append(problem("routes", N_("Name a default route or a conditional one.")))
    for path, key in named:
        route = documents.get(("route", str(key)))
        if route is None:
            found.append(problem(path, N_("There is no route %(key)s."), key=key))
        elif route.get("stream") != document["key"]:
            found.append(problem(path, N_("Route %(route)s is not for this stream."), route=key))
    return found


def check_layout(document: Mapping[str, Any], documents: Documents) -> list[Problem]:
    stream = documents.get(("stream", str(document["stream"])))
    if stream is None:
        return [problem("stream", N_("There is no stream %(key)s."), key=document["stream"])]
    keys = {str(spec["key"]) for spec in stream["fields"]}
    found: list[Problem] = []
    seen: set[str] = set()
    for t, tab in enumerate(document["tabs"]):
        for s, section in enumerate(tab["sections"]):
            for c, column in enumerate(section["columns"]):
                for i, key in enumerate(column):
                    path = f"tabs[{t}].sections[{s}].columns[{c}][{i}]"
                    if key not in keys:
                        found.append(
                            problem(
                                path,
                                N_("Stream %(stream)s has no field %(key)s."),
                                stream=document["stream"],
                                key=key,
                            )
                        )
                    elif key in seen:
                        found.append(problem(path, N_("Field %(key)s is placed twice."), key=key))
                    seen.add(key)
    return found


def check_dictionary(document: Mapping[str, Any]) -> list[Problem]:
    found: list[Problem] = []
    codes: set[str] = set()
    stack: list[tuple[Mapping[str, Any], str, int]] = [
        (item, f"items[{index}]", 0) for index, item in enumerate(document.get("items", []))
    ]
    while stack:
        item, path, depth = stack.pop()
        code = str(item["code"])
        if code in codes:
            found.append(
                problem(f"{path}.code", N_("Two items have the code %(code)s."), code=code)
            )
        codes.add(code)
        children = item.get("items", [])
        if children and not document.get("tree"):
            found.append(
                problem(f"{path}.items", N_("Only a tree-shaped dictionary has nested items."))
            )
        if depth > 10:
            found.append(problem(path, N_("Items are nested more than 10 levels deep.")))
            continue
        stack.extend(
            (child, f"{path}.items[{index}]", depth + 1) for index, child in enumerate(children)
        )
    return found


def check_attached(document: Mapping[str, Any], documents: Documents) -> list[Problem]:
    """Routes, reports, rules and web forms: their stream must exist; routes are checked in
    full by :func:`potok.metadata.routes.check_route` (the graph and the fields it names)."""
    stream = documents.get(("stream", str(document["stream"])))
    if stream is None:
        return [problem("stream", N_("There is no stream %(key)s."), key=document["stream"])]
    found: list[Problem] = []
    kinds = field_kinds(stream)
    keys = {str(spec["key"]) for spec in stream["fields"]}
    if document["kind"] == "webform":
        for index, key in enumerate(document["fields"]):
            if key not in keys:
                found.append(
                    problem(
                        f"fields[{index}]",
                        N_("Stream %(stream)s has no field %(key)s."),
                        stream=document["stream"],
                        key=key,
                    )
                )
    for name in ("when", "filter"):
        if name in document:
            for item in conditions.check(document[name], kinds):
                found.append(
                    problem(
                        f"{name}.{item.path}".rstrip("."),
                        item.message,
                        **dict(getattr(item, "params", {}) or {}),
                    )
                )
    if document["kind"] == "route":
        found += routes.check_route(document, stream, kinds, documents)
    return found


def check_role(document: Mapping[str, Any]) -> list[Problem]:
    """A role of a folder: not the built-in administrator, capabilities Potok knows."""
    if document["key"] == ADMIN_ROLE:
        return [
            problem(
                "key",
                N_("%(key)s is Potok's built-in role; leave it out of the configuration."),
                key=ADMIN_ROLE,
            )
        ]
    known = {capability.key for capability in PLATFORM_CAPABILITIES}
    return [
        problem(f"capabilities[{index}]", N_("There is no capability %(key)s."), key=key)
        for index, key in enumerate(document.get("capabilities", []))
        if key not in known
    ]


def _roles_named(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(path, role key) of every role a stream's access rules or a route's executors name."""
    named: list[tuple[str, str]] = []
    access = document.get("access", {}) if document["kind"] == "stream" else {}
    for part in ("grants", "fields"):
        for index, rule in enumerate(access.get(part, [])):
            named.append((f"access.{part}[{index}].role", str(rule["role"])))
    for index, node in enumerate(document.get("nodes", []) if document["kind"] == "route" else []):
        if isinstance(node.get("executor"), Mapping) and "role" in node["executor"]:
            named.append((f"nodes[{index}].executor.role", str(node["executor"]["role"])))
        for position, executor in enumerate(node.get("executors", [])):
            if isinstance(executor, Mapping) and "role" in executor:
                named.append((f"nodes[{index}].executors[{position}].role", str(executor["role"])))
    return named


def check_role_names(documents: Documents) -> list[Problem]:
    """Grants and route executors of a configuration folder name only roles the folder
    holds (or the built-in administrator): a folder carries the roles it needs."""
    known = {key for kind, key in documents if kind == "role"} | {ADMIN_ROLE}
    found: list[Problem] = []
    for (kind, key), document in sorted(documents.items()):
        if kind not in ("stream", "route") or check_document(document, kind):
            continue
        found += _in(
            kind,
            key,
            [
                problem(path, N_("There is no role %(key)s in the configuration."), key=role)
                for path, role in _roles_named(document)
                if role not in known
            ],
        )
    return found


def check_configuration(documents: Documents) -> list[Problem]:
    """Every problem of every object, each prefixed with the object it is in."""
    found: list[Problem] = []
    for (kind, key), document in sorted(documents.items()):
        if kind not in KINDS:
            found.append(
                problem(f"{kind} {key}", N_("Unknown kind of metadata object: %(kind)s"), kind=kind)
            )
            continue
        shape = check_document(document, kind)
        if not shape and document.get("key") != key:
            shape = [
                problem(
                    "key",
                    N_("The key %(key)s does not match the object's name."),
                    key=document.get("key"),
                )
            ]
        if shape:
            found += _in(kind, key, shape)
            continue
        if kind == "stream":
            found += _in(kind, key, check_stream(document, documents))
        elif kind == "layout":
            found += _in(kind, key, check_layout(document, documents))
        elif kind == "dictionary":
            found += _in(kind, key, check_dictionary(document))
        elif kind == "role":
            found += _in(kind, key, check_role(document))
        else:
            found += _in(kind, key, check_attached(document, documents))
    return found
