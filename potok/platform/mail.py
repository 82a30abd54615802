"""Outgoing mail through an outbox table.

:func:`queue` adds a message in the caller's transaction, so mail goes out exactly when the
change that caused it commits. The scheduler's ``mail.deliver`` job claims due messages in a
short transaction, sends them over SMTP outside any transaction, and records the outcome;
failures are retried with growing pauses and finally marked failed with the server's answer.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from potok.platform.db import Database
from potok.platform.models import OutgoingMail

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BATCH = 50
CLAIM_TIMEOUT = timedelta(minutes=10)
SMTP_TIMEOUT_SECONDS = 20


def queue(
    session: Session,
    *,
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    now: datetime,
) -> OutgoingMail:
    mail = OutgoingMail(
        created_at=now,
        recipients=list(to),
        subject=subject[:300],
        body_text=text,
        body_html=html,
        status="queued",
        attempts=0,
        next_attempt_at=now,
    )
    session.add(mail)
    return mail


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # "plain", "ssl" or "starttls"
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        security = {"smtp": "plain", "smtps": "ssl", "smtp+starttls": "starttls"}[parts.scheme]
        default_port = {"plain": 25, "ssl": 465, "starttls": 587}[security]
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or default_port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def send(self, messages: list[EmailMessage]) -> None:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS, context=context
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
            for message in messages:
                client.send_message(message)


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(mail.recipients)
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain="potok.local")
    message.set_content(mail.body_text)
    if mail.body_html:
        message.add_alternative(mail.body_html, subtype="html")
    return message


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(minutes=min(60, 2 ** (attempts - 1)))


def deliver_due(db: Database, *, smtp_url: str | None, sender: str, now: datetime) -> int:
    """Send what is due; returns how many messages were sent. Safe to run concurrently."""
    if not smtp_url:
        return 0
    server = SmtpServer.from_url(smtp_url)
    with db.session(write=True) as session:
        due = list(
            session.scalars(
                select(OutgoingMail)
                .where(
                    or_(
                        (OutgoingMail.status == "queued") & (OutgoingMail.next_attempt_at <= now),
                        (OutgoingMail.status == "sending")
                        & (OutgoingMail.next_attempt_at <= now - CLAIM_TIMEOUT),
                    )
                )
                .order_by(OutgoingMail.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        for mail in due:
            mail.status = "sending"
            mail.attempts += 1
            mail.next_attempt_at = now
        claimed = [(mail.id, build_message(mail, sender), mail.attempts) for mail in due]
    sent = 0
    for mail_id, message, attempts in claimed:
        error: str | None = None
        try:
            server.send([message])
        except (smtplib.SMTPException, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("mail %s not sent (attempt %s): %s", mail_id, attempts, error)
        with db.session(write=True) as session:
            row = session.get(OutgoingMail, mail_id)
            if row is None:
                continue
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", now, None
                sent += 1
            else:
                row.last_error = error[:2000]
                if attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                else:
                    row.status = "queued"
                    row.next_attempt_at = now + _retry_delay(attempts)
    return sent
