"""Fetching one row by id and auditing a change to it: two steps every portfolio service repeats."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.permissions import Principal
from korona.errors import NotFound

RowT = TypeVar("RowT")


def get_or_raise(
    model: type[RowT], row_id: int, message: str, *, session: Session, **params: Any
) -> RowT:
    """Return the `model` row with this id, or raise NotFound with `message` (given `id`)."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(message, id=row_id, **params)
    return row


def record_change(
    principal: Principal,
    action: AuditAction,
    entity: str,
    row: Any,
    before: dict[str, Any] | None = None,
    *,
    session: Session,
    after: dict[str, Any] | None = None,
) -> None:
    """Write the audit row of a change to `row`: `before`, and `after` (default: its state now)."""
    after = audit.snapshot(row) if after is None else after
    audit.record(principal, action, entity, row.id, session=session, before=before, after=after)
