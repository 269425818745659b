"""Municipality numbers are checked against the 2020 list of the reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

from korona.errors import InvalidInput
from korona.municipalities import load
from korona.surveillance.geo import GeographyError

REDISTRICTING_FILE = "norway_locations_redistricting__derived_from_xlsx.csv"
HEADER = (
    "year_start,year_end,municip_code_end,weighting,municip_code,municip_name,"
    "county_code,county_name\n"
)


def test_the_2020_list_has_356_municipalities(reference_dir: Path) -> None:
    places = load(reference_dir)
    assert len(places.names) == 356
    assert places.name("0301") == "Oslo" and places.name("4601") == "Bergen"
    assert places.name("0101") is None  # Halden's number before the 2020 reform


@pytest.mark.parametrize(
    ("number", "message"),
    [("9999", "unknown municipality"), ("0101", "not a municipality number"), ("1234", "2020")],
)
def test_numbers_outside_the_list_are_refused(
    reference_dir: Path, number: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        load(reference_dir).check(number)
    assert message in caught.value.text and caught.value.field == "municipality_number"


def test_empty_means_no_municipality(reference_dir: Path) -> None:
    places = load(reference_dir)
    assert places.check(None) is None and places.check("") is None
    assert places.check("5001") == "5001"


@pytest.mark.parametrize(
    "text",
    [
        None,  # no file
        "code,name\n0301,Oslo\n",  # not the columns of the redistricting table
        HEADER
        + "1838,2019,municip3001,,municip0101,Halden,county30,Viken\n",  # no current municipality
        HEADER + "1838,,,,municip0301,Oslo,county03,Oslo\n",  # not the 356 municipalities of 2020
    ],
)
def test_a_file_without_the_columns_or_rows_is_refused(tmp_path: Path, text: str | None) -> None:
    if text is not None:
        (tmp_path / "locations").mkdir()
        (tmp_path / "locations" / REDISTRICTING_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(GeographyError):
        load(tmp_path)
