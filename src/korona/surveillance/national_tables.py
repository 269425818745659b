"""One store generation's figures for every location, read once and split by location.

The location pages and the map read these instead of the store: each table is read and
computed once for the whole country (vectorised), then partitioned by location, so a view
takes its own rows with a dictionary lookup. The national public masks are built from the
same frames, so every figure of a snapshot belongs to one generation.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

import polars as pl

from korona.surveillance import disclosure, metrics
from korona.surveillance.calendar import Frequency
from korona.surveillance.completeness import incomplete_by_location
from korona.surveillance.geo import NATION, AgeGroup, Geography, population_file_year
from korona.surveillance.location_model import (
    COVID_COLUMNS,
    COVID_PARTS,
    COVID_SYNDROME,
    RATE_VALUES,
    SIGNAL_COLUMNS,
    SIGNAL_METHODS,
    SIGNAL_WEEKS,
    Source,
    week_columns,
    with_columns,
)
from korona.surveillance.store import SurveillanceStore
from korona.surveillance.store.layout import Table

__all__ = [
    "RATE_COLUMNS",
    "NationalTables",
    "TableParts",
    "hospital_weekly",
    "signal_results",
]

_log = logging.getLogger(__name__)

T = TypeVar("T")
_HOSPITAL_FILE = Path("covid19") / "data_covid19_hospital_by_time_latest.csv"
_KEYS = ["location_code", "date"]
#: Columns of the rates table (one row per location and week).
RATE_COLUMNS = ("location_code", "date", *RATE_VALUES)


@dataclass(frozen=True)
class TableParts:
    """What a generation's tables are computed to, before they are split by location: what
    :class:`TableCache` keeps on disk so that other processes need not compute it again."""

    generation: int
    rates_all: pl.DataFrame
    covid: pl.DataFrame  # location_code + COVID_COLUMNS, by location, oldest week first
    signals: pl.DataFrame  # location_code + SIGNAL_COLUMNS, by location, latest week first
    mask_cases: pl.DataFrame
    mask_consultations: pl.DataFrame | None
    mask_signals: pl.DataFrame | None
    sources: dict[str, dict[str, Source]]


class NationalTables:
    """The covid tables, signals, rates, sources and public masks of one store generation.

    ``covid[code]``: the location's covid table (``COVID_COLUMNS``, oldest week first);
    ``signals[code]``: its signals (``SIGNAL_COLUMNS``, latest week first, high first);
    ``rates[code]``: weekly cases with rates (``RATE_COLUMNS``); ``rates_all``: the same for
    every location in one frame; ``sources[code]``; ``masks``: the national suppression.
    A location without rows gets an empty frame of the same columns. ``parts``: the same
    computed before (read from a :class:`TableCache`) instead of from the store;
    ``on_parts`` is given what was computed (to keep it in such a cache).
    """

    def __init__(
        self,
        store: SurveillanceStore,
        reference_dir: Path,
        geography: Geography,
        *,
        parts: TableParts | None = None,
        on_parts: Callable[[TableParts], object] | None = None,
    ):
        self.store = store
        #: Views built from these tables, filled by the reader: (code, public) → LocationView.
        self.views: dict = {}
        self._derived: dict[str, object] = {}
        self._derive_lock = threading.Lock()
        self.reference_dir = Path(reference_dir)
        self.geography = geography
        if parts is None:
            parts = self._compute(store)
            if on_parts is not None:
                on_parts(parts)
        self.generation = parts.generation
        self.rates_all = parts.rates_all
        self.masks = disclosure.PublicMasks(
            parts.mask_cases, parts.mask_consultations, parts.mask_signals
        )
        self.covid = _split(parts.covid, COVID_COLUMNS)
        self.signals = _split(parts.signals, SIGNAL_COLUMNS)
        self.rates = _split(self.rates_all, RATE_COLUMNS[1:])
        self.sources = parts.sources
        self._empty = {
            # Typed like a location's rows: a page of a location without figures joins them
            # with the masks on ``date``, which a column of nulls cannot be joined on.
            "covid": parts.covid.clear().select(COVID_COLUMNS),
            "signals": parts.signals.clear().select(SIGNAL_COLUMNS),
            "rates": self.rates_all.clear().drop("location_code"),
        }

    @property
    def simulated_consultations(self) -> bool:
        """Whether the consultations (and so the signals) include simulated ones."""
        source = self.sources.get(NATION, {}).get("consultations")
        return source is not None and source.simulated

    def _compute(self, store: SurveillanceStore) -> TableParts:
        generation = store.generation
        cases = (
            store.cases(Frequency.WEEKLY).select("location_code", "date", "n").sort(_KEYS).collect()
        )
        rates_all = _rates(cases, self.geography).select(RATE_COLUMNS)
        consultations = _covid_consultations(store)
        signal_rows, mask_signals = _signal_rows(store)
        mask_consultations = None if consultations is None else _mask_consultations(consultations)
        covid = self._covid(store, rates_all, consultations)
        flags = covid.select("location_code", "date", "possibly_incomplete")
        return TableParts(
            generation=generation,
            rates_all=rates_all,
            covid=covid,
            signals=_signals(signal_rows, flags),
            mask_cases=disclosure.PublicMasks.cases_mask(cases),
            mask_consultations=disclosure.PublicMasks.consultations_mask(mask_consultations),
            mask_signals=disclosure.PublicMasks.signals_mask(mask_signals),
            sources=self._sources(store, cases),
        )

    def derived(self, name: str, build: Callable[[NationalTables], T]) -> T:
        """Return what ``build`` makes of these tables (the map's tables, …), built once: a
        caller arriving during the build waits for it."""
        if name in self._derived:
            return self._derived[name]  # type: ignore[return-value]
        with self._derive_lock:
            if name not in self._derived:
                self._derived[name] = build(self)
            return self._derived[name]  # type: ignore[return-value]

    def covid_of(self, code: str) -> pl.DataFrame:
        """Return a location's covid table (empty if the store has no figures for it)."""
        return self.covid.get(code, self._empty["covid"])

    def signals_of(self, code: str) -> pl.DataFrame:
        """Return a location's signals (empty if none)."""
        return self.signals.get(code, self._empty["signals"])

    def rates_of(self, codes: list[str]) -> pl.DataFrame:
        """Return the rates of ``codes`` in one frame (with location_code)."""
        parts = [
            self.rates[code].with_columns(pl.lit(code).alias("location_code"))
            for code in codes
            if code in self.rates
        ]
        if not parts:
            return self.rates_all.clear()
        return pl.concat(parts).select(RATE_COLUMNS)

    def _covid(
        self, store: SurveillanceStore, rates: pl.DataFrame, consultations: pl.DataFrame | None
    ) -> pl.DataFrame:
        lab = (
            store.lab_tests(Frequency.WEEKLY)
            .select("location_code", "date", "n_pos", "n_neg")
            .collect()
        )
        lab = metrics.positivity(lab).rename(
            {"n_pos": "tests_positive_n", "n_neg": "tests_negative_n"}
        )
        share = None
        if consultations is not None:
            share = metrics.covid_consultation_share(consultations).select(
                "location_code",
                "date",
                pl.col("n").alias("consultations_covid_n"),
                pl.col("denominator").alias("consultations_all_n"),
                pl.col("share_percent").alias("consultation_share_percent"),
            )
        hospital = hospital_weekly(self.reference_dir).with_columns(
            pl.lit(NATION).alias("location_code")
        )
        frames = [f for f in (rates, lab, share, hospital) if f is not None]
        table = pl.concat([f.select(_KEYS) for f in frames]).unique()
        signals = [
            _covid_signal(store, "covid19_cases", "cases"),
            _covid_signal(store, "covid19", "consultation"),
        ]
        for frame in (*frames, *signals):
            if frame is not None and frame.height:
                table = table.join(frame, on=_KEYS, how="left", maintain_order="left")
        table = table.sort(_KEYS)
        table = table.with_columns(
            incomplete_by_location(table, "consultations_all_n").alias("possibly_incomplete"),
            *week_columns(),
        )
        return with_columns(table, ("location_code", *COVID_COLUMNS))

    def _sources(self, store: SurveillanceStore, cases: pl.DataFrame) -> dict[str, dict]:
        def stamp(table: str) -> dt.date | None:
            at = store.last_ingest(table)
            return at.date() if at else None

        def last(frame: pl.DataFrame) -> dict[str, dt.date]:
            latest = frame.group_by("location_code").agg(pl.col("date").max())
            return dict(zip(latest["location_code"], latest["date"], strict=True))

        case_last = last(cases)
        lab_last = last(store.lab_tests(Frequency.WEEKLY).select(_KEYS).collect())
        stamps = {t: stamp(t) for t in ("cases", "lab_tests", "consultations", "results")}
        kuhr = {"simulated": store.holds_simulated(Table.CONSULTATIONS)}  # signals come from it
        hospital = hospital_weekly(self.reference_dir)
        out = {}
        for code in self.geography.location_codes:
            sources = {
                "cases": Source("MSIS, FHI", case_last.get(code), stamps["cases"]),
                "population": Source("SSB 07459", None, None),
                "tests": Source("FHI (laboratory data)", lab_last.get(code), stamps["lab_tests"]),
                "consultations": Source("KUHR (NorSySS)", None, stamps["consultations"], **kuhr),
                "signals": Source("Sykdomspulsen, FHI", None, stamps["results"], **kuhr),
            }
            if code == NATION:
                sources["hospital"] = Source(
                    "FHI (hospital admissions)",
                    hospital["date"].max() if hospital.height else None,  # type: ignore[arg-type]
                    None,
                )
            out[code] = sources
        return out


def _split(frame: pl.DataFrame, columns: tuple[str, ...]) -> dict[str, pl.DataFrame]:
    """Return each location's rows of ``frame`` (in the frame's order) without its code."""
    return {
        str(key[0]): part.select(columns)
        for key, part in frame.partition_by(
            "location_code", as_dict=True, maintain_order=True
        ).items()
    }


def _rates(cases: pl.DataFrame, geography: Geography) -> pl.DataFrame:
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
    population = geography.population(years).filter(pl.col("age") == AgeGroup.TOTAL.value)
    weekly = metrics.cases_per_100k(cases, population)
    fortnight = metrics.cases_per_100k(cases, population, window_days=14).select(
        *_KEYS, pl.col("n_window").alias("n_14d"), pl.col("per_100k").alias("per_100k_14d")
    )
    share = metrics.cumulative_share_infected(cases, population).select(
        *_KEYS, "cumulative_n", "share_infected_percent"
    )
    file_years = {year: population_file_year(year) for year in years}
    return (
        weekly.drop("n_window")
        .join(fortnight, on=_KEYS, how="left", maintain_order="left")
        .join(share, on=_KEYS, how="left", maintain_order="left")
        .with_columns(
            pl.col("date")
            .dt.iso_year()
            .replace_strict(file_years, return_dtype=pl.Int64)
            .alias("population_year")
        )
    )


def _covid_consultations(store: SurveillanceStore) -> pl.DataFrame | None:
    """Return every location's covid19 consultations (age total) per contact type and week."""
    if COVID_SYNDROME not in store.dimensions()["syndromes"]:
        return None
    return (
        store.consultations(Frequency.WEEKLY)
        .filter(pl.col("age") == AgeGroup.TOTAL.value, pl.col("syndrome") == COVID_SYNDROME)
        .select("location_code", "age", "syndrome", "contact_type", "date", "n", "denominator")
        .collect()
    )


def _mask_consultations(consultations: pl.DataFrame) -> pl.DataFrame:
    """Return the published consultation totals per location and week (every contact type)."""
    return (
        consultations.group_by(_KEYS)
        .agg(pl.col("n").sum().alias("covid_n"), pl.col("denominator").sum().alias("all_n"))
        .sort(_KEYS)
    )


def _covid_signal(store: SurveillanceStore, method: str, prefix: str) -> pl.DataFrame | None:
    frame = store.results(method, Frequency.WEEKLY)
    names = frame.collect_schema().names()
    if "location_code" not in names:
        return None
    if "age" in names:
        frame = frame.filter(pl.col("age") == AgeGroup.TOTAL.value)
    return frame.select(
        *_KEYS,
        pl.col("status").alias(f"{prefix}_signal"),
        pl.col("expected").alias(f"{prefix}_expected"),
        pl.col("threshold4").alias(f"{prefix}_threshold"),
    ).collect()


def signal_results(store: SurveillanceStore) -> pl.LazyFrame | None:
    """Return the stored weekly results of the first signal method that has any."""
    for method in SIGNAL_METHODS:
        frame = store.results(method, Frequency.WEEKLY)
        if "location_code" in frame.collect_schema().names():
            return frame
    return None


def _signal_rows(store: SurveillanceStore) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """Return the other syndromes' last weeks: per location from its own latest week (the
    signals tables), and nationally from the latest week of any result (the public masks)."""
    frame = signal_results(store)
    if frame is None:
        return None, None
    national_last = frame.select(pl.col("date").max()).collect().item()
    if national_last is None:
        return None, None
    others = frame.filter(~pl.col("syndrome").is_in([COVID_SYNDROME, *COVID_PARTS]))
    last = others.group_by("location_code").agg(pl.col("date").max().alias("_last")).collect()
    if last.height == 0:
        return None, None
    earliest = min(national_last, last["_last"].min())
    recent = others.filter(pl.col("date") > earliest - dt.timedelta(weeks=SIGNAL_WEEKS)).collect()
    masks = recent.filter(pl.col("date") > national_last - dt.timedelta(weeks=SIGNAL_WEEKS)).select(
        "location_code", "age", "syndrome", "date", "n"
    )
    window = pl.col("date") > pl.col("_last") - pl.duration(weeks=SIGNAL_WEEKS)
    rows = recent.join(last, on="location_code").filter(window).drop("_last")
    return rows, masks


def _signals(rows: pl.DataFrame | None, incomplete: pl.DataFrame) -> pl.DataFrame:
    """Return every location's signals with the completeness flag of the week, latest week
    first and within a week high signals first."""
    if rows is None or rows.height == 0:
        return with_columns(pl.DataFrame(), ("location_code", *SIGNAL_COLUMNS)).clear()
    rows = rows.with_columns(week_columns()).join(
        incomplete, on=_KEYS, how="left", maintain_order="left"
    )
    rank = pl.col("status").replace_strict(
        {"high": 0, "medium": 1, "normal": 2}, default=3, return_dtype=pl.Int8
    )
    ordered = rows.sort(
        [pl.col("location_code"), pl.col("date"), rank, pl.col("syndrome"), pl.col("age")],
        descending=[False, True, False, False, False],
    )
    return with_columns(ordered, ("location_code", *SIGNAL_COLUMNS))


@cache
def hospital_weekly(reference_dir: Path) -> pl.DataFrame:
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
