"""The ``detect`` command's files: read and check the input CSV, write the result CSV."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from korona.surveillance.calendar import Frequency, parse_iso_week, week_sunday
from korona.surveillance.detect import Detection, Method
from korona.surveillance.series import RESULT_FIELDS, SeriesSet, SeriesSetError
from korona.surveillance.store import write_atomically

__all__ = ["CSV_COLUMNS", "CsvInputError", "read_detect_csv", "result_frame", "write_result_csv"]


class CsvInputError(ValueError):
    """The input CSV cannot be analysed; the message says what is wrong in plain English."""


def _row_list(rows: pl.Series, limit: int = 5) -> str:
    """Format 1-based data-row numbers (header excluded) for an error message."""
    numbers = [str(int(r) + 2) for r in rows.head(limit).to_list()]  # +1 header, +1 one-based
    more = "" if rows.len() <= limit else f" and {rows.len() - limit} more"
    return ", ".join(numbers) + more


def read_detect_csv(path: Path, frequency: Frequency) -> SeriesSet:
    """Read and validate the ``detect`` input CSV into a SeriesSet.

    Columns: ``series``, ``week`` (weekly, ``2019-W05``) or ``date`` (daily, ``2019-01-31``),
    ``n`` (whole number ≥ 0) and optionally ``denominator`` (number ≥ 0). Weeks or days
    missing inside the covered period count as zero (the analysis grid is zero-filled).
    Raises:
        CsvInputError: missing columns, negative or non-integer counts, duplicate rows,
            unparseable weeks or dates.
    """
    if not path.is_file():  # polars would read every file of a directory
        raise CsvInputError(f"{path} is not a file" if path.exists() else f"file not found: {path}")
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise CsvInputError(f"cannot read {path}: {error}") from None
    time_column = "week" if frequency is Frequency.WEEKLY else "date"
    missing = [c for c in ("series", time_column, "n") if c not in frame.columns]
    if missing:
        raise CsvInputError(
            f"{path.name} lacks the column(s) {', '.join(missing)}; expected "
            f"series,{time_column},n,denominator (found: {', '.join(frame.columns)})"
        )
    if frame.height == 0:
        raise CsvInputError(f"{path.name} has no data rows")
    frame = frame.with_row_index("_row")
    if frame["series"].null_count():
        rows = frame.filter(pl.col("series").is_null())["_row"]
        raise CsvInputError(f"empty series name in row(s) {_row_list(rows)}")

    frame = _with_counts(frame)
    has_denominator = "denominator" in frame.columns
    frame = _with_dates(frame, frequency)
    duplicated = frame.filter(pl.struct("series", "_date").is_duplicated())
    if duplicated.height:
        first = duplicated.row(0, named=True)
        raise CsvInputError(
            f"duplicate rows for series {first['series']!r} at {first[time_column]!r} "
            f"(row(s) {_row_list(duplicated['_row'])})"
        )
    try:
        return SeriesSet.from_long(
            frame,
            frequency=frequency,
            key_columns=["series"],
            date_column="_date",
            denominator_column="denominator" if has_denominator else None,
        )
    except SeriesSetError as error:
        raise CsvInputError(str(error)) from None


def _with_counts(frame: pl.DataFrame) -> pl.DataFrame:
    """Parse ``n`` (whole numbers ≥ 0) and ``denominator`` (numbers ≥ 0) if present."""
    frame = _non_negative(frame, "n", pl.Int64, "whole numbers", "counts")
    if "denominator" in frame.columns:
        frame = _non_negative(frame, "denominator", pl.Float64, "numbers", "denominators")
    return frame


def _non_negative(
    frame: pl.DataFrame, column: str, dtype: type[pl.DataType], kind: str, plural: str
) -> pl.DataFrame:
    """Parse ``column`` as ``dtype`` (finite), naming the rows that are not ``kind`` or are
    negative ``plural``."""
    value = pl.col(column).str.strip_chars().cast(dtype, strict=False)
    invalid = value.is_null()
    if dtype.is_float():
        invalid = invalid | value.is_nan() | value.is_infinite()
    bad = frame.filter(invalid)
    if bad.height:
        raise CsvInputError(
            f"column {column} must hold {kind}; row(s) {_row_list(bad['_row'])} "
            f"hold {bad[column][0]!r}"
        )
    frame = frame.with_columns(value.alias(column))
    negative = frame.filter(pl.col(column) < 0)
    if negative.height:
        raise CsvInputError(f"negative {plural} in row(s) {_row_list(negative['_row'])}")
    return frame


def _with_dates(frame: pl.DataFrame, frequency: Frequency) -> pl.DataFrame:
    """Add ``_date``: the Sunday of each ISO ``week`` (weekly) or the parsed ``date`` (daily)."""
    if frequency is Frequency.WEEKLY:
        sundays: dict[str, object] = {}
        for label in frame["week"].unique().to_list():
            try:
                sundays[label] = week_sunday(*parse_iso_week(str(label).strip()))
            except (ValueError, TypeError):
                rows = frame.filter(pl.col("week") == label)["_row"]
                raise CsvInputError(
                    f"unparseable week {label!r} in row(s) {_row_list(rows)}; "
                    "write ISO weeks as 2019-W05"
                ) from None
        frame = frame.with_columns(
            pl.col("week").replace_strict(sundays, return_dtype=pl.Date).alias("_date")
        )
    else:
        parsed = pl.col("date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
        bad = frame.filter(parsed.is_null())
        if bad.height:
            raise CsvInputError(
                f"unparseable date {bad['date'][0]!r} in row(s) {_row_list(bad['_row'])}; "
                "write dates as 2019-01-31"
            )
        frame = frame.with_columns(parsed.alias("_date"))
    return frame


#: The result columns each method writes, after the key, time and ``n`` columns. Farrington
#: writes R ``farringtonFlexible``'s names (``upperbound``, ``alarm``) for its bound and alarm.
CSV_COLUMNS: dict[Method, tuple[str, ...]] = {
    Method.SYKDOMSPULSEN: RESULT_FIELDS,  # every result the SeriesSet carries
    Method.FARRINGTON: ("expected", "upperbound", "alarm", "zscore", "status", "excess", "failed"),
    Method.COVID19: ("expected", "threshold4", "status", "excess", "failed"),
}


def result_frame(detection: Detection, method: Method) -> pl.DataFrame:
    """Return one row per predicted point with the method's CSV columns."""
    series = detection.series
    frame = series.to_long().with_columns(
        pl.col("threshold4").alias("upperbound"), (pl.col("status") == "high").alias("alarm")
    )
    return frame.select(*series.keys.columns, series.time_column, "n", *CSV_COLUMNS[method])


def write_result_csv(frame: pl.DataFrame, path: Path) -> None:
    """Write results atomically, every number in its shortest exact (round-trip) form."""
    write_atomically(path, lambda temporary: frame.write_csv(temporary, float_precision=None))
