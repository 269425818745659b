"""The weekly report's figures for every location at once, read from the store once per week."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import polars as pl

from korona.surveillance import metrics
from korona.surveillance.calendar import (
    Frequency,
    iso_week_label,
    parse_iso_week,
    week_sunday,
    weekly_holiday_covariate,
)
from korona.surveillance.completeness import BASELINE_WEEKS, possibly_incomplete
from korona.surveillance.geo import NATION, AgeGroup, Geography
from korona.surveillance.series import Status
from korona.surveillance.store import SERIES_SCHEMA, SurveillanceStore
from korona.surveillance.store.layout import Table

__all__ = [
    "COVID19_SYNDROME",
    "REPORT_WEEKS",
    "CovidWeek",
    "LocationReport",
    "SignalCell",
    "SignalRow",
    "WeeklyData",
    "report_weeks",
]

#: The report shows this many ISO weeks, the asked week last.
REPORT_WEEKS = 4
COVID19_SYNDROME = "covid19"
#: Result columns the report reads when the method stored them (null otherwise).
_OPTIONAL_RESULTS: dict[str, type[pl.DataType]] = {
    "expected": pl.Float64,
    "zscore": pl.Float64,
    "status": pl.String,
}
#: Age groups in the order the tables list them.
AGE_ORDER = [AgeGroup.TOTAL.value, *(a.value for a in AgeGroup if a is not AgeGroup.TOTAL)]


def report_weeks(week: str, count: int = REPORT_WEEKS) -> list[dt.date]:
    """Return the Sundays of the ``count`` ISO weeks ending with ``week`` ("2020-W20"), oldest
    first.

    Raises ValueError for a label that is not an ISO week.
    """
    last = week_sunday(*parse_iso_week(week))
    return [last - dt.timedelta(weeks=count - 1 - i) for i in range(count)]


@dataclass(frozen=True)
class CovidWeek:
    """One week of the covid-19 table for one location; None where the store has no figure."""

    week: str
    cases: int | None
    per_100k: float | None
    share_infected: float | None  # per cent of inhabitants, cumulative since the first case
    positivity: float | None  # per cent of tests
    consultations: int | None  # covid-19 consultations (R991, R992)
    signal: Status | None
    incomplete: bool


@dataclass(frozen=True)
class SignalCell:
    """One week of one syndrome × age series: consultations, expected, signal."""

    n: int
    expected: float | None
    zscore: float | None
    status: Status | None


@dataclass(frozen=True)
class SignalRow:
    """One syndrome × age group over the report's weeks."""

    syndrome: str
    age: str
    cells: tuple[SignalCell | None, ...]


@dataclass(frozen=True)
class LocationReport:
    """Everything the weekly report shows for one location."""

    code: str  # "municip4601", "county46", "norge"
    name: str
    weeks: tuple[str, ...]
    incomplete: tuple[bool, ...]
    covid: tuple[CovidWeek, ...]
    signals: tuple[SignalRow, ...]

    @property
    def has_signals(self) -> bool:
        """Return whether any week of any series has a medium or high signal."""
        return any(
            cell is not None and cell.status in (Status.MEDIUM, Status.HIGH)
            for row in self.signals
            for cell in row.cells
        )


def _by_location(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    if frame.height == 0:
        return {}
    return {
        str(key[0]): part for key, part in frame.partition_by("location_code", as_dict=True).items()
    }


def _status(value: object) -> Status | None:
    return Status(value) if isinstance(value, str) and value in Status._value2member_map_ else None


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if np.isnan(number) else number


class WeeklyData:
    """The figures of one week's reports for every location, computed once and shared.

    Every frame is read and computed for all locations together (vectorised in polars); a
    location's tables are then dictionary look-ups, and built once per location
    (``location`` is cached), so a county or the nation shared by many reports costs once.
    """

    def __init__(
        self,
        geography: Geography,
        week: str,
        *,
        cases: pl.DataFrame,
        lab: pl.DataFrame,
        results: pl.DataFrame,
        covid_results: pl.DataFrame,
        incomplete: dict[str, tuple[bool, ...]],
        simulated: bool = False,
    ) -> None:
        self.geography = geography
        #: The consultations (and so the signals) include simulated ones: the report says so.
        self.simulated = simulated
        self.week = week
        self.sundays = report_weeks(week)
        self.labels = tuple(iso_week_label(day) for day in self.sundays)
        self.names = geography.names()
        self._cases = _by_location(cases)
        self._lab = _by_location(lab)
        self._results = _by_location(results)
        self._covid = _by_location(covid_results)
        self._incomplete = incomplete
        self.location = functools.cache(self._location)

    @classmethod
    def build(
        cls,
        store: SurveillanceStore,
        geography: Geography,
        week: str,
        *,
        method: str = "sykdomspulsen",
    ) -> WeeklyData:
        """Read the store once and compute every location's figures for ``week``.

        Cases and lab tests are stored per municipality; counties and the nation are their sums
        (``Geography.roll_up``). Share infected counts every stored case up to the week.
        """
        sundays = report_weeks(week)
        first, last = sundays[0], sundays[-1]
        history_start = first - dt.timedelta(weeks=2 * BASELINE_WEEKS)
        municipal = pl.col("location_code").str.starts_with("municip")

        stored_cases = (
            store.cases(Frequency.WEEKLY)
            .filter(municipal, pl.col("date") <= last)
            .select("location_code", "date", "n")
        )
        cases_all = geography.roll_up(stored_cases, ["n"]).collect()
        population = geography.population(sorted({d.year for d in sundays}))
        with_rate = metrics.cases_per_100k(cases_all, population, window_days=7)
        with_share = metrics.cumulative_share_infected(cases_all, population)
        cases = (
            with_rate.join(
                with_share.select("location_code", "date", "share_infected_percent"),
                on=["location_code", "date"],
                how="left",
            )
            .filter(pl.col("date").is_between(first, last))
            .select("location_code", "date", "n", "per_100k", "share_infected_percent")
        )
        lab_all = (
            store.lab_tests(Frequency.WEEKLY)
            .filter(municipal, pl.col("date").is_between(first, last))
            .select("location_code", "date", "n_pos", "n_neg")
        )
        lab = metrics.positivity(geography.roll_up(lab_all, ["n_pos", "n_neg"]).collect())

        wanted = list(SERIES_SCHEMA)
        optional = list(_OPTIONAL_RESULTS)
        stored = store.results(method, Frequency.WEEKLY)
        names = stored.collect_schema().names() if stored.collect_schema().len() else []
        if names:
            window = stored.filter(pl.col("date").is_between(history_start, last)).select(
                [c for c in wanted + optional if c in names]
            )
            history = window.collect()
            for column in optional:
                if column not in history.columns:
                    history = history.with_columns(pl.lit(None).alias(column))
        else:
            history = pl.DataFrame(schema={**SERIES_SCHEMA, **_OPTIONAL_RESULTS})
        results = history.filter(pl.col("date").is_between(first, last))
        incomplete = _incomplete_weeks(history, history_start, sundays)

        covid = store.results("covid19", Frequency.WEEKLY)
        covid_names = covid.collect_schema().names() if covid.collect_schema().len() else []
        if {"location_code", "date", "status"} <= set(covid_names):
            covid_frame = (
                covid.filter(pl.col("date").is_between(first, last))
                .filter(pl.col("age") == AgeGroup.TOTAL.value if "age" in covid_names else True)
                .select("location_code", "date", "status")
                .collect()
            )
        else:
            covid_frame = pl.DataFrame(
                schema={"location_code": pl.String, "date": pl.Date, "status": pl.String}
            )
        return cls(
            geography,
            week,
            cases=cases,
            lab=lab,
            results=results,
            covid_results=covid_frame,
            incomplete=incomplete,
            simulated=store.holds_simulated(Table.CONSULTATIONS),
        )

    def _weekly(self, frame: pl.DataFrame | None, columns: list[str]) -> dict[dt.date, dict]:
        if frame is None:
            return {}
        return {row["date"]: row for row in frame.select("date", *columns).iter_rows(named=True)}

    def _location(self, code: str) -> LocationReport:
        results = self._results.get(code)
        cases = self._weekly(self._cases.get(code), ["n", "per_100k", "share_infected_percent"])
        lab = self._weekly(self._lab.get(code), ["positivity_percent"])
        covid_signal = self._weekly(self._covid.get(code), ["status"])
        incomplete = self._incomplete.get(code, (False,) * len(self.sundays))
        series: dict[tuple[str, str], dict[dt.date, SignalCell]] = {}
        if results is not None:
            for row in results.iter_rows(named=True):
                series.setdefault((row["syndrome"], row["age"]), {})[row["date"]] = SignalCell(
                    int(row["n"]),
                    _number(row["expected"]),
                    _number(row["zscore"]),
                    _status(row["status"]),
                )
        covid_consultations = series.get((COVID19_SYNDROME, AgeGroup.TOTAL.value), {})
        covid = []
        for i, sunday in enumerate(self.sundays):
            case = cases.get(sunday, {})
            consultation = covid_consultations.get(sunday)
            signal = _status(covid_signal.get(sunday, {}).get("status"))
            if signal is None and consultation is not None:
                signal = consultation.status
            covid.append(
                CovidWeek(
                    week=self.labels[i],
                    cases=None if case.get("n") is None else int(case["n"]),
                    per_100k=_number(case.get("per_100k")),
                    share_infected=_number(case.get("share_infected_percent")),
                    positivity=_number(lab.get(sunday, {}).get("positivity_percent")),
                    consultations=None if consultation is None else consultation.n,
                    signal=signal,
                    incomplete=incomplete[i],
                )
            )
        ages = {age: i for i, age in enumerate(AGE_ORDER)}
        rows = [
            SignalRow(syndrome, age, tuple(cells.get(sunday) for sunday in self.sundays))
            for (syndrome, age), cells in sorted(
                series.items(), key=lambda item: (item[0][0], ages.get(item[0][1], 99))
            )
            if syndrome != COVID19_SYNDROME
        ]
        return LocationReport(
            code=code,
            name=self.names.get(code, "Norge" if code == NATION else code),
            weeks=self.labels,
            incomplete=incomplete,
            covid=tuple(covid),
            signals=tuple(rows),
        )


def _incomplete_weeks(
    history: pl.DataFrame, start: dt.date, sundays: list[dt.date]
) -> dict[str, tuple[bool, ...]]:
    """Return, per location, which report weeks are possibly incomplete (completeness.py).

    A week's consultation total is the largest denominator of the location's all-ages series
    (every syndrome's denominator counts all, or all but influenza, consultations).
    """
    totals = (
        history.filter(pl.col("age") == AgeGroup.TOTAL.value)
        .group_by("location_code", "date")
        .agg(pl.col("denominator").max().alias("total"))
    )
    if totals.height == 0:
        return {}
    calendar = weekly_holiday_covariate(start, sundays[-1]).select("date", "holiday")
    dates = calendar["date"].to_list()
    codes = sorted(totals["location_code"].unique().to_list())
    index = {code: i for i, code in enumerate(codes)}
    column = {day: j for j, day in enumerate(dates)}
    values = np.full((len(codes), len(dates)), np.nan)
    for code, day, total in totals.iter_rows():
        if day in column:
            values[index[code], column[day]] = total
    flags = possibly_incomplete(values, calendar["holiday"].to_numpy() > 0)
    picked = [column[day] for day in sundays]
    return {code: tuple(bool(flag) for flag in flags[i, picked]) for code, i in index.items()}
