"""Measure pages (tiltak): list, detail, edit, status, milestones, progress reports, experience."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from korona.auth import service as auth_service
from korona.auth.permissions import Permission, Principal
from korona.errors import N_, InvalidInput
from korona.portfolio.measure import notices, service
from korona.portfolio.measure.models import (
    MEASURE_TRANSITIONS,
    Measure,
    MeasureStatus,
    NoticeKind,
    Rag,
)
from korona.portfolio.measure.schemas import (
    ExperienceCreate,
    MeasureCreate,
    MilestoneCreate,
    NoticeUpdate,
    ProgrammeCreate,
    ReportCreate,
    StatusChange,
)
from korona.portfolio.need.service import NeedFilter, list_needs
from korona.portfolio.solution.service import get_solution
from korona.validation import RowId
from korona.web.deps import DbSession, get_settings, require
from korona.web.forms import Form, Rejected, attempt, text
from korona.web.templating import render

router = APIRouter(include_in_schema=False)


class MeasureQuery(BaseModel):
    """Filters of the measure list."""

    model_config = ConfigDict(extra="ignore")

    programme: RowId | None = None
    status: MeasureStatus | None = None


def _blank_to_none(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in raw.items() if value not in ("", None)}


@router.get("/measures")
def measures_list(
    request: Request,
    session: DbSession,
    programme: Annotated[str, Query(max_length=20)] = "",
    status: Annotated[str, Query(max_length=40)] = "",
    principal: Principal = Depends(require(Permission.MEASURE_READ)),
) -> Response:
    """List the measures, filtered by programme and status."""
    query = _query(programme, status)
    measures = service.list_measures(
        session, service.MeasureFilter(programme_id=query.programme, status=query.status)
    )
    context = {
        "measures": measures,
        "query": query,
        "programmes": service.list_programmes(session),
        "statuses": list(MeasureStatus),
    }
    return render(request, "measures/list.html", context)


def _query(programme: str, status: str) -> MeasureQuery:
    try:
        return MeasureQuery.model_validate(
            _blank_to_none({"programme": programme, "status": status})
        )
    except ValueError:
        raise InvalidInput(N_("Choose a valid filter")) from None


def _form_values(form: Any) -> dict[str, Any]:
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
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    measure: Measure | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "values": values,
        "errors": errors,
        "measure": measure,
        "organisations": auth_service.list_organisations(session),
        "programmes": service.list_programmes(session, active_only=True),
        "needs": list_needs(session, NeedFilter()),
    }
    return render(request, "measures/form.html", context, status_code=status_code)


@router.get("/measures/new")
def new_measure_form(
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.MEASURE_MANAGE)),
) -> Response:
    """Show the form for a new measure."""
    return _form_page(request, session, values={"need_ids": []}, errors={})


@router.post("/measures")
def create_measure(
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEASURE_MANAGE)),
) -> Response:
    """Create a measure from the form."""
    values = _form_values(form)
    outcome = attempt(
        session,
        lambda: service.create_measure(session, principal, MeasureCreate.model_validate(values)),
    )
    if isinstance(outcome, Rejected):
        return _form_page(
            request, session, values=values, errors=outcome.errors, status_code=outcome.status_code
        )
    return RedirectResponse(f"/measures/{outcome.id}?saved=1", status_code=303)


def _detail(
    request: Request,
    session: Session,
    principal: Principal,
    measure_id: int,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    measure = service.get_measure(session, measure_id)
    context = {
        "measure": measure,
        "errors": errors or {},
        "next_statuses": sorted(MEASURE_TRANSITIONS[measure.status]),
        "rags": list(Rag),
        "is_owner": service.is_owner(principal, measure),
        "notes": service.experience_notes(session, measure_id=measure.id),
        "today": date.today(),
    }
    return render(request, "measures/detail.html", context, status_code=status_code)


@router.get("/measures/{measure_id}")
def measure_page(
    measure_id: RowId,
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.MEASURE_READ)),
) -> Response:
    """Show one measure: needs, milestones, progress reports and who uses it."""
    return _detail(request, session, principal, measure_id)


@router.get("/measures/{measure_id}/edit")
def edit_measure_form(
    measure_id: RowId,
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.MEASURE_MANAGE)),
) -> Response:
    """Show the edit form of a measure."""
    measure = service.get_measure(session, measure_id)
    values = {
        "title": measure.title,
        "description": measure.description,
        "responsible_name": measure.responsible_name,
        "owner_organisation_id": measure.owner_organisation_id,
        "programme_id": measure.programme_id,
        "input_id": measure.input_id,
        "need_ids": [str(need_id) for need_id in measure.need_ids],
    }
    return _form_page(request, session, values=values, errors={}, measure=measure)


@router.post("/measures/{measure_id}")
def update_measure(
    measure_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEASURE_MANAGE)),
) -> Response:
    """Save a measure's changes."""
    measure = service.get_measure(session, measure_id)
    values = _form_values(form)
    outcome = attempt(
        session,
        lambda: service.update_measure(
            session, principal, measure_id, MeasureCreate.model_validate(values)
        ),
    )
    if isinstance(outcome, Rejected):
        return _form_page(
            request,
            session,
            values=values,
            errors=outcome.errors,
            measure=measure,
            status_code=outcome.status_code,
        )
    return RedirectResponse(f"/measures/{measure_id}?saved=1", status_code=303)


def _act(
    request: Request,
    session: Session,
    principal: Principal,
    measure_id: int,
    action: Any,
    *,
    field: str,
) -> Response:
    service.get_measure(session, measure_id)
    outcome = attempt(session, action, field=field)
    if isinstance(outcome, Rejected):
        return _detail(
            request,
            session,
            principal,
            measure_id,
            errors=outcome.errors,
            status_code=outcome.status_code,
        )
    return RedirectResponse(f"/measures/{measure_id}?saved=1", status_code=303)


@router.post("/measures/{measure_id}/status")
def change_measure_status(
    measure_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEASURE_MANAGE)),
) -> Response:
    """Move a measure to its next status (delivering it sends the letters)."""
    base_url = get_settings(request).base_url
    values = {"status": text(form, "status"), "reason": text(form, "reason")}
    return _act(
        request,
        session,
        principal,
        measure_id,
        lambda: service.change_status(
            session, principal, measure_id, StatusChange.model_validate(values), base_url=base_url
        ),
        field="status",
    )


@router.post("/measures/{measure_id}/milestones")
def add_milestone(
    measure_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEASURE_MANAGE)),
) -> Response:
    """Add a milestone."""
    values = _blank_to_none(
        {key: text(form, key) for key in ("title", "planned_date", "done_date")}
    )
    return _act(
        request,
        session,
        principal,
        measure_id,
        lambda: service.add_milestone(
            session, principal, measure_id, MilestoneCreate.model_validate(values)
        ),
        field="title",
    )


@router.post("/measures/{measure_id}/milestones/{milestone_id}/done")
def complete_milestone(
    measure_id: RowId,
    milestone_id: RowId,
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.MEASURE_MANAGE)),
) -> Response:
    """Mark a milestone done today."""
    return _act(
        request,
        session,
        principal,
        measure_id,
        lambda: service.complete_milestone(
            session, principal, measure_id, milestone_id, date.today()
        ),
        field="milestones",
    )


@router.post("/measures/{measure_id}/reports")
def report_progress(
    measure_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEASURE_REPORT)),
) -> Response:
    """Add a progress report (the owner organisation only)."""
    values = {key: text(form, key) for key in ("rag", "text", "next_milestone")}
    return _act(
        request,
        session,
        principal,
        measure_id,
        lambda: service.report_progress(
            session, principal, measure_id, ReportCreate.model_validate(values)
        ),
        field="text",
    )


@router.post("/measures/{measure_id}/experience")
def share_measure_experience(
    measure_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.EXPERIENCE_SHARE)),
) -> Response:
    """Record that the user's organisation uses this delivered measure."""
    values = {"note": text(form, "note")}
    return _act(
        request,
        session,
        principal,
        measure_id,
        lambda: service.share_experience(
            session, principal, ExperienceCreate.model_validate(values), measure_id=measure_id
        ),
        field="note",
    )


@router.post("/solutions/{solution_id}/experience")
def share_solution_experience(
    solution_id: RowId,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.EXPERIENCE_SHARE)),
) -> Response:
    """Record that the user's organisation uses an existing solution."""
    get_solution(session, solution_id)
    values = {"note": text(form, "note")}
    outcome = attempt(
        session,
        lambda: service.share_experience(
            session, principal, ExperienceCreate.model_validate(values), solution_id=solution_id
        ),
        field="note",
    )
    if isinstance(outcome, Rejected):
        raise InvalidInput(N_("Write a note of at least 3 characters"), field="note")
    return RedirectResponse(f"/solutions/{solution_id}?saved=1#experience", status_code=303)


@router.get("/programmes")
def programmes_page(
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.MEASURE_MANAGE)),
) -> Response:
    """Show the managed list of national programmes."""
    return _programmes(request, session, errors={})


def _programmes(
    request: Request, session: Session, *, errors: dict[str, str], status_code: int = 200
) -> Response:
    context = {"programmes": service.list_programmes(session), "errors": errors}
    return render(request, "measures/programmes.html", context, status_code=status_code)


@router.post("/programmes")
def create_programme(
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEASURE_MANAGE)),
) -> Response:
    """Add a national programme."""
    values = {"name": text(form, "name")}
    outcome = attempt(
        session,
        lambda: service.create_programme(
            session, principal, ProgrammeCreate.model_validate(values)
        ),
        field="name",
    )
    if isinstance(outcome, Rejected):
        return _programmes(request, session, errors=outcome.errors, status_code=outcome.status_code)
    return RedirectResponse("/programmes?saved=1", status_code=303)


@router.post("/programmes/{programme_id}/active")
def set_programme_active(
    programme_id: RowId,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEASURE_MANAGE)),
) -> Response:
    """Retire a programme from the choices, or bring it back."""
    service.set_programme_active(session, principal, programme_id, form.get("active") == "1")
    return RedirectResponse("/programmes?saved=1", status_code=303)


@router.get("/letters/measures")
def notice_templates(
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.MEASURE_MANAGE)),
) -> Response:
    """Show the editable "delivered" and review reminder letters, nb and en."""
    return _notices(request, session, errors={})


def _notices(
    request: Request, session: Session, *, errors: dict[str, str], status_code: int = 200
) -> Response:
    templates = {
        (kind, language): notices.get_template(session, kind, language)
        for kind in NoticeKind
        for language in notices.LANGUAGES
    }
    context = {"templates": templates, "fields": notices.FIELDS, "errors": errors}
    return render(request, "measures/letters.html", context, status_code=status_code)


@router.post("/letters/measures/{notice_kind}/{language}")
def save_notice_template(
    notice_kind: NoticeKind,
    language: str,
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEASURE_MANAGE)),
) -> Response:
    """Save an edited letter template."""
    values = {key: text(form, key) for key in ("subject", "body")}

    def save() -> object:
        data = NoticeUpdate.model_validate(values)
        return notices.save_template(
            session, principal, notice_kind, language, data.subject, data.body
        )

    outcome = attempt(session, save, field="body")
    if isinstance(outcome, Rejected):
        return _notices(request, session, errors=outcome.errors, status_code=outcome.status_code)
    return RedirectResponse("/letters/measures?saved=1", status_code=303)
