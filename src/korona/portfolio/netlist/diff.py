"""What changed between two net-list versions: inputs in, out and moved, with their reasons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from korona.portfolio.netlist.models import NetlistItem, NetlistVersion


class Change(StrEnum):
    """How an input's place changed from the previous version."""

    IN = "in"  # ny på listen
    OUT = "out"  # tatt av listen
    MOVED = "moved"  # flyttet
    SAME = "same"  # uendret


@dataclass(frozen=True)
class DiffRow:
    """One input's change between two versions; positions are 1-based, None when absent."""

    change: Change
    input_id: int
    title: str
    old_position: int | None
    new_position: int | None
    reason: str


def _reason(item: NetlistItem | None, recorded: Mapping[int, str], input_id: int) -> str:
    if input_id in recorded:
        return recorded[input_id]
    return (item.pin_reason or "") if item is not None else ""


def diff_versions(
    previous: NetlistVersion | None,
    current: NetlistVersion,
    reasons: Mapping[int, str] | None = None,
) -> list[DiffRow]:
    """Return the changes from ``previous`` to ``current``: in and moved in the new order, then out.

    ``reasons`` are the reasons recorded for the current version by input id; an item pinned
    in or out brings its pin reason when nothing else was recorded.
    """
    recorded = dict(reasons or {})
    old = {item.input_id: item for item in previous.items} if previous else {}
    rows: list[DiffRow] = []
    for item in current.items:
        before = old.get(item.input_id)
        if before is None:
            change = Change.IN
        elif before.position != item.position:
            change = Change.MOVED
        else:
            change = Change.SAME
        rows.append(
            DiffRow(
                change,
                item.input_id,
                item.input.title,
                before.position if before else None,
                item.position,
                _reason(item, recorded, item.input_id) if change != Change.SAME else "",
            )
        )
    kept = {item.input_id for item in current.items}
    for item in previous.items if previous else []:
        if item.input_id not in kept:
            rows.append(
                DiffRow(
                    Change.OUT,
                    item.input_id,
                    item.input.title,
                    item.position,
                    None,
                    recorded.get(item.input_id, ""),
                )
            )
    return rows


def changed(rows: list[DiffRow]) -> list[DiffRow]:
    """Return only the rows that changed."""
    return [row for row in rows if row.change != Change.SAME]
