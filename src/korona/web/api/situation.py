"""JSON API for municipal situation reports: /api/v1/situation-reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from korona.portfolio.import_files import MAX_FILE_BYTES
from korona.portfolio.situation import dashboard, imports, service
from korona.portfolio.situation.models import SituationReport
from korona.portfolio.situation.places import Places, load_places
from korona.portfolio.situation.schemas import (
    IsoWeek,
    SituationReportCorrection,
    SituationReportCreate,
    SituationReportRead,
)
from korona.validation import MunicipalityNumber, RowId
from korona.web.access import CanSituationRead, CanSituationReport
from korona.web.deps import DbSession, get_settings
from korona.web.errors import Problem
from korona.web.forms import ListQuery, Page, answer_page

router = APIRouter(prefix="/api/v1/situation-reports", tags=["situation reports"])

CountyNumber = Annotated[str, Field(pattern=r"^[0-9]{2}$", description="County number, e.g. 46")]


def get_places(request: Request) -> Places:
    """Return the municipalities and counties of the app's reference data."""
    return load_places(get_settings(request).reference_dir)


PlacesDep = Annotated[Places, Depends(get_places)]


class ReportQuery(ListQuery):
    """Filters of the report list."""

    week: IsoWeek | None = None
    county: CountyNumber | None = None
    municipality_number: MunicipalityNumber | None = None

    def to_filter(self) -> service.ReportFilter:
        """Return the service's filter."""
        return service.ReportFilter(self.week, self.county, self.municipality_number)


class SummaryQuery(BaseModel):
    """Which week and area a summary covers (default: the newest reported week, all Norway)."""

    week: IsoWeek | None = None
    county: CountyNumber | None = None


class Municipality(BaseModel):
    """A municipality by number and name."""

    number: str
    name: str


class WeekSummaryRead(BaseModel):
    """One week's reports added up, and the municipalities that have not reported."""

    week: str | None
    county: str | None
    expected: int
    reported: int
    nursing_home_beds_free: int
    acute_beds_free: int
    test_capacity_per_day: int
    tracing_capacity_per_day: int
    mean_staff_absence_percent: float | None
    mean_home_care_load: float | None
    strained_home_care: int = Field(description="Municipalities with home-care load 4 or 5")
    missing: list[Municipality]
    weeks: list[dashboard.WeekPoint] = Field(description="The last reported weeks, oldest first")


class HistoryEntry(BaseModel):
    """One recorded change to a report."""

    at: str
    actor: str
    action: str
    before: dict[str, object] | None
    after: dict[str, object] | None


class ImportResultRead(BaseModel):
    """What an import stored."""

    rows: int
    created: int
    corrected: int
    unchanged: int


def _read(places: Places, report: SituationReport, *, session: Session) -> SituationReportRead:
    linked = service.need_ids([report.id], session=session)[report.id]
    return service.to_read(report, places, linked)


@router.get("", response_model=list[SituationReportRead])
def list_reports(
    session: DbSession,
    places: PlacesDep,
    response: Response,
    query: Annotated[ReportQuery, Query()],
    principal: CanSituationRead,
) -> list[SituationReportRead]:
    """List reports, newest week first, a page at a time (X-Total-Count: all that match)."""
    page = Page.of(service.list_reports(query.to_filter(), session=session), query)
    reports = answer_page(response, page)
    linked = service.need_ids([report.id for report in reports], session=session)
    return [service.to_read(report, places, linked[report.id]) for report in reports]


@router.post("", response_model=SituationReportRead, status_code=201)
def submit_report(
    data: SituationReportCreate,
    session: DbSession,
    places: PlacesDep,
    principal: CanSituationReport,
) -> SituationReportRead:
    """Report a week for a municipality (409 if it has reported that week: PUT corrects)."""
    report = service.submit_report(principal, data, session=session, places=places)
    return service.to_read(report, places, [])


@router.get("/summary", response_model=WeekSummaryRead)
def summary(
    session: DbSession,
    places: PlacesDep,
    query: Annotated[SummaryQuery, Query()],
    principal: CanSituationRead,
) -> WeekSummaryRead:
    """Add up one week of reports nationally or in a county, with who has not reported."""
    week = query.week or next(iter(dashboard.reported_weeks(query.county, session=session)), None)
    found = dashboard.week_summary(places, session=session, week=week, county=query.county)
    return WeekSummaryRead(
        week=found.week,
        county=found.county,
        expected=found.expected,
        reported=found.reported,
        nursing_home_beds_free=found.total("nursing_home_beds_free"),
        acute_beds_free=found.total("acute_beds_free"),
        test_capacity_per_day=found.total("test_capacity_per_day"),
        tracing_capacity_per_day=found.total("tracing_capacity_per_day"),
        mean_staff_absence_percent=found.mean("staff_absence_percent"),
        mean_home_care_load=found.mean("home_care_load"),
        strained_home_care=found.strained_home_care,
        missing=[Municipality(number=n, name=name) for n, name in found.missing],
        weeks=dashboard.weekly_series(session=session, county=query.county),
    )


@router.post(
    "/import",
    response_model=ImportResultRead,
    responses={422: {"description": "Nothing was imported; `errors` lists row, column, message"}},
)
def import_reports(
    session: DbSession,
    places: PlacesDep,
    file: Annotated[UploadFile, File(description="CSV or XLSX with the documented columns")],
    principal: CanSituationReport,
) -> ImportResultRead:
    """Import a sheet of reports: all rows or none (an existing week is corrected)."""
    content = file.file.read(MAX_FILE_BYTES + 1)
    try:
        result = imports.import_reports(
            principal, file.filename or "", content, session=session, places=places
        )
    except imports.ReportImportRejected as rejected:
        errors = [
            {"row": error.row, "column": error.column, "message": error.text}
            for error in rejected.errors
        ]
        raise Problem(422, f"Nothing was imported: {rejected}", errors=errors) from None
    return ImportResultRead(**vars(result))


@router.get("/{report_id}", response_model=SituationReportRead)
def get_report(
    report_id: RowId, session: DbSession, places: PlacesDep, principal: CanSituationRead
) -> SituationReportRead:
    """Return one report."""
    return _read(places, service.get_report(report_id, session=session), session=session)


@router.put("/{report_id}", response_model=SituationReportRead)
def correct_report(
    report_id: RowId,
    data: SituationReportCorrection,
    session: DbSession,
    places: PlacesDep,
    principal: CanSituationReport,
) -> SituationReportRead:
    """Correct a report: the figures and text sent replace it; the history keeps the old."""
    return _read(
        places, service.correct_report(principal, report_id, data, session=session), session=session
    )


@router.get("/{report_id}/history", response_model=list[HistoryEntry])
def report_history(
    report_id: RowId, session: DbSession, principal: CanSituationRead
) -> list[HistoryEntry]:
    """Return every recorded change to a report, oldest first."""
    service.get_report(report_id, session=session)
    return [
        HistoryEntry(
            at=entry.at.isoformat(),
            actor=entry.actor,
            action=entry.action,
            before=entry.before,
            after=entry.after,
        )
        for entry in service.report_history(report_id, session=session)
    ]
