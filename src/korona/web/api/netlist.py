"""JSON API of the net list (/api/v1/netlist) and of measures (/api/v1/measures)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, StringConstraints

from korona.portfolio.measure import service as measures
from korona.portfolio.measure.models import Measure, MeasureStatus, Rag
from korona.portfolio.measure.schemas import ReportCreate
from korona.portfolio.netlist import publication
from korona.portfolio.netlist.diff import Change
from korona.portfolio.netlist.models import NetlistStatus
from korona.portfolio.netlist.publication import PublicVersion
from korona.validation import CLEAN_TEXT, RowId
from korona.web.access import (
    CanMeasureRead,
    CanMeasureReport,
    CanMeetingManage,
    CanNetlistApprove,
    CanNetlistPublish,
    CanPublic,
)
from korona.web.deps import DbSession

router = APIRouter(prefix="/api/v1", tags=["netlist"])


class MeasureRef(BaseModel):
    """The measure an item became."""

    id: int
    title: str
    owner: str | None
    status: MeasureStatus


class ItemRead(BaseModel):
    """One item of a net-list version, in order."""

    position: int
    input_id: int
    title: str
    measure: MeasureRef | None
    needs: list[str]
    priority: float
    parts: dict[str, Any]


class ChangeRead(BaseModel):
    """How an input's place changed from the previous published version."""

    change: Change
    input_id: int
    title: str
    old_position: int | None
    new_position: int | None
    reason: str


class NetlistRead(BaseModel):
    """A published net-list version with its items and changes."""

    number: int
    status: NetlistStatus
    approved_at: datetime | None
    published_at: datetime | None
    meeting: str | None
    note: str
    previous_number: int | None
    items: list[ItemRead]
    changes: list[ChangeRead]


def _read(view: PublicVersion) -> NetlistRead:
    return NetlistRead(
        number=view.number,
        status=view.status,
        approved_at=view.approved_at,
        published_at=view.published_at,
        meeting=view.meeting,
        note=view.note,
        previous_number=view.previous_number,
        items=[
            ItemRead(
                position=item.position,
                input_id=item.input_id,
                title=item.title,
                measure=MeasureRef(
                    id=item.measure_id,
                    title=item.measure_title or item.title,
                    owner=item.owner,
                    status=item.status or MeasureStatus.PLANNED,
                )
                if item.measure_id is not None
                else None,
                needs=item.needs,
                priority=item.priority,
                parts=item.parts,
            )
            for item in view.items
        ],
        changes=[ChangeRead.model_validate(row, from_attributes=True) for row in view.changes],
    )


@router.get("/netlist", response_model=NetlistRead)
def newest_netlist(session: DbSession, principal: CanPublic) -> NetlistRead:
    """Return the newest published net list: items in order with measure, owner, status,
    the needs each covers and its score parts."""
    version = publication.latest_published(session=session)
    return _read(publication.public_view(version, session=session))


@router.get("/netlist/versions/{number}", response_model=NetlistRead)
def netlist_version(number: RowId, session: DbSession, principal: CanPublic) -> NetlistRead:
    """Return one published net-list version."""
    version = publication.get_by_number(number, session=session, published_only=True)
    return _read(publication.public_view(version, session=session))


class VersionUpdate(BaseModel):
    """A change to a version that is not yet published."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(max_length=5000), CLEAN_TEXT]


class ApproveRequest(BaseModel):
    """Approve a draft in a meeting."""

    model_config = ConfigDict(extra="forbid")

    meeting_id: RowId


class VersionStatus(BaseModel):
    """A version's number and status after a change."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    status: NetlistStatus


@router.patch("/netlist/versions/{number}", response_model=VersionStatus)
def update_version(
    number: RowId, data: VersionUpdate, session: DbSession, principal: CanMeetingManage
) -> VersionStatus:
    """Change the note of a draft or approved version; a published one answers 409."""
    return VersionStatus.model_validate(
        publication.update_note(principal, number, data.note, session=session)
    )


@router.post("/netlist/versions/{number}/approve", response_model=VersionStatus)
def approve_version(
    number: RowId, data: ApproveRequest, session: DbSession, principal: CanNetlistApprove
) -> VersionStatus:
    """Approve a draft in a meeting (decision members only)."""
    return VersionStatus.model_validate(
        publication.approve(principal, number, data.meeting_id, session=session)
    )


@router.post("/netlist/versions/{number}/publish", response_model=VersionStatus)
def publish_version(
    number: RowId, session: DbSession, principal: CanNetlistPublish
) -> VersionStatus:
    """Publish an approved version (the portfolio office)."""
    return VersionStatus.model_validate(publication.publish(principal, number, session=session))


class MilestoneRead(BaseModel):
    """A milestone: planned date and done date."""

    model_config = ConfigDict(from_attributes=True)

    title: str
    planned_date: date
    done_date: date | None


class ReportRead(BaseModel):
    """A progress report."""

    model_config = ConfigDict(from_attributes=True)

    rag: Rag
    text: str
    next_milestone: str
    reported_at: datetime


class MeasureRead(BaseModel):
    """A measure with its needs, milestones and progress reports (newest first)."""

    id: int
    title: str
    owner: str | None
    responsible_name: str
    programme: str | None
    status: MeasureStatus
    stop_reason: str | None
    input_id: int | None
    need_ids: list[int]
    milestones: list[MilestoneRead]
    reports: list[ReportRead]


def _measure(measure: Measure) -> MeasureRead:
    return MeasureRead(
        id=measure.id,
        title=measure.title,
        owner=measure.owner.name if measure.owner else None,
        responsible_name=measure.responsible_name,
        programme=measure.programme.name if measure.programme else None,
        status=measure.status,
        stop_reason=measure.stop_reason,
        input_id=measure.input_id,
        need_ids=measure.need_ids,
        milestones=[MilestoneRead.model_validate(m) for m in measure.milestones],
        reports=[ReportRead.model_validate(r) for r in measure.reports],
    )


@router.get("/measures", response_model=list[MeasureRead], tags=["measures"])
def list_measures(session: DbSession, principal: CanMeasureRead) -> list[MeasureRead]:
    """List every measure by title."""
    return [_measure(measure) for measure in measures.list_measures(session=session)]


@router.get("/measures/{measure_id}", response_model=MeasureRead, tags=["measures"])
def get_measure(measure_id: RowId, session: DbSession, principal: CanMeasureRead) -> MeasureRead:
    """Return one measure."""
    return _measure(measures.get_measure(measure_id, session=session))


@router.post(
    "/measures/{measure_id}/reports", response_model=ReportRead, status_code=201, tags=["measures"]
)
def report_progress(
    measure_id: RowId, data: ReportCreate, session: DbSession, principal: CanMeasureReport
) -> ReportRead:
    """Add a progress report to a measure of the caller's own organisation."""
    return ReportRead.model_validate(
        measures.report_progress(principal, measure_id, data, session=session)
    )
