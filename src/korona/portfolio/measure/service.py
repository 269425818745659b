"""Measure use cases: create and link, milestones, status, progress reports, experience notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.models import Organisation
from korona.auth.permissions import Principal
from korona.db import utcnow
from korona.errors import N_, Conflict, Forbidden, InvalidInput, NotFound
from korona.portfolio.intake.models import Input
from korona.portfolio.measure import notices
from korona.portfolio.measure.models import (
    MEASURE_TRANSITIONS,
    ExperienceNote,
    Measure,
    MeasureNeed,
    MeasureStatus,
    Milestone,
    Programme,
    ProgressReport,
)
from korona.portfolio.measure.schemas import (
    ExperienceCreate,
    MeasureCreate,
    MilestoneCreate,
    ProgrammeCreate,
    ReportCreate,
    StatusChange,
)
from korona.portfolio.need.models import Need
from korona.portfolio.rows import (
    add_new,
    get_or_raise,
    get_owned_or_raise,
    record_change,
    record_update,
    set_field,
    where_given,
)
from korona.portfolio.solution.models import Solution

ENTITY = "measure"


def list_programmes(*, session: Session, active_only: bool = False) -> Sequence[Programme]:
    """Return the national programmes by name."""
    statement = select(Programme).order_by(Programme.name)
    if active_only:
        statement = statement.where(Programme.active.is_(True))
    return session.scalars(statement).all()


def create_programme(principal: Principal, data: ProgrammeCreate, *, session: Session) -> Programme:
    """Add a national programme to the managed list."""
    if session.scalar(select(Programme.id).where(Programme.name == data.name)):
        raise Conflict(N_("The programme {name} exists already"), field="name", name=data.name)
    programme = Programme(name=data.name, active=True)
    session.add(programme)
    session.flush()
    audit.record(
        principal,
        AuditAction.CREATE,
        "programme",
        programme.id,
        session=session,
        after={"name": data.name},
    )
    return programme


def set_programme_active(
    principal: Principal, programme_id: int, active: bool, *, session: Session
) -> Programme:
    """Retire a programme from the choices (or bring it back); its measures keep it."""
    programme = get_or_raise(
        Programme, programme_id, N_("Programme {id} does not exist"), session=session
    )
    set_field(principal, "programme", programme, "active", active, session=session)
    return programme


def get_measure(measure_id: int, *, session: Session) -> Measure:
    """Return the measure or raise NotFound."""
    return get_or_raise(Measure, measure_id, N_("Measure {id} does not exist"), session=session)


def measure_for_input(input_id: int, *, session: Session) -> Measure | None:
    """Return the measure that an input became, if any."""
    return session.scalar(select(Measure).where(Measure.input_id == input_id))


def _check_references(data: MeasureCreate, *, session: Session) -> None:
    if data.owner_organisation_id and session.get(Organisation, data.owner_organisation_id) is None:
        raise InvalidInput(
            N_("Organisation {id} does not exist"),
            field="owner_organisation_id",
            id=data.owner_organisation_id,
        )
    if data.programme_id and session.get(Programme, data.programme_id) is None:
        raise InvalidInput(
            N_("Programme {id} does not exist"), field="programme_id", id=data.programme_id
        )
    for need_id in data.need_ids:
        if session.get(Need, need_id) is None:
            raise InvalidInput(N_("Need {id} does not exist"), field="need_ids", id=need_id)
    if data.input_id and session.get(Input, data.input_id) is None:
        raise InvalidInput(N_("Input {id} does not exist"), field="input_id", id=data.input_id)


def create_measure(principal: Principal, data: MeasureCreate, *, session: Session) -> Measure:
    """Create a measure; an input becomes at most one measure."""
    _check_references(data, session=session)
    if data.input_id and measure_for_input(data.input_id, session=session) is not None:
        raise Conflict(N_("Input {id} is already a measure"), field="input_id", id=data.input_id)
    measure = Measure(
        **data.model_dump(exclude={"need_ids"}),
        status=MeasureStatus.PLANNED,
        need_links=[MeasureNeed(need_id=need_id) for need_id in dict.fromkeys(data.need_ids)],
    )
    session.add(measure)
    session.flush()
    audit.record(
        principal, AuditAction.CREATE, ENTITY, measure.id, session=session, after=_snapshot(measure)
    )
    return measure


def _snapshot(measure: Measure) -> dict[str, object]:
    return audit.snapshot(measure) | {"need_ids": measure.need_ids}


def update_measure(
    principal: Principal, measure_id: int, data: MeasureCreate, *, session: Session
) -> Measure:
    """Change a measure's owner, responsible person, programme, needs and texts."""
    measure = get_measure(measure_id, session=session)
    _check_references(data, session=session)
    if data.input_id and data.input_id != measure.input_id:
        other = measure_for_input(data.input_id, session=session)
        if other is not None:
            raise Conflict(
                N_("Input {id} is already a measure"), field="input_id", id=data.input_id
            )
    before = _snapshot(measure)
    measure.title = data.title
    measure.description = data.description
    measure.owner_organisation_id = data.owner_organisation_id
    measure.responsible_name = data.responsible_name
    measure.programme_id = data.programme_id
    measure.input_id = data.input_id or measure.input_id
    wanted = list(dict.fromkeys(data.need_ids))
    measure.need_links = [link for link in measure.need_links if link.need_id in wanted]
    have = {link.need_id for link in measure.need_links}
    measure.need_links += [
        MeasureNeed(need_id=need_id) for need_id in wanted if need_id not in have
    ]
    measure.updated_at = utcnow()
    session.flush()
    record_change(
        principal,
        AuditAction.UPDATE,
        ENTITY,
        measure,
        before,
        session=session,
        after=_snapshot(measure),
    )
    return measure


def change_status(
    principal: Principal,
    measure_id: int,
    change: StatusChange,
    *,
    session: Session,
    base_url: str = "",
) -> Measure:
    """Move a measure along planned → in progress → delivered, or stop it with a reason.

    Delivering it queues the "delivered" letter to the reporters of the needs it covers and
    to the proposers of linked inputs, in the same transaction.
    """
    measure = get_measure(measure_id, session=session)
    if change.status not in MEASURE_TRANSITIONS[measure.status]:
        raise Conflict(
            N_("A measure cannot go from {old} to {new}"),
            field="status",
            old=measure.status,
            new=change.status,
        )
    before = {"status": measure.status.value, "stop_reason": measure.stop_reason}
    measure.status = change.status
    if change.status == MeasureStatus.STOPPED:
        measure.stop_reason = change.reason
    if change.status == MeasureStatus.DELIVERED:
        measure.delivered_at = utcnow()
    after = {"status": measure.status.value, "stop_reason": measure.stop_reason}
    record_update(
        principal, AuditAction.STATUS, ENTITY, measure, before, session=session, after=after
    )
    if change.status == MeasureStatus.DELIVERED:
        notices.send_delivered_letters(measure, session=session, base_url=base_url)
    return measure


def add_milestone(
    principal: Principal, measure_id: int, data: MilestoneCreate, *, session: Session
) -> Milestone:
    """Add a milestone to a measure."""
    measure = get_measure(measure_id, session=session)
    milestone = Milestone(measure_id=measure.id, **data.model_dump())
    session.add(milestone)
    session.flush()
    session.refresh(measure, ["milestones"])
    record_change(principal, AuditAction.CREATE, "milestone", milestone, session=session)
    return milestone


def complete_milestone(
    principal: Principal, measure_id: int, milestone_id: int, done: date, *, session: Session
) -> Milestone:
    """Record the date a milestone was done."""
    milestone = get_owned_or_raise(
        Milestone,
        milestone_id,
        "measure_id",
        measure_id,
        N_("Milestone {id} does not exist"),
        session=session,
    )
    if milestone.done_date is not None:
        raise Conflict(N_("The milestone is done already"))
    milestone.done_date = done
    record_change(
        principal,
        AuditAction.UPDATE,
        "milestone",
        milestone,
        {"done_date": None},
        session=session,
        after={"done_date": done.isoformat()},
    )
    return milestone


def is_owner(principal: Principal, measure: Measure) -> bool:
    """Return whether the principal belongs to the measure's owner organisation."""
    return (
        principal.organisation_id is not None
        and principal.organisation_id == measure.owner_organisation_id
    )


def report_progress(
    principal: Principal, measure_id: int, data: ReportCreate, *, session: Session
) -> ProgressReport:
    """Add a progress report; only users of the owner organisation report on a measure."""
    measure = get_measure(measure_id, session=session)
    if not is_owner(principal, measure):
        raise Forbidden(N_("Only the measure's owner organisation reports its progress"))
    if measure.status in (MeasureStatus.DELIVERED, MeasureStatus.STOPPED):
        raise Conflict(
            N_("The measure is {status}; no more progress reports"), status=measure.status
        )
    report = ProgressReport(
        **data.model_dump(),
        measure_id=measure.id,
        reported_by_id=principal.user_id,
        reported_at=utcnow(),
    )
    session.add(report)
    session.flush()
    session.refresh(measure, ["reports"])
    record_change(
        principal,
        AuditAction.CREATE,
        "progress_report",
        report,
        session=session,
        after={"measure_id": measure.id, "rag": data.rag.value, "text": data.text},
    )
    return report


@dataclass(frozen=True)
class MeasureFilter:
    """Filters of the measure list."""

    programme_id: int | None = None
    status: MeasureStatus | None = None
    owner_organisation_id: int | None = None


def list_measures(filters: MeasureFilter | None = None, *, session: Session) -> Sequence[Measure]:
    """Return measures by title, filtered."""
    filters = filters or MeasureFilter()
    statement = where_given(
        select(Measure).order_by(Measure.title, Measure.id),
        [
            (Measure.programme_id, filters.programme_id),
            (Measure.status, filters.status),
            (Measure.owner_organisation_id, filters.owner_organisation_id),
        ],
    )
    return session.scalars(statement).all()


def measures_for_need(need_id: int, *, session: Session) -> Sequence[Measure]:
    """Return the measures that cover a need, by title."""
    statement = (
        select(Measure)
        .join(MeasureNeed, MeasureNeed.measure_id == Measure.id)
        .where(MeasureNeed.need_id == need_id)
        .order_by(Measure.title)
    )
    return session.scalars(statement).all()


def _experience_author(principal: Principal) -> int:
    if principal.organisation_id is None:
        raise InvalidInput(N_("Only users of an organisation can share experience"))
    return principal.organisation_id


def share_experience(
    principal: Principal,
    data: ExperienceCreate,
    *,
    session: Session,
    solution_id: int | None = None,
    measure_id: int | None = None,
) -> ExperienceNote:
    """Record that the principal's organisation uses a solution or a delivered measure."""
    organisation_id = _experience_author(principal)
    if solution_id is not None:
        if session.get(Solution, solution_id) is None:
            raise NotFound(N_("Solution {id} does not exist"), id=solution_id)
    elif measure_id is not None:
        measure = get_measure(measure_id, session=session)
        if measure.status != MeasureStatus.DELIVERED:
            raise Conflict(N_("Only a delivered measure can be in use"))
    note = ExperienceNote(
        organisation_id=organisation_id,
        solution_id=solution_id,
        measure_id=measure_id,
        note=data.note,
        created_by_id=principal.user_id,
        created_at=utcnow(),
    )
    return add_new(principal, "experience_note", note, session=session)


def experience_notes(
    *, session: Session, solution_id: int | None = None, measure_id: int | None = None
) -> Sequence[ExperienceNote]:
    """Return the experience notes on a solution or a measure, newest first."""
    statement = select(ExperienceNote).order_by(ExperienceNote.id.desc())
    if solution_id is not None:
        statement = statement.where(ExperienceNote.solution_id == solution_id)
    else:
        statement = statement.where(ExperienceNote.measure_id == measure_id)
    return session.scalars(statement).all()
