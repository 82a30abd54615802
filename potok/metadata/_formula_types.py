"""Type inference for formulas: the kind of each node given the kinds of the fields (or with
every field ``any``, to refuse literal mistakes when compiling), and the field kinds formulas
accept, table fields included (the rules are described in :mod:`potok.metadata.formulas`)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from potok.errors import N_
from potok.metadata._formula_tree import (
    _DATES,
    _INTEGER,
    _NUMBERS,
    _ORDERED,
    _TEXT,
    MISMATCH,
    NOT_A_CONDITION,
    WRONG_ARGUMENT,
    FormulaError,
    _Aggregate,
    _Binary,
    _Call,
    _Compare,
    _Cond,
    _Const,
    _Field,
    _kind,
    _Logic,
    _Node,
    _Power,
    _Unary,
)

RESULT_KINDS = ("text", "integer", "decimal", "date", "datetime", "boolean", "null")
KIND_ALIASES = {
    "long_text": "text",
    "email": "text",
    "phone": "text",
    "url": "text",
    "choice": "text",
    "money": "decimal",
    "percent": "decimal",
    "scale": "integer",
}
_FIELD_KINDS = frozenset(RESULT_KINDS) - {"null"}


def table_kind(columns: Mapping[str, str]) -> str:
    """The field kind of a table field for :func:`infer_type`: ``table:a:integer,b:text``."""
    return "table:" + ",".join(f"{key}:{kind}" for key, kind in columns.items())


def _parse_kind(name: str, kind: str) -> str | dict[str, str]:
    """A field kind, or a table's ``{column: kind}`` (other column kinds are kept as they
    are: such a column can be counted but not summed)."""
    if kind.startswith("table:") or kind == "table":
        columns = {}
        for part in filter(None, kind[6:].split(",")):
            key, _, column_kind = part.partition(":")
            columns[key] = KIND_ALIASES.get(column_kind, column_kind)
        return columns
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in _FIELD_KINDS:
        raise FormulaError(
            N_("Field %(name)s (%(kind)s) cannot be used in formulas"),
            params={"name": name, "kind": kind},
        )
    return kind


def _unify(operation: str, kinds: Sequence[str]) -> str:
    """The common kind of alternatives: ``null`` fits anything, integer widens to decimal."""
    result = "null"
    for kind in kinds:
        if kind in {"null", result}:
            continue
        if "any" in (kind, result):
            result = "any"
        elif result == "null":
            result = kind
        elif {kind, result} == _NUMBERS:
            result = "decimal"
        else:
            raise FormulaError(
                MISMATCH, params={"operation": operation, "left": result, "right": kind}
            )
    return result


class _Types:
    """Static types of a formula; with no field kinds every field is ``any`` (used when
    compiling, to refuse literal mistakes such as ``"a" * 3``)."""

    def __init__(self, field_types: Mapping[str, str] | None) -> None:
        self.field_types = field_types

    def field(self, node: _Field | _Aggregate, name: str) -> str | dict[str, str]:
        if self.field_types is None:
            return "any"
        if name not in self.field_types:
            raise FormulaError(
                N_("Unknown field %(name)s"),
                params={"name": name},
                line=node.line,
                column=node.column,
            )
        return _parse_kind(name, self.field_types[name])

    def infer(self, node: _Node) -> str:
        try:
            return self.dispatch(node)
        except FormulaError as exc:
            if exc.line is None:
                exc.line, exc.column = node.line, node.column
            raise

    def dispatch(self, node: _Node) -> str:
        if isinstance(node, _Const):
            return _kind(node.value)
        if isinstance(node, _Field):
            kind = self.field(node, node.name)
            return kind if isinstance(kind, str) else "table"
        if isinstance(node, _Unary):
            operand = self.infer(node.operand)
            if node.op == "not":
                self.condition(operand)
                return "boolean"
            return self.expect(node.op, operand, _NUMBERS)
        if isinstance(node, _Binary):
            return self.binary(node.op, self.infer(node.left), self.infer(node.right))
        if isinstance(node, _Power):
            return self.expect("**", self.infer(node.base), _NUMBERS)
        if isinstance(node, _Compare):
            kinds = [self.infer(operand) for operand in node.operands]
            for op, left, right in zip(node.ops, kinds, kinds[1:], strict=False):
                self.comparable(op, left, right)
            return "boolean"
        if isinstance(node, _Logic):
            for value in node.values:
                self.condition(self.infer(value))
            return "boolean"
        if isinstance(node, _Cond):
            self.condition(self.infer(node.test))
            return _unify("if", [self.infer(node.body), self.infer(node.orelse)])
        if isinstance(node, _Aggregate):
            return self.aggregate(node)
        assert isinstance(node, _Call)  # noqa: S101 - the builder makes no other nodes
        return self.call(node.name, [self.infer(arg) for arg in node.args])

    def expect(self, operation: str, kind: str, allowed: frozenset[str]) -> str:
        if kind in allowed or kind in {"null", "any"}:
            return kind
        raise FormulaError(WRONG_ARGUMENT, params={"function": operation, "kind": kind})

    def condition(self, kind: str) -> None:
        if kind not in {"boolean", "null", "any"}:
            raise FormulaError(NOT_A_CONDITION, params={"kind": kind})

    def comparable(self, op: str, left: str, right: str) -> None:
        if {left, right} & {"null", "any"} or {left, right} <= _NUMBERS:
            return
        if left == right and (left in _ORDERED or (left == "boolean" and op in {"==", "!="})):
            return
        raise FormulaError(MISMATCH, params={"operation": op, "left": left, "right": right})

    def binary(self, op: str, left: str, right: str) -> str:
        if "any" in (left, right):  # fine if some kind of the unknown side would do
            lefts = _FIELD_KINDS if left == "any" else {left}
            rights = _FIELD_KINDS if right == "any" else {right}
            for pair in itertools.product(lefts, rights):
                try:
                    self.binary(op, *pair)
                except FormulaError:
                    continue
                return "any"
            known = right if left == "any" else left
            raise FormulaError(WRONG_ARGUMENT, params={"function": op, "kind": known})
        if "null" in (left, right) and "table" not in (left, right):
            return "null"
        if left in _NUMBERS and right in _NUMBERS:
            if op == "/":
                return "decimal"
            if op == "//":
                return "integer"
            return "integer" if left == right == "integer" else "decimal"
        if op == "+" and left == right == "text":
            return "text"
        if op in "+-" and left in _DATES and right == "integer":
            return left
        if op == "+" and left == "integer" and right in _DATES:
            return right
        if op == "-" and left == right == "date":
            return "integer"
        raise FormulaError(MISMATCH, params={"operation": op, "left": left, "right": right})

    def call(self, name: str, kinds: list[str]) -> str:
        if name == "if":
            self.condition(kinds[0])
            return _unify("if", kinds[1:])
        if name == "coalesce":
            return _unify(name, kinds)
        if name in {"min", "max"}:
            for kind in kinds:
                self.expect(name, kind, _ORDERED)
            return _unify(name, kinds)
        if name == "concat":
            for kind in kinds:
                self.expect(name, kind, frozenset(RESULT_KINDS))
            return "text"
        if name in {"today", "now"}:
            return "date" if name == "today" else "datetime"
        if name == "round":
            kind = self.expect(name, kinds[0], _NUMBERS)
            if len(kinds) == 1:
                return "integer" if kind != "null" else "null"
            self.expect(name, kinds[1], _INTEGER)
            return "null" if kinds[1] == "null" else kind
        if name == "abs":
            return self.expect(name, kinds[0], _NUMBERS)
        if name in {"len", "upper", "lower", "trim"}:
            self.expect(name, kinds[0], _TEXT)
            return "integer" if name == "len" else "text"
        for kind in kinds[:1]:
            self.expect(name, kind, _DATES)
        if name == "days_between":
            self.expect(name, kinds[1], _DATES)
            return "integer"
        if name in {"add_days", "add_months"}:
            self.expect(name, kinds[1], _INTEGER)
            return kinds[0]
        return "integer"  # year, month, day

    def aggregate(self, node: _Aggregate) -> str:
        kind = self.field(node, node.table)
        if kind == "any":
            column_kind = "any"
        elif isinstance(kind, str):
            raise FormulaError(WRONG_ARGUMENT, params={"function": node.name, "kind": kind})
        elif node.key is None:
            column_kind = "any"
        elif node.key not in kind:
            raise FormulaError(
                N_("Table %(table)s has no column %(column)s"),
                params={"table": node.table, "column": node.key},
            )
        else:
            column_kind = kind[node.key]
        if node.name == "count":
            return "integer"
        self.expect(node.name, column_kind, _NUMBERS)
        if node.name == "avg":
            return "decimal"
        return column_kind if column_kind in {"integer", "any"} else "decimal"
