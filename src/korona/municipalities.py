"""The municipalities of Norway within the 2020 borders: which numbers exist, and their names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from korona.errors import N_, InvalidInput
from korona.surveillance.geo import load_geography

#: The reference data's code for "municipality not known"; never a place a need can be in.
UNKNOWN_NUMBER = "9999"


@dataclass(frozen=True)
class Municipalities:
    """The 2020 municipality numbers (``"0301"``) with their names."""

    names: Mapping[str, str]

    def check(self, number: str | None, *, field: str = "municipality_number") -> str | None:
        """Return the number if it is a 2020 municipality (or empty: None), else raise."""
        if number is None or number == "":
            return None
        if number == UNKNOWN_NUMBER:
            raise InvalidInput(
                N_(
                    "9999 stands for an unknown municipality; give a real municipality number "
                    "or leave the field empty"
                ),
                field=field,
            )
        if number not in self.names:
            raise InvalidInput(
                N_(
                    "{number} is not a municipality number in the 2020 list "
                    "(for example 0301 Oslo, 4601 Bergen)"
                ),
                field=field,
                number=number,
            )
        return number

    def name(self, number: str) -> str | None:
        """Return the municipality's name, or None for an unknown number."""
        return self.names.get(number)


@cache
def load(reference_dir: Path) -> Municipalities:
    """Return the 2020 municipalities of the reference data folder (read once per folder).

    Raises `korona.surveillance.geo.GeographyError` when the list is missing or malformed.
    """
    table = load_geography(reference_dir).municipalities
    codes = (code.removeprefix("municip") for code in table["location_code"])
    return Municipalities(MappingProxyType(dict(zip(codes, table["location_name"], strict=True))))
