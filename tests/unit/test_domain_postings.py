"""The match index's postings: one add/drop for word stems (three columns) and n-grams (one)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from korona.portfolio.matching.postings import Posting, add_slot, drop_slot, forget


def test_add_slot_makes_the_posting_with_one_column_per_frequency() -> None:
    postings: dict[str, Posting] = {}
    add_slot(postings, "test", 0, [1.0, 0.0, 2.0])
    add_slot(postings, "test", 3, [0.0, 1.0, 0.0])
    add_slot(postings, "tes", 3, (0.5,))
    assert list(postings["test"].slots) == [0, 3]
    assert [list(column) for column in postings["test"].tf] == [[1, 0], [0, 1], [2, 0]]
    assert [list(column) for column in postings["tes"].tf] == [[0.5]]


def test_drop_slot_compacts_once_half_is_dead_and_forgets_an_empty_posting() -> None:
    postings: dict[str, Posting] = {}
    for slot in range(4):
        add_slot(postings, "word", slot, (float(slot),))
    add_slot(postings, "lone", 1, (1.0,))
    alive = np.array([True, False, True, True])
    drop_slot(postings, ["word", "lone"], alive)
    assert postings["word"].dead == 1 and list(postings["word"].slots) == [0, 1, 2, 3]
    assert "lone" not in postings
    alive[2] = False
    drop_slot(postings, ["word"], alive)  # two of four dead: not yet more than half
    alive[3] = False
    drop_slot(postings, ["word"], alive)
    assert list(postings["word"].slots) == [0] and list(postings["word"].tf[0]) == [0.0]
    assert postings["word"].dead == 0


def test_forget_drops_a_key_that_reaches_zero() -> None:
    counter = Counter({"a": 2, "b": 1})
    forget(counter, ["a", "b"])
    assert counter == Counter({"a": 1}) and "b" not in counter
