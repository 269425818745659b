"""Tests for the sequential map bins and the signal status colours."""

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from korona.surveillance.colours import (
    INCIDENCE_14D_BREAKS,
    SEQUENTIAL_COLOURS,
    STATUS_COLOURS,
    ColourScale,
    contrast_ratio,
    quantile_scale,
)
from korona.surveillance.series import Status


def test_contrast_ratio_matches_wcag_examples():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#123456", "#123456") == pytest.approx(1.0)


def test_palettes_keep_their_documented_contrast():
    adjacent = [contrast_ratio(a, b) for a, b in pairwise(SEQUENTIAL_COLOURS)]
    assert min(adjacent) >= 1.5
    assert contrast_ratio(SEQUENTIAL_COLOURS[0], SEQUENTIAL_COLOURS[-1]) >= 7
    medium = STATUS_COLOURS[Status.MEDIUM]
    assert contrast_ratio(medium, STATUS_COLOURS[Status.NORMAL]) >= 3
    assert contrast_ratio(medium, STATUS_COLOURS[Status.HIGH]) >= 3
    assert set(STATUS_COLOURS) == set(Status)


def test_incidence_bins_are_half_open():
    scale = ColourScale(INCIDENCE_14D_BREAKS)
    values = np.array([0, 24.9, 25, 49.9, 50, 149.9, 150, 499.9, 500, 5000, np.nan])
    assert scale.bins(values).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, -1]
    assert scale.colour(25.0) == SEQUENTIAL_COLOURS[1]
    assert scale.colour(None) is None and scale.colour(math.nan) is None
    legend = scale.legend()
    assert [entry.colour for entry in legend] == list(SEQUENTIAL_COLOURS)
    assert legend[0].lower is None and legend[-1].upper is None
    assert [(e.lower, e.upper) for e in legend[1:-1]] == list(pairwise(INCIDENCE_14D_BREAKS))


@pytest.mark.parametrize(
    "breaks", [(1.0, 2.0), (3.0, 2.0, 4.0, 5.0), (1.0, 1.0, 2.0, 3.0), (1.0, 2.0, 3.0, math.inf)]
)
def test_bad_breaks_are_refused(breaks):
    with pytest.raises(ValueError):
        ColourScale(breaks)


@given(
    values=hnp.arrays(
        np.float64,
        st.integers(0, 60),
        elements=st.floats(0, 1e5, allow_nan=False) | st.just(math.nan),
    )
)
def test_quantile_scale_bins_every_value_in_order(values):
    scale = quantile_scale(values)
    assert 1 <= len(scale.colours) <= len(SEQUENTIAL_COLOURS)
    assert set(scale.colours) <= set(SEQUENTIAL_COLOURS)
    assert scale.colours[0] == SEQUENTIAL_COLOURS[0]
    if len(scale.colours) > 1:
        assert scale.colours[-1] == SEQUENTIAL_COLOURS[-1]
    bins = scale.bins(values)
    finite = ~np.isnan(values)
    assert (bins[~finite] == -1).all()
    assert ((bins[finite] >= 0) & (bins[finite] < len(scale.colours))).all()
    order = np.argsort(values[finite], kind="stable")
    assert (np.diff(bins[finite][order]) >= 0).all()
    if finite.any():
        # Every break lies inside the data, so the lowest and highest bins are used.
        assert bins[finite].min() == 0 and bins[finite].max() == len(scale.colours) - 1


def test_quantile_scale_gives_five_bins_on_spread_data():
    values = np.linspace(0, 40, 356)
    scale = quantile_scale(values)
    assert scale.breaks == (8.0, 16.0, 24.0, 32.0)
    counts = np.bincount(scale.bins(values), minlength=5)
    assert counts.min() >= 356 // 5 - 2
