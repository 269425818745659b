"""Situation report pages: national and county dashboards, the weekly report form, corrections,
spreadsheet import, registering a need from a report, and a need's municipal indicators."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from korona.auth.models import Role
from korona.auth.permissions import Permission, Principal
from korona.errors import N_, DomainError, Forbidden, NotFound
from korona.portfolio.category import list_categories
from korona.portfolio.import_files import MAX_FILE_BYTES
from korona.portfolio.need import service as need_service
from korona.portfolio.need.models import URGENCY_ANCHORS, AffectedGroup
from korona.portfolio.need.schemas import NeedCreate
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
from korona.web.api.situation import CountyNumber, PlacesDep
from korona.web.deps import DbSession, require
from korona.web.forms import Form, Rejected, attempt, text
from korona.web.labels import translate_error
from korona.web.pages import situation_views as views
from korona.web.templating import render

router = APIRouter(prefix="/situation", include_in_schema=False)

#: The form's fields: the figures, the free text, and (new reports) municipality and week.
FORM_FIELDS = ("municipality_number", "week", *FIGURES, "needs_text")
NEED_FIELDS = ("title", "description", "category", "urgency")


class WeekQuery(BaseModel):
    """The dashboard's week (default: the newest week with a report)."""

    week: IsoWeek | None = None


def _dashboard(
    request: Request, session: Session, places: Places, county: str | None, week: str | None
) -> Response:
    weeks = dashboard.reported_weeks(session, county)
    chosen = week or next(iter(weeks), None)
    summary = dashboard.week_summary(session, places, week=chosen, county=county)
    context = {
        "summary": summary,
        "weeks": weeks,
        "series": dashboard.weekly_series(session, county=county),
        "places": places,
        "county": county,
        "county_name": places.counties.get(county) if county else None,
        "map_svg": views.load_map(request, summary, places),
        "legend": views.LOAD_LEGEND,
        "linked": service.need_ids(session, [report.id for report in summary.reports]),
        "own": service.own_municipality(session, _principal(request)),
    }
    return _render(request, "situation/dashboard.html", context)


def _render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    """Render a situation page with the field labels and the load scale every page shows."""
    shared = {"labels": views.FIGURE_LABELS, "load_levels": views.LOAD_LEVELS}
    return render(request, template, shared | context, status_code=status_code)


def _principal(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


@router.get("")
def national_dashboard(
    request: Request,
    session: DbSession,
    places: PlacesDep,
    query: Annotated[WeekQuery, Query()],
    principal: Principal = Depends(require(Permission.SITUATION_READ)),
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
    principal: Principal = Depends(require(Permission.SITUATION_READ)),
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
    session: DbSession,
    query: Annotated[ChartQuery, Query()],
    principal: Principal = Depends(require(Permission.SITUATION_READ)),
) -> Response:
    """Draw the reported figures week by week as SVG (the page has the same in a table)."""
    series = dashboard.weekly_series(session, county=query.county)
    return Response(views.weekly_chart_svg(series), media_type="image/svg+xml")


# -- reporting and correcting -------------------------------------------------------------------


def _form_values(form: Any) -> dict[str, str]:
    return {key: text(form, key) for key in FORM_FIELDS}


def _report_form(
    request: Request,
    session: Session,
    places: Places,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    report: SituationReport | None = None,
    existing: SituationReport | None = None,
    status_code: int = 200,
) -> Response:
    principal = _principal(request)
    context = {
        "values": values,
        "errors": errors,
        "report": report,
        "existing": existing,
        "places": places,
        "choose_municipality": principal.has_role(Role.PORTFOLIO_OFFICE),
        "own": service.own_municipality(session, principal),
    }
    return _render(request, "situation/form.html", context, status_code=status_code)


@router.get("/reports/new")
def new_report_form(
    request: Request,
    session: DbSession,
    places: PlacesDep,
    principal: Principal = Depends(require(Permission.SITUATION_REPORT)),
) -> Response:
    """Show the weekly report form for the reporter's municipality and the current week."""
    values = {key: "" for key in FORM_FIELDS}
    values["week"] = iso_week_label(date.today())
    values["municipality_number"] = service.own_municipality(session, principal) or ""
    return _report_form(request, session, places, values=values, errors={})


@router.post("/reports")
def submit_report(
    request: Request,
    session: DbSession,
    places: PlacesDep,
    form: Form,
    principal: Principal = Depends(require(Permission.SITUATION_REPORT)),
) -> Response:
    """Store the week's report; on bad input show every message and store nothing."""
    values = _form_values(form)
    if not principal.has_role(Role.PORTFOLIO_OFFICE):
        values["municipality_number"] = ""
    # An empty figure is left out, so that pydantic names it as missing with the others.
    payload: dict[str, Any] = {k: v for k, v in values.items() if v or k == "needs_text"}
    payload.setdefault("municipality_number", None)
    outcome = attempt(
        session,
        lambda: service.submit_report(
            session, principal, SituationReportCreate.model_validate(payload), places=places
        ),
    )
    if isinstance(outcome, Rejected):
        number = values["municipality_number"] or service.own_municipality(session, principal)
        existing = None
        if outcome.status_code == 409 and number:
            existing = service.find_report(session, number, values["week"])
        if not values["municipality_number"]:
            values["municipality_number"] = number or ""
        return _report_form(
            request,
            session,
            places,
            values=values,
            errors=outcome.errors,
            existing=existing,
            status_code=outcome.status_code,
        )
    return RedirectResponse(f"/situation/reports/{outcome.id}?created=1", status_code=303)


@router.get("/reports/{report_id}")
def report_page(
    report_id: RowId,
    request: Request,
    session: DbSession,
    places: PlacesDep,
    principal: Principal = Depends(require(Permission.SITUATION_READ)),
) -> Response:
    """Show one report with its needs and its history."""
    report = service.get_report(session, report_id)
    context = {
        "report": report,
        "places": places,
        "needs": service.needs_of_report(session, report_id),
        "history": service.report_history(session, report_id),
        "can_correct": service.may_report_for(session, principal, report.municipality_number)
        and principal.can(Permission.SITUATION_REPORT),
        "can_register_need": principal.can(Permission.NEED_CREATE)
        and service.may_report_for(session, principal, report.municipality_number),
    }
    return _render(request, "situation/report.html", context)


def _may_correct(session: Session, principal: Principal, report: SituationReport) -> None:
    if not service.may_report_for(session, principal, report.municipality_number):
        raise Forbidden(N_("You can only report for your own municipality"))


@router.get("/reports/{report_id}/edit")
def correct_report_form(
    report_id: RowId,
    request: Request,
    session: DbSession,
    places: PlacesDep,
    principal: Principal = Depends(require(Permission.SITUATION_REPORT)),
) -> Response:
    """Show the correction form of a report, filled in with its figures."""
    report = service.get_report(session, report_id)
    _may_correct(session, principal, report)
    values = {key: views.form_value(getattr(report, key, "")) for key in FORM_FIELDS}
    values["week"], values["municipality_number"] = report.week, report.municipality_number
    return _report_form(request, session, places, values=values, errors={}, report=report)


@router.post("/reports/{report_id}")
def correct_report(
    report_id: RowId,
    request: Request,
    session: DbSession,
    places: PlacesDep,
    form: Form,
    principal: Principal = Depends(require(Permission.SITUATION_REPORT)),
) -> Response:
    """Replace a report's figures; on bad input show every message and change nothing."""
    service.get_report(session, report_id)
    values = _form_values(form)
    payload = {k: values[k] for k in (*FIGURES, "needs_text") if values[k] or k == "needs_text"}
    outcome = attempt(
        session,
        lambda: service.correct_report(
            session, principal, report_id, SituationReportCorrection.model_validate(payload)
        ),
    )
    if isinstance(outcome, Rejected):
        report = service.get_report(session, report_id)
        values["week"], values["municipality_number"] = report.week, report.municipality_number
        return _report_form(
            request,
            session,
            places,
            values=values,
            errors=outcome.errors,
            report=report,
            status_code=outcome.status_code,
        )
    return RedirectResponse(f"/situation/reports/{report_id}?saved=1", status_code=303)


# -- a need from a report -----------------------------------------------------------------------


def _need_form(
    request: Request,
    session: Session,
    places: Places,
    report: SituationReport,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    context = {
        "report": report,
        "places": places,
        "values": values,
        "errors": errors,
        "categories": list_categories(session, active_only=True),
        "groups": list(AffectedGroup),
        "urgency_anchors": URGENCY_ANCHORS,
    }
    return _render(request, "situation/need_form.html", context, status_code=status_code)


def _may_register(session: Session, principal: Principal, report: SituationReport) -> None:
    if not service.may_report_for(session, principal, report.municipality_number):
        raise Forbidden(N_("You can only register needs from your own municipality's reports"))


@router.get("/reports/{report_id}/need")
def new_need_from_report(
    report_id: RowId,
    request: Request,
    session: DbSession,
    places: PlacesDep,
    principal: Principal = Depends(require(Permission.NEED_CREATE)),
) -> Response:
    """Show the need form filled in from the report's free text."""
    report = service.get_report(session, report_id)
    _may_register(session, principal, report)
    values = views.need_prefill(report, places)
    return _need_form(request, session, places, report, values=values, errors={})


@router.post("/reports/{report_id}/need")
def create_need_from_report(
    report_id: RowId,
    request: Request,
    session: DbSession,
    places: PlacesDep,
    form: Form,
    principal: Principal = Depends(require(Permission.NEED_CREATE)),
) -> Response:
    """Register the need, linked to the report, and open its page."""
    service.get_report(session, report_id)
    values: dict[str, Any] = {key: text(form, key) for key in NEED_FIELDS}
    values["affected_groups"] = form.getlist("affected_groups")
    outcome = attempt(
        session,
        lambda: service.register_need(
            session, principal, report_id, NeedCreate.model_validate(values)
        ),
    )
    if isinstance(outcome, Rejected):
        report = service.get_report(session, report_id)
        return _need_form(
            request,
            session,
            places,
            report,
            values=values,
            errors=outcome.errors,
            status_code=outcome.status_code,
        )
    return RedirectResponse(f"/needs/{outcome.id}?created=1", status_code=303)


@router.get("/needs/{need_id}/indicators")
def need_indicators(
    need_id: RowId,
    request: Request,
    session: DbSession,
    places: PlacesDep,
    principal: Principal = Depends(require(Permission.NEED_READ)),
) -> Response:
    """Show the live indicators of the municipalities a need is linked to (an htmx fragment)."""
    need = need_service.get_need(session, need_id)
    numbers = service.need_municipalities(session, need)
    context = {
        "need": need,
        "rows": views.indicator_rows(request, session, places, numbers),
        "reports": service.reports_of_need(session, need_id),
        "places": places,
    }
    # htmx swaps the fragment into the need page; without script the link opens a whole page.
    fragment = bool(request.headers.get("HX-Request"))
    template = "situation/_indicators.html" if fragment else "situation/indicators.html"
    return _render(request, template, context)


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
    return _render(request, "situation/import.html", context, status_code=status_code)


def _row_error_text(item: imports.RowError) -> str:
    if item.detail is not None:
        return i18n.translate_validation_error(item.detail)
    return translate_error(DomainError(item.message, **item.params))


@router.get("/import")
def import_form(
    request: Request,
    principal: Principal = Depends(require(Permission.SITUATION_REPORT)),
) -> Response:
    """Show the import form with the sheet's columns."""
    return _import_page(request)


@router.post("/import")
def import_upload(
    request: Request,
    session: DbSession,
    places: PlacesDep,
    form: Form,
    principal: Principal = Depends(require(Permission.SITUATION_REPORT)),
) -> Response:
    """Import a CSV or XLSX sheet: any bad row imports nothing and is named with its column."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return _import_page(request, error=i18n.gettext("Choose a file"), status_code=422)
    upload.file.seek(0)
    content = upload.file.read(MAX_FILE_BYTES + 1)

    def run() -> imports.ImportResult | imports.ReportImportRejected:
        try:
            return imports.import_reports(
                session, principal, upload.filename or "", content, places=places
            )
        except imports.ReportImportRejected as rejected:
            return rejected  # attempt() rolls back what is not a result

    outcome = attempt(session, run, keep=lambda found: isinstance(found, imports.ImportResult))
    if isinstance(outcome, Rejected):
        return _import_page(request, error=outcome.message, status_code=outcome.status_code)
    if isinstance(outcome, imports.ReportImportRejected):
        rows = [(e.row or "–", e.column, _row_error_text(e)) for e in outcome.errors]
        return _import_page(request, errors=rows, status_code=422)
    return _import_page(request, result=outcome)
