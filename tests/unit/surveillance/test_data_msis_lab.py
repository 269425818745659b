"""Tests that FHI's covid-19 files are read as published and their totals are kept."""

import csv
from collections import Counter

import polars as pl
import pytest

from korona.surveillance.calendar import Frequency
from korona.surveillance.sources import IngestError, SourceKind
from korona.surveillance.sources.ingest import detect_kind, ingest_file
from korona.surveillance.sources.msis import MsisLayout, read_msis
from korona.surveillance.store import SurveillanceStore


def file_sums(covid_dir, name, value="n", key="location_code", skip=0):
    """Sum a column per key with the csv module (independent of the code under test)."""
    with (covid_dir / name).open(encoding="utf-8") as handle:
        for _ in range(skip):
            next(handle)
        sums = Counter()
        for row in csv.DictReader(handle):
            if row[value] not in ("", "NA"):
                sums[row[key]] += int(float(row[value]))
    return sums


@pytest.fixture(scope="module")
def store(covid_dir, reference_dir, tmp_path_factory):
    store = SurveillanceStore(tmp_path_factory.mktemp("store"))
    for path in sorted(covid_dir.glob("*.csv")):
        ingest_file(path, store, reference_dir)
    return store


def stored_sums(frame: pl.LazyFrame, value="n"):
    out = frame.group_by("location_code").agg(pl.col(value).sum()).collect()
    return dict(zip(out["location_code"], out[value], strict=True))


def test_daily_county_file_totals_match_file_and_cumulative_totals(covid_dir, geography, store):
    own = file_sums(covid_dir, "data_covid19_msis_by_time_location_latest.csv")
    cumulative = file_sums(covid_dir, "data_covid19_msis_by_location_latest.csv")
    daily = stored_sums(
        store.cases(Frequency.DAILY).filter(~pl.col("location_code").str.starts_with("municip"))
    )
    assert daily == dict(own)
    assert daily["norge"] == cumulative["norge"] == 1_466_305
    for county in geography.counties["location_code"]:
        assert daily[county] == cumulative[county]
    weekly = stored_sums(
        store.cases(Frequency.WEEKLY).filter(~pl.col("location_code").str.starts_with("municip"))
    )
    assert weekly == daily


def test_historic_municipal_file_with_preamble(covid_dir, geography):
    read = read_msis(covid_dir / "data_covid19_msis_by_location__HISTORIC.csv", geography)
    assert read.layout is MsisLayout.DAILY_MUNICIPAL_HISTORIC
    own = file_sums(
        covid_dir,
        "data_covid19_msis_by_location__HISTORIC.csv",
        value="n_registered_on_this_date_in_msis",
        skip=29,
    )
    assert read.daily is not None and read.weekly is not None
    assert read.daily["n"].sum() == sum(own.values()) == 9892
    assert read.daily["location_code"].n_unique() == 356
    assert read.weekly["n"].sum() == 9892
    assert "skipped 29 lines" in read.report.notes[0]


def test_weekly_municipal_file_keeps_missing_first_week(covid_dir, geography, store):
    read = read_msis(
        covid_dir
        / "municip_weekly_cases_by_regdate_b2020__derived_from_respiranor_total_b2020_rda.csv",
        geography,
    )
    assert read.weekly is not None
    own = file_sums(
        covid_dir,
        "municip_weekly_cases_by_regdate_b2020__derived_from_respiranor_total_b2020_rda.csv",
        value="cases_by_regdate_n",
    )
    assert read.weekly["n"].sum() == sum(own.values())
    assert read.weekly["location_code"].str.starts_with("municip0").any()
    first_week = read.weekly.filter(pl.col("date") == read.weekly["date"].min())
    assert first_week["n"].null_count() == 356
    oslo = dict(
        zip(
            read.weekly.filter(pl.col("location_code") == "municip0301")["date"],
            read.weekly.filter(pl.col("location_code") == "municip0301")["n"],
            strict=True,
        )
    )
    assert sum(v for v in oslo.values() if v is not None) == own["municip_nor0301"]


def test_lab_file_totals(covid_dir, store):
    own_pos = file_sums(covid_dir, "data_covid19_lab_by_time_latest.csv", value="n_pos")
    own_neg = file_sums(covid_dir, "data_covid19_lab_by_time_latest.csv", value="n_neg")
    for frequency in Frequency:
        tests = store.lab_tests(frequency).collect()
        assert tests["n_pos"].sum() == own_pos["norge"] == 1_461_199
        assert tests["n_neg"].sum() == own_neg["norge"]
    weekly = store.lab_tests(Frequency.WEEKLY).collect()
    assert set(weekly["date"].dt.weekday().to_list()) == {7}


def test_every_covid_file_recognised(covid_dir, geography):
    kinds = {p.name: detect_kind(p) for p in covid_dir.glob("*.csv")}
    assert kinds["data_covid19_lab_by_time_latest.csv"] is SourceKind.LAB
    assert all(k in (SourceKind.MSIS, SourceKind.LAB) for k in kinds.values())
    for name in (
        "data_covid19_hospital_by_time_latest.csv",
        "data_covid19_msis_by_location_latest.csv",
        "data_covid19_msis_by_time_sex_age_latest.csv",
    ):
        read = read_msis(covid_dir / name, geography)
        assert read.daily is None and read.weekly is None
        assert "nothing stored" in read.report.notes[-1]


def test_malformed_files_rejected(covid_dir, reference_dir, tmp_path):
    store = SurveillanceStore(tmp_path / "s")
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(IngestError, match="not a KUHR, MSIS or lab file"):
        ingest_file(odd, store, reference_dir)
    bad_place = tmp_path / "lab.csv"
    bad_place.write_text(
        "location_code,date,n_pos,n_neg\ncounty99,2020-04-01,1,2\n", encoding="utf-8"
    )
    with pytest.raises(IngestError, match="rows are bad"):
        ingest_file(bad_place, store, reference_dir)
    with pytest.raises(IngestError, match="not kuhr"):
        ingest_file(
            covid_dir / "data_covid19_lab_by_time_latest.csv", store, reference_dir, SourceKind.KUHR
        )
    assert store.lab_tests(Frequency.DAILY).collect().height == 0


MSIS_HEADER = "location_code,date,n,granularity_time,granularity_geo,border,age,sex,pop\n"


def msis_file(path, rows):
    """Write a daily county MSIS file from (location, date, n) rows."""
    lines = [f"{loc},{day},{n},day,county,2020,total,total,693494\n" for loc, day, n in rows]
    path.write_text(MSIS_HEADER + "".join(lines), encoding="utf-8")
    return path


def test_a_repeated_msis_key_is_an_error_naming_both_lines(reference_dir, tmp_path):
    store = SurveillanceStore(tmp_path / "s")
    path = msis_file(
        tmp_path / "msis.csv",
        [
            ("county03", "2020-03-02", 4),
            ("county03", "2020-03-03", 1),
            ("county03", "2020-03-02", 4),
        ],
    )
    with pytest.raises(IngestError, match="lines 2 and 4 both give location_code county03"):
        ingest_file(path, store, reference_dir)
    assert store.cases(Frequency.WEEKLY).collect().height == 0


def test_a_repeated_lab_key_is_an_error_naming_both_lines(reference_dir, tmp_path):
    path = tmp_path / "lab.csv"
    path.write_text(
        "location_code,date,n_pos,n_neg\n"
        "norge,2020-04-01,1,2\nnorge,2020-04-02,1,2\nnorge,2020-04-02,3,2\n",
        encoding="utf-8",
    )
    with pytest.raises(IngestError, match="lines 3 and 4 both give location_code norge"):
        ingest_file(path, SurveillanceStore(tmp_path / "s"), reference_dir)


def test_a_later_msis_file_replaces_the_days_it_covers(reference_dir, tmp_path):
    store = SurveillanceStore(tmp_path / "s")
    first = [("county03", f"2020-03-0{d}", 10) for d in range(2, 9)]  # Monday … Sunday
    first += [("county11", "2020-03-02", 7)]
    ingest_file(msis_file(tmp_path / "a.csv", first), store, reference_dir)
    # The correction covers Tuesday and Wednesday for Oslo only; Wednesday has no row now.
    correction = [("county03", "2020-03-03", 1), ("county03", "2020-03-04", 2)]
    ingest_file(msis_file(tmp_path / "b.csv", correction), store, reference_dir)
    daily = dict(
        store.cases(Frequency.DAILY)
        .filter(pl.col("location_code") == "county03")
        .select(pl.col("date").cast(pl.String), "n")
        .collect()
        .rows()
    )
    assert daily["2020-03-02"] == 10 and daily["2020-03-03"] == 1 and daily["2020-03-04"] == 2
    weekly = dict(store.cases(Frequency.WEEKLY).select("location_code", "n").collect().rows())
    assert weekly == {"county03": 5 * 10 + 1 + 2, "county11": 7}  # the week is summed again


def test_an_msis_file_whose_rows_are_all_bad_fails_as_a_whole(reference_dir, tmp_path):
    store = SurveillanceStore(tmp_path / "s")
    path = msis_file(tmp_path / "msis.csv", [("county03", "2020-13-01", 1), ("county03", "x", 2)])
    with pytest.raises(IngestError, match="2 of 2 rows are bad"):
        ingest_file(path, store, reference_dir)
    assert store.status().generation == 0  # nothing was committed
