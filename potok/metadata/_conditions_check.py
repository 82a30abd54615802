"""Checking a condition: the size limits, reading literals according to the other side's kind,
and the :class:`Problem` s found, each a path and an English message id (the language is
described in :mod:`potok.metadata.conditions`). Checking never raises on input."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from potok.errors import N_
from potok.metadata._conditions_dates import _MONTH_UNITS, _OFFSET_UNITS
from potok.metadata._conditions_tree import (
    _COMPARISONS,
    _CONDITION_OPS,
    _OPERAND_OPS,
    _ORDERING,
    _TEXT_OPS,
    FIELD_KINDS,
    _All,
    _Any,
    _Compare,
    _DateAdd,
    _Empty,
    _Field,
    _Has,
    _In,
    _is_constant,
    _Node,
    _Not,
    _Now,
    _Operand,
    _Text,
    _Today,
    _Value,
)

MAX_DEPTH = 32
MAX_NODES = 1000
MAX_LIST = 1000
MAX_LIST_ITEMS = 10_000
MAX_TEXT = 1000
MAX_DIGITS = 40
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_NUMBER = Decimal(10) ** 18

_UNITS = (*_OFFSET_UNITS, *_MONTH_UNITS)
_MAX_AMOUNT = {  # 1000 years
    "minutes": 1000 * 366 * 24 * 60,
    "hours": 1000 * 366 * 24,
    "days": 1000 * 366,
    "weeks": 1000 * 53,
    "months": 1000 * 12,
    "years": 1000,
}
_EXPECTED = {
    "text": N_("expected text"),
    "number": N_("expected a number"),
    "date": N_("expected a date like 2026-03-31"),
    "datetime": N_("expected a date and time like 2026-03-31T14:30"),
    "boolean": N_("expected true or false"),
    "ref": N_("expected an id (a whole number)"),
}
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


# Problems --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a condition: where (``and[1].>[0]``, ``""`` for the whole
    condition) and what (an English message id with ``%(name)s`` placeholders)."""

    path: str
    message: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def text(self) -> str:
        return self.message % dict(self.params) if self.params else self.message

    def __str__(self) -> str:
        return f"{self.path}: {self.text}" if self.path else self.text


# Checking --------------------------------------------------------------------------------


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(value: object) -> str:
    if isinstance(value, str):
        return value if len(value) <= 40 else value[:37] + "..."
    return type(value).__name__


def _measure(condition: Any) -> Problem | None:
    """Size limits, checked without recursion before anything else looks deeper."""
    stack: list[tuple[Any, str, int, int]] = [(condition, "", 0, 0)]
    nodes = items = 0
    while stack:
        value, path, depth, containers = stack.pop()
        if containers > 2 * MAX_DEPTH + 2:
            return Problem(path, N_("nested deeper than %(limit)s levels"), (("limit", MAX_DEPTH),))
        if isinstance(value, dict):
            nodes += 1
            if nodes > MAX_NODES:
                return Problem(
                    "", N_("more than %(limit)s operators and operands"), (("limit", MAX_NODES),)
                )
            if depth + 1 > MAX_DEPTH:
                return Problem(
                    path, N_("nested deeper than %(limit)s levels"), (("limit", MAX_DEPTH),)
                )
            if len(value) == 1:
                ((key, inner),) = value.items()
                child = _join(path, key if isinstance(key, str) else "?")
                stack.append((inner, child, depth + 1, containers + 1))
        elif isinstance(value, list):
            if len(value) > MAX_LIST:
                return Problem(
                    path, N_("a list longer than %(limit)s items"), (("limit", MAX_LIST),)
                )
            items += len(value)
            if items > MAX_LIST_ITEMS:
                return Problem(
                    "", N_("more than %(limit)s list items in all"), (("limit", MAX_LIST_ITEMS),)
                )
            for index, item in enumerate(value):
                if isinstance(item, dict | list):
                    stack.append((item, f"{path}[{index}]", depth, containers + 1))
    return None


def _parse_date(text: str) -> date | None:
    found = _DATE_RE.fullmatch(text)
    if not found:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        return None


def _parse_datetime(text: str) -> datetime | None:
    found = _DATETIME_RE.fullmatch(text)
    if not found:
        return None
    year, month, day, hour, minute, second, fraction = found.groups()
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "").ljust(6, "0")),
        )
    except ValueError:
        return None


def _number_fits(number: Decimal) -> bool:
    """Finite, |x| < 10**18, at most 18 decimal places (trailing zeros do not count)."""
    if not number.is_finite():
        return False
    _, digits, exponent = number.as_tuple()
    if len(digits) > MAX_DIGITS or not isinstance(exponent, int):
        return False
    if number.is_zero():
        return True
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return abs(number) < MAX_NUMBER and exponent + trailing_zeros >= -18


class _Checker:
    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = fields
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str, **params: Any) -> None:
        self.problems.append(Problem(path, message, tuple(sorted(params.items()))))

    # Conditions

    def condition(self, raw: Any, path: str) -> _Node | None:
        if not isinstance(raw, dict):
            self.fail(path, N_("expected a condition: an object with one operator"))
            return None
        if len(raw) != 1:
            self.fail(
                path, N_("a condition has exactly one operator, not %(count)s"), count=len(raw)
            )
            return None
        ((op, args),) = raw.items()
        if not isinstance(op, str) or op not in _CONDITION_OPS:
            if op in _OPERAND_OPS:
                self.fail(path, N_('"%(op)s" is a value, not a condition'), op=op)
            else:
                self.fail(path, N_('unknown operator "%(op)s"'), op=_show(op))
            return None
        here = _join(path, op)
        if op in ("and", "or"):
            if not isinstance(args, list):
                self.fail(path, N_('"%(op)s" takes a list of conditions'), op=op)
                return None
            items = [self.condition(item, f"{here}[{index}]") for index, item in enumerate(args)]
            if any(item is None for item in items):
                return None
            checked = tuple(item for item in items if item is not None)
            return _All(checked) if op == "and" else _Any(checked)
        if op == "not":
            if isinstance(args, list):
                self.fail(path, N_('"not" takes one condition, not a list'))
                return None
            inner = self.condition(args, here)
            return None if inner is None else _Not(inner)
        if op in _COMPARISONS:
            return self.comparison(op, args, path, here)
        if op == "in":
            return self.membership(args, path, here)
        if op in ("empty", "not_empty"):
            return self.emptiness(op, args, path, here)
        if op in _TEXT_OPS:
            return self.text_match(op, args, path, here)
        return self.has(op, args, path, here)

    def arguments(self, op: str, args: Any, count: int, path: str) -> bool:
        if not isinstance(args, list):
            self.fail(
                path,
                N_('"%(op)s" takes a list of arguments (expected: %(count)s)'),
                op=op,
                count=count,
            )
            return False
        if len(args) != count:
            self.fail(
                path,
                N_('"%(op)s": arguments expected: %(count)s, given: %(given)s'),
                op=op,
                count=count,
                given=len(args),
            )
            return False
        return True

    def comparison(self, op: str, args: Any, path: str, here: str) -> _Node | None:
        if not self.arguments(op, args, 2, path):
            return None
        left = self.operand(args[0], f"{here}[0]")
        right = self.operand(args[1], f"{here}[1]")
        if left is None or right is None:
            return None
        for side, where in ((left, f"{here}[0]"), (right, f"{here}[1]")):
            if side.type == "multi":
                self.fail(where, N_("this field holds several values: use has, has_any or empty"))
                return None
        settled_left = self.settle(left, right, f"{here}[0]")
        settled_right = self.settle(right, left, f"{here}[1]")
        if settled_left is None or settled_right is None:
            return None
        left, right = settled_left, settled_right
        if op in _ORDERING:
            for side, where in ((left, f"{here}[0]"), (right, f"{here}[1]")):
                if side.type == "null":
                    self.fail(where, N_('"%(op)s" cannot compare with null'), op=op)
                    return None
        if "null" not in (left.type, right.type):
            types = {left.type, right.type}
            if len(types) > 1 and types != {"date", "datetime"}:
                self.fail(
                    path,
                    N_("cannot compare %(left)s with %(right)s"),
                    left=left.type,
                    right=right.type,
                )
                return None
            if op in _ORDERING and left.type not in ("number", "date", "datetime"):
                self.fail(path, N_('"%(op)s" does not apply to %(type)s'), op=op, type=left.type)
                return None
            constant = _is_constant(left) or _is_constant(right)
            if types == {"date", "datetime"} and not constant:
                self.fail(path, N_("a date field cannot be compared with a date-time field"))
                return None
            if not constant and (_by_months(left) or _by_months(right)):
                self.fail(
                    path,
                    N_(
                        "date_add by months or years over a field needs a constant "
                        "on the other side"
                    ),
                )
                return None
        return _Compare(op, left, right)

    def settle(self, side: _Operand, other: _Operand, path: str) -> _Operand | None:
        """A literal read according to the other operand's type."""
        if not isinstance(side, _Value) or side.type == "null":
            return side
        target = other.type
        if target in ("null", "string"):
            target = "text" if side.type == "string" else side.type
        return self.literal_as(side.value, side.type, target, path)

    def literal_as(self, value: Any, given: str, target: str, path: str) -> _Value | None:
        if given == target:
            return _Value(value, target)
        if given == "string" and target == "text":
            return _Value(value, "text")
        if given == "string" and target in ("date", "datetime"):
            moment = _parse_date(value)
            if moment is not None:
                return _Value(moment, "date")
            stamp = _parse_datetime(value)
            if stamp is not None:
                return _Value(stamp, "datetime")
            self.fail(path, N_('not a valid date: "%(value)s"'), value=_show(value))
            return None
        if given == "number" and target == "ref" and isinstance(value, int):
            return _Value(value, "ref")
        if target in _EXPECTED:
            self.fail(path, _EXPECTED[target])
        else:
            self.fail(path, N_("this value does not fit here"))
        return None

    def membership(self, args: Any, path: str, here: str) -> _Node | None:
        if not self.arguments("in", args, 2, path):
            return None
        operand = self.operand(args[0], f"{here}[0]")
        if operand is None:
            return None
        if isinstance(operand, _Value) and operand.type == "string":
            operand = _Value(operand.value, "text")
        if operand.type == "multi":
            self.fail(f"{here}[0]", N_("this field holds several values: use has_any"))
            return None
        if operand.type == "null":
            self.fail(f"{here}[0]", N_("null is never in a list: use empty"))
            return None
        values = args[1]
        if not isinstance(values, list):
            self.fail(f"{here}[1]", N_("expected a list of values"))
            return None
        checked: list[Any] = []
        for index, item in enumerate(values):
            where = f"{here}[1][{index}]"
            if item is None:
                self.fail(where, N_("a list of values cannot hold null: use empty"))
                continue
            if isinstance(item, dict | list):
                self.fail(where, N_("expected a plain value"))
                continue
            value = self.literal(item, where)
            if value is not None:
                value = self.literal_as(value.value, value.type, operand.type, where)
            if value is not None:
                checked.append(value.value)
        if len(checked) != len(values):
            return None
        return _In(operand, tuple(checked))

    def emptiness(self, op: str, args: Any, path: str, here: str) -> _Node | None:
        if not self.arguments(op, args, 1, path):
            return None
        operand = self.operand(args[0], f"{here}[0]")
        if operand is None:
            return None
        if isinstance(operand, _Value) and operand.type == "string":
            operand = _Value(operand.value, "text")
        return _Empty(operand) if op == "empty" else _Not(_Empty(operand))

    def text_match(self, op: str, args: Any, path: str, here: str) -> _Node | None:
        if not self.arguments(op, args, 2, path):
            return None
        operand = self.operand(args[0], f"{here}[0]")
        needle = args[1]
        if not isinstance(needle, str):
            self.fail(f"{here}[1]", N_("expected text"))
            return None
        if not self.string(needle, f"{here}[1]") or operand is None:
            return None
        if operand.type not in ("text", "string"):
            self.fail(f"{here}[0]", N_('"%(op)s" needs a text field'), op=op)
            return None
        if isinstance(operand, _Value):
            operand = _Value(operand.value, "text")
        return _Text(op, operand, needle)

    def has(self, op: str, args: Any, path: str, here: str) -> _Node | None:
        if not self.arguments(op, args, 2, path):
            return None
        operand = self.operand(args[0], f"{here}[0]")
        if operand is None:
            return None
        if not isinstance(operand, _Field) or operand.kind != "multi":
            self.fail(f"{here}[0]", N_('"%(op)s" needs a field that holds several values'), op=op)
            return None
        raw = args[1]
        if op == "has":
            id_ = self.id(raw, f"{here}[1]")
            return None if id_ is None else _Has(operand.key, (id_,))
        if not isinstance(raw, list):
            self.fail(f"{here}[1]", N_("expected a list of ids"))
            return None
        ids = [self.id(item, f"{here}[1][{index}]") for index, item in enumerate(raw)]
        if any(item is None for item in ids):
            return None
        return _Has(operand.key, tuple(item for item in ids if item is not None))

    def id(self, raw: Any, path: str) -> int | None:
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.fail(path, N_("expected an id (a whole number)"))
            return None
        if not INT64_MIN <= raw <= INT64_MAX:
            self.fail(path, N_("the number is too large"))
            return None
        return raw

    # Operands

    def operand(self, raw: Any, path: str) -> _Operand | None:
        if isinstance(raw, dict):
            return self.operator_operand(raw, path)
        if isinstance(raw, list):
            self.fail(path, N_("a list cannot be used as a value here"))
            return None
        return self.literal(raw, path)

    def literal(self, raw: Any, path: str) -> _Value | None:
        if raw is None:
            return _Value(None, "null")
        if isinstance(raw, bool):
            return _Value(raw, "boolean")
        if isinstance(raw, int):
            if not INT64_MIN <= raw <= INT64_MAX:
                self.fail(path, N_("the number is too large"))
                return None
            return _Value(raw, "number")
        if isinstance(raw, float | Decimal):
            number = raw if isinstance(raw, Decimal) else _float_decimal(raw)
            if number is None or not _number_fits(number):
                self.fail(path, N_("the number is not finite, too large or too precise"))
                return None
            return _Value(number, "number")
        if isinstance(raw, str):
            return _Value(raw, "string") if self.string(raw, path) else None
        self.fail(path, N_("not a JSON value (%(type)s)"), type=type(raw).__name__)
        return None

    def string(self, raw: str, path: str) -> bool:
        if len(raw) > MAX_TEXT:
            self.fail(path, N_("text longer than %(limit)s characters"), limit=MAX_TEXT)
            return False
        if _UNSTORABLE.search(raw):
            self.fail(path, N_("the text holds a character that cannot be stored"))
            return False
        return True

    def operator_operand(self, raw: dict[Any, Any], path: str) -> _Operand | None:
        if len(raw) != 1:
            self.fail(
                path, N_("an operand has exactly one operator, not %(count)s"), count=len(raw)
            )
            return None
        ((op, args),) = raw.items()
        if op == "var":
            if not isinstance(args, str):
                self.fail(path, N_('"var" takes a field key'))
                return None
            kind = self.fields.get(args)
            if kind is None:
                self.fail(path, N_('unknown field "%(key)s"'), key=_show(args))
                return None
            return _Field(args, kind)
        if op in ("today", "now"):
            if not isinstance(args, list) or args:
                self.fail(path, N_('"%(op)s" takes an empty list'), op=op)
                return None
            return _Today() if op == "today" else _Now()
        if op == "date_add":
            return self.date_add(args, path, _join(path, op))
        if op in _CONDITION_OPS:
            self.fail(path, N_('a condition ("%(op)s") cannot be used as a value'), op=op)
        else:
            self.fail(path, N_('unknown operator "%(op)s"'), op=_show(op))
        return None

    def date_add(self, args: Any, path: str, here: str) -> _Operand | None:
        if not self.arguments("date_add", args, 3, path):
            return None
        base = self.operand(args[0], f"{here}[0]")
        amount, unit = args[1], args[2]
        ok = True
        if isinstance(base, _Value) and base.type == "string":
            base = self.literal_as(base.value, "string", "date", f"{here}[0]")
        elif base is not None and base.type not in ("date", "datetime"):
            self.fail(f"{here}[0]", N_("date_add needs a date or a date and time"))
            base = None
        if not isinstance(unit, str) or unit not in _UNITS:
            self.fail(
                f"{here}[2]", N_("the unit is one of days, weeks, months, years, hours, minutes")
            )
            ok = False
        if isinstance(amount, bool) or not isinstance(amount, int):
            self.fail(f"{here}[1]", N_("expected a whole number"))
            ok = False
        elif ok and abs(amount) > _MAX_AMOUNT[unit]:
            self.fail(f"{here}[1]", N_("at most 1000 years"))
            ok = False
        if base is None or not ok:
            return None
        if base.type == "date" and unit in ("hours", "minutes"):
            self.fail(path, N_("hours and minutes need a date and time, not a date"))
            return None
        return _DateAdd(base, amount, unit, base.type)


def _by_months(operand: _Operand) -> bool:
    while isinstance(operand, _DateAdd):
        if operand.unit in ("months", "years") and not _is_constant(operand):
            return True
        operand = operand.operand
    return False


def _float_decimal(number: float) -> Decimal | None:
    return Decimal(repr(number)) if math.isfinite(number) else None


def _check_fields(fields: Mapping[str, str]) -> None:
    for key, kind in fields.items():
        if kind not in FIELD_KINDS:
            raise ValueError(f"field {key!r} has kind {kind!r}, not one of {sorted(FIELD_KINDS)}")


def _check(condition: Any, fields: Mapping[str, str]) -> tuple[list[Problem], _Node | None]:
    _check_fields(fields)
    found = _measure(condition)
    if found is not None:
        return [found], None
    checker = _Checker(fields)
    root = checker.condition(condition, "")
    return checker.problems, root
