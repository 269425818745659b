"""Intake statistics for the portfolio dashboard: time to first feedback, inputs per week."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from korona.portfolio.intake.models import Input, InputStatus


def iso_week(moment: datetime) -> str:
    """Return the ISO week of a timestamp as "2020-W05"."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _percentile(values: Sequence[float], share: float) -> float:
    """Return the linear-interpolation percentile (numpy's default) of sorted values."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class FeedbackWeek:
    """Time to first feedback of the inputs received in one ISO week, in hours."""

    week: str
    received: int
    answered: int
    median_hours: float | None
    p90_hours: float | None


def time_to_first_feedback(items: Sequence[Input]) -> list[FeedbackWeek]:
    """Return median and 90th percentile hours to first feedback, by week received."""
    by_week: dict[str, list[Input]] = defaultdict(list)
    for item in items:
        by_week[iso_week(item.received_at)].append(item)
    weeks = []
    for week in sorted(by_week):
        hours = [
            (item.first_feedback_at - item.received_at).total_seconds() / 3600
            for item in by_week[week]
            if item.first_feedback_at is not None
        ]
        weeks.append(
            FeedbackWeek(
                week=week,
                received=len(by_week[week]),
                answered=len(hours),
                median_hours=round(statistics.median(hours), 1) if hours else None,
                p90_hours=round(_percentile(hours, 0.9), 1) if hours else None,
            )
        )
    return weeks


@dataclass(frozen=True)
class ReceivedCounts:
    """Inputs received per ISO week, by kind, by category and by sector (public/private)."""

    by_kind: dict[tuple[str, str], int]
    by_category: dict[tuple[str, str], int]
    by_sector: dict[tuple[str, str], int]


def received_counts(items: Sequence[Input]) -> ReceivedCounts:
    """Count received inputs per week by kind, category and sector."""
    by_kind: Counter[tuple[str, str]] = Counter()
    by_category: Counter[tuple[str, str]] = Counter()
    by_sector: Counter[tuple[str, str]] = Counter()
    for item in items:
        week = iso_week(item.received_at)
        by_kind[(week, item.kind.value)] += 1
        by_sector[(week, "public" if item.is_public else "private")] += 1
        for code in item.categories or ["other"]:
            by_category[(week, code)] += 1
    return ReceivedCounts(dict(by_kind), dict(by_category), dict(by_sector))


def week_span(first: date, last: date) -> list[str]:
    """Return every ISO week from the one holding ``first`` to the one holding ``last``."""
    start = first - timedelta(days=first.isoweekday() - 1)
    weeks = []
    day = start
    while day <= last:
        weeks.append(iso_week(datetime.combine(day, time.min)))
        day += timedelta(days=7)
    return weeks


def outcome_counts(items: Sequence[Input]) -> dict[InputStatus, int]:
    """Count inputs by outcome (status), every outcome present, in workflow order."""
    counts = Counter(item.status for item in items)
    return {status: counts.get(status, 0) for status in InputStatus}
