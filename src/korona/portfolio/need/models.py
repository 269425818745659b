"""ORM model of a need (behov) and its enumerations."""

from __future__ import annotations

from datetime import date, datetime
from enum import IntEnum, StrEnum

from sqlalchemy import JSON, CheckConstraint, ColumnElement, Date, ForeignKey, String, Text, and_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from korona.auth.models import Organisation, Sector, User, enum_column
from korona.db import Base
from korona.errors import N_
from korona.portfolio.columns import timestamp_column


class NeedStatus(StrEnum):
    """Where a need is in its life: registered → validated → covered/partly/uncovered → expired."""

    REGISTERED = "registered"  # registrert
    VALIDATED = "validated"  # validert
    COVERED = "covered"  # dekket
    PARTLY_COVERED = "partly_covered"  # delvis dekket
    UNCOVERED = "uncovered"  # udekket
    EXPIRED = "expired"  # utgått


_ASSESSED = {NeedStatus.COVERED, NeedStatus.PARTLY_COVERED, NeedStatus.UNCOVERED}

#: Allowed status changes; only the portfolio office makes them.
NEED_TRANSITIONS: dict[NeedStatus, frozenset[NeedStatus]] = {
    NeedStatus.REGISTERED: frozenset({NeedStatus.VALIDATED, NeedStatus.EXPIRED}),
    NeedStatus.VALIDATED: frozenset(_ASSESSED | {NeedStatus.EXPIRED}),
    NeedStatus.COVERED: frozenset((_ASSESSED - {NeedStatus.COVERED}) | {NeedStatus.EXPIRED}),
    NeedStatus.PARTLY_COVERED: frozenset(
        (_ASSESSED - {NeedStatus.PARTLY_COVERED}) | {NeedStatus.EXPIRED}
    ),
    NeedStatus.UNCOVERED: frozenset((_ASSESSED - {NeedStatus.UNCOVERED}) | {NeedStatus.EXPIRED}),
    NeedStatus.EXPIRED: frozenset({NeedStatus.VALIDATED}),
}


class Urgency(IntEnum):
    """How urgent a need is, on an anchored 1–4 scale."""

    CAN_WAIT = 1
    WITHIN_QUARTER = 2
    WITHIN_MONTH = 3
    CRITICAL = 4


#: The anchor text shown beside each urgency level (English message id; translated in the UI).
URGENCY_ANCHORS: dict[Urgency, str] = {
    Urgency.CAN_WAIT: N_("1 – Can wait: no harm if solved in more than three months"),
    Urgency.WITHIN_QUARTER: N_("2 – Should be solved within three months"),
    Urgency.WITHIN_MONTH: N_("3 – Should be solved within four weeks"),
    Urgency.CRITICAL: N_("4 – Critical: patients or staff at risk, must be solved within a week"),
}


class AffectedGroup(StrEnum):
    """Who is affected by a need."""

    CITIZENS = "citizens"  # innbyggere
    HEALTH_PERSONNEL = "health_personnel"  # helsepersonell
    AUTHORITIES = "authorities"  # myndigheter


class Need(Base):
    """A need (behov) reported by a clinical line (faglinje) or a municipality."""

    __tablename__ = "need"
    __table_args__ = (
        CheckConstraint("urgency BETWEEN 1 AND 4", name="urgency_range"),
        CheckConstraint(
            "municipality_number IS NULL OR length(municipality_number) = 4",
            name="municipality_number_length",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    sector: Mapped[Sector] = mapped_column(enum_column(Sector))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    clinical_line: Mapped[str] = mapped_column(String(200), default="")
    municipality_number: Mapped[str | None] = mapped_column(String(4))
    urgency: Mapped[int] = mapped_column()
    affected_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[NeedStatus] = mapped_column(
        enum_column(NeedStatus), default=NeedStatus.REGISTERED, index=True
    )
    review_by_date: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(lazy="select")

    def is_overdue(self, today: date) -> bool:
        """Return whether the review-by date has passed for a need still in play."""
        return (
            self.review_by_date is not None
            and self.review_by_date < today
            and self.status != NeedStatus.EXPIRED
        )

    @classmethod
    def overdue_in_sql(cls, today: date) -> ColumnElement[bool]:
        """Return :meth:`is_overdue` as a condition (never NULL), for lists and counts."""
        return and_(
            cls.review_by_date.is_not(None),
            cls.review_by_date < today,
            cls.status != NeedStatus.EXPIRED,
        )
