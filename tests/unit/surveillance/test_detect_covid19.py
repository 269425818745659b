"""The covid-19 signal (spec §4), checked by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from korona.surveillance.calendar import Frequency
from korona.surveillance.detect import Covid19Detector, Covid19Source, DetectionError
from korona.surveillance.series import SeriesSet, Status


def weekly(observed, denominator=None, first="2020-03-01"):
    observed = np.atleast_2d(observed)
    return SeriesSet(
        keys=pl.DataFrame({"series": [f"s{i}" for i in range(observed.shape[0])]}),
        frequency=Frequency.WEEKLY,
        dates=np.datetime64(first) + 7 * np.arange(observed.shape[1]),
        observed=observed,
        denominator=None if denominator is None else np.atleast_2d(denominator),
    )


def test_cases_baseline_and_poisson_quantile():
    # weeks: 2020-03-01, -08, -15, -22. Baseline for 03-22 = max(1, ceil((3 + 4) / 2)) = 4;
    # Poisson(4) 97.5 % quantile is 8, so 9 cases are high and 8 are not.
    detector = Covid19Detector(source=Covid19Source.CASES)
    got = detector.detect(weekly([[0, 3, 4, 9], [0, 3, 4, 8]])).series
    assert got.predicted[0].tolist() == [False, False, True, True]  # from 2020-03-09 on
    assert got.expected[0, 3] == 4 and got.threshold4[0, 3] == 8
    assert got.status[:, 3].tolist() == [Status.HIGH.code, Status.NORMAL.code]
    assert got.excess[0, 3] == 1


def test_cases_baseline_is_at_least_one():
    got = Covid19Detector(source=Covid19Source.CASES).detect(weekly([[0, 0, 0, 4]])).series
    assert got.expected[0, 3] == 1  # Poisson(1) 97.5 % quantile is 3 → 4 cases are high
    assert got.threshold4[0, 3] == 3 and got.status[0, 3] == Status.HIGH.code


def test_consultation_share_threshold_as_percentage():
    # previous two weeks: 10 covid of 1000 consultations → share 1 %; this week 500
    # consultations → expected ceil(5) = 5; Poisson(5) 97.5 % quantile 10 → 2 % of 500.
    detector = Covid19Detector()
    got = detector.detect(weekly([[0, 4, 6, 11]], [[100, 400, 600, 500]])).series
    assert got.expected[0, 3] == 5 and got.threshold4[0, 3] == 10
    assert detector.percent_threshold(got.threshold4[:, 3], np.array([500.0]))[0] == 2.0
    assert got.status[0, 3] == Status.HIGH.code  # 2.2 % > 2 %


def test_consultation_share_floor_and_cap():
    detector = Covid19Detector()
    # no covid consultations before: share floored at 0.01 % → expected ceil(0.0001·50) = 1;
    # quantile 3 → 6 % of 50; capped at 100 % when the week has only 2 consultations.
    got = detector.detect(weekly([[0, 0, 0, 4, 2]], [[10, 10, 10, 50, 2]])).series
    assert got.expected[0, 3] == 1 and got.threshold4[0, 3] == 3
    assert got.threshold4[0, 4] == 2  # 100 % of 2 consultations
    assert got.status[0, 4] == Status.NORMAL.code  # 100 % is not above 100 %


def test_weeks_without_consultations_fail_and_daily_is_refused():
    got = Covid19Detector().detect(weekly([[0, 1, 1, 0]], [[5, 5, 5, 0]])).series
    assert got.failed[0, 3]
    daily = SeriesSet(
        keys=pl.DataFrame({"series": ["a"]}),
        frequency=Frequency.DAILY,
        dates=np.datetime64("2020-03-01") + np.arange(5),
        observed=np.zeros((1, 5)),
    )
    with pytest.raises(DetectionError, match="weekly"):
        Covid19Detector().detect(daily)
    with pytest.raises(DetectionError, match="denominator"):
        Covid19Detector().detect(weekly([[0, 1, 1, 0]]))
    assert Covid19Detector(start=dt.date(2020, 3, 20)).detect(
        weekly([[0, 1, 1, 0]], [[5, 5, 5, 5]])
    ).series.predicted[0].tolist() == [False, False, False, True]
