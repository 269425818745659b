"""SeriesSet: shapes checked once, read-only copies, polars long-frame round trips."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from korona.surveillance.calendar import Frequency
from korona.surveillance.series import SeriesSet, SeriesSetError, Status


def weekly(n_series=2, n_time=4, **extra):
    return SeriesSet(
        keys=pl.DataFrame({"series": [f"s{i}" for i in range(n_series)]}),
        frequency=Frequency.WEEKLY,
        dates=np.datetime64("2020-01-05") + 7 * np.arange(n_time),
        observed=np.arange(n_series * n_time).reshape(n_series, n_time),
        **extra,
    )


def test_arrays_are_read_only_copies_of_the_input():
    observed = np.ones((1, 3), dtype=np.int64)
    series = SeriesSet(
        keys=pl.DataFrame({"series": ["a"]}),
        frequency=Frequency.DAILY,
        dates=np.datetime64("2020-01-01") + np.arange(3),
        observed=observed,
    )
    observed[0, 0] = 99
    assert series.observed[0, 0] == 1
    with pytest.raises(ValueError, match="read-only"):
        series.observed[0, 0] = 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"observed": np.zeros((2, 3))}, "observed has shape"),
        ({"observed": -np.ones((2, 4))}, "negative"),
        ({"observed": np.full((2, 4), 0.5)}, "whole numbers"),
        ({"denominator": np.ones((1, 4))}, "denominator has shape"),
        ({"expected": np.ones((2, 4))}, "predicted mask"),
        ({"dates": np.datetime64("2020-01-06") + 7 * np.arange(4)}, "Sunday"),
        ({"dates": np.datetime64("2020-01-05") + 14 * np.arange(4)}, "consecutive weeks"),
        ({"keys": pl.DataFrame({"series": ["a", "a"]})}, "duplicate"),
    ],
)
def test_invalid_sets_are_rejected_with_a_clear_message(change, message):
    base = {
        "keys": pl.DataFrame({"series": ["a", "b"]}),
        "frequency": Frequency.WEEKLY,
        "dates": np.datetime64("2020-01-05") + 7 * np.arange(4),
        "observed": np.zeros((2, 4)),
    }
    with pytest.raises(SeriesSetError, match=message):
        SeriesSet(**(base | change))


def test_from_long_zero_fills_and_round_trips():
    frame = pl.DataFrame(
        {
            "location_code": ["municip0301", "municip0301", "norge"],
            "date": [dt.date(2020, 1, 5), dt.date(2020, 1, 19), dt.date(2020, 1, 12)],
            "n": [3, 5, 7],
            "denominator": [30.0, 50.0, 70.0],
        }
    )
    series = SeriesSet.from_long(frame, frequency=Frequency.WEEKLY, key_columns=["location_code"])
    assert series.keys["location_code"].to_list() == ["municip0301", "norge"]
    assert series.observed.tolist() == [[3, 0, 5], [0, 7, 0]]
    long = series.to_long(predicted_only=False)
    assert long.columns[:5] == ["location_code", "date", "iso_year", "iso_week", "week"]
    assert long.filter(pl.col("n") > 0).sort("n")["week"].to_list() == [
        "2020-W01",
        "2020-W03",
        "2020-W02",
    ]


def test_from_long_rejects_duplicates_and_non_sundays():
    frame = pl.DataFrame(
        {
            "series": ["a", "a"],
            "date": [dt.date(2020, 1, 5)] * 2,
            "n": [1, 2],
            "denominator": [1, 1],
        }
    )
    with pytest.raises(SeriesSetError, match="duplicate"):
        SeriesSet.from_long(frame, frequency=Frequency.WEEKLY, key_columns=["series"])
    frame = frame.with_columns(pl.Series("date", [dt.date(2020, 1, 5), dt.date(2020, 1, 8)]))
    with pytest.raises(SeriesSetError, match="Sunday"):
        SeriesSet.from_long(frame, frequency=Frequency.WEEKLY, key_columns=["series"])


def test_results_export_only_predicted_points_with_text_status():
    shape = (2, 4)
    predicted = np.zeros(shape, dtype=bool)
    predicted[:, 2:] = True
    status = np.zeros(shape, dtype=np.int8)
    status[1, 3] = Status.HIGH.code
    series = weekly(
        predicted=predicted,
        expected=np.ones(shape),
        threshold2=np.ones(shape),
        threshold4=np.ones(shape),
        threshold6=np.ones(shape),
        zscore=np.zeros(shape),
        status=status,
        excess=np.zeros(shape),
        failed=np.zeros(shape),
    )
    long = series.to_long()
    assert long.height == 4
    assert long["status"].to_list() == ["normal", "normal", "normal", "high"]
    assert Status.HIGH.label_nb == "betydelig høyere enn forventet"


def test_subset_keeps_rows_aligned():
    series = weekly(n_series=3)
    picked = series.subset([2, 0])
    assert picked.keys["series"].to_list() == ["s2", "s0"]
    assert picked.observed[0].tolist() == series.observed[2].tolist()
