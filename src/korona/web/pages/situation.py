"""Situation report pages: national and county dashboards, the weekly report form, corrections,
spreadsheet import, registering a need from a report, and a need's municipal indicators."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from korona.auth.models import Role
from korona.auth.permissions import Permission, Principal
from korona.errors import N_, NotFound
from korona.portfolio.situation import dashboard, imports, service
from korona.portfolio.situation.models import SituationReport
from korona.portfolio.situation.places import Places
from korona.portfolio.situation.schemas import (
    FIGURES,
    IsoWeek,
    SituationReportCorrection,
    SituationReportCreate,
)
from korona.surveillance.calendar import iso_week_label
from korona.validation import RowId
from korona.web import i18n
from korona.web.access import CanSituationRead, CanSituationReport
from korona.web.api.situation import CountyNumber, PlacesDep
from korona.web.charts import svg_response
from korona.web.deps import DbSession
from korona.web.forms import NO_ERRORS, Form, Rejected, attempt, row_errors, text, uploaded
from korona.web.handlers import submit
from korona.web.pages import situation_views as views

router = APIRouter(prefix="/situation", include_in_schema=False)

#: The form's fields: the figures, the free text, and (new reports) municipality and week.
FORM_FIELDS = ("municipality_number", "week", *FIGURES, "needs_text")


class WeekQuery(BaseModel):
    """The dashboard's week (default: the newest week with a report)."""

    week: IsoWeek | None = None


def _dashboard(
    request: Request, session: Session, places: Places, county: str | None, week: str | None
) -> Response:
    weeks = dashboard.reported_weeks(county, session=session)
    chosen = week or next(iter(weeks), None)
    summary = dashboard.week_summary(places, session=session, week=chosen, county=county)
    context = {
        "summary": summary,
        "weeks": weeks,
        "series": dashboard.weekly_series(session=session, county=county),
        "places": places,
        "county": county,
        "county_name": places.counties.get(county) if county else None,
        "map_svg": views.load_map(request, summary, places),
        "legend": views.LOAD_LEGEND,
        "linked": service.need_ids([report.id for report in summary.reports], session=session),
        "own": service.own_municipality(_principal(request), session=session),
    }
    return views.render_page(request, "situation/dashboard.html", context)


def _principal(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


@router.get("")
def national_dashboard(
    request: Request,
    session: DbSession,
    places: PlacesDep,
    query: Annotated[WeekQuery, Query()],
    principal: CanSituationRead,
) -> Response:
    """Show the national dashboard: the week's table, map, charts and who has not reported."""
    return _dashboard(request, session, places, None, query.week)


@router.get("/county/{county_number}")
def county_dashboard(
    county_number: Annotated[str, Path(pattern=r"^[0-9]{2}$")],
    request: Request,
    session: DbSession,
    places: PlacesDep,
    query: Annotated[WeekQuery, Query()],
    principal: CanSituationRead,
) -> Response:
    """Show one county's dashboard."""
    if county_number not in places.counties:
        raise NotFound(N_("County {county} does not exist"), county=county_number)
    return _dashboard(request, session, places, county_number, query.week)


class ChartQuery(BaseModel):
    """Which area a chart covers."""

    county: CountyNumber | None = None


@router.get("/chart.svg")
def weekly_chart(
    session: DbSession, query: Annotated[ChartQuery, Query()], principal: CanSituationRead
) -> Response:
    """Draw the reported figures week by week as SVG (the page has the same in a table)."""
    series = dashboard.weekly_series(session=session, county=query.county)
    return svg_response(views.weekly_chart_svg(series))


# -- reporting and correcting -------------------------------------------------------------------


def _form_values(form: Any) -> dict[str, str]:
    return {key: text(form, key) for key in FORM_FIELDS}


def _report_form(
    request: Request,
    session: Session,
    places: Places,
    values: dict[str, str],
    *,
    report: SituationReport | None = None,
    existing: SituationReport | None = None,
    rejected: Rejected = NO_ERRORS,
) -> Response:
    principal = _principal(request)
    context = {
        "values": values,
        "errors": rejected.errors,
        "report": report,
        "existing": existing,
        "places": places,
        "choose_municipality": principal.has_role(Role.PORTFOLIO_OFFICE),
        "own": service.own_municipality(principal, session=session),
    }
    return views.render_page(
        request, "situation/form.html", context, status_code=rejected.status_code
    )


@router.get("/reports/new")
def new_report_form(
    request: Request, session: DbSession, places: PlacesDep, principal: CanSituationReport
) -> Response:
    """Show the weekly report form for the reporter's municipality and the current week."""
    values = {key: "" for key in FORM_FIELDS}
    values["week"] = iso_week_label(date.today())
    values["municipality_number"] = service.own_municipality(principal, session=session) or ""
    return _report_form(request, session, places, values)


@router.post("/reports")
def submit_report(
    request: Request,
    session: DbSession,
    places: PlacesDep,
    form: Form,
    principal: CanSituationReport,
) -> Response:
    """Store the week's report; on bad input show every message and store nothing."""
    values = _form_values(form)
    if not principal.has_role(Role.PORTFOLIO_OFFICE):
        values["municipality_number"] = ""
    # An empty figure is left out, so that pydantic names it as missing with the others.
    payload: dict[str, Any] = {k: v for k, v in values.items() if v or k == "needs_text"}
    payload.setdefault("municipality_number", None)

    def redraw(rejected: Rejected) -> Response:
        number = values["municipality_number"] or service.own_municipality(
            principal, session=session
        )
        existing = None
        if rejected.status_code == 409 and number:
            existing = service.find_report(number, values["week"], session=session)
        if not values["municipality_number"]:
            values["municipality_number"] = number or ""
        return _report_form(request, session, places, values, existing=existing, rejected=rejected)

    return submit(
        lambda: service.submit_report(
            principal, SituationReportCreate.model_validate(payload), session=session, places=places
        ),
        session=session,
        redraw=redraw,
        done=lambda report: f"/situation/reports/{report.id}?created=1",
    )


@router.get("/reports/{report_id}")
def report_page(
    report_id: RowId,
    request: Request,
    session: DbSession,
    places: PlacesDep,
    principal: CanSituationRead,
) -> Response:
    """Show one report with its needs and its history."""
    report = service.get_report(report_id, session=session)
    context = {
        "report": report,
        "places": places,
        "needs": service.needs_of_report(report_id, session=session),
        "history": service.report_history(report_id, session=session),
        "can_correct": service.may_report_for(
            principal, report.municipality_number, session=session
        )
        and principal.can(Permission.SITUATION_REPORT),
        "can_register_need": principal.can(Permission.NEED_CREATE)
        and service.may_report_for(principal, report.municipality_number, session=session),
    }
    return views.render_page(request, "situation/report.html", context)


@router.get("/reports/{report_id}/edit")
def correct_report_form(
    report_id: RowId,
    request: Request,
    session: DbSession,
    places: PlacesDep,
    principal: CanSituationReport,
) -> Response:
    """Show the correction form of a report, filled in with its figures."""
    refusal = N_("You can only report for your own municipality")
    report = views.own_report(report_id, principal, refusal, session=session)
    values = {key: views.form_value(getattr(report, key, "")) for key in FORM_FIELDS}
    values["week"], values["municipality_number"] = report.week, report.municipality_number
    return _report_form(request, session, places, values, report=report)


@router.post("/reports/{report_id}")
def correct_report(
    report_id: RowId,
    request: Request,
    session: DbSession,
    places: PlacesDep,
    form: Form,
    principal: CanSituationReport,
) -> Response:
    """Replace a report's figures; on bad input show every message and change nothing."""
    service.get_report(report_id, session=session)
    values = _form_values(form)
    payload = {k: values[k] for k in (*FIGURES, "needs_text") if values[k] or k == "needs_text"}

    def redraw(rejected: Rejected) -> Response:
        report = service.get_report(report_id, session=session)
        values["week"], values["municipality_number"] = report.week, report.municipality_number
        return _report_form(request, session, places, values, report=report, rejected=rejected)

    return submit(
        lambda: service.correct_report(
            principal, report_id, SituationReportCorrection.model_validate(payload), session=session
        ),
        session=session,
        redraw=redraw,
        done=f"/situation/reports/{report_id}?saved=1",
    )


# -- import ---------------------------------------------------------------------------------------


def _import_page(
    request: Request,
    *,
    result: imports.ImportResult | None = None,
    errors: list[tuple[Any, str, str]] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "result": result,
        "errors": errors or [],
        "error": error,
        "columns": imports.COLUMNS,
    }
    return views.render_page(request, "situation/import.html", context, status_code=status_code)


@router.get("/import")
def import_form(request: Request, principal: CanSituationReport) -> Response:
    """Show the import form with the sheet's columns."""
    return _import_page(request)


@router.post("/import")
def import_upload(
    request: Request,
    session: DbSession,
    places: PlacesDep,
    form: Form,
    principal: CanSituationReport,
) -> Response:
    """Import a CSV or XLSX sheet: any bad row imports nothing and is named with its column."""
    sent = uploaded(form)
    if sent is None:
        return _import_page(request, error=i18n.gettext("Choose a file"), status_code=422)
    filename, content = sent

    def run() -> imports.ImportResult | imports.ReportImportRejected:
        try:
            return imports.import_reports(
                principal, filename, content, session=session, places=places
            )
        except imports.ReportImportRejected as rejected:
            return rejected  # attempt() rolls back what is not a result

    outcome = attempt(
        run, session=session, keep=lambda found: isinstance(found, imports.ImportResult)
    )
    if isinstance(outcome, Rejected):
        return _import_page(request, error=outcome.message, status_code=outcome.status_code)
    if isinstance(outcome, imports.ReportImportRejected):
        return _import_page(request, errors=row_errors(outcome.errors), status_code=422)
    return _import_page(request, result=outcome)
