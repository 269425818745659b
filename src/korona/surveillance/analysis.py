"""The national run: read the store, build the series, detect, and store the results."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from korona.surveillance.calendar import Frequency
from korona.surveillance.detect import (
    Covid19Detector,
    Covid19Source,
    Detection,
    Detector,
    FarringtonDetector,
    Method,
    SykdomspulsenDetector,
)
from korona.surveillance.executors import LocalExecutor, RunExecutor
from korona.surveillance.series import SeriesSet, Status
from korona.surveillance.sources.syndromes import load_syndromes, syndromes_from_rows
from korona.surveillance.store import SurveillanceStore

__all__ = [
    "COVID19_SYNDROME",
    "AnalysisSummary",
    "RunSummary",
    "history_start",
    "load_store_cases",
    "load_store_series",
    "run_store",
    "signal_contact_types",
    "store_frame",
]

#: The covid-19 consultation syndrome (R991 + R992) in the syndrome table.
COVID19_SYNDROME = "covid19"
#: Result columns only some methods have (the others leave them out of what is stored).
_OPTIONAL_RESULTS: dict[Method, tuple[str, ...]] = {
    Method.SYKDOMSPULSEN: ("threshold2", "threshold4", "threshold6", "zscore"),
    Method.FARRINGTON: ("threshold4", "zscore"),
    Method.COVID19: ("threshold4",),
}
_RESULT_COLUMNS = ("threshold2", "threshold4", "threshold6", "zscore")


@dataclass(frozen=True)
class AnalysisSummary:
    """What one part of a run analysed and found."""

    label: str
    series: int = 0
    fits: int = 0
    failed_fits: int = 0
    signals: dict[Status, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSummary:
    """What one ``run`` analysed and found, per part."""

    method: Method
    years: tuple[int, ...]
    analyses: tuple[AnalysisSummary, ...]
    seconds: float


def history_start(detector: Detector, years: Sequence[int]) -> dt.date:
    """Return the first date a detector's fits for ``years`` read (spec §2–§4).

    Sykdomspulsen trains on the ``years_back`` calendar years before the prediction year.
    Farrington's reference windows reach ``years_back`` years and ``window_half_width`` weeks
    back from each predicted week, and the reference week is moved to the nearest week (up to
    3 days earlier): one more week covers that. The covid-19 rule reads the weeks just before.
    """
    first = min(years)
    if isinstance(detector, FarringtonDetector):
        return dt.date(first - detector.years_back, 1, 1) - dt.timedelta(
            weeks=detector.window_half_width + 1
        )
    if isinstance(detector, SykdomspulsenDetector):
        return dt.date(first - detector.years_back, 1, 1)
    return dt.date(first - 1, 1, 1)


def signal_contact_types(store: SurveillanceStore) -> dict[str, list[str]]:
    """Return each syndrome's signal contact types from the syndrome table the ingests used
    (the shipped table for counts stored without one)."""
    recorded = store.syndrome_table()
    syndromes = syndromes_from_rows(recorded) if recorded else load_syndromes()
    return {s.name: [c.value for c in s.signal_contact_types] for s in syndromes}


def _is_daily_location(code: pl.Expr) -> pl.Expr:
    """Daily analyses cover the nation and the counties only (spec §2)."""
    return (code == "norge") | code.str.starts_with("county")


def load_store_series(
    store: SurveillanceStore, frequency: Frequency, first: dt.date, last: dt.date
) -> SeriesSet | None:
    """Return location × age × syndrome series from the store between ``first`` and ``last``,
    summed over each syndrome's signal contact types (spec §1) and both practice types.

    The arrays are filled straight from the stored cells: every cell starts as n = 0 with the
    denominator of a cell without consultations, then the stored cells are scattered in. This
    equals ``SeriesSet.from_long`` on :meth:`SurveillanceStore.syndrome_series` without
    building that zero-filled long frame. Returns None when the store has no consultations
    for the period.
    """
    read = store.syndrome_cells(
        frequency,
        signal_contact_types(store),
        first=first,
        last=last,
        locations=_is_daily_location(pl.col("location_code"))
        if frequency is Frequency.DAILY
        else None,
    )
    if read is None or not read.absent or not read.locations or not read.ages:
        return None
    # Keys in the order SeriesSet.from_long gives them: sorted by location, age, syndrome.
    levels = [sorted(read.locations), sorted(read.ages), sorted(read.syndromes)]
    keys = (
        pl.DataFrame({"location_code": levels[0]})
        .join(pl.DataFrame({"age": levels[1]}), how="cross")
        .join(pl.DataFrame({"syndrome": levels[2]}), how="cross")
    )
    step = 7 if frequency is Frequency.WEEKLY else 1
    start = np.datetime64(read.first, "D")
    n_time = (np.datetime64(read.last, "D") - start).astype(np.int64) // step + 1
    absent = np.array([read.absent[s] for s in levels[2]], dtype=np.float64)
    observed = np.zeros((keys.height, n_time), dtype=np.int64)
    denominator = np.repeat(np.tile(absent, len(levels[0]) * len(levels[1]))[:, None], n_time, 1)
    per_cell = read.per_cell
    location, age = (
        per_cell[column]
        .replace_strict(level, list(range(len(level))), return_dtype=pl.Int64)
        .to_numpy()
        for column, level in (("location_code", levels[0]), ("age", levels[1]))
    )
    first_row = (location * len(levels[1]) + age) * len(levels[2])
    column = ((per_cell["date"].cast(pl.Int64) - int(start.astype(np.int64))) // step).to_numpy()
    for j, syndrome in enumerate(levels[2]):
        if syndrome in read.stored:
            observed[first_row + j, column] = per_cell[f"n {syndrome}"].to_numpy()
            denominator[first_row + j, column] = per_cell[f"d {syndrome}"].to_numpy()
    dates = start + np.arange(n_time) * step
    return SeriesSet(keys, frequency, dates, observed, denominator)


def load_store_cases(store: SurveillanceStore, first: dt.date, last: dt.date) -> SeriesSet | None:
    """Return weekly MSIS case series per location from the store (None when there are none)."""
    frame = (
        store.cases(Frequency.WEEKLY)
        .filter(pl.col("date").is_between(first, last))
        # FHI's weekly municipal file gives its first week as NA; a week without a count
        # reads as no cases rather than stopping the whole run.
        .filter(pl.col("n").is_not_null())
        .select("location_code", "date", "n")
        .collect()
    )
    if frame.height == 0:
        return None
    return SeriesSet.from_long(
        frame, frequency=Frequency.WEEKLY, key_columns=["location_code"], denominator_column=None
    )


class _YearRows(Mapping[int, pl.DataFrame]):
    """The rows ``run`` stores for each prediction year, built when a year is asked for.

    ``SurveillanceStore.write_results`` takes one year at a time, so only one year's rows
    exist at once (the arrays hold everything; the rows are a copy in another layout).
    """

    def __init__(self, detection: Detection, method: Method) -> None:
        self._series = detection.series
        self._keep = _OPTIONAL_RESULTS[method]
        year_of = self._series.years()
        predicted = self._series.predicted
        self._columns: dict[int, slice] = {}
        for year in np.unique(year_of):
            where = np.flatnonzero(year_of == year)  # consecutive: the dates are increasing
            columns = slice(int(where[0]), int(where[-1]) + 1)
            if predicted is None or predicted[:, columns].any():
                self._columns[int(year)] = columns

    def __getitem__(self, year: int) -> pl.DataFrame:
        frame = self._series.to_long(columns=self._columns[year])
        return frame.select(c for c in frame.columns if c not in _RESULT_COLUMNS or c in self._keep)

    def __iter__(self) -> Iterator[int]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def store_frame(detection: Detection, method: Method) -> Mapping[int, pl.DataFrame]:
    """Return the rows ``run`` stores, per prediction year: keys, date (weekly: and ISO week
    columns), n, denominator and the method's result columns.

    Each year's rows are built straight from that year's columns of the result arrays when
    they are read (a weekly point belongs to the year of its Sunday, as in
    ``SurveillanceStore.write_results``): no frame of all years is built and split again.
    """
    return _YearRows(detection, method)


@dataclass(frozen=True)
class _Analysis:
    """One part of a run: what to read, which detector, under which result name."""

    label: str
    frequency: Frequency
    result_name: str
    detector: Detector
    load: Callable[[], SeriesSet | None]


def _analyses(
    store: SurveillanceStore, method: Method, years: Sequence[int], detector: Detector
) -> list[_Analysis]:
    """Return the parts of a national run for ``method`` (spec §2–§4)."""
    first, last = history_start(detector, years), dt.date(max(years), 12, 31)
    if isinstance(detector, Covid19Detector):

        def covid_consultations() -> SeriesSet | None:
            series = load_store_series(store, Frequency.WEEKLY, first, last)
            if series is None:
                return None
            rows = np.flatnonzero(series.keys["syndrome"].to_numpy() == COVID19_SYNDROME)
            return series.subset(rows) if rows.size else None

        return [
            _Analysis(
                "weekly consultations",
                Frequency.WEEKLY,
                method.value,
                dataclasses.replace(detector, source=Covid19Source.CONSULTATIONS),
                covid_consultations,
            ),
            _Analysis(
                "weekly MSIS cases",
                Frequency.WEEKLY,
                f"{method.value}_cases",
                dataclasses.replace(detector, source=Covid19Source.CASES),
                lambda: load_store_cases(store, first, last),
            ),
        ]
    frequencies = [Frequency.WEEKLY]
    if method is Method.SYKDOMSPULSEN:  # the other methods are weekly only
        frequencies.append(Frequency.DAILY)
    return [
        _Analysis(
            frequency.value,
            frequency,
            method.value,
            detector,
            functools.partial(load_store_series, store, frequency, first, last),
        )
        for frequency in frequencies
    ]


def run_store(
    store: SurveillanceStore,
    detector: Detector,
    years: Sequence[int],
    *,
    step: Callable[[str], None] = lambda _text: None,
    executor: RunExecutor | None = None,
) -> RunSummary:
    """Analyse everything in the store and replace the results of ``years`` (one commit per
    part; ``step`` is told what happens next, e.g. for a progress bar).

    Sykdomspulsen: weekly for every location, daily for nation and counties. Farrington:
    weekly. Covid-19: weekly covid consultations (results ``covid19``) and MSIS cases
    (results ``covid19_cases``). ``executor`` decides where the series are detected (default:
    this process); the results are the same either way.
    """
    executor = executor or LocalExecutor()
    started = time.perf_counter()
    method = detector.method
    summaries: list[AnalysisSummary] = []
    for analysis in _analyses(store, method, years, detector):
        step(f"Reading {analysis.label} counts")
        series = analysis.load()
        if series is None:
            summaries.append(AnalysisSummary(analysis.label))
            continue
        step(f"Fitting {series.n_series:,} {analysis.label} series")
        result = executor.detect(
            analysis.detector, series, years, functools.partial(store_frame, method=method)
        )
        step(f"Writing {analysis.label} results")
        store.write_results(analysis.result_name, analysis.frequency, result.frames, years)
        summaries.append(
            AnalysisSummary(
                analysis.label,
                series.n_series,
                result.fits,
                result.failed_fits,
                result.signals,
            )
        )
    return RunSummary(method, tuple(years), tuple(summaries), time.perf_counter() - started)
