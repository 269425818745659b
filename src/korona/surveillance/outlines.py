"""The 2020 municipality and county outlines, read from the reference data and projected to km."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl

MUNICIPALITY_OUTLINE_FILE = Path("maps") / "nor_lau2_map_b2020_default_dt__derived_from_rda.csv"
COUNTY_OUTLINE_FILE = Path("maps") / "nor_nuts3_map_b2020_default_dt__derived_from_rda.csv"

EARTH_RADIUS_KM = 6371.0
#: Central meridian of UTM zone 33, the zone Kartverket and SSB use for maps of all of Norway.
CENTRAL_MERIDIAN_DEG = 15.0
_MUNICIPALITY = re.compile(r"^municip(\d{4})$")
_COUNTY = re.compile(r"^county(\d{2})$")


class OutlineError(Exception):
    """An outline file is missing or not in the expected layout; the message is plain English."""


class Outlines(NamedTuple):
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


def _read_outlines(reference_dir: Path, relative: Path, pattern: re.Pattern[str]) -> Outlines:
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
    return Outlines(x, y, ring, frame["code"].to_numpy()[first])


@cache
def municipality_outlines(reference_dir: Path) -> Outlines:
    """Return the municipality outlines (read once per reference folder)."""
    return _read_outlines(reference_dir, MUNICIPALITY_OUTLINE_FILE, _MUNICIPALITY)


@cache
def county_outlines(reference_dir: Path) -> Outlines:
    """Return the county outlines (read once per reference folder)."""
    return _read_outlines(reference_dir, COUNTY_OUTLINE_FILE, _COUNTY)
