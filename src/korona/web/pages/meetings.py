"""Decision-group pages: meetings with attendees, agenda, minutes and comments; net-list
versions from draft through approval (decision members) to publication (the office)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.auth.models import User
from korona.auth.permissions import Principal
from korona.portfolio.netlist import meetings, publication
from korona.portfolio.netlist.decision_models import Capacity
from korona.portfolio.netlist.diff import changed
from korona.portfolio.netlist.meetings import (
    AgendaAdd,
    AttendeeAdd,
    CommentCreate,
    DecisionText,
    MeetingCreate,
    MinutesText,
)
from korona.portfolio.netlist.models import NetlistStatus
from korona.validation import RowId
from korona.web.access import (
    CanMeetingComment,
    CanMeetingManage,
    CanMeetingRead,
    CanNetlistApprove,
    CanNetlistPublish,
)
from korona.web.deps import DbSession
from korona.web.exports import download
from korona.web.forms import NO_ERRORS, Form, Rejected, filled, text
from korona.web.handlers import EntityForms, form_page, submit

router = APIRouter(include_in_schema=False)


@router.get("/meetings")
def meetings_page(request: Request, session: DbSession, principal: CanMeetingRead) -> Response:
    """List the decision group's meetings and every net-list version."""
    return _meetings(request, session, {})


def _meetings(
    request: Request, session: Session, values: dict[str, Any], rejected: Rejected = NO_ERRORS
) -> Response:
    context = {
        "meetings": meetings.list_meetings(session=session),
        "versions": publication.list_versions(session=session),
        "values": values,
    }
    return form_page(request, "netlist/meetings.html", context, rejected)


@router.post("/meetings")
def create_meeting(
    request: Request, session: DbSession, form: Form, principal: CanMeetingManage
) -> Response:
    """Create a meeting."""
    values = filled(form, "title", "held_on")
    return submit(
        lambda: meetings.create_meeting(
            principal, MeetingCreate.model_validate(values), session=session
        ),
        session=session,
        field="title",
        redraw=lambda rejected: _meetings(request, session, values, rejected),
        done=lambda meeting: f"/meetings/{meeting.id}",
    )


def _meeting(
    request: Request,
    session: Session,
    principal: Principal,
    meeting_id: int,
    rejected: Rejected = NO_ERRORS,
) -> Response:
    meeting = meetings.get_meeting(meeting_id, session=session)
    present = {attendee.user_id for attendee in meeting.attendees}
    candidates = [
        user
        for user in session.scalars(
            select(User).where(User.is_active.is_(True)).order_by(User.name)
        )
        if user.id not in present
    ]
    context = {
        "meeting": meeting,
        "candidates": candidates,
        "capacities": list(Capacity),
        "drafts": [
            version
            for version in publication.list_versions(session=session)
            if version.status == NetlistStatus.DRAFT
        ],
        "versions": publication.list_versions(session=session),
    }
    return form_page(request, "netlist/meeting.html", context, rejected)


@router.get("/meetings/{meeting_id}")
def meeting_page(
    meeting_id: RowId, request: Request, session: DbSession, principal: CanMeetingRead
) -> Response:
    """Show a meeting: attendees, agenda with decisions, minutes, comments, drafts to approve."""
    return _meeting(request, session, principal, meeting_id)


def _forms(
    request: Request, session: Session, principal: Principal, meeting_id: int
) -> EntityForms:
    """The forms on a meeting's page (a 404 if the meeting does not exist)."""
    meetings.get_meeting(meeting_id, session=session)
    back = f"/meetings/{meeting_id}?saved=1"
    return EntityForms.on_page(request, session, principal, meeting_id, draw=_meeting, back=back)


@router.post("/meetings/{meeting_id}/attendees")
def add_attendee(
    meeting_id: RowId, request: Request, session: DbSession, form: Form, principal: CanMeetingManage
) -> Response:
    """Record someone as present (member or observer)."""
    values = filled(form, "user_id", "capacity")
    page = _forms(request, session, principal, meeting_id)
    return page.save("user_id", meetings.add_attendee, AttendeeAdd, values)


@router.post("/meetings/{meeting_id}/agenda")
def add_agenda_item(
    meeting_id: RowId, request: Request, session: DbSession, form: Form, principal: CanMeetingManage
) -> Response:
    """Add an agenda item."""
    values = filled(form, "title", "netlist_version_id")
    page = _forms(request, session, principal, meeting_id)
    return page.save("agenda_title", meetings.add_agenda_item, AgendaAdd, values)


@router.post("/meetings/{meeting_id}/agenda/{item_id}/decision")
def record_decision(
    meeting_id: RowId,
    item_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: CanMeetingManage,
) -> Response:
    """Write an agenda item's decision into the minutes."""

    def decide(principal: Principal, meeting_id: int, data: Any, *, session: Session) -> object:
        return meetings.record_decision(principal, meeting_id, item_id, data, session=session)

    page = _forms(request, session, principal, meeting_id)
    return page.save("decision", decide, DecisionText, {"decision": text(form, "decision")})


@router.post("/meetings/{meeting_id}/minutes")
def write_minutes(
    meeting_id: RowId, request: Request, session: DbSession, form: Form, principal: CanMeetingManage
) -> Response:
    """Write the general minutes."""
    page = _forms(request, session, principal, meeting_id)
    values = {"minutes": text(form, "minutes")}
    return page.save("minutes", meetings.write_minutes, MinutesText, values)


@router.post("/meetings/{meeting_id}/comments")
def add_comment(
    meeting_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: CanMeetingComment,
) -> Response:
    """Comment on a meeting (members, observers and the office)."""
    page = _forms(request, session, principal, meeting_id)
    return page.save("comment", meetings.comment, CommentCreate, {"text": text(form, "text")})


@router.post("/meetings/{meeting_id}/approve/{number}")
def approve_version(
    meeting_id: RowId,
    number: RowId,
    request: Request,
    session: DbSession,
    principal: CanNetlistApprove,
) -> Response:
    """Approve a draft net list in this meeting (decision members only)."""
    return _forms(request, session, principal, meeting_id).post(
        "approve",
        lambda: publication.approve(principal, number, meeting_id, session=session),
        f"/meetings/{meeting_id}?approved={number}",
    )


@router.get("/meetings/{meeting_id}/report.pdf")
def meeting_report(meeting_id: RowId, session: DbSession, principal: CanMeetingRead) -> Response:
    """Download the committee's case document for this meeting (PDF)."""
    from korona.portfolio.netlist.report import build_report

    pdf = build_report(meeting_id, session=session)
    return download(pdf, "application/pdf", f"fremdrift-mote-{meeting_id}.pdf")


@router.get("/decisions/versions/{number}")
def version_page(
    number: RowId, request: Request, session: DbSession, principal: CanMeetingRead
) -> Response:
    """Show any version (drafts too) with its changes, reasons and the next step."""
    return _version(request, session, number)


def _version(
    request: Request, session: Session, number: int, rejected: Rejected = NO_ERRORS
) -> Response:
    version = publication.get_by_number(number, session=session)
    view = publication.public_view(version, session=session)
    context = {
        "version": version,
        "view": view,
        "rows": changed(view.changes),
        "decision": publication.decision_of(version, session=session),
        "meetings": meetings.list_meetings(session=session),
    }
    return form_page(request, "netlist/version.html", context, rejected)


@router.post("/decisions/versions/{number}/publish")
def publish_version(
    number: RowId, request: Request, session: DbSession, principal: CanNetlistPublish
) -> Response:
    """Publish an approved version (the portfolio office)."""
    return submit(
        lambda: publication.publish(principal, number, session=session),
        session=session,
        redraw=lambda rejected: _version(request, session, number, rejected),
        done=f"/netlist/versions/{number}",
    )


@router.post("/decisions/versions/{number}/reasons/{input_id}")
def record_reason(
    number: RowId,
    input_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: CanMeetingManage,
) -> Response:
    """Record why an input came in, went out or moved."""
    reason = {"reason": text(form, "reason")}

    def record() -> object:
        data = publication.ReasonText.model_validate(reason)
        return publication.record_reason(principal, number, input_id, data.reason, session=session)

    return submit(
        record,
        session=session,
        field="reason",
        redraw=lambda rejected: _version(request, session, number, rejected),
        done=f"/decisions/versions/{number}?saved=1",
    )
