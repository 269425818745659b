"""ORM models of a municipality's weekly situation report and its links to registered needs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from korona.auth.models import User
from korona.db import Base
from korona.portfolio.columns import timestamp_column
from korona.portfolio.need.models import Need


class SituationReport(Base):
    """One municipality's situation report (kommunal situasjonsrapport) for one ISO week.

    The unique constraint, not a look-up, keeps it to one report per municipality and week;
    a correction changes the row in place and the audit log keeps what it replaced.
    """

    __tablename__ = "situation_report"
    __table_args__ = (
        UniqueConstraint("municipality_number", "iso_year", "iso_week"),
        CheckConstraint("length(municipality_number) = 4", name="municipality_number_length"),
        CheckConstraint("iso_week BETWEEN 1 AND 53", name="iso_week_range"),
        CheckConstraint("nursing_home_beds_free >= 0", name="nursing_home_beds_free_range"),
        CheckConstraint("acute_beds_free >= 0", name="acute_beds_free_range"),
        CheckConstraint("test_capacity_per_day >= 0", name="test_capacity_per_day_range"),
        CheckConstraint(
            "staff_absence_percent >= 0 AND staff_absence_percent <= 100",
            name="staff_absence_percent_range",
        ),
        CheckConstraint("home_care_load BETWEEN 1 AND 5", name="home_care_load_range"),
        CheckConstraint("tracing_capacity_per_day >= 0", name="tracing_capacity_per_day_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_number: Mapped[str] = mapped_column(String(4), index=True)
    iso_year: Mapped[int] = mapped_column()
    iso_week: Mapped[int] = mapped_column()
    #: Free beds in nursing homes (ledige sykehjemsplasser).
    nursing_home_beds_free: Mapped[int] = mapped_column()
    #: Free municipal acute beds (ledige kommunale akutte døgnplasser, KAD).
    acute_beds_free: Mapped[int] = mapped_column()
    #: Covid-19 tests the municipality can take a day (testkapasitet per døgn).
    test_capacity_per_day: Mapped[int] = mapped_column()
    #: Staff absent from work, in per cent of the municipal health and care staff.
    staff_absence_percent: Mapped[float] = mapped_column(Float)
    #: Load on home care (hjemmetjenesten), 1 = normal … 5 = critical.
    home_care_load: Mapped[int] = mapped_column()
    #: New cases a day the infection-tracing team can trace (smittesporingskapasitet).
    tracing_capacity_per_day: Mapped[int] = mapped_column()
    #: Needs in the municipality's own words (behov), free text.
    needs_text: Mapped[str] = mapped_column(Text, default="")
    reported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()

    reported_by: Mapped[User | None] = relationship(lazy="select")

    @property
    def week(self) -> str:
        """Return the report's ISO week as ``"2020-W05"``."""
        return f"{self.iso_year:04d}-W{self.iso_week:02d}"


class SituationReportNeed(Base):
    """A need registered from a situation report's free text (one report, many needs)."""

    __tablename__ = "situation_report_need"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("situation_report.id"), index=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"), unique=True)
    created_at: Mapped[datetime] = timestamp_column()

    report: Mapped[SituationReport] = relationship(lazy="joined")
    need: Mapped[Need] = relationship(lazy="joined")
