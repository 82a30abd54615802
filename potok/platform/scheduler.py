"""Background jobs on APScheduler 3: mail delivery, clean-up, and later reminders and
deadlines contributed by other packages as :class:`Job` entries.

``potok serve`` runs the scheduler in a thread unless ``POTOK_SCHEDULER=off``;
``potok worker`` runs only the scheduler. Every job is idempotent, so a job that runs twice
(two workers by mistake, a restart mid-run) does no harm.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from potok.platform import auth, mail

if TYPE_CHECKING:
    from potok.platform.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    key: str
    run: Callable[[Services], object]
    seconds: int


def _deliver_mail(services: Services) -> int:
    return mail.deliver_due(
        services.db,
        smtp_url=services.settings.smtp_url,
        sender=services.settings.mail_from,
        now=services.clock(),
    )


def _purge_sessions(services: Services) -> int:
    with services.db.session(write=True) as session:
        return auth.purge_sessions(session, now=services.clock(), timeouts=services.timeouts)


PLATFORM_JOBS = (
    Job("mail.deliver", _deliver_mail, seconds=30),
    Job("sessions.purge", _purge_sessions, seconds=3600),
)


def run_job(job: Job, services: Services) -> None:
    try:
        result = job.run(services)
    except Exception:
        log.exception("scheduled job %s failed", job.key)
    else:
        log.debug("scheduled job %s done: %s", job.key, result)


class Scheduler:
    def __init__(self, services: Services, jobs: Sequence[Job], *, blocking: bool = False) -> None:
        options = {
            "timezone": "UTC",
            "job_defaults": {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        }
        self._scheduler: BaseScheduler = (
            BlockingScheduler(**options) if blocking else BackgroundScheduler(**options)
        )
        for job in jobs:
            self._scheduler.add_job(
                run_job, "interval", seconds=job.seconds, args=(job, services), id=job.key
            )

    def start(self) -> None:
        log.info("scheduler started")
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
