"""Values as people read them: dictionary items, users, departments and linked documents by
name, numbers, money and dates in the reader's language.

:class:`Lookups` loads the names a page needs in a few batched queries (one per target),
never one query per cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency, format_decimal, get_currency_symbol
from sqlalchemy import select
from sqlalchemy.orm import Session

from potok.errors import N_
from potok.metadata.model import Field, label
from potok.metadata.tables import DictionaryItem
from potok.platform.i18n import Translator
from potok.platform.models import Department, User
from potok.runtime.streams import StreamRuntime, Streams


class Lookups:
    """Names of referenced things, for one page, in one language."""

    def __init__(self, session: Session, streams: Streams, translator: Translator) -> None:
        self.session = session
        self.streams = streams
        self.t = translator
        self._wanted: dict[tuple[str, str], set[int]] = {}
        self._names: dict[tuple[str, str, int], str] = {}

    def want(self, item: Field, value: Any) -> None:
        kind = item.field_type.refers_to
        if kind is None or kind == "attachment" or value in (None, []):
            if item.type == "table":
                for row in value or []:
                    for column in item.columns:
                        self.want(column, row.get(column.key))
            return
        target = str(item.spec.get("dictionary") or item.spec.get("stream") or "")
        ids = value if isinstance(value, list) else [value]
        self._wanted.setdefault((kind, target), set()).update(int(i) for i in ids)

    def want_document(self, runtime: StreamRuntime, values: Mapping[str, Any]) -> None:
        for item in runtime.stream.fields:
            if item.key in values:
                self.want(item, values[item.key])

    def _load(self) -> None:
        wanted, self._wanted = self._wanted, {}
        # One query per kind of thing: all dictionaries' items together, all users, ...
        missing: dict[str, dict[str, list[int]]] = {}
        for (kind, target), ids in wanted.items():
            absent = [i for i in ids if (kind, target, i) not in self._names]
            if absent:
                missing.setdefault(kind, {})[target] = absent
        for kind, targets in missing.items():
            if kind == "dictionary":
                found = self._dictionary_items(targets)
                for target, absent in targets.items():
                    self._remember(kind, target, absent, found)
            elif kind in ("user", "department"):
                everyone = sorted({i for absent in targets.values() for i in absent})
                found = self._people(kind, everyone)
                for target, absent in targets.items():
                    self._remember(kind, target, absent, found)
            else:
                for target, absent in targets.items():
                    self._remember(kind, target, absent, self._titles(target, absent))

    def _remember(self, kind: str, target: str, ids: list[int], found: dict[int, str]) -> None:
        for key in ids:
            self._names[(kind, target, key)] = found.get(key, f"#{key}")

    def _dictionary_items(self, targets: dict[str, list[int]]) -> dict[int, str]:
        ids = sorted({i for absent in targets.values() for i in absent})
        rows = self.session.execute(
            select(DictionaryItem.id, DictionaryItem.labels).where(DictionaryItem.id.in_(ids))
        )
        return {row[0]: label(row[1], self.t.language) for row in rows}

    def _people(self, kind: str, ids: list[int]) -> dict[int, str]:
        if kind == "user":
            rows = self.session.execute(
                select(User.id, User.full_name, User.username).where(User.id.in_(ids))
            )
            return {row[0]: row[1] or row[2] for row in rows}
        rows = self.session.execute(
            select(Department.id, Department.name).where(Department.id.in_(ids))
        )
        return {row[0]: row[1] for row in rows}

    def _titles(self, stream: str, ids: list[int]) -> dict[int, str]:
        try:
            runtime = self.streams.get(self.session, stream)
        except LookupError:
            return {}
        return titles(self.session, runtime, ids)

    def name(self, kind: str, target: str, value: int) -> str:
        if (kind, target, value) not in self._names:
            self._wanted.setdefault((kind, target), set()).add(value)
            self._load()
        return self._names[(kind, target, value)]

    def prefetch(self) -> None:
        self._load()


def titles(session: Session, runtime: StreamRuntime, ids: Iterable[int]) -> dict[int, str]:
    """How documents are named in links: the title field, with the registration number."""
    table = runtime.compiled.table
    title_key = runtime.stream.title_field
    title = runtime.compiled.columns.get(title_key) if title_key else None
    columns = [table.c.id, table.c.reg_number] + ([title] if title is not None else [])
    names = {}
    for row in session.execute(select(*columns).where(table.c.id.in_(list(ids)))):
        parts = [str(part) for part in row[1:] if part]
        names[row[0]] = " · ".join(parts) or f"#{row[0]}"
    return names


def _number(value: Decimal | int, translator: Translator, places: int | None = None) -> str:
    if places is not None and isinstance(value, Decimal):
        value = value.quantize(Decimal(10) ** -places)
    return format_decimal(value, locale=translator.locale, decimal_quantization=False)


def show(item: Field, value: Any, lookups: Lookups) -> str:
    """One value as text for a card or a list cell ("" when empty)."""
    t = lookups.t
    if value is None or value == [] or value == "":
        return ""
    kind = item.field_type
    if item.type == "computed":
        result = str(item.spec.get("result", "decimal"))
        return show(
            Field(item.key, result, item.labels, {**item.spec, "type": result}), value, lookups
        )
    if kind.refers_to in ("dictionary", "user", "department", "stream"):
        target = str(item.spec.get("dictionary") or item.spec.get("stream") or "")
        ids = value if isinstance(value, list) else [value]
        return ", ".join(lookups.name(kind.refers_to, target, int(i)) for i in ids)
    if item.type == "money":
        return money(value, str(item.spec.get("currency", "RUB")), t)
    if item.type == "percent":
        return _number(value.normalize() if isinstance(value, Decimal) else value, t) + " %"
    if item.type == "decimal":
        places = item.spec.get("decimals")
        normal = value.normalize() if isinstance(value, Decimal) and places is None else value
        return _number(normal, t, places)
    if item.type in ("integer", "scale"):
        return _number(value, t) if item.type == "integer" else f"{value:+d}" if value else "0"
    if item.type == "boolean":
        return t.gettext(N_("Yes")) if value else t.gettext(N_("No"))
    if isinstance(value, datetime):
        return t.datetime(value, "short")
    if isinstance(value, date):
        return t.date(value, "medium")
    if item.type == "choice":
        for option in item.spec.get("options", []):
            if option["value"] == value:
                return label(option["labels"], t.language)
    return str(value)


def money(value: Any, currency: str, t: Translator) -> str:
    """An amount in the reader's language; a currency with no symbol there is written by its
    code, apart from the number ("RUB 1,234.50", not "RUB1,234.50")."""
    pattern = t.locale.currency_formats["standard"].pattern
    if get_currency_symbol(currency, locale=t.locale) == currency and pattern.startswith("¤"):
        pattern = "¤\xa0" + pattern[1:].lstrip("\xa0 ")
        return format_currency(value, currency, format=pattern, locale=t.locale)
    return format_currency(value, currency, locale=t.locale)
