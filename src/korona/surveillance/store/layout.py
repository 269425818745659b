"""The store's layout: its tables, their columns, and how a syndrome's stored column is named."""

from __future__ import annotations

from enum import StrEnum

import polars as pl

from korona.surveillance.calendar import Frequency
from korona.surveillance.store.files import StoreError

__all__ = [
    "CASE_SCHEMA",
    "CONSULTATION_KEYS",
    "CONSULTATION_SCHEMA",
    "LAB_SCHEMA",
    "STRATUM_KEYS",
    "WEEK_COLUMNS",
    "Table",
    "conform",
    "count_column",
    "denominator_column",
    "partition_name",
    "sunday",
    "table_name",
]


class Table(StrEnum):
    """The store's tables (top-level folders)."""

    CONSULTATIONS = "consultations"
    CASES = "cases"
    LAB_TESTS = "lab_tests"
    RESULTS = "results"


CONSULTATION_KEYS = ("location_code", "age", "syndrome", "contact_type", "practice_type", "date")
STRATUM_KEYS = ("location_code", "age", "contact_type", "practice_type", "date")
CONSULTATION_SCHEMA: dict[str, type[pl.DataType]] = {
    "location_code": pl.String,
    "age": pl.String,
    "syndrome": pl.String,
    "contact_type": pl.String,
    "practice_type": pl.String,
    "date": pl.Date,
    "n": pl.Int64,
    "denominator": pl.Int64,
}
CASE_SCHEMA: dict[str, type[pl.DataType]] = {
    "location_code": pl.String,
    "date": pl.Date,
    "n": pl.Int64,
}
LAB_SCHEMA: dict[str, type[pl.DataType]] = {
    "location_code": pl.String,
    "date": pl.Date,
    "n_pos": pl.Int64,
    "n_neg": pl.Int64,
}
WEEK_COLUMNS = ("iso_year", "iso_week", "week")


def count_column(syndrome: str) -> str:
    """Return the stored (wide) column of a syndrome's consultation count."""
    return f"n__{syndrome}"


def denominator_column(syndrome: str) -> str:
    """Return the stored (wide) column of a syndrome's raw denominator."""
    return f"denominator__{syndrome}"


def partition_name(table: Table | str, frequency: Frequency, year: int) -> str:
    """Return the logical name of one year's file of a partitioned table."""
    return f"{table}/{frequency.value}/year={year}"


def table_name(table: Table, frequency: Frequency) -> str:
    """Return the logical name of an unpartitioned table (cases, lab tests)."""
    return f"{table}/{frequency.value}"


def sunday(date: pl.Expr) -> pl.Expr:
    """Return the Sunday ending the ISO week of ``date`` (how weekly rows are dated)."""
    return date + pl.duration(days=7 - date.dt.weekday())


def conform(frame: pl.DataFrame, schema: dict[str, type[pl.DataType]], what: str) -> pl.DataFrame:
    """Return ``frame``'s schema columns cast to their types; raise StoreError if it cannot."""
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise StoreError(f"{what} frame lacks columns: {', '.join(missing)}")
    try:
        return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())
    except pl.exceptions.PolarsError as error:
        raise StoreError(f"{what} frame has columns of the wrong type: {error}") from error
