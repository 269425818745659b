"""Open a KUHR file lazily (CSV or Parquet) and parse its fields, each distinct value once."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

import polars as pl

from korona.surveillance.geo import AGE_BANDS, COARSE_AGE_FOLDING
from korona.surveillance.sources import IngestError, readable_file

__all__ = [
    "KUHR_COLUMNS",
    "SIMULATED_MARK",
    "KuhrColumn",
    "is_simulated",
    "lookup",
    "parse_age",
    "parse_date",
    "scan_kuhr",
]

#: The Parquet key-value metadata of a file of simulated KUHR records: the simulator writes
#: it and ingest records it in the store, so that pages can say their consultations are
#: simulated. (A CSV file cannot carry it; simulated CSV files are ingested as reported ones.)
SIMULATED_MARK = {"korona.origin": "simulated"}


class KuhrColumn(StrEnum):
    """Columns of a KUHR input file (CSV or Parquet); one row per diagnosis and fee code."""

    CONSULTATION_ID = "consultation_id"
    ICPC2_CODE = "icpc2_code"
    PATIENT_AGE = "patient_age"
    PATIENT_MUNICIPALITY = "patient_municipality"
    PRACTICE_MUNICIPALITY = "practice_municipality"
    CONSULTATION_DATE = "consultation_date"
    FEE_CODE = "fee_code"
    PRACTICE_TYPE = "practice_type"


KUHR_COLUMNS = tuple(c.value for c in KuhrColumn)
_CODED_COLUMNS = (
    KuhrColumn.PATIENT_AGE,
    KuhrColumn.CONSULTATION_DATE,
    KuhrColumn.ICPC2_CODE,
    KuhrColumn.FEE_CODE,
    KuhrColumn.PRACTICE_MUNICIPALITY,
    KuhrColumn.PRACTICE_TYPE,
)


def is_simulated(path: Path) -> bool:
    """Return whether ``path`` is a Parquet file that carries :data:`SIMULATED_MARK`."""
    if path.suffix.lower() != ".parquet":
        return False
    try:
        metadata = pl.read_parquet_metadata(path)
    except (OSError, pl.exceptions.PolarsError):
        return False  # scan_kuhr says what is wrong with the file
    return all(metadata.get(key) == value for key, value in SIMULATED_MARK.items())


def scan_kuhr(path: Path) -> tuple[pl.LazyFrame, int]:
    """Open a KUHR file lazily; return the frame and the line number of its first data row."""
    readable_file(path)
    if path.suffix.lower() == ".parquet":
        try:
            frame = pl.scan_parquet(path)
            schema = frame.collect_schema()
        except (OSError, pl.exceptions.PolarsError) as error:
            raise IngestError(f"{path.name}: not a readable Parquet file ({error})") from error
        text_columns = [c.value for c in _CODED_COLUMNS if schema.get(c.value) == pl.String]
        strings = [c for c in KUHR_COLUMNS if schema.get(c) == pl.String]
        categories = _distinct_values(path, frame, text_columns, strings)
        return frame.with_columns(pl.col(c).cast(pl.Enum(v)) for c, v in categories.items()), 1
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A cut multi-byte character at the end of the sample is not an encoding problem.
        if error.start < len(head) - 4:
            raise IngestError(
                f"{path.name}: not UTF-8 text (byte {error.start}); export the file as UTF-8"
            ) from error
    separator = (
        ";" if head.split(b"\n", 1)[0].count(b";") > head.split(b"\n", 1)[0].count(b",") else ","
    )
    frame = pl.scan_csv(path, separator=separator, infer_schema=False)
    coded = [c.value for c in _CODED_COLUMNS]
    if not set(coded) <= set(frame.collect_schema().names()):
        return frame, 2  # _validated reports the missing columns
    strings = [c for c in KUHR_COLUMNS if c in frame.collect_schema().names()]
    overrides = {c: pl.Enum(v) for c, v in _distinct_values(path, frame, coded, strings).items()}
    return pl.scan_csv(path, separator=separator, infer_schema=False, schema_overrides=overrides), 2


def _distinct_values(
    path: Path, frame: pl.LazyFrame, columns: list[str], strings: list[str]
) -> dict[str, list[str]]:
    """Return the distinct values of text columns in one streaming pass; refuse the file if
    any of the ``strings`` columns holds a NUL byte (a binary or damaged export).

    Codes, fees, municipalities, practice types, ages and dates have few distinct values;
    reading them as Enum makes the per-row work integer lookups instead of string handling
    (5× faster, a fraction of the memory).
    """
    if not columns and not strings:
        return {}
    try:
        found = frame.select(
            *(pl.col(c).unique().implode() for c in columns),
            *(
                pl.col(c).str.contains("\x00", literal=True).any().alias(f"_nul_{c}")
                for c in strings
            ),
        ).collect(engine="streaming")
    except pl.exceptions.PolarsError as error:
        raise IngestError(f"{path.name}: could not be read ({error})") from error
    with_nul = [c for c in strings if found[f"_nul_{c}"][0]]
    if with_nul:
        raise IngestError(
            f"{path.name}: column {with_nul[0]} holds a NUL byte; KUHR fields are text without "
            "control characters (is this the right file?)"
        )
    return {c: sorted(v for v in found[c][0].to_list() if v is not None) for c in columns}


def _per_category(name: str, dtype: pl.DataType, parse: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """Apply a string parser to a column; for Enum columns parse each category once.

    Enum columns (Parquet written by polars, or CSV columns read as Enum after a first pass)
    are parsed per category and gathered by their integer codes: no string work per row.
    """
    if isinstance(dtype, pl.Enum):
        categories = pl.DataFrame({"raw": dtype.categories})
        lookup = categories.select(parse(pl.col("raw"))).to_series()
        return pl.lit(lookup).gather(pl.col(name).to_physical())
    return parse(pl.col(name).cast(pl.String))


def lookup(
    name: str,
    dtype: pl.DataType,
    normalise: Callable[[pl.Expr], pl.Expr],
    table: dict[str, int],
    return_dtype: pl.DataType | type[pl.DataType],
) -> pl.Expr:
    """Map a column through ``normalise`` then ``table``; null where the value is not in it."""
    return _per_category(
        name,
        dtype,
        lambda raw: normalise(raw).replace_strict(table, default=None, return_dtype=return_dtype),
    )


def _band_from_years(years: pl.Expr) -> pl.Expr:
    """Return the index of an age in AGE_BANDS (Int64), null for null or negative ages."""
    return (
        pl.when(years < 0)
        .then(None)
        .when(years <= 4)
        .then(0)
        .when(years <= 14)
        .then(1)
        .when(years <= 19)
        .then(2)
        .when(years <= 29)
        .then(3)
        .when(years <= 64)
        .then(4)
        .when(years.is_not_null())
        .then(5)
    )


def parse_age(name: str, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """Return (age band index or null, is-negative flag) for numeric ages or band labels.

    Coarse bands some feeds use for very small municipalities are folded (0-9 → 5-14,
    10-19 → 15-19, spec §1).
    """
    if dtype.is_integer() or dtype.is_float():
        years = pl.col(name).cast(pl.Int64, strict=False)
        return _band_from_years(years), years < 0
    labels = {band.value: i for i, band in enumerate(AGE_BANDS)}
    labels |= {coarse: AGE_BANDS.index(band) for coarse, band in COARSE_AGE_FOLDING.items()}

    def band(raw: pl.Expr) -> pl.Expr:
        text = raw.str.strip_chars()
        years = text.str.to_integer(strict=False)
        return (
            pl.when(years.is_not_null())
            .then(_band_from_years(years))
            .otherwise(text.replace_strict(labels, default=None, return_dtype=pl.Int64))
        )

    def negative(raw: pl.Expr) -> pl.Expr:
        return raw.str.strip_chars().str.to_integer(strict=False).fill_null(0) < 0

    return _per_category(name, dtype, band), _per_category(name, dtype, negative)


def parse_date(name: str, dtype: pl.DataType) -> pl.Expr:
    """Return the date as days since 1970-01-01 (Int64), null if unreadable."""
    column = pl.col(name)
    if dtype == pl.Date:
        return column.cast(pl.Int64)
    if isinstance(dtype, pl.Datetime):
        return column.dt.date().cast(pl.Int64)
    return _per_category(
        name,
        dtype,
        lambda raw: (
            raw.str.strip_chars().str.strptime(pl.Date, "%Y-%m-%d", strict=False).cast(pl.Int64)
        ),
    )
