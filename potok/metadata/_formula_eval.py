"""Evaluating a validated formula tree over a card's values: loading field values, the
arithmetic of numbers, texts and dates with ``None`` propagation, comparisons, three-valued
logic, the functions and the table aggregates (the rules are described in
:mod:`potok.metadata.formulas`). Every failure is a :class:`FormulaError`."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from potok.errors import N_
from potok.metadata._formula_tree import (
    _CONTEXT,
    _DATES,
    _INTEGER,
    _NUMBERS,
    _ORDERED,
    _TEXT,
    DATE_OUT_OF_RANGE,
    MAX_TEXT_CHARS,
    MISMATCH,
    NOT_A_CONDITION,
    NUMBER_LIMIT,
    ROUND_DIGITS,
    TEXT_TOO_LONG,
    TOO_LARGE,
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


def _number(value: int | Decimal) -> int | Decimal:
    magnitude = value.copy_abs() if isinstance(value, Decimal) else abs(value)
    if magnitude >= NUMBER_LIMIT:
        raise FormulaError(TOO_LARGE)
    return value


def _text(value: str) -> str:
    if len(value) > MAX_TEXT_CHARS:
        raise FormulaError(TEXT_TOO_LONG, params={"limit": MAX_TEXT_CHARS})
    return value


def _load(raw: Any, name: str) -> Any:
    """A field value as the formula sees it: exact built-in types, numbers in range."""
    if raw is None or isinstance(raw, datetime | date):
        return raw
    if isinstance(raw, bool):
        return bool(raw)
    if isinstance(raw, int):
        return _number(int(raw))
    if isinstance(raw, float) and raw == raw and abs(raw) != float("inf"):
        raw = Decimal(repr(raw))
    if isinstance(raw, Decimal) and raw.is_finite():
        return _CONTEXT.plus(_number(raw))
    if isinstance(raw, str):
        return str.__str__(raw)
    if isinstance(raw, list | tuple):
        return list(raw)
    raise FormulaError(
        N_("Field %(name)s holds a value formulas cannot use"), params={"name": name}
    )


def _mismatch(operation: str, left: Any, right: Any) -> FormulaError:
    return FormulaError(
        MISMATCH, params={"operation": operation, "left": _kind(left), "right": _kind(right)}
    )


def _wrong(function: str, value: Any) -> FormulaError:
    return FormulaError(WRONG_ARGUMENT, params={"function": function, "kind": _kind(value)})


def _shift_days(value: date, days: int) -> date:
    try:
        return value + timedelta(days=days)
    except OverflowError:
        raise FormulaError(DATE_OUT_OF_RANGE) from None


def _add_months(value: date, months: int) -> date:
    year, month = divmod(value.year * 12 + value.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        raise FormulaError(DATE_OUT_OF_RANGE)
    last = calendar.monthrange(year, month + 1)[1]
    return value.replace(year=year, month=month + 1, day=min(value.day, last))


def _arithmetic(op: str, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    ka, kb = _kind(a), _kind(b)
    if ka in _NUMBERS and kb in _NUMBERS:
        return _numbers(op, a, b)
    if op == "+" and ka == kb == "text":
        return _text(a + b)
    if op in "+-" and ka in _DATES and kb == "integer":
        return _shift_days(a, b if op == "+" else -b)
    if op == "+" and ka == "integer" and kb in _DATES:
        return _shift_days(b, a)
    if op == "-" and ka == kb == "date":
        return (a - b).days
    raise _mismatch(op, a, b)


def _numbers(op: str, a: int | Decimal, b: int | Decimal) -> int | Decimal | None:
    if op in {"/", "//", "%"} and b == 0:
        return None
    if op == "/":
        return _number(_CONTEXT.divide(Decimal(a), Decimal(b)))
    if type(a) is int and type(b) is int:
        if op == "+":
            return _number(a + b)
        if op == "-":
            return _number(a - b)
        if op == "*":
            return _number(a * b)
        return _number(a // b if op == "//" else a % b)
    x, y = Decimal(a), Decimal(b)
    if op == "+":
        return _number(_CONTEXT.add(x, y))
    if op == "-":
        return _number(_CONTEXT.subtract(x, y))
    if op == "*":
        return _number(_CONTEXT.multiply(x, y))
    quotient, remainder = _CONTEXT.divide_int(x, y), _CONTEXT.remainder(x, y)
    if remainder and (remainder < 0) != (y < 0):  # floor, like Python's integers
        quotient, remainder = _CONTEXT.subtract(quotient, 1), _CONTEXT.add(remainder, y)
    return _number(int(quotient)) if op == "//" else _number(remainder)


def _compare(op: str, a: Any, b: Any) -> bool | None:
    if op in {"==", "!="} and (a is None or b is None):
        return (a is None and b is None) == (op == "==")
    if a is None or b is None:
        return None
    ka, kb = _kind(a), _kind(b)
    same = ka == kb and (ka in _ORDERED or (ka == "boolean" and op in {"==", "!="}))
    if not same and not (ka in _NUMBERS and kb in _NUMBERS):
        raise _mismatch(op, a, b)
    try:
        if op == "==":
            return bool(a == b)
        if op == "!=":
            return bool(a != b)
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        return bool(a >= b)
    except TypeError:  # datetimes with and without a time zone
        raise _mismatch(op, a, b) from None


def _condition(value: Any) -> bool | None:
    if value is None or type(value) is bool:
        return value
    raise FormulaError(NOT_A_CONDITION, params={"kind": _kind(value)})


def _as_text(value: Any) -> str:
    kind = _kind(value)
    if kind == "null":
        return ""
    if kind == "text":
        return str(value)
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "decimal":
        return format(value, "f")
    if kind == "datetime":
        return str(value.isoformat(" ", "minutes"))
    if kind in {"integer", "date"}:
        return str(value)
    raise _wrong("concat", value)


def _round(value: Any, digits: Any, given: bool) -> Any:
    if value is None or digits is None:
        return None
    kind = _kind(value)
    if kind not in _NUMBERS:
        raise _wrong("round", value)
    if not given:
        if kind == "integer":
            return value
        return _number(int(value.to_integral_value(ROUND_HALF_UP, _CONTEXT)))
    if type(digits) is not int:
        raise _wrong("round", digits)
    low, high = ROUND_DIGITS
    if not low <= digits <= high:
        raise FormulaError(
            N_("round keeps from %(low)s to %(high)s digits after the point"),
            params={"low": low, "high": high},
        )
    if digits >= 0:
        if kind == "integer":
            return value
        exponent = Decimal(1).scaleb(-digits, _CONTEXT)
        return _number(value.quantize(exponent, ROUND_HALF_UP, _CONTEXT))
    scaled = Decimal(value).scaleb(digits, _CONTEXT).to_integral_value(ROUND_HALF_UP, _CONTEXT)
    result = _CONTEXT.quantize(scaled.scaleb(-digits, _CONTEXT), Decimal(1))
    return _number(int(result) if kind == "integer" else result)


def _extreme(name: str, values: list[Any]) -> Any:
    present = [value for value in values if value is not None]
    if not present:
        return None
    best = present[0]
    if _kind(best) not in _ORDERED:
        raise _wrong(name, best)
    for value in present[1:]:
        if _compare("<" if name == "min" else ">", value, best):
            best = value
    if any(_kind(value) == "decimal" for value in present):
        return Decimal(best)
    return best


class _Evaluator:
    def __init__(self, values: Mapping[str, Any], today: date, now: datetime) -> None:
        self.values = values
        self.today = today
        self.now = now
        self.loaded: dict[str, Any] = {}

    def field(self, name: str) -> Any:
        if name not in self.loaded:
            self.loaded[name] = _load(self.values.get(name), name)
        return self.loaded[name]

    def eval(self, node: _Node) -> Any:
        try:
            return self.dispatch(node)
        except FormulaError as exc:
            if exc.line is None:
                exc.line, exc.column = node.line, node.column
            raise

    def dispatch(self, node: _Node) -> Any:
        if isinstance(node, _Const):
            return node.value
        if isinstance(node, _Field):
            return self.field(node.name)
        if isinstance(node, _Binary):
            return _arithmetic(node.op, self.eval(node.left), self.eval(node.right))
        if isinstance(node, _Power):
            base = self.eval(node.base)
            if base is None:
                return None
            if _kind(base) == "integer":
                return _number(base**node.exponent)
            if _kind(base) == "decimal":
                exponent = node.exponent
                return _number(_CONTEXT.power(base, exponent) if exponent else Decimal(1))
            raise _mismatch("**", base, node.exponent)
        if isinstance(node, _Unary):
            return self.unary(node.op, self.eval(node.operand))
        if isinstance(node, _Compare):
            return self.compare(node)
        if isinstance(node, _Logic):
            return self.logic(node)
        if isinstance(node, _Cond):
            chosen = node.body if _condition(self.eval(node.test)) else node.orelse
            return self.eval(chosen)
        if isinstance(node, _Aggregate):
            return self.aggregate(node)
        assert isinstance(node, _Call)  # noqa: S101 - the builder makes no other nodes
        return self.call(node)

    def unary(self, op: str, value: Any) -> Any:
        if value is None:
            return None
        if op == "not":
            return not _condition(value)
        if _kind(value) not in _NUMBERS:
            raise _wrong(op, value)
        if _kind(value) == "integer":
            return -value if op == "-" else value
        return _CONTEXT.minus(value) if op == "-" else _CONTEXT.plus(value)

    def compare(self, node: _Compare) -> bool | None:
        result: bool | None = True
        left = self.eval(node.operands[0])
        for op, operand in zip(node.ops, node.operands[1:], strict=True):
            right = self.eval(operand)
            outcome = _compare(op, left, right)
            if outcome is False:
                return False
            if outcome is None:
                result = None
            left = right
        return result

    def logic(self, node: _Logic) -> bool | None:
        decisive = node.op == "or"  # True decides "or", False decides "and"
        result: bool | None = not decisive
        for item in node.values:
            value = _condition(self.eval(item))
            if value is decisive:
                return decisive
            if value is None:
                result = None
        return result

    def call(self, node: _Call) -> Any:
        name = node.name
        if name == "if":
            test = _condition(self.eval(node.args[0]))
            return self.eval(node.args[1] if test else node.args[2])
        if name == "coalesce":
            for arg in node.args:
                value = self.eval(arg)
                if value is not None:
                    return value
            return None
        args = [self.eval(arg) for arg in node.args]
        if name == "today":
            return self.today
        if name == "now":
            return self.now
        if name == "round":
            return _round(args[0], args[1] if len(args) == 2 else 0, len(args) == 2)
        if name in {"min", "max"}:
            return _extreme(name, args)
        if name == "concat":
            return _text("".join(_as_text(value) for value in args))
        if any(value is None for value in args):
            return None
        return _FUNCTIONS[name](*args)

    def aggregate(self, node: _Aggregate) -> Any:
        rows = self.values.get(node.table)
        if rows is None:
            rows = []
        if not isinstance(rows, list | tuple):
            raise FormulaError(N_("Field %(name)s is not a table"), params={"name": node.table})
        cells = []
        for row in rows:
            if not isinstance(row, Mapping):
                raise FormulaError(N_("Field %(name)s is not a table"), params={"name": node.table})
            if node.key is not None:
                cells.append(_load(row.get(node.key), node.key))
        if node.name == "count":
            return len(rows) if node.key is None else sum(c is not None for c in cells)
        numbers = [cell for cell in cells if cell is not None]
        for cell in numbers:
            if _kind(cell) not in _NUMBERS:
                raise _wrong(node.name, cell)
        total: Any = 0
        for cell in numbers:
            total = _numbers("+", total, cell)
        if node.name == "avg":
            return _numbers("/", total, len(numbers)) if numbers else None
        return total


def _need(name: str, kinds: frozenset[str], value: Any) -> Any:
    if _kind(value) not in kinds:
        raise _wrong(name, value)
    return value


def _date_part(name: str) -> Any:
    def part(value: Any) -> int:
        return int(getattr(_need(name, _DATES, value), name))

    return part


def _day_count(a: Any, b: Any) -> int:
    first, second = _need("days_between", _DATES, a), _need("days_between", _DATES, b)
    first = first.date() if isinstance(first, datetime) else first
    second = second.date() if isinstance(second, datetime) else second
    return int((second - first).days)


_FUNCTIONS: dict[str, Any] = {
    "abs": lambda x: abs(x) if _kind(x) == "integer" else _CONTEXT.abs(_need("abs", _NUMBERS, x)),
    "len": lambda x: len(_need("len", _TEXT, x)),
    "upper": lambda x: _text(_need("upper", _TEXT, x).upper()),
    "lower": lambda x: _text(_need("lower", _TEXT, x).lower()),
    "trim": lambda x: _text(_need("trim", _TEXT, x).strip()),
    "days_between": _day_count,
    "add_days": lambda d, n: _shift_days(
        _need("add_days", _DATES, d), _need("add_days", _INTEGER, n)
    ),
    "add_months": lambda d, n: _add_months(
        _need("add_months", _DATES, d), _need("add_months", _INTEGER, n)
    ),
    "year": _date_part("year"),
    "month": _date_part("month"),
    "day": _date_part("day"),
}
