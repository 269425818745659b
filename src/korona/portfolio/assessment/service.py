"""Assessment use cases: working groups, queues, scores, agreed scores, notes, weights, settings."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.permissions import Principal
from korona.auth.vocabulary import Role
from korona.db import utcnow
from korona.errors import N_, Conflict, Forbidden, InvalidInput
from korona.portfolio.assessment.agreement import (
    GATE_FIELDS,
    SCORE_FIELDS,
    InputAssessments,
    summarise,
)
from korona.portfolio.assessment.groups import group_ids_of, is_lead, is_member
from korona.portfolio.assessment.models import (
    Assessment,
    AssessmentNote,
    AssessmentSetting,
    WeightsVersion,
)
from korona.portfolio.assessment.schemas import (
    DEFAULT_SETTINGS,
    AssessmentIn,
    NoteIn,
    SettingsIn,
    WeightsIn,
)
from korona.portfolio.gates import BenefitGroup, GateFacts
from korona.portfolio.intake import service as intake
from korona.portfolio.intake.models import Input, InputStatus
from korona.portfolio.rows import record_change, record_update
from korona.portfolio.scoring import (
    CRITERIA,
    DEFAULT_WEIGHTS,
    Weights,
)

ASSESSMENT = "assessment"
WEIGHTS = "weights_version"
SETTINGS = "assessment_setting"


# Assessments ----------------------------------------------------------------------------------


def assessments_of(input_id: int, *, session: Session) -> InputAssessments:
    """Return the assessments of one input, summarised."""
    rows = session.scalars(select(Assessment).where(Assessment.input_id == input_id)).all()
    return summarise(rows)


def check_can_assess(principal: Principal, input_id: int, *, session: Session) -> Input:
    """Return the input if it is in assessment and the principal assesses in its group."""
    item = intake.get_input(input_id, session=session)
    if item.status != InputStatus.IN_ASSESSMENT:
        raise Conflict(
            N_("Input {reference} is not in assessment"), field="input", reference=item.reference
        )
    if not is_member(principal, item, session=session):
        raise Forbidden(N_("Only members of the input's working group can assess it"))
    return item


def _write(row: Assessment, data: AssessmentIn) -> None:
    for name in (*SCORE_FIELDS, *GATE_FIELDS[1:]):
        setattr(row, name, getattr(data, name))
    row.benefit_groups = sorted(g.value for g in data.benefit_groups)
    row.reason = data.reason
    row.updated_at = utcnow()


def save_assessment(
    principal: Principal, input_id: int, data: AssessmentIn, *, session: Session
) -> Assessment:
    """Record (or change) the principal's own gates and scores of an input."""
    item = check_can_assess(principal, input_id, session=session)
    return _upsert(principal, item, data, session=session, agreed=False)


def record_agreed(
    principal: Principal, input_id: int, data: AssessmentIn, *, session: Session
) -> Assessment:
    """Record the group's agreed score of an input; only the group lead may, with a reason."""
    item = check_can_assess(principal, input_id, session=session)
    if not is_lead(principal, item, session=session):
        raise Forbidden(N_("Only the working group's lead can record the agreed score"))
    if len(data.reason.strip()) < 3:
        raise InvalidInput(N_("Give the reason for the agreed score"), field="reason")
    return _upsert(principal, item, data, session=session, agreed=True)


def _upsert(
    principal: Principal, item: Input, data: AssessmentIn, *, session: Session, agreed: bool
) -> Assessment:
    query = select(Assessment).where(Assessment.input_id == item.id, Assessment.agreed == agreed)
    if not agreed:
        query = query.where(Assessment.assessor_id == principal.user_id)
    row = session.scalar(query)
    before = audit.snapshot(row) if row is not None else None
    if row is None:
        row = Assessment(input_id=item.id, assessor_id=principal.user_id, agreed=agreed)
        session.add(row)
    else:
        row.assessor_id = principal.user_id  # type: ignore[assignment]
    _write(row, data)
    session.flush()
    record_change(
        principal,
        AuditAction.UPDATE if before else AuditAction.CREATE,
        ASSESSMENT,
        row,
        before,
        session=session,
    )
    return row


def gate_facts(row: Assessment) -> GateFacts:
    """Return what the gates are checked against, from an assessment."""
    return GateFacts(
        benefit_groups=frozenset(BenefitGroup(g) for g in row.benefit_groups),
        delivery_months=row.delivery_months,
        dpia_needed=row.dpia_needed,
        privacy_minimum_met=row.privacy_minimum_met,
        clinical_safety_minimum_met=row.clinical_safety_minimum_met,
    )


# The assessor's queue --------------------------------------------------------------------------


class QueueFilter(StrEnum):
    """Which inputs of the queue to show."""

    ALL = "all"
    NOT_ASSESSED = "not_assessed"  # no settled score yet
    ASSESSED = "assessed"  # a settled (effective) score
    MINE = "mine"  # scored by me


@dataclass(frozen=True)
class QueueRow:
    """One input of an assessor's queue with the state of its assessment."""

    item: Input
    summary: InputAssessments
    mine: Assessment | None


def queue(
    principal: Principal,
    show: QueueFilter = QueueFilter.ALL,
    group_id: int | None = None,
    *,
    session: Session,
) -> list[QueueRow]:
    """Return the inputs in assessment of the principal's groups (every group for the office,
    the decision group and observers), oldest first, filtered."""
    query = select(Input).where(Input.status == InputStatus.IN_ASSESSMENT)
    reads_all = principal.roles & {Role.PORTFOLIO_OFFICE, Role.DECISION_MEMBER, Role.OBSERVER}
    if not reads_all:
        query = query.where(
            Input.working_group_id.in_(group_ids_of(principal.user_id, session=session))
        )
    if group_id is not None:
        query = query.where(Input.working_group_id == group_id)
    items = session.scalars(query.order_by(Input.received_at, Input.id)).unique().all()
    by_input: dict[int, list[Assessment]] = {}
    if items:
        found = session.scalars(
            select(Assessment).where(Assessment.input_id.in_([i.id for i in items]))
        )
        for row in found:
            by_input.setdefault(row.input_id, []).append(row)
    out = []
    for item in items:
        rows = by_input.get(item.id, [])
        summary = summarise(rows)
        mine = next((a for a in rows if not a.agreed and a.assessor_id == principal.user_id), None)
        keep = {
            QueueFilter.ALL: True,
            QueueFilter.NOT_ASSESSED: summary.effective is None,
            QueueFilter.ASSESSED: summary.effective is not None,
            QueueFilter.MINE: mine is not None,
        }[show]
        if keep:
            out.append(QueueRow(item, summary, mine))
    return out


# Private notes --------------------------------------------------------------------------------


def add_note(
    principal: Principal, input_id: int, data: NoteIn, *, session: Session
) -> AssessmentNote:
    """Add a private note to an input; only its author will see it."""
    intake.get_input(input_id, session=session)
    if principal.user_id is None:
        raise Forbidden(N_("Log in to write notes"))
    note = AssessmentNote(input_id=input_id, author_id=principal.user_id, body=data.body)
    session.add(note)
    session.flush()
    return note


def my_notes(principal: Principal, input_id: int, *, session: Session) -> list[AssessmentNote]:
    """Return the principal's own notes on an input, oldest first."""
    return list(
        session.scalars(
            select(AssessmentNote)
            .where(
                AssessmentNote.input_id == input_id,
                AssessmentNote.author_id == principal.user_id,
            )
            .order_by(AssessmentNote.created_at, AssessmentNote.id)
        )
    )


# Weights ---------------------------------------------------------------------------------------


def _weights(row: WeightsVersion) -> Weights:
    return Weights.from_mapping(row.version, {c.value: getattr(row, c.value) for c in CRITERIA})


def current_weights(*, session: Session) -> Weights:
    """Return the newest version of the decision group's weights (version 1 = the defaults)."""
    row = session.scalar(select(WeightsVersion).order_by(WeightsVersion.version.desc()).limit(1))
    return DEFAULT_WEIGHTS if row is None else _weights(row)


def weights_history(*, session: Session) -> list[WeightsVersion]:
    """Return every stored weights version, newest first."""
    return list(session.scalars(select(WeightsVersion).order_by(WeightsVersion.version.desc())))


def set_weights(principal: Principal, data: WeightsIn, *, session: Session) -> Weights:
    """Store a new version of the weights; only members of the decision group may."""
    if not principal.has_role(Role.DECISION_MEMBER):
        raise Forbidden(N_("Only members of the decision group can change the weights"))
    values = {c.value: getattr(data, c.value) for c in CRITERIA}
    if sum(values.values()) <= 0:
        raise InvalidInput(N_("At least one weight must be above 0"), field="clinical_benefit")
    version = current_weights(session=session).version + 1
    row = WeightsVersion(version=version, reason=data.reason, created_by_id=principal.user_id)
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    audit.record(
        principal, AuditAction.CREATE, WEIGHTS, row.id, session=session, after=audit.snapshot(row)
    )
    return _weights(row)


# Settings --------------------------------------------------------------------------------------


def get_settings(*, session: Session) -> AssessmentSetting:
    """Return the prioritisation settings (the defaults until the office saves them)."""
    row = session.get(AssessmentSetting, 1)
    if row is None:
        return AssessmentSetting(id=1, **DEFAULT_SETTINGS.model_dump())
    return row


def update_settings(
    principal: Principal, data: SettingsIn, *, session: Session
) -> AssessmentSetting:
    """Change the prioritisation settings."""
    if data.size_min > data.size_max:
        raise InvalidInput(
            N_("The smallest list size cannot be above the largest"), field="size_min"
        )
    row = session.get(AssessmentSetting, 1)
    before = audit.snapshot(row) if row is not None else None
    if row is None:
        row = AssessmentSetting(id=1)
        session.add(row)
    for name, value in data.model_dump().items():
        setattr(row, name, value)
    action = AuditAction.UPDATE if before else AuditAction.CREATE
    record_update(principal, action, SETTINGS, row, before, session=session)
    return row
