"""Registration numbers: ``CT-2026-00042`` from a stream's template.

The template holds ``{counter}`` (``{counter:5}`` pads it to five digits) and optionally
``{year}``, ``{yy}`` and ``{month}``. With ``"reset": "yearly"`` each year counts from 1.

Numbers are gap-free and unique under concurrent registration: the counter is incremented
by one atomic upsert in the registering transaction, which holds the counter row's lock
until it commits — a rolled-back registration gives its number back. On SQLite the write
transaction itself is exclusive (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from potok.metadata.tables import NumberCounter

_PLACEHOLDER = re.compile(r"\{([a-z]+)(?::(\d))?\}")


def format_number(template: str, counter: int, moment: datetime) -> str:
    def fill(match: re.Match[str]) -> str:
        name, width = match.group(1), match.group(2)
        if name == "counter":
            return str(counter).zfill(int(width)) if width else str(counter)
        if name == "year":
            return f"{moment.year:04d}"
        if name == "yy":
            return f"{moment.year % 100:02d}"
        if name == "month":
            return f"{moment.month:02d}"
        return match.group(0)

    return _PLACEHOLDER.sub(fill, template)


def period_of(numbering: Mapping[str, Any], moment: datetime) -> str:
    return str(moment.year) if numbering.get("reset") == "yearly" else ""


def next_counter(session: Session, stream: str, period: str) -> int:
    """Take the next counter value of ``stream`` in ``period`` (in the caller's transaction)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = (
        insert(NumberCounter)
        .values(stream=stream, period=period, value=1)
        .on_conflict_do_update(
            index_elements=[NumberCounter.stream, NumberCounter.period],
            set_={"value": NumberCounter.value + 1},
        )
        .returning(NumberCounter.value)
    )
    return int(session.execute(upsert).scalar_one())


def next_number(
    session: Session, stream: str, numbering: Mapping[str, Any], moment: datetime
) -> tuple[str, int]:
    """The next registration number of ``stream`` and the year it belongs to."""
    counter = next_counter(session, stream, period_of(numbering, moment))
    template = str(numbering.get("template") or "{counter}")
    return format_number(template, counter, moment), moment.year
