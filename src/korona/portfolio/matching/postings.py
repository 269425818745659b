"""Postings of the match index: the slots that hold a term, with its frequency in each field.

Word stems and n-grams are stored alike (a stem has one column a word field, an n-gram one
column), so adding a slot and dropping dead ones is written once here for both.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Posting:
    """Slots holding one term, with the term's weighted frequency per field."""

    slots: array[int] = field(default_factory=lambda: array("i"))
    tf: tuple[array[float], ...] = ()
    dead: int = 0


def add_slot(postings: dict[str, Posting], term: str, slot: int, tfs: Sequence[float]) -> None:
    """Add a slot to the term's posting (made on first use) with its frequency in each column."""
    posting = postings.get(term)
    if posting is None:
        posting = postings[term] = Posting(tf=tuple(array("f") for _ in tfs))
    posting.slots.append(slot)
    for column, value in zip(posting.tf, tfs, strict=True):
        column.append(value)


def drop_slot(postings: dict[str, Posting], terms: Iterable[str], alive: np.ndarray) -> None:
    """Count a removed slot as dead in the postings of its terms (``alive`` already says so)."""
    for term in terms:
        posting = postings[term]
        posting.dead += 1
        # Drop dead entries once they are half the list, so lists stay short.
        if posting.dead * 2 > len(posting.slots):
            _compact(postings, term, posting, alive)


def _compact(postings: dict[str, Posting], term: str, posting: Posting, alive: np.ndarray) -> None:
    slots = np.frombuffer(posting.slots, dtype=np.int32)
    live = alive[slots]
    if not live.any():
        del postings[term]
        return
    new_slots = array("i", slots[live].tobytes())
    new_tf = tuple(
        array("f", np.frombuffer(column, dtype=np.float32)[live].tobytes()) for column in posting.tf
    )
    del slots, live
    postings[term] = Posting(slots=new_slots, tf=new_tf)


def forget(counter: Counter[str], items: Iterable[str]) -> None:
    """Decrement counts and drop keys that reach zero, so membership tests stay true."""
    for item in items:
        left = counter[item] - 1
        if left > 0:
            counter[item] = left
        else:
            del counter[item]
