"""What one map shows: share infected, 14-day incidence or signal status per municipality."""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import polars as pl

from korona.surveillance.colours import (
    INCIDENCE_14D_BREAKS,
    STATUS_COLOURS,
    ColourScale,
    LegendEntry,
    quantile_scale,
)
from korona.surveillance.map_tables import ANY_SYNDROME, MapTables
from korona.surveillance.series import Status

__all__ = [
    "NO_DATA_FILL",
    "SUPPRESSED_FILL",
    "Indicator",
    "MapError",
    "MapRow",
    "MapView",
    "map_view",
]

#: Municipalities whose figure is hidden (counts 1–4) and those without a figure.
SUPPRESSED_FILL = "#ffffff"
NO_DATA_FILL = "#d9d9d9"


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


@functools.lru_cache(maxsize=1024)
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
            _map_row(
                tables,
                record,
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
            _map_row(
                tables,
                record,
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


def _map_row(tables: MapTables, record: dict[str, Any], **figures: Any) -> MapRow:
    """Return the row of ``record``'s municipality, named from ``tables``, with ``figures``."""
    code, county = record["location_code"], record["county_code"]
    return MapRow(
        location_code=code,
        name=tables.names.get(code, code),
        county_code=county,
        county_name=tables.county_names.get(county, ""),
        **figures,
    )


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
