"""Import organisations, solutions, needs and inputs from CSV, XLSX or JSON: all rows or none."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from korona.auth.permissions import Principal
from korona.errors import DomainError
from korona.portfolio.category import category_codes
from korona.portfolio.import_check import (
    CHECKS,
    COLUMNS,
    Context,
    Prepared,
    check_columns,
    check_rows,
    existing_by_ref,
    prefetch,
)
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
from korona.portfolio.import_write import (
    WRITERS,
    NextIds,
    Write,
    Writer,
    insert_rows,
    pending_rows,
    take_write_lock,
)
from korona.portfolio.intake import service as intake
from korona.portfolio.read_cache import cached_reads

__all__ = [
    "COLUMNS",
    "FILE",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "ImportEntity",
    "ImportRejected",
    "ImportReport",
    "RowError",
    "import_file",
    "import_rows",
]


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


# -- the import ------------------------------------------------------------------------------


def import_rows(
    principal: Principal,
    entity: ImportEntity,
    rows: Sequence[SourceRow | Mapping[str, Any]],
    *,
    session: Session,
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
    report.errors = check_columns(entity, columns)
    if report.errors:
        raise ImportRejected(report)
    with cached_reads(session):
        _check_and_write(principal, entity, numbered, report, links, send_receipts, session=session)
    return report


def _check_and_write(
    principal: Principal,
    entity: ImportEntity,
    numbered: Sequence[SourceRow],
    report: ImportReport,
    links: intake.StatusLinks,
    send_receipts: bool,
    *,
    session: Session,
) -> None:
    """Check every row, then write them all, with every lookup made before the first write.

    On SQLite the write lock is taken by the first INSERT and held until the commit, so all
    reads (existing references, organisations, needs, categories, letter templates) are made
    for all rows at once beforehand, and the writes themselves ask the database nothing.
    """
    check, write = CHECKS[entity], WRITERS[entity]
    context = Context(session, category_codes(session=session))
    prefetch(context, entity, numbered)
    prepared, report.errors = check_rows(numbered, context, check)
    if report.errors:
        raise ImportRejected(report)
    existing = existing_by_ref(entity, [item.ref for item in prepared], session=session)
    writer = Writer(session, principal, links, send_receipts, existing)
    if entity not in _DEFERRED or session.get_bind().dialect.name != "sqlite":
        _write_rows(writer, write, prepared, report)
        return
    # SQLite has one write lock for the whole database, taken by the first INSERT and held
    # until the commit. So every row, audit row and receipt is built first with the ids the
    # database will hand out next (nothing written, no lock), and then written in one flush.
    # If another writer took one of those ids meanwhile, the rows are built again holding the
    # lock (as before: slower for web writes, never wrong).
    before = (report.created, report.updated, report.unchanged)
    session.flush()  # the caller's own pending rows, if any, are written as they were
    reserved = NextIds.read(session)
    with reserved.deferred(session):
        _write_rows(writer, write, prepared, report)
    rows = pending_rows(session=session)
    with session.no_autoflush:
        take_write_lock(session)
        taken = NextIds.read(session) != reserved
    if not taken:
        insert_rows(rows, session=session)
        return
    report.created, report.updated, report.unchanged = before
    _write_rows(writer, write, prepared, report)


#: The entities written with ids reserved beforehand on SQLite (they only add rows; solutions
#: also update existing ones, and are few).
_DEFERRED = {ImportEntity.ORGANISATIONS, ImportEntity.NEEDS, ImportEntity.INPUTS}


def _write_rows(
    writer: Writer, write: Write, prepared: Sequence[Prepared], report: ImportReport
) -> None:
    for item in prepared:
        try:
            outcome = write(writer, item)
        except DomainError as error:
            report.errors.append(
                RowError(item.row, error.field or "row", error.message, error.params)
            )
            raise ImportRejected(report) from error
        setattr(report, outcome, getattr(report, outcome) + 1)


def import_file(
    principal: Principal,
    entity: ImportEntity,
    filename: str,
    content: bytes,
    *,
    session: Session,
    links: intake.StatusLinks,
    send_receipts: bool = True,
) -> ImportReport:
    """Read a CSV, XLSX or JSON file and import its rows (see import_rows and read_table)."""
    try:
        table = read_table(filename, content)
    except FileRefused as refused:
        raise ImportRejected(ImportReport(entity=entity, errors=refused.errors)) from refused
    report = ImportReport(entity=entity)
    report.errors = check_columns(entity, table.columns)
    if report.errors:
        raise ImportRejected(report)
    return import_rows(
        principal, entity, table.rows, session=session, links=links, send_receipts=send_receipts
    )
