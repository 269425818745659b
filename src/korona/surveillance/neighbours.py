"""Neighbouring municipalities: shared land borders from the outlines, islands by distance."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

import numpy as np
from scipy.spatial import cKDTree

from korona.surveillance.outlines import OutlineError, Outlines, municipality_outlines

#: Two outlines closer than this somewhere touch: the files were simplified one municipality at a
#: time, so a land border is drawn twice with vertices up to ~0.1 km apart, while the narrowest
#: sound between two municipalities in the files (Bergen–Øygarden at Sotra) is 0.36 km wide.
CONTACT_TOLERANCE_KM = 0.2
#: An island municipality (no land border) is joined to the municipalities within this distance…
ISLAND_REACH_KM = 5.0
#: …or, when none is that close, to those within this factor of the nearest one (Utsira: Karmøy
#: at 14.6 km and Haugesund at 15.6 km, where its ferry goes).
ISLAND_NEAREST_FACTOR = 1.25
_ISLAND_SEARCH_KM = 100.0


def _boundary_points(outlines: Outlines, step_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Return points every ``step_km`` along every ring edge, and each point's code index."""
    same_ring = outlines.ring[1:] == outlines.ring[:-1]
    x0, y0 = outlines.x_km[:-1][same_ring], outlines.y_km[:-1][same_ring]
    x1, y1 = outlines.x_km[1:][same_ring], outlines.y_km[1:][same_ring]
    edge_ring = outlines.ring[:-1][same_ring]
    pieces = np.maximum(1, np.ceil(np.hypot(x1 - x0, y1 - y0) / step_km).astype(np.int64))
    edge = np.repeat(np.arange(pieces.size), pieces)
    t = (np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces)) / pieces[edge]
    points = np.column_stack((x0[edge] + t * (x1 - x0)[edge], y0[edge] + t * (y1 - y0)[edge]))
    _, code_index = np.unique(outlines.codes, return_inverse=True)
    return points, code_index[edge_ring[edge]]


@cache
def _neighbour_table(reference_dir: Path) -> Mapping[str, tuple[str, ...]]:
    outlines = municipality_outlines(reference_dir)
    codes = np.unique(outlines.codes)
    points, owner = _boundary_points(outlines, CONTACT_TOLERANCE_KM)
    close = cKDTree(points).query_pairs(CONTACT_TOLERANCE_KM, output_type="ndarray")
    a, b = owner[close[:, 0]], owner[close[:, 1]]
    names: list[str] = codes.tolist()
    linked: dict[str, set[str]] = {name: set() for name in names}
    for pair in np.unique(a[a != b] * codes.size + b[a != b]).tolist():
        first, second = names[pair // codes.size], names[pair % codes.size]
        linked[first].add(second)
        linked[second].add(first)
    islands = [code for code, near in linked.items() if not near]
    if islands:
        # A kilometre between points is precise enough for distances across the water.
        coarse, coarse_owner = _boundary_points(outlines, 1.0)
        for island in islands:
            for other in _across_water(coarse, coarse_owner, codes, island):
                linked[island].add(other)
                linked[other].add(island)
    return MappingProxyType({code: tuple(sorted(near)) for code, near in linked.items()})


def _across_water(
    points: np.ndarray, owner: np.ndarray, codes: np.ndarray, island: str
) -> list[str]:
    """Return the municipalities nearest an island municipality (see ISLAND_REACH_KM)."""
    own = owner == int(np.searchsorted(codes, island))
    low, high = points[own].min(axis=0), points[own].max(axis=0)
    # Only points within the search radius of the island's box can be the nearest ones.
    radius = _ISLAND_SEARCH_KM
    near = ~own & np.all((points > low - radius) & (points < high + radius), axis=1)
    distance, _ = cKDTree(points[own]).query(points[near], distance_upper_bound=radius)
    nearest = np.full(codes.size, np.inf)
    np.minimum.at(nearest, owner[near], distance)
    reach = max(ISLAND_REACH_KM, ISLAND_NEAREST_FACTOR * float(nearest.min()))
    if reach > radius:
        raise OutlineError(f"municipality {island} lies too far from all others")
    return codes[nearest <= reach].tolist()


def neighbours(reference_dir: Path) -> dict[str, tuple[str, ...]]:
    """Return each municipality's neighbours, keyed by municipality number (``"0301"``).

    Two municipalities are neighbours when their outlines come within
    ``CONTACT_TOLERANCE_KM`` of each other (a shared land border, corners included). A
    municipality with no land border (Utsira, Askøy, Røst …) is joined across the water to
    the municipalities within ``ISLAND_REACH_KM``, or within ``ISLAND_NEAREST_FACTOR`` times
    the distance of the nearest one, so every municipality has at least one neighbour; the
    relation is symmetric. Computed once per reference folder.

    Parameters
    ----------
    reference_dir:
        The shared reference data folder (holds ``maps/``).

    Returns
    -------
    Municipality number → sorted tuple of neighbouring municipality numbers.
    """
    return dict(_neighbour_table(reference_dir))
