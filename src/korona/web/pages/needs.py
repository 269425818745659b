"""Needs pages (behov): list with filters, overview with chart, export, register, edit, validate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from korona.auth import service as auth_service
from korona.auth.models import Role, Sector
from korona.auth.permissions import Permission, Principal
from korona.errors import N_, Forbidden, InvalidInput
from korona.municipalities import Municipalities
from korona.portfolio.category import list_categories
from korona.portfolio.intake import service as intake
from korona.portfolio.measure.service import measures_for_need
from korona.portfolio.need import export, service
from korona.portfolio.need.models import (
    NEED_TRANSITIONS,
    URGENCY_ANCHORS,
    AffectedGroup,
    Need,
    NeedStatus,
)
from korona.portfolio.need.schemas import NeedCreate, NeedUpdate
from korona.tabular import Audience
from korona.validation import RowId, row_id_or_none
from korona.web import i18n
from korona.web.access import CanNeedCreate, CanNeedEdit, CanNeedRead, CanNeedValidate
from korona.web.charts import DEFAULT_WIDTH, ChartWidth, stacked_bar_svg, svg_response
from korona.web.deps import DbSession, get_municipalities
from korona.web.exports import AudienceQuery, export_response
from korona.web.forms import NO_ERRORS, Form, NeedQuery, Page, Rejected, check_all
from korona.web.handlers import form_page, see_other, submit
from korona.web.history import history_lines
from korona.web.labels import label
from korona.web.templating import category_names, render

router = APIRouter(prefix="/needs", include_in_schema=False)

#: Chart colours by status: green is covered, red is not covered (all ≥ 3:1 against white).
STATUS_COLOURS = {
    NeedStatus.REGISTERED: "#6b7785",
    NeedStatus.VALIDATED: "#0062ba",
    NeedStatus.COVERED: "#1e7a46",
    NeedStatus.PARTLY_COVERED: "#a15c00",
    NeedStatus.UNCOVERED: "#b3253a",
    NeedStatus.EXPIRED: "#3d4a57",
}


def status_colours() -> dict[str, str]:
    """The chart colours keyed by each status's label in the current language, as the charts'
    rows name their stacks."""
    return {label(status): colour for status, colour in STATUS_COLOURS.items()}


FORM_FIELDS = (
    "title",
    "description",
    "category",
    "clinical_line",
    "municipality_number",
    "urgency",
    "review_by_date",
    "organisation_id",
)
OPTIONAL_FIELDS = frozenset({"municipality_number", "review_by_date", "organisation_id"})


def _choices(*, session: Session) -> dict[str, Any]:
    return {
        "categories": list_categories(session=session),
        "sectors": list(Sector),
        "statuses": list(NeedStatus),
        "groups": list(AffectedGroup),
        "urgency_anchors": URGENCY_ANCHORS,
        "organisations": auth_service.list_organisations(session=session),
    }


@router.get("")
def needs_list(
    request: Request,
    session: DbSession,
    query: Annotated[NeedQuery, Query()],
    principal: CanNeedRead,
) -> Response:
    """List needs with filters, a page at a time; htmx requests get only the result table."""
    filters = query.to_filter()
    page = Page.fetch(query, partial(service.page_needs, filters, session=session))
    context = {
        "needs": page.items,
        "page": page,
        "filters": filters,
        **_choices(session=session),
    }
    template = "needs/_table.html" if request.headers.get("HX-Request") else "needs/list.html"
    return render(request, template, context)


@router.get("/overview")
def needs_overview(
    request: Request,
    session: DbSession,
    query: Annotated[NeedQuery, Query()],
    principal: CanNeedRead,
) -> Response:
    """Show the needs overview (behovsoversikt): counts by sector, category, status, org."""
    filters = query.to_filter()
    context = {
        "counts": service.overview(filters, session=session),
        "filters": filters,
        **_choices(session=session),
    }
    return render(request, "needs/overview.html", context)


@router.get("/overview/chart.svg")
def needs_chart(
    session: DbSession,
    query: Annotated[NeedQuery, Query()],
    principal: CanNeedRead,
    width: ChartWidth = DEFAULT_WIDTH,
) -> Response:
    """Draw needs per category, stacked by status, as SVG ``width`` pixels wide."""
    counts = service.overview(query.to_filter(), session=session)
    names = category_names(list_categories(session=session))
    rows = [
        {"category": names.get(code, code), "status": label(NeedStatus(status)), "n": n}
        for (code, status), n in counts.by_category_status.items()
    ]
    svg = stacked_bar_svg(
        rows,
        category="category",
        value="n",
        stack="status",
        category_title=i18n.gettext("Category"),
        value_title=i18n.gettext("Number of needs"),
        stack_title=i18n.gettext("Status"),
        colors=status_colours(),
        width=width,
    )
    return svg_response(svg)


@router.get("/export.{fmt}")
def needs_export(
    fmt: str,
    session: DbSession,
    query: Annotated[NeedQuery, Query()],
    principal: CanNeedRead,
    audience: AudienceQuery = Audience.PEOPLE,
) -> Response:
    """Download the filtered needs as CSV or XLSX (for people or for machines)."""
    rows = export.export_rows(service.list_needs(query.to_filter(), session=session))
    return export_response(fmt, export.EXPORT_COLUMNS, rows, name="behov", audience=audience)


def _form_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {key: (form.get(key) or "").strip() for key in FORM_FIELDS}
    values["affected_groups"] = form.getlist("affected_groups")
    return values


def _to_payload(values: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Turn form values into a schema payload; empty optional fields mean "none"."""
    payload = {
        key: None if key in OPTIONAL_FIELDS and value == "" else value
        for key, value in values.items()
    }
    if partial:
        payload.pop("organisation_id", None)
    return payload


def _raw_checks(
    principal: Principal,
    values: dict[str, Any],
    places: Municipalities,
    *,
    session: Session,
    new: bool,
) -> list[Callable[[], object]]:
    """Return the service's checks on the raw form values, so all errors show in one round."""
    checks: list[Callable[[], object]] = [
        lambda: service.check_category(values["category"], session=session),
        lambda: places.check(values["municipality_number"] or None),
    ]
    if new:
        organisation = values["organisation_id"]
        checks.append(
            lambda: service.reporting_organisation(
                principal, row_id_or_none(organisation), session=session
            )
        )
        checks.append(lambda: service.check_review_date(_date_or_none(values["review_by_date"])))
    return checks


def _date_or_none(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None  # the form's own validation reports the format


def _form_page(
    request: Request,
    session: Session,
    values: dict[str, Any],
    need: Need | None = None,
    rejected: Rejected = NO_ERRORS,
) -> Response:
    context = {"values": values, "need": need, **_choices(session=session)}
    return form_page(request, "needs/form.html", context, rejected)


@router.get("/new")
def new_need_form(request: Request, session: DbSession, principal: CanNeedCreate) -> Response:
    """Show the form for reporting a need."""
    values = {
        "urgency": "2",
        "affected_groups": [],
        "organisation_id": str(principal.organisation_id or ""),
    }
    return _form_page(request, session, values)


@router.post("")
def create_need(
    request: Request, session: DbSession, form: Form, principal: CanNeedCreate
) -> Response:
    """Register a need from the form; on bad input show the form again with messages."""
    values = _form_values(form)
    if not principal.has_role(Role.PORTFOLIO_OFFICE):
        values["organisation_id"] = ""
    places = get_municipalities(request)

    def create() -> Need:
        data = check_all(
            NeedCreate,
            _to_payload(values, partial=False),
            _raw_checks(principal, values, places, session=session, new=True),
        )
        return service.create_need(principal, data, session=session, places=places)

    return submit(
        create,
        session=session,
        redraw=lambda rejected: _form_page(request, session, values, rejected=rejected),
        done=lambda need: f"/needs/{need.id}?created=1",
    )


@router.get("/{need_id}")
def need_page(
    need_id: RowId, request: Request, session: DbSession, principal: CanNeedRead
) -> Response:
    """Show one need with its history."""
    need = service.get_need(need_id, session=session)
    context = {
        "need": need,
        "history": history_lines(service.need_history(need_id, session=session), session=session),
        "linked_inputs": (
            intake.inputs_for_need(need_id, session=session)
            if principal.can(Permission.INPUT_READ)
            else []
        ),
        "can_edit": service.can_edit(principal, need),
        "can_validate": principal.can(Permission.NEED_VALIDATE),
        "next_statuses": sorted(NEED_TRANSITIONS[need.status]),
        "today": date.today(),
        "measures": measures_for_need(need_id, session=session),
        **_choices(session=session),
    }
    return render(request, "needs/detail.html", context)


@router.get("/{need_id}/edit")
def edit_need_form(
    need_id: RowId, request: Request, session: DbSession, principal: CanNeedEdit
) -> Response:
    """Show the edit form of a need the user may edit."""
    need = service.get_need(need_id, session=session)
    if not service.can_edit(principal, need):
        raise Forbidden(N_("You can only edit your own organisation's needs"))
    values = {
        "title": need.title,
        "description": need.description,
        "category": need.category_code,
        "clinical_line": need.clinical_line,
        "municipality_number": need.municipality_number or "",
        "urgency": str(need.urgency),
        "affected_groups": need.affected_groups,
        "review_by_date": need.review_by_date.isoformat() if need.review_by_date else "",
        "organisation_id": str(need.organisation_id),
    }
    return _form_page(request, session, values, need)


@router.post("/{need_id}")
def update_need(
    need_id: RowId, request: Request, session: DbSession, form: Form, principal: CanNeedEdit
) -> Response:
    """Save changes to a need; on bad input show the form again with messages."""
    service.get_need(need_id, session=session)
    values = _form_values(form)
    places = get_municipalities(request)

    def update() -> Need:
        data = check_all(
            NeedUpdate,
            _to_payload(values, partial=True),
            _raw_checks(principal, values, places, session=session, new=False),
        )
        return service.update_need(principal, need_id, data, session=session, places=places)

    def redraw(rejected: Rejected) -> Response:
        need = service.get_need(need_id, session=session)
        return _form_page(request, session, values, need, rejected)

    return submit(update, session=session, redraw=redraw, done=f"/needs/{need_id}?saved=1")


@router.post("/{need_id}/status")
def change_need_status(
    need_id: RowId, session: DbSession, form: Form, principal: CanNeedValidate
) -> Response:
    """Move a need to a new status (portfolio office)."""
    raw = form.get("status")
    if raw not in {status.value for status in NeedStatus}:
        raise InvalidInput(N_("Choose a valid status"), field="status")
    service.change_status(principal, need_id, NeedStatus(str(raw)), session=session)
    return see_other(f"/needs/{need_id}?saved=1")
