"""The screens employees work in, generated from published metadata:
``/s/<stream>/`` list, ``/s/<stream>/new`` registration, ``/s/<stream>/<id>`` card,
``/s/<stream>/<id>/edit``; htmx fragments come from the same views (the list's table, the
link picker's choices). The history is in :mod:`potok.runtime.web.history_views`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from potok.errors import N_, NotFound, PermissionDenied
from potok.metadata.model import Field
from potok.platform.web.context import Ctx, endpoint
from potok.runtime import documents, extras, permissions, values
from potok.runtime.display import Lookups, show
from potok.runtime.forms import raw_values
from potok.runtime.web import comments_views, files_views, inbox_views, links_views, route_views
from potok.runtime.web.common import (
    Place,
    document_of,
    field_errors,
    fill_context,
    link_checker,
    lookups,
    stream_place,
)
from potok.runtime.web.layout import (
    card_sections,
    choices_for,
    form_sections,
    local_to_utc,
    table_totals,
)


def _raw(ctx: Ctx, place: Place) -> dict[str, Any]:
    """The submitted form as raw values; date-times typed in the user's time zone."""
    raw = raw_values(place.runtime, ctx.form)
    for item in place.runtime.stream.fields:
        if item.type == "datetime" and isinstance(raw.get(item.key), str) and raw[item.key]:
            raw[item.key] = local_to_utc(raw[item.key], ctx)
    return raw


@endpoint()
def card(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    # A document in the trash is shown (to be restored) only to those who may delete it.
    document = document_of(ctx, place, in_trash=True)
    may_delete = permissions.can(ctx.db, ctx.me, place.runtime, "delete", document.id)
    if document.deleted and not may_delete:
        raise NotFound()
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
            "may_delete": may_delete,
            "panels": [] if document.deleted else card_panels(ctx, place, document),
        },
    )


CARD_PANELS = (
    inbox_views.card_panel,
    route_views.card_panel,
    links_views.card_panel,
    files_views.card_panel,
    comments_views.card_panel,
)


def card_panels(ctx: Ctx, place: Place, document: documents.Document) -> list[dict[str, Any]]:
    """What the card shows below its fields: links, attachments, comments — each panel
    checks the user's rights itself and is left out when there is nothing to show."""
    present = extras.present(ctx.db, place.runtime.key, document.id)
    panels = []
    for provider in CARD_PANELS:
        panel = provider(ctx, place, document, present)
        if panel is not None:
            panels.append(panel)
    return panels


def _form(
    ctx: Ctx,
    place: Place,
    form_values: dict[str, Any],
    *,
    document: documents.Document | None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    conflict: dict[str, Any] | None = None,
    typed: dict[str, Any] | None = None,
) -> Response:
    names: Lookups = lookups(ctx)
    names.want_document(place.runtime, form_values)
    names.prefetch()
    return ctx.render(
        "runtime/form.html",
        {
            "runtime": place.runtime,
            "document": document,
            "sections": form_sections(place, form_values, names, ctx, typed=typed, errors=errors),
            "choices": choices_for(ctx, place, form_values),
            "errors": errors or {},
            "conflict": conflict,
        },
        status=status,
    )


def _prefilled(ctx: Ctx, place: Place, context: values.Context) -> dict[str, Any]:
    """A new card's first values: the defaults, then the fields copied from the document it
    is ``based_on`` (those marked "copy on base"), then fields named in the query string (a
    Contract opened from a Client card has the client filled in). Values the user could not
    pick themselves (a document they may not read, a locked field) are dropped silently."""
    runtime, params = place.runtime, ctx.request.query_params
    raw: dict[str, Any] = {}
    source = params.get("based_on", "")
    if source.isdigit() and len(source) < 11:
        try:
            base = document_of(ctx, place, doc_id=int(source))
        except (NotFound, PermissionDenied):
            base = None
        if base is not None:
            for item in runtime.stream.fields:
                if item.flag("copy_on_base") and item.key in base.values:
                    raw[item.key] = _as_raw(item, base.values[item.key])
    for item in runtime.stream.fields:
        if item.key in params and item.storage == "column" and item.type != "table":
            raw[item.key] = params[item.key][:1000]
    submission = values.read(runtime, raw, existing=None, access=place.access, context=context)
    readable = link_checker(ctx)
    prefilled = dict(values.defaults(runtime, context))
    for item in runtime.stream.fields:
        key = item.key
        if key not in raw or key in submission.errors or key not in submission.values:
            continue
        value = submission.values[key]
        linked = item.type == "link" and value is not None
        if linked and not readable(str(item.spec["stream"]), int(value)):
            continue
        prefilled[key] = value
    values.compute(runtime, prefilled, context)
    return prefilled


def _as_raw(item: Field, value: Any) -> Any:
    """A stored value as a form would send it (table rows lose their ids: they are new)."""
    if item.type == "table":
        return [
            {key: _as_raw_scalar(cell) for key, cell in row.items() if key != "id"}
            for row in value or []
        ]
    if isinstance(value, list):
        return [_as_raw_scalar(v) for v in value]
    return _as_raw_scalar(value)


def _as_raw_scalar(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


@endpoint()
def register(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    if not place.access.create:
        raise PermissionDenied()
    context = fill_context(ctx)
    if ctx.request.method == "GET":
        return _form(ctx, place, _prefilled(ctx, place, context), document=None)
    raw = _raw(ctx, place)
    submission = values.read(
        place.runtime, raw, existing=None, access=place.access, context=context
    )
    if not submission.ok:
        return _form(
            ctx,
            place,
            submission.values,
            document=None,
            errors=field_errors(ctx, submission.errors),
            status=400,
            typed=raw,
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
    route_views.start_on_registration(ctx, place, document)
    return ctx.redirect(ctx.url("runtime:card", stream=place.runtime.key, doc_id=document.id))


@endpoint()
def rules(ctx: Ctx) -> Response:
    """The card's rules for the values typed so far, for the form to mirror while the user
    types: each field's visible / required / read-only state, computed fields, formula
    columns and totals of table fields. Nothing is saved."""
    place = stream_place(ctx)
    doc = ctx.request.query_params.get("doc", "")
    existing = None
    if doc:
        if not doc.isdigit():
            raise NotFound()
        existing = document_of(ctx, place, "edit", doc_id=int(doc)).values
    elif not place.access.create:
        raise PermissionDenied()
    context = fill_context(ctx)
    raw = _raw(ctx, place)
    submission = values.read(
        place.runtime, raw, existing=existing, access=place.access, context=context
    )
    names = lookups(ctx)
    runtime = place.runtime
    computed = [item for item in runtime.stream.fields if item.type == "computed"]
    tables = [
        item
        for item in runtime.stream.fields
        if item.type == "table" and item.key in raw and item.key not in place.access.hidden
    ]
    previews = {
        item.key: values.preview_rows(runtime, item, raw[item.key], context) for item in tables
    }
    for item in computed:
        names.want(item, submission.values.get(item.key))
    for item in tables:
        names.want(item, previews[item.key])
    names.prefetch()
    states = values.states(runtime, submission.values, place.access, ctx.now)
    return JSONResponse(
        {
            "fields": {
                key: {
                    "visible": state.visible,
                    "required": state.required,
                    "locked": state.readonly,
                }
                for key, state in states.items()
                if key not in place.access.hidden
            },
            "computed": {
                item.key: show(item, submission.values.get(item.key), names) or "—"
                for item in computed
                if item.key not in place.access.hidden
            },
            "tables": {
                item.key: {
                    "rows": [
                        {
                            column.key: show(column, row.get(column.key), names)
                            for column in item.columns
                            if (item.key, column.key) in runtime.column_formulas
                        }
                        for row in previews[item.key]
                    ],
                    "totals": table_totals(item, previews[item.key], names),
                }
                for item in tables
            },
        }
    )


@endpoint()
def edit(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place, "edit")
    if ctx.request.method == "GET":
        return _form(ctx, place, document.values, document=document)
    raw = _raw(ctx, place)
    submission = values.read(
        place.runtime,
        raw,
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
            typed=raw,
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
