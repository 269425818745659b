"""Municipal indicators (spec §5): incidence, share infected, positivity, small-cell suppression."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from korona.surveillance.calendar import Frequency
from korona.surveillance.consultation import ContactType
from korona.surveillance.geo import AgeGroup

__all__ = [
    "SMALL_CELL_LIMIT",
    "SUPPRESSED_LABEL",
    "cases_per_100k",
    "covid_consultation_share",
    "cumulative_share_infected",
    "population_year",
    "positivity",
    "suppress_small_cells",
]

SMALL_CELL_LIMIT = 5
SUPPRESSED_LABEL = "<5"


def population_year(frequency: Frequency) -> pl.Expr:
    """Return the year whose population a row uses: a week's ISO year, a day's calendar year.

    A week is dated by its Sunday, so 2020-W53 (Sunday 2021-01-03) would otherwise take the
    2021 population; it belongs to ISO year 2020.
    """
    if frequency is Frequency.WEEKLY:
        return pl.col("date").dt.iso_year().cast(pl.Int32)
    return pl.col("date").dt.year().cast(pl.Int32)


def _with_population(
    frame: pl.DataFrame, population: pl.DataFrame, frequency: Frequency
) -> pl.DataFrame:
    """Join the 1 January population of each row's year (all ages)."""
    pop = population
    if "age" in pop.columns:
        pop = pop.filter(pl.col("age") == AgeGroup.TOTAL.value)
    pop = pop.select("location_code", pl.col("year").cast(pl.Int32), "population")
    return frame.with_columns(population_year(frequency).alias("year")).join(
        pop, on=["location_code", "year"], how="left"
    )


def cases_per_100k(
    cases: pl.DataFrame,
    population: pl.DataFrame,
    *,
    window_days: int = 7,
    frequency: Frequency = Frequency.WEEKLY,
) -> pl.DataFrame:
    """Add cases per 100 000 inhabitants over a trailing window of ``window_days``.

    Parameters: ``cases`` has location_code, date, n (daily, or weekly dated by Sunday);
    ``population`` has location_code, year, population (and optionally age; total is used).
    ``window_days`` 7 gives weekly incidence, 14 the 14-day incidence; the window is by date,
    so on weekly data 14 days is this week plus the previous one.
    ``frequency`` says whether rows are weeks (population of the ISO year) or days (of the
    calendar year).
    Returns: the input columns plus ``population``, ``n_window`` and ``per_100k`` (Float64);
    null where the population is unknown. References: spec §5; population is SSB's
    1 January figure for the year.
    """
    summed = cases.sort("location_code", "date").with_columns(
        pl.col("n")
        .fill_null(0)
        .rolling_sum_by("date", window_size=f"{window_days}d")
        .over("location_code")
        .alias("n_window")
    )
    joined = _with_population(summed, population, frequency)
    return joined.with_columns(
        (pl.col("n_window") / pl.col("population") * 100_000).alias("per_100k")
    ).drop("year")


def cumulative_share_infected(
    cases: pl.DataFrame, population: pl.DataFrame, *, frequency: Frequency = Frequency.WEEKLY
) -> pl.DataFrame:
    """Add the share of inhabitants registered as cases since the first date, in percent.

    Parameters: ``cases`` location_code, date, n; ``population`` and ``frequency`` as for
    ``cases_per_100k``.
    Returns: input plus ``cumulative_n`` and ``share_infected_percent`` (cumulative cases /
    population of the row's year × 100).
    """
    cumulative = cases.sort("location_code", "date").with_columns(
        pl.col("n").fill_null(0).cum_sum().over("location_code").alias("cumulative_n")
    )
    joined = _with_population(cumulative, population, frequency)
    return joined.with_columns(
        (pl.col("cumulative_n") / pl.col("population") * 100).alias("share_infected_percent")
    ).drop("year")


def positivity(lab: pl.DataFrame) -> pl.DataFrame:
    """Add the share of tests that were positive, in percent (null where nobody was tested).

    Parameters: ``lab`` with n_pos and n_neg. Returns: input plus ``positivity_percent``.
    """
    tested = pl.col("n_pos") + pl.col("n_neg")
    return lab.with_columns(
        pl.when(tested > 0).then(pl.col("n_pos") / tested * 100).alias("positivity_percent")
    )


def covid_consultation_share(
    consultations: pl.DataFrame,
    *,
    syndrome: str = "covid19",
    contact_types: Sequence[ContactType] = (
        ContactType.IN_PERSON,
        ContactType.TELEPHONE,
        ContactType.E_CONSULTATION,
    ),
) -> pl.DataFrame:
    """Return covid-19 consultations as a share of all consultations, in percent.

    Parameters: ``consultations`` in the store's long layout; the covid19 syndrome's
    denominator counts all consultations. Contact types default to the covid signal's
    (in person, telephone, e-consultation); both practice types are summed.
    Returns: location_code, age, date, n, denominator, share_percent.
    """
    keys = ["location_code", "age", "date"]
    summed = (
        consultations.filter(
            pl.col("syndrome") == syndrome,
            pl.col("contact_type").is_in([c.value for c in contact_types]),
        )
        .group_by(keys)
        .agg(pl.col("n").sum(), pl.col("denominator").sum())
        .sort(keys)
    )
    return summed.with_columns(
        pl.when(pl.col("denominator") > 0)
        .then(pl.col("n") / pl.col("denominator") * 100)
        .alias("share_percent")
    )


def suppress_small_cells(
    frame: pl.DataFrame,
    value: str,
    by: Sequence[str],
    *,
    limit: int = SMALL_CELL_LIMIT,
) -> pl.DataFrame:
    """Hide counts below ``limit`` for publication, with complementary suppression.

    Within each group of ``by`` (the cells that add up to one published total), every count
    below ``limit`` is shown as "<5". If a group would have exactly one hidden cell, its
    smallest other cell is hidden as well, so the total minus the visible cells cannot give
    the hidden one back. A group's total must itself go through this function (as a cell of
    its parent group) — a total below the limit is hidden like any cell.
    Returns: input plus ``<value>_suppressed`` (Boolean) and ``<value>_display`` (String).
    """
    flag = f"{value}_suppressed"
    group = list(by) if by else [pl.lit(0)]
    primary = pl.col(value) < limit
    ranked = frame.with_columns(primary.alias("_primary")).with_columns(
        pl.col("_primary").sum().over(group).alias("_hidden"),
        # Rank visible cells by size so the smallest becomes the complementary cell.
        pl.when(~pl.col("_primary"))
        .then(pl.col(value))
        .rank(method="ordinal")
        .over(group)
        .alias("_rank"),
    )
    complementary = (pl.col("_hidden") == 1) & ~pl.col("_primary") & (pl.col("_rank") == 1)
    return (
        ranked.with_columns((pl.col("_primary") | complementary).alias(flag))
        .with_columns(
            pl.when(pl.col(flag))
            .then(pl.lit(f"<{limit}"))
            .otherwise(pl.col(value).cast(pl.String))
            .alias(f"{value}_display")
        )
        .drop("_primary", "_hidden", "_rank")
    )
