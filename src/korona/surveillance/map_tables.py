"""The map's tables: every week's figures per municipality, built once per store generation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from korona.surveillance.calendar import Frequency, week_columns
from korona.surveillance.disclosure import COMPLEMENTARY_LABEL, LABEL_SUFFIX, PublicMasks
from korona.surveillance.geo import load_geography
from korona.surveillance.metrics import SUPPRESSED_LABEL
from korona.surveillance.national_tables import NationalTables
from korona.surveillance.series import Status
from korona.surveillance.store import SurveillanceStore

__all__ = ["ANY_SYNDROME", "SIGNAL_METHOD", "MapTables", "empty_tables", "has_cases", "map_tables"]

#: The signal status of the worst syndrome, the map's default.
ANY_SYNDROME = "any"
#: The detector whose weekly results colour the signal map.
SIGNAL_METHOD = "sykdomspulsen"
_STATUS_RANK = {Status.NORMAL.value: 0, Status.MEDIUM.value: 1, Status.HIGH.value: 2}
_COUNTS = ("n", "cases_14d_n", "cumulative_n")


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


class _Slices(Mapping[tuple[str, str], pl.DataFrame]):
    """(week, syndrome) → that part of one frame sorted by week and syndrome (zero-copy
    slices: one sort instead of thousands of small frames)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame.drop("week", "syndrome")
        runs = (
            frame.select("week", "syndrome")
            .with_row_index("_row")
            .group_by("week", "syndrome", maintain_order=True)
            .agg(pl.col("_row").first(), pl.len())
        )
        self._at = {
            (str(week), str(syndrome)): (int(row), int(length))
            for week, syndrome, row, length in runs.iter_rows()
        }

    def __getitem__(self, key: tuple[str, str]) -> pl.DataFrame:
        row, length = self._at[key]
        return self._frame.slice(row, length)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)


def has_cases(store: SurveillanceStore) -> bool:
    """Return whether the store holds any weekly case counts (without them there is no map)."""
    return store.cases(Frequency.WEEKLY).head(1).collect().height > 0


def empty_tables(reference_dir: Path) -> MapTables:
    """Return the tables of a store without figures (the map then says so)."""
    geography = load_geography(reference_dir)
    counties = geography.counties
    return MapTables(
        cases={},
        signals={},
        syndromes=(),
        names=geography.names(),
        county_names=dict(zip(counties["location_code"], counties["location_name"], strict=True)),
    )


def map_tables(national: NationalTables) -> MapTables:
    """Return the map's tables for the generation of ``national`` (built once, then shared).

    The map hides exactly the cells the location pages hide (``national.masks``), so that the
    two together give nothing back. Safe across threads: one caller builds a generation's
    tables while the others wait.
    """
    return national.derived("map", _build)


def _label(count: str, hidden: pl.Expr) -> pl.Expr:
    """Return the public label of a hidden count: "<5" for 1–4, ":" for a complementary cell."""
    return (
        pl.when(~hidden)
        .then(None)
        .when(pl.col(count).is_between(1, 4))
        .then(pl.lit(SUPPRESSED_LABEL))
        .otherwise(pl.lit(COMPLEMENTARY_LABEL))
    )


def _build(national: NationalTables) -> MapTables:
    geography = national.geography
    masks = national.masks
    municipalities = geography.municipalities.select("location_code", "county_code")
    frame = national.rates_all.filter(pl.col("location_code").str.starts_with("municip"))
    by_week: dict[str, pl.DataFrame] = {}
    if frame.height:
        frame = frame.select(
            "location_code",
            "date",
            week_columns("date")[2],
            pl.col("n").fill_null(0),
            "population",
            pl.col("n_14d").alias("cases_14d_n"),
            pl.col("per_100k_14d").alias("incidence_14d"),
            "cumulative_n",
            "share_infected_percent",
        )
        weekly = masks.cases.filter(pl.col("date").is_not_null())
        totals = masks.cases.filter(pl.col("date").is_null()).select(
            "location_code", pl.col("n_hidden").alias("total_hidden")
        )
        hidden = pl.col("n_hidden")
        frame = (
            frame.join(municipalities, on="location_code")
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
    signals, syndromes = _signals(national.store, municipalities, masks)
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
) -> tuple[Mapping[tuple[str, str], pl.DataFrame], tuple[str, ...]]:
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
    syndromes = tuple(sorted(frame["syndrome"].unique().to_list()))
    ordered = frame.sort("week", "syndrome", "location_code")
    return _Slices(ordered), tuple(s for s in syndromes if s != ANY_SYNDROME)
