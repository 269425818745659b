"""Draft net-list versions (utkast til nettoliste), created from a solved proposal."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.permissions import Principal
from korona.errors import N_, Conflict
from korona.portfolio.assessment.schemas import Proposal, ProposalItem
from korona.portfolio.netlist.models import NetlistItem, NetlistStatus, NetlistVersion
from korona.portfolio.netlist.solver.vocabulary import Status
from korona.portfolio.rows import get_or_raise

ENTITY = "netlist_version"


def parts_of(item: ProposalItem) -> dict[str, Any]:
    """Return the score of a proposal item broken into parts, as stored on the net list."""
    b = item.candidate.breakdown
    return {
        "value": b.value,
        "confidence": b.confidence,
        "effort_hospitals": b.effort_hospitals,
        "effort_municipalities": b.effort_municipalities,
        "effort": b.effort,
        "weights_version": b.weights_version,
        "criteria": [
            {
                "criterion": p.criterion.value,
                "score": p.score,
                "weight": p.weight,
                "contribution": p.contribution,
            }
            for p in b.parts
        ],
        "reason": item.explanation,
    }


def create_draft(principal: Principal, proposal: Proposal, *, session: Session) -> NetlistVersion:
    """Create the next net-list version, in draft, listing the proposal's chosen inputs in order."""
    if proposal.status is not Status.OPTIMAL or not proposal.chosen:
        raise Conflict(N_("The proposal has no feasible list to draft from"), field="proposal")
    number = (session.scalar(select(func.max(NetlistVersion.number))) or 0) + 1
    version = NetlistVersion(
        number=number,
        status=NetlistStatus.DRAFT,
        weights_version=proposal.weights.version,
        objective=proposal.objective,
        solver=proposal.solver[:200],
        created_by_id=principal.user_id,
    )
    for position, item in enumerate(proposal.chosen_items(), start=1):
        candidate = item.candidate
        version.items.append(
            NetlistItem(
                input_id=candidate.input_id,
                position=position,
                priority=candidate.breakdown.priority,
                parts=parts_of(item),
                probability=item.probability,
                pin=candidate.pin,
                pin_reason=candidate.pin_reason,
            )
        )
    session.add(version)
    session.flush()
    audit.record(
        principal,
        AuditAction.CREATE,
        ENTITY,
        version.id,
        session=session,
        after={
            "number": version.number,
            "status": version.status.value,
            "weights_version": version.weights_version,
            "input_ids": [i.input_id for i in version.items],
        },
    )
    return version


def get_version(version_id: int, *, session: Session) -> NetlistVersion:
    """Return one net-list version or raise NotFound."""
    return get_or_raise(
        NetlistVersion, version_id, N_("Net-list version {id} not found"), session=session
    )


def list_versions(*, session: Session) -> list[NetlistVersion]:
    """Return every net-list version, newest first."""
    return list(session.scalars(select(NetlistVersion).order_by(NetlistVersion.number.desc())))
