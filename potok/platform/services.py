"""What one running Potok holds: settings, database, translations, templates, registries.

``create_app`` builds one :class:`Services` and keeps it on ``app.state.services``; views get
it through their request context and jobs get it as their argument. Nothing here is global.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment

from potok.platform.audit import ACTION_LABELS
from potok.platform.auth import CurrentUser, SessionTimeouts
from potok.platform.capabilities import PLATFORM_CAPABILITIES, Capability, CapabilityRegistry
from potok.platform.clock import Clock, utcnow
from potok.platform.db import Database
from potok.platform.i18n import Catalogs
from potok.platform.keys import secret_key
from potok.platform.nav import NavItem, NavProvider, platform_nav
from potok.platform.scheduler import PLATFORM_JOBS, Job
from potok.platform.static import StaticFiles
from potok.platform.templating import make_environment
from potok.settings import Settings

PLATFORM_DIR = Path(__file__).parent


@dataclass
class Services:
    settings: Settings
    db: Database
    secret_key: str
    catalogs: Catalogs
    static: StaticFiles
    templates: Environment
    capabilities: CapabilityRegistry
    nav_providers: list[NavProvider]
    jobs: list[Job]
    clock: Clock = utcnow
    csrf_exempt_prefixes: tuple[str, ...] = field(default_factory=tuple)
    audit_labels: dict[str, str] = field(default_factory=dict)
    # State a package keeps per app (e.g. the runtime's compiled streams), set up by its
    # ``PackageParts.setup``; packages read their own entry through a typed accessor.
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def timeouts(self) -> SessionTimeouts:
        return SessionTimeouts(
            idle=timedelta(minutes=self.settings.session_idle_minutes),
            absolute=timedelta(hours=self.settings.session_max_hours),
        )

    def nav_for(self, user: CurrentUser, session: Any = None) -> list[NavItem]:
        """The navigation for ``user``; ``session`` is the request's, when it has one."""
        items = [item for provider in self.nav_providers for item in provider(user, self, session)]
        return sorted(items, key=lambda item: item.order)


@dataclass(frozen=True)
class PackageParts:
    """What a package contributes to the app besides its routes."""

    templates: Path | None = None
    static: Path | None = None
    capabilities: Sequence[Capability] = ()
    nav: NavProvider | None = None
    jobs: Sequence[Job] = ()
    csrf_exempt_prefixes: Sequence[str] = ()
    audit_labels: Mapping[str, str] = field(default_factory=dict)
    setup: Callable[[Services], None] | None = None


PLATFORM_PARTS = PackageParts(
    templates=PLATFORM_DIR / "templates",
    static=PLATFORM_DIR / "static",
    capabilities=PLATFORM_CAPABILITIES,
    nav=platform_nav,
    jobs=PLATFORM_JOBS,
    audit_labels=ACTION_LABELS,
)


def build_services(
    settings: Settings,
    parts: Iterable[PackageParts],
    *,
    database: Database | None = None,
    clock: Clock = utcnow,
) -> Services:
    parts = [PLATFORM_PARTS, *parts]
    static = StaticFiles(part.static for part in parts if part.static is not None)
    services = Services(
        settings=settings,
        db=database or Database.from_settings(settings),
        secret_key=secret_key(settings),
        catalogs=Catalogs(settings.language, settings.timezone),
        static=static,
        templates=make_environment(
            (part.templates for part in parts if part.templates is not None), static
        ),
        capabilities=CapabilityRegistry(c for part in parts for c in part.capabilities),
        nav_providers=[part.nav for part in parts if part.nav is not None],
        jobs=[job for part in parts for job in part.jobs],
        clock=clock,
        csrf_exempt_prefixes=tuple(p for part in parts for p in part.csrf_exempt_prefixes),
        audit_labels={code: label for part in parts for code, label in part.audit_labels.items()},
    )
    for part in parts:
        if part.setup is not None:
            part.setup(services)
    return services
