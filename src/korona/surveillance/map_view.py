"""The map's read model: share infected, 14-day incidence and signal status per municipality."""

from __future__ import annotations

import functools
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

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
from korona.surveillance.disclosure import COMPLEMENTARY_LABEL, LABEL_SUFFIX, PublicMasks
from korona.surveillance.geo import load_geography
from korona.surveillance.metrics import (
    SUPPRESSED_LABEL,
    cases_per_100k,
    cumulative_share_infected,
)
from korona.surveillance.series import Status
from korona.surveillance.store import SurveillanceStore

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
    share_infected_percent, and per count ``<count>_hidden`` and ``<count>_label`` (what the
    public sees, from the national masks). ``signals``: (week, syndrome) → location_code,
    county_code, n, n_hidden, n_label, status, public_status; syndrome ``any`` holds the
    worst status of all syndromes.
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
    """One municipality on the map and in its table; a hidden count is "<5" or ":"."""

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
_cached: dict[tuple[Path, Path], tuple[int, PublicMasks, MapTables]] = {}


def map_tables(store: SurveillanceStore, reference_dir: Path, masks: PublicMasks) -> MapTables:
    """Return the map's tables for the store's current commit (built once, then shared).

    ``masks`` is the national suppression of the same commit
    (:meth:`SurveillanceReader.public_masks`): the map hides exactly the cells the location
    pages hide, so that the two together give nothing back. Safe across threads: one request
    builds a generation's tables while the others wait.
    """
    key = (store.root.resolve(), Path(reference_dir).resolve())
    generation = store.generation
    hit = _cached.get(key)
    if hit is not None and hit[0] == generation and hit[1] is masks:
        return hit[2]
    with _lock:
        hit = _cached.get(key)
        if hit is not None and hit[0] == generation and hit[1] is masks:
            return hit[2]
        tables = _build(store, Path(reference_dir), masks)
        _cached[key] = (generation, masks, tables)
        return tables


def _label(count: str, hidden: pl.Expr) -> pl.Expr:
    """Return the public label of a hidden count: "<5" for 1–4, ":" for a complementary cell."""
    return (
        pl.when(~hidden)
        .then(None)
        .when(pl.col(count).is_between(1, 4))
        .then(pl.lit(SUPPRESSED_LABEL))
        .otherwise(pl.lit(COMPLEMENTARY_LABEL))
    )


def _build(store: SurveillanceStore, reference_dir: Path, masks: PublicMasks) -> MapTables:
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
        weekly = masks.cases.filter(pl.col("date").is_not_null())
        totals = masks.cases.filter(pl.col("date").is_null()).select(
            "location_code", pl.col("n_hidden").alias("total_hidden")
        )
        hidden = pl.col("n_hidden")
        frame = (
            frame.join(shares, on=["location_code", "date"])
            .join(municipalities, on="location_code")
            .join(weekly, on=["location_code", "date"], how="left")
            .join(totals, on="location_code", how="left")
            .sort("location_code", "date")
            .with_columns(hidden.fill_null(False), pl.col("total_hidden").fill_null(False))
            .with_columns(
                # This week and the one before make the 14-day count (as the location pages).
                (hidden | hidden.shift(1).over("location_code").fill_null(False)).alias(
                    "d14_hidden"
                ),
                # The public gets a cumulative count for the latest week only: two published
                # cumulative counts would give back every week between them.
                (
                    (pl.col("date") != pl.col("date").max().over("location_code"))
                    | pl.col("total_hidden")
                ).alias("cumulative_hidden"),
            )
            .with_columns(
                pl.col(f"n{LABEL_SUFFIX}").alias("n_label"),
                _label("cases_14d_n", pl.col("d14_hidden")).alias("cases_14d_n_label"),
                pl.when(pl.col("date") != pl.col("date").max().over("location_code"))
                .then(None)
                .otherwise(_label("cumulative_n", pl.col("cumulative_hidden")))
                .alias("cumulative_n_label"),
            )
        )
        frame = frame.select(
            "location_code",
            "county_code",
            "week",
            "population",
            *_COUNTS,
            "incidence_14d",
            "share_infected_percent",
            pl.col("n_hidden").alias("n_hidden"),
            pl.col("d14_hidden").alias("cases_14d_n_hidden"),
            "cumulative_hidden",
            "n_label",
            "cases_14d_n_label",
            "cumulative_n_label",
        ).rename({"cumulative_hidden": "cumulative_n_hidden"})
        by_week = {
            str(week): part.drop("week")
            for (week,), part in frame.partition_by("week", as_dict=True).items()
        }
    signals, syndromes = _signals(store, municipalities, masks)
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


def _worst(frame: pl.DataFrame, status: str) -> pl.Expr:
    return pl.col(status).sort_by(pl.col(status).replace_strict(_STATUS_RANK, default=-1)).last()


def _signals(
    store: SurveillanceStore, municipalities: pl.DataFrame, masks: PublicMasks
) -> tuple[dict[tuple[str, str], pl.DataFrame], tuple[str, ...]]:
    """Return each week's and syndrome's municipal signals (age total) and the syndromes.

    ``public_status`` is null where the location pages hide the count (and with it the
    status): weeks and syndromes outside the public masks are hidden too.
    """
    results = store.results(SIGNAL_METHOD, Frequency.WEEKLY)
    if not results.collect_schema().names():
        return {}, ()
    frame = (
        results.filter(pl.col("age") == "total", pl.col("location_code").str.starts_with("municip"))
        .select("location_code", "syndrome", "date", "week", pl.col("n").fill_null(0), "status")
        .collect()
        .join(municipalities, on="location_code")
    )
    if frame.height == 0:
        return {}, ()
    if masks.signals is None:
        frame = frame.with_columns(
            pl.lit(True).alias("n_hidden"), pl.lit(COMPLEMENTARY_LABEL).alias("n_label")
        )
    else:
        public = masks.signals.filter(pl.col("age") == "total").drop("age")
        frame = (
            frame.join(public, on=["location_code", "syndrome", "date"], how="left")
            .with_columns(
                pl.col(f"n{LABEL_SUFFIX}")
                .fill_null(pl.when(pl.col("n_hidden").is_null()).then(pl.lit(COMPLEMENTARY_LABEL)))
                .alias("n_label"),
                pl.col("n_hidden").fill_null(True),
            )
            .drop(f"n{LABEL_SUFFIX}")
        )
    frame = frame.with_columns(
        pl.when(pl.col("n_hidden")).then(None).otherwise(pl.col("status")).alias("public_status")
    ).drop("date")
    worst = (
        frame.group_by("location_code", "county_code", "week")
        .agg(_worst(frame, "status"), _worst(frame, "public_status"))
        .with_columns(
            pl.lit(ANY_SYNDROME).alias("syndrome"),
            pl.lit(None, pl.Int64).alias("n"),
            pl.lit(False).alias("n_hidden"),
            pl.lit(None, pl.String).alias("n_label"),
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
        municipality and its neighbours). Everywhere else the public masks apply: counts 1–4
        as "<5", complementary cells as ":", no rate from a hidden count, a cumulative count
        for the latest week only, and no signal status where its count is hidden.
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
    share = indicator is Indicator.SHARE_INFECTED
    rate, count = (
        ("share_infected_percent", "cumulative_n") if share else ("incidence_14d", "cases_14d_n")
    )
    # The scale comes from the figures the public sees, so its breaks reveal nothing hidden.
    public = frame.filter(~pl.col(f"{count}_hidden"))[rate].drop_nulls().to_numpy()
    scale = quantile_scale(public) if share else ColourScale(INCIDENCE_14D_BREAKS)
    rows = []
    for record in frame.iter_rows(named=True):
        code = record["location_code"]
        open_ = code in full_detail

        def shown(name: str, of: str, record: dict = record, open_: bool = open_) -> Any:
            if record[name] is None:
                return None
            if record[f"{of}_hidden"] and not open_:
                return record[f"{of}_label"]
            return record[name] if name == of else _rounded(record[name])

        value = shown(rate, count)
        rows.append(
            MapRow(
                location_code=code,
                name=tables.names.get(code, code),
                county_code=record["county_code"],
                county_name=tables.county_names.get(record["county_code"], ""),
                population=record["population"],
                value=value,
                fill=_fill(value, scale),
                n=shown("n", "n"),
                cases_14d_n=shown("cases_14d_n", "cases_14d_n"),
                cumulative_n=shown("cumulative_n", "cumulative_n"),
                incidence_14d=shown("incidence_14d", "cases_14d_n"),
                share_infected_percent=shown("share_infected_percent", "cumulative_n"),
                suppressed=bool(record[f"{count}_hidden"]) and not open_,
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
        open_ = code in full_detail
        status = record["status"] if open_ else record["public_status"]
        hidden = status is None and record["status"] is not None
        rows.append(
            MapRow(
                location_code=code,
                name=tables.names.get(code, code),
                county_code=record["county_code"],
                county_name=tables.county_names.get(record["county_code"], ""),
                population=None,
                value=status,
                fill=SUPPRESSED_FILL
                if hidden
                else STATUS_COLOURS.get(Status(status), NO_DATA_FILL)
                if status
                else NO_DATA_FILL,
                n=record["n_label"] if record["n_hidden"] and not open_ else record["n"],
                status=status,
                suppressed=hidden,
            )
        )
    legend = tuple(LegendEntry(colour, None, None) for colour in STATUS_COLOURS.values())
    return rows, legend


def _fill(value: float | str | None, scale: ColourScale) -> str:
    if isinstance(value, str):  # "<5" or ":"
        return SUPPRESSED_FILL
    if value is None or isinstance(value, str) or not np.isfinite(value):
        return NO_DATA_FILL
    return scale.colour(value) or NO_DATA_FILL


def _rounded(value: float | None) -> float | None:
    """Return a rate with three significant decimals' worth of precision for display."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), 3)
