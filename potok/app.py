"""``create_app(settings)``: one Potok web application, built from the packages' parts.

Nothing is read from the environment here; ``potok.cli`` builds the settings. For
``uvicorn --factory`` with several worker processes, :func:`app_from_environment` does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from potok.errors import CsrfFailed, PotokError
from potok.platform.clock import Clock, utcnow
from potok.platform.csrf import CsrfMiddleware
from potok.platform.db import Database
from potok.platform.scheduler import Scheduler
from potok.platform.services import PackageParts, Services, build_services
from potok.platform.web import errors
from potok.platform.web.middleware import (
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
    SessionMiddleware,
)
from potok.platform.web.routes import routes as platform_routes
from potok.runtime.web.routes import parts as runtime_parts
from potok.runtime.web.routes import routes as runtime_routes
from potok.settings import Settings

PACKAGE_PARTS: tuple[PackageParts, ...] = (runtime_parts,)


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    clock: Clock = utcnow,
) -> Starlette:
    services = build_services(settings, PACKAGE_PARTS, database=database, clock=clock)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        scheduler = Scheduler(services, services.jobs) if settings.scheduler else None
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown()
            if database is None:
                services.db.dispose()

    def static_files(app: ASGIApp) -> ASGIApp:
        return services.static.middleware(app)

    handle = errors.handler(services)
    app = Starlette(
        routes=[*platform_routes, *runtime_routes],
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(static_files),
            Middleware(BodyLimitMiddleware, services=services),
            Middleware(SessionMiddleware, services=services),
            Middleware(
                CsrfMiddleware,
                secret_key=services.secret_key,
                exempt_prefixes=services.csrf_exempt_prefixes,
                secure_cookies=settings.secure_cookies,
                on_failure=errors.responder(services, CsrfFailed),
            ),
        ],
        exception_handlers={Exception: handle, HTTPException: handle, PotokError: handle},
        lifespan=lifespan,
    )
    app.state.services = services
    return app


def services_of(app: Starlette) -> Services:
    services: Services = app.state.services
    return services


def app_from_environment() -> Starlette:
    """The app for ``uvicorn --factory potok.app:app_from_environment`` (worker processes)."""
    return create_app(Settings.from_env())
