"""The list of a stream (``/s/<stream>/``) and the link picker's choices: documents the user
may read, searched, filtered, sorted and paged in SQL by :mod:`potok.runtime.listing`.

Around the list: the filter form (:mod:`potok.runtime.filters`), saved filters
(``/s/<stream>/filters``), a side panel counting documents by a dictionary, user or link field
(``?group=<field>``), the user's choice of columns (``/s/<stream>/columns``) and actions on
the selected rows (``/s/<stream>/bulk``: set a field, reassign, move to the trash).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from potok.errors import N_, NotFound, PermissionDenied
from potok.metadata import conditions
from potok.metadata.model import Field
from potok.metadata.types import FieldValueError
from potok.platform.web.context import Ctx, endpoint
from potok.runtime import documents, filters, listing, permissions, values
from potok.runtime.display import Lookups, show, titles
from potok.runtime.web.common import (
    MAX_ID,
    Place,
    field_errors,
    fill_context,
    link_checker,
    lookups,
    stream_place,
)
from potok.runtime.web.layout import choices_for
from potok.runtime.web.search_views import clean_query

LIST_PARAMS = ("q", "sort", "dir", "group")
BULK_TYPES = ("dictionary", "user", "department", "choice", "date", "boolean")
MAX_BULK = 500
MAX_NAME = 200


# Columns and sort ---------------------------------------------------------------------------


def _column_choices(place: Place) -> list[Field]:
    """Fields that can be a column of the list for this user, in the stream's order."""
    runtime, access = place.runtime, place.access
    return [
        item
        for item in runtime.stream.fields
        if item.key in runtime.compiled.columns and item.key not in access.hidden
    ]


def _default_columns(place: Place) -> list[str]:
    runtime = place.runtime
    wanted = runtime.stream.document.get("list", {}).get("columns") or [
        item.key for item in runtime.stream.fields if item.flag("in_list")
    ]
    return [str(key) for key in wanted]


def _list_columns(place: Place, chosen: Sequence[str] | None = None) -> list[Field]:
    """The columns shown: the user's choice (in the stream's order) or the stream's default."""
    available = {item.key: item for item in _column_choices(place)}
    if chosen:
        picked = set(chosen)
        fields = [item for key, item in available.items() if key in picked]
        if fields:
            return fields
    return [available[key] for key in _default_columns(place) if key in available]


def _sort(ctx: Ctx, place: Place, saved: Sequence[Any]) -> tuple[listing.Sort, bool]:
    """The sort asked for in the URL, else the user's saved one, else the stream's; and
    whether the URL asked."""
    runtime = place.runtime
    params = ctx.request.query_params
    allowed = [key for key in listing.sortable(runtime) if key not in place.access.hidden]
    if params.get("sort") in allowed:
        return listing.Sort(params["sort"], params.get("dir") == "desc"), True
    if len(saved) == 2 and saved[0] in allowed:
        return listing.Sort(str(saved[0]), bool(saved[1])), False
    return listing.default_sort(runtime), False


# URLs of the list ---------------------------------------------------------------------------


def _href(ctx: Ctx, place: Place, pairs: Sequence[tuple[str, str]]) -> str:
    base = ctx.url("runtime:list", stream=place.runtime.key)
    kept = [(name, value) for name, value in pairs if value]
    return base + ("?" + urlencode(kept) if kept else "")


def _back(ctx: Ctx, place: Place, query: str) -> str:
    """The list URL a form came from, keeping only the list's own parameters."""
    pairs = parse_qsl(query[:4000], keep_blank_values=False)
    found = filters.params_of(pairs, LIST_PARAMS)
    return _href(ctx, place, filters.as_pairs(found))


# The list -----------------------------------------------------------------------------------


def _problems(ctx: Ctx, place: Place, found: Sequence[filters.Problem]) -> list[str]:
    shown = []
    for problem in found:
        text = ctx.t.format(problem.message, dict(problem.params))
        if problem.key:
            label = place.runtime.stream.field(problem.key).label(ctx.t.language)
            text = f"{label}: {text}"
        shown.append(text)
    return shown


def _filter_form(
    ctx: Ctx, place: Place, found: filters.Filters, names: Lookups
) -> list[dict[str, Any]]:
    """What the filter form shows for each filterable field."""
    fields = filters.filterable(place.runtime, place.access)
    current: dict[str, Any] = {
        key: [int(value) for value in given if value.isdigit()]
        for key, given in found.values.items()
    }
    options = choices_for(ctx, place, current, only=[item.key for item in fields])
    shown = []
    for item in fields:
        kind = place.runtime.kinds[item.key]
        given = found.values.get(item.key, [])
        low, high = found.ranges.get(item.key, ("", ""))
        entry: dict[str, Any] = {
            "key": item.key,
            "label": item.label(ctx.t.language),
            "kind": kind,
            "values": given,
            "low": low,
            "high": high,
            "options": options.get(item.key, []),
        }
        if item.field_type.refers_to == "stream":
            ids = current.get(item.key, [])
            for value in ids:
                names.want(item, value)
            entry["options"] = [(str(value), show(item, value, names)) for value in ids]
            entry["kind"] = "link"
        shown.append(entry)
    return shown


def _group_panel(
    ctx: Ctx,
    place: Place,
    found: filters.Filters,
    search: str,
    keep: list[tuple[str, str]],
    names: Lookups,
) -> dict[str, Any] | None:
    fields = filters.groupable(place.runtime, place.access)
    if not fields:
        return None
    chosen = ctx.request.query_params.get("group", "")
    panel: dict[str, Any] = {
        "fields": [(item.key, item.label(ctx.t.language)) for item in fields],
        "chosen": "",
        "groups": [],
    }
    item = next((item for item in fields if item.key == chosen), None)
    if item is None:
        return panel
    panel["chosen"] = item.key
    counts = listing.group_counts(
        ctx.db,
        ctx.me,
        place.runtime,
        item.key,
        search=search,
        condition=found.condition(without=item.key),
        now=ctx.now,
    )
    for value, _ in counts:
        names.want(item, [value] if place.runtime.kinds[item.key] == "multi" else value)
    others = found.pairs(without=item.key)
    selected = found.values.get(item.key, [])
    panel["groups"] = [
        {
            "label": show(item, value, names) or f"#{value}",
            "count": count,
            "selected": str(value) in selected,
            "href": _href(
                ctx,
                place,
                [*others, (f"{filters.PREFIX}{item.key}", str(value)), *keep],
            ),
        }
        for value, count in counts
    ]
    panel["clear"] = _href(ctx, place, others + keep) if selected else ""
    return panel


def _saved_chips(ctx: Ctx, place: Place, current: list[tuple[str, str]]) -> list[dict[str, Any]]:
    chips = []
    for saved in listing.saved_filters(ctx.db, ctx.me, place.runtime.key):
        params = saved.condition.get("params") if isinstance(saved.condition, dict) else None
        pairs = filters.as_pairs(params if isinstance(params, dict) else {})
        chips.append(
            {
                "id": saved.id,
                "name": saved.name,
                "shared": saved.owner_id is None,
                "href": _href(ctx, place, pairs),
                "active": sorted(pairs) == sorted(current),
                "deletable": saved.owner_id == ctx.me.id
                or (saved.owner_id is None and place.access.configure),
            }
        )
    return chips


def _bulk_fields(place: Place) -> list[Field]:
    """Simple fields the user may set on many documents at once."""
    access = place.access
    return [
        item
        for item in place.runtime.stream.fields
        if item.type in BULK_TYPES
        and item.key in place.runtime.compiled.columns
        and item.key not in access.hidden
        and item.key not in access.readonly
        and not item.flag("readonly")
    ]


def _owner_field(place: Place) -> Field | None:
    """The stream's responsible-person field, if this user may change it."""
    key = place.runtime.stream.document.get("owner_field")
    if not key or key not in place.runtime.compiled.columns:
        return None
    item = place.runtime.stream.field(str(key))
    if item.type != "user" or item.key in place.access.hidden | place.access.readonly:
        return None
    if item.flag("readonly"):
        return None
    return item


@dataclass
class _Criteria:
    """What the list's query parameters ask for: filters, the search words, and what was
    wrong with them (said above the list, never an error page)."""

    found: filters.Filters
    condition: Any
    search: str
    problems: list[str]


def _criteria(ctx: Ctx, place: Place) -> _Criteria:
    runtime = place.runtime
    params = ctx.request.query_params
    found = filters.parse(runtime, place.access, params.multi_items(), zone=ctx.t.tz)
    problems = _problems(ctx, place, found.problems)
    condition = found.condition()
    try:
        if condition is not None:
            conditions.prepare(condition, runtime.kinds)
    except conditions.ConditionError:
        problems.append(ctx.t.gettext(N_("The filters are too complex; they are left out.")))
        found = filters.Filters()
        condition = None
    return _Criteria(found, condition, clean_query(params.get("q", "")), problems)


@endpoint()
def list_count(ctx: Ctx) -> Response:
    """The list's count, asked for by the list page once its rows are shown."""
    place = stream_place(ctx)
    criteria = _criteria(ctx, place)
    total, capped = listing.count(
        ctx.db,
        ctx.me,
        place.runtime,
        search=criteria.search,
        condition=criteria.condition,
        now=ctx.now,
    )
    return ctx.render("runtime/_list_count.html", {"total": total, "capped": capped})


@endpoint()
def stream_list(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    runtime = place.runtime
    params = ctx.request.query_params
    criteria = _criteria(ctx, place)
    found, condition, search, problems = (
        criteria.found,
        criteria.condition,
        criteria.search,
        criteria.problems,
    )
    preference = listing.preference(ctx.db, ctx.me, runtime.key)
    columns = _list_columns(place, preference.columns if preference else None)
    sort, explicit = _sort(ctx, place, preference.sort if preference else [])
    result = listing.page(
        ctx.db,
        ctx.me,
        runtime,
        [item.key for item in columns],
        sort=sort,
        search=search,
        condition=condition,
        after=params.get("after", "")[:500],
        now=ctx.now,
        counted=False,
    )
    names = lookups(ctx)
    for row in result.rows:
        for item in columns:
            names.want(item, row[runtime.compiled.columns[item.key].name])
    names.prefetch()
    rows = [
        {
            "id": row["id"],
            "reg_number": row["reg_number"],
            "created_at": row["created_at"],
            "cells": [
                show(item, row[runtime.compiled.columns[item.key].name], names) for item in columns
            ],
        }
        for row in result.rows
    ]
    group = params.get("group", "")[:80]
    sort_pairs = [("sort", sort.key), ("dir", "desc" if sort.descending else "asc")]
    searched = [*found.pairs(), ("q", search)]
    current = [(name, value) for name, value in searched if value] + (
        sort_pairs if explicit else []
    )
    appending = bool(params.get("after"))
    owner = _owner_field(place)
    bulk_fields = _bulk_fields(place)
    may_bulk = place.access.edit != "none" or place.access.delete != "none"
    context: dict[str, Any] = {
        "runtime": runtime,
        "access": place.access,
        "columns": columns,
        "headers": [(item.key, item.label(ctx.t.language)) for item in columns],
        "rows": rows,
        "page": result,
        "sort": sort,
        "sortable": [key for key in listing.sortable(runtime) if key not in place.access.hidden],
        "search": search,
        "appending": appending,
        "sort_href": lambda key, descending: _href(
            ctx,
            place,
            [*searched, ("group", group), ("sort", key), ("dir", "desc" if descending else "asc")],
        ),
        "more_href": _href(
            ctx,
            place,
            [*searched, ("group", group), *sort_pairs, ("after", result.next_after or "")],
        ),
        "may_bulk": may_bulk,
    }
    if appending and ctx.is_htmx:
        return ctx.render("runtime/list.html", context, fragment="runtime/_list_rows.html")
    counted = [(name, value) for name, value in searched if value]
    context["count_href"] = ctx.url("runtime:count", stream=runtime.key) + (
        "?" + urlencode(counted) if counted else ""
    )
    choices = choices_for(
        ctx,
        place,
        {},
        only=[item.key for item in bulk_fields] + ([owner.key] if owner is not None else []),
    )
    context.update(
        {
            "problems": problems,
            "filter_fields": _filter_form(ctx, place, found, names),
            "filtered": found.active,
            "clear_href": _href(ctx, place, [("q", search)] + (sort_pairs if explicit else [])),
            "group": _group_panel(
                ctx, place, found, search, [("q", search), ("group", group), *sort_pairs], names
            ),
            "chips": _saved_chips(ctx, place, current),
            "current_pairs": current,
            "current_query": urlencode([*current, ("group", group)] if group else current),
            "may_share": place.access.configure,
            "bulk_fields": [
                {
                    "key": item.key,
                    "label": item.label(ctx.t.language),
                    "type": item.type,
                    "options": choices.get(item.key, []),
                }
                for item in bulk_fields
            ],
            "owner": (
                {"label": owner.label(ctx.t.language), "options": choices.get(owner.key, [])}
                if owner is not None
                else None
            ),
        }
    )
    return ctx.render("runtime/list.html", context, fragment="runtime/_list.html")


# Saved filters ------------------------------------------------------------------------------


@endpoint()
def save_filter(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    query = str(ctx.form.get("query", ""))[:4000]
    back = _back(ctx, place, query)
    # Control characters become spaces: PostgreSQL refuses NUL in text.
    name = " ".join(clean_query(str(ctx.form.get("name", ""))[:4000]).split())[:MAX_NAME]
    shared = ctx.form.get("shared") == "1"
    if shared and not place.access.configure:
        raise PermissionDenied()
    if not name:
        ctx.flash(N_("Give the filter a name."), kind="error")
        return ctx.redirect(back)
    pairs = parse_qsl(query, keep_blank_values=False)
    found = filters.parse(place.runtime, place.access, pairs, zone=ctx.t.tz)
    if found.problems:
        ctx.flash(N_("Fix the filters before saving them."), kind="error")
        return ctx.redirect(back)
    params = filters.params_of(pairs, ("q", "sort", "dir"))
    listing.save_filter(ctx.db, ctx.me, place.runtime.key, name, params, shared=shared, now=ctx.now)
    ctx.flash(N_("The filter “%(name)s” is saved."), {"name": name})
    return ctx.redirect(back)


@endpoint()
def delete_filter(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    filter_id = int(ctx.request.path_params["filter_id"])
    saved = (
        listing.saved_filter(ctx.db, ctx.me, place.runtime.key, filter_id)
        if 0 < filter_id <= MAX_ID
        else None
    )
    if saved is None:
        raise NotFound()
    if saved.owner_id is None and not place.access.configure:
        raise PermissionDenied()
    name = saved.name
    ctx.db.delete(saved)
    ctx.flash(N_("The filter “%(name)s” is deleted."), {"name": name})
    return ctx.redirect(_back(ctx, place, str(ctx.form.get("query", ""))))


# Columns ------------------------------------------------------------------------------------


@endpoint()
def list_columns(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    runtime = place.runtime
    allowed = [key for key in listing.sortable(runtime) if key not in place.access.hidden]
    back = _back(ctx, place, str(ctx.request.query_params.get("back", "")))
    if ctx.request.method == "POST":
        back = _back(ctx, place, str(ctx.form.get("back", "")))
        if ctx.form.get("reset"):
            listing.clear_preference(ctx.db, ctx.me, runtime.key)
            ctx.flash(N_("The list shows the default columns again."))
            return ctx.redirect(back)
        available = [item.key for item in _column_choices(place)]
        picked = set(ctx.form_list("columns"))
        chosen = [key for key in available if key in picked]
        sort_key = str(ctx.form.get("sort", ""))
        saved_sort = [sort_key, ctx.form.get("dir") == "desc"] if sort_key in allowed else []
        listing.set_preference(ctx.db, ctx.me, runtime.key, chosen, saved_sort)
        ctx.flash(N_("Your columns are saved."))
        return ctx.redirect(back)
    preference = listing.preference(ctx.db, ctx.me, runtime.key)
    shown = {item.key for item in _list_columns(place, preference.columns if preference else None)}
    sort, _ = _sort(ctx, place, preference.sort if preference else [])
    labels = {item.key: item.label(ctx.t.language) for item in runtime.stream.fields}
    system = {
        "created_at": ctx.t.gettext(N_("Registered")),
        "updated_at": ctx.t.gettext(N_("Changed")),
        "reg_number": ctx.t.gettext(N_("Number")),
    }
    return ctx.render(
        "runtime/_list_columns.html",
        {
            "runtime": runtime,
            "fields": [
                (item.key, item.label(ctx.t.language), item.key in shown)
                for item in _column_choices(place)
            ],
            "sorts": [(key, labels.get(key) or system.get(key, key)) for key in allowed],
            "sort": sort,
            "back": back.partition("?")[2],
            "back_href": back,
            "customised": preference is not None,
        },
    )


# Bulk actions -------------------------------------------------------------------------------


def _bulk_value(ctx: Ctx, place: Place) -> tuple[Field, Any] | str:
    """The field and raw value the bulk form asks to set, or a message id."""
    action = ctx.form.get("action")
    if action == "owner":
        owner = _owner_field(place)
        if owner is None:
            raise PermissionDenied()
        item, raw = owner, str(ctx.form.get("owner", ""))
    else:
        key = str(ctx.form.get("field", ""))
        item_found = next((item for item in _bulk_fields(place) if item.key == key), None)
        if item_found is None:
            return N_("Choose a field to change.")
        item, raw = item_found, str(ctx.form.get(f"value.{key}", ""))
    try:
        value = item.field_type.parse(item.spec, raw)
        if value is not None:
            item.field_type.check(item.spec, value)
    except FieldValueError as error:
        return ctx.t.format(error.message, error.params)
    return item, raw


def _ids(ctx: Ctx) -> tuple[list[int], int]:
    """The selected ids (each once) and how many of the given ones were not ids at all."""
    ids: list[int] = []
    bad = 0
    for value in ctx.form_list("ids"):
        if value.isdigit() and 0 < int(value) <= MAX_ID:
            if int(value) not in ids:
                ids.append(int(value))
        else:
            bad += 1
    return ids, bad


@endpoint()
def bulk(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    if place.access.edit == "none" and place.access.delete == "none":
        raise PermissionDenied()
    runtime = place.runtime
    back = _back(ctx, place, str(ctx.form.get("back", "")))
    action = str(ctx.form.get("action", ""))
    ids, skipped = _ids(ctx)
    if action not in ("set", "owner", "delete"):
        ctx.flash(N_("Choose what to do with the selected documents."), kind="error")
        return ctx.redirect(back)
    if not ids:
        ctx.flash(N_("Select documents first."), kind="error")
        return ctx.redirect(back)
    if len(ids) > MAX_BULK:
        ctx.flash(N_("Select at most %(count)s documents at once."), {"count": MAX_BULK}, "error")
        return ctx.redirect(back)
    target: tuple[Field, Any] | None = None
    if action != "delete":
        chosen = _bulk_value(ctx, place)
        if isinstance(chosen, str):
            ctx.flash(chosen, kind="error")
            return ctx.redirect(back)
        target = chosen
    right = "delete" if action == "delete" else "edit"
    changed, failed, problem = 0, [], ""
    for doc_id in ids:
        if not permissions.can(ctx.db, ctx.me, runtime, "read", doc_id) or not permissions.can(
            ctx.db, ctx.me, runtime, right, doc_id
        ):
            skipped += 1
            continue
        try:
            document = documents.load(ctx.db, runtime, doc_id)
        except NotFound:
            skipped += 1
            continue
        if target is None:
            with ctx.db.begin_nested():
                documents.move_to_trash(ctx.db, runtime, doc_id, actor=ctx.actor, now=ctx.now)
            changed += 1
            continue
        item, raw = target
        submission = values.read(
            runtime,
            {item.key: raw},
            existing=document.values,
            access=place.access,
            context=fill_context(ctx),
        )
        errors: dict[str, Any] = dict(submission.errors)
        if not errors:
            try:
                with ctx.db.begin_nested():
                    documents.change(
                        ctx.db,
                        runtime,
                        doc_id,
                        submission.values,
                        expected_version=document.version,
                        actor=ctx.actor,
                        now=ctx.now,
                        link_readable=link_checker(ctx),
                    )
            except documents.InvalidValues as error:
                errors = dict(error.errors)
            except documents.EditConflict:
                errors = {"": FieldValueError(N_("Someone else saved it meanwhile."))}
        if errors:
            failed.append(document.reg_number or f"#{doc_id}")
            if not problem:
                path, message = next(iter(field_errors(ctx, errors).items()))
                label = _label(ctx, place, path)
                problem = f"{label}: {message}" if label else message
            continue
        changed += 1
    ctx.flash(
        N_("Changed: %(changed)s, skipped: %(skipped)s."), {"changed": changed, "skipped": skipped}
    )
    if failed:
        ctx.flash(
            N_("Not changed because of errors (%(numbers)s): %(problem)s"),
            {
                "numbers": ", ".join(failed[:20]) + ("…" if len(failed) > 20 else ""),
                "problem": problem,
            },
            "error",
        )
    return ctx.redirect(back)


def _label(ctx: Ctx, place: Place, path: str) -> str:
    key = path.split("[", 1)[0].split(".", 1)[0]
    try:
        return place.runtime.stream.field(key).label(ctx.t.language) if key else ""
    except KeyError:
        return ""


@endpoint()
def pick(ctx: Ctx) -> Response:
    """Search-as-you-type for a link field: documents of the stream the user may read."""
    place = stream_place(ctx)
    search = clean_query(ctx.request.query_params.get("q", ""))[:100]
    field_name = ctx.request.query_params.get("field", "")[:80]
    found = listing.page(
        ctx.db,
        ctx.me,
        place.runtime,
        [],
        sort=listing.Sort("created_at", True),
        search=search,
        now=ctx.now,
        size=20,
        counted=False,
    )
    names = titles(ctx.db, place.runtime, [row["id"] for row in found.rows])
    return ctx.render(
        "runtime/_pick.html",
        {
            "choices": [(row["id"], names.get(row["id"], "")) for row in found.rows],
            "field_name": field_name,
            "search": search,
        },
    )


routes: list[BaseRoute] = [
    Route("/{stream}/count", list_count, name="count"),
    Route("/{stream}/filters", save_filter, methods=["POST"], name="save_filter"),
    Route(
        "/{stream}/filters/{filter_id:int}/delete",
        delete_filter,
        methods=["POST"],
        name="delete_filter",
    ),
    Route("/{stream}/columns", list_columns, methods=["GET", "POST"], name="list_columns"),
    Route("/{stream}/bulk", bulk, methods=["POST"], name="bulk"),
]
