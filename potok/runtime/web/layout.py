"""A card laid out as its metadata says: tabs, sections, columns — for reading and for
editing. Fields the layout does not place come last, so nothing a user may fill is lost;
fields hidden for the user's role are left out. A field hidden by a rule is left out of the
card and kept, hidden, in the form, so that the rules can show it as the user types."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from potok.metadata.dictionaries import items_of as dictionary_items_of
from potok.metadata.model import Field, label
from potok.metadata.tables import DictionaryItem
from potok.platform.models import Department, User
from potok.platform.web.context import Ctx
from potok.runtime import values as values_module
from potok.runtime.display import Lookups, show
from potok.runtime.web.common import Place

OTHER = {"en": "Other", "ru": "Прочее"}


def _placement(place: Place) -> list[dict[str, Any]]:
    """[{key, labels, sections: [{key, labels, columns: [[field key]]}]}] with every field."""
    runtime = place.runtime
    tabs: list[dict[str, Any]] = []
    placed: set[str] = set()
    if runtime.layout is not None:
        for tab in runtime.layout.document["tabs"]:
            sections = []
            for section in tab["sections"]:
                columns = [list(column) for column in section["columns"]]
                placed.update(key for column in columns for key in column)
                sections.append(
                    {"key": section["key"], "labels": section.get("labels"), "columns": columns}
                )
            tabs.append({"key": tab["key"], "labels": tab["labels"], "sections": sections})
    rest = [item.key for item in runtime.stream.fields if item.key not in placed]
    if rest:
        section = {"key": "other", "labels": OTHER if tabs else None, "columns": [rest]}
        if tabs:
            tabs[-1]["sections"].append(section)
        else:
            tabs.append({"key": "main", "labels": runtime.stream.labels, "sections": [section]})
    return tabs


def _sections(place: Place, ctx: Ctx, cell: Any, shown: Any) -> list[Any]:
    """Tabs -> sections -> columns -> ``cell(field)`` for the fields ``shown(field)``."""
    language = ctx.t.language
    fields = {item.key: item for item in place.runtime.stream.fields}
    tabs = []
    for tab in _placement(place):
        sections = []
        for section in tab["sections"]:
            columns = []
            for column in section["columns"]:
                cells = [
                    cell(fields[key]) for key in column if key in fields and shown(fields[key])
                ]
                if cells:
                    columns.append(cells)
            if columns:
                labels = section.get("labels")
                sections.append(
                    {
                        "key": section["key"],
                        "label": label(labels, language) if labels else "",
                        "columns": columns,
                    }
                )
        if sections:
            tabs.append(
                {"key": tab["key"], "label": label(tab["labels"], language), "sections": sections}
            )
    return tabs


def table_totals(item: Field, rows: list[dict[str, Any]], names: Lookups) -> dict[str, str]:
    """The column totals a table field's metadata asks for, as text."""
    totals = {}
    for key in item.spec.get("totals", []):
        column = next(c for c in item.columns if c.key == key)
        numbers: list[Decimal] = [
            Decimal(row[key]) for row in rows if isinstance(row.get(key), int | Decimal)
        ]
        totals[key] = show(column, sum(numbers, Decimal(0)), names) if numbers else ""
    return totals


def _table_view(item: Field, rows: list[dict[str, Any]], names: Lookups) -> dict[str, Any]:
    columns = item.columns
    totals = table_totals(item, rows, names)
    return {
        "headers": [column.label(names.t.language) for column in columns],
        "rows": [[show(column, row.get(column.key), names) for column in columns] for row in rows],
        "totals": [totals.get(column.key, "") for column in columns] if totals else None,
    }


def card_sections(place: Place, values: Mapping[str, Any], names: Lookups, ctx: Ctx) -> list[Any]:
    def cell(item: Field) -> dict[str, Any]:
        value = values.get(item.key)
        entry: dict[str, Any] = {
            "key": item.key,
            "label": item.label(ctx.t.language),
            "type": item.type,
        }
        if item.type == "table":
            entry["table"] = _table_view(item, value or [], names)
        elif item.type == "registration_number":
            entry["text"] = ""
        else:
            entry["text"] = show(item, value, names)
            if item.type == "link" and value:
                entry["link"] = (str(item.spec["stream"]), value)
        return entry

    states = values_module.states(place.runtime, values, place.access, ctx.now)
    return _sections(place, ctx, cell, lambda item: states[item.key].visible)


def input_value(item: Field, value: Any, ctx: Ctx) -> Any:
    """A stored value as a form input holds it."""
    if value is None:
        return ""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, datetime):
        return ctx.t.local(value).strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if item.type != "money" else format(value, "f")
    return str(value)


def form_sections(
    place: Place,
    values: Mapping[str, Any],
    names: Lookups,
    ctx: Ctx,
    *,
    typed: Mapping[str, Any] | None = None,
    errors: Mapping[str, Any] | None = None,
) -> list[Any]:
    """The form of a card. A field the server refused shows what the user ``typed`` (the raw
    submission), not the stored value: bad input is corrected, never lost."""
    language = ctx.t.language
    states = values_module.states(place.runtime, values, place.access, ctx.now)
    typed, errors = typed or {}, errors or {}

    def refused(key: str) -> bool:
        return key in typed and any(path == key or path.startswith(key + "[") for path in errors)

    def cell(item: Field) -> dict[str, Any]:
        value = values.get(item.key)
        state = states[item.key]
        # Read-only for everyone (or the role) shows as text; read-only by a rule stays an
        # input that the rules can unlock as the user types (the server ignores it anyway).
        readonly = (
            item.key in place.access.readonly
            or item.flag("readonly")
            or item.type in ("computed", "registration_number", "files")
        )
        hint = item.spec.get("hint") or {}
        entry: dict[str, Any] = {
            "key": item.key,
            "label": item.label(language),
            "type": item.type,
            "widget": item.field_type.widget,
            "required": state.required,
            "readonly": readonly,
            "locked": state.readonly and not readonly,
            "visible": state.visible,
            "hint": hint.get(language) or "",
            "value": input_value(item, value, ctx),
            "text": show(item, value, names) if item.type != "table" else "",
        }
        if refused(item.key) and item.type not in ("table", "link"):
            raw = typed[item.key]
            entry["value"] = [str(v) for v in raw] if isinstance(raw, list) else str(raw or "")
        if item.type == "link" and value:
            entry["link_label"] = names.name("stream", str(item.spec["stream"]), int(value))
        if item.type == "link":
            entry["target"] = str(item.spec["stream"])
        if item.type == "table":
            entry["columns"] = [
                {
                    "key": column.key,
                    "label": column.label(language),
                    "widget": column.field_type.widget,
                    "type": column.type,
                    "computed": (item.key, column.key) in place.runtime.column_formulas,
                    "required": column.flag("required"),
                    "spec": column.spec,
                }
                for column in item.columns
            ]
            totals = table_totals(item, value or [], names)
            entry["totals"] = (
                [totals.get(column.key, "") for column in item.columns] if totals else None
            )
            entry["total_keys"] = list(totals)
            entry["rows"] = [
                {
                    "id": row.get("id", ""),
                    "cells": {
                        column.key: input_value(column, row.get(column.key), ctx)
                        for column in item.columns
                    },
                }
                for row in (value or [])
            ]
            if refused(item.key) and isinstance(typed[item.key], list):
                entry["rows"] = [
                    {
                        "id": str(row.get("id", "")),
                        "cells": {
                            column.key: str(row.get(column.key) or "") for column in item.columns
                        },
                    }
                    for row in typed[item.key]
                    if isinstance(row, Mapping)
                ]
        return entry

    return _sections(place, ctx, cell, lambda item: item.key not in place.access.hidden)


def choices_for(
    ctx: Ctx, place: Place, values: Mapping[str, Any], only: Iterable[str] | None = None
) -> dict[str, list[Any]]:
    """(value, text) options for the card's select fields, table columns included (keys
    ``table.column``); ``only`` limits them to some fields. What the options are made of
    (dictionary items, people, departments) is read once per request, in a query per kind."""
    language = ctx.t.language
    wanted = None if only is None else set(only)
    selects: list[tuple[str, Field, Any]] = []
    for item in place.runtime.stream.fields:
        if wanted is not None and item.key not in wanted:
            continue
        if item.type == "table":
            rows = values.get(item.key) or []
            for column in item.columns:
                current = [row.get(column.key) for row in rows if isinstance(row, Mapping)]
                selects.append((f"{item.key}.{column.key}", column, current))
        else:
            selects.append((item.key, item, values.get(item.key)))
    source = _ChoiceSource.of(ctx)
    source.load_dictionaries(
        str(item.spec["dictionary"])
        for _, item, _ in selects
        if item.field_type.refers_to == "dictionary"
    )
    choices: dict[str, list[Any]] = {}
    for key, item, current in selects:
        current_ids = {
            int(v)
            for v in (current if isinstance(current, list) else [current])
            if isinstance(v, int) or (isinstance(v, str) and v.isdigit())
        }
        found: list[Any] = []
        if item.type == "choice":
            found = [
                (option["value"], label(option["labels"], language))
                for option in item.spec.get("options", [])
            ]
        elif item.field_type.refers_to == "dictionary":
            depth: dict[int | None, int] = {None: -1}
            for entry in source.dictionaries[str(item.spec["dictionary"])]:
                depth[entry.id] = depth.get(entry.parent_id, -1) + 1
                if entry.active or entry.id in current_ids:
                    prefix = "— " * depth[entry.id]
                    found.append((str(entry.id), prefix + label(entry.labels, language)))
        elif item.type == "user":
            found = [
                (str(user_id), name)
                for user_id, name, active in source.users()
                if active or user_id in current_ids
            ]
        elif item.type == "department":
            found = source.departments()
        if found:
            choices[key] = found
    return choices


class _ChoiceSource:
    """The request's dictionary items, people and departments for select fields."""

    KEY = "potok.runtime.choices"

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dictionaries: dict[str, list[DictionaryItem]] = {}
        self._users: list[tuple[int, str, bool]] | None = None
        self._departments: list[Any] | None = None

    @classmethod
    def of(cls, ctx: Ctx) -> _ChoiceSource:
        source = ctx.db.info.get(cls.KEY)
        if not isinstance(source, cls):
            source = ctx.db.info[cls.KEY] = cls(ctx.db)
        return source

    def load_dictionaries(self, keys: Iterable[str]) -> None:
        missing = set(keys) - set(self.dictionaries)
        if missing:
            self.dictionaries.update(dictionary_items_of(self.session, missing))

    def users(self) -> list[tuple[int, str, bool]]:
        if self._users is None:
            rows = self.session.execute(
                select(User.id, User.full_name, User.username, User.is_active)
                .where(User.is_system.is_(False))
                .order_by(User.full_name)
            )
            self._users = [(row[0], row[1] or row[2], bool(row[3])) for row in rows]
        return self._users

    def departments(self) -> list[Any]:
        if self._departments is None:
            self._departments = [
                (str(row[0]), row[1])
                for row in self.session.execute(
                    select(Department.id, Department.name).order_by(Department.name)
                )
            ]
        return self._departments


def local_to_utc(text: str, ctx: Ctx) -> str:
    """A ``datetime-local`` input (the user's time zone) as an aware ISO string."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ctx.t.tz)
    return moment.astimezone(UTC).isoformat()
