"""The published streams, compiled for the runtime and kept until metadata changes.

Every request asks :meth:`Streams.refresh` (one cheap query: the newest published version);
when something was published — by this process or another — the streams are compiled again.
Each :class:`StreamRuntime` holds the stream, its SQLAlchemy tables, its prepared conditions
and compiled formulas in evaluation order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from potok.errors import NotFound
from potok.metadata import conditions, store
from potok.metadata.compiler import CompiledStream
from potok.metadata.formulas import Formula, compile_formula, evaluation_order
from potok.metadata.model import Field, Layout, Stream, read_layout
from potok.metadata.schema_changes import Workspace
from potok.metadata.tables import MetaVersion
from potok.metadata.validate import field_kinds

RULES = ("visible_when", "required_when", "readonly_when")
T = TypeVar("T")


@dataclass(frozen=True)
class StreamRuntime:
    stream: Stream
    compiled: CompiledStream
    layout: Layout | None
    kinds: Mapping[str, str]
    rules: Mapping[tuple[str, str], conditions.Condition]  # (field, rule) -> condition
    computed: Mapping[str, Formula]
    formula_order: tuple[str, ...]
    column_formulas: Mapping[tuple[str, str], Formula] = field(default_factory=dict)
    # Statements over this stream's tables built once (see statement()); they go with the
    # runtime when metadata changes.
    _statements: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        return self.stream.key

    def statement(self, name: str, build: Callable[[], T]) -> T:
        """The statement ``name`` over this stream's tables, built by ``build`` on first use
        (statements take bound parameters; building one costs more than running it)."""
        try:
            return cast(T, self._statements[name])
        except KeyError:
            built = self._statements[name] = build()
            return built

    def fields(self) -> tuple[Field, ...]:
        return self.stream.fields

    def access(self) -> Mapping[str, Any]:
        return self.stream.document.get("access") or {}


def build(stream: Stream, compiled: CompiledStream, layout: Layout | None) -> StreamRuntime:
    kinds = field_kinds(stream.document)
    rules = {
        (item.key, rule): conditions.prepare(item.spec[rule], kinds)
        for item in stream.fields
        for rule in RULES
        if rule in item.spec
    }
    compiled_formulas = {
        item.key: compile_formula(str(item.spec["formula"]))
        for item in stream.fields
        if item.type == "computed"
    }
    column_formulas = {
        (item.key, column.key): compile_formula(str(column.spec["formula"]))
        for item in stream.fields
        if item.type == "table"
        for column in item.columns
        if "formula" in column.spec
    }
    return StreamRuntime(
        stream=stream,
        compiled=compiled,
        layout=layout,
        kinds=kinds,
        rules=rules,
        computed=compiled_formulas,
        formula_order=tuple(evaluation_order(compiled_formulas)),
        column_formulas=column_formulas,
    )


_CHECKED = "potok.runtime.streams_checked"


@event.listens_for(Session, "after_flush")
def _published(session: Session, _context: Any) -> None:
    """A session that publishes looks at the published streams again."""
    if any(isinstance(item, MetaVersion) for item in session.new):
        session.info.pop(_CHECKED, None)


_STAMP = select(func.max(MetaVersion.id))


class Streams:
    """The runtime view of every published stream (one per app, shared by threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: int | None = -1
        self._streams: dict[str, StreamRuntime] = {}

    def refresh(self, session: Session) -> None:
        """Recompile when something was published since the last look. A session looks once:
        a request sees one version of its streams, and asks the database only once."""
        if session.info.get(_CHECKED) is self:
            return
        stamp = session.scalar(_STAMP)
        session.info[_CHECKED] = self
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            documents = store.published(session)
            streams = {key: body for (kind, key), body in documents.items() if kind == "stream"}
            _, compiled = Workspace(session, datetime.min, streams).compile()
            layouts = {
                body["stream"]: read_layout(body)
                for (kind, _), body in documents.items()
                if kind == "layout"
            }
            self._streams = {
                key: build(item.stream, item, layouts.get(key))
                for key, item in compiled.items()
                if key in streams
            }
            self._stamp = stamp

    def get(self, session: Session, key: str) -> StreamRuntime:
        self.refresh(session)
        try:
            return self._streams[key]
        except KeyError:
            raise NotFound() from None

    def all(self, session: Session) -> list[StreamRuntime]:
        self.refresh(session)
        return sorted(self._streams.values(), key=lambda item: item.key)
