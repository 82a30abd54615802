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

import ast
import calendar
import heapq
import io
import itertools
import keyword
import re
import tokenize
import unicodedata
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from functools import lru_cache
from typing import Any

from potok.errors import N_, ValidationFailed

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

MAX_SOURCE_CHARS = 2_000
MAX_NODES = 500
MAX_DEPTH = 50
MAX_TEXT_CHARS = 10_000
MAX_EXPONENT = 64
NUMBER_LIMIT = 10**18
ROUND_DIGITS = (-17, 10)
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
_ARITY: dict[str, tuple[int, int | None]] = {
    "round": (1, 2),
    "abs": (1, 1),
    "min": (1, None),
    "max": (1, None),
    "if": (3, 3),
    "coalesce": (1, None),
    "len": (1, 1),
    "upper": (1, 1),
    "lower": (1, 1),
    "trim": (1, 1),
    "concat": (1, None),
    "today": (0, 0),
    "now": (0, 0),
    "days_between": (2, 2),
    "add_days": (2, 2),
    "add_months": (2, 2),
    "year": (1, 1),
    "month": (1, 1),
    "day": (1, 1),
    "sum": (2, 2),
    "count": (1, 2),
    "avg": (2, 2),
}
FUNCTIONS = tuple(sorted(_ARITY))
_AGGREGATES = frozenset({"sum", "count", "avg"})
_KEY = re.compile(r"[a-z][a-z0-9_]*")
_CONTEXT = Context(
    prec=28,
    rounding=ROUND_HALF_EVEN,
    Emin=-99,
    Emax=99,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
_FIELD_KINDS = frozenset(RESULT_KINDS) - {"null"}
_NUMBERS = frozenset({"integer", "decimal"})
_DATES = frozenset({"date", "datetime"})
_ORDERED = frozenset({"integer", "decimal", "text", "date", "datetime"})
_BAD_CHARACTER_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

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


# --- compiling ---------------------------------------------------------------------------


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
    if len(source) > MAX_SOURCE_CHARS:
        raise FormulaError(
            N_("The formula is longer than %(limit)s characters"),
            params={"limit": MAX_SOURCE_CHARS},
        )
    if not source.strip():
        raise FormulaError(N_("The formula is empty"))
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    _check_characters(text)
    wrapped = _prepare(text)
    try:
        tree = ast.parse(wrapped, mode="eval")
    except SyntaxError as exc:
        line, column = _clamp(text, (exc.lineno or 2) - 1, exc.offset or 1)
        raise FormulaError(
            N_("The formula has a syntax error (%(detail)s)"),
            params={"detail": exc.msg},
            line=line,
            column=column,
        ) from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise FormulaError(N_("The formula is too complex")) from None
    _check_size(tree.body, text)
    builder = _Builder(text, wrapped)
    body = builder.build(tree.body)
    _Types(None).infer(body)
    return Formula(source, frozenset(builder.fields), body)


def _check_characters(text: str) -> None:
    for index, char in enumerate(text):
        bad = char not in "\n\t" and unicodedata.category(char) in _BAD_CHARACTER_CATEGORIES
        if bad or char == "\\":
            line = text.count("\n", 0, index) + 1
            column = index - (text.rfind("\n", 0, index) + 1) + 1
            message = (
                N_("Backslashes are not allowed in formulas")
                if char == "\\"
                else N_("The formula contains an invisible or control character (U+%(code)s)")
            )
            raise FormulaError(
                message, params={"code": f"{ord(char):04X}"}, line=line, column=column
            )


def _clamp(text: str, line: int, column: int) -> tuple[int, int]:
    lines = text.split("\n")
    if line < 1:
        return 1, 1
    if line > len(lines):
        return len(lines), len(lines[-1]) + 1
    return line, max(1, min(column, len(lines[line - 1]) + 1))


def _token_error(message: str, token: tokenize.TokenInfo, **params: Any) -> FormulaError:
    row, col = token.start
    return FormulaError(message, params=params, line=row - 1, column=col + 1)


def _starts_operand(prev: tokenize.TokenInfo | None) -> bool:
    """Whether a token after ``prev`` begins an operand (so ``if(`` there is a call)."""
    if prev is None:
        return True
    if prev.type == tokenize.OP:
        return prev.string not in ")]}"
    return keyword.iskeyword(prev.string) and prev.string not in {"True", "False", "None"}


_SKIPPED_TOKENS = {
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.COMMENT,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENDMARKER,
}
_BRACKETS = {"(": ")", "[": "]", "{": "}"}


def _prepare(text: str) -> str:
    """Wrap the source in brackets (so it may span lines), check brackets, names and
    number-word joins token by token, and spell the function ``if(`` as ``IF(``."""
    lines = ["(", *text.split("\n"), ")"]
    last = len(lines)
    opened: list[tokenize.TokenInfo] = []
    prev: tokenize.TokenInfo | None = None
    pending_if: tokenize.TokenInfo | None = None
    calls: list[tuple[int, int]] = []
    empty = True
    try:
        for tok in tokenize.generate_tokens(io.StringIO("\n".join(lines)).readline):
            if tok.type in _SKIPPED_TOKENS:
                continue
            if not 1 < tok.start[0] < last:  # the wrapping brackets
                prev = tok
                continue
            if tok.type == tokenize.ERRORTOKEN and tok.string.isspace():
                continue  # the pure-Python tokenizer's view of a space before a bad character
            empty = False
            if pending_if is not None and tok.string == "(" and tok.type == tokenize.OP:
                calls.append(pending_if.start)
            pending_if = None
            if tok.type == tokenize.ERRORTOKEN:
                if tok.string in {"'", '"'}:
                    raise _token_error(N_("A text in quotes is not closed"), tok)
                raise _token_error(N_("Unexpected character %(char)s"), tok, char=tok.string)
            if tok.type == tokenize.NAME:
                if not tok.string.isascii():
                    raise _token_error(
                        N_("Names use Latin letters, digits and underscores: %(name)s"),
                        tok,
                        name=tok.string,
                    )
                if prev is not None and prev.type == tokenize.NUMBER and prev.end == tok.start:
                    raise _token_error(
                        N_("Put a space between a number and %(word)s"), tok, word=tok.string
                    )
                if tok.string == "if" and _starts_operand(prev):
                    pending_if = tok
            elif tok.type == tokenize.OP and tok.string in _BRACKETS:
                opened.append(tok)
            elif (
                tok.type == tokenize.OP
                and tok.string in ")]}"
                and (not opened or _BRACKETS[opened.pop().string] != tok.string)
            ):
                raise _token_error(
                    N_("The bracket %(bracket)s has no matching opening bracket"),
                    tok,
                    bracket=tok.string,
                )
            prev = tok
    except tokenize.TokenError:
        if opened:
            raise _token_error(
                N_("The bracket %(bracket)s is not closed"), opened[-1], bracket=opened[-1].string
            ) from None
        raise FormulaError(N_("A text in quotes is not closed")) from None
    except SyntaxError as exc:  # the C tokenizer of newer Pythons reports some errors itself
        line, column = _clamp(text, (exc.lineno or 2) - 1, exc.offset or 1)
        raise FormulaError(
            N_("The formula has a syntax error (%(detail)s)"),
            params={"detail": exc.msg},
            line=line,
            column=column,
        ) from None
    if opened:
        raise _token_error(
            N_("The bracket %(bracket)s is not closed"), opened[-1], bracket=opened[-1].string
        )
    if empty:
        raise FormulaError(N_("The formula is empty"))
    for row, col in calls:
        lines[row - 1] = lines[row - 1][:col] + "IF" + lines[row - 1][col + 2 :]
    return "\n".join(lines)


def _check_size(body: ast.expr, text: str) -> None:
    count = 0
    stack: list[tuple[ast.AST, int]] = [(body, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            count += 1
            if depth > MAX_DEPTH or count > MAX_NODES:
                line, column = _clamp(text, getattr(node, "lineno", 2) - 1, 1)
                too_deep = depth > MAX_DEPTH
                raise FormulaError(
                    N_("The formula nests too deeply: more than %(limit)s levels")
                    if too_deep
                    else N_("The formula is too long: more than %(limit)s parts"),
                    params={"limit": MAX_DEPTH if too_deep else MAX_NODES},
                    line=line,
                    column=column,
                )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: N_("Attributes such as x.y are not allowed in formulas"),
    ast.Subscript: N_("Indexing such as x[0] is not allowed in formulas"),
    ast.Lambda: N_("lambda is not allowed in formulas"),
    ast.ListComp: N_("Comprehensions are not allowed in formulas"),
    ast.SetComp: N_("Comprehensions are not allowed in formulas"),
    ast.DictComp: N_("Comprehensions are not allowed in formulas"),
    ast.GeneratorExp: N_("Comprehensions are not allowed in formulas"),
    ast.List: N_("Lists, tuples, sets and dictionaries are not allowed in formulas"),
    ast.Tuple: N_("Lists, tuples, sets and dictionaries are not allowed in formulas"),
    ast.Set: N_("Lists, tuples, sets and dictionaries are not allowed in formulas"),
    ast.Dict: N_("Lists, tuples, sets and dictionaries are not allowed in formulas"),
    ast.JoinedStr: N_("f-strings are not allowed in formulas; use concat()"),
    ast.NamedExpr: N_(":= is not allowed in formulas"),
    ast.Starred: N_("Star arguments are not allowed in formulas"),
}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not"}
_BINARY = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
}
_COMPARE = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}


class _Builder:
    """Checks the Python tree against the whitelist and turns it into ``_Node`` objects."""

    def __init__(self, text: str, wrapped: str) -> None:
        self.text = text
        self.wrapped = wrapped
        self.lines = wrapped.split("\n")
        self.fields: set[str] = set()

    def error(self, node: ast.AST, message: str, **params: Any) -> FormulaError:
        line, column = self.position(node)
        return FormulaError(message, params=params, line=line, column=column)

    def position(self, node: ast.AST) -> tuple[int, int]:
        row = getattr(node, "lineno", 2)
        prefix = self.lines[row - 1].encode()[: getattr(node, "col_offset", 0)]
        return _clamp(self.text, row - 1, len(prefix.decode(errors="ignore")) + 1)

    def build(self, node: ast.AST) -> _Node:
        line, column = self.position(node)
        if isinstance(node, ast.Constant):
            return _Const(line, column, self.constant(node))
        if isinstance(node, ast.Name):
            self.fields.add(self.field_name(node, node.id))
            return _Field(line, column, node.id)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _Unary(line, column, _UNARY[type(node.op)], self.build(node.operand))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return _Power(line, column, self.build(node.left), self.exponent(node.right))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.build(node.left), self.build(node.right)
            return _Binary(line, column, _BINARY[type(node.op)], left, right)
        if isinstance(node, ast.UnaryOp | ast.BinOp):
            raise self.error(node, N_("This operator is not allowed in formulas"))
        if isinstance(node, ast.Compare):
            ops = []
            for op in node.ops:
                if type(op) not in _COMPARE:
                    raise self.error(
                        node, N_("Only == != < <= > >= can compare values in formulas")
                    )
                ops.append(_COMPARE[type(op)])
            operands = tuple(self.build(item) for item in (node.left, *node.comparators))
            return _Compare(line, column, tuple(ops), operands)
        if isinstance(node, ast.BoolOp):
            logic = "and" if isinstance(node.op, ast.And) else "or"
            return _Logic(line, column, logic, tuple(self.build(value) for value in node.values))
        if isinstance(node, ast.IfExp):
            parts = (self.build(node.test), self.build(node.body), self.build(node.orelse))
            return _Cond(line, column, *parts)
        if isinstance(node, ast.Call):
            return self.call(node, line, column)
        message = _REFUSED.get(type(node))
        if message is None:
            message = N_("%(construct)s is not allowed in formulas")
        raise self.error(node, message, construct=type(node).__name__)

    def constant(self, node: ast.Constant) -> Any:
        value = node.value
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int):
            if abs(value) >= NUMBER_LIMIT:
                raise self.error(node, TOO_LARGE)
            return value
        if isinstance(value, float):
            literal = (ast.get_source_segment(self.wrapped, node) or "").replace("_", "")
            try:
                number = Decimal(literal)
            except InvalidOperation:
                number = Decimal(repr(value))
            if not number.is_finite() or number.copy_abs() >= NUMBER_LIMIT:
                raise self.error(node, TOO_LARGE)
            return _CONTEXT.plus(number)
        raise self.error(node, N_("This kind of literal is not allowed in formulas"))

    def field_name(self, node: ast.AST, name: str) -> str:
        if name.startswith("_"):
            raise self.error(node, N_("Names starting with _ are not allowed: %(name)s"), name=name)
        if not _KEY.fullmatch(name):
            raise self.error(
                node,
                N_("Field keys use lowercase Latin letters, digits and underscores: %(name)s"),
                name=name,
            )
        return name

    def exponent(self, node: ast.expr) -> int:
        value = node.value if isinstance(node, ast.Constant) else None
        if type(value) is not int or not 0 <= value <= MAX_EXPONENT:
            raise self.error(
                node,
                N_("After ** write a whole number from 0 to %(limit)s"),
                limit=MAX_EXPONENT,
            )
        return value

    def call(self, node: ast.Call, line: int, column: int) -> _Node:
        if not isinstance(node.func, ast.Name):
            raise self.error(node, N_("Only the formula functions can be called, by name"))
        raw = node.func.id
        if raw.startswith("_"):
            raise self.error(node, N_("Names starting with _ are not allowed: %(name)s"), name=raw)
        name = raw.lower()
        if name not in _ARITY:
            raise self.error(node, N_("Unknown function %(name)s"), name=raw)
        args = list(node.args)
        for item in node.keywords:
            if name != "round" or item.arg != "ndigits" or len(args) != 1:
                raise self.error(item, N_("%(name)s does not take this named argument"), name=name)
            args.append(item.value)
        low, high = _ARITY[name]
        if len(args) < low or (high is not None and len(args) > high):
            expected = str(low) if low == high else f"{low}–{high if high else '…'}"
            raise self.error(
                node,
                N_("%(name)s: arguments expected: %(expected)s, given: %(got)s"),
                name=name,
                expected=expected,
                got=len(args),
            )
        if name in _AGGREGATES:
            return self.aggregate(node, name, args, line, column)
        return _Call(line, column, name, tuple(self.build(arg) for arg in args))

    def aggregate(
        self, node: ast.Call, name: str, args: list[ast.expr], line: int, column: int
    ) -> _Node:
        table = args[0]
        if not isinstance(table, ast.Name):
            raise self.error(
                table, N_("The first argument of %(name)s must be a table field"), name=name
            )
        self.fields.add(self.field_name(table, table.id))
        column_key = None
        if len(args) == 2:
            key = args[1].value if isinstance(args[1], ast.Constant) else None
            if not isinstance(key, str) or not _KEY.fullmatch(key):
                raise self.error(
                    args[1],
                    N_('The column of %(name)s must be a column key in quotes, like "amount"'),
                    name=name,
                )
            column_key = key
        return _Aggregate(line, column, name, table.id, column_key)


# --- evaluating --------------------------------------------------------------------------


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


_TEXT = frozenset({"text"})
_INTEGER = frozenset({"integer"})
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


# --- types -------------------------------------------------------------------------------


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


def infer_type(formula: Formula, field_types: Mapping[str, str]) -> str:
    """The kind of the formula's result (one of :data:`RESULT_KINDS`) given the kinds of
    the fields; raises :class:`FormulaError` for unknown fields and type mismatches."""
    kind = _Types(field_types).infer(formula._body)
    if kind == "table":
        raise FormulaError(N_("The result must be a value, not a table"), line=1, column=1)
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


# --- several computed fields -------------------------------------------------------------


def _graph(formulas: Mapping[str, Formula]) -> dict[str, list[str]]:
    return {key: sorted(f.fields & formulas.keys()) for key, f in formulas.items()}


def _components(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def check_cycles(formulas: Mapping[str, Formula]) -> list[list[str]]:
    """The computed fields that depend on themselves: for every group of fields that refer
    to each other, the shortest loop through its first key, e.g. ``[["a", "b", "a"]]``."""
    graph = _graph(formulas)
    cycles = []
    for component in _components(graph):
        start = component[0]
        if len(component) == 1 and start not in graph[start]:
            continue
        members = set(component)
        came_from: dict[str, str] = {}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if start in graph[node]:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                cycles.append([*reversed(path), start])
                break
            for child in graph[node]:
                if child in members and child not in came_from and child != start:
                    came_from[child] = node
                    queue.append(child)
    return sorted(cycles)


def evaluation_order(formulas: Mapping[str, Formula]) -> list[str]:
    """The computed fields in an order where each comes after the fields it reads (ties in
    key order); raises :class:`FormulaError` when some refer to each other in a loop."""
    graph = _graph(formulas)
    waiting = {key: len(deps) for key, deps in graph.items()}
    readers: dict[str, list[str]] = {key: [] for key in graph}
    for key, deps in graph.items():
        for dep in deps:
            readers[dep].append(key)
    ready = [key for key, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        key = heapq.heappop(ready)
        order.append(key)
        for reader in readers[key]:
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(ready, reader)
    if len(order) < len(graph):
        cycles = check_cycles(formulas)
        message = N_("This computed field depends on itself")
        raise FormulaError(
            N_("Computed fields refer to each other in a loop: %(cycle)s"),
            params={"cycle": " → ".join(cycles[0])},
            field_errors={key: message for cycle in cycles for key in cycle},
        )
    return order


def evaluate_all(
    formulas: Mapping[str, Formula], values: Mapping[str, Any], *, today: date, now: datetime
) -> dict[str, Any]:
    """Compute every computed field in :func:`evaluation_order`, each seeing the results of
    the ones before it; answers ``{key: value}`` for the computed fields only."""
    known = dict(values)
    for key in evaluation_order(formulas):
        known[key] = formulas[key].evaluate(known, today=today, now=now)
    return {key: known[key] for key in formulas}
