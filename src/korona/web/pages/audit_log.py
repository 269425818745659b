"""The audit log for the portfolio office and observers: filter, read, export as CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from korona import audit
from korona.audit import AuditAction
from korona.auth.permissions import Permission, Principal
from korona.tabular import CSV_MEDIA_TYPE
from korona.validation import CleanLine
from korona.web.deps import DbSession, require
from korona.web.templating import render

router = APIRouter(prefix="/audit", include_in_schema=False)

PAGE_SIZE = 100


def audit_filter(
    entity_type: str | None,
    entity_id: str | None,
    actor: str | None,
    action: str | None,
    since: date | None,
    until: date | None,
) -> audit.AuditFilter:
    return audit.AuditFilter(
        entity_type=entity_type or None,
        entity_id=entity_id or None,
        actor=actor or None,
        action=action if action in {member.value for member in AuditAction} else None,
        since=datetime.combine(since, time.min, tzinfo=UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC) if until else None,
    )


@router.get("")
def audit_page(
    request: Request,
    session: DbSession,
    entity_type: CleanLine | None = Query(None, max_length=50),
    entity_id: CleanLine | None = Query(None, max_length=50),
    actor: CleanLine | None = Query(None, max_length=254),
    action: CleanLine | None = Query(None, max_length=20),
    since: date | None = None,
    until: date | None = None,
    page: int = Query(1, ge=1, le=100_000),
    principal: Principal = Depends(require(Permission.AUDIT_READ)),
) -> Response:
    """Show the audit log, newest first, with filters."""
    filters = audit_filter(entity_type, entity_id, actor, action, since, until)
    entries = audit.query(session, filters, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    context = {
        "entries": entries[:PAGE_SIZE],
        "has_more": len(entries) > PAGE_SIZE,
        "page": page,
        "filters": filters,
        "since": since,
        "until": until,
        "actions": list(AuditAction),
    }
    return render(request, "audit.html", context)


@router.get("/export.csv")
def audit_export(
    session: DbSession,
    entity_type: CleanLine | None = Query(None, max_length=50),
    entity_id: CleanLine | None = Query(None, max_length=50),
    actor: CleanLine | None = Query(None, max_length=254),
    action: CleanLine | None = Query(None, max_length=20),
    since: date | None = None,
    until: date | None = None,
    principal: Principal = Depends(require(Permission.AUDIT_READ)),
) -> Response:
    """Download the filtered audit log as CSV."""
    filters = audit_filter(entity_type, entity_id, actor, action, since, until)
    body = audit.to_csv(audit.query(session, filters, limit=None))
    headers = {"Content-Disposition": 'attachment; filename="audit-log.csv"'}
    return Response(body.encode("utf-8"), media_type=CSV_MEDIA_TYPE, headers=headers)
