"""Export downloads: column headers in the reader's language and the two audiences' formats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import Enum
from typing import Annotated, Any

from fastapi import Query, Response

from korona import tabular
from korona.errors import N_, NotFound
from korona.tabular import Audience
from korona.web import i18n
from korona.web.labels import label

#: Column code -> English header (message id) for people's exports; codes are for machines.
HEADERS: dict[str, str] = {
    "id": N_("Id"),
    "title": N_("Title"),
    "description": N_("Description"),
    "category": N_("Category"),
    "categories": N_("Categories"),
    "sector": N_("Sector"),
    "organisation": N_("Organisation"),
    "clinical_line": N_("Clinical line (faglinje)"),
    "municipality_number": N_("Municipality number"),
    "urgency": N_("Urgency"),
    "affected_groups": N_("Who is affected"),
    "status": N_("Status"),
    "review_by_date": N_("Review by"),
    "overdue": N_("Overdue"),
    "created_at": N_("Created"),
    "updated_at": N_("Changed"),
    "reference": N_("Reference"),
    "kind": N_("Kind"),
    "commercial": N_("Commercial"),
    "needs": N_("Needs"),
    "effort_hospitals": N_("Effort for hospitals"),
    "effort_municipalities": N_("Effort for municipalities"),
    "covered_by": N_("Covered by"),
    "duplicate_of": N_("Duplicate of"),
    "working_group": N_("Working group"),
    "outcome_note": N_("Outcome note"),
    "received_at": N_("Received"),
    "first_feedback_at": N_("First feedback"),
    "link": N_("Link"),
    "at": N_("Time"),
    "actor": N_("Who"),
    "action": N_("Action"),
    "entity_type": N_("Entity"),
    "entity_id": N_("Entity id"),
    "before": N_("Before"),
    "after": N_("After"),
}

#: ``?format=machine`` for scripts; without it, the export is for people.
AudienceQuery = Annotated[
    Audience,
    Query(alias="format", description="people (default: Norwegian Excel) or machine (scripts)"),
]


def _translate(value: Any) -> str:
    return label(value) if isinstance(value, Enum) else i18n.gettext(str(value))


def export_response(
    fmt: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    name: str,
    audience: Audience = Audience.PEOPLE,
) -> Response:
    """Return rows as a CSV or XLSX download named ``<name>-<today>.<fmt>``; 404 otherwise.

    For people: translated headers and labels, local times, and CSV with semicolons and a
    decimal comma (Norwegian Excel). For machines: codes, ISO UTC times, comma-separated CSV.
    """
    if fmt not in ("csv", "xlsx"):
        raise NotFound(N_("Export format must be csv or xlsx"))
    if audience is Audience.MACHINE:
        header = list(columns)
        cells = [[tabular.machine_cell(value) for value in row] for row in rows]
    else:
        header = [i18n.gettext(HEADERS.get(column, column)) for column in columns]
        cells = [[tabular.people_cell(value, _translate) for value in row] for row in rows]
    if fmt == "csv":
        people = audience is Audience.PEOPLE
        body = tabular.to_csv(header, cells, delimiter=";" if people else ",", decimal_comma=people)
        media_type = tabular.CSV_MEDIA_TYPE
    else:
        body, media_type = tabular.to_xlsx(header, cells, sheet=name), tabular.XLSX_MEDIA_TYPE
    return download(body, media_type, f"{name}-{date.today().isoformat()}.{fmt}")


def download(body: bytes, media_type: str, filename: str) -> Response:
    """Return a file for the browser to save under ``filename`` (an ASCII name)."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media_type, headers=headers)
