"""The runtime's URLs, navigation and per-app state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from starlette.routing import BaseRoute, Mount, Route

from potok.platform.auth import CurrentUser
from potok.platform.nav import NavItem
from potok.platform.services import PackageParts, Services
from potok.runtime import permissions
from potok.runtime.routing import jobs
from potok.runtime.streams import Streams
from potok.runtime.web import (
    comments_views,
    control_views,
    files_views,
    history_views,
    inbox_views,
    links_views,
    list_views,
    notification_views,
    route_views,
    search_views,
    trash_views,
    views,
)
from potok.runtime.web.common import STREAMS

GET_POST = ["GET", "POST"]
POST = ["POST"]

routes: list[BaseRoute] = [
    Mount(
        "/s",
        name="runtime",
        routes=[
            Route("/{stream}/", list_views.stream_list, name="list"),
            Route("/{stream}/new", views.register, methods=GET_POST, name="new"),
            Route("/{stream}/pick", list_views.pick, name="pick"),
            Route("/{stream}/rules", views.rules, methods=POST, name="rules"),
            Route("/{stream}/{doc_id:int}", views.card, name="card"),
            Route("/{stream}/{doc_id:int}/edit", views.edit, methods=GET_POST, name="edit"),
            Route("/{stream}/{doc_id:int}/delete", views.trash, methods=POST, name="delete"),
            Route("/{stream}/{doc_id:int}/restore", views.restore, methods=POST, name="restore"),
            *history_views.routes,
            *list_views.routes,
            *links_views.routes,
            *files_views.routes,
            *comments_views.routes,
            *route_views.routes,
            *trash_views.routes,
        ],
    ),
    *search_views.routes,
    *control_views.routes,
    *inbox_views.routes,
    *notification_views.routes,
]


def _setup(services: Services) -> None:
    streams = Streams()
    services.extensions[STREAMS] = streams
    services.extensions[jobs.ENV] = jobs.make_env(services, streams)


def _nav(user: CurrentUser, services: Any, session: Session | None = None) -> list[NavItem]:
    streams: Streams = services.extensions[STREAMS]
    if session is None:
        with services.db.session() as own:
            runtimes = streams.all(own)
    else:
        runtimes = streams.all(session)
    return [
        inbox_views.nav_item(user, services, session),
        notification_views.nav_item(user, services, session),
        *(
            NavItem(
                runtime.stream.label("en"),
                "runtime:list",
                order=100 + index,
                path_params={"stream": runtime.key},
                labels=runtime.stream.labels,
            )
            for index, runtime in enumerate(permissions.streams_for(user, runtimes))
        ),
    ]


parts = PackageParts(
    templates=Path(__file__).parents[1] / "templates",
    static=Path(__file__).parents[1] / "static",
    nav=_nav,
    setup=_setup,
    jobs=jobs.JOBS,
)
