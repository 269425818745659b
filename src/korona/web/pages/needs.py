"""Needs pages (behov): list with filters, overview with chart, export, register, edit, validate."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from korona import tabular
from korona.auth import service as auth_service
from korona.auth.models import Role, Sector
from korona.auth.permissions import Permission, Principal
from korona.errors import N_, DomainError, Forbidden, InvalidInput, NotFound
from korona.portfolio.category import list_categories
from korona.portfolio.need import service
from korona.portfolio.need.models import (
    NEED_TRANSITIONS,
    URGENCY_ANCHORS,
    AffectedGroup,
    NeedStatus,
)
from korona.portfolio.need.schemas import NeedCreate, NeedUpdate
from korona.validation import RowId
from korona.web import i18n
from korona.web.charts import stacked_bar_svg
from korona.web.deps import DbSession, require
from korona.web.form_input import read_form
from korona.web.labels import label, translate_error
from korona.web.templating import render

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


def _filters(request: Request) -> service.NeedFilter:
    """Read the list filters from the query string, ignoring values that are not valid."""
    params = request.query_params

    def choice(name: str, enum: type[Any]) -> Any:
        value = params.get(name)
        return enum(value) if value in {member.value for member in enum} else None

    organisation = params.get("organisation", "")
    municipality = params.get("municipality", "")
    return service.NeedFilter(
        sector=choice("sector", Sector),
        category=params.get("category") or None,
        status=choice("status", NeedStatus),
        organisation_id=int(organisation) if organisation.isdigit() else None,
        municipality_number=municipality
        if len(municipality) == 4 and municipality.isdigit()
        else None,
        overdue=params.get("overdue") == "1",
        text=(params.get("q") or "").strip()[:200] or None,
    )


def _choices(session: Session) -> dict[str, Any]:
    return {
        "categories": list_categories(session),
        "sectors": list(Sector),
        "statuses": list(NeedStatus),
        "groups": list(AffectedGroup),
        "urgency_anchors": URGENCY_ANCHORS,
        "organisations": auth_service.list_organisations(session),
    }


@router.get("")
def needs_list(
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.NEED_READ)),
) -> Response:
    """List needs with filters; htmx requests get only the result table."""
    filters = _filters(request)
    needs = service.list_needs(session, filters)
    context = {"needs": needs, "filters": filters, "today": date.today(), **_choices(session)}
    template = "needs/_table.html" if request.headers.get("HX-Request") else "needs/list.html"
    return render(request, template, context)


@router.get("/overview")
def needs_overview(
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.NEED_READ)),
) -> Response:
    """Show the needs overview (behovsoversikt): counts by sector, category, status, org."""
    filters = _filters(request)
    needs = service.list_needs(session, filters)
    counts = service.overview(needs)
    context = {"counts": counts, "filters": filters, "today": date.today(), **_choices(session)}
    return render(request, "needs/overview.html", context)


@router.get("/overview/chart.svg")
def needs_chart(
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.NEED_READ)),
) -> Response:
    """Draw needs per category, stacked by status, as SVG."""
    needs = service.list_needs(session, _filters(request))
    counts = service.overview(needs)
    language = i18n.current_language.get()
    names = {category.code: category.name(language) for category in list_categories(session)}
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
        colors={label(status): colour for status, colour in STATUS_COLOURS.items()},
    )
    return Response(svg, media_type="image/svg+xml")


@router.get("/export.{fmt}")
def needs_export(
    fmt: str,
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.NEED_READ)),
) -> Response:
    """Download the filtered needs as CSV or XLSX."""
    needs = service.list_needs(session, _filters(request))
    rows = service.export_rows(needs)
    stamp = date.today().isoformat()
    if fmt == "csv":
        body, media_type = tabular.to_csv(service.EXPORT_COLUMNS, rows), tabular.CSV_MEDIA_TYPE
    elif fmt == "xlsx":
        body = tabular.to_xlsx(service.EXPORT_COLUMNS, rows, sheet="behov")
        media_type = tabular.XLSX_MEDIA_TYPE
    else:
        raise NotFound(N_("Export format must be csv or xlsx"))
    headers = {"Content-Disposition": f'attachment; filename="behov-{stamp}.{fmt}"'}
    return Response(body, media_type=media_type, headers=headers)


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


def _field_errors(error: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "form"
        errors.setdefault(field, i18n.translate_validation_error(item))
    return errors


def _form_page(
    request: Request,
    session: Session,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    need: Any = None,
    status_code: int = 200,
) -> Response:
    context = {"values": values, "errors": errors, "need": need, **_choices(session)}
    return render(request, "needs/form.html", context, status_code=status_code)


@router.get("/new")
def new_need_form(
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.NEED_CREATE)),
) -> Response:
    """Show the form for reporting a need."""
    values = {
        "urgency": "2",
        "affected_groups": [],
        "organisation_id": str(principal.organisation_id or ""),
    }
    return _form_page(request, session, values=values, errors={})


@router.post("")
async def create_need(
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.NEED_CREATE)),
) -> Response:
    """Register a need from the form; on bad input show the form again with messages."""
    values = _form_values(await read_form(request))
    if not principal.has_role(Role.PORTFOLIO_OFFICE):
        values["organisation_id"] = ""
    try:
        need = service.create_need(
            session, principal, NeedCreate.model_validate(_to_payload(values, partial=False))
        )
    except ValidationError as error:
        return _form_page(
            request, session, values=values, errors=_field_errors(error), status_code=422
        )
    except DomainError as error:
        session.rollback()
        errors = {error.field or "form": translate_error(error)}
        return _form_page(
            request, session, values=values, errors=errors, status_code=error.status_code
        )
    return RedirectResponse(f"/needs/{need.id}?created=1", status_code=303)


@router.get("/{need_id}")
def need_page(
    need_id: RowId,
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.NEED_READ)),
) -> Response:
    """Show one need with its history."""
    need = service.get_need(session, need_id)
    context = {
        "need": need,
        "history": service.need_history(session, need_id),
        "can_edit": service.can_edit(principal, need),
        "can_validate": principal.can(Permission.NEED_VALIDATE),
        "next_statuses": sorted(NEED_TRANSITIONS[need.status]),
        "today": date.today(),
        **_choices(session),
    }
    return render(request, "needs/detail.html", context)


@router.get("/{need_id}/edit")
def edit_need_form(
    need_id: RowId,
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.NEED_EDIT)),
) -> Response:
    """Show the edit form of a need the user may edit."""
    need = service.get_need(session, need_id)
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
    return _form_page(request, session, values=values, errors={}, need=need)


@router.post("/{need_id}")
async def update_need(
    need_id: RowId,
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.NEED_EDIT)),
) -> Response:
    """Save changes to a need; on bad input show the form again with messages."""
    need = service.get_need(session, need_id)
    values = _form_values(await read_form(request))
    try:
        service.update_need(
            session,
            principal,
            need_id,
            NeedUpdate.model_validate(_to_payload(values, partial=True)),
        )
    except ValidationError as error:
        return _form_page(
            request, session, values=values, errors=_field_errors(error), need=need, status_code=422
        )
    except DomainError as error:
        session.rollback()
        errors = {error.field or "form": translate_error(error)}
        return _form_page(
            request, session, values=values, errors=errors, need=need, status_code=error.status_code
        )
    return RedirectResponse(f"/needs/{need_id}?saved=1", status_code=303)


@router.post("/{need_id}/status")
async def change_need_status(
    need_id: RowId,
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.NEED_VALIDATE)),
) -> Response:
    """Move a need to a new status (portfolio office)."""
    form = await read_form(request)
    raw = form.get("status")
    if raw not in {status.value for status in NeedStatus}:
        raise InvalidInput(N_("Choose a valid status"), field="status")
    service.change_status(session, principal, need_id, NeedStatus(str(raw)))
    return RedirectResponse(f"/needs/{need_id}?saved=1", status_code=303)
