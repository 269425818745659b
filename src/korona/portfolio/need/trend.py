"""Need coverage over time: how many needs stood in each status at the end of every week."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.audit import AuditEntry
from korona.portfolio.intake.stats import week_span
from korona.portfolio.need.models import NeedStatus
from korona.portfolio.need.service import ENTITY

#: Statuses that count as (at least partly) covered.
COVERED = frozenset({NeedStatus.COVERED, NeedStatus.PARTLY_COVERED})
_STATUSES = frozenset(status.value for status in NeedStatus)


@dataclass(frozen=True)
class CoverageWeek:
    """The needs by status at the end of one ISO week (expired needs left out of the share)."""

    week: str
    by_status: dict[NeedStatus, int]

    @property
    def total(self) -> int:
        """Return how many needs were registered by the end of the week."""
        return sum(self.by_status.values())

    @property
    def covered_share(self) -> float | None:
        """Return the share of live needs covered at least partly (None without live needs)."""
        live = self.total - self.by_status.get(NeedStatus.EXPIRED, 0)
        covered = sum(self.by_status.get(status, 0) for status in COVERED)
        return covered / live if live else None


def coverage_by_week(*, session: Session, today: date) -> list[CoverageWeek]:
    """Replay the audit log of needs: each need's status at the end of every week.

    The audit log holds every creation and status change with its time, so the history
    needs no table of its own; a need counts from the week it was registered.
    """
    entries = session.execute(
        select(AuditEntry.entity_id, AuditEntry.at, AuditEntry.after)
        .where(AuditEntry.entity_type == ENTITY)
        .order_by(AuditEntry.at, AuditEntry.id)
    ).all()
    changes = [
        (need_id, at, NeedStatus(after["status"]))
        for need_id, at, after in entries
        if after and after.get("status") in _STATUSES
    ]
    if not changes:
        return []
    weeks = week_span(changes[0][1].astimezone(UTC).date(), today)
    first_monday = changes[0][1].astimezone(UTC).date()
    first_monday -= timedelta(days=first_monday.isoweekday() - 1)
    result = []
    status: dict[str, NeedStatus] = {}
    position = 0
    for index, week in enumerate(weeks):
        week_end = datetime.combine(first_monday + timedelta(days=7 * (index + 1)), time.min, UTC)
        while position < len(changes) and changes[position][1] < week_end:
            need_id, _at, new_status = changes[position]
            status[need_id] = new_status
            position += 1
        counts = Counter(status.values())
        result.append(CoverageWeek(week, {state: counts.get(state, 0) for state in NeedStatus}))
    return result
