"""The map's read model: share infected, 14-day incidence and signal status per municipality."""

from __future__ import annotations

import functools
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import polars as pl

from korona.surveillance.calendar import Frequency
from korona.surveillance.colours import (
    INCIDENCE_14D_BREAKS,
    STATUS_COLOURS,
    ColourScale,
    LegendEntry,
    quantile_scale,
)
from korona.surveillance.geo import load_geography
from korona.surveillance.metrics import (
    SUPPRESSED_LABEL,
    cases_per_100k,
    cumulative_share_infected,
    suppress_small_cells,
)
from korona.surveillance.series import Status
from korona.surveillance.store import SurveillanceStore
from korona.surveillance.store.files import MANIFEST

__all__ = [
    "ANY_SYNDROME",
    "NO_DATA_FILL",
    "SIGNAL_METHOD",
    "SUPPRESSED_FILL",
    "Indicator",
    "MapError",
    "MapRow",
    "MapTables",
    "MapView",
    "map_tables",
    "map_view",
]

#: The signal status of the worst syndrome, the map's default.
ANY_SYNDROME = "any"
#: The detector whose weekly results colour the signal map.
SIGNAL_METHOD = "sykdomspulsen"
#: Municipalities whose figure is hidden (counts 1–4) and those without a figure.
SUPPRESSED_FILL = "#ffffff"
NO_DATA_FILL = "#d9d9d9"
_STATUS_RANK = {Status.NORMAL.value: 0, Status.MEDIUM.value: 1, Status.HIGH.value: 2}
_COUNTS = ("n", "cases_14d_n", "cumulative_n")


class Indicator(StrEnum):
    """What the map colours municipalities by."""

    SHARE_INFECTED = "share_infected"
    INCIDENCE_14D = "incidence_14d"
    SIGNAL = "signal"


class MapError(ValueError):
    """A week, county or syndrome the store has no figures for.

    ``message`` is an English template with ``{name}`` placeholders filled from ``params``
    (the web translates the template before filling it in).
    """

    def __init__(self, message: str, **params: str) -> None:
        self.message = message
        self.params = params
        super().__init__(message.format(**params))


@dataclass(frozen=True, eq=False)
class MapTables:
    """Every week's figures per municipality, computed once per store generation.

    Compared and hashed by identity, so a rendered map can be cached per generation.

    ``cases``: week → one row per municipality: location_code, county_code, population, n
    (cases that week), cases_14d_n, incidence_14d (per 100 000), cumulative_n,
    share_infected_percent, and per count ``<count>_suppressed`` (the public's suppression,
    complementary within each county). ``signals``: (week, syndrome) → location_code,
    county_code, n, status; syndrome ``any`` holds the worst status of all syndromes.
    """

    cases: Mapping[str, pl.DataFrame]
    signals: Mapping[tuple[str, str], pl.DataFrame]
    syndromes: tuple[str, ...]
    names: Mapping[str, str]
    county_names: Mapping[str, str]

    @property
    def case_weeks(self) -> tuple[str, ...]:
        """Return the ISO weeks with case figures, oldest first."""
        return tuple(sorted(self.cases))

    @property
    def signal_weeks(self) -> tuple[str, ...]:
        """Return the ISO weeks with signals, oldest first."""
        return tuple(sorted({week for week, _ in self.signals}))


@dataclass(frozen=True, slots=True)
class MapRow:
    """One municipality on the map and in its table; counts are ints or "<5" when hidden."""

    location_code: str
    name: str
    county_code: str
    county_name: str
    population: int | None
    value: float | str | None
    fill: str
    n: int | str | None = None
    cases_14d_n: int | str | None = None
    cumulative_n: int | str | None = None
    incidence_14d: float | str | None = None
    share_infected_percent: float | str | None = None
    status: str | None = None
    suppressed: bool = False

    @property
    def number(self) -> str:
        """Return the municipality number (``"4601"``)."""
        return self.location_code.removeprefix("municip")


@dataclass(frozen=True)
class MapView:
    """What one map shows: the indicator, week, colour legend and one row per municipality."""

    indicator: Indicator
    week: str | None
    weeks: tuple[str, ...]
    syndrome: str
    county: str | None
    legend: tuple[LegendEntry, ...]
    rows: tuple[MapRow, ...]


_lock = threading.Lock()
_cached: dict[tuple[Path, Path], tuple[tuple[int, ...], MapTables]] = {}


def _generation(root: Path) -> tuple[int, ...]:
    """Return what changes with every commit of the store (the manifest is replaced)."""
    try:
        stat = (root / MANIFEST).stat()
    except FileNotFoundError:
        return (0,)
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def map_tables(store: SurveillanceStore, reference_dir: Path) -> MapTables:
    """Return the map's tables for the store's current commit (built once, then shared).

    Safe across threads: one request builds a generation's tables while the others wait.
    """
    key = (store.root.resolve(), Path(reference_dir).resolve())
    generation = _generation(store.root)
    hit = _cached.get(key)
    if hit is not None and hit[0] == generation:
        return hit[1]
    with _lock:
        hit = _cached.get(key)
        if hit is not None and hit[0] == generation:
            return hit[1]
        tables = _build(store, Path(reference_dir))
        _cached[key] = (generation, tables)
        return tables


def _build(store: SurveillanceStore, reference_dir: Path) -> MapTables:
    geography = load_geography(reference_dir)
    municipalities = geography.municipalities.select("location_code", "county_code")
    cases = (
        store.cases(Frequency.WEEKLY)
        .filter(pl.col("location_code").str.starts_with("municip"))
        .select("location_code", "date", "week", pl.col("n").fill_null(0))
        .collect()
    )
    by_week: dict[str, pl.DataFrame] = {}
    if cases.height:
        years = sorted(set(cases["date"].dt.iso_year().unique().to_list()))
        population = geography.population(years)
        frame = cases_per_100k(cases, population, window_days=14).rename(
            {"n_window": "cases_14d_n", "per_100k": "incidence_14d"}
        )
        shares = cumulative_share_infected(cases, population).select(
            "location_code", "date", "cumulative_n", "share_infected_percent"
        )
        frame = frame.join(shares, on=["location_code", "date"]).join(
            municipalities, on="location_code"
        )
        for count in _COUNTS:
            frame = suppress_small_cells(frame, count, by=["county_code", "week"]).drop(
                f"{count}_display"
            )
        frame = frame.select(
            "location_code",
            "county_code",
            "week",
            "population",
            *_COUNTS,
            "incidence_14d",
            "share_infected_percent",
            *(f"{count}_suppressed" for count in _COUNTS),
        )
        by_week = {
            str(week): part.drop("week")
            for (week,), part in frame.partition_by("week", as_dict=True).items()
        }
    signals, syndromes = _signals(store, municipalities)
    return MapTables(
        cases=by_week,
        signals=signals,
        syndromes=syndromes,
        names=geography.names(),
        county_names=dict(
            zip(
                geography.counties["location_code"],
                geography.counties["location_name"],
                strict=True,
            )
        ),
    )


def _signals(
    store: SurveillanceStore, municipalities: pl.DataFrame
) -> tuple[dict[tuple[str, str], pl.DataFrame], tuple[str, ...]]:
    """Return each week's and syndrome's municipal signals (age total) and the syndromes."""
    results = store.results(SIGNAL_METHOD, Frequency.WEEKLY)
    if not results.collect_schema().names():
        return {}, ()
    frame = (
        results.filter(pl.col("age") == "total", pl.col("location_code").str.starts_with("municip"))
        .select("location_code", "syndrome", "week", pl.col("n").fill_null(0), "status")
        .collect()
        .join(municipalities, on="location_code")
    )
    if frame.height == 0:
        return {}, ()
    frame = suppress_small_cells(frame, "n", by=["county_code", "syndrome", "week"]).drop(
        "n_display"
    )
    worst = (
        frame.with_columns(pl.col("status").replace_strict(_STATUS_RANK, default=0).alias("rank"))
        .group_by("location_code", "county_code", "week")
        .agg(pl.col("status").sort_by("rank").last())
        .with_columns(
            pl.lit(ANY_SYNDROME).alias("syndrome"),
            pl.lit(None, pl.Int64).alias("n"),
            pl.lit(False).alias("n_suppressed"),
        )
    )
    frame = pl.concat([frame, worst.select(frame.columns)])
    parts = frame.partition_by("week", "syndrome", as_dict=True)
    syndromes = tuple(sorted(frame["syndrome"].unique().to_list()))
    return {
        (str(week), str(syndrome)): part.drop("week", "syndrome").sort("location_code")
        for (week, syndrome), part in parts.items()
    }, tuple(s for s in syndromes if s != ANY_SYNDROME)


def map_view(
    tables: MapTables,
    indicator: Indicator,
    *,
    week: str | None = None,
    county: str | None = None,
    syndrome: str = ANY_SYNDROME,
    full_detail: Collection[str] = frozenset(),
) -> MapView:
    """Return the figures one map shows (see :func:`_map_view`); the same question to the
    same tables is answered from a cache, so concurrent map requests share the work."""
    return _map_view(tables, indicator, week, county, syndrome, frozenset(full_detail))


@functools.lru_cache(maxsize=256)
def _map_view(
    tables: MapTables,
    indicator: Indicator,
    week: str | None,
    county: str | None,
    syndrome: str,
    full_detail: frozenset[str],
) -> MapView:
    """Return the figures one map shows, suppressed except for ``full_detail`` municipalities.

    Parameters
    ----------
    tables:
        From :func:`map_tables`.
    indicator:
        Share infected (cumulative, percent), 14-day incidence per 100 000 or signal status.
    week:
        ISO week (``"2021-W52"``); None takes the latest week with figures.
    county:
        County code (``"county46"``) to show only its municipalities, or None for Norway.
    syndrome:
        The signal's syndrome, or ``"any"`` for the worst status of all syndromes.
    full_detail:
        Municipality codes the viewer may see unsuppressed (a municipal doctor's own
        municipality and its neighbours); everyone else gets counts 1–4 as "<5" and no rate
        computed from them, with complementary suppression within each county.
    """
    if county is not None and county not in tables.county_names:
        raise MapError("Unknown county {county}; counties are county03 to county54.", county=county)
    signal = indicator is Indicator.SIGNAL
    if signal and syndrome != ANY_SYNDROME and syndrome not in tables.syndromes:
        raise MapError(
            "Unknown syndrome {syndrome}; choose one of: {choices}.",
            syndrome=syndrome,
            choices=", ".join((ANY_SYNDROME, *tables.syndromes)),
        )
    weeks = tables.signal_weeks if signal else tables.case_weeks
    if week is None and weeks:
        week = weeks[-1]
    if week is not None and weeks and week not in weeks:
        raise MapError(
            "No figures for week {week}; weeks run from {first} to {last}.",
            week=week,
            first=weeks[0],
            last=weeks[-1],
        )
    if week is None or not weeks:
        return MapView(indicator, None, weeks, syndrome, county, (), ())
    if signal:
        rows, legend = _signal_rows(tables, week, syndrome, full_detail)
    else:
        rows, legend = _case_rows(tables, indicator, week, full_detail)
    if county is not None:
        rows = [row for row in rows if row.county_code == county]
    return MapView(indicator, week, weeks, syndrome, county, legend, tuple(rows))


def _case_rows(
    tables: MapTables, indicator: Indicator, week: str, full_detail: Collection[str]
) -> tuple[list[MapRow], tuple[LegendEntry, ...]]:
    frame = tables.cases[week]
    rate = "share_infected_percent" if indicator is Indicator.SHARE_INFECTED else "incidence_14d"
    hides_rate = (
        "cumulative_n_suppressed"
        if rate == "share_infected_percent"
        else ("cases_14d_n_suppressed")
    )
    public = frame.filter(~pl.col(hides_rate))[rate].drop_nulls().to_numpy()
    # The scale comes from the figures the public sees, so its breaks reveal nothing hidden.
    scale = (
        quantile_scale(public)
        if indicator is Indicator.SHARE_INFECTED
        else ColourScale(INCIDENCE_14D_BREAKS)
    )
    rows = []
    for record in frame.iter_rows(named=True):
        code = record["location_code"]
        open_ = code in full_detail

        def shown(count: str, record: dict = record, open_: bool = open_) -> int | str | None:
            if record[count] is None:
                return None
            return (
                SUPPRESSED_LABEL if record[f"{count}_suppressed"] and not open_ else record[count]
            )

        def rate_of(name: str, count: str, record: dict = record, open_: bool = open_):
            hidden = record[f"{count}_suppressed"] and not open_
            return SUPPRESSED_LABEL if hidden else _rounded(record[name])

        value = rate_of(rate, hides_rate.removesuffix("_suppressed"))
        rows.append(
            MapRow(
                location_code=code,
                name=tables.names.get(code, code),
                county_code=record["county_code"],
                county_name=tables.county_names.get(record["county_code"], ""),
                population=record["population"],
                value=value,
                fill=_fill(value, scale),
                n=shown("n"),
                cases_14d_n=shown("cases_14d_n"),
                cumulative_n=shown("cumulative_n"),
                incidence_14d=rate_of("incidence_14d", "cases_14d_n"),
                share_infected_percent=rate_of("share_infected_percent", "cumulative_n"),
                suppressed=value == SUPPRESSED_LABEL,
            )
        )
    return rows, scale.legend()


def _signal_rows(
    tables: MapTables, week: str, syndrome: str, full_detail: Collection[str]
) -> tuple[list[MapRow], tuple[LegendEntry, ...]]:
    frame = tables.signals.get((week, syndrome))
    rows = []
    for record in frame.iter_rows(named=True) if frame is not None else ():
        code = record["location_code"]
        hidden = record["n_suppressed"] and code not in full_detail
        status = record["status"]
        rows.append(
            MapRow(
                location_code=code,
                name=tables.names.get(code, code),
                county_code=record["county_code"],
                county_name=tables.county_names.get(record["county_code"], ""),
                population=None,
                value=status,
                fill=STATUS_COLOURS.get(Status(status), NO_DATA_FILL) if status else NO_DATA_FILL,
                n=SUPPRESSED_LABEL if hidden else record["n"],
                status=status,
            )
        )
    legend = tuple(LegendEntry(colour, None, None) for colour in STATUS_COLOURS.values())
    return rows, legend


def _fill(value: float | str | None, scale: ColourScale) -> str:
    if value == SUPPRESSED_LABEL:
        return SUPPRESSED_FILL
    if value is None or isinstance(value, str) or not np.isfinite(value):
        return NO_DATA_FILL
    return scale.colour(value) or NO_DATA_FILL


def _rounded(value: float | None) -> float | None:
    """Return a rate with three significant decimals' worth of precision for display."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), 3)
