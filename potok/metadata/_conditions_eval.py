"""Evaluating a checked condition over a document in Python, with the null semantics the SQL
compiler reproduces (see :mod:`potok.metadata.conditions`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from potok.metadata._conditions_dates import _midnight, _shift
from potok.metadata._conditions_text import fold_text
from potok.metadata._conditions_tree import (
    _ORDER_OPS,
    _All,
    _Any,
    _Compare,
    _Empty,
    _Field,
    _In,
    _Node,
    _Not,
    _Now,
    _Operand,
    _Text,
    _Today,
    _Value,
)


def _harmonize(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, date) and isinstance(right, date):
        if isinstance(left, datetime) and not isinstance(right, datetime):
            return left, _midnight(right)
        if isinstance(right, datetime) and not isinstance(left, datetime):
            return _midnight(left), right
    return left, right


def _same(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    left, right = _harmonize(left, right)
    return bool(left == right)


def _compare_values(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return _same(left, right)
    if op == "!=":
        return not _same(left, right)
    if left is None or right is None:
        return False
    left, right = _harmonize(left, right)
    return bool(_ORDER_OPS[op](left, right))


def _document_value(key: str, kind: str, value: Any) -> Any:
    if value is None:
        return frozenset() if kind == "multi" else None
    ok: bool
    if kind in ("text", "choice"):
        ok = isinstance(value, str)
    elif kind in ("integer", "ref"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "decimal":
        if isinstance(value, float) and math.isfinite(value):
            value = Decimal(repr(value))
        ok = isinstance(value, int | Decimal) and not isinstance(value, bool)
    elif kind == "date":
        ok = isinstance(value, date) and not isinstance(value, datetime)
    elif kind == "datetime":
        ok = isinstance(value, datetime) and value.tzinfo is None
    elif kind == "boolean":
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, list | tuple | set | frozenset) and all(
            isinstance(item, int) and not isinstance(item, bool) for item in value
        )
        value = frozenset(value) if ok else value
    if not ok:
        raise TypeError(f"field {key!r} ({kind}) holds a {type(value).__name__}")
    return value


class _Evaluator:
    def __init__(self, document: Mapping[str, Any], fields: Mapping[str, str], now: datetime):
        self.document = document
        self.fields = fields
        self.now = now

    def node(self, node: _Node) -> bool:
        if isinstance(node, _All):
            return all(self.node(item) for item in node.items)
        if isinstance(node, _Any):
            return any(self.node(item) for item in node.items)
        if isinstance(node, _Not):
            return not self.node(node.item)
        if isinstance(node, _Compare):
            return _compare_values(node.op, self.operand(node.left), self.operand(node.right))
        if isinstance(node, _In):
            value = self.operand(node.operand)
            return value is not None and any(_same(value, item) for item in node.values)
        if isinstance(node, _Empty):
            value = self.operand(node.operand)
            return value is None or value == "" or value == frozenset()
        if isinstance(node, _Text):
            value = self.operand(node.operand)
            if value is None:
                return False
            haystack, needle = fold_text(value), fold_text(node.needle)
            return haystack.startswith(needle) if node.op == "starts_with" else needle in haystack
        values = self.operand(_Field(node.key, "multi"))
        return any(item in values for item in node.ids)

    def operand(self, operand: _Operand) -> Any:
        if isinstance(operand, _Field):
            return _document_value(operand.key, operand.kind, self.document.get(operand.key))
        if isinstance(operand, _Value):
            return operand.value
        if isinstance(operand, _Today):
            return self.now.date()
        if isinstance(operand, _Now):
            return self.now
        return _shift(self.operand(operand.operand), operand.amount, operand.unit)
