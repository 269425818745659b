"""Queue e-mail in the outbox, and the outbox's state changes: claim, result, lease, resend.

Sending by SMTP lives in ``korona.notify.smtp`` and building the e-mail of a claimed row in
``korona.notify.message``; their names are available here too, as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, func, literal, or_, select, update
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.permissions import Principal
from korona.db import utcnow
from korona.errors import N_, Conflict, NotFound
from korona.notify.message import (
    Attachment,
    BuildError,
    Claim,
    build_email,
    mail_domain,
    message_id_for,
)
from korona.notify.models import OutboxAttachment, OutboxMessage, OutboxStatus
from korona.notify.smtp import (
    SMTP_TIMEOUT_SECONDS,
    DeliveryError,
    DeliveryUncertain,
    MailSender,
    NotDelivered,
    SmtpSender,
    sender_for,
)

__all__ = [
    "SMTP_TIMEOUT_SECONDS",
    "Attachment",
    "BuildError",
    "Claim",
    "DeliveryError",
    "DeliveryUncertain",
    "MailSender",
    "NotDelivered",
    "SmtpSender",
    "build_email",
    "mail_domain",
    "message_id_for",
    "sender_for",
]

#: After this many failed attempts a message waits for a person (`korona mail send`, /outbox).
MAX_AUTOMATIC_ATTEMPTS = 5
#: The first retry waits this long; each later one twice as long, up to RETRY_CAP.
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
#: A claim older than this without a result is marked uncertain. It must exceed the longest
#: SMTP conversation (about ten timeouts) and the clock difference between worker hosts.
DEFAULT_LEASE = timedelta(minutes=15)
AUDIT_ENTITY = "outbox_message"
UNCERTAIN_REASON = (
    "Claimed, but no result was recorded within the lease (the worker stopped?): "
    "it may have been sent."
)
#: What may be sent again by a person: never a message that is sent or being sent.
RESENDABLE = frozenset({OutboxStatus.FAILED, OutboxStatus.UNCERTAIN})


def queue(
    *,
    session: Session,
    to: str,
    subject: str,
    body: str,
    html: str | None = None,
    unsubscribe_url: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> OutboxMessage:
    """Add an e-mail to the outbox in the caller's transaction; a delivery worker sends it.

    ``html`` is sent as an alternative to the plain-text ``body``; ``unsubscribe_url`` as the
    List-Unsubscribe header with RFC 8058 one-click (the URL must stop the mail on a POST of
    ``List-Unsubscribe=One-Click`` without cookies); ``attachments`` are stored with the
    message, in the same transaction, so a message is never claimed without its files.
    """
    message = OutboxMessage(
        to_address=to,
        subject=subject,
        body=body,
        html_body=html,
        unsubscribe_url=unsubscribe_url,
        attempts=0,
        status=OutboxStatus.QUEUED,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    session.flush()
    session.add_all(
        OutboxAttachment(outbox_message_id=message.id, **asdict(attachment))
        for attachment in attachments
    )
    if attachments:
        session.flush()
    return message


def attachments_of(outbox_id: int, *, session: Session) -> list[Attachment]:
    """Return the files stored with an outbox message, in the order they were queued."""
    rows = session.execute(
        select(OutboxAttachment.filename, OutboxAttachment.content_type, OutboxAttachment.content)
        .where(OutboxAttachment.outbox_message_id == outbox_id)
        .order_by(OutboxAttachment.id)
    ).all()
    return [Attachment(row.filename, row.content_type, bytes(row.content)) for row in rows]


def claim_next(
    *,
    session: Session,
    now: datetime,
    worker: str,
    domain: str,
    ignore_schedule: bool = False,
    exclude: Collection[int] = (),
) -> Claim | None:
    """Claim the next due message for one worker, or return None when none is due.

    The caller commits before sending. The claim is one UPDATE of the oldest due row, so on
    SQLite it takes the write lock first (no read-then-write upgrade to fail); on PostgreSQL
    its subquery locks the row with SKIP LOCKED, so concurrent workers pass each other.
    ``ignore_schedule`` also takes messages whose retry time has not come or whose automatic
    attempts are used up (a person asked to send everything now).
    """
    due = select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.QUEUED)
    if not ignore_schedule:
        due = due.where(OutboxMessage.next_attempt_at <= now)
    if exclude:
        due = due.where(OutboxMessage.id.not_in(list(exclude)))
    due = due.order_by(OutboxMessage.id).limit(1)
    postgres = session.get_bind().dialect.name == "postgresql"
    token = uuid.uuid4().hex
    stable_id = literal("<korona-outbox-") + cast(OutboxMessage.id, String) + literal(f"@{domain}>")
    claim = (
        update(OutboxMessage)
        .where(
            OutboxMessage.id
            == (due.with_for_update(skip_locked=True) if postgres else due).scalar_subquery(),
            OutboxMessage.status == OutboxStatus.QUEUED,
        )
        .values(
            status=OutboxStatus.SENDING,
            claimed_at=now,
            claimed_by=worker[:200],
            claim_token=token,
            attempts=OutboxMessage.attempts + 1,
            last_attempt_at=now,
            message_id=func.coalesce(OutboxMessage.message_id, stable_id),
        )
        .returning(  # the Claim's fields, by name
            OutboxMessage.id,
            OutboxMessage.to_address,
            OutboxMessage.subject,
            OutboxMessage.body,
            OutboxMessage.message_id,
            OutboxMessage.attempts,
            OutboxMessage.html_body.label("html"),
            OutboxMessage.unsubscribe_url,
        )
        .execution_options(synchronize_session=False)
    )
    # On PostgreSQL a row claimed and committed by another worker after this statement's
    # snapshot drops out of the subquery; try again while due rows remain.
    for _ in range(5):
        row = session.execute(claim).one_or_none()
        if row is not None:
            return Claim(
                **row._asdict(),
                token=token,
                # Read in the claiming transaction: the claim and its files are one snapshot.
                attachments=tuple(attachments_of(row.id, session=session)),
            )
        if session.scalar(due) is None:
            return None
    return None


def retry_delay(attempts: int) -> timedelta | None:
    """Return how long to wait after the given number of failed attempts; None: stop trying."""
    if attempts >= MAX_AUTOMATIC_ATTEMPTS:
        return None
    return min(RETRY_BASE * 2 ** (attempts - 1), RETRY_CAP)


def _finish(claim: Claim, *, session: Session, **values: Any) -> bool:
    """Record a result, only if the claim is still this worker's; return whether it was."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == claim.id,
            OutboxMessage.claim_token == claim.token,
            OutboxMessage.status.in_([OutboxStatus.SENDING, OutboxStatus.UNCERTAIN]),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def record_sent(claim: Claim, *, session: Session, now: datetime) -> bool:
    """Record that the server accepted the claimed message."""
    return _finish(
        claim,
        session=session,
        status=OutboxStatus.SENT,
        sent_at=now,
        last_error=None,
        next_attempt_at=None,
    )


def _leave_to_person(claim: Claim, status: OutboxStatus, reason: str, *, session: Session) -> bool:
    """Record a result no worker retries (failed or uncertain) with its reason."""
    return _finish(
        claim, session=session, status=status, last_error=reason[:2000], next_attempt_at=None
    )


def record_failed(claim: Claim, reason: str, *, session: Session) -> bool:
    """Record that the claimed message cannot be sent as it is; a person decides."""
    return _leave_to_person(claim, OutboxStatus.FAILED, reason, session=session)


def record_uncertain(claim: Claim, reason: str, *, session: Session) -> bool:
    """Record that the claimed message may or may not have been delivered; a person decides."""
    return _leave_to_person(claim, OutboxStatus.UNCERTAIN, reason, session=session)


def record_retry(claim: Claim, reason: str, *, session: Session, now: datetime) -> datetime | None:
    """Put the claimed message back in the queue with a later attempt time (None: given up)."""
    delay = retry_delay(claim.attempts)
    next_attempt = None if delay is None else now + delay
    _finish(
        claim,
        session=session,
        status=OutboxStatus.QUEUED,
        last_error=reason[:2000],
        next_attempt_at=next_attempt,
    )
    return next_attempt


def mark_stale_claims(*, session: Session, now: datetime, lease: timedelta) -> int:
    """Mark claims older than the lease, with no result, as uncertain; return how many."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.claimed_at < now - lease,
        )
        .values(status=OutboxStatus.UNCERTAIN, last_error=UNCERTAIN_REASON, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _needs_person(message: OutboxMessage) -> bool:
    given_up = message.status == OutboxStatus.QUEUED and message.next_attempt_at is None
    return message.status in RESENDABLE or given_up


def can_resend(message: OutboxMessage) -> bool:
    """Return whether a person may queue the message again (failed, uncertain or given up)."""
    return _needs_person(message)


def resend(principal: Principal, outbox_id: int, *, session: Session) -> OutboxMessage:
    """Queue a failed, uncertain or given-up message again, due now; audit-logged."""
    message = session.get(OutboxMessage, outbox_id, with_for_update=True)
    if message is None:
        raise NotFound(N_("No e-mail {id} in the outbox."), id=outbox_id)
    if not _needs_person(message):
        raise Conflict(
            N_("E-mail {id} is {status}; only failed, uncertain or given-up e-mail is resent."),
            id=outbox_id,
            status=message.status.value,
        )
    before = audit.snapshot(message)
    message.status = OutboxStatus.QUEUED
    message.next_attempt_at = utcnow()
    message.claim_token = None  # a late result from the old claim must not overwrite this
    message.claimed_at = None
    message.claimed_by = None
    audit.record_change(
        principal, AuditAction.STATUS, AUDIT_ENTITY, message, before, session=session
    )
    session.flush()
    return message


def retry_waiting_now(principal: Principal, *, session: Session) -> int:
    """Make every queued message due now (also given-up ones); return how many; audit-logged."""
    now = utcnow()
    ids = list(
        session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.status == OutboxStatus.QUEUED,
                or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at > now),
            )
        )
    )
    if ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.QUEUED)
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        audit.record(
            principal,
            AuditAction.UPDATE,
            AUDIT_ENTITY,
            "*",
            session=session,
            after={"due_now": ids},
        )
    return len(ids)


def list_outbox(*, session: Session, limit: int = 200) -> Sequence[OutboxMessage]:
    """Return the newest outbox messages first."""
    statement = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return session.scalars(statement).all()


def count_by_status(*, session: Session) -> dict[OutboxStatus, int]:
    """Return how many messages have each status (every status present, zero if none)."""
    rows = session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    counts = dict.fromkeys(OutboxStatus, 0)
    counts.update({OutboxStatus(status): int(number) for status, number in rows})
    return counts


def waiting_count(*, session: Session) -> int:
    """Return how many messages are queued or being sent."""
    counts = count_by_status(session=session)
    return counts[OutboxStatus.QUEUED] + counts[OutboxStatus.SENDING]


def needs_person_count(*, session: Session) -> int:
    """Return how many messages wait for a person: failed, uncertain or given up."""
    given_up = (OutboxMessage.status == OutboxStatus.QUEUED) & OutboxMessage.next_attempt_at.is_(
        None
    )
    statement = select(func.count()).where(or_(OutboxMessage.status.in_(RESENDABLE), given_up))
    return int(session.scalar(statement) or 0)
