"""Import organisations, solutions, needs and inputs from CSV, XLSX or JSON: all rows or none."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.auth import service as auth_service
from korona.auth.models import Organisation, OrganisationKind, Sector
from korona.auth.permissions import Principal
from korona.errors import N_, DomainError, InvalidInput
from korona.portfolio.category import category_codes
from korona.portfolio.import_files import (
    FILE,
    MAX_FILE_BYTES,
    MAX_ROWS,
    FileRefused,
    ImportEntity,
    RowError,
    SourceRow,
    read_table,
    too_many_rows,
)
from korona.portfolio.intake import service as intake
from korona.portfolio.intake.models import Input
from korona.portfolio.intake.schemas import InputCreate
from korona.portfolio.need import service as need_service
from korona.portfolio.need.models import AffectedGroup, Need, NeedStatus
from korona.portfolio.need.schemas import NeedCreate
from korona.portfolio.read_cache import cached_reads
from korona.portfolio.solution import service as solution_service
from korona.portfolio.solution.models import Solution
from korona.portfolio.solution.schemas import SolutionCreate, SolutionUpdate

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

__all__ = ["FILE", "MAX_FILE_BYTES", "MAX_ROWS", "ImportEntity", "ImportRejected", "RowError"]


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


class ImportRejected(Exception):
    """Nothing may be imported: the report lists every error by row.

    Not a DomainError on purpose: the caller shows the whole report, and must roll back the
    unit of work (a write-time error may come after earlier rows were written).
    """

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__("; ".join(f"row {e.row}, {e.column}: {e.text}" for e in report.errors))


# -- cell values -----------------------------------------------------------------------------


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


# -- checking rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    """One checked row, ready to write."""

    row: int
    ref: str
    payload: Any


@dataclass
class _Context:
    """What the row checks look up once per import, and what earlier rows claimed."""

    session: Session
    codes: set[str]
    names: dict[str, int] = field(default_factory=dict)
    #: Looked up for all rows at once before the checks (``_prefetch``).
    organisations_by_ref: dict[str, Organisation] = field(default_factory=dict)
    organisations_by_name: dict[str, Organisation] = field(default_factory=dict)
    needs_by_ref: dict[str, int] = field(default_factory=dict)


#: Values per IN (...) query: well below SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500


def _in_chunks(values: Sequence[str]) -> Iterator[list[str]]:
    distinct = sorted(set(values))
    for start in range(0, len(distinct), _CHUNK):
        yield distinct[start : start + _CHUNK]


def _prefetch(context: _Context, entity: ImportEntity, rows: Sequence[SourceRow]) -> None:
    """Look up what the row checks need with one query per 500 values, not one per row."""
    session = context.session
    if entity is ImportEntity.ORGANISATIONS:
        names = [_text(row.values.get("name")) for row in rows]
        for chunk in _in_chunks(names):
            found = session.scalars(select(Organisation).where(Organisation.name.in_(chunk)))
            context.organisations_by_name.update((item.name, item) for item in found)
    elif entity is ImportEntity.NEEDS:
        refs = [_text(row.values.get("organisation_ref")) for row in rows]
        for chunk in _in_chunks(refs):
            found = session.scalars(
                select(Organisation).where(Organisation.external_ref.in_(chunk))
            )
            context.organisations_by_ref.update((item.external_ref or "", item) for item in found)
    elif entity is ImportEntity.INPUTS:
        refs = [ref for row in rows for ref in _list(row.values.get("need_refs"))]
        for chunk in _in_chunks(refs):
            statement = select(Need.external_ref, Need.id).where(Need.external_ref.in_(chunk))
            context.needs_by_ref.update(
                (ref or "", need_id) for ref, need_id in session.execute(statement)
            )


_MODELS: dict[ImportEntity, type[Organisation] | type[Solution] | type[Need] | type[Input]] = {
    ImportEntity.ORGANISATIONS: Organisation,
    ImportEntity.SOLUTIONS: Solution,
    ImportEntity.NEEDS: Need,
    ImportEntity.INPUTS: Input,
}


def _existing(session: Session, entity: ImportEntity, refs: Sequence[str]) -> dict[str, Any]:
    """Return the rows of this entity that already have one of the references, by reference."""
    model = _MODELS[entity]
    found: dict[str, Any] = {}
    for chunk in _in_chunks(refs):
        items = session.scalars(select(model).where(model.external_ref.in_(chunk)))
        found.update((item.external_ref, item) for item in items)
    return found


_Check = Callable[[_Context, int, dict[str, Any]], Any]


def _pydantic_errors(row: int, error: ValidationError) -> list[RowError]:
    return [
        RowError(
            row,
            ".".join(str(part) for part in item["loc"]) or "row",
            str(item["msg"]),
            detail=dict(item),
        )
        for item in error.errors()
    ]


def _check_columns(entity: ImportEntity, columns: Sequence[str]) -> list[RowError]:
    unknown = [name for name in columns if name not in COLUMNS[entity]]
    errors = [RowError(1, name, N_("Unknown column")) for name in unknown]
    if "external_ref" not in columns:
        errors.append(RowError(1, "external_ref", N_("The column is missing")))
    return errors


def _check_rows(
    rows: Sequence[SourceRow], context: _Context, check: _Check
) -> tuple[list[_Prepared], list[RowError]]:
    prepared: list[_Prepared] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for source in rows:
        number, row = source.number, source.values
        ref = _text(row.get("external_ref"))
        if not ref:
            errors.append(RowError(number, "external_ref", N_("This field is required")))
            continue
        if ref in seen:
            errors.append(
                RowError(
                    number, "external_ref", N_("Same reference as row {row}"), {"row": seen[ref]}
                )
            )
            continue
        seen[ref] = number
        try:
            prepared.append(_Prepared(number, ref, check(context, number, row)))
        except ValidationError as error:
            errors.extend(_pydantic_errors(number, error))
        except DomainError as error:
            errors.append(RowError(number, error.field or "row", error.message, error.params))
    return prepared, errors


def _check_codes(codes: Sequence[str], known: set[str], column: str) -> None:
    for code in codes:
        if code not in known:
            raise InvalidInput(N_("Unknown category '{code}'"), field=column, code=code)


def _organisation_by_ref(session: Session, ref: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.external_ref == ref))


class _OrganisationRow(BaseModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    kind: OrganisationKind
    sector: Sector
    municipality_number: str | None = None


def _check_organisation(context: _Context, number: int, row: dict[str, Any]) -> _OrganisationRow:
    data = _OrganisationRow(
        name=_text(row.get("name")),
        kind=_text(row.get("kind")),
        sector=_text(row.get("sector")),
        municipality_number=_optional(row.get("municipality_number")),
    )
    if data.municipality_number and re.fullmatch("[0-9]{4}", data.municipality_number):
        # Malformed numbers are refused when the organisation is written (auth service).
        need_service.known_municipalities().check(data.municipality_number)
    ref = _text(row.get("external_ref"))
    # Organisations are unique by name: a second row or an existing organisation with the
    # same name would not be created, so say so instead of counting it as new.
    if data.name in context.names:
        raise InvalidInput(N_("Same name as row {row}"), field="name", row=context.names[data.name])
    context.names[data.name] = number
    existing = context.organisations_by_name.get(data.name)
    if existing is not None and existing.external_ref != ref:
        raise InvalidInput(
            N_("An organisation named {name} exists already with another external_ref"),
            field="name",
            name=data.name,
        )
    return data


def _check_solution(context: _Context, number: int, row: dict[str, Any]) -> SolutionCreate:
    categories = _list(row.get("categories"))
    _check_codes(categories, context.codes, "categories")
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


def _check_need(
    context: _Context, number: int, row: dict[str, Any]
) -> tuple[NeedCreate, int, NeedStatus]:
    ref = _text(row.get("organisation_ref"))
    owner = context.organisations_by_ref.get(ref) if ref else None
    if owner is None:
        raise InvalidInput(N_("Unknown organisation {id}"), field="organisation_ref", id=ref or "–")
    category = _text(row.get("category"))
    _check_codes([category], context.codes, "category")
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
    need_service.known_municipalities().check(data.municipality_number)
    return data, owner.id, NeedStatus(_text(row.get("status")) or "registered")


def _received_at(value: Any) -> datetime | None:
    if isinstance(value, datetime):  # an XLSX date cell
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    received = _optional(value)
    if not received:
        return None
    try:
        parsed = datetime.fromisoformat(received)
    except ValueError as error:
        raise InvalidInput(N_("Must be a date (YYYY-MM-DD)"), field="received_at") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _check_input(
    context: _Context, number: int, row: dict[str, Any]
) -> tuple[InputCreate, datetime | None]:
    need_ids = []
    for ref in _list(row.get("need_refs")):
        need_id = context.needs_by_ref.get(ref)
        if need_id is None:
            raise InvalidInput(N_("Unknown need {ref}"), field="need_refs", ref=ref)
        need_ids.append(need_id)
    categories = _list(row.get("categories"))
    _check_codes(categories, context.codes, "categories")
    received_at = _received_at(row.get("received_at"))
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


# -- writing rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Writer:
    """What writing needs besides the row: who imports, status links, whether to send receipts."""

    session: Session
    principal: Principal
    links: intake.StatusLinks
    send_receipts: bool
    #: The rows of this entity whose external_ref exists already (one query for all rows).
    existing: dict[str, Any]


def _write_organisation(writer: _Writer, item: _Prepared, report: ImportReport) -> None:
    data: _OrganisationRow = item.payload
    if item.ref in writer.existing:
        report.unchanged += 1
        return
    auth_service.get_or_create_organisation(
        writer.session,
        name=data.name,
        kind=data.kind,
        sector=data.sector,
        municipality_number=data.municipality_number,
        external_ref=item.ref,
    )
    report.created += 1


def _write_solution(writer: _Writer, item: _Prepared, report: ImportReport) -> None:
    data: SolutionCreate = item.payload
    existing = writer.existing.get(item.ref)
    if existing is None:
        solution_service.create_solution(writer.session, writer.principal, data)
        report.created += 1
        return
    update = SolutionUpdate.model_validate(data.model_dump(exclude={"external_ref"}))
    if all(getattr(existing, key) == value for key, value in update.model_dump().items()):
        report.unchanged += 1
        return
    solution_service.update_solution(writer.session, writer.principal, existing.id, update)
    report.updated += 1


def _write_need(writer: _Writer, item: _Prepared, report: ImportReport) -> None:
    data, organisation_id, status = item.payload
    session = writer.session
    if item.ref in writer.existing:
        report.unchanged += 1
        return
    organisation = session.get(Organisation, organisation_id)
    assert organisation is not None
    need_service.record_need(
        session,
        writer.principal,
        data.model_copy(update={"external_ref": item.ref}),
        organisation=organisation,
        status=status,
    )
    report.created += 1


def _write_input(writer: _Writer, item: _Prepared, report: ImportReport) -> None:
    data, received_at = item.payload
    session = writer.session
    if item.ref in writer.existing:
        report.unchanged += 1
        return
    submission = intake.Submission(
        imported=True,
        received_at=received_at,
        send_receipt=writer.send_receipts,
        checked_in_bulk=True,
    )
    intake.submit_input(session, writer.principal, data, writer.links, submission)
    report.created += 1


_Write = Callable[[_Writer, _Prepared, ImportReport], None]

_ENTITIES: dict[ImportEntity, tuple[_Check, _Write]] = {
    ImportEntity.ORGANISATIONS: (_check_organisation, _write_organisation),
    ImportEntity.SOLUTIONS: (_check_solution, _write_solution),
    ImportEntity.NEEDS: (_check_need, _write_need),
    ImportEntity.INPUTS: (_check_input, _write_input),
}


# -- the import ------------------------------------------------------------------------------


def import_rows(
    session: Session,
    principal: Principal,
    entity: ImportEntity,
    rows: Sequence[SourceRow | Mapping[str, Any]],
    *,
    links: intake.StatusLinks,
    send_receipts: bool = True,
) -> ImportReport:
    """Check every row, then write them all; with any error raise ImportRejected.

    Rows whose external_ref exists already are left as they are (solutions are updated),
    so importing the same file twice changes nothing. Plain dicts are numbered from row 2,
    as under a spreadsheet's header.
    """
    numbered = [
        row if isinstance(row, SourceRow) else SourceRow(number, dict(row))
        for number, row in enumerate(rows, start=2)
    ]
    report = ImportReport(entity=entity, rows=len(numbered))
    if len(numbered) > MAX_ROWS:
        report.errors = too_many_rows(len(numbered)).errors
        raise ImportRejected(report)
    columns = list(dict.fromkeys(key for row in numbered for key in row.values))
    report.errors = _check_columns(entity, columns)
    if report.errors:
        raise ImportRejected(report)
    with cached_reads(session):
        _check_and_write(session, principal, entity, numbered, report, links, send_receipts)
    return report


def _check_and_write(
    session: Session,
    principal: Principal,
    entity: ImportEntity,
    numbered: Sequence[SourceRow],
    report: ImportReport,
    links: intake.StatusLinks,
    send_receipts: bool,
) -> None:
    """Check every row, then write them all, with every lookup made before the first write.

    On SQLite the write lock is taken by the first INSERT and held until the commit, so all
    reads (existing references, organisations, needs, categories, letter templates) are made
    for all rows at once beforehand, and the writes themselves ask the database nothing.
    """
    check, write = _ENTITIES[entity]
    context = _Context(session, category_codes(session))
    _prefetch(context, entity, numbered)
    prepared, report.errors = _check_rows(numbered, context, check)
    if report.errors:
        raise ImportRejected(report)
    existing = _existing(session, entity, [item.ref for item in prepared])
    writer = _Writer(session, principal, links, send_receipts, existing)
    for item in prepared:
        try:
            write(writer, item, report)
        except DomainError as error:
            report.errors.append(
                RowError(item.row, error.field or "row", error.message, error.params)
            )
            raise ImportRejected(report) from error


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
    """Read a CSV, XLSX or JSON file and import its rows (see import_rows and read_table)."""
    try:
        table = read_table(filename, content)
    except FileRefused as refused:
        raise ImportRejected(ImportReport(entity=entity, errors=refused.errors)) from refused
    report = ImportReport(entity=entity)
    report.errors = _check_columns(entity, table.columns)
    if report.errors:
        raise ImportRejected(report)
    return import_rows(
        session, principal, entity, table.rows, links=links, send_receipts=send_receipts
    )
