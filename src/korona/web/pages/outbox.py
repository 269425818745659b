"""The e-mail outbox for the portfolio office: what was sent, what waits, and a retry button."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from korona.auth.permissions import Permission, Principal
from korona.notify import service as notify
from korona.web.deps import DbSession, get_settings, require
from korona.web.templating import render

router = APIRouter(prefix="/outbox", include_in_schema=False)


@router.get("")
def outbox_page(
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.OUTBOX_READ)),
) -> Response:
    """List the newest e-mails, sent and waiting."""
    context = {
        "messages": notify.list_outbox(session),
        "smtp": bool(get_settings(request).smtp_host),
        "waiting": len(notify.pending(session, include_exhausted=True)),
    }
    return render(request, "outbox/list.html", context)


@router.post("/send")
def outbox_send(
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.OUTBOX_READ)),
) -> Response:
    """Try again to send every waiting e-mail now (also those that failed many times)."""
    settings = get_settings(request)
    sender = notify.sender_for(settings)
    if sender is None:
        return RedirectResponse("/outbox?nosmtp=1", status_code=303)
    result = notify.deliver(session, sender, settings.mail_from, include_exhausted=True)
    return RedirectResponse(f"/outbox?sent={result.sent}&failed={result.failed}", status_code=303)
