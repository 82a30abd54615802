"""Computed fields: a small formula language that business users type in the designer and
the server evaluates safely (``total = round(price * quantity * (1 + vat / 100), 2)``).

The language
------------
A formula is one expression in Python-like syntax. :func:`compile_formula` parses it with
``ast.parse(mode="eval")`` and accepts only this whitelist; everything else (attributes,
indexing, lambdas, comprehensions, lists, f-strings, ``:=``, ``yield``, ``await``, star
arguments, backslashes, names starting with ``_``) is refused with a message and a position:

* literals: whole numbers (integers), numbers with a point or exponent (read from their text as
  ``Decimal``, never ``float``, so ``0.1 + 0.2 == 0.3``), text in quotes, ``True``, ``False``
  and ``None`` (empty, "null");
* field keys of the card (lowercase Latin letters, digits and ``_``);
* ``+ - * / // %``, ``**`` with a whole-number literal exponent from 0 to 64, unary ``+ -``;
* comparisons ``== != < <= > >=`` (chains allowed), ``and``, ``or``, ``not``, and
  ``a if condition else b``;
* calls of the functions in :data:`FUNCTIONS` by name (case does not matter, so ``IF`` and
  ``Round`` work too; ``if(c, a, b)`` is allowed although ``if`` is a Python keyword):
  ``round(x, ndigits=0)`` (half away from zero, as accountants round; without ``ndigits`` the
  result is an integer), ``abs``, ``min``, ``max``, ``if(c, a, b)``, ``coalesce(a, b, ...)``,
  ``len``, ``upper``, ``lower``, ``trim``, ``concat(...)``, ``today()``, ``now()``,
  ``days_between(d1, d2)`` (``d2 - d1`` in calendar days), ``add_days(d, n)``,
  ``add_months(d, n)`` (the day is clamped to the month's end: 31 Jan + 1 month = 28/29 Feb),
  ``year``, ``month``, ``day``, and the table aggregates ``sum(table, "column")``,
  ``avg(table, "column")``, ``count(table)``, ``count(table, "column")`` (rows where the
  column is filled), whose first argument is a table field and second a column key in quotes.

Values and rules
----------------
Types are text, integer, decimal, date, datetime, boolean and null; an integer is accepted
wherever a decimal is. ``+`` joins two texts; ``date ± integer`` shifts by days and
``date - date`` gives days. Arithmetic with ``None`` gives ``None`` (``None + 1`` is ``None``),
as in spreadsheets and SQL; so do ``< <= > >=`` and ``not``. ``==`` and ``!=`` treat ``None`` as
a value (``x == None`` tests for an empty field). ``and``/``or`` use SQL's three-valued logic;
a ``None`` condition chooses the ``else`` branch. ``min``/``max``/``sum``/``avg``/``count``
skip ``None``; ``concat`` writes ``None`` as nothing. Division (``/ // %``) by zero gives
``None`` instead of failing. ``/`` always gives a decimal, ``//`` an integer (floor) and
``%`` has the divisor's sign. Conditions must be booleans: ``if(price, ...)`` is a type error.

Limits: at most 2,000 characters, 500 expression nodes and 50 levels of nesting (a chain such
as ``a + b + c`` nests one level per operator); text results at most 10,000 characters; numbers
are computed with 28 significant digits and must stay below 10^18 in magnitude. Breaking a
limit, or combining values of the wrong types at run time, raises :class:`FormulaError`, never
a bare Python exception. Literal type errors (``"a" * 3``) are refused when compiling.

Field kinds for :func:`infer_type` are ``text``, ``integer``, ``decimal``, ``date``,
``datetime`` and ``boolean`` (the aliases in :data:`KIND_ALIASES` are accepted too) and, for a
table field, ``table:<column>:<kind>,<column>:<kind>,...`` as built by :func:`table_kind`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from potok.errors import N_
from potok.metadata._formula_eval import _Evaluator
from potok.metadata._formula_graph import dependency_order, find_cycles
from potok.metadata._formula_parse import FUNCTIONS, parse
from potok.metadata._formula_parse import MAX_SOURCE_CHARS as MAX_SOURCE_CHARS
from potok.metadata._formula_tree import DATE_OUT_OF_RANGE as DATE_OUT_OF_RANGE
from potok.metadata._formula_tree import MAX_DEPTH as MAX_DEPTH
from potok.metadata._formula_tree import MAX_EXPONENT as MAX_EXPONENT
from potok.metadata._formula_tree import MAX_NODES as MAX_NODES
from potok.metadata._formula_tree import (
    MAX_TEXT_CHARS,
    TEXT_TOO_LONG,
    TOO_LARGE,
    FormulaError,
    _Node,
)
from potok.metadata._formula_tree import MISMATCH as MISMATCH
from potok.metadata._formula_tree import NOT_A_CONDITION as NOT_A_CONDITION
from potok.metadata._formula_tree import NUMBER_LIMIT as NUMBER_LIMIT
from potok.metadata._formula_tree import ROUND_DIGITS as ROUND_DIGITS
from potok.metadata._formula_tree import WRONG_ARGUMENT as WRONG_ARGUMENT
from potok.metadata._formula_types import KIND_ALIASES, RESULT_KINDS, _Types, table_kind

__all__ = [
    "FUNCTIONS",
    "KIND_ALIASES",
    "RESULT_KINDS",
    "Formula",
    "FormulaError",
    "check_cycles",
    "compile_formula",
    "evaluate_all",
    "evaluation_order",
    "infer_type",
    "table_kind",
]


@dataclass(frozen=True, eq=False)
class Formula:
    """A compiled formula: ``source`` as typed, ``fields`` the field keys it reads."""

    source: str
    fields: frozenset[str]
    _body: _Node = field(repr=False)

    def evaluate(self, values: Mapping[str, Any], *, today: date, now: datetime) -> Any:
        """The formula's value for a card; a missing key counts as ``None``."""
        try:
            result = _Evaluator(values, today, now).eval(self._body)
        except RecursionError as exc:
            raise FormulaError(N_("The formula is too complex to compute")) from exc
        except ArithmeticError as exc:  # decimal signals and date overflow, as a last resort
            raise FormulaError(TOO_LARGE) from exc
        if isinstance(result, list):
            raise FormulaError(N_("The result must be a value, not a table"))
        if isinstance(result, str) and len(result) > MAX_TEXT_CHARS:
            raise FormulaError(TEXT_TOO_LONG, params={"limit": MAX_TEXT_CHARS})
        return result


def compile_formula(source: str) -> Formula:
    """Parse and check ``source``; raise :class:`FormulaError` for anything not allowed.
    Compiled formulas are immutable and cached by source."""
    if not isinstance(source, str):
        raise FormulaError(N_("A formula must be text"))
    return _compile(str.__str__(source))


@lru_cache(maxsize=2048)
def _compile(source: str) -> Formula:
    body, fields = parse(source)
    _Types(None).infer(body)
    return Formula(source, fields, body)


def infer_type(formula: Formula, field_types: Mapping[str, str]) -> str:
    """The kind of the formula's result (one of :data:`RESULT_KINDS`) given the kinds of
    the fields; raises :class:`FormulaError` for unknown fields and type mismatches."""
    kind = _Types(field_types).infer(formula._body)
    if kind == "table":
        raise FormulaError(N_("The result must be a value, not a table"), line=1, column=1)
    return kind


# --- several computed fields -------------------------------------------------------------


def _reads(formulas: Mapping[str, Formula]) -> dict[str, frozenset[str]]:
    return {key: formula.fields for key, formula in formulas.items()}


def check_cycles(formulas: Mapping[str, Formula]) -> list[list[str]]:
    """The computed fields that depend on themselves: for every group of fields that refer
    to each other, the shortest loop through its first key, e.g. ``[["a", "b", "a"]]``."""
    return find_cycles(_reads(formulas))


def evaluation_order(formulas: Mapping[str, Formula]) -> list[str]:
    """The computed fields in an order where each comes after the fields it reads (ties in
    key order); raises :class:`FormulaError` when some refer to each other in a loop."""
    return dependency_order(_reads(formulas))


def evaluate_all(
    formulas: Mapping[str, Formula], values: Mapping[str, Any], *, today: date, now: datetime
) -> dict[str, Any]:
    """Compute every computed field in :func:`evaluation_order`, each seeing the results of
    the ones before it; answers ``{key: value}`` for the computed fields only."""
    known = dict(values)
    for key in evaluation_order(formulas):
        known[key] = formulas[key].evaluate(known, today=today, now=now)
    return {key: known[key] for key in formulas}
