"""Zero-filled grids of consultation counts, read from the store's sparse wide strata."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import polars as pl

from korona.surveillance.calendar import Frequency, week_columns
from korona.surveillance.consultation import ContactType, PracticeType
from korona.surveillance.store.layout import (
    CONSULTATION_SCHEMA,
    STRATUM_KEYS,
    WEEK_COLUMNS,
    count_column,
    denominator_column,
)

__all__ = [
    "SERIES_SCHEMA",
    "Cells",
    "cells",
    "consultation_columns",
    "empty_consultations",
    "strata",
    "summed",
]

#: Columns of the analysis series (``SurveillanceStore.syndrome_series``).
SERIES_SCHEMA: dict[str, type[pl.DataType]] = {
    "location_code": pl.String,
    "age": pl.String,
    "syndrome": pl.String,
    "date": pl.Date,
    "n": pl.Int64,
    "denominator": pl.Int64,
}
_CELL = ["location_code", "age", "date"]
_SITE = {"location_code": pl.String}


def consultation_columns(frequency: Frequency) -> list[str]:
    """Return the columns of the long consultation frame (weekly frames add week columns)."""
    columns = list(CONSULTATION_SCHEMA)
    if frequency is Frequency.WEEKLY:
        columns = [*columns[:6], *WEEK_COLUMNS, "n", "denominator"]
    return columns


def empty_consultations(frequency: Frequency) -> pl.LazyFrame:
    """Return an empty long consultation frame with the right columns."""
    empty = pl.DataFrame(schema=CONSULTATION_SCHEMA).lazy()
    if frequency is Frequency.WEEKLY:
        empty = empty.with_columns(week_columns("date"))
    return empty.select(consultation_columns(frequency))


def _dates(wide: pl.LazyFrame, frequency: Frequency) -> pl.LazyFrame | None:
    lo, hi = wide.select(pl.col("date").min(), pl.col("date").max().alias("hi")).collect().row(0)
    if lo is None:
        return None
    step = "1d" if frequency is Frequency.DAILY else "1w"
    return pl.LazyFrame({"date": pl.date_range(lo, hi, interval=step, eager=True)})


def strata(
    wide: pl.LazyFrame, dimensions: Mapping[str, list[str]], frequency: Frequency
) -> pl.LazyFrame:
    """Return every location × age × syndrome × contact type × practice type × date of the
    stored period, missing strata as zeros, ``denominator`` floored at 1 (spec §1)."""
    dates = _dates(wide, frequency)
    if dates is None:
        return empty_consultations(frequency)
    grid = (
        pl.LazyFrame(
            {"location_code": dimensions["locations"]}, schema={"location_code": pl.String}
        )
        .join(pl.LazyFrame({"age": dimensions["ages"]}, schema={"age": pl.String}), how="cross")
        .join(pl.LazyFrame({"contact_type": [c.value for c in ContactType]}), how="cross")
        .join(pl.LazyFrame({"practice_type": [p.value for p in PracticeType]}), how="cross")
        .join(dates, how="cross")
    )
    available = set(wide.collect_schema().names())
    # Zero-fill the wide strata first (one join), then give each syndrome its rows.
    joined = grid.join(wide, on=list(STRATUM_KEYS), how="left")

    def stored(column: str) -> pl.Expr:
        if column in available:
            return pl.col(column).cast(pl.Int64).fill_null(0)
        return pl.lit(0, pl.Int64)

    filled = pl.concat(
        [
            joined.select(
                *STRATUM_KEYS,
                pl.lit(syndrome, pl.String).alias("syndrome"),
                stored(count_column(syndrome)).alias("n"),
                pl.max_horizontal(stored(denominator_column(syndrome)), pl.lit(1, pl.Int64)).alias(
                    "denominator"
                ),
            )
            for syndrome in dimensions["syndromes"]
        ]
    )
    if frequency is Frequency.WEEKLY:
        filled = filled.with_columns(week_columns("date"))
    return filled.select(consultation_columns(frequency))


@dataclass(frozen=True)
class Cells:
    """The stored cells of a syndrome read, before any zero-filling (see :func:`cells`).

    ``per_cell`` has one row per location × age × date with at least one stored stratum and,
    per syndrome ``s`` in ``stored``, the columns ``n s`` and ``d s``: count and denominator
    summed over the syndrome's contact types and both practice types. Every other cell of
    ``locations`` × ``ages`` × the dates ``first`` … ``last`` (daily, or weekly Sundays), and
    every cell of a syndrome not in ``stored``, has n = 0 and denominator ``absent[s]``.
    """

    per_cell: pl.DataFrame
    stored: list[str]
    locations: list[str]
    ages: list[str]
    absent: dict[str, int]
    first: dt.date
    last: dt.date

    @property
    def syndromes(self) -> list[str]:
        """Return the syndromes read (those with signal contact types), in stored order."""
        return list(self.absent)

    def long(self) -> pl.DataFrame:
        """Return the stored cells as rows of location, age, syndrome, date, n, denominator."""
        if not self.stored:
            return pl.DataFrame(schema=SERIES_SCHEMA)
        return pl.concat(
            self.per_cell.select(
                *_CELL,
                pl.lit(syndrome, pl.String).alias("syndrome"),
                pl.col(f"n {syndrome}").alias("n"),
                pl.col(f"d {syndrome}").alias("denominator"),
            )
            for syndrome in self.stored
        ).select(list(SERIES_SCHEMA))


def cells(
    wide: pl.LazyFrame,
    dimensions: Mapping[str, list[str]],
    contact_types: Mapping[str, Collection[str]],
    locations: pl.Expr | None = None,
) -> Cells | None:
    """Sum the stored strata of each syndrome's contact types per cell, in one pass over the
    stored rows (None when no row is stored). A stratum's denominator is floored at 1 first,
    and a missing stratum counts 1 (spec §1), so an absent cell's denominator is the number
    of strata it sums."""
    site = pl.DataFrame({"location_code": dimensions["locations"]}, schema=_SITE)
    if locations is not None:
        wide, site = wide.filter(locations), site.filter(locations)
    first, last = (
        wide.select(pl.col("date").min(), pl.col("date").max().alias("b")).collect().row(0)
    )
    if first is None:
        return None
    available = set(wide.collect_schema().names())
    absent: dict[str, int] = {}
    stored, masked, denominators = [], [], []
    for syndrome in dimensions["syndromes"]:
        allowed = sorted(contact_types.get(syndrome, ()))
        if not allowed:
            continue
        absent[syndrome] = strata = len(allowed) * len(PracticeType)
        n_name, den_name = count_column(syndrome), denominator_column(syndrome)
        if n_name not in available:
            continue
        stored.append(syndrome)
        # Masked columns, then plain sums: a filter inside the aggregation is much slower.
        counted = pl.col("contact_type").is_in(allowed)
        floored = pl.max_horizontal(pl.col(den_name).cast(pl.Int64).fill_null(0), 1)
        masked += [
            pl.when(counted)
            .then(pl.col(n_name).cast(pl.Int64).fill_null(0))
            .otherwise(0)
            .alias(f"n {syndrome}"),
            pl.when(counted).then(floored).otherwise(0).alias(f"f {syndrome}"),
            counted.cast(pl.Int64).alias(f"c {syndrome}"),
        ]
        denominators.append(
            (pl.col(f"f {syndrome}") + strata - pl.col(f"c {syndrome}")).alias(f"d {syndrome}")
        )
    per_cell = pl.DataFrame(schema={c: SERIES_SCHEMA[c] for c in _CELL})
    if stored:
        per_cell = (
            wide.select(*_CELL, *masked)
            .group_by(_CELL)
            .agg(pl.exclude(_CELL).sum())
            .with_columns(denominators)
            .select(*_CELL, *(c for s in stored for c in (f"n {s}", f"d {s}")))
            .collect(engine="streaming")
        )
    return Cells(
        per_cell,
        stored,
        site["location_code"].to_list(),
        list(dimensions["ages"]),
        absent,
        first,
        last,
    )


def summed(read: Cells | None, frequency: Frequency) -> pl.DataFrame:
    """Return the cells zero-filled: location × age × syndrome × date counts summed over each
    syndrome's contact types and both practice types, every cell of the grid a row.

    Equal to summing :func:`strata` over those strata, but sums the sparse stored strata
    before zero-filling (:func:`cells`), which is several times faster.
    """
    if read is None or not read.absent:
        return pl.DataFrame(schema=SERIES_SCHEMA)
    step = "1d" if frequency is Frequency.DAILY else "1w"
    grid = (
        pl.LazyFrame({"location_code": read.locations}, schema=_SITE)
        .join(pl.LazyFrame({"age": read.ages}, schema={"age": pl.String}), how="cross")
        .join(
            pl.LazyFrame({"syndrome": read.syndromes}, schema={"syndrome": pl.String}), how="cross"
        )
        .join(
            pl.LazyFrame({"date": pl.date_range(read.first, read.last, interval=step, eager=True)}),
            how="cross",
        )
    )
    absent = pl.col("syndrome").replace_strict(read.absent, return_dtype=pl.Int64)
    return (
        grid.join(read.long().lazy(), on=[*_CELL, "syndrome"], how="left")
        .with_columns(pl.col("n").fill_null(0), pl.col("denominator").fill_null(absent))
        .select(list(SERIES_SCHEMA))
        .collect(engine="streaming")
    )
