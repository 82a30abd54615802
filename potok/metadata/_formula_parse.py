"""Parsing a formula: the character and token checks, the size limits and the whitelist that
turns Python's tree into the validated ``_Node`` tree; anything outside the language is
refused with a :class:`FormulaError` and a position (the language is described in
:mod:`potok.metadata.formulas`)."""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from potok.errors import N_
from potok.metadata._formula_tree import (
    _CONTEXT,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_NODES,
    MAX_SOURCE_CHARS,
    NUMBER_LIMIT,
    TOO_LARGE,
    FormulaError,
    _Aggregate,
    _Binary,
    _Call,
    _Compare,
    _Cond,
    _Const,
    _Field,
    _Logic,
    _Node,
    _Power,
    _Unary,
)

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
_BAD_CHARACTER_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def parse(source: str) -> tuple[_Node, frozenset[str]]:
    """The validated tree of ``source`` and the field keys it reads; raises
    :class:`FormulaError` for anything the language does not allow."""
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
    return body, frozenset(builder.fields)


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
