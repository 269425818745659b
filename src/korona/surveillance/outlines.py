"""Municipality and county outlines: neighbours from shared borders and the SVG map of Norway."""

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
import polars as pl
from scipy.spatial import cKDTree

__all__ = [
    "COUNTY_OUTLINE_FILE",
    "MUNICIPALITY_OUTLINE_FILE",
    "Area",
    "Bounds",
    "MapGeometry",
    "OutlineError",
    "map_geometry",
    "neighbours",
    "render_choropleth",
    "transverse_mercator_km",
]

MUNICIPALITY_OUTLINE_FILE = Path("maps") / "nor_lau2_map_b2020_default_dt__derived_from_rda.csv"
COUNTY_OUTLINE_FILE = Path("maps") / "nor_nuts3_map_b2020_default_dt__derived_from_rda.csv"

EARTH_RADIUS_KM = 6371.0
#: Central meridian of UTM zone 33, the zone Kartverket and SSB use for maps of all of Norway.
CENTRAL_MERIDIAN_DEG = 15.0
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
#: SVG user units per kilometre: a 0.5 km grid keeps every vertex of the simplified outlines
#: (median edge 2 km) distinct while the 356 municipality paths stay near 160 KB.
SVG_UNITS_PER_KM = 2.0
_MARGIN_KM = 10.0
_NO_DATA_FILL = "#d9d9d9"
_MUNICIPALITY = re.compile(r"^municip(\d{4})$")
_COUNTY = re.compile(r"^county(\d{2})$")
_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-z]{3,20})$")


class OutlineError(Exception):
    """An outline file is missing or not in the expected layout; the message is plain English."""


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


class _Outlines(NamedTuple):
    """Vertices of closed rings, sorted ring by ring; ``codes`` has one entry per ring."""

    x_km: np.ndarray
    y_km: np.ndarray
    ring: np.ndarray
    codes: np.ndarray


def transverse_mercator_km(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS84 longitude/latitude to a plane in kilometres (x east, y north).

    Spherical Transverse Mercator with central meridian 15°E and scale 1 (Snyder 1987, eq.
    8-1 and 8-3): UTM zone 33's projection on a sphere, so the map has the shape Norwegians
    know from Kartverket. Over Norway (4.6–31.1°E) the scale error stays below 0.5 %, and
    distances in this plane serve for the neighbour tolerance too.

    Parameters
    ----------
    lon, lat:
        Degrees east and north.

    Returns
    -------
    (x, y) in km; x = 0 on 15°E, y = distance from the equator along the central meridian.

    References
    ----------
    Snyder JP (1987). Map projections — a working manual. USGS Professional Paper 1395, p. 58.
    """
    lam = np.deg2rad(np.asarray(lon, dtype=np.float64) - CENTRAL_MERIDIAN_DEG)
    phi = np.deg2rad(np.asarray(lat, dtype=np.float64))
    b = np.cos(phi) * np.sin(lam)
    x = 0.5 * EARTH_RADIUS_KM * np.log((1.0 + b) / (1.0 - b))
    y = EARTH_RADIUS_KM * np.arctan2(np.tan(phi), np.cos(lam))
    return x, y


def _read_outlines(reference_dir: Path, relative: Path, pattern: re.Pattern[str]) -> _Outlines:
    """Read one outline file into projected rings, checking its layout."""
    path = reference_dir / relative
    if not path.is_file():
        raise OutlineError(f"outline file not found: {path}")
    try:
        # "group" must stay text: as numbers, ring 1101.10 would be read as ring 1101.1.
        frame = pl.read_csv(
            path,
            schema_overrides={
                "long": pl.Float64,
                "lat": pl.Float64,
                "order": pl.Int64,
                "group": pl.String,
                "location_code": pl.String,
            },
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise OutlineError(f"cannot read {path}: {exc}") from exc
    missing = {"long", "lat", "order", "group", "location_code"} - set(frame.columns)
    if missing:
        raise OutlineError(f"{path} lacks the columns {', '.join(sorted(missing))}")
    if frame.height == 0 or frame.null_count().sum_horizontal().item() > 0:
        raise OutlineError(f"{path} is empty or has blank cells")
    frame = frame.sort("order").with_columns(
        pl.col("location_code").str.extract(pattern.pattern, 1).alias("code"),
        pl.col("group").rle_id().alias("ring"),
    )
    bad = frame.filter(pl.col("code").is_null())["location_code"].unique().sort()
    if bad.len():
        raise OutlineError(f"{path} has unexpected location codes: {', '.join(bad.head(5))}")
    if frame["ring"].n_unique() != frame["group"].n_unique():
        raise OutlineError(f"{path}: the vertices of a polygon group are not consecutive")
    if frame.group_by("ring").agg(pl.col("code").n_unique())["code"].max() != 1:
        raise OutlineError(f"{path}: a polygon group spans several locations")
    x, y = transverse_mercator_km(frame["long"].to_numpy(), frame["lat"].to_numpy())
    ring = frame["ring"].to_numpy()
    first = np.r_[True, ring[1:] != ring[:-1]]
    return _Outlines(x, y, ring, frame["code"].to_numpy()[first])


@cache
def _municipality_outlines(reference_dir: Path) -> _Outlines:
    return _read_outlines(reference_dir, MUNICIPALITY_OUTLINE_FILE, _MUNICIPALITY)


@cache
def _county_outlines(reference_dir: Path) -> _Outlines:
    return _read_outlines(reference_dir, COUNTY_OUTLINE_FILE, _COUNTY)


def _boundary_points(outlines: _Outlines, step_km: float) -> tuple[np.ndarray, np.ndarray]:
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
    outlines = _municipality_outlines(reference_dir)
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


def _encode_rings(outlines: _Outlines, origin_x: float, origin_y: float) -> dict[str, str]:
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
    municipalities = _municipality_outlines(reference_dir)
    counties = _county_outlines(reference_dir)
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
