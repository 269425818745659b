"""Queue e-mail in the outbox and deliver it over SMTP, retrying what failed before."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from korona.config import Settings
from korona.db import unit_of_work, utcnow
from korona.notify.models import OutboxMessage

log = logging.getLogger(__name__)

#: After this many failed attempts a message waits for `korona mail send` or the outbox page.
MAX_AUTOMATIC_ATTEMPTS = 5
SMTP_TIMEOUT_SECONDS = 10
_QUEUED_KEY = "korona_mail_queued"


class MailSender(Protocol):
    """Something that delivers one e-mail or raises."""

    def send(self, message: EmailMessage) -> None:
        """Deliver the message; raise on failure."""


@dataclass(frozen=True)
class SmtpSender:
    """Deliver through the SMTP server named in the settings."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False

    def send(self, message: EmailMessage) -> None:
        """Deliver one message over a fresh SMTP connection."""
        with smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def sender_for(settings: Settings) -> MailSender | None:
    """Return the SMTP sender of the settings, or None in development (mail stays in the outbox)."""
    if not settings.smtp_host:
        return None
    return SmtpSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
    )


def queue(session: Session, *, to: str, subject: str, body: str) -> OutboxMessage:
    """Add an e-mail to the outbox in the caller's transaction; it is sent after the commit."""
    message = OutboxMessage(to_address=to, subject=subject, body=body, attempts=0)
    session.add(message)
    session.flush()
    session.info[_QUEUED_KEY] = True
    return message


def to_email(message: OutboxMessage, mail_from: str) -> EmailMessage:
    """Return the outbox row as an e-mail."""
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(idstring=f"korona-outbox-{message.id}")
    email.set_content(message.body)
    return email


@dataclass(frozen=True)
class DeliveryResult:
    """What one delivery round did."""

    sent: int
    failed: int
    waiting: int


def pending(session: Session, *, include_exhausted: bool = False) -> Sequence[OutboxMessage]:
    """Return unsent messages, oldest first."""
    statement = select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    if not include_exhausted:
        statement = statement.where(OutboxMessage.attempts < MAX_AUTOMATIC_ATTEMPTS)
    return session.scalars(statement.order_by(OutboxMessage.id)).all()


def deliver(
    session: Session, sender: MailSender, mail_from: str, *, include_exhausted: bool = False
) -> DeliveryResult:
    """Try to send every unsent message, recording each attempt and its error."""
    rows = pending(session, include_exhausted=include_exhausted)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Two workers delivering at once must not send the same row twice.
        ids = [row.id for row in rows]
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.sent_at.is_(None))
            .order_by(OutboxMessage.id)
            .with_for_update(skip_locked=True)
        ).all()
    sent = failed = 0
    for row in rows:
        row.attempts += 1
        row.last_attempt_at = utcnow()
        try:
            sender.send(to_email(row, mail_from))
        except (OSError, smtplib.SMTPException) as error:
            row.last_error = f"{type(error).__name__}: {error}"[:2000]
            failed += 1
        else:
            row.sent_at = utcnow()
            row.last_error = None
            sent += 1
    session.flush()
    waiting = len(pending(session, include_exhausted=True))
    return DeliveryResult(sent=sent, failed=failed, waiting=waiting)


def deliver_pending(factory: sessionmaker[Session], settings: Settings) -> DeliveryResult | None:
    """Deliver the outbox in its own transaction; None when no SMTP server is configured."""
    sender = sender_for(settings)
    if sender is None:
        return None
    with unit_of_work(factory) as session:
        return deliver(session, sender, settings.mail_from)


def install(factory: sessionmaker[Session], settings: Settings) -> None:
    """Deliver queued mail right after every commit that queued some (and retry older mail)."""

    @event.listens_for(factory, "after_commit")
    def _after_commit(session: Session) -> None:
        if session.info.pop(_QUEUED_KEY, False):
            try:
                deliver_pending(factory, settings)
            except Exception:  # the change is committed; the mail waits for the next send
                log.exception("delivering the outbox failed")

    @event.listens_for(factory, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(_QUEUED_KEY, None)


def list_outbox(session: Session, *, limit: int = 200) -> Sequence[OutboxMessage]:
    """Return the newest outbox messages first."""
    statement = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return session.scalars(statement).all()
