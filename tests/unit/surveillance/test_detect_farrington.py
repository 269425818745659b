"""Farrington flexible / Noufaily: R's hand-checked values and a statsmodels reference."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from korona.surveillance.calendar import Frequency
from korona.surveillance.detect.base import DetectionError, ParameterError, parameters_from_strings
from korona.surveillance.detect.farrington import (
    FarringtonDetector,
    PowerTransform,
    ThresholdMethod,
    assign_weights,
    reference_window,
    threshold_delta,
    threshold_noufaily,
)
from korona.surveillance.series import SeriesSet


def weekly_dates(first: str, count: int) -> np.ndarray:
    return np.datetime64(first) + 7 * np.arange(count)


def test_weights_are_one_when_nothing_is_above_threshold():
    # R test-farringtonFlexible.R: "gamma = 1 if everything below the threshold"
    assert np.allclose(assign_weights(np.zeros((1, 10)), 0.0), 1.0)


def test_weights_hand_checked_case():
    # R test: s = (0×5, 2×5), threshold 0 → 1.6 and 0.4
    s = np.array([[0.0] * 5 + [2.0] * 5])
    weights = assign_weights(s, 0.0)
    assert np.allclose(weights[0, :5], 1.6)
    assert np.allclose(weights[0, 5:], 0.4)


@pytest.mark.parametrize(
    ("transform", "upper", "prob", "score"),
    [
        (PowerTransform.NONE, 8.6926872, 0.0907246, 0.8124165),
        (PowerTransform.HALF, 9.3744842, 0.1189986, 0.6857951),
        (PowerTransform.TWO_THIRDS, 9.1154825, 0.1094727, 0.7289546),
    ],
)
def test_delta_threshold_matches_r(transform, upper, prob, score):
    # R: predFit 5, predSeFit 0.2, phi 1, alpha 0.05, y 8
    u, p, x = threshold_delta(
        np.array([5.0]), np.array([0.2]), np.array([1.0]), transform, 0.05, np.array([8.0])
    )
    assert u[0] == pytest.approx(upper, abs=1e-6)
    assert p[0] == pytest.approx(prob, abs=1e-6)
    assert x[0] == pytest.approx(score, abs=1e-6)


@pytest.mark.parametrize(
    ("phi", "method", "upper", "prob", "score"),
    [
        (1.5, ThresholdMethod.MUAN, 24.0, 0.8597797, 0.4193982),
        (1.0, ThresholdMethod.MUAN, 22.0, 0.9093099, 0.4605347),
        (1.5, ThresholdMethod.NB_PLUGIN, 10.0, 0.03763657, 1.11918153),
        (1.0, ThresholdMethod.NB_PLUGIN, 9.0, 0.01369527, 1.27061541),
    ],
)
def test_noufaily_threshold_matches_r(phi, method, upper, prob, score):
    # R: predFit log(5), predSeFit log(2), alpha 0.05, y 11
    u, p, x = threshold_noufaily(
        np.array([np.log(5)]),
        np.array([np.log(2)]),
        np.array([phi]),
        method,
        0.05,
        np.array([11.0]),
    )
    assert u[0] == pytest.approx(upper)
    assert p[0] == pytest.approx(prob, abs=1e-6)
    assert x[0] == pytest.approx(score, abs=1e-6)


def test_reference_weeks_are_the_nearest_same_weekday():
    # R: dayToConsider 2013-06-06, b = 3 → 2012-06-07, 2011-06-09, 2010-06-03 (Thursdays).
    # Our weeks are Sundays; the same rule picks the nearest Sunday to the date b years back.
    dates = weekly_dates("2005-01-02", 520)
    k = int(np.flatnonzero(dates == np.datetime64("2013-06-09"))[0])
    index, levels = reference_window(dates, k, 3, 0, 1, 0)
    got = sorted(str(d) for d in dates[index])
    # 2012-06-09 is a Saturday → Sunday 2012-06-10; 2011-06-09 Thursday → 2011-06-12;
    # 2010-06-09 Wednesday → 2010-06-06
    assert got == ["2010-06-06", "2011-06-12", "2012-06-10"]
    assert set(levels.tolist()) == {1}


def test_reference_window_lengths_follow_r_blocks():
    dates = weekly_dates("1990-06-03", 1301)
    k = 1200
    # noPeriods = 1: b (2w + 1) points once the current window is left out
    index, _ = reference_window(dates, k, 3, 3, 1, 3)
    assert index.size == 3 * 7
    # p > 1: every level present, current window level p, the last weeks left out
    index, levels = reference_window(dates, k, 3, 3, 10, 26)
    assert set(levels.tolist()) == set(range(1, 11))
    assert index.max() == k - 27
    # blocks between windows have roughly equal length (R: differences ≤ b)
    counts = np.bincount(levels)[1:10]
    assert counts.max() - counts.min() <= 3 + 26


def test_too_short_history_fails_the_point():
    dates = weekly_dates("2019-01-06", 60)
    series = SeriesSet(
        keys=pl.DataFrame({"series": ["a"]}),
        frequency=Frequency.WEEKLY,
        dates=dates,
        observed=np.ones((1, 60), dtype=np.int64),
    )
    # asked for explicitly, weeks without five years of history fail (and are counted) ...
    result = FarringtonDetector().detect(series, years=[2019, 2020])
    assert result.series.failed[0].all()
    assert (result.series.expected[0] == 0).all()  # R leaves expected at 0 on a failed week
    assert result.failed_fits == 60
    # ... and by default only weeks with the full history are predicted (R's default range)
    assert not FarringtonDetector().detect(series).series.predicted.any()


def test_daily_series_are_rejected():
    series = SeriesSet(
        keys=pl.DataFrame({"series": ["a"]}),
        frequency=Frequency.DAILY,
        dates=np.datetime64("2020-01-01") + np.arange(10),
        observed=np.ones((1, 10), dtype=np.int64),
    )
    with pytest.raises(DetectionError, match="weekly"):
        FarringtonDetector().detect(series)


def test_parameters_from_strings_use_the_spec_names():
    detector = parameters_from_strings(
        FarringtonDetector,
        {"no_periods": "10", "past_weeks_not_included": "26", "threshold_method": "muan"},
    )
    assert detector.no_periods == 10
    assert detector.weeks_left_out == 26
    assert detector.threshold_method is ThresholdMethod.MUAN
    with pytest.raises(ParameterError, match="unknown parameter 'b' \\(R's b is years_back\\)"):
        parameters_from_strings(FarringtonDetector, {"b": "5"})
    with pytest.raises(ParameterError, match="must be one of"):
        parameters_from_strings(FarringtonDetector, {"threshold_method": "magic"})


@pytest.mark.parametrize(
    "detector",
    [
        FarringtonDetector(),
        FarringtonDetector(
            no_periods=10, past_weeks_not_included=26, threshold_method=ThresholdMethod.MUAN
        ),
        FarringtonDetector(
            no_periods=10, past_weeks_not_included=26, threshold_method=ThresholdMethod.NB_PLUGIN
        ),
    ],
    ids=["farrington", "noufaily-muan", "noufaily-nbplugin"],
)
def test_equals_statsmodels_reference(detector):
    from test_detect_reference import reference_farrington

    rng = np.random.default_rng(2)
    n_time, n_series = 52 * 7, 12
    t = np.arange(n_time)
    level = np.array([[300, 20, 3, 0.5, 0.05, 0][s % 6] for s in range(n_series)], float)
    drift = np.exp(np.outer(rng.normal(0, 0.002, n_series), t))
    mean = level[:, None] * np.exp(0.5 * np.cos(2 * np.pi * t / 52))[None, :] * drift
    observed = rng.poisson(mean)
    observed[5::6] = 0
    observed[1::6, 330:333] += 30  # an outbreak in the predicted weeks
    series = SeriesSet(
        keys=pl.DataFrame({"series": [str(i) for i in range(n_series)]}),
        frequency=Frequency.WEEKLY,
        dates=weekly_dates("2012-01-01", n_time),
        observed=observed,
    )
    result = detector.detect(series, years=[2018])
    got = result.series
    points = np.flatnonzero(got.predicted[0])[::3]
    ref = reference_farrington(series, detector, points)
    assert np.array_equal(got.failed[:, points], ref["failed"])
    assert np.array_equal(got.status[:, points] == 2, ref["alarm"])
    np.testing.assert_allclose(got.expected[:, points], ref["mu0"], rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(got.threshold4[:, points], ref["upper"], rtol=1e-6, equal_nan=True)
    assert got.status[1, points].any()  # the outbreak is found


def test_issue_case_keeps_the_trend_as_r_does():
    # Issue 10: defaults, b = 5, w = 3; these 35 reference counts (oldest year first) get
    # expected 2.2448645192048047 and upperbound 5.844221278614067 from R surveillance
    # 1.20.3 farringtonFlexible (glm converged at 1e-14), with the trend kept: its p-value
    # uses summary.glm's dispersion after model$weights <- omega (0.380 here, not 1.442).
    counts = "8 3 7 2 7 3 1 1 3 5 2 11 5 9 1 2 5 2 1 4 2 5 2 2 6 3 4 2 1 1 4 3 2 3 4"
    dates = weekly_dates("2014-01-05", 52 * 7)
    k = int(np.flatnonzero(dates == np.datetime64("2020-03-08"))[0])
    index, _ = reference_window(dates, k, 5, 3, 1, 3)
    observed = np.full(dates.size, 3)
    observed[index] = [int(c) for c in counts.split()]
    observed[k - 3 : k + 1] = [2, 3, 4, 5]
    series = SeriesSet(
        keys=pl.DataFrame({"series": ["a"]}),
        frequency=Frequency.WEEKLY,
        dates=dates,
        observed=observed[None, :],
    )
    got = FarringtonDetector().evaluate(series, years=[2020])
    assert got.trend[0, k]
    assert got.expected[0, k] == pytest.approx(2.2448645192048047, rel=1e-9)
    assert got.upperbound[0, k] == pytest.approx(5.844221278614067, rel=1e-6)
    assert not got.alarm[0, k]
