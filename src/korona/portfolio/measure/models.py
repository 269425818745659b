"""ORM models of a measure (tiltak), its milestones, progress reports and experience notes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from korona.auth.models import Organisation, User, enum_column
from korona.db import Base, UTCDateTime, utcnow
from korona.portfolio.columns import TemplateText, owner_key, timestamp_column
from korona.portfolio.need.models import Need


class MeasureStatus(StrEnum):
    """Where a measure is: planned → in progress (iverksatt) → delivered (levert), or stopped."""

    PLANNED = "planned"  # planlagt
    IN_PROGRESS = "in_progress"  # iverksatt
    DELIVERED = "delivered"  # levert
    STOPPED = "stopped"  # stanset


#: Allowed status changes; delivered and stopped are final.
MEASURE_TRANSITIONS: dict[MeasureStatus, frozenset[MeasureStatus]] = {
    MeasureStatus.PLANNED: frozenset({MeasureStatus.IN_PROGRESS, MeasureStatus.STOPPED}),
    MeasureStatus.IN_PROGRESS: frozenset({MeasureStatus.DELIVERED, MeasureStatus.STOPPED}),
    MeasureStatus.DELIVERED: frozenset(),
    MeasureStatus.STOPPED: frozenset(),
}


class Rag(StrEnum):
    """A progress report's traffic light (grønn/gul/rød)."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"


class NoticeKind(StrEnum):
    """The letters this feature sends; each has an editable template per language."""

    DELIVERED = "delivered"  # tiltak levert
    REVIEW_DUE = "review_due"  # behovet har passert revisjonsdatoen


class Programme(Base):
    """A national programme (nasjonalt program): the managed list measures belong to."""

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Measure(Base):
    """A measure (tiltak): a prioritised input being carried out by an owner organisation."""

    __tablename__ = "measure"
    __table_args__ = (
        CheckConstraint(
            "status != 'stopped' OR stop_reason IS NOT NULL", name="stopped_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id"), index=True
    )
    responsible_name: Mapped[str] = mapped_column(String(200), default="")
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programme.id"), index=True)
    status: Mapped[MeasureStatus] = mapped_column(
        enum_column(MeasureStatus), default=MeasureStatus.PLANNED, index=True
    )
    stop_reason: Mapped[str | None] = mapped_column(Text)
    input_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposal_input.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    owner: Mapped[Organisation | None] = relationship(lazy="joined")
    programme: Mapped[Programme | None] = relationship(lazy="joined")
    need_links: Mapped[list[MeasureNeed]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )
    milestones: Mapped[list[Milestone]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="(Milestone.planned_date, Milestone.id)",
    )
    reports: Mapped[list[ProgressReport]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="ProgressReport.id.desc()"
    )

    @property
    def need_ids(self) -> list[int]:
        """Return the ids of the needs this measure covers."""
        return sorted(link.need_id for link in self.need_links)

    @property
    def latest_report(self) -> ProgressReport | None:
        """Return the newest progress report, if any."""
        return self.reports[0] if self.reports else None


class MeasureNeed(Base):
    """A need that a measure covers."""

    __tablename__ = "measure_need"
    __table_args__ = (UniqueConstraint("measure_id", "need_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = owner_key("measure.id")
    need_id: Mapped[int] = owner_key("need.id")

    need: Mapped[Need] = relationship(lazy="joined")


class Milestone(Base):
    """A milestone of a measure: planned date, and the date it was done."""

    __tablename__ = "milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = owner_key("measure.id")
    title: Mapped[str] = mapped_column(String(200))
    planned_date: Mapped[date] = mapped_column(Date)
    done_date: Mapped[date | None] = mapped_column(Date)


class ProgressReport(Base):
    """A progress report (fremdriftsrapport) by the measure's owner: RAG, text, next milestone."""

    __tablename__ = "progress_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = owner_key("measure.id")
    rag: Mapped[Rag] = mapped_column(enum_column(Rag))
    text: Mapped[str] = mapped_column(Text)
    next_milestone: Mapped[str] = mapped_column(String(200), default="")
    reported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    reported_by: Mapped[User | None] = relationship(lazy="joined")


class ExperienceNote(Base):
    """Experience sharing (erfaringsdeling): an organisation uses a solution or a measure."""

    __tablename__ = "experience_note"
    __table_args__ = (
        CheckConstraint("(solution_id IS NULL) != (measure_id IS NULL)", name="one_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    solution_id: Mapped[int | None] = owner_key("solution.id")
    measure_id: Mapped[int | None] = owner_key("measure.id")
    note: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = timestamp_column()

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class NoticeTemplate(TemplateText, Base):
    """An editable template of a measure or reminder letter in one language."""

    __tablename__ = "notice_template"
    __table_args__ = (UniqueConstraint("kind", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[NoticeKind] = mapped_column(enum_column(NoticeKind))


class ReviewReminder(Base):
    """A reminder sent for one need and one review date; the unique key makes sending idempotent."""

    __tablename__ = "review_reminder"
    __table_args__ = (UniqueConstraint("need_id", "review_by_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id", ondelete="CASCADE"))
    review_by_date: Mapped[date] = mapped_column(Date)
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="SET NULL")
    )
    sent_at: Mapped[datetime] = timestamp_column()
