"""The location read model: indicators against figures computed by hand from FHI's and SSB's
files, neighbours and county, the signals table, completeness, and what the public sees."""

import csv
import datetime as dt

import polars as pl
import pytest
from tests.surveillance_store import build_store

from korona.surveillance.location_model import COVID_COLUMNS, SIGNAL_COLUMNS
from korona.surveillance.location_view import SurveillanceReader, UnknownLocation

WEEKLY = "municip_weekly_cases_by_regdate_b2020__derived_from_respiranor_total_b2020_rda.csv"


@pytest.fixture(scope="module")
def reader(reference_dir, tmp_path_factory):
    store = build_store(tmp_path_factory.mktemp("store"), reference_dir)
    return SurveillanceReader(store, reference_dir)


def fhi_weeks(reference_dir, number):
    """Return (iso_year, iso_week) → cases for one municipality, from FHI's weekly file."""
    with (reference_dir / "covid19" / WEEKLY).open(encoding="utf-8") as handle:
        return {
            (int(row["isoyear"]), int(row["isoweek"])): int(row["cases_by_regdate_n"])
            for row in csv.DictReader(handle)
            if row["location_code"] == f"municip_nor{number}" and row["cases_by_regdate_n"]
        }


def ssb_population(reference_dir, number, year):
    """Return SSB's 1 January population of a municipality, summed over the ages in the file."""
    path = reference_dir / "population" / f"Personer{year}.csv"
    separator = "\t" if year == 2020 else ";"
    with path.open(encoding="latin-1") as handle:
        rows = [row for row in csv.reader(handle, delimiter=separator) if len(row) == 3]
    return sum(int(row[2]) for row in rows if row[0].startswith(f"K-{number} "))


@pytest.mark.parametrize("number", ["0301", "4601", "1151"])
@pytest.mark.parametrize("year", [2020, 2021])
def test_indicators_at_week_52_equal_a_hand_computation(reader, reference_dir, number, year):
    weeks = fhi_weeks(reference_dir, number)
    population = ssb_population(reference_dir, number, year)
    n, previous = weeks[(year, 52)], weeks[(year, 51)]
    cumulative = sum(count for key, count in weeks.items() if key <= (year, 52))

    row = reader.view(f"municip{number}").covid.filter(
        pl.col("iso_year") == year, pl.col("iso_week") == 52
    )
    assert row["n"].item() == n
    assert row["population"].item() == population
    assert row["population_year"].item() == year
    assert row["per_100k"].item() == pytest.approx(n / population * 100_000, rel=1e-12)
    assert row["per_100k_14d"].item() == pytest.approx(
        (n + previous) / population * 100_000, rel=1e-12
    )
    assert row["cumulative_n"].item() == cumulative
    assert row["share_infected_percent"].item() == pytest.approx(
        cumulative / population * 100, rel=1e-12
    )


def test_hand_figures_are_what_they_should_be(reference_dir):
    """Pin a few of the hand-computed inputs, so a wrong file read cannot pass both sides."""
    assert ssb_population(reference_dir, "0301", 2020) == 693_494
    assert ssb_population(reference_dir, "1151", 2021) < 250  # Utsira, Norway's smallest
    assert fhi_weeks(reference_dir, "0301")[(2020, 33)] == 156


def test_unknown_codes_are_refused(reader):
    for code in ("municip9999", "county99", "oslo", "municip030", "", "norge "):
        with pytest.raises(UnknownLocation):
            reader.view(code)


def test_bergen_has_its_neighbours_and_county(reader):
    view = reader.view("municip4601")
    assert view.location.name == "Bergen"
    assert view.county is not None and view.county.code == "county46"
    assert [n.name for n in view.neighbours] == [
        "Samnanger", "Bjørnafjorden", "Øygarden", "Askøy", "Vaksdal"
    ]  # fmt: skip
    roles = dict(view.comparison.group_by("role").len().rows())
    assert set(roles) == {"self", "neighbour", "county"}
    assert view.covid.columns == list(COVID_COLUMNS)
    assert view.signals.columns == list(SIGNAL_COLUMNS)


def test_signals_latest_week_first_and_high_first(reader):
    signals = reader.view("norge").signals
    assert signals.height > 0
    assert signals["date"].is_sorted(descending=True)
    first_week = signals.filter(pl.col("date") == signals["date"].max())
    order = {"high": 0, "medium": 1, "normal": 2}
    ranks = [order[s] for s in first_week["status"]]
    assert ranks == sorted(ranks)
    assert set(signals["syndrome"]) == {"gastro"}  # covid19 is shown in the covid overview


def test_the_cut_week_is_possibly_incomplete(reader):
    covid = reader.view("municip4601").covid
    flagged = covid.filter(pl.col("possibly_incomplete"))["date"].to_list()
    assert flagged == [dt.date(2021, 6, 7) + dt.timedelta(weeks=10, days=6)]
    assert not reader.view("municip1151").covid["possibly_incomplete"].any()


def test_national_figures_include_tests_and_hospital(reader):
    covid = reader.view("norge").covid.filter(pl.col("iso_year") == 2021)
    assert covid["tests_positive_n"].drop_nulls().len() == 52
    assert covid["hospital_admissions_n"].drop_nulls().len() == 52
    tested = covid["tests_positive_n"] + covid["tests_negative_n"]
    assert covid["positivity_percent"].to_list() == pytest.approx(
        (covid["tests_positive_n"] / tested * 100).to_list()
    )
    assert reader.view("municip4601").covid["hospital_admissions_n"].null_count() > 0


def counts_between_1_and_4(frame):
    """Return the (column, value) of every count 1–4 in a public frame."""
    found = []
    for column in frame.columns:
        if column in ("n", "excess") or column.endswith("_n"):
            values = frame[column].cast(pl.Int64, strict=False)
            found += [(column, v) for v in values.drop_nulls() if 1 <= v <= 4]
    return found


def test_public_views_of_every_location_show_no_count_below_5(reader):
    checked = 0
    for location in reader.locations():
        view = reader.public_view(location.code)
        for frame in (view.covid, view.signals, view.comparison):
            assert counts_between_1_and_4(frame) == [], location.code
            checked += frame.height
    assert checked > 100_000


def test_public_utsira_shows_labels_and_no_rates_from_hidden_counts(reader):
    full, public = reader.view("municip1151"), reader.public_view("municip1151")
    small = full.covid.filter(pl.col("n").is_between(1, 4))
    assert small.height > 0
    shown = public.covid.filter(pl.col("date").is_in(small["date"].implode()))
    assert set(shown["n__label"]) == {"<5"}
    assert shown["n"].null_count() == shown.height
    assert shown["per_100k"].null_count() == shown.height
    assert shown["per_100k_14d"].null_count() == shown.height
    # The cumulative count is published for the latest week only.
    assert public.covid["cumulative_n"].drop_nulls().len() <= 1


def test_public_14_day_figures_are_hidden_after_a_hidden_week(reader):
    covid = reader.public_view("municip1151").covid
    assert covid["date"].is_sorted()
    after_hidden = covid.filter(pl.col("n__label").shift(1).is_not_null())
    assert after_hidden.height > 0
    assert after_hidden["n_14d"].null_count() == after_hidden.height
    assert after_hidden["per_100k_14d"].null_count() == after_hidden.height
