"""The municipalities and counties a report may name (2020 borders), from the reference data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from korona import municipalities
from korona.surveillance.geo import load_geography


@dataclass(frozen=True)
class Places:
    """Municipality number → name and county number → name; a municipality's county is the
    first two digits of its number (true for every 2020 municipality)."""

    municipalities: Mapping[str, str]
    counties: Mapping[str, str]

    def municipality_name(self, number: str) -> str:
        """Return the municipality's name, or its number when it is not known."""
        return self.municipalities.get(number, number)

    def in_county(self, county: str | None) -> list[str]:
        """Return the municipality numbers of one county (all of them for None), sorted."""
        return sorted(n for n in self.municipalities if county is None or n[:2] == county)


@cache
def load_places(reference_dir: Path) -> Places:
    """Return the 356 municipalities and 11 counties of 2020, read once per folder."""
    geography = load_geography(reference_dir)
    counties = {
        code.removeprefix("county"): name
        for code, name in zip(
            geography.counties["location_code"], geography.counties["location_name"], strict=True
        )
    }
    return Places(
        municipalities.load(reference_dir).names,
        MappingProxyType(dict(sorted(counties.items()))),
    )
