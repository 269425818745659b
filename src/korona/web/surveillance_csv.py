"""CSV downloads of the surveillance tables, written column by column.

The same bytes as :func:`korona.web.exports.export_response` writes from the rows (tested
byte for byte), without its per-cell type checks: a location's comparison table has some ten
thousand cells, and the public walk over every location downloads 2 208 such files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl
from fastapi.responses import Response

from korona import tabular
from korona.errors import N_
from korona.surveillance.disclosure import LABEL_SUFFIX
from korona.tabular import Audience
from korona.web import i18n
from korona.web.exports import download

__all__ = ["HEADERS", "csv_response", "people_headers"]

#: Column code → English header (message id) of the surveillance tables for people's CSV.
HEADERS: dict[str, str] = {
    "week": N_("week"),
    "iso_year": N_("ISO year"),
    "iso_week": N_("ISO week"),
    "date": N_("Date (Sunday)"),
    "syndrome": N_("Syndrome"),
    "age": N_("Age"),
    "n": N_("Count"),
    "denominator": N_("All consultations"),
    "expected": N_("Expected"),
    "threshold2": N_("Lower threshold"),
    "threshold4": N_("Upper threshold"),
    "zscore": N_("z-score"),
    "status": N_("Status"),
    "excess": N_("More than normal"),
    "failed": N_("Model failed"),
    "possibly_incomplete": N_("Possibly incomplete"),
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def people_headers(columns: list[str]) -> list[str]:
    """Return the headers of people's CSV in the current language."""
    return [i18n.gettext(HEADERS.get(column, column)) for column in columns]


def _safe(text: str) -> str:
    """Neutralise spreadsheet formula injection (as ``tabular._safe_cell``)."""
    return "'" + text if text[:1] in _FORMULA_START else text


def _formatter(dtype: pl.DataType, people: bool) -> Callable[[Any], str] | None:
    """Return how one non-null cell of a column is written (None: as text, made safe)."""
    if dtype == pl.Boolean:
        if people:
            yes, no = i18n.gettext(N_("Yes")), i18n.gettext(N_("No"))
        else:
            yes, no = "yes", "no"
        return lambda value: yes if value else no
    if dtype == pl.Date:
        if people:
            return lambda value: value.strftime("%d.%m.%Y")
        return date.isoformat
    if dtype.is_float():
        if people:
            return lambda value: repr(value).replace(".", ",")
        return repr
    if dtype.is_integer():
        return str
    return None


def _cells(frame: pl.DataFrame, column: str, people: bool) -> list[str]:
    series = frame.get_column(column)
    values = series.to_list()
    label_column = f"{column}{LABEL_SUFFIX}"
    labels = frame.get_column(label_column).to_list() if label_column in frame.columns else None
    write = _formatter(series.dtype, people)
    if write is None:
        cells = ["" if value is None else _safe(str(value)) for value in values]
    else:
        cells = ["" if value is None else write(value) for value in values]
    if labels is not None:  # a hidden count shows its label ("<5" or ":")
        pairs = zip(cells, labels, strict=True)
        cells = [cell if label is None else _safe(label) for cell, label in pairs]
    return cells


def csv_response(frame: pl.DataFrame, *, name: str, audience: Audience) -> Response:
    """Return a table as a CSV download: hidden counts as their labels, for Norwegian Excel
    (semicolons, decimal comma, translated headers) or for machines."""
    people = audience is Audience.PEOPLE
    columns = [c for c in frame.columns if not c.endswith(LABEL_SUFFIX)]
    header = people_headers(columns) if people else columns
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if people else ",")
    writer.writerow(header)
    writer.writerows(zip(*(_cells(frame, column, people) for column in columns), strict=True))
    body = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    return download(body, tabular.CSV_MEDIA_TYPE, f"{name}-{date.today().isoformat()}.csv")
