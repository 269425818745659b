"""Zero-filled grids of consultation counts, read from the store's sparse wide strata."""

from __future__ import annotations

from collections.abc import Collection, Mapping

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

__all__ = ["SERIES_SCHEMA", "consultation_columns", "empty_consultations", "strata", "summed"]

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


def summed(
    wide: pl.LazyFrame,
    dimensions: Mapping[str, list[str]],
    frequency: Frequency,
    contact_types: Mapping[str, Collection[str]],
    locations: pl.Expr | None = None,
) -> pl.DataFrame:
    """Return location × age × syndrome × date counts summed over each syndrome's contact
    types and both practice types, zero-filled on the location × age × date grid.

    Equal to summing :func:`strata` over those strata (each stratum's denominator floored at
    1 first, a missing stratum counting 1), but sums the sparse stored strata before
    zero-filling, which is several times faster.
    """
    site = pl.LazyFrame(
        {"location_code": dimensions["locations"]}, schema={"location_code": pl.String}
    )
    if locations is not None:
        wide, site = wide.filter(locations), site.filter(locations)
    dates = _dates(wide, frequency)
    if dates is None:
        return pl.DataFrame(schema=SERIES_SCHEMA)
    available = set(wide.collect_schema().names())
    grid = site.join(
        pl.LazyFrame({"age": dimensions["ages"]}, schema={"age": pl.String}), how="cross"
    ).join(dates, how="cross")
    parts = []
    for syndrome in dimensions["syndromes"]:
        allowed = sorted(contact_types.get(syndrome, ()))
        if not allowed:
            continue
        count = len(allowed) * len(PracticeType)
        n_name, den_name = count_column(syndrome), denominator_column(syndrome)
        if n_name in available:
            present = (
                wide.filter(pl.col("contact_type").is_in(allowed))
                .group_by(_CELL)
                .agg(
                    pl.col(n_name).cast(pl.Int64).fill_null(0).sum().alias("n"),
                    pl.max_horizontal(
                        pl.col(den_name).cast(pl.Int64).fill_null(0), pl.lit(1, pl.Int64)
                    )
                    .sum()
                    .alias("floored"),
                    pl.len().cast(pl.Int64).alias("present"),
                )
            )
            filled = grid.join(present, on=_CELL, how="left").select(
                pl.col("n").fill_null(0),
                (pl.col("floored").fill_null(0) + count - pl.col("present").fill_null(0)).alias(
                    "denominator"
                ),
                *_CELL,
            )
        else:
            filled = grid.select(
                pl.lit(0, pl.Int64).alias("n"), pl.lit(count, pl.Int64).alias("denominator"), *_CELL
            )
        parts.append(filled.with_columns(pl.lit(syndrome, pl.String).alias("syndrome")))
    if not parts:
        return pl.DataFrame(schema=SERIES_SCHEMA)
    return pl.concat(parts).select(list(SERIES_SCHEMA)).collect(engine="streaming")
