"""National and county views of the situation reports: one week's table, who has not
reported, and the figures week by week."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from korona.portfolio.situation.models import SituationReport
from korona.portfolio.situation.places import Places
from korona.portfolio.situation.service import ReportFilter, list_reports

#: A home-care load at or above this is counted as strained (4 = heavy, 5 = critical).
STRAINED_HOME_CARE = 4
#: How many reported weeks the charts go back.
CHART_WEEKS = 12


def _in_county(county: str | None) -> ColumnElement[bool]:
    return SituationReport.municipality_number.startswith(county) if county else true()


def reported_weeks(county: str | None = None, *, session: Session) -> list[str]:
    """Return the ISO weeks with at least one report (in the county), newest first."""
    rows = session.execute(
        select(SituationReport.iso_year, SituationReport.iso_week)
        .where(_in_county(county))
        .distinct()
    ).all()
    weeks = sorted({(int(year), int(week)) for year, week in rows}, reverse=True)
    return [f"{year:04d}-W{week:02d}" for year, week in weeks]


@dataclass(frozen=True)
class WeekSummary:
    """One week of reports in the whole country or one county."""

    week: str | None
    county: str | None
    reports: Sequence[SituationReport]
    missing: Sequence[tuple[str, str]]
    expected: int

    @property
    def reported(self) -> int:
        """Return how many municipalities reported."""
        return len(self.reports)

    def total(self, figure: str) -> int:
        """Return the sum of a count figure over the reports."""
        return sum(int(getattr(report, figure)) for report in self.reports)

    def mean(self, figure: str) -> float | None:
        """Return the mean of a figure over the reports (None without reports)."""
        if not self.reports:
            return None
        return sum(float(getattr(report, figure)) for report in self.reports) / len(self.reports)

    @property
    def strained_home_care(self) -> int:
        """Return how many municipalities report a heavy or critical home-care load."""
        return sum(report.home_care_load >= STRAINED_HOME_CARE for report in self.reports)


def week_summary(
    places: Places, *, session: Session, week: str | None, county: str | None = None
) -> WeekSummary:
    """Return a week's reports (sorted by municipality name) and the municipalities missing."""
    expected = places.in_county(county)
    if week is None:
        missing = [(number, places.municipality_name(number)) for number in expected]
        return WeekSummary(None, county, [], sorted(missing, key=lambda m: m[1]), len(expected))
    reports = sorted(
        list_reports(ReportFilter(week=week, county=county), session=session),
        key=lambda report: places.municipality_name(report.municipality_number),
    )
    reported = {report.municipality_number for report in reports}
    missing = sorted(
        (
            (number, places.municipality_name(number))
            for number in expected
            if number not in reported
        ),
        key=lambda item: item[1],
    )
    return WeekSummary(week, county, reports, missing, len(expected))


@dataclass(frozen=True)
class WeekPoint:
    """The reports of one week added up: counts summed, percentages and scales averaged."""

    week: str
    reported: int
    nursing_home_beds_free: int
    acute_beds_free: int
    test_capacity_per_day: int
    tracing_capacity_per_day: int
    staff_absence_percent: float
    home_care_load: float


def weekly_series(
    *, session: Session, county: str | None = None, weeks: int = CHART_WEEKS
) -> list[WeekPoint]:
    """Return the last ``weeks`` reported weeks, oldest first, each week's reports added up."""
    r = SituationReport
    rows = session.execute(
        select(
            r.iso_year,
            r.iso_week,
            func.count(r.id),
            func.sum(r.nursing_home_beds_free),
            func.sum(r.acute_beds_free),
            func.sum(r.test_capacity_per_day),
            func.sum(r.tracing_capacity_per_day),
            func.avg(r.staff_absence_percent),
            func.avg(r.home_care_load),
        )
        .where(_in_county(county))
        .group_by(r.iso_year, r.iso_week)
        .order_by(r.iso_year.desc(), r.iso_week.desc())
        .limit(weeks)
    ).all()
    return [
        WeekPoint(
            week=f"{year:04d}-W{week:02d}",
            reported=int(count),
            nursing_home_beds_free=int(nursing),
            acute_beds_free=int(acute),
            test_capacity_per_day=int(tests),
            tracing_capacity_per_day=int(tracing),
            staff_absence_percent=round(float(absence), 1),
            home_care_load=round(float(load), 1),
        )
        for year, week, count, nursing, acute, tests, tracing, absence, load in reversed(rows)
    ]
