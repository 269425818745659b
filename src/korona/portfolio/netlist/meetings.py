"""Decision-group meetings (møter i beslutningsgruppen): attendees, agenda, minutes, comments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from korona.audit import AuditAction
from korona.auth.models import User
from korona.auth.permissions import Principal
from korona.auth.vocabulary import Role
from korona.db import utcnow
from korona.errors import N_, Conflict, InvalidInput
from korona.portfolio.netlist.decision_models import (
    AgendaItem,
    Capacity,
    Meeting,
    MeetingAttendee,
    MeetingComment,
)
from korona.portfolio.netlist.models import NetlistVersion
from korona.portfolio.rows import (
    get_or_raise,
    get_owned_or_raise,
    record_change,
    set_field,
)
from korona.validation import CLEAN_TEXT, RowId, Title

ENTITY = "meeting"

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=10000), CLEAN_TEXT
]
OptionalText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=20000), CLEAN_TEXT
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MeetingCreate(_Strict):
    """A new meeting."""

    title: Title
    held_on: date


class AttendeeAdd(_Strict):
    """Someone present, and in which capacity."""

    user_id: RowId
    capacity: Capacity


class AgendaAdd(_Strict):
    """A new agenda item, optionally about a net-list version."""

    title: Title
    netlist_version_id: RowId | None = None


class DecisionText(_Strict):
    """The minutes' text of one agenda item (the decision, vedtak)."""

    decision: OptionalText


class MinutesText(_Strict):
    """The meeting's general minutes."""

    minutes: OptionalText


class CommentCreate(_Strict):
    """A comment on a meeting."""

    text: Text


def list_meetings(*, session: Session) -> Sequence[Meeting]:
    """Return the meetings, newest first."""
    return session.scalars(
        select(Meeting).order_by(Meeting.held_on.desc(), Meeting.id.desc())
    ).all()


def get_meeting(meeting_id: int, *, session: Session) -> Meeting:
    """Return the meeting or raise NotFound."""
    return get_or_raise(Meeting, meeting_id, N_("Meeting {id} does not exist"), session=session)


def create_meeting(principal: Principal, data: MeetingCreate, *, session: Session) -> Meeting:
    """Create a meeting of the decision group."""
    meeting = Meeting(title=data.title, held_on=data.held_on, minutes="", created_at=utcnow())
    session.add(meeting)
    session.flush()
    record_change(
        principal,
        AuditAction.CREATE,
        ENTITY,
        meeting,
        session=session,
        after={"title": data.title, "held_on": data.held_on.isoformat()},
    )
    return meeting


def add_attendee(
    principal: Principal, meeting_id: int, data: AttendeeAdd, *, session: Session
) -> MeetingAttendee:
    """Record someone as present; only decision members attend as members."""
    meeting = get_meeting(meeting_id, session=session)
    user = session.get(User, data.user_id)
    if user is None:
        raise InvalidInput(N_("User {id} does not exist"), field="user_id", id=data.user_id)
    if data.capacity == Capacity.MEMBER and Role.DECISION_MEMBER not in user.roles:
        raise InvalidInput(
            N_("{name} is not a member of the decision group"), field="capacity", name=user.name
        )
    if any(attendee.user_id == user.id for attendee in meeting.attendees):
        raise Conflict(N_("{name} is already recorded as present"), field="user_id", name=user.name)
    attendee = MeetingAttendee(meeting_id=meeting.id, user_id=user.id, capacity=data.capacity)
    meeting.attendees.append(attendee)
    session.flush()
    record_change(
        principal,
        AuditAction.UPDATE,
        ENTITY,
        meeting,
        session=session,
        after={"attendee": user.email, "capacity": data.capacity.value},
    )
    return attendee


def add_agenda_item(
    principal: Principal, meeting_id: int, data: AgendaAdd, *, session: Session
) -> AgendaItem:
    """Add an item at the end of the agenda."""
    meeting = get_meeting(meeting_id, session=session)
    if data.netlist_version_id and session.get(NetlistVersion, data.netlist_version_id) is None:
        raise InvalidInput(
            N_("Net-list version {id} does not exist"),
            field="netlist_version_id",
            id=data.netlist_version_id,
        )
    position = (
        session.scalar(
            select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id)
        )
        or 0
    ) + 1
    item = AgendaItem(
        meeting_id=meeting.id,
        position=position,
        title=data.title,
        decision="",
        netlist_version_id=data.netlist_version_id,
    )
    meeting.agenda.append(item)
    session.flush()
    record_change(principal, AuditAction.CREATE, "agenda_item", item, session=session)
    return item


def record_decision(
    principal: Principal, meeting_id: int, item_id: int, data: DecisionText, *, session: Session
) -> AgendaItem:
    """Write the decision (vedtak) of an agenda item into the minutes."""
    item = get_owned_or_raise(
        AgendaItem,
        item_id,
        "meeting_id",
        meeting_id,
        N_("Agenda item {id} does not exist"),
        session=session,
    )
    set_field(principal, "agenda_item", item, "decision", data.decision, session=session)
    return item


def write_minutes(
    principal: Principal, meeting_id: int, data: MinutesText, *, session: Session
) -> Meeting:
    """Write the meeting's general minutes."""
    meeting = get_meeting(meeting_id, session=session)
    set_field(principal, ENTITY, meeting, "minutes", data.minutes, session=session)
    return meeting


def comment(
    principal: Principal, meeting_id: int, data: CommentCreate, *, session: Session
) -> MeetingComment:
    """Add a comment (observers comment; they decide nothing)."""
    meeting = get_meeting(meeting_id, session=session)
    note = MeetingComment(
        meeting_id=meeting.id, user_id=principal.user_id, text=data.text, created_at=utcnow()
    )
    meeting.comments.append(note)
    session.flush()
    record_change(
        principal,
        AuditAction.CREATE,
        "meeting_comment",
        note,
        session=session,
        after={"meeting_id": meeting.id, "text": data.text},
    )
    return note


def ensure_member_present(principal: Principal, meeting: Meeting, *, session: Session) -> None:
    """Record a decision member who approves in a meeting as present, if not already."""
    for attendee in meeting.attendees:
        if attendee.user_id == principal.user_id:
            if attendee.capacity != Capacity.MEMBER:
                raise Conflict(N_("You attend this meeting as an observer and cannot approve"))
            return
    assert principal.user_id is not None
    meeting.attendees.append(
        MeetingAttendee(meeting_id=meeting.id, user_id=principal.user_id, capacity=Capacity.MEMBER)
    )
    session.flush()
