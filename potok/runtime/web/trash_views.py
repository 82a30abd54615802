"""A stream's trash (``/s/<stream>/trash``): the deleted documents the user may restore,
searched by number or words and paged like the list; each row restores with one button
(``POST /s/<stream>/<id>/restore``)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from potok.errors import PermissionDenied
from potok.platform.web.context import Ctx, endpoint
from potok.runtime import trash
from potok.runtime.web.common import stream_place
from potok.runtime.web.search_views import clean_query


@endpoint()
def trash_list(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    if place.access.delete == "none":
        raise PermissionDenied()
    params = ctx.request.query_params
    search = clean_query(params.get("q", ""))
    after = params.get("after", "")[:500]
    result = trash.page(ctx.db, ctx.me, place.runtime, search=search, after=after)
    return ctx.render(
        "runtime/trash.html",
        {
            "runtime": place.runtime,
            "page": result,
            "rows": result.rows,
            "search": search,
            "appending": bool(after),
        },
        fragment="runtime/_trash_rows.html" if after else "runtime/_trash.html",
    )


routes: list[BaseRoute] = [Route("/{stream}/trash", trash_list, name="trash_list")]
