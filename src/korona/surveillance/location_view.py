"""What a surveillance page shows for one location: covid-19, signals, neighbours, completeness."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from korona.surveillance import disclosure, metrics
from korona.surveillance.calendar import Frequency, weekly_holiday_covariate
from korona.surveillance.completeness import possibly_incomplete
from korona.surveillance.geo import (
    NATION,
    AgeGroup,
    Geography,
    LocationLevel,
    load_geography,
    population_file_year,
)
from korona.surveillance.neighbours import neighbours as neighbour_table
from korona.surveillance.store import SurveillanceStore

__all__ = [
    "COVID_COLUMNS",
    "COVID_SYNDROME",
    "SIGNAL_COLUMNS",
    "SIGNAL_METHODS",
    "SIGNAL_WEEKS",
    "Location",
    "LocationView",
    "Source",
    "SurveillanceReader",
    "UnknownLocation",
    "location_code_pattern",
]

#: The covid-19 consultation syndrome (R991 + R992); the signals table shows the others.
COVID_SYNDROME = "covid19"
#: Sub-codes of covid19, reported inside it and not signalled on their own here.
_COVID_PARTS = ("covid19_r991", "covid19_r992")
#: Result tables of the signal methods, the first one stored is shown.
SIGNAL_METHODS = ("sykdomspulsen", "farrington")
#: Weeks of signals (table and charts) back from the latest week with results.
SIGNAL_WEEKS = 52
_CODE = re.compile(r"^(norge|county\d{2}|municip\d{4})$")
_HOSPITAL_FILE = Path("covid19") / "data_covid19_hospital_by_time_latest.csv"

COVID_COLUMNS = (
    "week",
    "iso_year",
    "iso_week",
    "date",
    "n",
    "per_100k",
    "n_14d",
    "per_100k_14d",
    "cumulative_n",
    "share_infected_percent",
    "population",
    "population_year",
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
    return _CODE.pattern


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
    """Where a figure comes from and how fresh it is."""

    name: str
    data_to: dt.date | None
    updated: dt.date | None


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


class SurveillanceReader:
    """Reads location views from a store; caches them per store generation (thread-safe).

    Parameters: ``store`` the surveillance store; ``reference_dir`` the shared reference data
    (locations, population, outlines, FHI's national hospital file).
    """

    def __init__(self, store: SurveillanceStore, reference_dir: Path, *, cache_size: int = 256):
        self.store = store
        self.reference_dir = Path(reference_dir)
        self.geography: Geography = load_geography(self.reference_dir)
        self._names = self.geography.names()
        self._cache: OrderedDict[tuple[int, str], LocationView] = OrderedDict()
        self._masks: tuple[int, disclosure.PublicMasks] | None = None
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # locations ---------------------------------------------------------------------------

    def locations(self) -> list[Location]:
        """Return the nation, the 11 counties and the 356 municipalities, in that order."""
        return [self.location(code) for code in self.geography.location_codes]

    def location(self, code: str) -> Location:
        """Return a location; raise UnknownLocation for any other code."""
        if not isinstance(code, str) or not _CODE.match(code) or code not in self._names:
            raise UnknownLocation(f"unknown location code {code!r}")
        return Location(code, self._names[code], self.geography.level(code))

    def county_of(self, location: Location) -> Location | None:
        """Return a municipality's county (None for counties and the nation)."""
        if location.level is not LocationLevel.MUNICIPALITY:
            return None
        return self.location(f"county{location.code[len('municip') : len('municip') + 2]}")

    def neighbours_of(self, location: Location) -> tuple[Location, ...]:
        """Return a municipality's neighbours (shared borders, islands across the water)."""
        if location.level is not LocationLevel.MUNICIPALITY:
            return ()
        table = neighbour_table(self.reference_dir)
        return tuple(self.location(f"municip{n}") for n in table.get(location.number or "", ()))

    # the view ----------------------------------------------------------------------------

    def view(self, code: str) -> LocationView:
        """Return the full view of a location (cached until the store changes)."""
        location = self.location(code)
        key = (self.store.generation, code)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        built = self._build(location)
        with self._lock:
            self._cache[key] = built
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return built

    def public_view(self, code: str) -> LocationView:
        """Return the view the public may see: counts 1–4 as "<5", complementary cells as ":",
        no rate from a hidden count (see :mod:`korona.surveillance.disclosure`)."""
        view = self.view(code)
        key = (self.store.generation, f"public:{code}")
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        built = disclosure.public_view(view, self.public_masks())
        with self._lock:
            self._cache[key] = built
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return built

    def public_masks(self) -> disclosure.PublicMasks:
        """Return the national suppression of the current store generation (computed once)."""
        generation = self.store.generation
        with self._lock:
            if self._masks is not None and self._masks[0] == generation:
                return self._masks[1]
        cases = self.store.cases(Frequency.WEEKLY).select("location_code", "date", "n").collect()
        masks = disclosure.PublicMasks(
            cases, self._national_consultations(), self._national_signals()
        )
        with self._lock:
            self._masks = (generation, masks)
        return masks

    def _national_consultations(self) -> pl.DataFrame | None:
        if COVID_SYNDROME not in self.store.dimensions()["syndromes"]:
            return None
        frame = (
            self.store.consultations(Frequency.WEEKLY)
            .filter(pl.col("age") == AgeGroup.TOTAL.value, pl.col("syndrome") == COVID_SYNDROME)
            .group_by("location_code", "date")
            .agg(pl.col("n").sum(), pl.col("denominator").sum())
            .collect()
        )
        share = frame.rename({"n": "covid_n", "denominator": "all_n"})
        return share

    def _national_signals(self) -> pl.DataFrame | None:
        frame = self._signal_results()
        if frame is None:
            return None
        last = frame.select(pl.col("date").max()).collect().item()
        if last is None:
            return None
        return (
            frame.filter(
                pl.col("date") > last - dt.timedelta(weeks=SIGNAL_WEEKS),
                ~pl.col("syndrome").is_in([COVID_SYNDROME, *_COVID_PARTS]),
            )
            .select("location_code", "age", "syndrome", "date", "n")
            .collect()
        )

    def _signal_results(self) -> pl.LazyFrame | None:
        """Return the stored weekly results of the first signal method that has any."""
        for method in SIGNAL_METHODS:
            frame = self.store.results(method, Frequency.WEEKLY)
            if "location_code" in frame.collect_schema().names():
                return frame
        return None

    def _build(self, location: Location) -> LocationView:
        county = self.county_of(location)
        near = self.neighbours_of(location)
        covid = self._covid(location.code)
        incomplete = covid.select("date", "possibly_incomplete")
        compared = [(location, "self"), *((n, "neighbour") for n in near)]
        if county is not None:
            compared.append((county, "county"))
        return LocationView(
            location=location,
            county=county,
            neighbours=near,
            covid=covid,
            signals=self._signals(location.code, incomplete),
            comparison=self._comparison(compared),
            sources=self._sources(location.code),
        )

    def population(self, years: list[int]) -> pl.DataFrame:
        """Return SSB's total population per location for ``years`` (nearest shipped file)."""
        return self.geography.population(years).filter(pl.col("age") == AgeGroup.TOTAL.value)

    def _cases(self, codes: list[str]) -> pl.DataFrame:
        return (
            self.store.cases(Frequency.WEEKLY)
            .filter(pl.col("location_code").is_in(codes))
            .select("location_code", "date", "n")
            .sort("location_code", "date")
            .collect()
        )

    def _rates(self, cases: pl.DataFrame) -> pl.DataFrame:
        """Add weekly and 14-day rates per 100 000 and the cumulative share infected."""
        if cases.height == 0:
            return cases.with_columns(
                pl.lit(None, pl.Float64).alias(c)
                for c in ("per_100k", "per_100k_14d", "share_infected_percent")
            ).with_columns(
                pl.lit(None, pl.Int64).alias(c)
                for c in ("n_14d", "cumulative_n", "population", "population_year")
            )
        years = cases.select(pl.col("date").dt.iso_year().unique()).to_series().to_list()
        years = sorted(set(years) | {y + 1 for y in years})
        population = self.population(years)
        weekly = metrics.cases_per_100k(cases, population)
        fortnight = metrics.cases_per_100k(cases, population, window_days=14).select(
            "location_code",
            "date",
            pl.col("n_window").alias("n_14d"),
            pl.col("per_100k").alias("per_100k_14d"),
        )
        share = metrics.cumulative_share_infected(cases, population).select(
            "location_code", "date", "cumulative_n", "share_infected_percent"
        )
        keys = ["location_code", "date"]
        return (
            weekly.drop("n_window")
            .join(fortnight, on=keys, how="left", maintain_order="left")
            .join(share, on=keys, how="left", maintain_order="left")
            .with_columns(
                pl.col("date")
                .dt.iso_year()
                .map_elements(population_file_year, return_dtype=pl.Int64)
                .alias("population_year")
            )
        )

    def _covid(self, code: str) -> pl.DataFrame:
        keys = ["date"]
        rates = self._rates(self._cases([code])).drop("location_code")
        lab = (
            self.store.lab_tests(Frequency.WEEKLY)
            .filter(pl.col("location_code") == code)
            .select("date", "n_pos", "n_neg")
            .collect()
        )
        lab = metrics.positivity(lab).rename(
            {"n_pos": "tests_positive_n", "n_neg": "tests_negative_n"}
        )
        consultations = self._covid_consultations(code)
        hospital = _hospital_weekly(self.reference_dir) if code == NATION else None
        cases_signal = self._covid_signal("covid19_cases", code, "cases")
        consultation_signal = self._covid_signal("covid19", code, "consultation")
        frames = [f for f in (rates, lab, consultations, hospital) if f is not None]
        dates = pl.concat([f.select("date") for f in frames]).unique()
        table = dates
        for frame in (*frames, cases_signal, consultation_signal):
            if frame is not None and frame.height:
                table = table.join(frame, on=keys, how="left", maintain_order="left")
        table = table.sort("date")
        table = table.with_columns(
            _incomplete(table, "consultations_all_n").alias("possibly_incomplete"),
            *_week_columns(),
        )
        return _with_columns(table, COVID_COLUMNS)

    def _covid_consultations(self, code: str) -> pl.DataFrame | None:
        """Return covid consultations (R991 + R992) and all consultations per week, age total."""
        dimensions = self.store.dimensions()
        if COVID_SYNDROME not in dimensions["syndromes"] or code not in dimensions["locations"]:
            return None
        frame = (
            self.store.consultations(Frequency.WEEKLY)
            .filter(
                pl.col("location_code") == code,
                pl.col("age") == AgeGroup.TOTAL.value,
                pl.col("syndrome") == COVID_SYNDROME,
            )
            .collect()
        )
        share = metrics.covid_consultation_share(frame)
        return share.select(
            "date",
            pl.col("n").alias("consultations_covid_n"),
            pl.col("denominator").alias("consultations_all_n"),
            pl.col("share_percent").alias("consultation_share_percent"),
        )

    def _covid_signal(self, method: str, code: str, prefix: str) -> pl.DataFrame | None:
        frame = self.store.results(method, Frequency.WEEKLY)
        names = frame.collect_schema().names()
        if "location_code" not in names:
            return None
        wanted = pl.col("location_code") == code
        if "age" in names:
            wanted &= pl.col("age") == AgeGroup.TOTAL.value
        return (
            frame.filter(wanted)
            .select(
                "date",
                pl.col("status").alias(f"{prefix}_signal"),
                pl.col("expected").alias(f"{prefix}_expected"),
                pl.col("threshold4").alias(f"{prefix}_threshold"),
            )
            .collect()
        )

    def _signals(self, code: str, incomplete: pl.DataFrame) -> pl.DataFrame:
        """Return the location's signals; ``incomplete`` flags weeks (date, possibly_incomplete)."""
        frame = self._signal_results()
        if frame is None:
            return _with_columns(pl.DataFrame(), SIGNAL_COLUMNS)
        rows = frame.filter(
            pl.col("location_code") == code,
            ~pl.col("syndrome").is_in([COVID_SYNDROME, *_COVID_PARTS]),
        ).collect()
        if rows.height == 0:
            return _with_columns(rows, SIGNAL_COLUMNS)
        last = rows["date"].max()
        assert isinstance(last, dt.date)
        rows = rows.filter(pl.col("date") > last - dt.timedelta(weeks=SIGNAL_WEEKS)).with_columns(
            _week_columns()
        )
        rows = rows.join(incomplete, on="date", how="left", maintain_order="left")
        rank = pl.col("status").replace_strict(
            {"high": 0, "medium": 1, "normal": 2}, default=3, return_dtype=pl.Int8
        )
        ordered = rows.sort(
            [pl.col("date"), rank, pl.col("syndrome"), pl.col("age")],
            descending=[True, False, False, False],
        )
        return _with_columns(ordered, SIGNAL_COLUMNS)

    def _comparison(self, compared: list[tuple[Location, str]]) -> pl.DataFrame:
        roles = pl.DataFrame(
            {
                "location_code": [loc.code for loc, _ in compared],
                "name": [loc.name for loc, _ in compared],
                "role": [role for _, role in compared],
            }
        )
        rates = self._rates(self._cases(roles["location_code"].to_list()))
        return (
            roles.join(rates, on="location_code", how="inner")
            .with_columns(_week_columns()[0])
            .select(
                "location_code",
                "name",
                "role",
                "week",
                "date",
                "n",
                "per_100k",
                "n_14d",
                "per_100k_14d",
            )
            .sort("date", "role", "name")
        )

    def _sources(self, code: str) -> dict[str, Source]:
        def stamp(table: str) -> dt.date | None:
            at = self.store.last_ingest(table)
            return at.date() if at else None

        def last(frame: pl.LazyFrame) -> dt.date | None:
            value = frame.filter(pl.col("location_code") == code).select(pl.col("date").max())
            got = value.collect().item()
            return got if isinstance(got, dt.date) else None

        out = {
            "cases": Source("MSIS, FHI", last(self.store.cases(Frequency.WEEKLY)), stamp("cases")),
            "population": Source("SSB 07459", None, None),
            "tests": Source(
                "FHI (laboratory data)",
                last(self.store.lab_tests(Frequency.WEEKLY)),
                stamp("lab_tests"),
            ),
            "consultations": Source("KUHR (NorSySS)", None, stamp("consultations")),
            "signals": Source("Sykdomspulsen, FHI", None, stamp("results")),
        }
        if code == NATION:
            hospital = _hospital_weekly(self.reference_dir)
            out["hospital"] = Source(
                "FHI (hospital admissions)",
                hospital["date"].max() if hospital.height else None,  # type: ignore[arg-type]
                None,
            )
        return out


def _week_columns() -> list[pl.Expr]:
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


def _with_columns(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Return ``frame`` with exactly ``columns`` in order (missing ones as nulls)."""
    return frame.with_columns(
        pl.lit(None).alias(c) for c in columns if c not in frame.columns
    ).select(columns)


def _incomplete(frame: pl.DataFrame, totals: str) -> pl.Series:
    """Flag weeks whose consultation total falls far below usual (holiday weeks excepted)."""
    if totals not in frame.columns or frame.height == 0:
        return pl.Series("possibly_incomplete", [False] * frame.height, dtype=pl.Boolean)
    ordered = frame.select("date", totals).with_row_index("_row").sort("date")
    first, last = ordered["date"].min(), ordered["date"].max()
    assert isinstance(first, dt.date) and isinstance(last, dt.date)
    holidays = weekly_holiday_covariate(first, last).select("date", "holiday")
    joined = ordered.join(holidays, on="date", how="left", maintain_order="left")
    values = joined[totals].cast(pl.Float64).fill_null(np.nan).to_numpy()[None, :]
    holiday = (joined["holiday"].fill_null(0) > 0).to_numpy()
    reported = np.flatnonzero(np.isfinite(values[0]))
    # Only weeks inside the reported period are judged: after the last delivery a week is
    # not incomplete, it has not arrived yet.
    inside = np.zeros(values.shape[1], dtype=bool)
    if reported.size:
        inside[reported[0] : reported[-1] + 1] = True
    flags = possibly_incomplete(values, holiday)[0] & inside
    out = np.zeros(frame.height, dtype=bool)
    out[joined["_row"].to_numpy()] = flags
    return pl.Series("possibly_incomplete", out)


@cache
def _hospital_weekly(reference_dir: Path) -> pl.DataFrame:
    """Return FHI's national hospital admissions (main cause covid-19) summed per ISO week."""
    path = reference_dir / _HOSPITAL_FILE
    if not path.exists():
        return pl.DataFrame(schema={"date": pl.Date, "hospital_admissions_n": pl.Int64})
    raw = pl.read_csv(path, infer_schema=False)
    daily = raw.select(
        pl.col("date").str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        pl.col("n_hospital_main_cause").cast(pl.Int64, strict=False),
    ).drop_nulls("date")
    return (
        daily.with_columns(pl.col("date") + pl.duration(days=7 - pl.col("date").dt.weekday()))
        .group_by("date")
        .agg(pl.col("n_hospital_main_cause").sum().alias("hospital_admissions_n"))
        .sort("date")
    )
