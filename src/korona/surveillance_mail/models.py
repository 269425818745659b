"""ORM models of surveillance e-mail: who follows which location, and what was queued to whom."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from korona.auth.models import enum_column
from korona.db import Base, UTCDateTime, utcnow


class SubscriptionKind(StrEnum):
    """What following a location brings by e-mail."""

    #: The location's tables in the weekly report (Ukentlig oversikt).
    WEEKLY_REPORT = "weekly_report"
    #: An alert after each run with the new high signals in the area: the location itself
    #: and, for a county or the nation, every location in it (an outbreak team's subscription).
    ALERTS = "alerts"


class Subscription(Base):
    """One user following one location (``municip4601``, ``county46``, ``norge``) for one kind.

    A row with ``active`` False records that the user stopped it (an unsubscribe link, or the
    account page): a municipal doctor's own municipality, followed automatically, stays stopped.
    """

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("user_id", "location_code", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    location_code: Mapped[str] = mapped_column(String(20))
    kind: Mapped[SubscriptionKind] = mapped_column(enum_column(SubscriptionKind))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReportDelivery(Base):
    """The weekly report of one ISO week queued for one user: at most one, by its unique key."""

    __tablename__ = "report_delivery"
    __table_args__ = (UniqueConstraint("user_id", "iso_week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    iso_week: Mapped[str] = mapped_column(String(8))  # "2020-W20"
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AlertDelivery(Base):
    """One high signal told to one user: never twice, by its unique key."""

    __tablename__ = "alert_delivery"
    __table_args__ = (UniqueConstraint("user_id", "signal_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    #: method|location|age|syndrome|week, e.g. "sykdomspulsen|municip4601|total|gastro|2020-W20".
    signal_key: Mapped[str] = mapped_column(String(200))
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
