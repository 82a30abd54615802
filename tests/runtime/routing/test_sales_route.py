"""The Sales configuration's contract route end to end, with the people problems of a real
office: the lawyer is away (her deputy decides), a step is delegated and comes back, and a
forgotten step is reminded of by e-mail through a real SMTP server."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from email.header import decode_header, make_header
from typing import Any

import pytest
from sqlalchemy import select

from potok.platform.audit import Actor
from potok.platform.models import Deputy, RouteInstance, RouteTask
from potok.platform.scheduler import PLATFORM_JOBS, run_job
from potok.runtime.routing import tasks
from tests.platform.test_mail import smtp_server  # noqa: F401 (fixture)
from tests.runtime.routing.test_web import Sales

pytestmark = pytest.mark.smtp

MONDAY = datetime(2026, 11, 30, 9, 30)


def open_steps(db: Any, doc_id: int) -> list[tuple[str, int, int | None]]:
    """(step, assignee, absent owner) of the contract's open tasks."""
    with db.session() as session:
        rows = session.execute(
            select(RouteTask.node, RouteTask.assignee_id, RouteTask.original_assignee_id)
            .join(RouteInstance, RouteInstance.id == RouteTask.instance_id)
            .where(RouteInstance.doc_id == doc_id, RouteTask.status == "open")
            .order_by(RouteTask.id)
        ).all()
    return [tuple(row) for row in rows]


def test_contract_route_with_a_deputy_a_delegation_and_a_reminder_by_mail(
    app: Any, clock: Any, create_user: Any, admin: Any, mailing: tuple[Any, Any]
) -> None:
    services, inbox = mailing
    clock.now = MONDAY
    db = services.db
    sales = Sales(app, db, clock, create_user)
    lena, fedor, oleg, artem, mila, sveta = (
        sales.ids[name] for name in ("lena", "fedor", "oleg", "artem", "mila", "sveta")
    )
    dina = create_user("dina")
    doc_id = sales.contract("2500000")  # above the threshold: the CEO signs too
    # Lena, the lawyer, is away on Monday and Tuesday.
    with db.session(write=True) as session:
        session.add(
            Deputy(
                principal_id=lena,
                deputy_id=dina,
                starts_on=date(2026, 11, 30),
                ends_on=date(2026, 12, 1),
                reason="leave",
                created_at=clock(),
            )
        )
    assert admin.submit(f"/s/contracts/{doc_id}/route/start").status_code == 303
    assert open_steps(db, doc_id) == [("legal", dina, lena)]  # the deputy has it
    with db.session(write=True) as session:
        task_id = session.scalar(select(RouteTask.id).where(RouteTask.node == "legal"))
        assert task_id is not None
        tasks.decide(session, sales.env, task_id, Actor(dina, "dina"), "approve", now=clock())
    # The CFO step is Fedor's; he delegates it to Artem, and it returns.
    clock.now = MONDAY + timedelta(days=2)
    assert open_steps(db, doc_id) == [("cfo", fedor, None)]
    with db.session(write=True) as session:
        cfo_task = session.scalar(select(RouteTask.id).where(RouteTask.node == "cfo"))
        assert cfo_task is not None
        delegated = tasks.delegate(
            session, sales.env, cfo_task, Actor(fedor, "fedor"), artem, now=clock()
        )
        delegated_id = delegated.id
    with db.session(write=True) as session:
        tasks.decide(
            session,
            sales.env,
            delegated_id,
            Actor(artem, "artem"),
            "complete",
            "Checked",
            now=clock(),
        )
    with db.session(write=True) as session:
        tasks.decide(session, sales.env, cfo_task, Actor(fedor, "fedor"), "approve", now=clock())
    assert open_steps(db, doc_id) == [("ceo", oleg, None)]
    # Nobody decides the CEO step: the scheduler's job reminds Oleg, then tells him and the
    # step's controller, Hanna (the head of sales), that it is overdue, once each, through
    # the SMTP server.
    sweep = next(job for job in services.jobs if job.key == "routes.timers")
    deliver = next(job for job in PLATFORM_JOBS if job.key == "mail.deliver")
    clock.advance(days=7)
    for _ in range(2):
        run_job(sweep, services)
        run_job(deliver, services)
    subjects = [
        str(make_header(decode_header(message["Subject"]))) for _, message in inbox.messages
    ]
    assert [recipients for recipients, _ in inbox.messages] == [
        ["oleg@example.com"],
        ["oleg@example.com"],
        ["hanna@example.com"],
    ]
    assert subjects[0].startswith("Reminder")
    assert subjects[1].startswith("Overdue") and subjects[2].startswith("Overdue")
    # Late, so the decision needs the reason of the delay.
    with db.session(write=True) as session:
        ceo_task = session.scalar(select(RouteTask.id).where(RouteTask.node == "ceo"))
        assert ceo_task is not None
        tasks.decide(
            session,
            sales.env,
            ceo_task,
            Actor(oleg, "oleg"),
            "approve",
            now=clock(),
            delay_reason="Was on a business trip",
        )
    assert sorted(open_steps(db, doc_id)) == sorted(
        [("manager", mila, None), ("secretary", sveta, None)]
    )
    sales.decide(doc_id, "manager", "complete")
    sales.decide(doc_id, "secretary", "complete")
    with db.session() as session:
        instance = session.scalar(select(RouteInstance).where(RouteInstance.doc_id == doc_id))
        assert instance is not None and instance.status == "finished"
        late = session.scalar(select(RouteTask).where(RouteTask.node == "ceo"))
        assert late is not None and late.delay_reason == "Was on a business trip"
