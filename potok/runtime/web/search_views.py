"""Search across streams (``/search?q=…``): in every stream the user may see, the documents
they may read whose number or words match — the first few of each stream, with a link to the
stream's list searched the same way for the rest."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from potok.platform.web.context import Ctx, endpoint
from potok.runtime import listing, permissions
from potok.runtime.display import titles
from potok.runtime.streams import StreamRuntime
from potok.runtime.web.common import streams_of

MAX_QUERY = 200
HITS = 5


def clean_query(raw: str) -> str:
    """A typed query as searches take it: at most :data:`MAX_QUERY` characters, control
    characters (which PostgreSQL refuses in text, NUL above all) turned into spaces."""
    return "".join(" " if unicodedata.category(char) == "Cc" else char for char in raw[:MAX_QUERY])


@dataclass(frozen=True)
class Hit:
    id: int
    name: str  # the registration number and the title, as links name documents


@dataclass(frozen=True)
class Group:
    """One stream's share of the results."""

    runtime: StreamRuntime
    hits: list[Hit]
    count: int
    count_capped: bool


def _group(ctx: Ctx, runtime: StreamRuntime, query: str) -> Group | None:
    found = listing.page(
        ctx.db,
        ctx.me,
        runtime,
        [],
        sort=listing.Sort("created_at", True),
        search=query,
        now=ctx.now,
        size=HITS,
    )
    if not found.rows:
        return None
    ids = [row["id"] for row in found.rows]
    # A title field hidden from the user is not shown here either: the number names it.
    hidden_title = runtime.stream.title_field in permissions.access_for(ctx.me, runtime).hidden
    names = {} if hidden_title else titles(ctx.db, runtime, ids)
    hits = [
        Hit(row["id"], names.get(row["id"]) or row["reg_number"] or f"#{row['id']}")
        for row in found.rows
    ]
    return Group(runtime, hits, found.count or 0, found.count_capped)


@endpoint()
def search(ctx: Ctx) -> Response:
    query = clean_query(ctx.request.query_params.get("q", ""))
    groups: list[Group] = []
    if query.strip():
        for runtime in permissions.streams_for(ctx.me, streams_of(ctx).all(ctx.db)):
            group = _group(ctx, runtime, query)
            if group is not None:
                groups.append(group)
    return ctx.render(
        "runtime/search.html",
        {"query": query, "searched": bool(query.strip()), "groups": groups, "limit": MAX_QUERY},
    )


routes: list[BaseRoute] = [Route("/search", search, name="runtime:search")]
