"""JSON API of the audit log: /api/v1/audit (portfolio office and observers)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from korona import audit
from korona.audit import AuditAction
from korona.auth.permissions import Permission, Principal
from korona.validation import CleanLine, Limit, Offset
from korona.web.deps import DbSession, require
from korona.web.pages.audit_log import audit_filter

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditEntryRead(BaseModel):
    """One audit entry in the API."""

    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, object] | None
    after: dict[str, object] | None


@router.get("", response_model=list[AuditEntryRead])
def audit_api(
    session: DbSession,
    entity_type: CleanLine | None = Query(None, max_length=50),
    entity_id: CleanLine | None = Query(None, max_length=50),
    actor: CleanLine | None = Query(None, max_length=254),
    action: AuditAction | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: Annotated[Limit, Query()] = 100,
    offset: Annotated[Offset, Query()] = 0,
    principal: Principal = Depends(require(Permission.AUDIT_READ)),
) -> list[AuditEntryRead]:
    """List audit entries, newest first."""
    filters = audit_filter(
        entity_type, entity_id, actor, action.value if action else None, since, until
    )
    entries = audit.query(session, filters, limit=limit, offset=offset)
    return [AuditEntryRead.model_validate(entry, from_attributes=True) for entry in entries]
