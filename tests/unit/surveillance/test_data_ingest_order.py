"""The order in which FHI's files are ingested does not change the weeks, and a week's
population is that of its ISO year (issue 13's two data-layer faults)."""

import csv
import datetime as dt
from collections import Counter

import polars as pl
import pytest

from korona.surveillance.calendar import Frequency
from korona.surveillance.metrics import cases_per_100k, cumulative_share_infected
from korona.surveillance.sources.ingest import ingest_file
from korona.surveillance.store import SurveillanceStore

HISTORIC = "data_covid19_msis_by_location__HISTORIC.csv"
WEEKLY = "municip_weekly_cases_by_regdate_b2020__derived_from_respiranor_total_b2020_rda.csv"


def weekly_file_cases(covid_dir, code):
    """Return the weekly file's (ISO week → count) for one municipality, read with csv."""
    with (covid_dir / WEEKLY).open(encoding="utf-8") as handle:
        return {
            (int(row["isoyear"]), int(row["isoweek"])): int(row["cases_by_regdate_n"])
            for row in csv.DictReader(handle)
            if row["location_code"] == f"municip_nor{code}" and row["cases_by_regdate_n"]
        }


@pytest.fixture(scope="module")
def stores(covid_dir, reference_dir, tmp_path_factory):
    """Return two stores given the daily HISTORIC and the weekly file in opposite orders."""
    out = {}
    for name, order in {
        "daily first": (HISTORIC, WEEKLY),
        "weekly first": (WEEKLY, HISTORIC),
    }.items():
        store = SurveillanceStore(tmp_path_factory.mktemp("order"))
        for file in order:
            ingest_file(covid_dir / file, store, reference_dir)
        out[name] = store
    return out


def weekly(store, code):
    rows = (
        store.cases(Frequency.WEEKLY)
        .filter(pl.col("location_code") == f"municip{code}")
        .select("iso_year", "iso_week", "n")
        .collect()
        .rows()
    )
    return {(year, week): n for year, week, n in rows}


@pytest.mark.parametrize("order", ["daily first", "weekly first"])
def test_oslo_2020_w33_is_the_whole_week_in_either_order(stores, covid_dir, order):
    oslo = weekly(stores[order], "0301")
    assert oslo[(2020, 33)] == 156  # the HISTORIC file's Monday–Saturday give only 101
    expected = weekly_file_cases(covid_dir, "0301")
    through_2021 = sum(n for (year, _), n in expected.items() if year <= 2021)
    assert sum(n or 0 for (year, _), n in oslo.items() if year <= 2021) == through_2021


def test_both_orders_store_the_same_weeks(stores):
    frames = [
        store.cases(Frequency.WEEKLY).collect().sort("location_code", "date")
        for store in stores.values()
    ]
    assert frames[0].height > 50_000
    assert frames[0].equals(frames[1])


def msis_file(path, rows):
    """Write a daily county MSIS file from (location, date, n) rows."""
    header = "location_code,date,n,granularity_time,granularity_geo,border,age,sex,pop\n"
    lines = [f"{loc},{day},{n},day,county,2020,total,total,693494\n" for loc, day, n in rows]
    path.write_text(header + "".join(lines), encoding="utf-8")
    return path


def test_a_corrected_partial_week_replaces_the_partial_week(reference_dir, tmp_path):
    store = SurveillanceStore(tmp_path / "s")
    monday_to_saturday = [("county03", f"2020-03-0{d}", 10) for d in range(2, 8)]
    ingest_file(msis_file(tmp_path / "a.csv", monday_to_saturday), store, reference_dir)
    corrected = [("county03", f"2020-03-0{d}", 2) for d in range(2, 8)]
    ingest_file(msis_file(tmp_path / "b.csv", corrected), store, reference_dir)
    assert store.cases(Frequency.WEEKLY).select("n").collect().item() == 12
    sunday = [("county03", "2020-03-08", 5)]
    ingest_file(msis_file(tmp_path / "c.csv", sunday), store, reference_dir)
    assert store.cases(Frequency.WEEKLY).select("n").collect().item() == 17


def test_a_partial_week_leaves_a_weekly_count_but_fills_a_missing_one(reference_dir, tmp_path):
    store = SurveillanceStore(tmp_path / "s")
    whole = pl.DataFrame({"location_code": ["county03"], "date": [dt.date(2020, 3, 8)], "n": [100]})
    store.write_cases(whole, Frequency.WEEKLY)
    days = [("county03", f"2020-03-0{d}", 10) for d in range(2, 8)]
    days += [("county11", f"2020-03-0{d}", 1) for d in range(2, 8)]
    ingest_file(msis_file(tmp_path / "a.csv", days), store, reference_dir)
    stored = dict(store.cases(Frequency.WEEKLY).select("location_code", "n").collect().rows())
    assert stored == {"county03": 100, "county11": 6}
    daily = Counter(
        dict(
            store.cases(Frequency.DAILY)
            .group_by("location_code")
            .agg(pl.col("n").sum())
            .collect()
            .rows()
        )
    )
    assert daily == Counter({"county03": 60, "county11": 6})


def test_week_53_uses_the_population_of_its_iso_year():
    population = pl.DataFrame(
        {"location_code": ["municip0301"] * 2, "year": [2020, 2021], "population": [1000, 2000]}
    )
    week_53 = pl.DataFrame(
        {"location_code": ["municip0301"], "date": [dt.date(2021, 1, 3)], "n": [10]}
    )
    assert cases_per_100k(week_53, population)["per_100k"].item() == 1000.0
    assert cumulative_share_infected(week_53, population)["population"].item() == 1000
    # The same date read as a day belongs to the calendar year 2021.
    day = cases_per_100k(week_53, population, frequency=Frequency.DAILY)
    assert day["per_100k"].item() == 500.0


def test_oslo_week_53_against_ssb_2020(stores, reference_dir, geography):
    """Oslo 2020-W53 per 100 000 uses SSB's 1 January 2020 population (693 494), read here
    from the SSB file itself."""
    with (reference_dir / "population" / "Personer2020.csv").open(encoding="latin-1") as handle:
        oslo_2020 = sum(
            int(row[2]) for row in csv.reader(handle, delimiter="\t") if row[0].startswith("K-0301")
        )
    assert oslo_2020 == 693_494
    store = stores["weekly first"]
    cases = store.cases(Frequency.WEEKLY).filter(pl.col("location_code") == "municip0301")
    out = cases_per_100k(cases.collect(), geography.population([2020, 2021, 2022]))
    row = out.filter(pl.col("iso_year") == 2020, pl.col("iso_week") == 53)
    assert row["population"].item() == oslo_2020
    assert row["per_100k"].item() == pytest.approx(row["n"].item() / oslo_2020 * 100_000)
