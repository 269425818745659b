"""The municipalities of Norway within the 2020 borders: which numbers exist, and their names."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from korona.errors import N_, InvalidInput

#: The redistricting table of the reference data (see ../shared/data/README.md).
REDISTRICTING_FILE = Path("locations") / "norway_locations_redistricting__derived_from_xlsx.csv"
#: The reference data's code for "municipality not known"; never a place a need can be in.
UNKNOWN_NUMBER = "9999"


class MunicipalityListError(Exception):
    """The municipality list is missing from the reference data or not in the expected layout."""


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


def parse(text: str) -> Municipalities:
    """Read the 2020 municipalities (rows without an end year) from the redistricting CSV."""
    reader = csv.DictReader(io.StringIO(text))
    needed = {"year_end", "municip_code", "municip_name"}
    if not needed <= set(reader.fieldnames or ()):
        raise MunicipalityListError(f"{REDISTRICTING_FILE} lacks the columns {sorted(needed)}")
    names: dict[str, str] = {}
    for row in reader:
        code = row["municip_code"].removeprefix("municip")
        if row["year_end"] == "" and len(code) == 4 and code.isdigit() and code != UNKNOWN_NUMBER:
            names[code] = row["municip_name"]
    if not names:
        raise MunicipalityListError(f"{REDISTRICTING_FILE} lists no current municipalities")
    return Municipalities(names)


@cache
def load(reference_dir: Path) -> Municipalities:
    """Return the 2020 municipalities from the reference data folder (read once per folder)."""
    path = Path(reference_dir) / REDISTRICTING_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise MunicipalityListError(f"municipality list not found: {path}") from error
    return parse(text)
