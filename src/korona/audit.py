"""Append-only audit log, written in the same transaction as the change it records."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from korona.auth.permissions import Principal
from korona.db import Base, UTCDateTime, utcnow


class AuditAction(StrEnum):
    """What happened to the entity."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    STATUS = "status"
    LOGIN = "login"
    LOGOUT = "logout"
    PASSWORD = "password"  # noqa: S105 - an action name, not a secret
    TOKEN = "token"  # noqa: S105 - an action name, not a secret


class AuditEntry(Base):
    """One recorded change. Database triggers refuse UPDATE and DELETE on this table."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(20))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(50))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def snapshot(entity: Any, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Return the entity's column values as JSON-ready data (for before/after)."""
    skipped = set(exclude)
    mapper = inspect(entity).mapper
    return {
        column.key: _plain(getattr(entity, column.key))
        for column in mapper.column_attrs
        if column.key not in skipped
    }


def record(
    principal: Principal,
    action: AuditAction,
    entity_type: str,
    entity_id: object,
    *,
    session: Session,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit row to the caller's transaction; only changed fields are kept for updates."""
    if before is not None and after is not None:
        changed = {key for key in after if before.get(key) != after.get(key)}
        before = {key: before.get(key) for key in sorted(changed)}
        after = {key: after[key] for key in sorted(changed)}
    entry = AuditEntry(
        actor_id=principal.user_id,
        actor=principal.label,
        action=action.value,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=before,
        after=after,
        at=utcnow(),
    )
    session.add(entry)
    return entry


def record_change(
    principal: Principal,
    action: AuditAction,
    entity_type: str,
    row: Any,
    before: dict[str, Any] | None = None,
    *,
    session: Session,
    after: dict[str, Any] | None = None,
) -> None:
    """Write the audit row of a change to `row`: `before`, and `after` (default: its state now)."""
    after = snapshot(row) if after is None else after
    record(principal, action, entity_type, row.id, session=session, before=before, after=after)


@dataclass(frozen=True)
class AuditFilter:
    """Filters of the audit log view and export."""

    entity_type: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def query(
    filters: AuditFilter, *, session: Session, limit: int | None = 500, offset: int = 0
) -> Sequence[AuditEntry]:
    """Return audit entries, newest first, matching the filters."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc())
    if filters.entity_type:
        statement = statement.where(AuditEntry.entity_type == filters.entity_type)
    if filters.entity_id:
        statement = statement.where(AuditEntry.entity_id == filters.entity_id)
    if filters.actor:
        statement = statement.where(AuditEntry.actor.contains(filters.actor))
    if filters.action:
        statement = statement.where(AuditEntry.action == filters.action)
    if filters.since:
        statement = statement.where(AuditEntry.at >= filters.since)
    if filters.until:
        statement = statement.where(AuditEntry.at < filters.until)
    statement = statement.offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    return session.scalars(statement).all()


def history(entity_type: str, entity_id: object, *, session: Session) -> Sequence[AuditEntry]:
    """Return every recorded change to one entity, oldest first."""
    statement = (
        select(AuditEntry)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.id)
    )
    return session.scalars(statement).all()


CSV_COLUMNS = ("id", "at", "actor", "action", "entity_type", "entity_id", "before", "after")


def _action(value: str) -> AuditAction | str:
    try:
        return AuditAction(value)
    except ValueError:
        return value


def export_rows(entries: Iterable[AuditEntry]) -> list[list[Any]]:
    """Return the entries as rows of CSV_COLUMNS (plain values), before/after as JSON text."""
    return [
        [
            entry.id,
            entry.at,
            entry.actor,
            _action(entry.action),
            entry.entity_type,
            entry.entity_id,
            json.dumps(entry.before, ensure_ascii=False) if entry.before else "",
            json.dumps(entry.after, ensure_ascii=False) if entry.after else "",
        ]
        for entry in entries
    ]
