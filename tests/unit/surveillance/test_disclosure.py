"""Linked small-cell suppression: no relation is left with exactly one hidden cell."""

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from korona.surveillance.disclosure import COMPLEMENTARY_LABEL, records, suppress_linked


def test_hand_case_county_and_weeks():
    # Two weeks of a county (c) and its municipalities a, b; the county row is the total.
    frame = pl.DataFrame(
        {
            "location_code": ["c", "a", "b", "c", "a", "b"],
            "family": ["c"] * 6,
            "week": [1, 1, 1, 2, 2, 2],
            "n": [12, 3, 9, 20, 0, 20],
        }
    )
    out = suppress_linked(frame, "n", [["family", "week"]])
    # Week 1: a (3) is hidden, so the smallest other non-zero cell (b, 9) is hidden as well.
    assert out["n__label"].to_list() == [None, "<5", COMPLEMENTARY_LABEL, None, None, None]
    assert records(out.select("n", "n__label"))[1] == {"n": "<5"}


def test_a_cell_hidden_for_one_relation_is_protected_in_the_other():
    # Rows: weeks 1–2 of a and b plus each location's total (week 0); columns: a + b = c.
    frame = pl.DataFrame(
        {
            "loc": ["a", "a", "a", "b", "b", "b", "c", "c", "c"],
            "week": [0, 1, 2] * 3,
            "family": ["c"] * 9,
            "n": [13, 3, 10, 30, 15, 15, 43, 18, 25],
        }
    )
    out = suppress_linked(frame, "n", [["loc"], ["family", "week"]])
    hidden = out.filter(pl.col("n_hidden"))
    for keys in (["loc"], ["family", "week"]):
        counts = out.group_by(keys).agg(pl.col("n_hidden").sum())["n_hidden"]
        assert 1 not in counts.to_list()
    assert hidden.height >= 4


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), min_size=3, max_size=3), min_size=2, max_size=6))
def test_no_relation_keeps_exactly_one_hidden_cell(grid):
    """Municipalities × weeks with county totals per week and location totals over weeks."""
    rows = []
    for m, weeks in enumerate(grid):
        rows += [(f"m{m}", w, n) for w, n in enumerate(weeks)]
        rows.append((f"m{m}", -1, sum(weeks)))
    for w in range(3):
        rows.append(("county", w, sum(weeks[w] for weeks in grid)))
    rows.append(("county", -1, sum(map(sum, grid))))
    frame = pl.DataFrame(rows, schema=["loc", "week", "n"], orient="row").with_columns(
        pl.lit("county").alias("family")
    )
    out = suppress_linked(frame, "n", [["loc"], ["family", "week"]])
    assert out.filter(pl.col("n").is_between(1, 4))["n_hidden"].all()
    assert not out.filter(pl.col("n") == 0)["n_hidden"].any()
    for keys in (["loc"], ["family", "week"]):
        counts = out.group_by(keys).agg(pl.col("n_hidden").sum())["n_hidden"]
        assert 1 not in counts.to_list()
    assert out.select("loc", "week", "n").equals(frame.select("loc", "week", "n"))
