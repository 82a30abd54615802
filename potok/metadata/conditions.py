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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.sql import ColumnElement

from potok.errors import N_, ValidationFailed
from potok.metadata._conditions_check import INT64_MAX as INT64_MAX
from potok.metadata._conditions_check import INT64_MIN as INT64_MIN
from potok.metadata._conditions_check import MAX_DEPTH as MAX_DEPTH
from potok.metadata._conditions_check import MAX_DIGITS as MAX_DIGITS
from potok.metadata._conditions_check import MAX_LIST as MAX_LIST
from potok.metadata._conditions_check import MAX_LIST_ITEMS as MAX_LIST_ITEMS
from potok.metadata._conditions_check import MAX_NODES as MAX_NODES
from potok.metadata._conditions_check import MAX_NUMBER as MAX_NUMBER
from potok.metadata._conditions_check import MAX_TEXT as MAX_TEXT
from potok.metadata._conditions_check import Problem, _check
from potok.metadata._conditions_eval import _Evaluator
from potok.metadata._conditions_sql import ColumnResolver, _SqlCompiler
from potok.metadata._conditions_text import _fold_tables as _fold_tables
from potok.metadata._conditions_text import fold_text
from potok.metadata._conditions_tree import _CONDITION_OPS as _CONDITION_OPS
from potok.metadata._conditions_tree import _OPERAND_OPS as _OPERAND_OPS
from potok.metadata._conditions_tree import FIELD_KINDS, _Node

# The implementation lives in the private _conditions_* modules: _tree (the checked form),
# _check, _dates, _text (case folding), _eval (Python) and _sql. The `name as name` imports
# above keep the limits and what the tests inspect reachable from here.

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


# Errors ----------------------------------------------------------------------------------


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


# Checking, evaluating, compiling ---------------------------------------------------------


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
