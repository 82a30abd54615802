"""Case-insensitive text in conditions: how a character folds, and the searched text as a
pattern of character classes — GLOB on SQLite, a regular expression on PostgreSQL — bound by a
type decorator for the dialect at hand (see :mod:`potok.metadata.conditions`)."""

from __future__ import annotations

import sys
from array import array
from functools import cache
from typing import Any

from sqlalchemy import Boolean, String
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


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
