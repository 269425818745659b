"""Tests for flagging weeks whose consultation total falls far below the usual level."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from korona.surveillance.completeness import (
    MIN_BASELINE,
    possibly_incomplete,
    usual_totals,
)


def slow_usual(totals, holiday, weeks, min_weeks):
    """One week at a time: the median of the last `weeks` earlier usable weeks."""
    out = np.full(totals.shape, np.nan)
    for s in range(totals.shape[0]):
        for t in range(totals.shape[1]):
            earlier = [
                totals[s, u] for u in range(t) if not holiday[s, u] and not np.isnan(totals[s, u])
            ][-weeks:]
            if len(earlier) >= min_weeks:
                out[s, t] = np.median(earlier)
    return out


def slow_flags(totals, holiday, ratio, min_baseline, weeks, min_weeks):
    usual = slow_usual(totals, holiday, weeks, min_weeks)
    flags = np.zeros(totals.shape, dtype=bool)
    for s, t in np.ndindex(totals.shape):
        if holiday[s, t] or np.isnan(usual[s, t]) or usual[s, t] < min_baseline:
            continue
        flags[s, t] = np.isnan(totals[s, t]) or totals[s, t] < ratio * usual[s, t]
    return flags


def series(shape):
    counts = hnp.arrays(np.float64, shape, elements=st.integers(0, 400).map(float))
    gaps = hnp.arrays(bool, shape, elements=st.booleans())
    return st.tuples(counts, gaps).map(lambda pair: np.where(pair[1], np.nan, pair[0]))


@st.composite
def cases(draw):
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 30)))
    totals = draw(series(shape))
    per_series = draw(st.booleans())
    holiday = draw(hnp.arrays(bool, shape if per_series else shape[1:], elements=st.booleans()))
    weeks = draw(st.integers(1, 10))
    min_weeks = draw(st.integers(1, weeks))
    return totals, holiday, weeks, min_weeks


@settings(max_examples=150, deadline=None)
@given(case=cases(), ratio=st.floats(0.05, 1.0), min_baseline=st.sampled_from([0.0, 30.0]))
def test_vectorised_rule_equals_week_by_week_reference(case, ratio, min_baseline):
    totals, holiday, weeks, min_weeks = case
    before = (totals.copy(), holiday.copy())
    full_holiday = np.broadcast_to(holiday, totals.shape)
    got_usual = usual_totals(totals, holiday, weeks=weeks, min_weeks=min_weeks)
    np.testing.assert_array_equal(got_usual, slow_usual(totals, full_holiday, weeks, min_weeks))
    got = possibly_incomplete(
        totals, holiday, ratio=ratio, min_baseline=min_baseline, weeks=weeks, min_weeks=min_weeks
    )
    assert got.dtype == bool and got.shape == totals.shape
    expected = slow_flags(totals, full_holiday, ratio, min_baseline, weeks, min_weeks)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(totals, before[0])
    np.testing.assert_array_equal(holiday, before[1])


def test_a_dip_below_half_the_usual_level_is_flagged():
    usual = 200.0
    totals = np.array([[usual] * 8 + [90.0, 110.0, np.nan, 30.0, usual]])
    holiday = np.zeros(totals.shape[1], dtype=bool)
    holiday[11] = True  # a holiday week with few consultations is expected, not missing
    flags = possibly_incomplete(totals, holiday)
    assert flags[0].tolist() == [False] * 8 + [True, False, True, False, False]


def test_holiday_and_missing_weeks_stay_out_of_the_usual_level():
    totals = np.array([[100.0, 100.0, 5.0, np.nan, 100.0, 100.0, 40.0]])
    holiday = np.array([False, False, True, False, False, False, False])
    usual = usual_totals(totals, holiday, weeks=4, min_weeks=4)
    assert np.isnan(usual[0, :6]).all() and usual[0, 6] == 100.0
    assert possibly_incomplete(totals, holiday, weeks=4, min_weeks=4)[0].tolist() == [
        *[False] * 6,
        True,
    ]


def test_small_municipalities_are_not_judged():
    low = MIN_BASELINE / 2
    totals = np.array([[low] * 8 + [0.0], [2 * MIN_BASELINE] * 8 + [0.0]])
    flags = possibly_incomplete(totals, np.zeros(9, dtype=bool))
    assert flags[:, 8].tolist() == [False, True]


@pytest.mark.parametrize(
    ("totals", "kwargs", "message"),
    [
        (np.ones(5), {}, "2-D"),
        (-np.ones((1, 5)), {}, "negative"),
        (np.ones((1, 5)), {"ratio": 0.0}, "ratio"),
        (np.ones((1, 5)), {"weeks": 3, "min_weeks": 4}, "min_weeks"),
    ],
)
def test_bad_input_is_refused(totals, kwargs, message):
    with pytest.raises(ValueError, match=message):
        possibly_incomplete(totals, np.zeros(5, dtype=bool), **kwargs)
