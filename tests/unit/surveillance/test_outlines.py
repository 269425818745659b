"""Tests for neighbours from shared borders, the SVG map geometry and the choropleth."""

import math
import re
import tempfile
import xml.etree.ElementTree as ET
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from korona.surveillance.choropleth import (
    SVG_UNITS_PER_KM,
    Area,
    Bounds,
    map_geometry,
    render_choropleth,
)
from korona.surveillance.neighbours import ISLAND_NEAREST_FACTOR, neighbours
from korona.surveillance.outlines import (
    COUNTY_OUTLINE_FILE,
    MUNICIPALITY_OUTLINE_FILE,
    OutlineError,
    transverse_mercator_km,
)

SVG = "{http://www.w3.org/2000/svg}"
# Grid cells of the synthetic maps: 0.2° × 0.1° at 60°N, about 11 km square.
CELL_LON, CELL_LAT, LON0, LAT0 = 0.2, 0.1, 10.0, 60.0


def rings_of(data: str) -> list[list[tuple[int, int]]]:
    """Return the absolute vertices of each ring of a path of M (absolute), l (relative), z."""
    rings: list[list[tuple[int, int]]] = []
    for command, numbers in re.findall(r"([MlZz])([^MlZz]*)", data):
        values = [int(v) for v in re.findall(r"-?\d+", numbers)]
        pairs = list(zip(values[::2], values[1::2], strict=True))
        if command == "M":
            rings.append([pairs[0]])
        elif command == "l":
            x, y = rings[-1][-1]
            for dx, dy in pairs:
                x, y = x + dx, y + dy
                rings[-1].append((x, y))
    return rings


def points_of(data: str) -> list[tuple[int, int]]:
    return [point for ring in rings_of(data) for point in ring]


def haversine_km(lon1, lat1, lon2, lat2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def square(row, col, jitter=None):
    """Return the closed ring (lon, lat) of one grid cell, corners optionally jittered."""
    corners = [(col, row), (col + 1, row), (col + 1, row + 1), (col, row + 1)]
    ring = [(LON0 + c * CELL_LON, LAT0 + r * CELL_LAT) for c, r in corners]
    if jitter is not None:
        ring = [(lon + dx, lat + dy) for (lon, lat), (dx, dy) in zip(ring, jitter, strict=True)]
    return [*ring, ring[0]]


def write_outlines(folder: Path, rings: dict[str, list[list[tuple[float, float]]]]) -> None:
    """Write municipality outlines and one county square around them, in the shared layout."""
    lines = ["long,lat,order,group,location_code"]
    order = 0
    for code, polygons in rings.items():
        for part, ring in enumerate(polygons, start=1):
            for lon, lat in ring:
                order += 1
                lines.append(f"{float(lon)!r},{float(lat)!r},{order},{code}.{part},municip{code}")
    (folder / MUNICIPALITY_OUTLINE_FILE).parent.mkdir(parents=True, exist_ok=True)
    (folder / MUNICIPALITY_OUTLINE_FILE).write_text("\n".join(lines) + "\n")
    lons = [lon for polygons in rings.values() for ring in polygons for lon, _ in ring]
    lats = [lat for polygons in rings.values() for ring in polygons for _, lat in ring]
    box = [
        (min(lons), min(lats)),
        (max(lons), min(lats)),
        (max(lons), max(lats)),
        (min(lons), max(lats)),
        (min(lons), min(lats)),
    ]
    county = "\n".join(f"{lon!r},{lat!r},{i},11.1,county11" for i, (lon, lat) in enumerate(box))
    (folder / COUNTY_OUTLINE_FILE).write_text(f"long,lat,order,group,location_code\n{county}\n")


def expected_grid_neighbours(cells: list[tuple[int, int]]) -> dict[str, set[str]]:
    """Queen contiguity on the grid, then the island rule in cell units (cells ~11 km)."""
    code = {cell: f"11{i:02d}" for i, cell in enumerate(cells)}
    near = {code[c]: set() for c in cells}
    for a in cells:
        for b in cells:
            if a != b and abs(a[0] - b[0]) <= 1 and abs(a[1] - b[1]) <= 1:
                near[code[a]].add(code[b])
    for a in [c for c in cells if not near[code[c]]]:
        gap = {
            b: math.hypot(max(0, abs(a[0] - b[0]) - 1), max(0, abs(a[1] - b[1]) - 1))
            for b in cells
            if b != a
        }
        reach = ISLAND_NEAREST_FACTOR * min(gap.values())
        for b, distance in gap.items():
            if distance <= reach:
                near[code[a]].add(code[b])
                near[code[b]].add(code[a])
    return near


@pytest.fixture(scope="module")
def real_neighbours(reference_dir):
    return neighbours(reference_dir)


@pytest.fixture(scope="module")
def geometry(reference_dir):
    return map_geometry(reference_dir)


def test_known_land_borders(real_neighbours):
    oslo = set(real_neighbours["0301"])
    # Bærum, Nordre Follo, Enebakk, Lørenskog, Lillestrøm, Nittedal: Oslo's land borders.
    assert {"3024", "3020", "3028", "3029", "3030", "3031"} <= oslo
    assert "3005" not in oslo and "3025" not in oslo  # Drammen, Asker
    bergen = set(real_neighbours["4601"])
    assert {"4624", "4623", "4628"} <= bergen  # Bjørnafjorden, Samnanger, Vaksdal
    assert "4640" not in bergen  # Sogndal
    assert "1103" in real_neighbours["1108"]  # Stavanger–Sandnes


def test_island_municipalities_are_joined_across_the_water(real_neighbours):
    # Utsira: Karmøy (14.6 km) and Haugesund (15.6 km, its ferry port).
    assert set(real_neighbours["1151"]) == {"1149", "1106"}
    # Askøy has no land border but bridges to Bergen; Røst's nearest is Værøy.
    assert "4601" in real_neighbours["4627"] and "4627" in real_neighbours["4601"]
    assert "1857" in real_neighbours["1856"]


def test_neighbour_relation_is_symmetric_irreflexive_and_total(real_neighbours):
    assert len(real_neighbours) == 356
    assert all(type(code) is str for code in real_neighbours)
    for code, near in real_neighbours.items():
        assert all(type(other) is str for other in near)
        assert near, code
        assert code not in near
        assert list(near) == sorted(set(near))
        for other in near:
            assert code in real_neighbours[other], (code, other)


def test_neighbours_returns_a_fresh_dict(reference_dir):
    first = neighbours(reference_dir)
    first["0301"] = ()
    assert neighbours(reference_dir)["0301"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cells=st.sets(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=2, max_size=12).map(
        sorted
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_grid_neighbours_follow_the_rule(cells, seed):
    # Corners jittered by up to ~50 m, as when each outline was simplified on its own.
    rng = np.random.default_rng(seed)
    rings = {
        f"11{i:02d}": [square(*cell, jitter=rng.uniform(-0.0005, 0.0005, (4, 2)))]
        for i, cell in enumerate(cells)
    }
    with tempfile.TemporaryDirectory() as folder:
        write_outlines(Path(folder), rings)
        got = neighbours(Path(folder))
    assert {code: set(near) for code, near in got.items()} == expected_grid_neighbours(cells)


def test_ring_ids_are_read_as_text(tmp_path):
    # Ring 1100.10 is not ring 1100.1: read as numbers they would merge into one ring.
    rings = {"1100": [square(0, c) for c in range(10)]}
    rings["1101"] = [square(1, 9)]
    write_outlines(tmp_path, rings)
    assert map_geometry(tmp_path).municipality_paths["1100"].count("M") == 10
    assert neighbours(tmp_path) == {"1100": ("1101",), "1101": ("1100",)}


def test_every_municipality_and_county_has_a_path(geometry, real_neighbours):
    assert set(geometry.municipality_paths) == set(real_neighbours)
    assert len(geometry.county_paths) == 11
    assert set(geometry.county_bounds) == set(geometry.county_paths)
    for data in [*geometry.municipality_paths.values(), *geometry.county_paths.values()]:
        assert re.fullmatch(r"(M-?\d+ -?\d+(l[-\d ]+)?z)+", data)
        assert len(points_of(data)) >= 3


def test_county_box_holds_its_municipalities(geometry):
    for county, box in geometry.county_bounds.items():
        codes = geometry.municipalities_in(county)
        assert codes and all(code.startswith(county) for code in codes)
        for code in codes:
            xs, ys = zip(*points_of(geometry.municipality_paths[code]), strict=True)
            assert Bounds(min(xs), min(ys), max(xs), max(ys)) == geometry.municipality_bounds[code]
            assert box.contains(geometry.municipality_bounds[code])
        assert geometry.view_box.contains(box)


def centre(box: Bounds) -> tuple[float, float]:
    return ((box.min_x + box.max_x) / 2, (box.min_y + box.max_y) / 2)


def test_map_is_north_up_and_true_to_scale(geometry):
    b = geometry.municipality_bounds
    # Troms og Finnmark lies above (smaller y) and right of Oslo; Bergen left of Oslo.
    assert centre(b["5401"])[1] < centre(b["0301"])[1]
    assert centre(b["5401"])[0] > centre(b["0301"])[0] > centre(b["4601"])[0]
    # Oslo–Bergen, Oslo–Tromsø as the crow flies (box centres, within 6 %).
    for far, km in [("4601", 305.0), ("5401", 1145.0)]:
        (x1, y1), (x2, y2) = centre(b["0301"]), centre(b[far])
        assert math.hypot(x2 - x1, y2 - y1) / SVG_UNITS_PER_KM == pytest.approx(km, rel=0.06)


@given(
    lon=st.floats(4.5, 31.0),
    lat=st.floats(57.9, 71.2),
    bearing=st.floats(0, 2 * math.pi),
    km=st.floats(1, 100),
)
def test_projection_keeps_distances_within_half_a_percent(lon, lat, bearing, km):
    # Norway's outlines reach 612 km east and 574 km west of 15°E.
    lon2 = lon + km * math.sin(bearing) / (111.2 * math.cos(math.radians(lat)))
    lat2 = lat + km * math.cos(bearing) / 111.2
    x, y = transverse_mercator_km(np.array([lon, lon2]), np.array([lat, lat2]))
    # Both ends inside that extent (the scale error grows with the distance from 15°E).
    assume(max(abs(x[0]), abs(x[1])) < 600)
    planar = math.hypot(x[1] - x[0], y[1] - y[0])
    assert planar == pytest.approx(haversine_km(lon, lat, lon2, lat2), rel=0.005)


def test_projection_on_the_central_meridian():
    x, y = transverse_mercator_km(np.array([15.0]), np.array([60.0]))
    assert x[0] == pytest.approx(0, abs=1e-9)
    assert y[0] == pytest.approx(6371.0 * math.radians(60.0))


def area(code):
    return Area("#8c96c6", f"Kommune {code}", f"/surveillance/municip{code}")


def test_full_choropleth_is_small_valid_and_complete(geometry):
    svg = render_choropleth(
        geometry, {code: area(code) for code in geometry.municipality_paths}, label="Norge"
    )
    assert len(svg.encode()) < 300_000
    root = ET.fromstring(svg)
    assert root.get("aria-label") == "Norge"
    assert root.get("viewBox") == geometry.view_box.view_box()
    links = root.findall(f".//{SVG}a")
    assert len(links) == 356
    assert {link.get("href") for link in links} == {
        f"/surveillance/municip{code}" for code in geometry.municipality_paths
    }
    assert all(link.find(f"{SVG}title").text.startswith("Kommune ") for link in links)
    outlines = root.findall(f"./{SVG}g[@pointer-events='none']/{SVG}path")
    assert len(outlines) == 11 and all(p.get("fill") is None for p in outlines)
    assert root.find(f"./{SVG}g[@pointer-events='none']").get("fill") == "none"


def test_choropleth_is_deterministic_and_marks_missing_areas(geometry):
    codes = list(geometry.municipality_paths)[:20]
    forward = render_choropleth(geometry, {c: area(c) for c in codes}, label="x")
    backward = render_choropleth(geometry, {c: area(c) for c in reversed(codes)}, label="x")
    assert forward == backward
    root = ET.fromstring(forward)
    assert len(root.findall(f".//{SVG}a")) == 20
    grey = [p for p in root.iter(f"{SVG}path") if p.get("fill") == "#d9d9d9"]
    assert len(grey) == 356 - 20


def test_county_view_zooms_to_its_municipalities(geometry):
    svg = render_choropleth(geometry, {"4601": area("4601")}, label="Vestland", county="46")
    root = ET.fromstring(svg)
    drawn = {p.get("data-code") for p in root.iter(f"{SVG}path")}
    assert drawn == set(geometry.municipalities_in("46"))
    x, y, w, h = (float(v) for v in root.get("viewBox").split())
    box = geometry.county_bounds["46"]
    assert Bounds(x, y, x + w, y + h).contains(box)
    assert w < geometry.view_box.width / 2


@settings(max_examples=40, deadline=None)
@given(
    labels=st.lists(st.text(min_size=1, max_size=30), min_size=3, max_size=3),
    href=st.text(max_size=40) | st.none(),
)
def test_choropleth_escapes_every_text(geometry, labels, href):
    # XML 1.0 cannot carry most control characters at all; the pages never send them.
    clean = ["".join(ch for ch in s if ch.isprintable() or ch == " ") or "x" for s in labels]
    href = None if href is None else "".join(ch for ch in href if ch.isprintable())
    areas = {
        "0301": Area("#ffffff", clean[0], href),
        "4601": Area("#000", clean[1], "/a?b=1&c=<2>"),
    }
    svg = render_choropleth(geometry, areas, label=clean[2], county=None)
    root = ET.fromstring(svg)
    assert root.get("aria-label") == clean[2]
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert sorted(titles) == sorted(clean[:2])
    hrefs = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert "/a?b=1&c=<2>" in hrefs
    if href is not None:
        assert href in hrefs


@pytest.mark.parametrize(
    ("areas", "county", "message"),
    [
        ({"9999": Area("#fff", "x", None)}, None, "unknown municipality"),
        ({}, "99", "unknown county"),
        ({"0301": Area('red" onload="x', "x", None)}, None, "not a colour"),
    ],
)
def test_choropleth_refuses_bad_input(geometry, areas, county, message):
    with pytest.raises(ValueError, match=message):
        render_choropleth(geometry, areas, label="x", county=county)


def test_missing_or_malformed_outline_files(tmp_path):
    with pytest.raises(OutlineError, match="not found"):
        neighbours(tmp_path / "nowhere")
    (tmp_path / "maps").mkdir()
    (tmp_path / MUNICIPALITY_OUTLINE_FILE).write_text("long,lat,order\n1,2,3\n")
    with pytest.raises(OutlineError, match="lacks the columns group, location_code"):
        neighbours(tmp_path)
    other = tmp_path / "other"
    write_outlines(other, {"1100": [square(0, 0)]})
    text = (other / MUNICIPALITY_OUTLINE_FILE).read_text().replace("municip1100", "kommune1")
    (other / MUNICIPALITY_OUTLINE_FILE).write_text(text)
    with pytest.raises(OutlineError, match="unexpected location codes: kommune1"):
        neighbours(other)


def test_rounded_rings_drop_repeated_vertices(geometry):
    for data in geometry.municipality_paths.values():
        for ring in rings_of(data):
            assert all(a != b for a, b in pairwise(ring))
            assert ring[0] != ring[-1]  # "z" closes the ring
