"""The e-mail outbox for the portfolio office: what was sent, what waits, what needs a person."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from korona.errors import N_
from korona.notify import service as notify
from korona.notify.models import OutboxStatus
from korona.web.access import CanOutboxRead
from korona.web.deps import DbSession, get_settings
from korona.web.handlers import see_other
from korona.web.templating import render

router = APIRouter(prefix="/outbox", include_in_schema=False)

OutboxId = Annotated[int, Path(ge=1, le=2**31 - 1)]

#: Each status with its label (translated in the template) and the colour of its tag.
STATUS_TAGS: dict[OutboxStatus, tuple[str, str]] = {
    OutboxStatus.QUEUED: (N_("Waiting"), "info"),
    OutboxStatus.SENDING: (N_("Being sent"), "info"),
    OutboxStatus.SENT: (N_("Sent"), "success"),
    OutboxStatus.FAILED: (N_("Failed"), "danger"),
    OutboxStatus.UNCERTAIN: (N_("Uncertain: may have been sent"), "warning"),
}


@router.get("")
def outbox_page(request: Request, session: DbSession, principal: CanOutboxRead) -> Response:
    """List the newest e-mails with their status, attempts, last error and next attempt."""
    counts = notify.count_by_status(session=session)
    context = {
        "messages": notify.list_outbox(session=session),
        "smtp": bool(get_settings(request).smtp_host),
        "waiting": counts[OutboxStatus.QUEUED] + counts[OutboxStatus.SENDING],
        "counts": counts,
        "can_resend": notify.can_resend,
        "status_tags": STATUS_TAGS,
        "needs_person": notify.needs_person_count(session=session),
    }
    return render(request, "outbox/list.html", context)


@router.post("/send")
def outbox_send(request: Request, session: DbSession, principal: CanOutboxRead) -> Response:
    """Make every waiting e-mail due now; the delivery worker sends it (not this request)."""
    due = notify.retry_waiting_now(principal, session=session)
    return see_other(f"/outbox?due={due}")


@router.post("/{outbox_id}/resend")
def outbox_resend(
    request: Request, session: DbSession, outbox_id: OutboxId, principal: CanOutboxRead
) -> Response:
    """Queue a failed, uncertain or given-up e-mail again (a person decided to resend it)."""
    notify.resend(principal, outbox_id, session=session)
    return see_other(f"/outbox?resent={outbox_id}")
