"""The route engine inside the app: the one :class:`Env` an app's views and jobs share, and
the scheduler's job that sweeps the route timers every minute."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from potok.platform.scheduler import Job
from potok.platform.services import Services
from potok.runtime.routing.context import Env
from potok.runtime.routing.timers import sweep_timers
from potok.runtime.streams import Streams

ENV = "runtime.routing.env"


def make_env(services: Services, streams: Streams) -> Env:
    return Env(streams, services.catalogs, ZoneInfo(services.settings.timezone))


def env_of(services: Services) -> Env:
    """The app's route environment (set up with the runtime's compiled streams)."""
    env: Env = services.extensions[ENV]
    return env


def sweep(services: Services) -> int:
    """Fire the due reminders, overdue notices and waits in one write transaction; a timer
    fires once however often (and from however many processes) this runs."""
    with services.db.session(write=True) as session:
        return len(sweep_timers(session, env_of(services), now=services.clock()))


JOBS = (Job("routes.timers", sweep, seconds=60),)
