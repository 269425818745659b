"""Read import files (CSV, XLSX, JSON) into numbered rows, refusing bad files before heavy work."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from korona.errors import N_

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 5000
#: A sheet with more rows than this (formatted empty rows included) is refused from its
#: <dimension> or a count of its row tags, before openpyxl reads it; below it the rows are
#: streamed and the non-empty ones counted towards MAX_ROWS.
MAX_SHEET_ROWS = 2 * MAX_ROWS
#: An XLSX (a zip) may not unpack to more than this, whatever its compressed size.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
#: Import rows are flat objects whose lists hold text: depth 3. 20 leaves room, stops bombs.
MAX_JSON_DEPTH = 20
#: Control characters other than tab, line feed and carriage return (NUL included).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?[A-Z]+\$?\d+(?::\$?[A-Z]+\$?(\d+))?"')
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")

#: The row number of errors about the whole file (shown as "–").
FILE = 0


class ImportEntity(StrEnum):
    """What a file holds."""

    ORGANISATIONS = "organisations"
    SOLUTIONS = "solutions"
    NEEDS = "needs"
    INPUTS = "inputs"


@dataclass(frozen=True)
class RowError:
    """What is wrong with one row: an English message id with ``{name}`` values.

    The row is the line (CSV), the sheet row (XLSX) or the position in the list counted from
    1 (JSON); 0 means the whole file. ``detail`` keeps pydantic's error for translation.
    """

    row: int
    column: str
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)
    detail: Mapping[str, Any] | None = None

    @property
    def text(self) -> str:
        """Return the English message with its values filled in."""
        return self.message.format(**self.params) if self.params else self.message


class FileRefused(Exception):
    """The file cannot be imported; ``errors`` say where and why."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("; ".join(error.text for error in errors))


def refuse(message: str, row: int = FILE, column: str = "file", **params: Any) -> FileRefused:
    """Return the refusal of a file for one reason."""
    return FileRefused([RowError(row, column, message, params)])


@dataclass(frozen=True)
class SourceRow:
    """One data row and where it is in the file."""

    number: int
    values: dict[str, Any]


@dataclass(frozen=True)
class Table:
    """A file's column names and its non-empty data rows."""

    columns: tuple[str, ...]
    rows: list[SourceRow]


def read_table(filename: str, content: bytes) -> Table:
    """Return the file's rows (CSV, XLSX or JSON by file name) or raise FileRefused.

    Refused before any row is checked: files over 20 MB, empty or header-only files, more than
    MAX_ROWS rows, NUL and other control characters, rows with the wrong number of fields,
    XLSX formula and error cells, and JSON nested deeper than MAX_JSON_DEPTH.
    """
    if len(content) > MAX_FILE_BYTES:
        raise refuse(N_("The file is larger than {mb} MB"), mb=MAX_FILE_BYTES // 2**20)
    if not content.strip():
        raise refuse(N_("The file is empty"))
    suffix = Path(filename).suffix.lower()
    readers = {".csv": _read_csv, ".xlsx": _read_xlsx, ".json": _read_json}
    if suffix not in readers:
        raise refuse(N_("The file must be CSV, XLSX or JSON"))
    table = readers[suffix](content)
    if not table.rows:
        raise refuse(N_("The file has no data rows, only a header"))
    _check_text(table)
    return table


def _check_text(table: Table) -> None:
    errors = []
    for row in table.rows:
        for column, value in row.values.items():
            texts = value if isinstance(value, list) else [value]
            bad = next((m for t in texts if isinstance(t, str) and (m := _CONTROL.search(t))), None)
            if bad:
                errors.append(
                    RowError(
                        row.number,
                        column,
                        N_("Contains a control character (U+{code})"),
                        {"code": f"{ord(bad.group()):04X}"},
                    )
                )
    if errors:
        raise FileRefused(errors)


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise refuse(N_("Is not UTF-8 text"), row=line) from error


def _header(names: list[str]) -> tuple[str, ...]:
    columns = tuple(str(name).strip() if name is not None else "" for name in names)
    for position, name in enumerate(columns, start=1):
        if not name:
            raise refuse(
                N_("Column {position} of the header has no name"), row=1, position=position
            )
        if columns.index(name) < position - 1:
            raise refuse(N_("The header names {name} twice"), row=1, column=name, name=name)
    return columns


def too_many_rows(found: int, *, more_than: bool = False) -> FileRefused:
    """Return the refusal of a file with more rows than one import takes."""
    message = (
        N_("The file has more than {found} rows; at most {limit} can be imported at once")
        if more_than
        else N_("The file has {found} rows; at most {limit} can be imported at once")
    )
    return refuse(message, found=_number(found), limit=_number(MAX_ROWS))


def _number(value: int) -> str:
    return f"{value:,}".replace(",", " ")


# -- CSV -------------------------------------------------------------------------------------


def _read_csv(content: bytes) -> Table:
    nul_lines = [number for number, line in enumerate(content.split(b"\n"), 1) if b"\0" in line]
    if nul_lines:
        raise FileRefused([RowError(n, "row", N_("Contains a NUL byte")) for n in nul_lines[:20]])
    text = _decode(content)
    # The header has no quoted text, so its commonest separator is the file's (Excel in
    # Norwegian writes ';').
    delimiter = max(",;\t", key=text.split("\n", 1)[0].count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        columns = _header(next(reader))
        rows, errors = _csv_rows(reader, columns)
    except csv.Error as error:
        raise refuse(
            N_("Cannot be read as CSV: {reason}"), row=reader.line_num, reason=error
        ) from error
    if errors:
        raise FileRefused(errors)
    return Table(columns, rows)


def _csv_rows(reader: Any, columns: tuple[str, ...]) -> tuple[list[SourceRow], list[RowError]]:
    rows: list[SourceRow] = []
    errors: list[RowError] = []
    line = reader.line_num
    for record in reader:
        number, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(columns):
            errors.append(
                RowError(
                    number,
                    "row",
                    N_("Has {found} fields where the header has {expected}"),
                    {"found": len(record), "expected": len(columns)},
                )
            )
            continue
        rows.append(SourceRow(number, dict(zip(columns, record, strict=True))))
        if len(rows) > MAX_ROWS:
            raise too_many_rows(MAX_ROWS, more_than=True)
    return rows, errors


# -- XLSX ------------------------------------------------------------------------------------


def _read_xlsx(content: bytes) -> Table:
    from openpyxl import load_workbook  # openpyxl only when an XLSX file comes
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise refuse(
                    N_("The XLSX file unpacks to more than {mb} MB"),
                    mb=MAX_UNPACKED_BYTES // 2**20,
                )
            rows = _most_sheet_rows(archive)
        if rows is None:
            raise too_many_rows(MAX_SHEET_ROWS, more_than=True)
        if rows > MAX_SHEET_ROWS:
            raise too_many_rows(rows - 1)
        # read_only streams the sheet instead of building every cell in memory; formulas are
        # kept (not their cached values) so that they can be refused.
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise refuse(N_("Cannot be read as XLSX: {reason}"), reason=error) from error
    try:
        return _xlsx_table(workbook.worksheets[0].iter_rows())
    finally:
        workbook.close()


def _most_sheet_rows(archive: zipfile.ZipFile) -> int | None:
    """Return the most rows any worksheet has, from its <dimension> or by counting row tags.

    None means more than MAX_SHEET_ROWS were counted (the count stops there).

    openpyxl scans a whole sheet for its size when the <dimension> element is missing (48 s
    for 300 000 rows), so the size is found here first, reading no further than the limit.
    """
    most = 0
    for info in archive.infolist():
        if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
            continue
        with archive.open(info) as stream:
            head = stream.read(65536)
            declared = _DIMENSION.search(head)
            if declared:
                most = max(most, int(declared.group(1) or 1))
                continue
            count, chunk = 0, head
            while chunk:
                count += len(_ROW_TAG.findall(chunk))
                if count > MAX_SHEET_ROWS:
                    return None
                chunk = stream.read(1 << 20)
            most = max(most, count)
    return most


def _xlsx_table(cells_by_row: Iterator[tuple[Any, ...]]) -> Table:
    header = next(cells_by_row, None)
    if header is None:
        raise refuse(N_("The file is empty"))
    names = [cell.value for cell in header]
    while names and names[-1] in (None, ""):
        names.pop()
    if not names:
        raise refuse(N_("The file is empty"))
    columns = _header(names)
    rows: list[SourceRow] = []
    errors: list[RowError] = []
    for number, cells in enumerate(cells_by_row, start=2):
        if number > MAX_SHEET_ROWS + 1:
            raise too_many_rows(MAX_SHEET_ROWS, more_than=True)
        values = {}
        for position, cell in enumerate(cells):
            value = getattr(cell, "value", None)
            if value in (None, ""):
                continue
            column = columns[position] if position < len(columns) else f"#{position + 1}"
            problem = _cell_problem(cell, position, len(columns))
            if problem:
                errors.append(RowError(number, column, problem, {"value": str(value)[:40]}))
            else:
                values[column] = value
        if values:
            rows.append(SourceRow(number, values))
        if len(rows) > MAX_ROWS:
            raise too_many_rows(MAX_ROWS, more_than=True)
    if errors:
        raise FileRefused(errors)
    return Table(columns, rows)


def _cell_problem(cell: Any, position: int, width: int) -> str | None:
    if position >= width:
        return N_("A value outside the named columns: {value}")
    if cell.data_type == "f":
        # Cached results can be stale or missing (files written by programs have none), so
        # a formula is refused rather than imported as whatever was last computed.
        return N_("Is a formula ({value}); paste it as a value instead")
    if cell.data_type == "e":
        return N_("Holds a spreadsheet error ({value})")
    return None


# -- JSON ------------------------------------------------------------------------------------


def json_depth(content: bytes) -> int:
    """Return how deeply arrays and objects nest in a JSON text, without parsing it."""
    brackets = np.frombuffer(_JSON_STRING.sub(b'""', content), dtype=np.uint8)
    opens = (brackets == ord("[")) | (brackets == ord("{"))
    closes = (brackets == ord("]")) | (brackets == ord("}"))
    steps = opens.astype(np.int32)[opens | closes] * 2 - 1
    return int(np.cumsum(steps).max()) if steps.size else 0


def _read_json(content: bytes) -> Table:
    text = _decode(content)
    depth = json_depth(content)
    if depth > MAX_JSON_DEPTH:
        raise refuse(
            N_("The JSON is nested {depth} levels deep; at most {limit} are allowed"),
            depth=depth,
            limit=MAX_JSON_DEPTH,
        )
    try:
        data = json.loads(text)
    except ValueError as error:
        raise refuse(N_("Is not valid JSON: {reason}"), reason=error) from error
    if not isinstance(data, list):
        raise refuse(N_("A JSON file must hold a list of objects"))
    if len(data) > MAX_ROWS:
        raise too_many_rows(len(data))
    rows: list[SourceRow] = []
    errors: list[RowError] = []
    columns: dict[str, None] = {}
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            errors.append(RowError(number, "row", N_("Must be an object with the columns as keys")))
            continue
        for key, value in item.items():
            columns.setdefault(key.strip(), None)
            if not _flat(value):
                errors.append(
                    RowError(
                        number, key, N_("Must be text, a number, true/false or a list of text")
                    )
                )
        rows.append(SourceRow(number, {key.strip(): value for key, value in item.items()}))
    if errors:
        raise FileRefused(errors)
    return Table(tuple(columns), rows)


def _flat(value: Any) -> bool:
    if isinstance(value, list):
        return all(
            isinstance(item, str | int | float) and not isinstance(item, bool) for item in value
        )
    return value is None or isinstance(value, str | int | float | bool)
