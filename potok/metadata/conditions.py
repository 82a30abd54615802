"""The condition language: one JSON shape for visible/required/read-only rules, route branches,
auto-processing triggers, list filters and report filters, with two back ends that agree —
:func:`evaluate` over a document in Python and :func:`to_sql` over a stream's table.

A condition is an object with exactly one key, the operator::

    {"and": [{">": [{"var": "amount"}, 1000000]}, {"in": [{"var": "status"}, ["new", "open"]]}]}

======================================  =================================================
``{"and": [c, …]}``, ``{"or": [c, …]}``  all / any; an empty ``and`` is true, an empty ``or``
                                        false
``{"not": c}``                          negation (one condition, not a list)
``{"==": [a, b]}``, ``"!="``            equality, null-safe (see below)
``"<"``, ``"<="``, ``">"``, ``">="``    order: numbers, dates, date-times only
``{"in": [a, [v, …]]}``                 ``a`` equals one of the literal values
``{"empty": [a]}``, ``"not_empty"``     null, ``""`` (text), or no values (multi-valued)
``{"contains_text": [a, "text"]}``      case-insensitive substring / prefix of a text or
``{"starts_with": [a, "text"]}``        choice operand; ``%``, ``_``, ``*`` are plain
``{"has": [{"var": m}, id]}``           the multi-valued field ``m`` includes ``id``
``{"has_any": [{"var": m}, [id, …]]}``  … includes one of the ids (an empty list: false)
======================================  =================================================

Operands: ``{"var": "key"}`` (a field), literals (whole numbers, decimals, strings,
``true``/``false``, ``null``), ``{"today": []}``, ``{"now": []}`` and
``{"date_add": [operand, n, unit]}`` with ``unit`` one of days, weeks, months, years, hours,
minutes (``n`` a whole number, negative allowed, at most 1000 years). Months and years keep
the day and clamp it to the month's end (Jan 31 + 1 month = Feb 28 or 29); hours and minutes
need a date-time. Date literals are ISO strings (``"2026-03-01"``, ``"2026-03-01T10:00"``,
naive, same clock as ``now``) read according to the other side's kind.

**Null semantics** (both back ends, exactly; SQL never leaks three-valued logic):
``==`` and ``!=`` are null-safe — ``{"==": [x, null]}`` means x is null, and ``!=`` against a
value is true when the field is null ("status is not closed" includes documents with no
status); ``<``, ``<=``, ``>``, ``>=``, ``in``, ``contains_text``, ``starts_with`` and ``has``
with a null operand are false; ``not`` negates that two-valued result. A null boolean is
neither true nor false. Date arithmetic that leaves the years 1–9999 gives null.

**Kinds.** Fields are described as ``{key: kind}``, the kind one of text, choice, integer,
decimal, date, datetime, boolean, ref (an id) or multi (several ids). Literals must fit the
other side's kind: a number is not text and ``"5"`` is not a number (SQLite would coerce one
into the other, so we refuse both). A date compares with a date-time as that day's midnight.
Text and ids have no order; booleans, ids and text only ``==``/``!=``/``in``.
``date_add`` with months or years over a field needs a constant on the other side (it is
rewritten into ranges of the field), and a date field cannot be compared with a date-time
field (only with a constant).

**Case-insensitive text** is defined per character: a character folds to ``ch.lower()``
when that is one character, else stays (so Latin, Cyrillic including Ё/ё, Greek… fold; ``ß``
does not become ``ss``). Neither database's ``lower()`` is used — SQLite's is ASCII-only and
PostgreSQL's depends on the database locale. Instead each letter of the searched text turns
into the class of all characters that fold like it: ``GLOB '*[кК][оО]*'`` on SQLite,
``~ '[кК][оО]'`` on PostgreSQL, the pattern a bound parameter built by a type decorator for the
dialect at hand; other characters are escaped, so ``%``, ``_``, ``*`` and ``[`` are literal.
Same answers on both databases and in Python, whatever the locale, and no SQLite function to
register (GLOB and ``~`` cannot use a b-tree index; neither could ``LIKE '%…%'``).

**SQL.** Every literal is a bound parameter; ``today``, ``now`` and ``date_add`` over
constants are computed in Python from ``now`` and bound. A comparison of a field (through
``date_add`` or not) with a constant becomes ranges of the raw column (``signed_on + 30 days
< today`` is ``signed_on < today - 30 days``), so indexes work and SQLite needs no date
functions; ``date_add`` by days, weeks, hours or minutes between two fields uses ``date()`` /
``strftime()`` on SQLite and ``+`` on PostgreSQL. Numbers compare exactly when the columns are
exact: integers, PostgreSQL NUMERIC, and decimals stored on SQLite as integer units of a
``scale`` (as ``potok.metadata.types.ExactDecimal`` does: such a column's type has an integer
``scale`` and an integer storage type, and literals are put on that grid, e.g. ``amount <
2.555`` with two places is ``amount < 2.56``).

**Limits** (checked first, iteratively, so hostile input cannot exhaust the stack): 32
levels of nested objects, 1000 objects (operators and operands), 1000 items per list and
10 000 list items in all, strings up to 1000 characters without NUL or lone surrogates,
numbers finite with |x| < 10**18 and at most 18 decimal places, whole numbers (ids too)
within a signed 64-bit integer.

**API.** :func:`check` returns :class:`Problem` s — a path such as ``and[1].>[0]`` (``""``
for the whole condition, ``not.==[1]`` inside a ``not``, ``in[1][3]`` for a list item) and an
English message id with params — and never raises on input, whatever it is (sets, cycles,
10 000 levels of nesting). :func:`prepare` returns a checked :class:`Condition` (keep it to
evaluate many documents) or raises :class:`ConditionError`; :func:`evaluate` and
:func:`to_sql` prepare first. Document values are Python values of the field's kind (str,
int, Decimal, date, naive datetime, bool, a list or set of int ids for multi, None); a value
of another type is a programming error (TypeError), as is an unknown kind in ``fields``
(ValueError).
"""

from __future__ import annotations

import calendar
import math
import operator
import re
import sys
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Boolean, Date, DateTime, Integer, String, and_, false, literal, not_, or_
from sqlalchemy import true as sql_true
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from potok.errors import N_, ValidationFailed

__all__ = [
    "FIELD_KINDS",
    "ColumnResolver",
    "Condition",
    "ConditionError",
    "Problem",
    "check",
    "evaluate",
    "fields_used",
    "fold_text",
    "prepare",
    "to_sql",
]

FIELD_KINDS = frozenset(
    {"text", "choice", "integer", "decimal", "date", "datetime", "boolean", "ref", "multi"}
)
MAX_DEPTH = 32
MAX_NODES = 1000
MAX_LIST = 1000
MAX_LIST_ITEMS = 10_000
MAX_TEXT = 1000
MAX_DIGITS = 40
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_NUMBER = Decimal(10) ** 18

_LOGIC = ("and", "or", "not")
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
_ORDERING = ("<", "<=", ">", ">=")
_TEXT_OPS = ("contains_text", "starts_with")
_CONDITION_OPS = frozenset(
    (*_LOGIC, *_COMPARISONS, "in", "empty", "not_empty", *_TEXT_OPS, "has", "has_any")
)
_OPERAND_OPS = frozenset({"var", "today", "now", "date_add"})
_OFFSET_UNITS = {
    "minutes": timedelta(minutes=1),
    "hours": timedelta(hours=1),
    "days": timedelta(days=1),
    "weeks": timedelta(weeks=1),
}
_MONTH_UNITS = {"months": 1, "years": 12}
_UNITS = (*_OFFSET_UNITS, *_MONTH_UNITS)
_MAX_AMOUNT = {  # 1000 years
    "minutes": 1000 * 366 * 24 * 60,
    "hours": 1000 * 366 * 24,
    "days": 1000 * 366,
    "weeks": 1000 * 53,
    "months": 1000 * 12,
    "years": 1000,
}
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
_EXPECTED = {
    "text": N_("expected text"),
    "number": N_("expected a number"),
    "date": N_("expected a date like 2026-03-31"),
    "datetime": N_("expected a date and time like 2026-03-31T14:30"),
    "boolean": N_("expected true or false"),
    "ref": N_("expected an id (a whole number)"),
}
_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ORDER_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)
_MIDNIGHT = time()


# Problems and errors ---------------------------------------------------------------------


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


class ConditionError(ValidationFailed):
    """A condition that :func:`check` rejects was given to :func:`prepare`, :func:`evaluate`
    or :func:`to_sql`; ``problems`` says what is wrong."""

    message = N_("The condition is not valid: %(problems)s")

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        shown = "; ".join(str(item) for item in self.problems[:5])
        if len(self.problems) > 5:
            shown += f"; … ({len(self.problems)} problems)"
        super().__init__(params={"problems": shown})


class ColumnResolver(Protocol):
    """How :func:`to_sql` reaches a stream's data: scalar fields are columns (or any SQL
    expression of the field's type); multi-valued fields are answered by the resolver, e.g.
    with ``EXISTS`` over an association table. Both methods must return two-valued
    expressions (never NULL)."""

    def column(self, key: str) -> ColumnElement[Any]: ...

    def has_any(self, key: str, values: list[int]) -> ColumnElement[bool]: ...

    def is_empty(self, key: str) -> ColumnElement[bool]: ...


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


def check(condition: Any, fields: Mapping[str, str]) -> list[Problem]:
    """Everything wrong with ``condition`` for a stream whose fields have these kinds; an
    empty list when it is fine. Never raises on malformed input (``fields`` with a kind that
    does not exist is a programming error: ValueError)."""
    return _check(condition, fields)[0]


def fields_used(condition: Any) -> set[str]:
    """The field keys a condition refers to (tolerant of malformed input)."""
    keys: set[str] = set()
    stack: list[Any] = [condition]
    seen: set[int] = set()
    while stack:
        value = stack.pop()
        if isinstance(value, dict | list):
            if id(value) in seen:
                continue
            seen.add(id(value))
        if isinstance(value, dict):
            if len(value) == 1 and isinstance(value.get("var"), str):
                keys.add(value["var"])
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return keys


@dataclass(frozen=True, eq=False)
class Condition:
    """A checked condition, ready to evaluate or to compile; keep it to skip re-checking."""

    source: Any
    fields: Mapping[str, str]
    root: _Node

    @property
    def fields_used(self) -> set[str]:
        return fields_used(self.source)

    def evaluate(self, document: Mapping[str, Any], *, now: datetime) -> bool:
        return _Evaluator(document, self.fields, _checked_now(now)).node(self.root)

    def to_sql(self, columns: ColumnResolver, *, now: datetime) -> ColumnElement[bool]:
        return _SqlCompiler(columns, _checked_now(now)).node(self.root)


def prepare(condition: Any, fields: Mapping[str, str]) -> Condition:
    """The checked form of ``condition``; raises :class:`ConditionError` with the problems."""
    if isinstance(condition, Condition):
        return condition
    problems, root = _check(condition, fields)
    if problems or root is None:
        raise ConditionError(problems)
    return Condition(condition, dict(fields), root)


def evaluate(
    condition: Any, document: Mapping[str, Any], fields: Mapping[str, str], *, now: datetime
) -> bool:
    """Whether ``document`` (field key -> Python value) meets the condition at ``now``."""
    return prepare(condition, fields).evaluate(document, now=now)


def to_sql(
    condition: Any, columns: ColumnResolver, fields: Mapping[str, str], *, now: datetime
) -> ColumnElement[bool]:
    """The condition as a two-valued SQL expression over ``columns``, for ``now``."""
    return prepare(condition, fields).to_sql(columns, now=now)


def _checked_now(now: Any) -> datetime:
    if not isinstance(now, datetime) or now.tzinfo is not None:
        raise TypeError("now must be a naive datetime (the same clock as document values)")
    return now


# Case-insensitive text -------------------------------------------------------------------


def _fold_char(char: str) -> str:
    lower = char.lower()
    return lower if len(lower) == 1 else char


@cache
def _fold_tables() -> tuple[dict[int, str], dict[str, str]]:
    """The translation table of characters whose fold differs, and for every folded
    character that more than one character folds to, all of those characters."""
    table: dict[int, str] = {}
    classes: dict[str, set[str]] = {}
    codec = "utf-32-le" if sys.byteorder == "little" else "utf-32-be"
    everything = array("I", range(0x110000)).tobytes().decode(codec, "surrogatepass")
    for start in range(0, len(everything), 256):
        block = everything[start : start + 256]
        if block.lower() == block:
            continue
        for char in block:
            folded = _fold_char(char)
            if folded != char:
                table[ord(char)] = folded
                classes.setdefault(folded, {folded}).add(char)
    return table, {key: "".join(sorted(chars)) for key, chars in classes.items()}


def fold_text(text: str) -> str:
    """``text`` with every character folded as case-insensitive matching folds it."""
    return text.translate(_fold_tables()[0])


def _glob_pattern(needle: str, prefix: bool) -> str:
    classes = _fold_tables()[1]
    parts = []
    for char in needle:
        members = classes.get(_fold_char(char))
        if members:
            parts.append(f"[{members}]")
        elif char in "*?[":
            parts.append(f"[{char}]")
        else:
            parts.append(char)
    body = "".join(parts)
    return f"{body}*" if prefix else f"*{body}*"


_REGEX_SPECIAL = frozenset("\\^$.|?*+()[]{}")


def _regex_pattern(needle: str, prefix: bool) -> str:
    classes = _fold_tables()[1]
    parts = []
    for char in needle:
        members = classes.get(_fold_char(char))
        if members:
            parts.append(f"[{members}]")
        elif char in _REGEX_SPECIAL:
            parts.append("\\" + char)
        else:
            parts.append(char)
    body = "".join(parts)
    return f"^{body}" if prefix else body


class _FoldedPattern(TypeDecorator[str]):
    """Binds the searched text as the dialect's case-folding pattern (GLOB or regex)."""

    impl = String
    cache_ok = True

    def __init__(self, prefix: bool) -> None:
        super().__init__()
        self.prefix = prefix

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return _glob_pattern(value, self.prefix)
        if dialect.name == "postgresql":
            return _regex_pattern(value, self.prefix)
        raise CompileError(f"case-insensitive text conditions have no SQL for {dialect.name}")

    def process_literal_param(self, value: str | None, dialect: Dialect) -> str:
        raise CompileError("conditions bind their text; it is never rendered into SQL")


class _matches_folded(FunctionElement[bool]):
    name = "potok_matches_folded"
    type = Boolean()
    inherit_cache = True


@compiles(_matches_folded, "sqlite")
def _matches_sqlite(element: _matches_folded, compiler: SQLCompiler, **kw: Any) -> str:
    text, pattern = element.clauses.clauses
    return f"({compiler.process(text, **kw)} GLOB {compiler.process(pattern, **kw)})"


@compiles(_matches_folded, "postgresql")
def _matches_postgresql(element: _matches_folded, compiler: SQLCompiler, **kw: Any) -> str:
    text, pattern = element.clauses.clauses
    return f"({compiler.process(text, **kw)} ~ {compiler.process(pattern, **kw)})"


# Dates: arithmetic, and the ranges of a field that satisfy a comparison --------------------


def _add_months(value: date, months: int) -> date | None:
    """``value`` (a date or a date-time) plus whole months, the day clamped to the month's
    end; None outside the years 1-9999."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        return None
    return value.replace(
        year=year, month=month + 1, day=min(value.day, calendar.monthrange(year, month + 1)[1])
    )


def _shift(value: date | None, amount: int, unit: str) -> date | None:
    if value is None:
        return None
    if unit in _MONTH_UNITS:
        return _add_months(value, amount * _MONTH_UNITS[unit])
    try:
        return value + amount * _OFFSET_UNITS[unit]
    except OverflowError:
        return None


def _midnight(value: date) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, _MIDNIGHT)


def _next(point: date) -> date | None:
    """The next representable date or date-time (None past the end)."""
    try:
        return point + (_MICROSECOND if isinstance(point, datetime) else _DAY)
    except OverflowError:
        return None


# A set of points is a sorted list of disjoint half-open intervals [low, high), where None
# stands for "unbounded" on that side.
_Interval = tuple[date | None, date | None]


def _normalize(intervals: list[_Interval]) -> list[_Interval]:
    kept = [(lo, hi) for lo, hi in intervals if lo is None or hi is None or lo < hi]
    kept.sort(key=lambda item: (item[0] is not None, item[0] or date.min))
    merged: list[_Interval] = []
    for lo, hi in kept:
        if merged:
            last_lo, last_hi = merged[-1]
            if last_hi is None:
                break
            if lo is None or lo <= last_hi:
                merged[-1] = (last_lo, None if hi is None else max(hi, last_hi))
                continue
        merged.append((lo, hi))
    return merged


def _intersect(first: list[_Interval], second: list[_Interval]) -> list[_Interval]:
    result = []
    for a_lo, a_hi in first:
        for b_lo, b_hi in second:
            lo = b_lo if a_lo is None else a_lo if b_lo is None else max(a_lo, b_lo)
            hi = b_hi if a_hi is None else a_hi if b_hi is None else min(a_hi, b_hi)
            result.append((lo, hi))
    return _normalize(result)


def _complement(intervals: list[_Interval]) -> list[_Interval]:
    result: list[_Interval] = []
    cursor: date | None = None
    for lo, hi in _normalize(intervals):
        if lo is not None:
            result.append((cursor, lo))
        if hi is None:
            return _normalize(result)
        cursor = hi
    result.append((cursor, None))
    return _normalize(result)


class _Step:
    """One ``date_add`` (or a date read as midnight) applied to a field's value. ``below(c)``
    is the set of values v with ``apply(v)`` defined and less than c."""

    def apply(self, value: date) -> date | None:
        raise NotImplementedError

    def domain(self) -> list[_Interval]:
        raise NotImplementedError

    def below(self, bound: date) -> list[_Interval]:
        raise NotImplementedError

    def preimage(self, intervals: list[_Interval]) -> list[_Interval]:
        result: list[_Interval] = []
        for lo, hi in intervals:
            upper = self.domain() if hi is None else self.below(hi)
            result += upper if lo is None else _intersect(upper, _complement(self.below(lo)))
        return _normalize(result)


@dataclass(frozen=True)
class _Offset(_Step):
    delta: timedelta
    on_datetime: bool

    def _limits(self) -> tuple[date, date]:
        if self.on_datetime:
            return datetime.min, datetime.max
        return date.min, date.max

    def apply(self, value: date) -> date | None:
        try:
            return value + self.delta
        except OverflowError:
            return None

    def domain(self) -> list[_Interval]:
        low, high = self._limits()
        try:
            if self.delta >= timedelta(0):
                return [(None, _next(high - self.delta))]
            return [(low - self.delta, None)]
        except OverflowError:
            return []

    def below(self, bound: date) -> list[_Interval]:
        try:
            limit = bound - self.delta
        except OverflowError:
            return [] if self.delta > timedelta(0) else self.domain()
        return _intersect(self.domain(), [(None, limit)])


@dataclass(frozen=True)
class _Months(_Step):
    months: int
    on_datetime: bool

    def apply(self, value: date) -> date | None:
        return _add_months(value, self.months)

    def _days(self) -> tuple[date, date] | None:
        """The first and last day whose month shift stays within the years 1-9999."""
        top = 9999 * 12 + 11
        low, high = max(12, 12 - self.months), min(top, top - self.months)
        if low > high:
            return None
        last_year, last_month = divmod(high, 12)
        return date(low // 12, low % 12 + 1, 1), date(
            last_year, last_month + 1, calendar.monthrange(last_year, last_month + 1)[1]
        )

    def domain(self) -> list[_Interval]:
        days = self._days()
        if days is None:
            return []
        first, last = days
        after = _next(last)
        if self.on_datetime:
            return [(_midnight(first), None if after is None else _midnight(after))]
        return [(first, after)]

    def _first_day_at_least(self, bound: date) -> date | None:
        """The first day of the domain whose shift is on or after ``bound`` (a date)."""
        days = self._days()
        if days is None:
            return None
        low, high = days[0].toordinal(), days[1].toordinal()
        shifted = _add_months(days[1], self.months)
        if shifted is None or shifted < bound:
            return None
        while low < high:
            middle = (low + high) // 2
            moved = _add_months(date.fromordinal(middle), self.months)
            if moved is not None and moved >= bound:
                high = middle
            else:
                low = middle + 1
        return date.fromordinal(low)

    def below(self, bound: date) -> list[_Interval]:
        if not isinstance(bound, datetime):
            first = self._first_day_at_least(bound)
            return self.domain() if first is None else _intersect(self.domain(), [(None, first)])
        # Whole days that land before the bound's day, then on the bound's day the times
        # before the bound's time (several days can land on one: Jan 28-31 + 1 month).
        day, clock = bound.date(), bound.time()
        first = self._first_day_at_least(day)
        if first is None:
            return self.domain()
        following = _next(day)
        beyond = None if following is None else self._first_day_at_least(following)
        parts: list[_Interval] = [(None, _midnight(first))]
        current: date | None = first
        while current is not None and (beyond is None or current < beyond):
            if _add_months(current, self.months) != day:
                break
            parts.append((_midnight(current), datetime.combine(current, clock)))
            current = _next(current)
        return _intersect(self.domain(), _normalize(parts))


@dataclass(frozen=True)
class _Promote(_Step):
    """A date read as that day's midnight, to compare with a date-time."""

    def apply(self, value: date) -> date | None:
        return _midnight(value)

    def domain(self) -> list[_Interval]:
        return [(None, None)]

    def below(self, bound: date) -> list[_Interval]:
        day = bound.date() if isinstance(bound, datetime) else bound
        ceiling = day if _midnight(bound).time() == _MIDNIGHT else _next(day)
        return [(None, ceiling)]


def _steps(adds: list[_DateAdd]) -> list[_Step]:
    steps: list[_Step] = []
    for add in adds:
        on_datetime = add.operand.type == "datetime"
        if add.unit in _MONTH_UNITS:
            steps.append(_Months(add.amount * _MONTH_UNITS[add.unit], on_datetime))
        else:
            steps.append(_Offset(add.amount * _OFFSET_UNITS[add.unit], on_datetime))
    return steps


def _values_where(op: str, bound: date) -> list[_Interval]:
    """The points v with ``v op bound`` (op one of ==, <, <=, >, >=)."""
    after = _next(bound)
    if op == "<":
        return [(None, bound)]
    if op == "<=":
        return [(None, after)]
    if op == ">":
        return [] if after is None else [(after, None)]
    if op == ">=":
        return [(bound, None)]
    return [(bound, after)]


def _preimage(steps: list[_Step], intervals: list[_Interval]) -> list[_Interval]:
    for step in reversed(steps):
        intervals = step.preimage(intervals)
    return intervals


# Python evaluation -----------------------------------------------------------------------


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


# SQL -------------------------------------------------------------------------------------


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
