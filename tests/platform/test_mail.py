"""Outgoing mail through the outbox, delivered to a real SMTP server (aiosmtpd)."""

from collections.abc import Iterator
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from potok.platform import mail
from potok.platform.models import OutgoingMail
from tests.helpers import free_port

pytestmark = pytest.mark.smtp


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def queue_one(db, clock, to="anna@example.com"):
    with db.session(write=True) as session:
        mail.queue(
            session, to=[to], subject="Привет", text="Plain body", html="<p>Hi</p>", now=clock()
        )


def outbox(db):
    with db.session() as session:
        return list(session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)))


def test_queued_mail_is_delivered_once(db, clock, smtp_server):
    inbox, port = smtp_server
    queue_one(db, clock)
    url = f"smtp://127.0.0.1:{port}"
    assert mail.deliver_due(db, smtp_url=url, sender="Potok <potok@example.com>", now=clock()) == 1
    assert mail.deliver_due(db, smtp_url=url, sender="potok@example.com", now=clock()) == 0
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["anna@example.com"]
    assert str(make_header(decode_header(message["Subject"]))) == "Привет"
    assert message.is_multipart()
    [row] = outbox(db)
    assert row.status == "sent" and row.sent_at == clock() and row.attempts == 1


def test_without_a_server_mail_waits_in_the_outbox(db, clock):
    queue_one(db, clock)
    assert mail.deliver_due(db, smtp_url=None, sender="potok@example.com", now=clock()) == 0
    [row] = outbox(db)
    assert row.status == "queued" and row.attempts == 0


def test_a_failing_server_is_retried_later_and_finally_given_up(db, clock, smtp_server):
    queue_one(db, clock)
    dead = f"smtp://127.0.0.1:{free_port()}"
    for attempt in range(1, mail.MAX_ATTEMPTS + 1):
        mail.deliver_due(db, smtp_url=dead, sender="potok@example.com", now=clock())
        [row] = outbox(db)
        assert row.attempts == attempt
        assert "ConnectionRefusedError" in (row.last_error or "")
        # not retried before the pause is over
        mail.deliver_due(db, smtp_url=dead, sender="potok@example.com", now=clock())
        assert outbox(db)[0].attempts == attempt
        clock.advance(hours=2)
    assert outbox(db)[0].status == "failed"
    inbox, port = smtp_server
    sent = mail.deliver_due(
        db, smtp_url=f"smtp://127.0.0.1:{port}", sender="potok@example.com", now=clock()
    )
    assert sent == 0 and inbox.messages == []


def test_the_smtp_url_is_understood():
    server = mail.SmtpServer.from_url("smtp+starttls://user%40corp:p%40ss@mail.example.com")
    assert (server.host, server.port, server.security) == ("mail.example.com", 587, "starttls")
    assert (server.username, server.password) == ("user@corp", "p@ss")
    assert mail.SmtpServer.from_url("smtps://mail.example.com").port == 465
    assert mail.SmtpServer.from_url("smtp://mail.example.com:2525").port == 2525


def test_the_scheduler_job_delivers_the_admins_test_message(
    settings, clock, create_user, smtp_server, make_client
):
    from potok.app import create_app, services_of
    from potok.platform.scheduler import PLATFORM_JOBS, run_job
    from tests.conftest import Client

    inbox, port = smtp_server
    app = create_app(settings.replace(smtp_url=f"smtp://127.0.0.1:{port}"), clock=clock)
    create_user("root", admin=True)
    with Client(app, follow_redirects=False) as admin:
        admin.login("root")
        response = admin.submit("/admin/system/test-mail", {"to": "ops@example.com"})
        assert response.status_code == 303
    job = next(job for job in PLATFORM_JOBS if job.key == "mail.deliver")
    run_job(job, services_of(app))
    assert [recipients for recipients, _ in inbox.messages] == [["ops@example.com"]]
    services_of(app).db.dispose()
