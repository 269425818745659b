"""The needs export: its columns, and each need as a row of plain values (see korona.tabular)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from korona.portfolio.need.models import AffectedGroup, Need

EXPORT_COLUMNS = (
    "id",
    "title",
    "description",
    "category",
    "sector",
    "organisation",
    "clinical_line",
    "municipality_number",
    "urgency",
    "affected_groups",
    "status",
    "review_by_date",
    "overdue",
    "created_at",
    "updated_at",
)


def export_rows(needs: Sequence[Need], *, today: date | None = None) -> list[list[Any]]:
    """Return the needs as rows of EXPORT_COLUMNS (plain values; see korona.tabular)."""
    today = today or date.today()
    return [
        [
            need.id,
            need.title,
            need.description,
            need.category_code,
            need.sector,
            need.organisation.name,
            need.clinical_line,
            need.municipality_number or "",
            need.urgency,
            [_group(group) for group in need.affected_groups],
            need.status,
            need.review_by_date,
            need.is_overdue(today),
            need.created_at,
            need.updated_at,
        ]
        for need in needs
    ]


def _group(value: str) -> AffectedGroup | str:
    try:
        return AffectedGroup(value)
    except ValueError:
        return value
