"""Metadata objects against their JSON Schemas (Draft 2020-12, shipped in ``schemas/``).

Every metadata object is a JSON document of one kind. :func:`check_document` answers with a
list of :class:`Problem` (a path such as ``fields[3].options`` and a message) and never raises,
however malformed or hostile the input: size and nesting are checked before the schema runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from potok.errors import N_

SCHEMA_DIR = Path(__file__).parent / "schemas"
KINDS = ("stream", "layout", "dictionary", "route", "report", "rule", "webform", "role")
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 40
MAX_NODES = 200_000


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a metadata object: where (a JSON path) and what (a message)."""

    path: str
    message: str
    params: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        text = self.message % dict(self.params) if self.params else self.message
        return f"{self.path}: {text}" if self.path else text


def problem(path: str, message: str, **params: Any) -> Problem:
    return Problem(path, message, tuple(sorted(params.items())))


def path_text(parts: Iterator[Any] | list[Any] | tuple[Any, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@cache
def _registry() -> Registry:
    registry: Registry = Registry()
    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        registry = registry.with_resource(contents["$id"], Resource.from_contents(contents))
        registry = registry.with_resource(path.name, Resource.from_contents(contents))
    return registry


@cache
def schema_for(kind: str) -> dict[str, Any]:
    contents: dict[str, Any] = json.loads(
        (SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8")
    )
    return contents


@cache
def _validator(kind: str) -> Draft202012Validator:
    schema = schema_for(kind)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry())


def _shape_problems(document: Any) -> list[Problem]:
    """Refuse what is too big, too deep or not JSON at all, without recursion."""
    nodes = 0
    stack: list[tuple[Any, int, str]] = [(document, 0, "")]
    while stack:
        value, depth, where = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            return [problem("", N_("The document is too large."))]
        if depth > MAX_DEPTH:
            return [problem(where, N_("The document is nested too deeply."))]
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    return [problem(where, N_("Object keys must be text."))]
                stack.append((item, depth + 1, f"{where}.{key}" if where else key))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, f"{where}[{index}]") for index, item in enumerate(value))
        elif isinstance(value, float) and value != value:  # NaN
            return [problem(where, N_("Numbers must be finite."))]
        elif value is not None and not isinstance(value, str | int | float | bool):
            return [problem(where, N_("Only JSON values are allowed here."))]
    try:
        size = len(json.dumps(document, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError):
        return [problem("", N_("Only JSON values are allowed here."))]
    if size > MAX_DOCUMENT_BYTES:
        return [problem("", N_("The document is too large."))]
    return []


def _message(error: ValidationError) -> Problem:
    where = path_text(list(error.absolute_path))
    validator = error.validator
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return problem(where, N_("%(name)s is required."), name=missing)
    if validator == "additionalProperties":
        return problem(where, N_("Unknown property: %(detail)s"), detail=error.message)
    if validator in ("enum", "const"):
        return problem(where, N_("Not one of the allowed values: %(detail)s"), detail=error.message)
    if validator == "pattern" or validator in ("minLength", "maxLength"):
        return problem(where, N_("Wrong form or length: %(detail)s"), detail=error.message)
    return problem(where, N_("Not valid: %(detail)s"), detail=error.message)


def check_document(document: Any, kind: str | None = None) -> list[Problem]:
    """Every schema problem of ``document`` (of ``kind``, or of the kind it declares)."""
    if not isinstance(document, dict):
        return [problem("", N_("A metadata object must be a JSON object."))]
    shape = _shape_problems(document)
    if shape:
        return shape
    kind = kind or document.get("kind")
    if kind not in KINDS:
        unknown = str(kind)[:40]
        return [problem("kind", N_("Unknown kind of metadata object: %(kind)s"), kind=unknown)]
    if document.get("kind") != kind:
        return [problem("kind", N_("Expected an object of kind %(kind)s."), kind=kind)]
    errors = sorted(_validator(kind).iter_errors(document), key=lambda e: list(e.absolute_path))
    return [_message(error) for error in errors[:50]]
