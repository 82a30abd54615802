"""Reading what a user submitted for a card into clean values, with every rule of the
stream enforced on the server: types, ranges and patterns, required and conditionally
required fields, read-only and hidden fields (for everyone, by a rule, or for the user's
role), defaults, table rows with their column formulas, computed fields.

The browser mirrors these rules as the user types; this module is what decides. A field the
user may not change keeps its stored value whatever was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from potok.errors import N_
from potok.metadata.formulas import FormulaError
from potok.metadata.model import Field
from potok.metadata.types import FieldValueError
from potok.runtime.permissions import Access
from potok.runtime.streams import StreamRuntime

EDITABLE_STORAGE = ("column", "multi", "child")
REQUIRED = N_("Fill in this field.")


@dataclass(frozen=True)
class Context:
    """Who is filling in the card and when (for defaults, conditions and formulas)."""

    user_id: int | None
    department_id: int | None
    now: datetime
    today_local: Any  # date in the configured time zone


@dataclass
class Submission:
    values: dict[str, Any]
    errors: dict[str, FieldValueError] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def default_value(item: Field, context: Context) -> Any:
    default = item.spec.get("default")
    if not default:
        return [] if item.field_type.kind == "multi" else None
    dynamic = default.get("dynamic")
    if dynamic == "today":
        return context.today_local
    if dynamic == "now":
        return context.now
    if dynamic == "current_user":
        return context.user_id
    if dynamic == "current_department":
        return context.department_id
    return item.field_type.parse(item.spec, default.get("value"))


def defaults(runtime: StreamRuntime, context: Context) -> dict[str, Any]:
    """A new card's values before the user types anything."""
    values: dict[str, Any] = {}
    for item in runtime.stream.fields:
        if item.storage in EDITABLE_STORAGE and item.type != "files":
            values[item.key] = [] if item.storage == "child" else default_value(item, context)
    compute(runtime, values, context)
    return values


def _rule(
    runtime: StreamRuntime, item: Field, rule: str, values: Mapping[str, Any], now: datetime
) -> bool | None:
    condition = runtime.rules.get((item.key, rule))
    if condition is None:
        return None
    try:
        return condition.evaluate(values, now=now)
    except TypeError:
        return False


def _read_rows(
    item: Field,
    raw: Any,
    errors: dict[str, FieldValueError],
    runtime: StreamRuntime,
    context: Context,
) -> list[dict[str, Any]]:
    try:
        rows = item.field_type.parse(item.spec, raw)
    except FieldValueError as error:
        errors[item.key] = error
        return []
    clean: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            errors[f"{item.key}[{index}]"] = FieldValueError(N_("The row could not be read."))
            continue
        typed = [
            row.get(column.key)
            for column in item.columns
            if (item.key, column.key) not in runtime.column_formulas
        ]
        if all(value is None or str(value).strip() == "" for value in typed):
            continue  # a row left empty is no row
        values: dict[str, Any] = {}
        if row.get("id") not in (None, ""):
            values["id"] = str(row["id"])
        for column in item.columns:
            if (item.key, column.key) in runtime.column_formulas:
                continue
            try:
                value = column.field_type.parse(column.spec, row.get(column.key))
                if not _empty(value):
                    column.field_type.check(column.spec, value)
            except FieldValueError as error:
                errors[f"{item.key}[{index}].{column.key}"] = error
                continue
            if _empty(value) and column.spec.get("required"):
                errors[f"{item.key}[{index}].{column.key}"] = FieldValueError(REQUIRED)
            values[column.key] = value
        _row_formulas(runtime, item, values, context)
        clean.append(values)
    return clean


def _row_formulas(
    runtime: StreamRuntime, item: Field, values: dict[str, Any], context: Context
) -> None:
    """Fill a table row's formula columns in place (a failing formula gives None)."""
    for column in item.columns:
        formula = runtime.column_formulas.get((item.key, column.key))
        if formula is None:
            continue
        try:
            result = formula.evaluate(values, today=context.today_local, now=context.now)
            values[column.key] = column.field_type.parse(column.spec, result)
        except (FormulaError, FieldValueError):
            values[column.key] = None


def preview_rows(
    runtime: StreamRuntime, item: Field, raw_rows: Any, context: Context
) -> list[dict[str, Any]]:
    """Each submitted row of a table field as typed so far (unreadable cells left empty),
    with its formula columns — for the form to show while the user types; saving uses
    :func:`read`."""
    rows = []
    for row in raw_rows if isinstance(raw_rows, list) else []:
        values: dict[str, Any] = {}
        for column in item.columns:
            if (item.key, column.key) in runtime.column_formulas:
                continue
            try:
                values[column.key] = column.field_type.parse(column.spec, row.get(column.key))
            except FieldValueError:
                values[column.key] = None
        _row_formulas(runtime, item, values, context)
        rows.append(values)
    return rows


def compute(runtime: StreamRuntime, values: dict[str, Any], context: Context) -> None:
    """Recalculate the computed fields in place (a failing formula gives an empty value)."""
    for key in runtime.formula_order:
        item = runtime.stream.field(key)
        try:
            result = runtime.computed[key].evaluate(
                values, today=context.today_local, now=context.now
            )
            values[key] = item.field_type.parse(item.spec, result)
        except (FormulaError, FieldValueError):
            values[key] = None


def read(
    runtime: StreamRuntime,
    raw: Mapping[str, Any],
    *,
    existing: Mapping[str, Any] | None,
    access: Access,
    context: Context,
) -> Submission:
    """Clean values for a new card (``existing`` None) or a changed one, with errors by
    field path (``inn``, ``stages[2].amount``). Fields absent from ``raw`` keep their
    stored (or default) value."""
    base = dict(existing) if existing is not None else defaults(runtime, context)
    values = dict(base)
    errors: dict[str, FieldValueError] = {}
    locked = set(access.hidden) | set(access.readonly)
    for item in runtime.stream.fields:
        if item.storage not in EDITABLE_STORAGE or item.type in ("files", "computed"):
            continue
        if item.key in locked or item.flag("readonly") or item.key not in raw:
            continue
        if item.storage == "child":
            values[item.key] = _read_rows(item, raw[item.key], errors, runtime, context)
            continue
        try:
            value = item.field_type.parse(item.spec, raw[item.key])
            if not _empty(value):
                item.field_type.check(item.spec, value)
        except FieldValueError as error:
            errors[item.key] = error
            continue
        values[item.key] = value
    compute(runtime, values, context)
    # Rules are decided on the values as submitted; a field hidden or locked by a rule
    # keeps its stored value.
    for item in runtime.stream.fields:
        if item.storage not in EDITABLE_STORAGE:
            continue
        if _rule(runtime, item, "visible_when", values, context.now) is False or _rule(
            runtime, item, "readonly_when", values, context.now
        ):
            values[item.key] = base.get(item.key)
            errors.pop(item.key, None)
    compute(runtime, values, context)
    for item in runtime.stream.fields:
        if item.storage not in EDITABLE_STORAGE or item.key in errors:
            continue
        if _rule(runtime, item, "visible_when", values, context.now) is False:
            continue
        required = item.flag("required") or bool(
            _rule(runtime, item, "required_when", values, context.now)
        )
        if required and _empty(values.get(item.key)) and item.key not in access.hidden:
            errors[item.key] = FieldValueError(REQUIRED)
    return Submission(values, errors)


@dataclass(frozen=True)
class FieldState:
    """How a field shows on a card being filled in, by the rules, for the values so far."""

    visible: bool
    required: bool
    readonly: bool


def states(
    runtime: StreamRuntime, values: Mapping[str, Any], access: Access, now: datetime
) -> dict[str, FieldState]:
    """Every field's state: the same rules :func:`read` enforces, for the form to mirror as
    the user types. Fields hidden for the user's role are not visible whatever the rules."""
    found = {}
    for item in runtime.stream.fields:
        visible = (
            item.key not in access.hidden
            and _rule(runtime, item, "visible_when", values, now) is not False
        )
        readonly = (
            item.key in access.readonly
            or item.flag("readonly")
            or item.type in ("computed", "registration_number", "files")
            or bool(_rule(runtime, item, "readonly_when", values, now))
        )
        required = item.flag("required") or bool(_rule(runtime, item, "required_when", values, now))
        found[item.key] = FieldState(visible, required and not readonly, readonly)
    return found
