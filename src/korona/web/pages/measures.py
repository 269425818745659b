"""Measure pages (tiltak): list, detail, edit, status, milestones, progress reports, experience."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from korona.auth import service as auth_service
from korona.auth.permissions import Principal
from korona.errors import N_, InvalidInput
from korona.portfolio.measure import service
from korona.portfolio.measure.models import MEASURE_TRANSITIONS, Measure, MeasureStatus, Rag
from korona.portfolio.measure.schemas import (
    ExperienceCreate,
    MeasureCreate,
    MilestoneCreate,
    ReportCreate,
    StatusChange,
)
from korona.portfolio.need.service import NeedFilter, list_needs
from korona.portfolio.solution.service import get_solution
from korona.validation import RowId
from korona.web.access import CanExperienceShare, CanMeasureManage, CanMeasureRead, CanMeasureReport
from korona.web.deps import DbSession, get_settings
from korona.web.forms import NO_ERRORS, FilterQuery, Form, Rejected, attempt, filled, text
from korona.web.handlers import EntityForms, form_page, see_other, submit
from korona.web.templating import render

router = APIRouter(include_in_schema=False)


class MeasureQuery(FilterQuery):
    """Filters of the measure list."""

    programme: RowId | None = None
    status: MeasureStatus | None = None


@router.get("/measures")
def measures_list(
    request: Request,
    session: DbSession,
    principal: CanMeasureRead,
    programme: Annotated[str, Query(max_length=20)] = "",
    status: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """List the measures, filtered by programme and status."""
    try:
        query = MeasureQuery.model_validate({"programme": programme, "status": status})
    except ValueError:
        raise InvalidInput(N_("Choose a valid filter")) from None
    measures = service.list_measures(
        service.MeasureFilter(programme_id=query.programme, status=query.status), session=session
    )
    context = {
        "measures": measures,
        "query": query,
        "programmes": service.list_programmes(session=session),
        "statuses": list(MeasureStatus),
    }
    return render(request, "measures/list.html", context)


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        key: text(form, key) for key in ("title", "description", "responsible_name")
    }
    for key in ("owner_organisation_id", "programme_id", "input_id"):
        values[key] = text(form, key) or None
    values["need_ids"] = [value for value in form.getlist("need_ids") if value]
    return values


def _form_page(
    request: Request,
    session: Session,
    values: dict[str, Any],
    measure: Measure | None = None,
    rejected: Rejected = NO_ERRORS,
) -> Response:
    context = {
        "values": values,
        "measure": measure,
        "organisations": auth_service.list_organisations(session=session),
        "programmes": service.list_programmes(session=session, active_only=True),
        "needs": list_needs(NeedFilter(), session=session),
    }
    return form_page(request, "measures/form.html", context, rejected)


@router.get("/measures/new")
def new_measure_form(request: Request, session: DbSession, principal: CanMeasureManage) -> Response:
    """Show the form for a new measure."""
    return _form_page(request, session, {"need_ids": []})


@router.post("/measures")
def create_measure(
    request: Request, session: DbSession, form: Form, principal: CanMeasureManage
) -> Response:
    """Create a measure from the form."""
    values = _form_values(form)
    return submit(
        lambda: service.create_measure(
            principal, MeasureCreate.model_validate(values), session=session
        ),
        session=session,
        redraw=lambda rejected: _form_page(request, session, values, rejected=rejected),
        done=lambda measure: f"/measures/{measure.id}?saved=1",
    )


def _detail(
    request: Request,
    session: Session,
    principal: Principal,
    measure_id: int,
    rejected: Rejected = NO_ERRORS,
) -> Response:
    measure = service.get_measure(measure_id, session=session)
    context = {
        "measure": measure,
        "next_statuses": sorted(MEASURE_TRANSITIONS[measure.status]),
        "rags": list(Rag),
        "is_owner": service.is_owner(principal, measure),
        "notes": service.experience_notes(session=session, measure_id=measure.id),
        "today": date.today(),
    }
    return form_page(request, "measures/detail.html", context, rejected)


@router.get("/measures/{measure_id}")
def measure_page(
    measure_id: RowId, request: Request, session: DbSession, principal: CanMeasureRead
) -> Response:
    """Show one measure: needs, milestones, progress reports and who uses it."""
    return _detail(request, session, principal, measure_id)


@router.get("/measures/{measure_id}/edit")
def edit_measure_form(
    measure_id: RowId, request: Request, session: DbSession, principal: CanMeasureManage
) -> Response:
    """Show the edit form of a measure."""
    measure = service.get_measure(measure_id, session=session)
    values = {name: getattr(measure, name) for name in MeasureCreate.model_fields}
    values["need_ids"] = [str(need_id) for need_id in measure.need_ids]
    return _form_page(request, session, values, measure)


@router.post("/measures/{measure_id}")
def update_measure(
    measure_id: RowId, request: Request, session: DbSession, form: Form, principal: CanMeasureManage
) -> Response:
    """Save a measure's changes."""
    measure = service.get_measure(measure_id, session=session)
    values = _form_values(form)
    return submit(
        lambda: service.update_measure(
            principal, measure_id, MeasureCreate.model_validate(values), session=session
        ),
        session=session,
        redraw=lambda rejected: _form_page(request, session, values, measure, rejected),
        done=f"/measures/{measure_id}?saved=1",
    )


def _forms(
    request: Request, session: Session, principal: Principal, measure_id: int
) -> EntityForms:
    """The forms on a measure's page (a 404 if the measure does not exist)."""
    service.get_measure(measure_id, session=session)
    back = f"/measures/{measure_id}?saved=1"
    return EntityForms.on_page(request, session, principal, measure_id, draw=_detail, back=back)


@router.post("/measures/{measure_id}/status")
def change_measure_status(
    measure_id: RowId, request: Request, session: DbSession, form: Form, principal: CanMeasureManage
) -> Response:
    """Move a measure to its next status (delivering it sends the letters)."""
    change = partial(service.change_status, base_url=get_settings(request).base_url)
    values = {"status": text(form, "status"), "reason": text(form, "reason")}
    page = _forms(request, session, principal, measure_id)
    return page.save("status", change, StatusChange, values)


@router.post("/measures/{measure_id}/milestones")
def add_milestone(
    measure_id: RowId, request: Request, session: DbSession, form: Form, principal: CanMeasureManage
) -> Response:
    """Add a milestone."""
    values = filled(form, "title", "planned_date", "done_date")
    page = _forms(request, session, principal, measure_id)
    return page.save("title", service.add_milestone, MilestoneCreate, values)


@router.post("/measures/{measure_id}/milestones/{milestone_id}/done")
def complete_milestone(
    measure_id: RowId,
    milestone_id: RowId,
    request: Request,
    session: DbSession,
    principal: CanMeasureManage,
) -> Response:
    """Mark a milestone done today."""
    return _forms(request, session, principal, measure_id).post(
        "milestones",
        lambda: service.complete_milestone(
            principal, measure_id, milestone_id, date.today(), session=session
        ),
    )


@router.post("/measures/{measure_id}/reports")
def report_progress(
    measure_id: RowId, request: Request, session: DbSession, form: Form, principal: CanMeasureReport
) -> Response:
    """Add a progress report (the owner organisation only)."""
    values = {key: text(form, key) for key in ("rag", "text", "next_milestone")}
    page = _forms(request, session, principal, measure_id)
    return page.save("text", service.report_progress, ReportCreate, values)


def _share(principal: Principal, measure_id: int, data: Any, *, session: Session) -> object:
    return service.share_experience(principal, data, session=session, measure_id=measure_id)


@router.post("/measures/{measure_id}/experience")
def share_measure_experience(
    measure_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: CanExperienceShare,
) -> Response:
    """Record that the user's organisation uses this delivered measure."""
    page = _forms(request, session, principal, measure_id)
    return page.save("note", _share, ExperienceCreate, {"note": text(form, "note")})


@router.post("/solutions/{solution_id}/experience")
def share_solution_experience(
    solution_id: RowId, session: DbSession, form: Form, principal: CanExperienceShare
) -> Response:
    """Record that the user's organisation uses an existing solution."""
    get_solution(solution_id, session=session)
    note = {"note": text(form, "note")}

    def act() -> object:
        data = ExperienceCreate.model_validate(note)
        return service.share_experience(principal, data, session=session, solution_id=solution_id)

    if isinstance(attempt(act, session=session, field="note"), Rejected):
        raise InvalidInput(N_("Write a note of at least 3 characters"), field="note")
    return see_other(f"/solutions/{solution_id}?saved=1#experience")
