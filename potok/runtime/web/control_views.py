"""The controller's view (``/inbox/control``): overdue tasks of the people a user controls,
each linking to the task, where a controller or head of department may give it to someone
else."""

from __future__ import annotations

from datetime import timedelta

from babel.dates import format_timedelta
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from potok.platform.web.context import Ctx, endpoint
from potok.runtime import control
from potok.runtime.web.inbox_views import route_env


@endpoint()
def control_page(ctx: Ctx) -> Response:
    rows = control.overdue_tasks(
        ctx.db, route_env(ctx.services), ctx.me, now=ctx.now, language=ctx.t.language
    )
    return ctx.render(
        "runtime/control.html",
        {
            "rows": rows,
            "late": {
                row.task_id: format_timedelta(
                    timedelta(seconds=row.overdue_by),
                    threshold=1.5,
                    locale=ctx.t.locale,
                    format="long",
                )
                for row in rows
            },
            "limit": control.LIMIT,
        },
    )


routes: list[BaseRoute] = [
    Route("/inbox/control", control_page, name="runtime:control"),
]
