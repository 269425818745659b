"""JSON API of the audit log: /api/v1/audit (portfolio office and observers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from korona import audit
from korona.validation import Limit, Offset
from korona.web.access import CanAuditRead
from korona.web.deps import DbSession
from korona.web.forms import AuditQuery

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
    query: Annotated[AuditQuery, Query()],
    principal: CanAuditRead,
    limit: Annotated[Limit, Query()] = 100,
    offset: Annotated[Offset, Query()] = 0,
) -> list[AuditEntryRead]:
    """List audit entries, newest first."""
    entries = audit.query(query.to_filter(), session=session, limit=limit, offset=offset)
    return [AuditEntryRead.model_validate(entry, from_attributes=True) for entry in entries]
