"""Compiling a checked condition to a two-valued SQL expression over a stream's table, with
the same answers as the Python evaluator (see :mod:`potok.metadata.conditions`)."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from typing import Any, Protocol

from sqlalchemy import Date, DateTime, Integer, and_, false, literal, not_, or_
from sqlalchemy import true as sql_true
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from potok.metadata._conditions_check import INT64_MAX
from potok.metadata._conditions_dates import (
    _Interval,
    _midnight,
    _next,
    _Offset,
    _preimage,
    _Promote,
    _steps,
    _values_where,
)
from potok.metadata._conditions_eval import _compare_values, _Evaluator
from potok.metadata._conditions_text import _FoldedPattern, _matches_folded
from potok.metadata._conditions_tree import (
    _ORDER_OPS,
    _All,
    _Any,
    _chain,
    _Compare,
    _Empty,
    _Field,
    _In,
    _is_constant,
    _Node,
    _Not,
    _Operand,
    _Text,
)

_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


class ColumnResolver(Protocol):
    """How :func:`to_sql` reaches a stream's data: scalar fields are columns (or any SQL
    expression of the field's type); multi-valued fields are answered by the resolver, e.g.
    with ``EXISTS`` over an association table. Both methods must return two-valued
    expressions (never NULL)."""

    def column(self, key: str) -> ColumnElement[Any]: ...

    def has_any(self, key: str, values: list[int]) -> ColumnElement[bool]: ...

    def is_empty(self, key: str) -> ColumnElement[bool]: ...


class _date_shift(FunctionElement[date]):
    """A date column plus whole days (the amount a bound parameter)."""

    name = "potok_date_shift"
    type = Date()
    inherit_cache = True


class _datetime_shift(FunctionElement[datetime]):
    """A date-time column plus whole minutes (the amount a bound parameter)."""

    name = "potok_datetime_shift"
    type = DateTime()
    inherit_cache = True


@compiles(_date_shift, "sqlite")
def _date_shift_sqlite(element: _date_shift, compiler: SQLCompiler, **kw: Any) -> str:
    value, amount = (compiler.process(item, **kw) for item in element.clauses.clauses)
    return f"date({value}, {amount} || ' days')"


@compiles(_date_shift, "postgresql")
def _date_shift_postgresql(element: _date_shift, compiler: SQLCompiler, **kw: Any) -> str:
    value, amount = (compiler.process(item, **kw) for item in element.clauses.clauses)
    return f"({value} + CAST({amount} AS INTEGER))"


@compiles(_datetime_shift, "sqlite")
def _datetime_shift_sqlite(element: _datetime_shift, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff"; shift the whole seconds and keep the
    # fraction as it is (SQLite's own fractions are milliseconds).
    value, amount = element.clauses.clauses
    first = compiler.process(value, **kw)
    second = compiler.process(value, **kw)
    shifted = compiler.process(amount, **kw)
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', substr({first}, 1, 19), {shifted} || ' minutes')"
        f" || substr({second}, 20))"
    )


@compiles(_datetime_shift, "postgresql")
def _datetime_shift_postgresql(element: _datetime_shift, compiler: SQLCompiler, **kw: Any) -> str:
    value, amount = (compiler.process(item, **kw) for item in element.clauses.clauses)
    return f"({value} + CAST({amount} AS INTEGER) * INTERVAL '1 minute')"


def _stores_integers(type_: TypeEngine[Any], dialect: Dialect) -> bool:
    implementation: Any = type_.dialect_impl(dialect)
    if isinstance(implementation, TypeDecorator):
        implementation = implementation.load_dialect_impl(dialect)
    return isinstance(implementation, Integer)


def _scale(type_: TypeEngine[Any]) -> int:
    scale = getattr(type_, "scale", None)
    return scale if isinstance(scale, int) and not isinstance(scale, bool) else 0


class _comparable_number(FunctionElement[Decimal]):
    """A number column made comparable with another one (the second argument, which is not
    rendered): columns that store integer units of a scale are brought to a common scale,
    and columns that store plain values are multiplied up to it. Integers are units of
    scale 0, so without scaled columns nothing changes."""

    name = "potok_comparable_number"
    inherit_cache = True


@compiles(_comparable_number)
def _comparable_number_sql(element: _comparable_number, compiler: SQLCompiler, **kw: Any) -> str:
    value, other = element.clauses.clauses
    dialect = compiler.dialect
    scales = [_scale(item.type) for item in (value, other) if _stores_integers(item.type, dialect)]
    target = max(scales, default=0)
    own = _scale(value.type) if _stores_integers(value.type, dialect) else 0
    factor = 10 ** (target - own)
    rendered = compiler.process(value, **kw)
    return rendered if factor == 1 else f"({rendered} * {factor})"


def _sql_bool(value: bool) -> ColumnElement[bool]:
    return sql_true() if value else false()


def _in_intervals(column: ColumnElement[Any], intervals: list[_Interval]) -> ColumnElement[bool]:
    if not intervals:
        return false()
    parts: list[ColumnElement[bool]] = []
    for low, hi in intervals:
        lo = None if low in (date.min, datetime.min) else low  # nothing lies below
        if lo is not None and hi is not None and not isinstance(lo, datetime) and hi == _next(lo):
            parts.append(column == lo)
            continue
        bounds: list[ColumnElement[bool]] = []
        if lo is not None:
            bounds.append(column >= lo)
        if hi is not None:
            bounds.append(column < hi)
        parts.append(and_(sql_true(), *bounds))
    return and_(column.is_not(None), or_(false(), *parts))


@dataclass
class _Sql:
    """A field operand in SQL: its value, and whether it has one (both two-valued)."""

    value: ColumnElement[Any]
    present: ColumnElement[bool]
    plain: bool


class _SqlCompiler:
    def __init__(self, columns: ColumnResolver, now: datetime) -> None:
        self.columns = columns
        self.now = now
        self.constants = _Evaluator({}, {}, now)

    def node(self, node: _Node) -> ColumnElement[bool]:
        if isinstance(node, _All):
            return and_(sql_true(), *(self.node(item) for item in node.items))
        if isinstance(node, _Any):
            return or_(false(), *(self.node(item) for item in node.items))
        if isinstance(node, _Not):
            return not_(self.node(node.item))
        if isinstance(node, _Compare):
            return self.compare(node)
        if isinstance(node, _In):
            return self.membership(node)
        if isinstance(node, _Empty):
            return self.emptiness(node)
        if isinstance(node, _Text):
            return self.text_match(node)
        if not node.ids:
            return false()
        return self.columns.has_any(node.key, list(node.ids))

    def constant(self, operand: _Operand) -> Any:
        return self.constants.operand(operand)

    def compare(self, node: _Compare) -> ColumnElement[bool]:
        op, left, right = node.op, node.left, node.right
        if _is_constant(left) and _is_constant(right):
            return _sql_bool(_compare_values(op, self.constant(left), self.constant(right)))
        if _is_constant(left):
            op, left, right = _MIRROR[op], right, left
        if _is_constant(right):
            return self.against_constant(op, left, self.constant(right))
        return self.against_field(op, left, right)

    def present(self, operand: _Operand) -> ColumnElement[bool]:
        """Whether a field operand has a value: the field is not null and, through
        ``date_add``, stays within the years 1-9999."""
        field, adds = _chain(operand)
        column = self.columns.column(field.key)
        if not adds:
            return column.is_not(None)
        return _in_intervals(column, _preimage(_steps(adds), [(None, None)]))

    def operand(self, operand: _Operand) -> _Sql:
        field, adds = _chain(operand)
        column = self.columns.column(field.key)
        value: ColumnElement[Any] = column
        for step in _steps(adds):
            if not isinstance(step, _Offset):  # check() allows only offsets between fields
                raise TypeError("date_add by months between fields")
            if step.on_datetime:
                value = _datetime_shift(value, literal(step.delta // timedelta(minutes=1)))
            else:
                value = _date_shift(value, literal(step.delta.days))
        return _Sql(value, self.present(operand), plain=not adds)

    def against_field(self, op: str, left: _Operand, right: _Operand) -> ColumnElement[bool]:
        first, second = self.operand(left), self.operand(right)
        a, b = first.value, second.value
        if left.type == "number":
            a, b = _comparable_number(a, b), _comparable_number(b, a)
        if op == "==":
            if first.plain and second.plain:
                return a.is_not_distinct_from(b)
            return or_(
                and_(not_(first.present), not_(second.present)),
                and_(first.present, second.present, a == b),
            )
        if op == "!=":
            return not_(self.against_field("==", left, right))
        return and_(first.present, second.present, _ORDER_OPS[op](a, b))

    def is_null(self, operand: _Operand) -> ColumnElement[bool]:
        return not_(self.present(operand))

    def against_constant(self, op: str, operand: _Operand, value: Any) -> ColumnElement[bool]:
        if value is None:
            if op == "==":
                return self.is_null(operand)
            if op == "!=":
                return self.present(operand)
            return false()
        if op == "!=":
            return not_(self.against_constant("==", operand, value))
        field, adds = _chain(operand)
        column = self.columns.column(field.key)
        if operand.type in ("date", "datetime"):
            steps = _steps(adds)
            if operand.type == "date" and isinstance(value, datetime):
                steps.append(_Promote())
            elif operand.type == "datetime":
                value = _midnight(value)
            if steps:
                return _in_intervals(column, _preimage(steps, _values_where(op, value)))
        elif field.kind in ("integer", "decimal", "ref"):
            placed = _on_grid(op, value, _grid_scale(field.kind, column))
            if isinstance(placed, bool):
                return and_(column.is_not(None), _sql_bool(placed))
            op, value = placed
        compare = operator.eq if op == "==" else _ORDER_OPS[op]
        return and_(column.is_not(None), compare(column, value))

    def membership(self, node: _In) -> ColumnElement[bool]:
        if _is_constant(node.operand):
            found = self.constants.node(node)
            return _sql_bool(found)
        field, adds = _chain(node.operand)
        column = self.columns.column(field.key)
        if node.operand.type in ("date", "datetime") and (
            adds
            or any(
                isinstance(item, datetime) != (node.operand.type == "datetime")
                for item in node.values
            )
        ):
            return or_(
                false(), *(self.against_constant("==", node.operand, item) for item in node.values)
            )
        values: list[Any] = list(node.values)
        if field.kind in ("integer", "decimal", "ref"):
            scale = _grid_scale(field.kind, column)
            values = []
            for item in node.values:
                placed = _on_grid("==", item, scale)
                if not isinstance(placed, bool):
                    values.append(placed[1])
        values = list(dict.fromkeys(values))
        if not values:
            return false()
        return and_(column.is_not(None), column.in_(values))

    def emptiness(self, node: _Empty) -> ColumnElement[bool]:
        operand = node.operand
        if _is_constant(operand):
            return _sql_bool(self.constants.node(node))
        if isinstance(operand, _Field) and operand.kind == "multi":
            return self.columns.is_empty(operand.key)
        if isinstance(operand, _Field) and operand.kind in ("text", "choice"):
            column = self.columns.column(operand.key)
            return or_(column.is_(None), column == "")
        return self.is_null(operand)

    def text_match(self, node: _Text) -> ColumnElement[bool]:
        if _is_constant(node.operand):
            return _sql_bool(self.constants.node(node))
        field, _ = _chain(node.operand)
        column = self.columns.column(field.key)
        pattern = literal(node.needle, _FoldedPattern(prefix=node.op == "starts_with"))
        return and_(column.is_not(None), _matches_folded(column, pattern))


def _grid_scale(kind: str, column: ColumnElement[Any]) -> int | None:
    """The places a number column holds (0 for whole numbers), None when unknown."""
    if kind != "decimal":
        return 0
    scale = getattr(column.type, "scale", None)
    return scale if isinstance(scale, int) and not isinstance(scale, bool) else None


def _on_grid(op: str, value: Any, scale: int | None) -> tuple[str, Any] | bool:
    """``column op value`` for a column holding numbers with ``scale`` places, as an
    equivalent comparison with a value on that grid (one the column's type binds without
    rounding), or a constant answer for non-null values."""
    if scale is None:
        return op, value
    number = Decimal(value)
    limit = Decimal(INT64_MAX).scaleb(-scale)
    if abs(number) > limit:  # beyond anything the column can hold
        above = number > 0
        return above if op in ("<", "<=") else not above if op in (">", ">=") else False
    with localcontext() as context:
        context.prec = 100
        units = number.scaleb(scale)
        if units == units.to_integral_value():
            placed = units
        elif op == "==":
            return False
        else:
            rounding = ROUND_CEILING if op in ("<", ">=") else ROUND_FLOOR
            placed = units.to_integral_value(rounding=rounding)
        result = placed.scaleb(-scale)
    return op, int(result) if scale == 0 else result
