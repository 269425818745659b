"""Decision-group pages: meetings with attendees, agenda, minutes and comments; net-list
versions from draft through approval (decision members) to publication (the office)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.auth.models import User
from korona.auth.permissions import Permission, Principal
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
from korona.web.deps import DbSession, require
from korona.web.forms import Form, Rejected, attempt, text
from korona.web.templating import render

router = APIRouter(include_in_schema=False)


def _fields(form: Any, *names: str) -> dict[str, Any]:
    return {name: value for name in names if (value := text(form, name)) != ""}


@router.get("/meetings")
def meetings_page(
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.MEETING_READ)),
) -> Response:
    """List the decision group's meetings and every net-list version."""
    return _meetings(request, session, errors={}, values={})


def _meetings(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str],
    values: dict[str, Any],
    status_code: int = 200,
) -> Response:
    context = {
        "meetings": meetings.list_meetings(session),
        "versions": publication.list_versions(session),
        "errors": errors,
        "values": values,
    }
    return render(request, "netlist/meetings.html", context, status_code=status_code)


@router.post("/meetings")
def create_meeting(
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEETING_MANAGE)),
) -> Response:
    """Create a meeting."""
    values = _fields(form, "title", "held_on")
    outcome = attempt(
        session,
        lambda: meetings.create_meeting(session, principal, MeetingCreate.model_validate(values)),
        field="title",
    )
    if isinstance(outcome, Rejected):
        return _meetings(
            request,
            session,
            errors=outcome.errors,
            values=values,
            status_code=outcome.status_code,
        )
    return RedirectResponse(f"/meetings/{outcome.id}", status_code=303)


def _meeting(
    request: Request,
    session: Session,
    principal: Principal,
    meeting_id: int,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    meeting = meetings.get_meeting(session, meeting_id)
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
        "errors": errors or {},
        "candidates": candidates,
        "capacities": list(Capacity),
        "drafts": [
            version
            for version in publication.list_versions(session)
            if version.status == NetlistStatus.DRAFT
        ],
        "versions": publication.list_versions(session),
    }
    return render(request, "netlist/meeting.html", context, status_code=status_code)


@router.get("/meetings/{meeting_id}")
def meeting_page(
    meeting_id: RowId,
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.MEETING_READ)),
) -> Response:
    """Show a meeting: attendees, agenda with decisions, minutes, comments, drafts to approve."""
    return _meeting(request, session, principal, meeting_id)


def _act(
    request: Request,
    session: Session,
    principal: Principal,
    meeting_id: int,
    action: Callable[[], object],
    *,
    field: str,
    target: str | None = None,
) -> Response:
    meetings.get_meeting(session, meeting_id)
    outcome = attempt(session, action, field=field)
    if isinstance(outcome, Rejected):
        return _meeting(
            request,
            session,
            principal,
            meeting_id,
            errors=outcome.errors,
            status_code=outcome.status_code,
        )
    return RedirectResponse(target or f"/meetings/{meeting_id}?saved=1", status_code=303)


@router.post("/meetings/{meeting_id}/attendees")
def add_attendee(
    meeting_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEETING_MANAGE)),
) -> Response:
    """Record someone as present (member or observer)."""
    values = _fields(form, "user_id", "capacity")
    return _act(
        request,
        session,
        principal,
        meeting_id,
        lambda: meetings.add_attendee(
            session, principal, meeting_id, AttendeeAdd.model_validate(values)
        ),
        field="user_id",
    )


@router.post("/meetings/{meeting_id}/agenda")
def add_agenda_item(
    meeting_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEETING_MANAGE)),
) -> Response:
    """Add an agenda item."""
    values = _fields(form, "title", "netlist_version_id")
    return _act(
        request,
        session,
        principal,
        meeting_id,
        lambda: meetings.add_agenda_item(
            session, principal, meeting_id, AgendaAdd.model_validate(values)
        ),
        field="agenda_title",
    )


@router.post("/meetings/{meeting_id}/agenda/{item_id}/decision")
def record_decision(
    meeting_id: RowId,
    item_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEETING_MANAGE)),
) -> Response:
    """Write an agenda item's decision into the minutes."""
    values = {"decision": text(form, "decision")}
    return _act(
        request,
        session,
        principal,
        meeting_id,
        lambda: meetings.record_decision(
            session, principal, meeting_id, item_id, DecisionText.model_validate(values)
        ),
        field="decision",
    )


@router.post("/meetings/{meeting_id}/minutes")
def write_minutes(
    meeting_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEETING_MANAGE)),
) -> Response:
    """Write the general minutes."""
    values = {"minutes": text(form, "minutes")}
    return _act(
        request,
        session,
        principal,
        meeting_id,
        lambda: meetings.write_minutes(
            session, principal, meeting_id, MinutesText.model_validate(values)
        ),
        field="minutes",
    )


@router.post("/meetings/{meeting_id}/comments")
def add_comment(
    meeting_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEETING_COMMENT)),
) -> Response:
    """Comment on a meeting (members, observers and the office)."""
    values = {"text": text(form, "text")}
    return _act(
        request,
        session,
        principal,
        meeting_id,
        lambda: meetings.comment(
            session, principal, meeting_id, CommentCreate.model_validate(values)
        ),
        field="comment",
    )


@router.post("/meetings/{meeting_id}/approve/{number}")
def approve_version(
    meeting_id: RowId,
    number: RowId,
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.NETLIST_APPROVE)),
) -> Response:
    """Approve a draft net list in this meeting (decision members only)."""
    return _act(
        request,
        session,
        principal,
        meeting_id,
        lambda: publication.approve(session, principal, number, meeting_id),
        field="approve",
        target=f"/meetings/{meeting_id}?approved={number}",
    )


@router.get("/meetings/{meeting_id}/report.pdf")
def meeting_report(
    meeting_id: RowId,
    session: DbSession,
    principal: Principal = Depends(require(Permission.MEETING_READ)),
) -> Response:
    """Download the committee's case document for this meeting (PDF)."""
    from korona.portfolio.netlist.report import build_report

    pdf = build_report(session, meeting_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="fremdrift-mote-{meeting_id}.pdf"'},
    )


@router.get("/decisions/versions/{number}")
def version_page(
    number: RowId,
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.MEETING_READ)),
) -> Response:
    """Show any version (drafts too) with its changes, reasons and the next step."""
    return _version(request, session, number, errors={})


def _version(
    request: Request,
    session: Session,
    number: int,
    *,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    version = publication.get_by_number(session, number)
    view = publication.public_view(session, version)
    context = {
        "version": version,
        "view": view,
        "rows": changed(view.changes),
        "decision": publication.decision_of(session, version),
        "meetings": meetings.list_meetings(session),
        "errors": errors,
    }
    return render(request, "netlist/version.html", context, status_code=status_code)


@router.post("/decisions/versions/{number}/publish")
def publish_version(
    number: RowId,
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.NETLIST_PUBLISH)),
) -> Response:
    """Publish an approved version (the portfolio office)."""
    outcome = attempt(session, lambda: publication.publish(session, principal, number))
    if isinstance(outcome, Rejected):
        return _version(
            request, session, number, errors=outcome.errors, status_code=outcome.status_code
        )
    return RedirectResponse(f"/netlist/versions/{number}", status_code=303)


@router.post("/decisions/versions/{number}/reasons/{input_id}")
def record_reason(
    number: RowId,
    input_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.MEETING_MANAGE)),
) -> Response:
    """Record why an input came in, went out or moved."""
    reason = text(form, "reason")
    outcome = attempt(
        session,
        lambda: publication.record_reason(
            session,
            principal,
            number,
            input_id,
            publication.ReasonText.model_validate({"reason": reason}).reason,
        ),
        field="reason",
    )
    if isinstance(outcome, Rejected):
        return _version(
            request, session, number, errors=outcome.errors, status_code=outcome.status_code
        )
    return RedirectResponse(f"/decisions/versions/{number}?saved=1", status_code=303)
