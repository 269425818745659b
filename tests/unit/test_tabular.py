"""Exports for people (labels, local time, Norwegian Excel CSV) and for machines (codes, UTC)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from korona import tabular
from korona.portfolio.need.models import NeedStatus
from korona.tabular import Coded

WINTER = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 December in Oslo
SUMMER = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # 12:00 in Oslo (summer time)


def translate(value: object) -> str:
    return {"Public": "Offentlig", "Yes": "Ja", "No": "Nei"}.get(str(value), f"<{value}>")


def test_machine_cells_are_codes_and_utc() -> None:
    row = [NeedStatus.COVERED, Coded("public", "Public"), True, WINTER, date(2026, 1, 2), None]
    cells = [tabular.machine_cell(value) for value in row]
    assert cells == ["covered", "public", "yes", "2026-12-01T23:30:00+00:00", "2026-01-02", ""]
    assert tabular.machine_cell([NeedStatus.COVERED, "x"]) == "covered, x"


def test_people_cells_are_labels_and_local_time() -> None:
    assert tabular.people_cell(Coded("public", "Public"), translate) == "Offentlig"
    assert tabular.people_cell(False, translate) == "Nei"
    assert tabular.people_cell(NeedStatus.COVERED, translate) == "<covered>"
    assert tabular.people_cell(WINTER, translate) == datetime(2026, 12, 2, 0, 30)
    assert tabular.people_cell(SUMMER, translate) == datetime(2026, 7, 1, 12, 0)


def test_people_csv_has_semicolons_decimal_comma_and_norwegian_dates() -> None:
    local = tabular.people_cell(WINTER, translate)
    data = tabular.to_csv(
        ["Tid", "Andel", "Dato", "Tekst"],
        [[local, 0.25, date(2026, 1, 2), "=SUM(A1)"]],
        delimiter=";",
        decimal_comma=True,
    )
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["Tid", "Andel", "Dato", "Tekst"],
        ["02.12.2026 00:30", "0,25", "02.01.2026", "'=SUM(A1)"],
    ]


def test_xlsx_has_date_cells_widths_and_filter() -> None:
    local = tabular.people_cell(WINTER, translate)
    long_text = "Avstandsoppfølging / hjemmemonitorering"
    data = tabular.to_xlsx(["Tid", "Tekst"], [[local, long_text], [local, "x"]], sheet="behov")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert sheet["A2"].value == datetime(2026, 12, 2, 0, 30)
    assert sheet["A2"].number_format == "DD.MM.YYYY HH:MM"
    assert sheet.column_dimensions["B"].width == len(long_text) + 1
    assert sheet.column_dimensions["A"].width >= 16
    assert sheet.auto_filter.ref == "A1:B3"
