"""Net-list versions from draft to approved (vedtatt) in a meeting to published, and reading them.

A published version never changes: the service refuses, and database triggers (migration
0007_decisions) refuse an UPDATE or DELETE that gets past it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, lazyload, selectinload

from korona.audit import AuditAction
from korona.auth.models import Organisation
from korona.auth.permissions import Principal
from korona.auth.vocabulary import Role
from korona.db import utcnow
from korona.errors import N_, Conflict, Forbidden, InvalidInput, NotFound
from korona.portfolio.intake.models import Input
from korona.portfolio.measure import service as measures
from korona.portfolio.measure.models import Measure, MeasureNeed, MeasureStatus
from korona.portfolio.measure.schemas import MeasureCreate
from korona.portfolio.need.models import Need
from korona.portfolio.netlist import meetings
from korona.portfolio.netlist.decision_models import (
    AgendaItem,
    NetlistChangeReason,
    NetlistDecision,
)
from korona.portfolio.netlist.diff import DiffRow, diff_versions
from korona.portfolio.netlist.models import NetlistItem, NetlistStatus, NetlistVersion
from korona.portfolio.rows import record_change, set_field
from korona.validation import CLEAN_TEXT

ENTITY = "netlist_version"


class ReasonText(BaseModel):
    """The reason recorded for one change."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000), CLEAN_TEXT
    ]


def list_versions(*, session: Session, published_only: bool = False) -> list[NetlistVersion]:
    """Return the versions, newest first (only published ones for the public)."""
    statement = select(NetlistVersion).order_by(NetlistVersion.number.desc())
    if published_only:
        statement = statement.where(NetlistVersion.status == NetlistStatus.PUBLISHED)
    return list(session.scalars(statement))


def published_numbers(*, session: Session) -> list[int]:
    """Return the numbers of the published versions, newest first."""
    return list(
        session.scalars(
            select(NetlistVersion.number)
            .where(NetlistVersion.status == NetlistStatus.PUBLISHED)
            .order_by(NetlistVersion.number.desc())
        )
    )


#: What a version's page shows of each item's input: its title, not its links or solution.
_ITEMS = selectinload(NetlistVersion.items).options(
    joinedload(NetlistItem.input).options(
        lazyload(Input.need_links), lazyload(Input.covered_by), lazyload(Input.organisation)
    )
)


def get_by_number(number: int, *, session: Session, published_only: bool = False) -> NetlistVersion:
    """Return version ``number`` or raise NotFound (drafts are not found by the public)."""
    version = session.scalar(
        select(NetlistVersion).where(NetlistVersion.number == number).options(_ITEMS)
    )
    if version is None or (published_only and version.status != NetlistStatus.PUBLISHED):
        raise NotFound(N_("Net-list version {number} does not exist"), number=number)
    return version


def latest_published(*, session: Session) -> NetlistVersion:
    """Return the newest published version or raise NotFound."""
    version = session.scalar(
        select(NetlistVersion)
        .where(NetlistVersion.status == NetlistStatus.PUBLISHED)
        .order_by(NetlistVersion.number.desc())
        .limit(1)
    )
    if version is None:
        raise NotFound(N_("No net-list version has been published yet"))
    return version


def previous_published(version: NetlistVersion, *, session: Session) -> NetlistVersion | None:
    """Return the newest published version before this one, the base of its diff."""
    return session.scalar(
        select(NetlistVersion)
        .where(
            NetlistVersion.status == NetlistStatus.PUBLISHED,
            NetlistVersion.number < version.number,
        )
        .order_by(NetlistVersion.number.desc())
        .limit(1)
        .options(_ITEMS)
    )


def decision_of(version: NetlistVersion, *, session: Session) -> NetlistDecision | None:
    """Return the approval and publication record of a version, if approved."""
    return session.scalar(select(NetlistDecision).where(NetlistDecision.version_id == version.id))


def reasons_of(version: NetlistVersion, *, session: Session) -> dict[int, str]:
    """Return the change reasons recorded for a version, by input id."""
    rows = session.scalars(
        select(NetlistChangeReason).where(NetlistChangeReason.version_id == version.id)
    )
    return {row.input_id: row.reason for row in rows}


def diff_of(version: NetlistVersion, *, session: Session) -> list[DiffRow]:
    """Return the changes of a version from the previous published one."""
    return diff_versions(
        previous_published(version, session=session), version, reasons_of(version, session=session)
    )


NOT_A_DRAFT = N_("Net-list version {number} is {status}, not a draft")
NOT_APPROVED = N_("Net-list version {number} is {status}; only an approved version is published")


def _in_status(
    number: int, status: NetlistStatus, message: str, *, session: Session
) -> NetlistVersion:
    """Return version `number` if it has `status`, else refuse with `message`."""
    version = get_by_number(number, session=session)
    if version.status != status:
        raise Conflict(message, number=number, status=version.status)
    return version


def ensure_mutable(version: NetlistVersion) -> None:
    """Refuse any change to a published version."""
    if version.status == NetlistStatus.PUBLISHED:
        raise Conflict(
            N_("Net-list version {number} is published and cannot be changed"),
            number=version.number,
        )


def update_note(
    principal: Principal, number: int, note: str, *, session: Session
) -> NetlistVersion:
    """Change the note of a version that is not yet published."""
    version = get_by_number(number, session=session)
    ensure_mutable(version)
    set_field(principal, ENTITY, version, "note", note, session=session)
    session.flush()
    return version


def record_reason(
    principal: Principal, number: int, input_id: int, reason: str, *, session: Session
) -> NetlistChangeReason:
    """Record why an input came in, went out or moved in a version not yet published."""
    if not 3 <= len(reason) <= 2000:
        raise InvalidInput(N_("Write a reason of 3 to 2000 characters"), field="reason")
    version = get_by_number(number, session=session)
    ensure_mutable(version)
    if input_id not in {row.input_id for row in diff_of(version, session=session)}:
        raise NotFound(N_("Input {id} is not on this version or the one before"), id=input_id)
    row = session.scalar(
        select(NetlistChangeReason).where(
            NetlistChangeReason.version_id == version.id, NetlistChangeReason.input_id == input_id
        )
    )
    if row is None:
        row = NetlistChangeReason(version_id=version.id, input_id=input_id, reason=reason)
        session.add(row)
    row.reason = reason
    session.flush()
    record_change(
        principal,
        AuditAction.UPDATE,
        ENTITY,
        version,
        session=session,
        after={"input_id": input_id, "reason": reason},
    )
    return row


def _record_move(
    principal: Principal,
    version: NetlistVersion,
    old: NetlistStatus,
    *,
    session: Session,
    **facts: object,
) -> None:
    """Audit a version's move from `old` to the status it has now, with any other facts."""
    after = {"status": version.status.value, **facts}
    record_change(
        principal,
        AuditAction.STATUS,
        ENTITY,
        version,
        {"status": old.value},
        session=session,
        after=after,
    )


def approve(
    principal: Principal, number: int, meeting_id: int, *, session: Session
) -> NetlistVersion:
    """Approve (vedta) a draft in a meeting; only a decision member may.

    The approver is recorded as present, the meeting's minutes get the decision, and every
    input on the list becomes a measure or keeps the one it already is.
    """
    if not principal.has_role(Role.DECISION_MEMBER):
        raise Forbidden(N_("Only members of the decision group approve a net list"))
    version = _in_status(number, NetlistStatus.DRAFT, NOT_A_DRAFT, session=session)
    meeting = meetings.get_meeting(meeting_id, session=session)
    meetings.ensure_member_present(principal, meeting, session=session)
    session.add(
        NetlistDecision(
            version_id=version.id,
            meeting_id=meeting.id,
            approved_by_id=principal.user_id,
            approved_at=utcnow(),
        )
    )
    version.status = NetlistStatus.APPROVED
    decision_text = f"Nettoliste versjon {version.number} vedtatt ({len(version.items)} tiltak)."
    item = next((entry for entry in meeting.agenda if entry.netlist_version_id == version.id), None)
    if item is None:
        position = max((entry.position for entry in meeting.agenda), default=0) + 1
        item = AgendaItem(
            meeting_id=meeting.id,
            position=position,
            title=f"Nettoliste versjon {version.number}",
            decision="",
            netlist_version_id=version.id,
        )
        meeting.agenda.append(item)
    item.decision = (item.decision + "\n" if item.decision else "") + decision_text
    session.flush()
    for entry in version.items:
        measure_for_item(principal, entry, session=session)
    _record_move(principal, version, NetlistStatus.DRAFT, session=session, meeting_id=meeting.id)
    return version


def measure_for_item(principal: Principal, item: NetlistItem, *, session: Session) -> Measure:
    """Return the measure an approved item's input is, creating it from the input if needed."""
    existing = measures.measure_for_input(item.input_id, session=session)
    if existing is not None:
        return existing
    source = item.input
    return measures.create_measure(
        principal,
        MeasureCreate(
            title=source.title,
            description=source.description[:5000],
            owner_organisation_id=source.organisation_id,
            need_ids=source.need_ids,
            input_id=source.id,
        ),
        session=session,
    )


def publish(principal: Principal, number: int, *, session: Session) -> NetlistVersion:
    """Publish an approved version; from now on it is public and immutable."""
    version = _in_status(number, NetlistStatus.APPROVED, NOT_APPROVED, session=session)
    decision = decision_of(version, session=session)
    assert decision is not None, "an approved version has its decision"
    decision.published_by_id = principal.user_id
    decision.published_at = utcnow()
    # The decision row must be written before the version turns published: the triggers
    # refuse changes to anything of a published version.
    session.flush()
    version.status = NetlistStatus.PUBLISHED
    session.flush()
    _record_move(principal, version, NetlistStatus.APPROVED, session=session)
    return version


@dataclass(frozen=True)
class PublicItem:
    """One line of the public net list: the input, its measure, owner, status, needs, score."""

    position: int
    input_id: int
    title: str
    measure_id: int | None
    measure_title: str | None
    owner: str | None
    status: MeasureStatus | None
    needs: list[str]
    priority: float
    parts: dict[str, Any]


@dataclass(frozen=True)
class PublicVersion:
    """A version as the public sees it."""

    number: int
    status: NetlistStatus
    created_at: datetime
    approved_at: datetime | None
    published_at: datetime | None
    meeting: str | None
    note: str
    items: list[PublicItem]
    changes: list[DiffRow]
    previous_number: int | None


def public_view(version: NetlistVersion, *, session: Session) -> PublicVersion:
    """Return the version with each item's measure, owner, status and needs."""
    # Plain rows, not ORM measures: this is the public page's hot path (docs/benchmarks.md).
    input_ids = [item.input_id for item in version.items]
    by_input = {
        row.input_id: row
        for row in session.execute(
            select(Measure.input_id, Measure.id, Measure.title, Measure.status, Organisation.name)
            .outerjoin(Organisation, Organisation.id == Measure.owner_organisation_id)
            .where(Measure.input_id.in_(input_ids))
        )
    }
    needs: dict[int, list[str]] = {}
    for measure_id, title in session.execute(
        select(MeasureNeed.measure_id, Need.title)
        .join(Need, Need.id == MeasureNeed.need_id)
        .where(MeasureNeed.measure_id.in_([row.id for row in by_input.values()]))
        .order_by(MeasureNeed.id)
    ):
        needs.setdefault(measure_id, []).append(title)
    items = []
    for item in version.items:
        measure = by_input.get(item.input_id)
        items.append(
            PublicItem(
                position=item.position,
                input_id=item.input_id,
                title=item.input.title,
                measure_id=measure.id if measure else None,
                measure_title=measure.title if measure else None,
                owner=measure.name if measure else None,
                status=measure.status if measure else None,
                needs=needs.get(measure.id, []) if measure else [],
                priority=item.priority,
                parts=item.parts,
            )
        )
    decision = decision_of(version, session=session)
    previous = previous_published(version, session=session)
    return PublicVersion(
        number=version.number,
        status=version.status,
        created_at=version.created_at,
        approved_at=decision.approved_at if decision else None,
        published_at=decision.published_at if decision else None,
        meeting=(
            f"{decision.meeting.title} ({decision.meeting.held_on.isoformat()})"
            if decision
            else None
        ),
        note=version.note,
        items=items,
        changes=diff_versions(previous, version, reasons_of(version, session=session)),
        previous_number=previous.number if previous else None,
    )
