"""JSON API for assessment and prioritisation: /api/v1/assessment/…"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from korona.portfolio.assessment import prioritisation, service
from korona.portfolio.assessment.schemas import (
    AssessmentIn,
    AssessmentRead,
    DraftRead,
    PinIn,
    Proposal,
    ProposalItemRead,
    ProposalRead,
    QueueRead,
    WeightsIn,
    WeightsRead,
)
from korona.portfolio.intake import service as intake
from korona.portfolio.netlist import drafts
from korona.validation import RowId
from korona.web.access import (
    CanAssessmentRead,
    CanAssessmentScore,
    CanPrioritisationManage,
    CanWeightsManage,
)
from korona.web.deps import DbSession

router = APIRouter(prefix="/api/v1/assessment", tags=["assessment"])


@router.get("/queue", response_model=list[QueueRead])
def queue(
    session: DbSession,
    principal: CanAssessmentRead,
    show: Annotated[service.QueueFilter, Query()] = service.QueueFilter.ALL,
) -> list[QueueRead]:
    """List the inputs in assessment of the caller's working groups."""
    return [
        QueueRead(
            input_id=row.item.id,
            reference=row.item.reference,
            title=row.item.title,
            working_group=row.item.working_group,
            agreement=row.summary.agreement.value,
            assessors=len(row.summary.individual),
            scored_by_me=row.mine is not None,
        )
        for row in service.queue(principal, show, session=session)
    ]


@router.get("/inputs/{input_id}", response_model=list[AssessmentRead])
def assessments(
    input_id: RowId, session: DbSession, principal: CanAssessmentRead
) -> list[AssessmentRead]:
    """Return every assessor's scores of an input and the agreed score, if recorded."""
    intake.get_input(input_id, session=session)
    summary = service.assessments_of(input_id, session=session)
    rows = [*summary.individual, *([summary.agreed] if summary.agreed else [])]
    return [AssessmentRead.model_validate(row) for row in rows]


@router.put("/inputs/{input_id}/score", response_model=AssessmentRead)
def score(
    input_id: RowId, data: AssessmentIn, session: DbSession, principal: CanAssessmentScore
) -> AssessmentRead:
    """Record the caller's own gates and scores of an input in one of their groups."""
    return AssessmentRead.model_validate(
        service.save_assessment(principal, input_id, data, session=session)
    )


@router.put("/inputs/{input_id}/agreed", response_model=AssessmentRead)
def agreed(
    input_id: RowId, data: AssessmentIn, session: DbSession, principal: CanAssessmentScore
) -> AssessmentRead:
    """Record the agreed score of an input (the group lead, with a reason)."""
    return AssessmentRead.model_validate(
        service.record_agreed(principal, input_id, data, session=session)
    )


@router.get("/weights", response_model=WeightsRead)
def weights(session: DbSession, principal: CanAssessmentRead) -> WeightsRead:
    """Return the decision group's current weights."""
    current = service.current_weights(session=session)
    return WeightsRead(version=current.version, weights=current.as_dict())


@router.post("/weights", response_model=WeightsRead, status_code=201)
def set_weights(data: WeightsIn, session: DbSession, principal: CanWeightsManage) -> WeightsRead:
    """Store a new version of the weights (decision group members only)."""
    new = service.set_weights(principal, data, session=session)
    return WeightsRead(version=new.version, weights=new.as_dict())


def _read(proposal: Proposal) -> ProposalRead:
    return ProposalRead(
        status=proposal.status,
        solver=proposal.solver,
        gap=proposal.gap,
        objective=proposal.objective,
        weights_version=proposal.weights.version,
        chosen=list(proposal.chosen),
        uncovered_urgent_needs=[
            {"need": str(u.need), "reason": u.reason} for u in proposal.uncovered
        ],
        infeasible_reason=proposal.infeasible_reason,
        draws=proposal.draws,
        items=[
            ProposalItemRead(
                input_id=i.candidate.input_id,
                reference=i.candidate.reference,
                title=i.candidate.title,
                priority=i.candidate.breakdown.priority,
                value=i.candidate.breakdown.value,
                parts={p.criterion.value: p.contribution for p in i.candidate.breakdown.parts},
                chosen=i.chosen,
                reason=i.reason.value,
                explanation=i.explanation,
                probability=i.probability,
                pin=i.candidate.pin,
                pin_reason=i.candidate.pin_reason,
            )
            for i in proposal.items
        ],
        gate_failed=[
            {"input_id": c.input_id, "reasons": list(c.gates.failures)}
            for c in proposal.gate_failed
        ],
    )


@router.get("/proposal", response_model=ProposalRead)
def proposal(session: DbSession, principal: CanAssessmentRead) -> ProposalRead:
    """Solve the net-list proposal exactly (HiGHS) with each candidate's probability."""
    return _read(prioritisation.propose(session=session))


@router.put("/pins/{input_id}", response_model=ProposalRead)
def set_pin(
    input_id: RowId, data: PinIn, session: DbSession, principal: CanPrioritisationManage
) -> ProposalRead:
    """Pin an input in or out (or clear the pin) and return the re-solved proposal."""
    prioritisation.set_pin(principal, input_id, data, session=session)
    return _read(prioritisation.propose(session=session))


@router.post("/drafts", response_model=DraftRead, status_code=201)
def create_draft(session: DbSession, principal: CanPrioritisationManage) -> DraftRead:
    """Create a draft net list from the proposal as it is solved now."""
    version = drafts.create_draft(
        principal, prioritisation.propose(session=session), session=session
    )
    return DraftRead(
        id=version.id,
        number=version.number,
        status=version.status.value,
        weights_version=version.weights_version,
        input_ids=[i.input_id for i in version.items],
    )
