"""ORM model of the outbox: every e-mail, written in the same transaction as its cause."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from korona.auth.models import enum_column
from korona.db import Base, UTCDateTime, utcnow


class OutboxStatus(StrEnum):
    """Where an e-mail is on its way out; each message is sent at most once."""

    QUEUED = "queued"  # venter: the worker takes it when next_attempt_at has come
    SENDING = "sending"  # a worker claimed it (committed) and has not recorded a result yet
    SENT = "sent"  # the SMTP server accepted it
    FAILED = "failed"  # cannot be sent as it is (bad header or address); a person decides
    UNCERTAIN = "uncertain"  # claimed but no result within the lease: maybe sent; a person decides


class OutboxMessage(Base):
    """One e-mail waiting to be sent, being sent, sent, or waiting for a person."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    #: An HTML alternative to the plain-text body (inline-safe: no external resources).
    html_body: Mapped[str | None] = mapped_column(Text)
    #: Sent as the List-Unsubscribe header (with List-Unsubscribe-Post: one click).
    unsubscribe_url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus), default=OutboxStatus.QUEUED
    )
    #: When a worker may try next; None while queued means no automatic attempt is planned
    #: (automatic retries are used up) and the message waits for a person.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    #: New for every claim; a result is recorded only by the worker holding this token.
    claim_token: Mapped[str | None] = mapped_column(String(64))
    #: The Message-ID header, fixed at the first claim so every attempt carries the same one.
    message_id: Mapped[str | None] = mapped_column(String(300))


class OutboxAttachment(Base):
    """A file sent with an outbox message (the weekly report's PDF)."""

    __tablename__ = "outbox_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
