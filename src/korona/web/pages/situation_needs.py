"""A need from a situation report: the need form filled in from the report, and the live
municipal indicators a need's page shows.

Its routes sit under ``/situation``, beside :mod:`korona.web.pages.situation`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from korona.errors import N_
from korona.portfolio.category import list_categories
from korona.portfolio.need import service as need_service
from korona.portfolio.need.models import URGENCY_ANCHORS, AffectedGroup
from korona.portfolio.need.schemas import NeedCreate
from korona.portfolio.situation import service
from korona.portfolio.situation.models import SituationReport
from korona.portfolio.situation.places import Places
from korona.validation import RowId
from korona.web.access import CanNeedCreate, CanNeedRead
from korona.web.api.situation import PlacesDep
from korona.web.deps import DbSession
from korona.web.forms import NO_ERRORS, Form, Rejected, text
from korona.web.handlers import submit
from korona.web.pages import situation_views as views

router = APIRouter(prefix="/situation", include_in_schema=False)

NEED_FIELDS = ("title", "description", "category", "urgency")


def _need_form(
    request: Request,
    session: Session,
    places: Places,
    report: SituationReport,
    values: dict[str, Any],
    rejected: Rejected = NO_ERRORS,
) -> Response:
    context = {
        "report": report,
        "places": places,
        "values": values,
        "errors": rejected.errors,
        "categories": list_categories(session=session, active_only=True),
        "groups": list(AffectedGroup),
        "urgency_anchors": URGENCY_ANCHORS,
    }
    return views.render_page(
        request, "situation/need_form.html", context, status_code=rejected.status_code
    )


@router.get("/reports/{report_id}/need")
def new_need_from_report(
    report_id: RowId,
    request: Request,
    session: DbSession,
    places: PlacesDep,
    principal: CanNeedCreate,
) -> Response:
    """Show the need form filled in from the report's free text."""
    refusal = N_("You can only register needs from your own municipality's reports")
    report = views.own_report(report_id, principal, refusal, session=session)
    values = views.need_prefill(report, places)
    return _need_form(request, session, places, report, values)


@router.post("/reports/{report_id}/need")
def create_need_from_report(
    report_id: RowId,
    request: Request,
    session: DbSession,
    places: PlacesDep,
    form: Form,
    principal: CanNeedCreate,
) -> Response:
    """Register the need, linked to the report, and open its page."""
    service.get_report(report_id, session=session)
    values: dict[str, Any] = {key: text(form, key) for key in NEED_FIELDS}
    values["affected_groups"] = form.getlist("affected_groups")

    def redraw(rejected: Rejected) -> Response:
        report = service.get_report(report_id, session=session)
        return _need_form(request, session, places, report, values, rejected)

    return submit(
        lambda: service.register_need(
            principal, report_id, NeedCreate.model_validate(values), session=session
        ),
        session=session,
        redraw=redraw,
        done=lambda need: f"/needs/{need.id}?created=1",
    )


@router.get("/needs/{need_id}/indicators")
def need_indicators(
    need_id: RowId, request: Request, session: DbSession, places: PlacesDep, principal: CanNeedRead
) -> Response:
    """Show the live indicators of the municipalities a need is linked to (an htmx fragment)."""
    need = need_service.get_need(need_id, session=session)
    numbers = service.need_municipalities(need, session=session)
    context = {
        "need": need,
        "rows": views.indicator_rows(request, session, places, numbers),
        "reports": service.reports_of_need(need_id, session=session),
        "places": places,
    }
    # htmx swaps the fragment into the need page; without script the link opens a whole page.
    fragment = bool(request.headers.get("HX-Request"))
    template = "situation/_indicators.html" if fragment else "situation/indicators.html"
    return views.render_page(request, template, context)
