"""List filters: from the list's query parameters to one condition of the condition language.

``f.<field>=<value>`` keeps documents whose field equals the value (the id for dictionary,
user, department and link fields; "contains" for text); several values of one field mean any
of them. Numbers and dates also take ``f.<field>.from=`` and ``f.<field>.to=`` (both ends
included; a date range over a date-time field covers whole days in the user's time zone).
Different fields combine with "and". ``cond=`` adds a condition written in the condition
language itself (JSON).

Only fields flagged ``filterable`` that the user may see can be filtered on. Whatever is
wrong (an unknown field, a value that does not parse, an id that is not a number) is reported
as a :class:`Problem` and left out, never raised: a saved filter that names a removed field
still opens the list, with a message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from potok.errors import N_
from potok.metadata import conditions
from potok.metadata.model import Field
from potok.metadata.types import FieldValueError, field_type
from potok.runtime.permissions import Access
from potok.runtime.streams import StreamRuntime

PREFIX = "f."
MAX_ID = 2**31 - 1
MAX_VALUES = 50  # values of one field
MAX_TEXT = 200
MAX_CONDITION = 4000  # characters of ``cond=``
GROUP_KINDS = ("ref", "multi")
RANGE_KINDS = ("integer", "decimal", "date", "datetime")
# Field types a list may be filtered on, by the kind of their values.
FILTER_KINDS = ("text", "choice", "integer", "decimal", "date", "datetime", "boolean", "ref")
FILTER_KINDS_MULTI = ("multi",)


@dataclass(frozen=True)
class Problem:
    """Something wrong with one filter: ``key`` the field (None for ``cond``), ``message`` an
    English message id, ``params`` for it."""

    key: str | None
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Filters:
    """The filters of one request, checked: what the form shows and the condition to apply."""

    values: dict[str, list[str]] = field(default_factory=dict)  # equality, as given
    ranges: dict[str, tuple[str, str]] = field(default_factory=dict)  # (from, to), as given
    advanced: str = ""
    parts: dict[str, Any] = field(default_factory=dict)  # field key ("" for cond) -> condition
    problems: list[Problem] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self.values or self.ranges or self.advanced)

    def condition(self, *, without: str | None = None) -> Any:
        """The filters as one condition (None when there are none), leaving out ``without``'s
        own filter (a group panel counts a field's values under the other filters)."""
        chosen = [part for key, part in self.parts.items() if key != without]
        if not chosen:
            return None
        return chosen[0] if len(chosen) == 1 else {"and": chosen}

    def pairs(self, *, without: str | None = None) -> list[tuple[str, str]]:
        """The filters as query parameters, in a stable order."""
        found: list[tuple[str, str]] = []
        for key, values in self.values.items():
            if key != without:
                found += [(PREFIX + key, value) for value in values]
        for key, (low, high) in self.ranges.items():
            if key == without:
                continue
            if low:
                found.append((f"{PREFIX}{key}.from", low))
            if high:
                found.append((f"{PREFIX}{key}.to", high))
        if self.advanced:
            found.append(("cond", self.advanced))
        return found


def filterable(runtime: StreamRuntime, access: Access) -> list[Field]:
    """The fields the user may filter on, in the stream's order."""
    return [
        item
        for item in runtime.stream.fields
        if item.flag("filterable")
        and item.key not in access.hidden
        and runtime.kinds.get(item.key) in FILTER_KINDS + FILTER_KINDS_MULTI
        and (item.key in runtime.compiled.columns or item.key in runtime.compiled.parts)
    ]


def groupable(runtime: StreamRuntime, access: Access) -> list[Field]:
    """Filterable fields whose values are ids (dictionary items, users, departments, linked
    documents): the list can be grouped by them."""
    return [
        item
        for item in filterable(runtime, access)
        if runtime.kinds.get(item.key) in GROUP_KINDS
        and item.field_type.refers_to in ("dictionary", "user", "department", "stream")
    ]


def _ids(values: list[str]) -> list[int] | None:
    found = []
    for value in values:
        text = value.strip()
        if not text.isdigit() or not 0 < int(text) <= MAX_ID:
            return None
        found.append(int(text))
    return found


def _number(item: Field, raw: str) -> Any:
    spec = item.spec
    if item.type == "computed":
        result = str(spec.get("result", "decimal"))
        return field_type(result).parse(spec, raw)
    return item.field_type.parse(spec, raw)


def _day(raw: str) -> date:
    """A day of a date filter; only the years a date field may hold (a day next to the ends of
    the calendar would overflow when a range over a date-time adds one)."""
    date_type = field_type("date")
    parsed = date_type.parse({}, raw)
    if not isinstance(parsed, date):
        raise FieldValueError(N_("Enter a date like 2026-03-31 or 31.03.2026."))
    date_type.check({}, parsed)
    return parsed


def _utc_midnight(day: date, zone: tzinfo) -> str:
    local = datetime.combine(day, time(), tzinfo=zone)
    return local.astimezone(UTC).replace(tzinfo=None).isoformat()


def _literal(kind: str, item: Field, raw: str) -> Any:
    """One value of a number or date filter, as a condition literal."""
    if kind in ("integer", "decimal"):
        return _number(item, raw)
    return _day(raw).isoformat()


def _range(kind: str, var: dict[str, str], item: Field, low: str, high: str, zone: tzinfo) -> Any:
    parts: list[Any] = []
    if kind == "datetime":
        if low:
            parts.append({">=": [var, _utc_midnight(_day(low), zone)]})
        if high:
            parts.append({"<": [var, _utc_midnight(_day(high) + timedelta(days=1), zone)]})
    else:
        if low:
            parts.append({">=": [var, _literal(kind, item, low)]})
        if high:
            parts.append({"<=": [var, _literal(kind, item, high)]})
    return parts


def _equal(kind: str, item: Field, values: list[str], zone: tzinfo) -> Any:
    """The condition for one field's equality values (any of them), or a :class:`Problem`."""
    var = {"var": item.key}
    if kind == "text":
        texts = [value.strip()[:MAX_TEXT] for value in values]
        return _any([{"contains_text": [var, text]} for text in texts])
    if kind == "choice":
        options = {str(option["value"]) for option in item.spec.get("options", [])}
        if any(value not in options for value in values):
            return Problem(item.key, N_("Choose a value from the list."))
        return {"in": [var, list(values)]}
    if kind in ("ref", "multi"):
        ids = _ids(values)
        if ids is None:
            return Problem(item.key, N_("Choose a value from the list."))
        return {"has_any" if kind == "multi" else "in": [var, ids]}
    if kind == "boolean":
        flags = []
        for value in values:
            try:
                parsed = field_type("boolean").parse({}, value)
            except FieldValueError:
                parsed = None
            if parsed is None:
                return Problem(item.key, N_("Choose yes or no."))
            flags.append({"==": [var, parsed]})
        return _any(flags)
    try:
        if kind == "datetime":  # the whole day: from its midnight and before the next one
            days = [{"and": _range(kind, var, item, value, value, zone)} for value in values]
            return _any(days)
        return {"in": [var, [_literal(kind, item, value) for value in values]]}
    except FieldValueError as error:
        return Problem(item.key, error.message, error.params)


def _any(conditions_: list[Any]) -> Any:
    return conditions_[0] if len(conditions_) == 1 else {"or": conditions_}


def _checked(runtime: StreamRuntime, key: str, condition: Any) -> Problem | None:
    problems = conditions.check(condition, runtime.kinds)
    if problems:
        return Problem(key, N_("This value cannot be used in a filter."))
    return None


def _advanced(runtime: StreamRuntime, access: Access, text: str) -> Any:
    if len(text) > MAX_CONDITION:
        return Problem(None, N_("The condition is too long."))
    try:
        condition = json.loads(text)
    except ValueError:
        return Problem(None, N_("The condition is not valid JSON."))
    kinds = {key: kind for key, kind in runtime.kinds.items() if key not in access.hidden}
    problems = conditions.check(condition, kinds)
    if problems:
        shown = "; ".join(str(problem) for problem in problems[:3])
        return Problem(None, N_("The condition is not valid: %(problems)s"), {"problems": shown})
    return condition


def parse(
    runtime: StreamRuntime,
    access: Access,
    params: Iterable[tuple[str, str]],
    *,
    zone: tzinfo,
) -> Filters:
    """The filters in ``params`` (query parameters in order), checked."""
    fields = {item.key: item for item in filterable(runtime, access)}
    result = Filters()
    ranges: dict[str, list[str]] = {}
    unknown: list[str] = []
    for name, raw in params:
        if name == "cond":
            result.advanced = raw.strip()
            continue
        if not name.startswith(PREFIX):
            continue
        value = raw.strip()
        if not value:
            continue
        key, _, end = name[len(PREFIX) :].partition(".")
        item = fields.get(key)
        if item is None or end not in ("", "from", "to"):
            if key not in unknown:
                unknown.append(key)
            continue
        if end:
            if runtime.kinds[key] not in RANGE_KINDS:
                if key not in unknown:
                    unknown.append(key)
                continue
            bounds = ranges.setdefault(key, ["", ""])
            bounds[0 if end == "from" else 1] = value[:MAX_TEXT]
        else:
            values = result.values.setdefault(key, [])
            if len(values) < MAX_VALUES and value[:MAX_TEXT] not in values:
                values.append(value[:MAX_TEXT])
    for key in unknown:
        result.problems.append(
            Problem(
                None, N_("There is no filter “%(field)s” here; it is left out."), {"field": key}
            )
        )
    for key, values in list(result.values.items()):
        item = fields[key]
        built = _equal(runtime.kinds[key], item, values, zone)
        if not isinstance(built, Problem):
            built = _checked(runtime, key, built) or built
        if isinstance(built, Problem):
            result.problems.append(built)
            continue
        result.parts[key] = built
    for key, (low, high) in ranges.items():
        item = fields[key]
        result.ranges[key] = (low, high)
        try:
            built_parts = _range(runtime.kinds[key], {"var": key}, item, low, high, zone)
        except FieldValueError as error:
            result.problems.append(Problem(key, error.message, error.params))
            continue
        existing = [result.parts[key]] if key in result.parts else []
        combined = existing + built_parts
        condition = combined[0] if len(combined) == 1 else {"and": combined}
        problem = _checked(runtime, key, condition)
        if problem is not None:
            result.problems.append(problem)
            continue
        result.parts[key] = condition
    if result.advanced:
        built = _advanced(runtime, access, result.advanced)
        if isinstance(built, Problem):
            result.problems.append(built)
        else:
            result.parts[""] = built
    return result


def params_of(pairs: Iterable[tuple[str, str]], keep: tuple[str, ...]) -> dict[str, list[str]]:
    """The list's own parameters among ``pairs`` (filters and those named in ``keep``)."""
    found: dict[str, list[str]] = {}
    for name, value in pairs:
        if (name.startswith(PREFIX) or name in keep or name == "cond") and value.strip():
            found.setdefault(name, []).append(value)
    return found


def as_pairs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Stored parameters (name -> list of values) back as pairs; anything malformed is
    dropped."""
    found: list[tuple[str, str]] = []
    for name, values in params.items():
        if not isinstance(name, str) or not isinstance(values, list):
            continue
        found += [(name, value) for value in values if isinstance(value, str)]
    return found
