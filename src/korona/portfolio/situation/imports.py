"""Import situation reports from a CSV or XLSX sheet: every row is checked, then all or none."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from korona.auth.permissions import Principal
from korona.errors import N_, DomainError
from korona.portfolio.import_files import FileRefused, RowError, SourceRow, read_table, refuse
from korona.portfolio.situation import service
from korona.portfolio.situation.places import Places
from korona.portfolio.situation.schemas import (
    FIGURES,
    SituationReportCorrection,
    SituationReportCreate,
)

#: The sheet's columns (docs/situation-reports.md); "needs" is the only optional one.
COLUMNS = ("municipality_number", "week", *FIGURES, "needs")
REQUIRED = frozenset(COLUMNS) - {"needs"}
SUFFIXES = (".csv", ".xlsx")


@dataclass
class ImportResult:
    """What an import did."""

    rows: int = 0
    created: int = 0
    corrected: int = 0
    unchanged: int = 0


class ReportImportRejected(Exception):
    """Nothing was imported; ``errors`` name every bad row and column. The caller rolls back."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"row {e.row}, {e.column}: {e.text}" for e in errors))


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value.strip() if isinstance(value, str) else value


def _municipality(value: Any) -> Any:
    """Spreadsheets drop the leading zero of 0301: give whole numbers their four digits back."""
    value = _cell(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10_000:
        return f"{value:04d}"
    return value


def _payload(values: dict[str, Any]) -> dict[str, Any]:
    payload = {name: _cell(values.get(name)) for name in ("week", *FIGURES)}
    payload["municipality_number"] = _municipality(values.get("municipality_number"))
    payload["needs_text"] = _cell(values.get("needs")) or ""
    return {key: ("" if value is None else value) for key, value in payload.items()}


def _pydantic_errors(row: int, error: ValidationError) -> list[RowError]:
    renamed = {"needs_text": "needs"}
    return [
        RowError(
            row,
            renamed.get(str(item["loc"][0]), str(item["loc"][0])) if item["loc"] else "row",
            str(item["msg"]),
            detail=dict(item),
        )
        for item in error.errors()
    ]


def _check_columns(columns: tuple[str, ...]) -> list[RowError]:
    errors = [RowError(1, name, N_("Unknown column")) for name in columns if name not in COLUMNS]
    errors += [
        RowError(1, name, N_("The column is missing"))
        for name in COLUMNS
        if name in REQUIRED and name not in columns
    ]
    return errors


def _check_rows(
    principal: Principal, rows: list[SourceRow], places: Places, *, session: Session
) -> tuple[list[tuple[int, SituationReportCreate]], list[RowError]]:
    checked: list[tuple[int, SituationReportCreate]] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    for source in rows:
        try:
            data = SituationReportCreate.model_validate(_payload(source.values))
        except ValidationError as error:
            errors.extend(_pydantic_errors(source.number, error))
            continue
        number = data.municipality_number or ""
        if number not in places.municipalities:
            errors.append(
                RowError(
                    source.number,
                    "municipality_number",
                    N_("Unknown municipality number {number}"),
                    {"number": number},
                )
            )
            continue
        if not service.may_report_for(principal, number, session=session):
            errors.append(
                RowError(
                    source.number,
                    "municipality_number",
                    N_("You can only report for your own municipality"),
                )
            )
            continue
        key = (number, data.week)
        if key in seen:
            errors.append(
                RowError(
                    source.number,
                    "week",
                    N_("Same municipality and week as row {row}"),
                    {"row": seen[key]},
                )
            )
            continue
        seen[key] = source.number
        checked.append((source.number, data))
    return checked, errors


def import_reports(
    principal: Principal, filename: str, content: bytes, *, session: Session, places: Places
) -> ImportResult:
    """Read a CSV or XLSX file of reports and store them all, or raise ReportImportRejected.

    A row for a municipality and week that already has a report corrects that report (the
    audit log keeps the old figures), so importing the same file twice changes nothing.
    """
    try:
        if Path(filename).suffix.lower() not in SUFFIXES:
            raise refuse(N_("The file must be CSV or XLSX"))
        table = read_table(filename, content)
    except FileRefused as refused:
        raise ReportImportRejected(refused.errors) from refused
    errors = _check_columns(table.columns)
    if errors:
        raise ReportImportRejected(errors)
    checked, errors = _check_rows(principal, table.rows, places, session=session)
    if errors:
        raise ReportImportRejected(errors)
    result = ImportResult(rows=len(checked))
    for row, data in checked:
        try:
            _write(principal, data, places, result, session=session)
        except DomainError as error:
            raise ReportImportRejected(
                [RowError(row, error.field or "row", error.message, error.params)]
            ) from error
    return result


def _write(
    principal: Principal,
    data: SituationReportCreate,
    places: Places,
    result: ImportResult,
    *,
    session: Session,
) -> None:
    existing = service.find_report(data.municipality_number or "", data.week, session=session)
    if existing is None:
        service.submit_report(principal, data, session=session, places=places)
        result.created += 1
        return
    before = existing.updated_at
    correction = SituationReportCorrection.model_validate(
        data.model_dump(exclude={"municipality_number", "week"})
    )
    service.correct_report(principal, existing.id, correction, session=session)
    if existing.updated_at == before:
        result.unchanged += 1
    else:
        result.corrected += 1


__all__ = ["COLUMNS", "ImportResult", "ReportImportRejected", "RowError", "import_reports"]
