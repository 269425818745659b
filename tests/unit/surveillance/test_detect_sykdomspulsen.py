"""Sykdomspulsen quasi-Poisson detector: equals a statsmodels reference, and hand-checked rules."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from test_detect_reference import reference_sykdomspulsen

from korona.surveillance.calendar import Frequency
from korona.surveillance.detect.sykdomspulsen import (
    SykdomspulsenDetector,
    design_matrix,
    training_window,
)
from korona.surveillance.series import SeriesSet, Status


def make_series(rng, n_series, dates, frequency, kinds=None):
    """Series of many shapes: big, medium, small-municipality, zeros-heavy, empty, outbreaks."""
    t = np.arange(dates.size)
    period = 52 if frequency is Frequency.WEEKLY else 365
    levels = [800.0, 25.0, 3.0, 0.4, 0.04, 0.0, 12.0]
    observed, denominator = [], []
    for i in range(n_series):
        kind = i % len(levels) if kinds is None else kinds[i]
        level = levels[kind] * rng.uniform(0.5, 1.5)
        season = np.exp(
            rng.uniform(0.1, 0.6) * np.cos(2 * np.pi * (t - rng.integers(period)) / period)
        )
        trend = np.exp(rng.normal(0, 0.3) * t / t.size)
        mean = level * season * trend
        den = rng.poisson(np.maximum(mean, 0.05) * 40 + 5).astype(float)
        y = rng.poisson(mean)
        if kind == 6:  # outbreaks: a few bursts on top
            for start in rng.integers(0, t.size - 3, size=3):
                y[start : start + 3] += rng.poisson(8 * level, size=3)
        observed.append(y)
        denominator.append(den)
    return SeriesSet(
        keys=pl.DataFrame({"series": [f"s{i:03d}" for i in range(n_series)]}),
        frequency=frequency,
        dates=dates,
        observed=np.array(observed),
        denominator=np.array(denominator),
    )


def assert_equals_reference(series, detector, years=None):
    result = detector.detect(series, years=years)
    ref, ref_failed, ref_dispersion = reference_sykdomspulsen(series, detector, years)
    got = result.series
    mask = got.predicted
    assert np.array_equal(got.failed[mask], ref_failed[mask])
    ok = mask & ~ref_failed
    for mine, theirs in (
        (got.expected, ref["expected"]),
        (got.threshold2, ref["t2"]),
        (got.threshold4, ref["t4"]),
        (got.threshold6, ref["t6"]),
    ):
        np.testing.assert_allclose(mine[ok], theirs[ok], rtol=1e-6, atol=0)
    # z-scores near 0 are compared on the scale of their standard deviation
    np.testing.assert_allclose(got.zscore[ok], ref["z"][ok], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(result.dispersion, ref_dispersion, rtol=1e-8, atol=0)
    # failed fits fall back to spec §2 step 8
    bad = mask & ref_failed
    assert np.all(got.expected[bad] == 0) and np.all(got.zscore[bad] == 0)
    assert np.all(got.threshold2[bad] == 5) and np.all(got.threshold4[bad] == 10)
    assert np.all(got.threshold6[bad] == 15)
    return result


def test_weekly_equals_statsmodels_on_many_random_series():
    rng = np.random.default_rng(20201)
    dates = np.datetime64("2011-01-02") + 7 * np.arange(52 * 9 + 2)
    series = make_series(rng, 63, dates, Frequency.WEEKLY)
    result = assert_equals_reference(series, SykdomspulsenDetector(), years=range(2015, 2020))
    # the set really contains failing fits (all-zero and near-empty series) and successes
    assert 0 < result.failed_fits < result.fits
    assert result.fits == 63 * 5


def test_short_history_is_trained_on_the_first_years_and_equals_reference():
    rng = np.random.default_rng(7)
    dates = np.datetime64("2018-01-07") + 7 * np.arange(130)
    series = make_series(rng, 21, dates, Frequency.WEEKLY)
    result = assert_equals_reference(series, SykdomspulsenDetector())
    assert result.fit_labels == ("2018", "2019", "2020")


def test_daily_equals_statsmodels():
    rng = np.random.default_rng(99)
    dates = np.datetime64("2016-01-01") + np.arange(365 * 4 + 200)
    series = make_series(rng, 7, dates, Frequency.DAILY, kinds=[0, 1, 2, 3, 5, 6, 1])
    assert_equals_reference(series, SykdomspulsenDetector(), years=[2019, 2020])


def test_block_size_and_threads_do_not_change_results():
    rng = np.random.default_rng(3)
    dates = np.datetime64("2012-01-01") + 7 * np.arange(52 * 7)
    series = make_series(rng, 40, dates, Frequency.WEEKLY)
    one = SykdomspulsenDetector(block_size=7, workers=1).detect(series).series
    two = SykdomspulsenDetector(block_size=256, workers=2).detect(series).series
    for name in ("expected", "threshold2", "threshold4", "zscore"):
        np.testing.assert_allclose(getattr(one, name), getattr(two, name), rtol=1e-9)
    assert np.array_equal(one.status, two.status)


def test_training_window_leaves_out_31_december_and_uses_five_years():
    dates = np.arange(np.datetime64("2010-01-01"), np.datetime64("2021-01-01"))
    mask = training_window(dates, 2020)
    used = dates[mask]
    assert str(used.min()) == "2015-01-01"
    assert str(used.max()) == "2019-12-30"  # 31 December 2019 is left out (date < train_end)


def test_training_window_uses_first_five_years_when_data_start_late():
    dates = np.arange(np.datetime64("2017-01-01"), np.datetime64("2024-01-01"))
    used = dates[training_window(dates, 2019)]
    assert str(used.min()) == "2017-01-01"
    assert str(used.max()) == "2021-12-30"


def test_week_53_belongs_to_the_year_of_its_sunday():
    dates = np.datetime64("2020-12-20") + 7 * np.arange(3)  # W51, W52, W53 (Sunday 2021-01-03)
    series = SeriesSet(
        keys=pl.DataFrame({"series": ["a"]}),
        frequency=Frequency.WEEKLY,
        dates=dates,
        observed=np.zeros((1, 3), dtype=np.int64),
    )
    assert series.years().tolist() == [2020, 2020, 2021]


def test_weekly_design_trend_season_and_holiday_fraction():
    # 2019-W52: Monday 23 Dec .. Sunday 29 Dec holds 25 and 26 December → 2/7
    sunday = np.array([np.datetime64("2019-12-29")])
    x, names = design_matrix(sunday, Frequency.WEEKLY)
    assert names == ("intercept", "trend", "sin", "cos", "holiday")
    days = (np.datetime64("2019-12-23") + np.arange(7)).astype(np.int64)
    assert x[0, 1] == pytest.approx(np.mean((days - 13000) / 100))
    assert x[0, 2] == pytest.approx(np.sin(2 * np.pi * 51 / 52))
    assert x[0, 3] == pytest.approx(np.cos(2 * np.pi * 51 / 52))
    assert x[0, 4] == pytest.approx(2 / 7)


def test_daily_design_day_of_week_and_holiday():
    days = np.array([np.datetime64("2020-05-17"), np.datetime64("2020-05-18")])  # Sun, Mon
    x, names = design_matrix(days, Frequency.DAILY)
    assert x[0, names.index("holiday")] == 1.0  # Constitution Day
    assert x[1, names.index("holiday")] == 0.0
    assert x[0, names.index("weekday7")] == 1.0
    assert x[1, 2:8].sum() == 0.0  # Monday is the reference level
    assert x[0, names.index("sin")] == pytest.approx(np.sin(2 * np.pi * 138 / 366))


def test_thresholds_and_status_by_hand():
    detector = SykdomspulsenDetector()
    mu0, var_eta0, phi = np.array([[10.0]]), np.array([[0.01]]), np.array([[2.0]])
    t2, t4, t6, sd, _ = detector._thresholds(mu0, var_eta0, phi)
    tau = 2.0 + 10.0 * 0.01  # φ + se(μ₀)²/μ₀ with se(μ₀) = μ₀·se(η₀)
    expected_sd = np.sqrt(4 / 9 * 10 ** (1 / 3) * tau)
    assert sd[0, 0] == pytest.approx(expected_sd)
    assert t2[0, 0] == pytest.approx((10 ** (2 / 3) + 2 * expected_sd) ** 1.5)
    assert t4[0, 0] == pytest.approx((10 ** (2 / 3) + 4 * expected_sd) ** 1.5)
    assert t6[0, 0] == pytest.approx((10 ** (2 / 3) + 6 * expected_sd) ** 1.5)
    # floors: U₂ ≥ 2.5, U₄ ≥ 3 for a tiny mean
    t2, t4, _, _, _ = detector._thresholds(np.array([[0.01]]), np.array([[0.0]]), np.array([[1.0]]))
    assert t2[0, 0] == 2.5 and t4[0, 0] == 3.0


def test_status_rule_and_excess_by_hand():
    from korona.surveillance.detect.base import classify

    n = np.array([3, 4, 4, 3, 2, 10])
    t2 = np.array([2.5, 2.5, 2.5, 3.0, 1.0, 4.2])
    t4 = np.array([3.0, 3.0, 4.0, 3.0, 1.0, 9.9])
    status, excess = classify(n, t2, t4)
    assert [Status(["normal", "medium", "high"][s]) for s in status] == [
        Status.MEDIUM,  # n ≥ 3 and n > U₂
        Status.HIGH,  # n ≥ 4 and n > U₄
        Status.MEDIUM,  # n = U₄ is not above it
        Status.NORMAL,  # n = U₂ is not above it
        Status.NORMAL,  # n < 3
        Status.HIGH,
    ]
    assert excess.tolist() == [1, 2, 2, 0, 1, 6]  # ceil(max(0, n − U₂))


def test_all_zero_series_fails_with_fallback_and_is_counted():
    dates = np.datetime64("2014-01-05") + 7 * np.arange(52 * 7)
    observed = np.zeros((2, dates.size), dtype=np.int64)
    observed[1] = np.random.default_rng(1).poisson(20, dates.size)
    observed[0, -1] = 11  # a burst after an empty history
    series = SeriesSet(
        keys=pl.DataFrame({"series": ["empty", "busy"]}),
        frequency=Frequency.WEEKLY,
        dates=dates,
        observed=observed,
    )
    result = SykdomspulsenDetector().detect(series, years=[2020])
    got = result.series
    last = dates.size - 1
    assert result.failed_fits == 1 and result.fits == 2
    assert got.failed[0, last] and not got.failed[1, last]
    assert (got.expected[0, last], got.threshold2[0, last]) == (0.0, 5.0)
    assert (got.threshold4[0, last], got.threshold6[0, last], got.zscore[0, last]) == (10, 15, 0)
    assert got.status[0, last] == Status.HIGH.code  # 11 > 10 with the fallback thresholds
