"""The SVG map of Norway: municipality and county paths and the choropleth drawn on them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from korona.surveillance.outlines import (
    OutlineError,
    Outlines,
    county_outlines,
    municipality_outlines,
)

#: SVG user units per kilometre: a 0.5 km grid keeps every vertex of the simplified outlines
#: (median edge 2 km) distinct while the 356 municipality paths stay near 160 KB.
SVG_UNITS_PER_KM = 2.0
_MARGIN_KM = 10.0
_NO_DATA_FILL = "#d9d9d9"
_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-z]{3,20})$")


class Area(NamedTuple):
    """How one municipality is drawn on a choropleth: fill colour, accessible name, link."""

    fill: str
    label: str
    href: str | None = None


@dataclass(frozen=True, slots=True)
class Bounds:
    """An axis-aligned box in SVG user units (y grows downwards, north is up)."""

    min_x: float
    min_y: float
    max_x: float
    max_y: float

    @property
    def width(self) -> float:
        """Return the width in SVG user units."""
        return self.max_x - self.min_x

    @property
    def height(self) -> float:
        """Return the height in SVG user units."""
        return self.max_y - self.min_y

    def union(self, other: Bounds) -> Bounds:
        """Return the smallest box holding both boxes."""
        return Bounds(
            min(self.min_x, other.min_x),
            min(self.min_y, other.min_y),
            max(self.max_x, other.max_x),
            max(self.max_y, other.max_y),
        )

    def padded(self, margin: float) -> Bounds:
        """Return the box grown by ``margin`` user units on every side."""
        return Bounds(
            self.min_x - margin, self.min_y - margin, self.max_x + margin, self.max_y + margin
        )

    def contains(self, other: Bounds) -> bool:
        """Return whether ``other`` lies inside this box (edges included)."""
        return (
            self.min_x <= other.min_x
            and self.min_y <= other.min_y
            and other.max_x <= self.max_x
            and other.max_y <= self.max_y
        )

    def view_box(self) -> str:
        """Return the box as an SVG ``viewBox`` value."""
        return f"{self.min_x:g} {self.min_y:g} {self.width:g} {self.height:g}"


@dataclass(frozen=True, slots=True)
class MapGeometry:
    """SVG path data for every municipality and county, on one plane and one viewBox.

    Keys are municipality numbers (``"0301"``) and county numbers (``"03"``); a municipality
    belongs to the county its number starts with (true for every 2020 municipality).
    """

    view_box: Bounds
    municipality_paths: Mapping[str, str]
    county_paths: Mapping[str, str]
    municipality_bounds: Mapping[str, Bounds]
    county_bounds: Mapping[str, Bounds]

    def municipalities_in(self, county: str) -> tuple[str, ...]:
        """Return the municipality numbers of one county, sorted."""
        return tuple(code for code in self.municipality_paths if code[:2] == county)


def _encode_rings(outlines: Outlines, origin_x: float, origin_y: float) -> dict[str, str]:
    """Return compact SVG path data per code: absolute move, relative lines, close."""
    x = np.rint((outlines.x_km - origin_x) * SVG_UNITS_PER_KM).astype(np.int64)
    y = np.rint((origin_y - outlines.y_km) * SVG_UNITS_PER_KM).astype(np.int64)
    ring = outlines.ring
    start = np.r_[True, ring[1:] != ring[:-1]]
    # Drop vertices that round onto their predecessor; "z" closes the ring, so the repeated
    # first vertex goes too.
    moved = start | (x != np.r_[0, x[:-1]]) | (y != np.r_[0, y[:-1]])
    x, y, ring = x[moved], y[moved], ring[moved]
    start = np.r_[True, ring[1:] != ring[:-1]]
    end = np.r_[ring[1:] != ring[:-1], True]
    first = np.maximum.accumulate(np.where(start, np.arange(ring.size), 0))
    keep = ~(end & ~start & (x == x[first]) & (y == y[first]))
    x, y, ring = x[keep], y[keep], ring[keep]
    ring_ids, ring_start, ring_size = np.unique(ring, return_index=True, return_counts=True)
    parts: dict[str, list[str]] = {}
    largest: dict[str, tuple[int, str]] = {}
    for ring_id, begin, size in zip(ring_ids, ring_start, ring_size, strict=True):
        code = str(outlines.codes[ring_id])
        dx = np.diff(x[begin : begin + size]).tolist()
        dy = np.diff(y[begin : begin + size]).tolist()
        steps = "".join(
            f"{'' if u < 0 else ' '}{u}{'' if v < 0 else ' '}{v}"
            for u, v in zip(dx, dy, strict=True)
        )
        head = f"M{x[begin]} {y[begin]}"
        data = f"{head}l{steps.removeprefix(' ')}z" if size > 1 else f"{head}z"
        if size >= 3:
            parts.setdefault(code, []).append(data)
        elif size > largest.get(code, (0, ""))[0]:
            largest[code] = (size, data)
    # A location whose every ring shrank below a triangle keeps its biggest remnant.
    for code, (_, data) in largest.items():
        parts.setdefault(code, [data])
    return {code: "".join(parts[code]) for code in sorted(parts)}


def _path_bounds(data: str) -> Bounds:
    """Return the box of one path written by ``_encode_rings``."""
    xs: list[int] = []
    ys: list[int] = []
    for ring in data.split("z"):
        if not ring:
            continue
        head, _, tail = ring.partition("l")
        x, y = (int(v) for v in re.findall(r"-?\d+", head))
        xs.append(x)
        ys.append(y)
        steps = [int(v) for v in re.findall(r"-?\d+", tail)]
        for dx, dy in zip(steps[::2], steps[1::2], strict=True):
            x += dx
            y += dy
            xs.append(x)
            ys.append(y)
    return Bounds(min(xs), min(ys), max(xs), max(ys))


@cache
def map_geometry(reference_dir: Path) -> MapGeometry:
    """Return SVG path data for the 356 municipalities and 11 counties (cached per folder).

    Coordinates are Transverse Mercator kilometres (see :func:`transverse_mercator_km`) times
    ``SVG_UNITS_PER_KM``, rounded to integers, north up, origin at the map's top-left
    corner less a 10 km margin. Paths use absolute ``M``, relative ``l`` and ``z`` per ring
    and must be filled with ``fill-rule="evenodd"`` (the files carry lakes and enclaves as
    plain rings). Municipality and county boxes are measured on the rounded coordinates, so
    a county's box holds every one of its municipalities.

    Parameters
    ----------
    reference_dir:
        The shared reference data folder (holds ``maps/``).
    """
    municipalities = municipality_outlines(reference_dir)
    counties = county_outlines(reference_dir)
    origin_x = min(municipalities.x_km.min(), counties.x_km.min()) - _MARGIN_KM
    origin_y = max(municipalities.y_km.max(), counties.y_km.max()) + _MARGIN_KM
    municipality_paths = _encode_rings(municipalities, origin_x, origin_y)
    county_paths = _encode_rings(counties, origin_x, origin_y)
    municipality_bounds = {code: _path_bounds(d) for code, d in municipality_paths.items()}
    county_bounds: dict[str, Bounds] = {}
    for code, box in municipality_bounds.items():
        county = code[:2]
        county_bounds[county] = county_bounds[county].union(box) if county in county_bounds else box
    if set(county_bounds) != set(county_paths):
        raise OutlineError("the county outlines do not match the municipalities' county numbers")
    everything = Bounds(0, 0, 0, 0)
    for box in [*municipality_bounds.values(), *(_path_bounds(d) for d in county_paths.values())]:
        everything = everything.union(box)
    margin = _MARGIN_KM * SVG_UNITS_PER_KM
    return MapGeometry(
        view_box=Bounds(0, 0, everything.max_x + margin, everything.max_y + margin),
        municipality_paths=MappingProxyType(municipality_paths),
        county_paths=MappingProxyType(county_paths),
        municipality_bounds=MappingProxyType(municipality_bounds),
        county_bounds=MappingProxyType(dict(sorted(county_bounds.items()))),
    )


def render_choropleth(
    geometry: MapGeometry,
    areas: Mapping[str, Area | tuple[str, str, str | None]],
    *,
    label: str,
    county: str | None = None,
    no_data_fill: str = _NO_DATA_FILL,
) -> str:
    """Render a choropleth map of municipalities as one SVG element (a string).

    Each municipality in ``areas`` is filled with its colour, named by a ``<title>`` and,
    with an href, wrapped in a link; other municipalities are drawn in ``no_data_fill``
    without name or link. County outlines go on top, unfilled and transparent to the pointer.
    With ``county`` the viewBox zooms to that county and only its municipalities are drawn,
    without county outline.
    The output is deterministic and uses presentation attributes only (no inline CSS, which
    the app's Content-Security-Policy forbids).

    Parameters
    ----------
    geometry:
        From :func:`map_geometry`.
    areas:
        Municipality number → (fill colour as ``#rgb``/``#rrggbb`` or a CSS name, accessible
        name, link or None).
    label:
        Accessible name of the whole map.
    county:
        County number (``"46"``) to zoom to, or None for all of Norway.
    """
    unknown = sorted(set(areas) - set(geometry.municipality_paths))
    if unknown:
        raise ValueError(f"unknown municipality numbers: {', '.join(unknown[:5])}")
    if county is None:
        codes = tuple(geometry.municipality_paths)
        box = geometry.view_box
        outlines = geometry.county_paths
    elif county in geometry.county_paths:
        codes = geometry.municipalities_in(county)
        wide = geometry.county_bounds[county]
        box = wide.padded(0.03 * max(wide.width, wide.height))
        # The county files are simplified harder than the municipality files; zoomed in, the
        # county's own outline would cut across its municipalities, and their edges draw it.
        outlines = {}
    else:
        raise ValueError(f"unknown county number: {county!r}")
    _check_colour(no_data_fill)
    # Strokes are in user units: scale them with the box so they look alike at every zoom.
    thin = max(box.width, box.height) / 1000
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{box.view_box()}" role="group"'
        f" aria-label={quoteattr(label)}>",
        f'<g fill-rule="evenodd" stroke="#7f7f7f" stroke-width="{thin:.3g}"'
        ' stroke-linejoin="round">',
    ]
    for code in codes:
        data = geometry.municipality_paths[code]
        area = areas.get(code)
        if area is None:
            parts.append(f'<path d="{data}" fill="{no_data_fill}" data-code="{code}"/>')
            continue
        fill, name, href = area
        _check_colour(fill)
        title = f"<title>{escape(name)}</title>"
        shape = f'<path d="{data}" fill="{fill}" data-code="{code}"/>'
        if href is None:
            parts.append(f'<g role="img" aria-label={quoteattr(name)}>{title}{shape}</g>')
        else:
            parts.append(f"<a href={quoteattr(href)}>{title}{shape}</a>")
    parts.append(
        f'</g><g fill="none" stroke="#333333" stroke-width="{2 * thin:.3g}"'
        ' stroke-linejoin="round" pointer-events="none" aria-hidden="true">'
    )
    parts.extend(f'<path d="{data}" data-code="{code}"/>' for code, data in outlines.items())
    parts.append("</g></svg>")
    return "".join(parts)


def _check_colour(colour: str) -> None:
    if not _COLOUR.match(colour):
        raise ValueError(f"not a colour: {colour!r}")
