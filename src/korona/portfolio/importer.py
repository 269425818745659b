"""Import organisations, solutions, needs and inputs from CSV, XLSX or JSON: all rows or none."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.auth import service as auth_service
from korona.auth.models import Organisation, OrganisationKind, Sector
from korona.auth.permissions import Principal
from korona.errors import N_, DomainError, InvalidInput
from korona.portfolio.category import category_codes
from korona.portfolio.intake import service as intake
from korona.portfolio.intake.models import Input
from korona.portfolio.intake.schemas import InputCreate
from korona.portfolio.need import service as need_service
from korona.portfolio.need.models import AffectedGroup, Need, NeedStatus
from korona.portfolio.need.schemas import NeedCreate
from korona.portfolio.solution import service as solution_service
from korona.portfolio.solution.models import Solution
from korona.portfolio.solution.schemas import SolutionCreate, SolutionUpdate


class ImportEntity(StrEnum):
    """What a file holds."""

    ORGANISATIONS = "organisations"
    SOLUTIONS = "solutions"
    NEEDS = "needs"
    INPUTS = "inputs"


#: The documented columns of each entity (docs/portfolio.md); external_ref is always required.
COLUMNS: dict[ImportEntity, tuple[str, ...]] = {
    ImportEntity.ORGANISATIONS: ("external_ref", "name", "kind", "sector", "municipality_number"),
    ImportEntity.SOLUTIONS: (
        "external_ref",
        "name",
        "owner",
        "description",
        "categories",
        "status",
        "quality_assured",
        "url",
        "contact",
    ),
    ImportEntity.NEEDS: (
        "external_ref",
        "title",
        "description",
        "category",
        "organisation_ref",
        "clinical_line",
        "municipality_number",
        "urgency",
        "affected_groups",
        "status",
        "review_by_date",
    ),
    ImportEntity.INPUTS: (
        "external_ref",
        "kind",
        "title",
        "description",
        "organisation_name",
        "is_public",
        "commercial",
        "categories",
        "need_refs",
        "effort_hospitals",
        "effort_municipalities",
        "contact_name",
        "contact_email",
        "language",
        "received_at",
    ),
}
MAX_ROWS = 5000


@dataclass(frozen=True)
class RowError:
    """What is wrong with one row (row 2 is the first data row, as in a spreadsheet)."""

    row: int
    column: str
    message: str


@dataclass
class ImportReport:
    """What an import did, or why it did nothing."""

    entity: ImportEntity
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return whether the file was imported (no row had errors)."""
        return not self.errors


# -- reading files -------------------------------------------------------------


def read_rows(filename: str, content: bytes) -> list[dict[str, Any]]:
    """Return the file's rows as dicts keyed by the header (CSV, XLSX or JSON by file name)."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        text = content.decode("utf-8-sig")
        # The header has no quoted text, so its commonest separator is the file's (Excel in
        # Norwegian writes ';').
        header = text.split("\n", 1)[0]
        delimiter = max(",;\t", key=header.count)
        return [dict(row) for row in csv.DictReader(io.StringIO(text), delimiter=delimiter)]
    if suffix == ".xlsx":
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        if not rows:
            return []
        names = [str(cell).strip() if cell is not None else "" for cell in rows[0]]
        return [
            dict(zip(names, row, strict=False))
            for row in rows[1:]
            if any(cell not in (None, "") for cell in row)
        ]
    if suffix == ".json":
        data = json.loads(content.decode("utf-8"))
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise InvalidInput(N_("A JSON file must hold a list of objects"), field="file")
        return data
    raise InvalidInput(N_("The file must be CSV, XLSX or JSON"), field="file")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [_text(item) for item in value if _text(item)]
    return [part.strip() for part in re.split(r"[;,|]", _text(value)) if part.strip()]


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in {"yes", "ja", "true", "1", "y", "j"}:
        return True
    if text in {"no", "nei", "false", "0", "n"}:
        return False
    return None


def _optional(value: Any) -> str | None:
    return _text(value) or None


# -- validating rows -----------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    """One validated row, ready to write."""

    ref: str
    payload: Any


def _pydantic_errors(row: int, error: ValidationError) -> list[RowError]:
    return [
        RowError(row, ".".join(str(part) for part in item["loc"]) or "row", str(item["msg"]))
        for item in error.errors()
    ]


def _validate(
    rows: Sequence[dict[str, Any]],
    entity: ImportEntity,
    check: Callable[[int, dict[str, Any]], Any],
) -> tuple[list[_Prepared], list[RowError]]:
    prepared: list[_Prepared] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(rows, start=2):
        row = {str(key).strip(): value for key, value in raw.items() if key is not None}
        unknown = sorted(set(row) - set(COLUMNS[entity]))
        if unknown:
            errors.append(RowError(number, unknown[0], "unknown column"))
            continue
        ref = _text(row.get("external_ref"))
        if not ref:
            errors.append(RowError(number, "external_ref", "required"))
            continue
        if ref in seen:
            errors.append(RowError(number, "external_ref", f"same reference as row {seen[ref]}"))
            continue
        seen[ref] = number
        try:
            prepared.append(_Prepared(ref, check(number, row)))
        except ValidationError as error:
            errors.extend(_pydantic_errors(number, error))
        except DomainError as error:
            errors.append(RowError(number, error.field or "row", error.text))
    return prepared, errors


class _OrganisationRow(BaseModel):
    name: str
    kind: OrganisationKind
    sector: Sector
    municipality_number: str | None = None


def _check_codes(codes: Sequence[str], known: set[str], column: str) -> None:
    for code in codes:
        if code not in known:
            raise InvalidInput(N_("Unknown category '{code}'"), field=column, code=code)


def _organisation_by_ref(session: Session, ref: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.external_ref == ref))


# -- the import ----------------------------------------------------------------


def import_rows(
    session: Session,
    principal: Principal,
    entity: ImportEntity,
    rows: Sequence[dict[str, Any]],
    *,
    links: intake.StatusLinks,
    send_receipts: bool = True,
) -> ImportReport:
    """Validate every row, then write them all; with any bad row, write nothing.

    Rows whose external_ref exists already are left as they are (solutions are updated),
    so importing the same file twice changes nothing.
    """
    report = ImportReport(entity=entity, rows=len(rows))
    if len(rows) > MAX_ROWS:
        report.errors.append(RowError(1, "file", f"more than {MAX_ROWS} rows"))
        return report
    codes = category_codes(session)

    def organisation(number: int, row: dict[str, Any]) -> _OrganisationRow:
        return _OrganisationRow(
            name=_text(row.get("name")),
            kind=_text(row.get("kind")),
            sector=_text(row.get("sector")),
            municipality_number=_optional(row.get("municipality_number")),
        )

    def solution(number: int, row: dict[str, Any]) -> SolutionCreate:
        categories = _list(row.get("categories"))
        _check_codes(categories, codes, "categories")
        return SolutionCreate.model_validate(
            {
                "name": _text(row.get("name")),
                "owner": _text(row.get("owner")),
                "description": _text(row.get("description")),
                "categories": categories,
                "status": _text(row.get("status")) or "in_operation",
                "quality_assured": bool(_bool(row.get("quality_assured"))),
                "url": _text(row.get("url")),
                "contact": _text(row.get("contact")),
                "external_ref": _text(row.get("external_ref")),
            }
        )

    def need(number: int, row: dict[str, Any]) -> tuple[NeedCreate, int, NeedStatus]:
        ref = _text(row.get("organisation_ref"))
        owner = _organisation_by_ref(session, ref) if ref else None
        if owner is None:
            raise InvalidInput(
                N_("Unknown organisation {id}"), field="organisation_ref", id=ref or "–"
            )
        category = _text(row.get("category"))
        _check_codes([category], codes, "category")
        data = NeedCreate.model_validate(
            {
                "title": _text(row.get("title")),
                "description": _text(row.get("description")),
                "category": category,
                "clinical_line": _text(row.get("clinical_line")),
                "municipality_number": _optional(row.get("municipality_number")),
                "urgency": _text(row.get("urgency")) or "2",
                "affected_groups": _list(row.get("affected_groups")) or [AffectedGroup.CITIZENS],
                "review_by_date": _optional(row.get("review_by_date")),
                "organisation_id": owner.id,
                "external_ref": _text(row.get("external_ref")),
            }
        )
        return data, owner.id, NeedStatus(_text(row.get("status")) or "registered")

    def input_row(number: int, row: dict[str, Any]) -> tuple[InputCreate, datetime | None]:
        need_ids = []
        for ref in _list(row.get("need_refs")):
            need_id = session.scalar(select(Need.id).where(Need.external_ref == ref))
            if need_id is None:
                raise InvalidInput(N_("Unknown need {ref}"), field="need_refs", ref=ref)
            need_ids.append(need_id)
        categories = _list(row.get("categories"))
        _check_codes(categories, codes, "categories")
        received = _optional(row.get("received_at"))
        received_at = None
        if received:
            try:
                parsed = datetime.fromisoformat(received)
            except ValueError as error:
                raise InvalidInput(
                    N_("Must be a date (YYYY-MM-DD)"), field="received_at"
                ) from error
            received_at = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        data = InputCreate.model_validate(
            {
                "kind": _text(row.get("kind")),
                "title": _text(row.get("title")),
                "description": _text(row.get("description")),
                "organisation_name": _optional(row.get("organisation_name")),
                "is_public": _bool(row.get("is_public")),
                "commercial": bool(_bool(row.get("commercial"))),
                "categories": categories,
                "need_ids": need_ids,
                "effort_hospitals": _text(row.get("effort_hospitals")) or "unknown",
                "effort_municipalities": _text(row.get("effort_municipalities")) or "unknown",
                "contact_name": _text(row.get("contact_name")),
                "contact_email": _text(row.get("contact_email")),
                "language": _text(row.get("language")) or "nb",
                "external_ref": _text(row.get("external_ref")),
            }
        )
        if data.organisation_name is None or data.is_public is None:
            raise InvalidInput(N_("Name the submitting organisation"), field="organisation_name")
        return data, received_at

    checks: dict[ImportEntity, Callable[[int, dict[str, Any]], Any]] = {
        ImportEntity.ORGANISATIONS: organisation,
        ImportEntity.SOLUTIONS: solution,
        ImportEntity.NEEDS: need,
        ImportEntity.INPUTS: input_row,
    }
    prepared, report.errors = _validate(rows, entity, checks[entity])
    if report.errors:
        return report
    for item in prepared:
        _write(session, principal, entity, item, report, links, send_receipts)
    return report


def _write(
    session: Session,
    principal: Principal,
    entity: ImportEntity,
    item: _Prepared,
    report: ImportReport,
    links: intake.StatusLinks,
    send_receipts: bool,
) -> None:
    if entity == ImportEntity.ORGANISATIONS:
        data: Any = item.payload
        if _organisation_by_ref(session, item.ref) is not None:
            report.unchanged += 1
            return
        auth_service.get_or_create_organisation(
            session,
            name=data.name,
            kind=data.kind,
            sector=data.sector,
            municipality_number=data.municipality_number,
            external_ref=item.ref,
        )
        report.created += 1
    elif entity == ImportEntity.SOLUTIONS:
        data = item.payload
        existing = solution_service.find_by_ref(session, item.ref)
        if existing is None:
            solution_service.create_solution(session, principal, data)
            report.created += 1
            return
        update = SolutionUpdate.model_validate(data.model_dump(exclude={"external_ref"}))
        if _same(existing, update):
            report.unchanged += 1
            return
        solution_service.update_solution(session, principal, existing.id, update)
        report.updated += 1
    elif entity == ImportEntity.NEEDS:
        data, organisation_id, status = item.payload
        if session.scalar(select(Need.id).where(Need.external_ref == item.ref)) is not None:
            report.unchanged += 1
            return
        organisation = session.get(Organisation, organisation_id)
        assert organisation is not None
        need_service.record_need(
            session,
            principal,
            data.model_copy(update={"external_ref": item.ref}),
            organisation=organisation,
            status=status,
        )
        report.created += 1
    else:
        data, received_at = item.payload
        if session.scalar(select(Input.id).where(Input.external_ref == item.ref)) is not None:
            report.unchanged += 1
            return
        intake.submit_input(
            session,
            principal,
            data,
            links,
            intake.Submission(imported=True, received_at=received_at, send_receipt=send_receipts),
        )
        report.created += 1


def _same(solution: Solution, update: SolutionUpdate) -> bool:
    return all(getattr(solution, key) == value for key, value in update.model_dump().items())


def import_file(
    session: Session,
    principal: Principal,
    entity: ImportEntity,
    filename: str,
    content: bytes,
    *,
    links: intake.StatusLinks,
    send_receipts: bool = True,
) -> ImportReport:
    """Read a CSV, XLSX or JSON file and import its rows (see import_rows)."""
    try:
        rows = read_rows(filename, content)
    except (ValueError, csv.Error, OSError, KeyError, zipfile.BadZipFile) as error:
        report = ImportReport(entity=entity)
        report.errors.append(RowError(1, "file", f"cannot be read: {error}"))
        return report
    return import_rows(session, principal, entity, rows, links=links, send_receipts=send_receipts)
