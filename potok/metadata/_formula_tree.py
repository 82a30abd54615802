"""The formula language's shared vocabulary: its limits, the decimal context, the kinds of
values, :class:`FormulaError` with the messages that several stages raise, and the validated
tree the parser builds and the type checker and the evaluator walk (the language is described
in :mod:`potok.metadata.formulas`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from potok.errors import N_, ValidationFailed

MAX_SOURCE_CHARS = 2_000
MAX_NODES = 500
MAX_DEPTH = 50
MAX_TEXT_CHARS = 10_000
MAX_EXPONENT = 64
NUMBER_LIMIT = 10**18
ROUND_DIGITS = (-17, 10)
_CONTEXT = Context(
    prec=28,
    rounding=ROUND_HALF_EVEN,
    Emin=-99,
    Emax=99,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
_NUMBERS = frozenset({"integer", "decimal"})
_DATES = frozenset({"date", "datetime"})
_ORDERED = frozenset({"integer", "decimal", "text", "date", "datetime"})
_TEXT = frozenset({"text"})
_INTEGER = frozenset({"integer"})

MISMATCH = N_("Type mismatch: %(operation)s cannot use %(left)s and %(right)s")
WRONG_ARGUMENT = N_("Type mismatch: %(function)s cannot use %(kind)s")
NOT_A_CONDITION = N_("Type mismatch: a condition must be True or False, not %(kind)s")
TOO_LARGE = N_("A number is too large: formulas work with numbers below 10^18")
TEXT_TOO_LONG = N_("The text is longer than %(limit)s characters")
DATE_OUT_OF_RANGE = N_("The date is out of range")


class FormulaError(ValidationFailed):
    """A formula that cannot be compiled, typed or computed; ``line``/``column`` (1-based)
    point into the source when known."""

    title = N_("The formula cannot be used")
    message = N_("The formula is not valid.")

    def __init__(
        self,
        message: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        field_errors: Mapping[str, str] | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message, params=params, field_errors=field_errors)
        self.line = line
        self.column = column


# --- the validated tree ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class _Const(_Node):
    value: Any


@dataclass(frozen=True, slots=True)
class _Field(_Node):
    name: str


@dataclass(frozen=True, slots=True)
class _Unary(_Node):
    op: str
    operand: _Node


@dataclass(frozen=True, slots=True)
class _Binary(_Node):
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True, slots=True)
class _Power(_Node):
    base: _Node
    exponent: int


@dataclass(frozen=True, slots=True)
class _Compare(_Node):
    ops: tuple[str, ...]
    operands: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Logic(_Node):
    op: str
    values: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Cond(_Node):
    test: _Node
    body: _Node
    orelse: _Node


@dataclass(frozen=True, slots=True)
class _Call(_Node):
    name: str
    args: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Aggregate(_Node):
    name: str
    table: str
    key: str | None  # the column


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    kind = type(value)
    if kind is bool:
        return "boolean"
    if kind is int:
        return "integer"
    if kind is Decimal:
        return "decimal"
    if kind is str:
        return "text"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    if isinstance(value, list):
        return "table"
    return "unknown"
