"""Prioritisation over the database: candidates, ranking, pins and the exact proposal."""

from __future__ import annotations

import functools

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.permissions import Principal
from korona.errors import N_, Conflict, InvalidInput
from korona.portfolio import scoring
from korona.portfolio.assessment import service
from korona.portfolio.assessment.agreement import summarise
from korona.portfolio.assessment.models import Assessment, AssessmentSetting, ProposalPin
from korona.portfolio.assessment.schemas import Candidate, PinIn, Proposal, ProposalItem
from korona.portfolio.gates import check_gates
from korona.portfolio.intake import service as intake
from korona.portfolio.intake.models import Input, InputNeed, InputStatus
from korona.portfolio.need.models import Need, Urgency
from korona.portfolio.netlist.solver import vocabulary as solver
from korona.portfolio.netlist.solver.proposal import propose as propose_exactly
from korona.portfolio.netlist.solver.sensitivity import inclusion_probabilities

PIN = "proposal_pin"
#: Weight draws are seeded so that the same data always gives the same probabilities.
SEED = 2020


def candidates(
    weights: scoring.Weights, settings: AssessmentSetting, *, session: Session
) -> list[Candidate]:
    """Return every input in assessment with a settled score, scored and checked at the gates."""
    items = session.scalars(
        select(Input).where(Input.status == InputStatus.IN_ASSESSMENT).order_by(Input.id)
    ).unique()
    by_id = {item.id: item for item in items}
    if not by_id:
        return []
    rows: dict[int, list[Assessment]] = {}
    for row in session.scalars(select(Assessment).where(Assessment.input_id.in_(by_id))):
        rows.setdefault(row.input_id, []).append(row)
    needs: dict[int, list[tuple[int, int, str]]] = {}
    linked = session.execute(
        select(InputNeed.input_id, Need.id, Need.urgency, Need.sector)
        .join(Need, Need.id == InputNeed.need_id)
        .where(InputNeed.input_id.in_(by_id))
    )
    for input_id, need_id, urgency, sector in linked:
        needs.setdefault(input_id, []).append((need_id, urgency, str(sector)))
    pins = {p.input_id: p for p in session.scalars(select(ProposalPin))}
    out = []
    for input_id, item in by_id.items():
        effective = summarise(rows.get(input_id, [])).effective
        if effective is None:
            continue
        linked_needs = needs.get(input_id, [])
        scores = scoring.CriterionScores(
            **{c.value: getattr(effective, c.value) for c in scoring.SCORED_CRITERIA},
            need_coverage=scoring.need_coverage((u, s) for _, u, s in linked_needs),
            effort_hospitals=effective.effort_hospitals,
            effort_municipalities=effective.effort_municipalities,
            confidence=effective.confidence,
        )
        pin = pins.get(input_id)
        out.append(
            Candidate(
                input_id=input_id,
                reference=item.reference,
                title=item.title,
                group=item.working_group,
                gates=check_gates(service.gate_facts(effective), settings.horizon_months),
                breakdown=scoring.score(scores, weights),
                scores=scores,
                urgent_needs=tuple(sorted(n for n, u, _ in linked_needs if u == Urgency.CRITICAL)),
                pin=pin.pin if pin else None,
                pin_reason=pin.reason if pin else None,
            )
        )
    return out


def ranking(*, session: Session) -> tuple[scoring.Weights, list[Candidate], list[Candidate]]:
    """Return the weights, the candidates that pass every gate by priority, and those that fail."""
    weights = service.current_weights(session=session)
    found = candidates(weights, service.get_settings(session=session), session=session)
    passed = sorted(
        (c for c in found if c.gates.passed),
        key=lambda c: (-c.breakdown.priority, c.input_id),
    )
    return weights, passed, [c for c in found if not c.gates.passed]


def propose(*, session: Session, draws: int | None = None) -> Proposal:
    """Solve the net-list proposal exactly and give each candidate's probability of being chosen.

    Only candidates that pass every gate take part; pins are the planner's. The probabilities
    come from `draws` Dirichlet weight draws (the settings' number unless given) around the
    current weights, with the settings' concentration, each solved exactly.
    """
    settings = service.get_settings(session=session)
    weights, passed, failed = ranking(session=session)
    limits = solver.Limits(
        budget_hospitals=settings.budget_hospitals,
        budget_municipalities=settings.budget_municipalities,
        size_min=settings.size_min,
        size_max=settings.size_max,
    )
    solver_candidates = [
        solver.Candidate(
            id=c.input_id,
            priority=c.breakdown.priority,
            effort_hospitals=c.breakdown.effort_hospitals,
            effort_municipalities=c.breakdown.effort_municipalities,
            covers_urgent_needs=c.urgent_needs,
            pinned=c.pin,
        )
        for c in passed
    ]
    n_draws = settings.draws if draws is None else draws
    unit = scoring.unit_priorities([c.scores for c in passed])
    result, drawn = _solve(
        tuple(solver_candidates),
        limits,
        tuple(map(tuple, unit.tolist())),
        weights,
        settings.concentration,
        n_draws,
    )
    probabilities = dict(zip((c.input_id for c in passed), drawn, strict=True)) if drawn else {}
    explanations = {e.id: e for e in result.explanations}
    items = tuple(
        ProposalItem(
            candidate=c,
            chosen=explanations[c.input_id].chosen,
            reason=explanations[c.input_id].reason,
            explanation=explanations[c.input_id].text,
            probability=probabilities.get(c.input_id),
        )
        for c in passed
    )
    return Proposal(
        status=result.status,
        weights=weights,
        items=items,
        chosen=tuple(int(i) for i in result.chosen),
        objective=result.objective,
        gap=result.gap,
        solver=result.solver,
        uncovered=result.uncovered,
        infeasible_reason=result.infeasible_reason,
        gate_failed=tuple(failed),
        draws=n_draws if probabilities else 0,
        size=(settings.size_min, settings.size_max),
        budgets=(settings.budget_hospitals, settings.budget_municipalities),
    )


@functools.lru_cache(maxsize=16)
def _solve(
    candidates: tuple[solver.Candidate, ...],
    limits: solver.Limits,
    unit: tuple[tuple[float, ...], ...],
    weights: scoring.Weights,
    concentration: float,
    draws: int,
) -> tuple[solver.Proposal, tuple[float, ...]]:
    """Solve the proposal and its weight draws; remembered, because the page and its chart ask
    for the same solve and the answer depends on nothing else (the draws are seeded)."""
    result = propose_exactly(candidates, limits)
    if not candidates or draws < 1 or result.status is not solver.Status.OPTIMAL:
        return result, ()
    matrix = scoring.draw_weights(weights, concentration, draws, SEED)
    sensitivity = inclusion_probabilities(candidates, np.array(unit, dtype=float), matrix, limits)
    return result, tuple(float(p) for p in sensitivity.probabilities)


def set_pin(principal: Principal, input_id: int, data: PinIn, *, session: Session) -> None:
    """Pin an input into or out of the proposal with a reason, or clear its pin."""
    item = intake.get_input(input_id, session=session)
    if item.status != InputStatus.IN_ASSESSMENT:
        raise Conflict(
            N_("Input {reference} is not in assessment"), field="input", reference=item.reference
        )
    row = session.scalar(select(ProposalPin).where(ProposalPin.input_id == input_id))
    before = audit.snapshot(row) if row is not None else None
    if data.pin is None:
        if row is not None:
            session.delete(row)
            session.flush()
            audit.record(
                principal, AuditAction.DELETE, PIN, input_id, session=session, before=before
            )
        return
    if len(data.reason.strip()) < 3:
        raise InvalidInput(N_("Give the reason for the pin"), field="reason")
    if row is None:
        row = ProposalPin(input_id=input_id, pin=data.pin, reason=data.reason)
        session.add(row)
    row.pin, row.reason, row.created_by_id = data.pin, data.reason, principal.user_id
    session.flush()
    audit.record(
        principal,
        AuditAction.UPDATE if before else AuditAction.CREATE,
        PIN,
        input_id,
        session=session,
        before=before,
        after=audit.snapshot(row),
    )
