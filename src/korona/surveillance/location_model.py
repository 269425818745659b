"""What a surveillance page shows for one location: the location, its figures and sources."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import polars as pl

from korona.surveillance.geo import LocationLevel

__all__ = [
    "COVID_COLUMNS",
    "COVID_PARTS",
    "COVID_SYNDROME",
    "LOCATION_CODE",
    "RATE_VALUES",
    "SIGNAL_COLUMNS",
    "SIGNAL_METHODS",
    "SIGNAL_WEEKS",
    "Location",
    "LocationView",
    "Source",
    "UnknownLocation",
    "location_code_pattern",
    "week_columns",
    "with_columns",
]

#: The covid-19 consultation syndrome (R991 + R992); the signals table shows the others.
COVID_SYNDROME = "covid19"
#: Sub-codes of covid19, reported inside it and not signalled on their own here.
COVID_PARTS = ("covid19_r991", "covid19_r992")
#: Result tables of the signal methods, the first one stored is shown.
SIGNAL_METHODS = ("sykdomspulsen", "farrington")
#: Weeks of signals (table and charts) back from the latest week with results.
SIGNAL_WEEKS = 52
LOCATION_CODE = re.compile(r"^(norge|county\d{2}|municip\d{4})$")

#: The case figures of a location and week (cases, incidences, share infected, population).
RATE_VALUES = (
    "n",
    "per_100k",
    "n_14d",
    "per_100k_14d",
    "cumulative_n",
    "share_infected_percent",
    "population",
    "population_year",
)
COVID_COLUMNS = (
    "week",
    "iso_year",
    "iso_week",
    "date",
    *RATE_VALUES,
    "tests_positive_n",
    "tests_negative_n",
    "positivity_percent",
    "consultations_covid_n",
    "consultations_all_n",
    "consultation_share_percent",
    "hospital_admissions_n",
    "cases_signal",
    "cases_expected",
    "cases_threshold",
    "consultation_signal",
    "consultation_expected",
    "consultation_threshold",
    "possibly_incomplete",
)
SIGNAL_COLUMNS = (
    "week",
    "iso_year",
    "iso_week",
    "date",
    "syndrome",
    "age",
    "n",
    "denominator",
    "expected",
    "threshold2",
    "threshold4",
    "zscore",
    "status",
    "excess",
    "failed",
    "possibly_incomplete",
)


class UnknownLocation(ValueError):
    """The location code is not norge, one of the 11 counties or the 356 municipalities."""


def location_code_pattern() -> str:
    """Return the regular expression every location code matches (for path validation)."""
    return LOCATION_CODE.pattern


@dataclass(frozen=True)
class Location:
    """A place at 2020 borders: ``norge``, ``countyNN`` or ``municipNNNN``."""

    code: str
    name: str
    level: LocationLevel

    @property
    def number(self) -> str | None:
        """Return the municipality number (``"4601"``) or county number (``"46"``)."""
        if self.level is LocationLevel.NATION:
            return None
        return self.code.removeprefix("municip").removeprefix("county")


@dataclass(frozen=True)
class Source:
    """Where a figure comes from, how fresh it is, and whether it is simulated."""

    name: str
    data_to: dt.date | None
    updated: dt.date | None
    simulated: bool = False


@dataclass(frozen=True)
class LocationView:
    """Everything the location page and its JSON show, unsuppressed (full detail).

    ``covid``: one row per ISO week (``COVID_COLUMNS``), oldest first. ``signals``: the other
    syndromes' weekly signals for every age group (``SIGNAL_COLUMNS``), latest week first and
    within a week high signals first. ``comparison``: weekly and 14-day cases per 100 000 for
    the location, its neighbours (municipalities) and its county (columns location_code, name,
    role, week, date, n, per_100k, n_14d, per_100k_14d). ``sources`` per indicator.
    """

    location: Location
    county: Location | None
    neighbours: tuple[Location, ...]
    covid: pl.DataFrame
    signals: pl.DataFrame
    comparison: pl.DataFrame
    sources: dict[str, Source] = field(default_factory=dict)

    def latest_covid(self) -> dict[str, object] | None:
        """Return the latest week with a case count (None if there is none)."""
        known = self.covid.filter(pl.col("n").is_not_null())
        return known.row(-1, named=True) if known.height else None


def week_columns() -> list[pl.Expr]:
    """Return week ("2020-W53"), iso_year and iso_week of the Sunday in ``date``."""
    return [
        pl.format(
            "{}-W{}",
            pl.col("date").dt.iso_year(),
            pl.col("date").dt.week().cast(pl.String).str.zfill(2),
        ).alias("week"),
        pl.col("date").dt.iso_year().cast(pl.Int32).alias("iso_year"),
        pl.col("date").dt.week().cast(pl.Int32).alias("iso_week"),
    ]


def with_columns(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Return ``frame`` with exactly ``columns`` in order (missing ones as nulls)."""
    return frame.with_columns(
        pl.lit(None).alias(c) for c in columns if c not in frame.columns
    ).select(columns)
