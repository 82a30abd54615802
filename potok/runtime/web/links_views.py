"""The card's links panel: documents linking here (by stream, with counts), "create linked"
buttons, ad-hoc links both ways, and sharing the document with more people.

``/s/<stream>/<id>/links`` shows the panel as a page (where the form lands without
JavaScript); the forms post to ``…/links``, ``…/links/<link>/delete``, ``…/shares`` and
``…/shares/<user>/delete`` and, under htmx, get back just the part they changed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from potok.errors import N_, PotokError
from potok.platform.web.context import Ctx, endpoint
from potok.runtime import extras, links, listing, permissions, shares
from potok.runtime.display import titles
from potok.runtime.documents import Document
from potok.runtime.streams import StreamRuntime
from potok.runtime.web.common import (
    MAX_ID,
    CardPanel,
    Place,
    document_of,
    path_id,
    stream_place,
    streams_of,
)

PAGE = "runtime/_links_page.html"
ADHOC = "runtime/_links_adhoc.html"
SHARES = "runtime/_links_shares.html"
FOUND = 20


def _runtimes(ctx: Ctx) -> dict[str, StreamRuntime]:
    return {runtime.key: runtime for runtime in streams_of(ctx).all(ctx.db)}


def _message(ctx: Ctx, error: PotokError) -> str:
    return ctx.t.format(error.message, error.params)


def _reverse(
    ctx: Ctx, place: Place, document: Document, runtimes: dict[str, StreamRuntime]
) -> dict[str, Any]:
    lang = ctx.t.language
    found = links.reverse_links(ctx.db, ctx.me, runtimes.values(), place.runtime, document.id)
    pairs = links.linking_fields(runtimes.values(), place.runtime.key)
    several = {runtime.key for runtime, _ in pairs if sum(r is runtime for r, _ in pairs) > 1}
    groups = [
        {
            "label": group.runtime.stream.label(lang),
            "field": group.field.label(lang) if group.runtime.key in several else "",
            "count": group.count,
            "stream": group.runtime.key,
            "first": group.first,
            "more": ctx.url("runtime:list", stream=group.runtime.key)
            + "?"
            + urlencode({f"f.{group.field.key}": document.id}),
        }
        for group in found
    ]
    create = []
    for runtime, item in pairs:
        access = permissions.access_for(ctx.me, runtime)
        if not access.create or item.key in access.hidden or item.key in access.readonly:
            continue
        create.append(
            {
                "label": runtime.stream.label(lang),
                "field": item.label(lang) if runtime.key in several else "",
                "url": ctx.url("runtime:new", stream=runtime.key)
                + "?"
                + urlencode({item.key: document.id}),
            }
        )
    based_on = ""
    if place.access.create and any(item.flag("copy_on_base") for item in place.runtime.fields()):
        based_on = (
            ctx.url("runtime:new", stream=place.runtime.key)
            + "?"
            + urlencode({"based_on": document.id})
        )
    return {"groups": groups, "create": create, "based_on": based_on}


def _adhoc(
    ctx: Ctx,
    place: Place,
    document: Document,
    runtimes: dict[str, StreamRuntime],
    may_edit: bool,
    present: frozenset[str],
) -> dict[str, Any]:
    lang = ctx.t.language
    shown = (
        links.links_of(ctx.db, ctx.me, runtimes, place.runtime.key, document.id)
        if "links" in present
        else []
    )
    items = [
        {
            "id": link.id,
            "label": link.label,
            "stream": link.stream.key,
            "stream_label": link.stream.stream.label(lang),
            "doc_id": link.doc_id,
            "title": link.title,
            "removable": may_edit
            or permissions.can(ctx.db, ctx.me, link.stream, "edit", link.doc_id),
        }
        for link in shown
    ]
    streams = [
        (runtime.key, runtime.stream.label(lang))
        for runtime in runtimes.values()
        if permissions.access_for(ctx.me, runtime).read != "none"
    ]
    return {
        "links": items,
        "streams": sorted(streams, key=lambda pair: pair[1].lower()),
        "kinds": [(kind.key, kind.label) for kind in links.KINDS.values()],
    }


def _shares(ctx: Ctx, place: Place, document: Document, present: frozenset[str]) -> dict[str, Any]:
    current = (
        shares.shares_of(ctx.db, place.runtime.key, document.id) if "shares" in present else []
    )
    exclude = {shared.user_id for shared in current} | {ctx.me.id}
    return {"shares": current, "people": shares.candidates(ctx.db, exclude)}


def panel_data(
    ctx: Ctx,
    place: Place,
    document: Document,
    *,
    form: dict[str, str] | None = None,
    error: str = "",
    notice: str = "",
    found: list[tuple[str, str]] | None = None,
    share_error: str = "",
    share_notice: str = "",
    present: frozenset[str] = extras.EVERYTHING,
) -> dict[str, Any]:
    """The links panel; ``present`` (from :func:`extras.present`) spares the queries for
    ad-hoc links or shares the document does not have."""
    runtimes = _runtimes(ctx)
    may_edit = permissions.can(ctx.db, ctx.me, place.runtime, "edit", document.id)
    data: dict[str, Any] = {
        "template": "runtime/_links_panel.html",
        "may_edit": may_edit,
        "form": form or {},
        "error": error,
        "notice": notice,
        "found": found,
        "share_error": share_error,
        "share_notice": share_notice,
    }
    data.update(_reverse(ctx, place, document, runtimes))
    data.update(_adhoc(ctx, place, document, runtimes, may_edit, present))
    if may_edit:
        data.update(_shares(ctx, place, document, present))
    return data


def card_panel(
    ctx: Ctx, place: Place, document: Document, present: frozenset[str]
) -> dict[str, Any] | None:
    """The card's links panel: a dict with "template" (and whatever it shows), or None."""
    return panel_data(ctx, place, document, present=present)


ADHOC_VIEW = CardPanel(PAGE, ADHOC, "links", panel_data, notice="notice")
SHARES_VIEW = CardPanel(PAGE, SHARES, "shares", panel_data, notice="share_notice")


@endpoint()
def links_page(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place)
    return ADHOC_VIEW.render(ctx, place, document)


def _choices(ctx: Ctx, runtime: StreamRuntime, search: str) -> list[tuple[str, str]]:
    found = listing.page(
        ctx.db,
        ctx.me,
        runtime,
        [],
        sort=listing.Sort("created_at", True),
        search=search,
        now=ctx.now,
        size=FOUND,
    )
    ids = [row["id"] for row in found.rows]
    names = titles(ctx.db, runtime, ids)
    return [(f"{runtime.key}:{doc_id}", names.get(doc_id, f"#{doc_id}")) for doc_id in ids]


def _readable_stream(ctx: Ctx, key: str) -> StreamRuntime | None:
    runtime = _runtimes(ctx).get(key)
    if runtime is None or permissions.access_for(ctx.me, runtime).read == "none":
        return None
    return runtime


@endpoint()
def find(ctx: Ctx) -> Response:
    """The picker's choices for a new link: documents of the chosen stream the user may read
    (values "<stream>:<id>", so a choice cannot drift to another stream)."""
    place = stream_place(ctx)
    document_of(ctx, place)
    params = ctx.request.query_params
    search = params.get("q", "")[:100]
    runtime = _readable_stream(ctx, params.get("to_stream", ""))
    choices = _choices(ctx, runtime, search) if runtime is not None else []
    return ctx.render(
        "runtime/_pick.html", {"choices": choices, "field_name": "to", "search": search}
    )


def _target(ctx: Ctx, chosen: str) -> tuple[StreamRuntime, int]:
    key, _, raw_id = chosen.partition(":")
    runtime = _runtimes(ctx).get(key)
    if runtime is None or not raw_id.isdigit() or not 0 < int(raw_id) <= MAX_ID:
        raise links.LinkRefused(N_("Choose a document from the list."))
    return runtime, int(raw_id)


@endpoint()
def add_link(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place, "edit")
    form = {
        "kind": str(ctx.form.get("kind", ""))[:40],
        "to_stream": str(ctx.form.get("to_stream", ""))[:40],
        "q": str(ctx.form.get("q", ""))[:100],
    }
    # The picker's hidden value, or (without JavaScript) the radio button chosen.
    chosen = next((value for value in ctx.form_list("to") if value), "")[:100]
    if not chosen:
        runtime = _readable_stream(ctx, form["to_stream"])
        if runtime is None or not form["q"].strip():
            message = ctx.t.gettext(N_("Choose a document to link."))
            return ADHOC_VIEW.render(ctx, place, document, status=400, form=form, error=message)
        # Without JavaScript the search comes here: show what it found to choose from.
        found = _choices(ctx, runtime, form["q"])
        return ADHOC_VIEW.render(ctx, place, document, form=form, found=found)
    try:
        target, target_id = _target(ctx, chosen)
        links.add(
            ctx.db,
            ctx.me,
            place.runtime,
            document.id,
            target,
            target_id,
            form["kind"],
            actor=ctx.actor,
            now=ctx.now,
        )
    except links.LinkRefused as error:
        return ADHOC_VIEW.render(
            ctx, place, document, status=400, form=form, error=_message(ctx, error)
        )
    return ADHOC_VIEW.done(ctx, place, document, N_("Link added."))


@endpoint()
def remove_link(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place)
    link_id = path_id(ctx, "link_id")
    links.remove(
        ctx.db,
        ctx.me,
        _runtimes(ctx),
        place.runtime,
        document.id,
        link_id,
        actor=ctx.actor,
        now=ctx.now,
    )
    return ADHOC_VIEW.done(ctx, place, document, N_("Link removed."))


@endpoint()
def add_share(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place, "edit")
    raw = str(ctx.form.get("user", ""))
    try:
        if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
            raise shares.ShareRefused(N_("Choose a person from the list."))
        shares.grant(ctx.db, place.runtime.key, document.id, int(raw), actor=ctx.actor, now=ctx.now)
    except shares.ShareRefused as error:
        return SHARES_VIEW.render(
            ctx, place, document, status=400, share_error=_message(ctx, error)
        )
    return SHARES_VIEW.done(ctx, place, document, N_("The document is shared."))


@endpoint()
def remove_share(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place, "edit")
    user_id = path_id(ctx, "user_id")
    shares.revoke(ctx.db, place.runtime.key, document.id, user_id, actor=ctx.actor, now=ctx.now)
    message = N_("The document is no longer shared with this person.")
    return SHARES_VIEW.done(ctx, place, document, message)


POST = ["POST"]

routes: list[BaseRoute] = [
    Route("/{stream}/{doc_id:int}/links", links_page, name="links"),
    Route("/{stream}/{doc_id:int}/links/add", add_link, methods=POST, name="link_add"),
    Route("/{stream}/{doc_id:int}/links/find", find, name="link_find"),
    Route(
        "/{stream}/{doc_id:int}/links/{link_id:int}/delete",
        remove_link,
        methods=POST,
        name="link_delete",
    ),
    Route("/{stream}/{doc_id:int}/shares", add_share, methods=POST, name="share_add"),
    Route(
        "/{stream}/{doc_id:int}/shares/{user_id:int}/delete",
        remove_share,
        methods=POST,
        name="share_delete",
    ),
]
