"""Laws every detector keeps, checked with hypothesis on random series."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from korona.surveillance.calendar import Frequency
from korona.surveillance.detect import (
    Covid19Detector,
    FarringtonDetector,
    SykdomspulsenDetector,
)
from korona.surveillance.series import SeriesSet, Status

N_TIME = 52 * 6 + 10


@st.composite
def series_sets(draw):
    n_series = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    levels = draw(
        st.lists(st.sampled_from([0.0, 0.05, 0.5, 3.0, 40.0]), min_size=n_series, max_size=n_series)
    )
    t = np.arange(N_TIME)
    mean = np.array(levels)[:, None] * np.exp(0.5 * np.cos(2 * np.pi * t / 52))[None, :]
    observed = rng.poisson(mean)
    spikes = draw(st.integers(0, 3))
    for _ in range(spikes):
        observed[rng.integers(n_series), rng.integers(N_TIME)] += int(rng.integers(1, 60))
    return SeriesSet(
        keys=pl.DataFrame({"series": [f"s{i}" for i in range(n_series)]}),
        frequency=Frequency.WEEKLY,
        dates=np.datetime64("2014-01-05") + 7 * t,
        observed=observed,
        denominator=rng.poisson(mean * 30 + 20).astype(float),
    )


common = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Every detector runs in these; Farrington fits each week, so fewer examples keep them quick.
every_detector = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
DETECTORS = [
    SykdomspulsenDetector(workers=1),
    FarringtonDetector(workers=1),
    Covid19Detector(start=np.datetime64("2019-01-01").item()),
]


@common
@given(series_sets())
def test_high_means_at_least_four_cases_above_the_high_threshold(series):
    got = SykdomspulsenDetector(workers=1).detect(series, years=[2019]).series
    high = got.status == Status.HIGH.code
    assert np.all(got.observed[high] >= 4)
    assert np.all(got.observed[high] > got.threshold4[high])
    medium = got.status == Status.MEDIUM.code
    assert np.all(got.observed[medium] >= 3)
    assert np.all(got.observed[medium] > got.threshold2[medium])


@common
@given(series_sets())
def test_thresholds_never_below_their_floors(series):
    got = SykdomspulsenDetector(workers=1).detect(series, years=[2019]).series
    mask = got.predicted
    assert np.all(got.threshold2[mask] >= 2.5)
    assert np.all(got.threshold4[mask] >= 3.0)
    assert np.all(got.threshold4[mask] >= got.threshold2[mask])


@every_detector
@given(series_sets(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_series_order(series, random):
    order = list(range(series.n_series))
    random.shuffle(order)
    shuffled = series.subset(order)
    for detector in DETECTORS:
        a = detector.detect(series, years=[2019]).series
        b = detector.detect(shuffled, years=[2019]).series
        for name in ("expected", "threshold4", "zscore"):
            np.testing.assert_allclose(
                getattr(a, name)[order], getattr(b, name), rtol=1e-9, atol=1e-9, equal_nan=True
            )
        assert np.array_equal(a.status[order], b.status)
        assert np.array_equal(a.failed[order], b.failed)


@every_detector
@given(series_sets())
def test_inputs_are_never_mutated(series):
    before = (series.observed.copy(), series.denominator.copy(), series.keys.clone())
    for detector in DETECTORS:
        result = detector.detect(series, years=[2019])
        assert result.series is not series
    assert np.array_equal(series.observed, before[0])
    assert np.array_equal(series.denominator, before[1])
    assert series.keys.equals(before[2])
    assert series.predicted is None  # the input never gains results
