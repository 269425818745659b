"""Tests for municipal indicators and small-cell suppression (spec §5)."""

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from korona.surveillance.metrics import (
    cases_per_100k,
    covid_consultation_share,
    cumulative_share_infected,
    positivity,
    suppress_small_cells,
)

SUNDAYS = [dt.date(2020, 3, 1), dt.date(2020, 3, 8), dt.date(2020, 3, 15)]
POP = pl.DataFrame(
    {
        "location_code": ["municip0301", "municip0301"],
        "age": ["total", "0-4"],
        "year": [2020, 2020],
        "population": [200_000, 10_000],
    }
)


def weekly_cases(values):
    return pl.DataFrame(
        {
            "location_code": ["municip0301"] * len(values),
            "date": SUNDAYS[: len(values)],
            "n": values,
        }
    )


def test_weekly_and_14_day_incidence():
    weekly = cases_per_100k(weekly_cases([10, 30, 20]), POP)
    assert weekly["per_100k"].to_list() == pytest.approx([5.0, 15.0, 10.0])
    fortnight = cases_per_100k(weekly_cases([10, 30, 20]), POP, window_days=14)
    assert fortnight["n_window"].to_list() == [10, 40, 50]
    assert fortnight["per_100k"].to_list() == pytest.approx([5.0, 20.0, 25.0])


def test_incidence_null_without_population():
    frame = pl.DataFrame({"location_code": ["municip9998"], "date": [SUNDAYS[0]], "n": [3]})
    assert cases_per_100k(frame, POP)["per_100k"].to_list() == [None]


def test_cumulative_share_infected():
    out = cumulative_share_infected(weekly_cases([1000, None, 3000]), POP)
    assert out["cumulative_n"].to_list() == [1000, 1000, 4000]
    assert out["share_infected_percent"].to_list() == pytest.approx([0.5, 0.5, 2.0])


def test_positivity_percent_and_no_tests():
    lab = pl.DataFrame({"n_pos": [5, 0], "n_neg": [95, 0]})
    assert positivity(lab)["positivity_percent"].to_list() == [5.0, None]


def test_covid_consultation_share():
    rows = [
        ("covid19", "in_person", 2, 100),
        ("covid19", "telephone", 1, 50),
        ("covid19", "e_consultation", 1, 50),
        ("gastro", "in_person", 9, 100),
    ]
    frame = pl.DataFrame(
        [
            {
                "location_code": "norge",
                "age": "total",
                "date": SUNDAYS[0],
                "practice_type": "gp",
                "syndrome": s,
                "contact_type": c,
                "n": n,
                "denominator": d,
            }
            for s, c, n, d in rows
        ]
    )
    out = covid_consultation_share(frame)
    assert out.select("n", "denominator", "share_percent").row(0) == (4, 200, 2.0)


def test_suppression_hand_case():
    frame = pl.DataFrame({"county": ["a"] * 4 + ["b"] * 3, "n": [3, 10, 7, 12, 2, 1, 40]})
    out = suppress_small_cells(frame, "n", ["county"])
    # a: 3 hidden, so the smallest visible (7) is hidden too; b: two cells already hidden.
    assert out["n_display"].to_list() == ["<5", "10", "<5", "12", "<5", "<5", "40"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), min_size=1, max_size=8), min_size=1, max_size=5))
def test_suppression_never_lets_a_total_reveal_a_cell(groups):
    frame = pl.DataFrame(
        {"g": [i for i, g in enumerate(groups) for _ in g], "n": [v for g in groups for v in g]}
    )
    out = suppress_small_cells(frame, "n", ["g"])
    for i, _ in enumerate(groups):
        cells = out.filter(pl.col("g") == i)
        hidden = cells.filter(pl.col("n_suppressed"))
        # Every small cell is hidden; visible cells show their value.
        assert (cells.filter(pl.col("n") < 5)["n_suppressed"]).all()
        visible = cells.filter(~pl.col("n_suppressed"))
        assert visible["n_display"].to_list() == [str(v) for v in visible["n"]]
        # Never exactly one hidden cell in a group with other cells: total − visible would give it.
        if cells.height > 1:
            assert hidden.height != 1
    assert frame.equals(out.select("g", "n"))  # input values untouched
