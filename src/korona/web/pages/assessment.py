"""Assessment pages (vurdering): the queue, scoring an input, groups, weights, settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from korona.auth.permissions import Principal
from korona.portfolio import scoring
from korona.portfolio.assessment import groups as working_groups
from korona.portfolio.assessment import service
from korona.portfolio.assessment.models import Assessment
from korona.portfolio.assessment.schemas import (
    AssessmentIn,
    NoteIn,
    OverlapIn,
)
from korona.portfolio.gates import BenefitGroup, check_gates
from korona.portfolio.intake import service as intake
from korona.portfolio.intake import workflow
from korona.portfolio.intake.models import Input
from korona.portfolio.need.models import Need
from korona.portfolio.solution import service as solution_service
from korona.validation import RowId
from korona.web import i18n
from korona.web.access import CanAssessmentRead, CanAssessmentScore
from korona.web.deps import DbSession
from korona.web.forms import Form, Rejected, number_text, text, texts
from korona.web.handlers import EntityCall, form_page, submit
from korona.web.labels import label
from korona.web.pages.inputs import links
from korona.web.templating import render

router = APIRouter(prefix="/assessment", include_in_schema=False)

#: Checkboxes: present when ticked, absent otherwise.
_FLAGS = ("dpia_needed", "privacy_minimum_met", "clinical_safety_minimum_met")
_NUMBERS = (
    *(c.value for c in scoring.SCORED_CRITERIA),
    "effort_hospitals",
    "effort_municipalities",
    "confidence",
)


class QueueQuery(BaseModel):
    """Filters of the assessor's queue."""

    model_config = ConfigDict(extra="ignore")

    show: service.QueueFilter = service.QueueFilter.ALL
    group: RowId | None = None


def _number(raw: str) -> int | float | str | None:
    """Return a posted step as a number (an unreadable one as text, for validation to refuse)."""
    if not raw:
        return None
    try:
        number = float(raw.replace(",", "."))
    except ValueError:
        return raw
    return int(number) if number.is_integer() and "." not in raw else number


def _assessment_values(form: FormData) -> dict[str, Any]:
    """Return the posted gates and scores as the values AssessmentIn validates."""
    values: dict[str, Any] = {name: _number(text(form, name)) for name in _NUMBERS}
    values["benefit_groups"] = texts(form, "benefit_groups")
    values["delivery_months"] = number_text(form, "delivery_months")
    for flag in _FLAGS:
        values[flag] = form.get(flag) == "on"
    values["reason"] = text(form, "reason")
    return values


def _form_from(row: Assessment | None) -> dict[str, Any]:
    """Return an assessment's values as the form shows them (defaults for a new one)."""
    if row is None:
        return {
            "benefit_groups": [],
            "privacy_minimum_met": True,
            "clinical_safety_minimum_met": True,
        }
    values: dict[str, Any] = {name: getattr(row, name) for name in _NUMBERS}
    values["benefit_groups"] = list(row.benefit_groups)
    values["delivery_months"] = row.delivery_months
    for flag in _FLAGS:
        values[flag] = getattr(row, flag)
    values["reason"] = row.reason
    return values


def field_labels() -> dict[str, str]:
    """Return the translated name of every scored field of an assessment."""
    names = {c.value: label(c) for c in scoring.SCORED_CRITERIA}
    return names | {
        "effort_hospitals": i18n.gettext("Effort for hospitals"),
        "effort_municipalities": i18n.gettext("Effort for municipalities"),
        "confidence": i18n.gettext("Confidence"),
    }


def _needs_of(item: Input, *, session: Session) -> list[Need]:
    if not item.need_ids:
        return []
    return list(session.scalars(select(Need).where(Need.id.in_(item.need_ids)).order_by(Need.id)))


def input_context(
    request: Request, session: Session, principal: Principal, item: Input
) -> dict[str, Any]:
    """Return what an input's assessment page shows."""
    summary = service.assessments_of(item.id, session=session)
    mine = next((a for a in summary.individual if a.assessor_id == principal.user_id), None)
    member = working_groups.is_member(principal, item, session=session)
    lead = working_groups.is_lead(principal, item, session=session)
    needs = _needs_of(item, session=session)
    coverage = scoring.need_coverage((n.urgency, str(n.sector)) for n in needs)
    settings = service.get_settings(session=session)
    weights = service.current_weights(session=session)
    breakdown = gates = None
    benefit_labels: list[str] = []
    if summary.effective is not None:
        effective = summary.effective
        scores = scoring.CriterionScores(
            **{c.value: getattr(effective, c.value) for c in scoring.SCORED_CRITERIA},
            need_coverage=coverage,
            effort_hospitals=effective.effort_hospitals,
            effort_municipalities=effective.effort_municipalities,
            confidence=effective.confidence,
        )
        breakdown = scoring.score(scores, weights)
        gates = check_gates(service.gate_facts(effective), settings.horizon_months)
        benefit_labels = [label(BenefitGroup(g)) for g in effective.benefit_groups]
    agreed_values = _form_from(
        summary.agreed or summary.effective or (summary.individual or [None])[0]
    )
    if summary.agreed is None:
        agreed_values["reason"] = ""
    return {
        "item": item,
        "summary": summary,
        "mine": mine,
        "is_member": member,
        "is_lead": lead,
        # Each assessor scores alone: members see the others' scores once they have scored.
        "shows_others": not member or mine is not None or lead,
        "needs": needs,
        "need_coverage": coverage,
        "breakdown": breakdown,
        "gates": gates,
        "benefit_labels": benefit_labels,
        "weights": weights,
        "horizon": settings.horizon_months,
        "criteria": scoring.SCORED_CRITERIA,
        "field_labels": field_labels(),
        "anchors": scoring.ANCHORS,
        "effort_anchors": scoring.EFFORT_ANCHORS,
        "confidence_anchors": scoring.CONFIDENCE_ANCHORS,
        "benefit_groups": list(BenefitGroup),
        "solutions": solution_service.list_solutions(session=session),
        "notes": service.my_notes(principal, item.id, session=session),
        "values": _form_from(mine),
        "agreed_values": agreed_values,
        "errors": {},
        "failed": None,
    }


@router.get("")
def assessment_queue(
    request: Request,
    session: DbSession,
    query: Annotated[QueueQuery, Query()],
    principal: CanAssessmentRead,
) -> Response:
    """Show the inputs in assessment of the user's working groups, filtered."""
    rows = service.queue(principal, query.show, query.group, session=session)
    context = {
        "rows": rows,
        "query": query,
        "filters": list(service.QueueFilter),
        "groups": working_groups.list_groups(session=session),
        "my_groups": working_groups.group_ids_of(principal.user_id, session=session),
    }
    return render(request, "assessment/queue.html", context)


@router.get("/inputs/{input_id}")
def assessment_page(
    input_id: RowId, request: Request, session: DbSession, principal: CanAssessmentRead
) -> Response:
    """Show an input's gates and criteria, every assessor's scores and the agreed score."""
    item = intake.get_input(input_id, session=session)
    return render(
        request, "assessment/input.html", input_context(request, session, principal, item)
    )


def _post(
    request: Request,
    session: Session,
    principal: Principal,
    input_id: int,
    action: Callable[[], object],
    *,
    failed: str,
    done: str,
    values: dict[str, Any] | None = None,
) -> Response:
    """Run one of the assessment page's forms; refused, the page shows it at that form."""

    def redraw(rejected: Rejected) -> Response:
        item = intake.get_input(input_id, session=session)
        context = input_context(request, session, principal, item)
        context["failed"] = failed
        context["agreed_values" if failed == "agreed" else "values"] = values or {}
        return form_page(request, "assessment/input.html", context, rejected)

    return submit(action, session=session, redraw=redraw, done=done)


def _save_scores(
    request: Request,
    session: Session,
    principal: Principal,
    input_id: int,
    form: FormData,
    record: EntityCall,
    which: str,
) -> Response:
    """Hand the scoring form to ``record``; ``which`` names the form ("score" or "agreed")."""
    values = _assessment_values(form)

    def save() -> object:
        return record(principal, input_id, AssessmentIn.model_validate(values), session=session)

    done = f"/assessment/inputs/{input_id}?saved={which}"
    return _post(
        request, session, principal, input_id, save, failed=which, done=done, values=values
    )


@router.post("/inputs/{input_id}/score")
def save_score(
    input_id: RowId, request: Request, session: DbSession, form: Form, principal: CanAssessmentScore
) -> Response:
    """Record the assessor's own gates and scores."""
    record = service.save_assessment
    return _save_scores(request, session, principal, input_id, form, record, "score")


@router.post("/inputs/{input_id}/agreed")
def save_agreed(
    input_id: RowId, request: Request, session: DbSession, form: Form, principal: CanAssessmentScore
) -> Response:
    """Record the working group's agreed score (the group lead, with a reason)."""
    record = service.record_agreed
    return _save_scores(request, session, principal, input_id, form, record, "agreed")


@router.post("/inputs/{input_id}/overlap")
def mark_overlap(
    input_id: RowId, request: Request, session: DbSession, form: Form, principal: CanAssessmentScore
) -> Response:
    """The overlap gate failed: link the input to the existing solution and mark it covered."""
    values = {"solution_id": text(form, "solution_id") or None, "reason": text(form, "reason")}

    def act() -> Input:
        data = OverlapIn.model_validate(values)
        service.check_can_assess(principal, input_id, session=session)
        return workflow.mark_covered(
            principal, input_id, data.solution_id, data.reason, links(request), session=session
        )

    done = f"/inputs/{input_id}?saved=1"
    return _post(request, session, principal, input_id, act, failed="overlap", done=done)


@router.post("/inputs/{input_id}/notes")
def add_note(
    input_id: RowId, request: Request, session: DbSession, form: Form, principal: CanAssessmentScore
) -> Response:
    """Add a private note that only its author sees."""
    note = {"body": text(form, "body")}

    def add() -> object:
        return service.add_note(principal, input_id, NoteIn.model_validate(note), session=session)

    done = f"/assessment/inputs/{input_id}?saved=note#notes"
    return _post(request, session, principal, input_id, add, failed="note", done=done)
