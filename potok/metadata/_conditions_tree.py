"""The checked form of a condition (the language is described in
:mod:`potok.metadata.conditions`): the field kinds and operators, and the tree of nodes that
checking builds and both back ends — the evaluator and the SQL compiler — walk."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FIELD_KINDS = frozenset(
    {"text", "choice", "integer", "decimal", "date", "datetime", "boolean", "ref", "multi"}
)

_LOGIC = ("and", "or", "not")
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
_ORDERING = ("<", "<=", ">", ">=")
_TEXT_OPS = ("contains_text", "starts_with")
_CONDITION_OPS = frozenset(
    (*_LOGIC, *_COMPARISONS, "in", "empty", "not_empty", *_TEXT_OPS, "has", "has_any")
)
_OPERAND_OPS = frozenset({"var", "today", "now", "date_add"})
_TYPE_OF_KIND = {
    "text": "text",
    "choice": "text",
    "integer": "number",
    "decimal": "number",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
    "ref": "ref",
    "multi": "multi",
}
_ORDER_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


# The checked tree ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    key: str
    kind: str

    @property
    def type(self) -> str:
        return _TYPE_OF_KIND[self.kind]


@dataclass(frozen=True)
class _Value:
    """A literal. ``type`` is "text", "number", "date", "datetime", "boolean", "ref", "null",
    or "string" for a string whose meaning the other operand decides."""

    value: Any
    type: str


@dataclass(frozen=True)
class _Today:
    type: str = "date"


@dataclass(frozen=True)
class _Now:
    type: str = "datetime"


@dataclass(frozen=True)
class _DateAdd:
    operand: _Operand
    amount: int
    unit: str
    type: str


_Operand = _Field | _Value | _Today | _Now | _DateAdd


@dataclass(frozen=True)
class _All:
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Any:
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Not:
    item: _Node


@dataclass(frozen=True)
class _Compare:
    op: str
    left: _Operand
    right: _Operand


@dataclass(frozen=True)
class _In:
    operand: _Operand
    values: tuple[Any, ...]


@dataclass(frozen=True)
class _Empty:
    operand: _Operand


@dataclass(frozen=True)
class _Text:
    op: str
    operand: _Operand
    needle: str


@dataclass(frozen=True)
class _Has:
    key: str
    ids: tuple[int, ...]


_Node = _All | _Any | _Not | _Compare | _In | _Empty | _Text | _Has


def _is_constant(operand: _Operand) -> bool:
    if isinstance(operand, _DateAdd):
        return _is_constant(operand.operand)
    return not isinstance(operand, _Field)


def _chain(operand: _Operand) -> tuple[_Field, list[_DateAdd]]:
    """A field operand as its field and the ``date_add`` steps over it, innermost first."""
    steps: list[_DateAdd] = []
    while isinstance(operand, _DateAdd):
        steps.append(operand)
        operand = operand.operand
    if not isinstance(operand, _Field):  # pragma: no cover - callers check _is_constant
        raise TypeError("not a field operand")
    steps.reverse()
    return operand, steps
