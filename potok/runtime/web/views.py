"""The screens employees work in, generated from published metadata:
``/s/<stream>/`` list, ``/s/<stream>/new`` registration, ``/s/<stream>/<id>`` card,
``/s/<stream>/<id>/edit``, ``/s/<stream>/<id>/history``; htmx fragments come from the same
views (the list's table, the link picker's choices)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from potok.errors import N_, PermissionDenied
from potok.metadata.model import Field
from potok.platform.web.context import Ctx, endpoint
from potok.runtime import documents, listing, permissions, values
from potok.runtime.display import Lookups, show, titles
from potok.runtime.forms import raw_values
from potok.runtime.web.common import (
    Place,
    document_of,
    field_errors,
    fill_context,
    link_checker,
    lookups,
    stream_place,
    streams_of,
)
from potok.runtime.web.layout import card_sections, choices_for, form_sections, local_to_utc


def _raw(ctx: Ctx, place: Place) -> dict[str, Any]:
    """The submitted form as raw values; date-times typed in the user's time zone."""
    raw = raw_values(place.runtime, ctx.form)
    for item in place.runtime.stream.fields:
        if item.type == "datetime" and isinstance(raw.get(item.key), str) and raw[item.key]:
            raw[item.key] = local_to_utc(raw[item.key], ctx)
    return raw


def _list_columns(place: Place) -> list[Field]:
    runtime, access = place.runtime, place.access
    wanted = runtime.stream.document.get("list", {}).get("columns") or [
        item.key for item in runtime.stream.fields if item.flag("in_list")
    ]
    fields = []
    for key in wanted:
        if key in access.hidden:
            continue
        if key in runtime.compiled.columns:
            fields.append(runtime.stream.field(key))
    return fields


@endpoint()
def stream_list(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    runtime = place.runtime
    params = ctx.request.query_params
    columns = _list_columns(place)
    sort = listing.default_sort(runtime)
    if params.get("sort") in listing.sortable(runtime):
        sort = listing.Sort(params["sort"], params.get("dir") == "desc")
    search = params.get("q", "")[:200]
    result = listing.page(
        ctx.db,
        ctx.me,
        runtime,
        [item.key for item in columns],
        sort=sort,
        search=search,
        after=params.get("after", "")[:500],
        now=ctx.now,
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
    return ctx.render(
        "runtime/list.html",
        {
            "runtime": runtime,
            "access": place.access,
            "columns": columns,
            "headers": [(item.key, item.label(ctx.t.language)) for item in columns],
            "rows": rows,
            "page": result,
            "sort": sort,
            "sortable": listing.sortable(runtime),
            "search": search,
            "appending": bool(params.get("after")),
        },
        fragment="runtime/_list_rows.html" if params.get("after") else "runtime/_list.html",
    )


@endpoint()
def card(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place)
    names = lookups(ctx)
    names.want_document(place.runtime, document.values)
    names.prefetch()
    title_key = place.runtime.stream.title_field
    title = str(document.values.get(title_key) or "") if title_key else ""
    return ctx.render(
        "runtime/card.html",
        {
            "runtime": place.runtime,
            "document": document,
            "title": title or place.runtime.stream.label(ctx.t.language),
            "sections": card_sections(place, document.values, names, ctx),
            "may_edit": permissions.can(ctx.db, ctx.me, place.runtime, "edit", document.id),
            "may_delete": permissions.can(ctx.db, ctx.me, place.runtime, "delete", document.id),
        },
    )


def _form(
    ctx: Ctx,
    place: Place,
    form_values: dict[str, Any],
    *,
    document: documents.Document | None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    conflict: dict[str, Any] | None = None,
) -> Response:
    names: Lookups = lookups(ctx)
    names.want_document(place.runtime, form_values)
    names.prefetch()
    return ctx.render(
        "runtime/form.html",
        {
            "runtime": place.runtime,
            "document": document,
            "sections": form_sections(place, form_values, names, ctx),
            "choices": choices_for(ctx, place, form_values),
            "errors": errors or {},
            "conflict": conflict,
        },
        status=status,
    )


@endpoint()
def register(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    if not place.access.create:
        raise PermissionDenied()
    context = fill_context(ctx)
    if ctx.request.method == "GET":
        return _form(ctx, place, values.defaults(place.runtime, context), document=None)
    submission = values.read(
        place.runtime, _raw(ctx, place), existing=None, access=place.access, context=context
    )
    if not submission.ok:
        return _form(
            ctx,
            place,
            submission.values,
            document=None,
            errors=field_errors(ctx, submission.errors),
            status=400,
        )
    try:
        document = documents.create(
            ctx.db,
            place.runtime,
            submission.values,
            actor=ctx.actor,
            now=ctx.now,
            link_readable=link_checker(ctx),
        )
    except documents.InvalidValues as error:
        return _form(
            ctx,
            place,
            submission.values,
            document=None,
            errors=field_errors(ctx, error.errors),
            status=400,
        )
    ctx.flash(N_("Document %(number)s is registered."), {"number": document.reg_number})
    return ctx.redirect(ctx.url("runtime:card", stream=place.runtime.key, doc_id=document.id))


@endpoint()
def edit(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place, "edit")
    if ctx.request.method == "GET":
        return _form(ctx, place, document.values, document=document)
    submission = values.read(
        place.runtime,
        _raw(ctx, place),
        existing=document.values,
        access=place.access,
        context=fill_context(ctx),
    )
    version = str(ctx.form.get("_version", ""))
    expected = int(version) if version.isdigit() else -1
    if not submission.ok:
        document.version = expected if expected > 0 else document.version
        return _form(
            ctx,
            place,
            submission.values,
            document=document,
            errors=field_errors(ctx, submission.errors),
            status=400,
        )
    try:
        saved = documents.change(
            ctx.db,
            place.runtime,
            document.id,
            submission.values,
            expected_version=expected,
            actor=ctx.actor,
            now=ctx.now,
            link_readable=link_checker(ctx),
        )
    except documents.EditConflict as error:
        names = lookups(ctx)
        names.want_document(place.runtime, error.current.values)
        theirs = {
            item.key: show(item, error.current.values.get(item.key), names)
            for item in place.runtime.stream.fields
            if error.current.values.get(item.key) != submission.values.get(item.key)
            and item.key not in place.access.hidden
            and item.type != "table"
        }
        # Keep the user's edits; saving again now means saving over the other version.
        return _form(
            ctx,
            place,
            submission.values,
            document=error.current,
            status=409,
            conflict={"theirs": theirs},
        )
    except documents.InvalidValues as error:
        return _form(
            ctx,
            place,
            submission.values,
            document=document,
            errors=field_errors(ctx, error.errors),
            status=400,
        )
    ctx.flash(N_("Document %(number)s is saved."), {"number": saved.reg_number})
    return ctx.redirect(ctx.url("runtime:card", stream=place.runtime.key, doc_id=saved.id))


@endpoint()
def history(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place)
    entries = documents.history(ctx.db, place.runtime, document.id)
    names = lookups(ctx)
    fields = {item.key: item for item in place.runtime.stream.fields}
    shown_entries = []
    for entry in entries:
        changes = []
        for key, change in (entry.changes or {}).items():
            item = fields.get(key)
            if item is None or key in place.access.hidden:
                continue
            changes.append(_describe_change(item, change, names, entry.action))
        shown_entries.append({"entry": entry, "changes": changes})
    return ctx.render(
        "runtime/history.html",
        {"runtime": place.runtime, "document": document, "entries": shown_entries},
    )


def _describe_change(item: Field, change: Any, names: Lookups, action: str) -> dict[str, Any]:
    label = item.label(names.t.language)
    if item.type == "table" and isinstance(change, dict):
        return {
            "label": label,
            "rows": {
                "added": len(change.get("rows_added", [])),
                "changed": len(change.get("rows_changed", [])),
                "removed": len(change.get("rows_removed", [])),
            },
        }
    if action == "create":
        return {"label": label, "old": "", "new": _show_stored(item, change, names)}
    old, new = change if isinstance(change, list) and len(change) == 2 else (None, change)
    return {
        "label": label,
        "old": _show_stored(item, old, names),
        "new": _show_stored(item, new, names),
    }


def _show_stored(item: Field, value: Any, names: Lookups) -> str:
    """A value as the history stored it (JSON), shown like on the card."""
    if value in (None, "", []):
        return "—"
    try:
        parsed = item.field_type.parse(item.spec, value)
    except Exception:
        return str(value)
    return show(item, parsed, names) or "—"


@endpoint()
def trash(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place, "delete")
    documents.move_to_trash(ctx.db, place.runtime, document.id, actor=ctx.actor, now=ctx.now)
    ctx.flash(N_("Document %(number)s is moved to the trash."), {"number": document.reg_number})
    return ctx.redirect(ctx.url("runtime:list", stream=place.runtime.key))


@endpoint()
def restore(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place, "delete", in_trash=True)
    restored = documents.restore(ctx.db, place.runtime, document.id, actor=ctx.actor, now=ctx.now)
    ctx.flash(N_("Document %(number)s is restored."), {"number": restored.reg_number})
    return ctx.redirect(ctx.url("runtime:card", stream=place.runtime.key, doc_id=restored.id))


@endpoint()
def pick(ctx: Ctx) -> Response:
    """Search-as-you-type for a link field: documents of the stream the user may read."""
    place = stream_place(ctx)
    search = ctx.request.query_params.get("q", "")[:100]
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


def home_streams(ctx: Ctx) -> list[Any]:
    runtimes = streams_of(ctx).all(ctx.db)
    return permissions.streams_for(ctx.me, runtimes)
