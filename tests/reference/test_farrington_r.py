"""Farrington flexible against R ``surveillance::farringtonFlexible`` over a grid of settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from korona.surveillance.calendar import Frequency
from korona.surveillance.detect.farrington import (
    FarringtonDetector,
    ThresholdMethod,
)
from korona.surveillance.series import SeriesSet

from .rscript import read_results, require_r, run_script, write_counts, write_rows

pytestmark = [pytest.mark.reference, pytest.mark.xdist_group("r-farrington")]

RTOL = 1e-6


@dataclass(frozen=True)
class Case:
    """One farringtonFlexible call: a data set, the weeks to predict and the settings."""

    name: str
    data: str
    first: str  # first predicted week (its Sunday)
    weeks: int
    detector: FarringtonDetector


def _nb(rng: np.random.Generator, mean: np.ndarray, size: float) -> np.ndarray:
    """Negative binomial counts with the given means and size (overdispersion)."""
    return rng.negative_binomial(size, size / (size + mean))


def _generate(first: str, last: str, seed: int) -> SeriesSet:
    """Weekly series from ``first`` to ``last`` covering what the grid must exercise."""
    rng = np.random.default_rng(seed)
    dates = np.arange(np.datetime64(first), np.datetime64(last) + 1, 7)
    t = np.arange(dates.size)
    season = np.exp(0.6 * np.cos(2 * np.pi * (t - 4) / 52.18))
    years = t / 52.18
    series: dict[str, np.ndarray] = {}
    for name, level, size in [
        ("sparse", 0.15, 2.0),
        ("low", 1.2, 3.0),
        ("mid", 6.0, 5.0),
        ("high", 45.0, 8.0),
        ("large", 400.0, 20.0),
        ("huge", 30_000.0, 50.0),
    ]:
        series[name] = _nb(rng, level * season, size)
    series["rising"] = _nb(rng, 3.0 * season * np.exp(0.25 * years), 6.0)
    series["falling"] = _nb(rng, 20.0 * season * np.exp(-0.2 * years), 6.0)
    outbreaks = _nb(rng, 5.0 * season, 4.0)
    # Outbreaks in past years (down-weighted by reweighting) and in the predicted weeks.
    for start in rng.choice(t.size - 8, size=12, replace=False):
        outbreaks[start : start + 3] += rng.integers(10, 40)
    series["outbreaks"] = outbreaks
    # No cases at all until the last year: all-zero reference windows, then cases.
    zero_then = np.zeros(t.size, dtype=np.int64)
    zero_then[-60:] = rng.poisson(4.0, 60)
    series["zero_then_cases"] = zero_then
    # A single case in the whole history.
    single = np.zeros(t.size, dtype=np.int64)
    single[t.size // 2] = 1
    series["single_case"] = single
    return SeriesSet(
        keys=pl.DataFrame({"series": list(series)}),
        frequency=Frequency.WEEKLY,
        dates=dates,
        observed=np.vstack(list(series.values())),
    )


DATA = {
    # ISO years 2015 and 2020 have a week 53 (2020-W53 is dated Sunday 2021-01-03).
    "full": lambda: _generate("2012-01-01", "2021-03-28", seed=10),
    # Data starting mid-year: the first weeks with the whole history behind them.
    "midyear": lambda: _generate("2013-07-07", "2019-06-30", seed=11),
}

NOUFAILY = {"no_periods": 10, "past_weeks_not_included": 26}
CASES = [
    Case("defaults", "full", "2020-01-05", 10, FarringtonDetector()),
    Case("defaults-week53", "full", "2020-11-22", 10, FarringtonDetector()),
    Case(
        "noufaily-muan",
        "full",
        "2020-03-01",
        8,
        FarringtonDetector(**NOUFAILY, threshold_method=ThresholdMethod.MUAN),
    ),
    Case(
        "noufaily-nbplugin",
        "full",
        "2020-10-25",
        8,
        FarringtonDetector(**NOUFAILY, threshold_method=ThresholdMethod.NB_PLUGIN),
    ),
    Case("delta-noperiods10", "full", "2020-06-07", 6, FarringtonDetector(**NOUFAILY)),
    Case("no-reweight", "full", "2020-04-05", 6, FarringtonDetector(reweight=False)),
    Case("no-trend", "full", "2020-08-02", 6, FarringtonDetector(trend=False)),
    Case("b3-w2", "full", "2020-05-03", 6, FarringtonDetector(years_back=3, window_half_width=2)),
    Case(
        "b4-w2-noperiods10-past3",
        "full",
        "2020-12-13",
        8,
        FarringtonDetector(years_back=4, window_half_width=2, no_periods=10),
    ),
    Case(
        "b3-w3-past26-muan",
        "full",
        "2020-02-02",
        6,
        FarringtonDetector(
            years_back=3, past_weeks_not_included=26, threshold_method=ThresholdMethod.MUAN
        ),
    ),
    Case(
        "b5-w2-nbplugin-noreweight",
        "full",
        "2020-09-06",
        6,
        FarringtonDetector(
            window_half_width=2, reweight=False, threshold_method=ThresholdMethod.NB_PLUGIN
        ),
    ),
    Case("midyear-defaults", "midyear", "first", 8, FarringtonDetector()),
    Case(
        "midyear-noufaily",
        "midyear",
        "first",
        6,
        FarringtonDetector(**NOUFAILY, threshold_method=ThresholdMethod.MUAN),
    ),
]


def _rows(series: SeriesSet, case: Case) -> np.ndarray:
    """Return the predicted time indices of a case."""
    if case.first == "first":
        start = next(k for k in range(series.n_time) if case.detector._window(series.dates, k))
    else:
        start = int(np.flatnonzero(series.dates == np.datetime64(case.first))[0])
    return np.arange(start, start + case.weeks)


def _job(case: Case, number: int, counts: Path, rows: np.ndarray) -> dict[str, object]:
    """Return the R manifest row of a case (1-based rows, R's control names)."""
    d = case.detector
    return {
        "job": number,
        "counts": str(counts),
        "first": int(rows[0]) + 1,
        "last": int(rows[-1]) + 1,
        "b": d.years_back,
        "w": d.window_half_width,
        "reweight": "TRUE" if d.reweight else "FALSE",
        "weightsThreshold": d.weights_threshold,
        "alpha": d.alpha,
        "trend": "TRUE" if d.trend else "FALSE",
        "pThresholdTrend": d.trend_p_threshold,
        "limitCases": d.limit_cases,
        "limitWeeks": d.limit_weeks,
        "powertrans": d.power_transform.value,
        "noPeriods": d.no_periods,
        "pastWeeksNotIncluded": d.weeks_left_out,
        "thresholdMethod": d.threshold_method.value,
    }


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    """Run R once for the whole grid; return per case (korona result, R frame, rows, series)."""
    rscript = require_r()
    folder = tmp_path_factory.mktemp("farrington-r")
    data = {name: make() for name, make in DATA.items()}
    files = {
        name: write_counts(
            folder / f"{name}.csv",
            s.dates,
            {str(k): s.observed[i] for i, k in enumerate(s.keys["series"])},
        )
        for name, s in data.items()
    }
    jobs, rows_of = [], {}
    for number, case in enumerate(CASES):
        rows = _rows(data[case.data], case)
        rows_of[case.name] = rows
        jobs.append(_job(case, number, files[case.data], rows))
    run_script(rscript, "farrington.R", write_rows(folder / "jobs.csv", jobs), folder / "r.csv")
    r = read_results(folder / "r.csv")
    out = {}
    for number, case in enumerate(CASES):
        series = data[case.data]
        rows = rows_of[case.name]
        years = sorted(set(series.years()[rows].tolist()))
        korona = case.detector.evaluate(series, years=years)
        out[case.name] = (korona, r.filter(pl.col("job") == number), rows, series, case.detector)
    return out


def _r_matrix(frame: pl.DataFrame, column: str, series: SeriesSet, rows: np.ndarray) -> np.ndarray:
    """Return R's ``column`` as (n_series, len(rows)) float, NaN for NA."""
    wide = frame.pivot(on="series", index="row", values=column).sort("row")
    assert wide["row"].to_list() == (rows + 1).tolist()
    names = [str(k) for k in series.keys["series"]]
    return np.vstack([wide[n].cast(pl.Float64).fill_null(np.nan).to_numpy() for n in names])


def _no_mle(series: SeriesSet, detector: FarringtonDetector, rows: np.ndarray) -> np.ndarray:
    """Return (n_series, len(rows)): no cases in the current level yet cases elsewhere.

    Such a reference period has no maximum-likelihood fit (the current level's coefficient
    goes to −∞). korona returns the limit, μ₀ = 0; R's glm returns wherever its iterations
    stopped: a NULL model, a kept trend with μ₀ ≈ 1e-6, or a bound of 0.5. These points are
    left out of the comparison (docs/algorithms.md, Farrington, "Where korona differs").
    """
    out = np.zeros((series.n_series, rows.size), dtype=bool)
    for c, k in enumerate(rows):
        window = detector._window(series.dates, int(k))
        assert window is not None
        index, levels = window
        y = series.observed[:, index]
        current = y[:, levels == detector.no_periods].sum(axis=1)
        out[:, c] = (current == 0) & (y.sum(axis=1) > 0)
    return out


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_farrington_equals_r(compared, name):
    got, r, rows, series, detector = compared[name]
    names = [str(k) for k in series.keys["series"]]
    r_expected = _r_matrix(r, "expected", series, rows)
    r_upper = _r_matrix(r, "upperbound", series, rows)
    r_alarm = _r_matrix(r, "alarm", series, rows)
    r_trend = _r_matrix(r, "trend", series, rows)
    r_loose = _r_matrix(r, "loose", series, rows) == 1
    compare = ~_no_mle(series, detector, rows)
    expected, upper = got.expected[:, rows], got.upperbound[:, rows]
    # Only reference periods without a fit of their own need R's shipped convergence.
    zero = expected == 0
    assert np.all(zero[r_loose & compare]), name

    def where(mask: np.ndarray) -> list[tuple[str, str]]:
        return [(names[i], str(series.dates[rows[c]])) for i, c in zip(*np.nonzero(mask))]

    # The same NA pattern: failed fits (R: alarm and trend NA, expected 0), limit54 not met,
    # an overflowing muan bound.
    failed = got.failed[:, rows]
    assert not where(compare & (failed != np.isnan(r_trend))), name
    assert not where(compare & (failed != np.isnan(r_alarm))), name
    assert not where(compare & (np.isnan(expected) != np.isnan(r_expected))), name
    assert not where(compare & (np.isnan(upper) != np.isnan(r_upper))), name
    # The same trend decision and alarms wherever a model was fitted.
    fitted = compare & ~failed
    assert not where(fitted & (got.trend[:, rows] != (r_trend == 1))), name
    assert not where(fitted & (got.alarm[:, rows] != (r_alarm == 1))), name

    # No cases in the reference data: korona returns the limit μ₀ = 0 (and bound 0); R's glm
    # stops once the deviance stalls, at μ₀ ≈ 1e-17 (1e-11 as shipped), with a bound ≈ μ₀^¼.
    tiny = compare & zero & ~failed
    assert np.all(r_expected[tiny] < 1e-9), name
    assert np.all(r_upper[tiny & (upper == 0)] < 1e-2), name
    for ours, theirs in ((expected, r_expected), (upper, r_upper)):
        both = compare & ~zero & ~np.isnan(ours)
        np.testing.assert_allclose(ours[both], theirs[both], rtol=RTOL, err_msg=name)


def test_the_grid_exercises_every_branch(compared):
    """Guard against a grid that no longer reaches the cases it is meant to compare."""
    results = [v[0] for v in compared.values()]
    rows = [v[2] for v in compared.values()]
    trend, alarm, expected, failed = (
        np.concatenate([getattr(r, name)[:, k].ravel() for r, k in zip(results, rows, strict=True)])
        for name in ("trend", "alarm", "expected", "failed")
    )
    assert trend.any() and not trend.all()
    assert alarm.any()
    assert np.isnan(expected).any()  # limit54 not met somewhere
    assert (expected[~failed] == 0).any()  # a reference period without cases
