"""The store's layout: its tables, their columns, and how a syndrome's stored column is named."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

import polars as pl

from korona.surveillance.calendar import Frequency
from korona.surveillance.store.files import StoreError

__all__ = [
    "CASE_SCHEMA",
    "CONSULTATION_KEYS",
    "CONSULTATION_SCHEMA",
    "DAYS_COLUMN",
    "LAB_SCHEMA",
    "STRATUM_KEYS",
    "WEEK_COLUMNS",
    "Table",
    "conform",
    "count_column",
    "denominator_column",
    "extend_dimensions",
    "partition_name",
    "sunday",
    "table_name",
    "week_sums",
    "wide_strata",
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
#: Weekly case and lab rows: how many days of the week the row sums (7 for a weekly file).
DAYS_COLUMN = "days"


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


def week_sums(daily: pl.LazyFrame, keys: list[str]) -> pl.DataFrame:
    """Return daily rows summed into ISO weeks (dated by the Sunday) per ``keys``.

    Missing counts add as 0; the sums are Int64 whatever the stored integer width.
    """
    values = [c for c in daily.collect_schema().names() if c not in keys]
    return (
        daily.with_columns(sunday(pl.col("date")).alias("date"))
        .group_by(keys)
        .agg(pl.col(values).fill_null(0).sum())
        .with_columns(pl.col(values).cast(pl.Int64))
        .collect()
    )


def wide_strata(long: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Return long consultation rows in the stored wide layout, and their syndromes."""
    syndromes = sorted(long.get_column("syndrome").unique().drop_nulls().to_list())
    wide = long.pivot(
        on="syndrome",
        index=list(STRATUM_KEYS),
        values=["n", "denominator"],
        aggregate_function="sum",
    ).rename(
        {f"n_{s}": count_column(s) for s in syndromes}
        | {f"denominator_{s}": denominator_column(s) for s in syndromes}
    )
    return wide, syndromes


def extend_dimensions(
    dimensions: dict[str, list[str]],
    strata: pl.DataFrame,
    syndromes: Sequence[str],
    locations: Iterable[str],
) -> None:
    """Add the locations, ages and syndromes of newly stored strata to the grid's dimensions
    (locations and ages sorted; syndromes in the order they were first stored)."""
    for key, column, extra in (
        ("locations", "location_code", list(locations)),
        ("ages", "age", []),
    ):
        seen = set(strata.get_column(column).unique().to_list())
        dimensions[key] = sorted(set(dimensions[key]) | seen | set(extra))
    dimensions["syndromes"] += [s for s in syndromes if s not in dimensions["syndromes"]]
