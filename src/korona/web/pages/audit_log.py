"""The audit log for the portfolio office and observers: filter, read, export (CSV, XLSX)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from korona import audit
from korona.audit import AuditAction
from korona.tabular import Audience
from korona.web.access import CanAuditRead
from korona.web.deps import DbSession
from korona.web.exports import AudienceQuery, export_response
from korona.web.forms import AuditQuery
from korona.web.history import history_lines
from korona.web.templating import render

router = APIRouter(prefix="/audit", include_in_schema=False)

PAGE_SIZE = 100


@router.get("")
def audit_page(
    request: Request,
    session: DbSession,
    query: Annotated[AuditQuery, Query()],
    principal: CanAuditRead,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Show the audit log, newest first, with filters."""
    filters = query.to_filter()
    entries = audit.query(
        filters, session=session, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    context = {
        "entries": history_lines(entries[:PAGE_SIZE], session=session),
        "has_more": len(entries) > PAGE_SIZE,
        "page": page,
        "filters": filters,
        "since": query.since,
        "until": query.until,
        "actions": list(AuditAction),
    }
    return render(request, "audit.html", context)


@router.get("/export.{fmt}")
def audit_export(
    fmt: str,
    session: DbSession,
    query: Annotated[AuditQuery, Query()],
    principal: CanAuditRead,
    audience: AudienceQuery = Audience.PEOPLE,
) -> Response:
    """Download the filtered audit log as CSV or XLSX, the raw before/after as JSON text."""
    rows = audit.export_rows(audit.query(query.to_filter(), session=session, limit=None))
    return export_response(fmt, audit.CSV_COLUMNS, rows, name="logg", audience=audience)
