"""Write tables (header + rows) as CSV or XLSX, for people (Norwegian Excel) or for machines.

Rows hold plain values: text, numbers, enums, dates, UTC datetimes, lists and ``Coded``
values. For machines they become codes, ISO dates and UTC timestamps in comma-separated
CSV; for people they become labels and local (Europe/Oslo) times, and CSV uses semicolons
and a decimal comma, as Norwegian Excel expects.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum, StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from korona.errors import N_

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LOCAL_TIME = ZoneInfo("Europe/Oslo")
#: XLSX column widths (characters): wide enough for a date, narrow enough to see many columns.
MIN_WIDTH, MAX_WIDTH = 8, 60


class Audience(StrEnum):
    """Who reads an export: people (labels, local time) or scripts (codes, UTC)."""

    PEOPLE = "people"
    MACHINE = "machine"


@dataclass(frozen=True)
class Coded:
    """A value with a code for machines and an English label (message id) for people."""

    code: str
    label: str


def yes_no(flag: bool) -> Coded:
    """Return a yes/no cell."""
    return Coded("yes", N_("Yes")) if flag else Coded("no", N_("No"))


def _safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formula injection in text cells (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def machine_cell(value: Any) -> Any:
    """Return a cell for scripts: codes, ISO dates, UTC timestamps, lists joined by ", "."""
    if value is None:
        return ""
    if isinstance(value, Coded):
        return value.code
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(str(machine_cell(item)) for item in value)
    return value


def people_cell(value: Any, translate: Callable[[Any], str]) -> Any:
    """Return a cell for people: labels (``translate`` turns enums and message ids into text),
    local naive datetimes (formatted by the writer), lists joined by ", "."""
    if value is None:
        return ""
    if isinstance(value, Coded):
        return translate(value.label)
    if isinstance(value, bool):
        return translate(yes_no(value).label)
    if isinstance(value, Enum):
        return translate(value)
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TIME).replace(tzinfo=None)
    if isinstance(value, list | tuple):
        return ", ".join(str(people_cell(item, translate)) for item in value)
    return value


def _csv_text(value: Any, *, decimal_comma: bool) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, float) and decimal_comma:
        return repr(value).replace(".", ",")
    return _safe_cell(value)


def to_csv(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    delimiter: str = ",",
    decimal_comma: bool = False,
) -> bytes:
    """Return UTF-8 CSV with a BOM so that Excel opens Norwegian letters correctly.

    Datetimes must already be in the reader's time zone (see ``people_cell``); people's CSV
    takes ``delimiter=";"`` and ``decimal_comma=True``, the list separator and decimal mark of
    Norwegian Excel, which otherwise opens the whole row in one column.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(columns)
    writer.writerows(
        [[_csv_text(value, decimal_comma=decimal_comma) for value in row] for row in rows]
    )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _width(value: Any) -> int:
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    text = str(value)
    return max((len(line) for line in text.splitlines()), default=0)


def to_xlsx(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, sheet: str) -> bytes:
    """Return an XLSX workbook with one sheet: bold, frozen, filterable header; dates as dates;
    columns as wide as their content (within MIN_WIDTH..MAX_WIDTH characters)."""
    workbook = Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet[:31]
    worksheet.append(list(columns))
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
    widths = [len(str(column)) + 2 for column in columns]
    for row in rows:
        worksheet.append([_safe_cell(value) for value in row])
        for index, value in enumerate(row):
            widths[index] = max(widths[index], _width(value) + 1)
    for cells in worksheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, datetime):
                cell.number_format = "DD.MM.YYYY HH:MM"
            elif isinstance(cell.value, date):
                cell.number_format = "DD.MM.YYYY"
    for index, width in enumerate(widths, start=1):
        worksheet.column_dimensions[get_column_letter(index)].width = min(
            MAX_WIDTH, max(MIN_WIDTH, width)
        )
    worksheet.freeze_panes = "A2"
    if rows:
        worksheet.auto_filter.ref = worksheet.dimensions
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
