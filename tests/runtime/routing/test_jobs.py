"""The scheduler's route job: due reminders and overdue notices go out through a real SMTP
server (aiosmtpd) once, however often the job runs."""

from __future__ import annotations

from datetime import datetime
from email.header import decode_header, make_header
from typing import Any

import pytest

from potok.app import services_of
from potok.platform.scheduler import PLATFORM_JOBS, run_job
from potok.runtime.routing import jobs
from tests.builders import field, stream
from tests.platform.test_mail import smtp_server  # noqa: F401 (fixture)
from tests.runtime.routing.test_web import GRANTS, Company, node, route
from tests.runtime.test_screens import card_id

pytestmark = pytest.mark.smtp

WEDNESDAY = datetime(2026, 12, 2, 10, 0)


def test_the_app_runs_the_route_timers_every_minute(app: Any) -> None:
    job = next(job for job in services_of(app).jobs if job.key == "routes.timers")
    assert job.seconds == 60


def test_an_overdue_task_is_mailed_once_even_when_the_job_runs_twice(
    clock: Any, publisher: Any, as_user: Any, mailing: tuple[Any, Any]
) -> None:
    # The company works through the test app; the mailing app, on the same database, sends.
    services, inbox = mailing
    clock.now = WEDNESDAY
    company = Company(publisher, services.db, clock, as_user)
    sara = company.person("sara", "sales")
    company.person("lena", "legal")
    company.publisher.publish(
        stream(
            "deals",
            field("title", required=True),
            field("amount", "money"),
            access=GRANTS,
            routes={"default": "visa", "start": "on_registration"},
        ),
        route(
            "visa",
            node(
                "legal",
                "approval",
                executors=[{"role": "legal"}],
                deadline={"working_days": 1},
                reminders=[{"hours": 2}],
            ),
        ),
    )
    card_id(company.register(sara))
    sweep = next(job for job in services.jobs if job.key == "routes.timers")
    deliver = next(job for job in PLATFORM_JOBS if job.key == "mail.deliver")
    assert jobs.sweep(services) == 0  # nothing is due yet
    clock.advance(days=3)
    for _ in range(2):
        run_job(sweep, services)
        run_job(deliver, services)
    subjects = [
        str(make_header(decode_header(message["Subject"]))) for _, message in inbox.messages
    ]
    assert [recipients for recipients, _ in inbox.messages] == [
        ["lena@example.com"],
        ["lena@example.com"],
    ]
    assert subjects[0].startswith("Reminder: a task is due")
    assert subjects[1].startswith("Overdue: a task was due")
    clock.advance(minutes=1)
    run_job(sweep, services)
    run_job(deliver, services)
    assert len(inbox.messages) == 2
