"""Tests for the Parquet surveillance store."""

import datetime as dt

import polars as pl
import pytest

from korona.surveillance.calendar import Frequency
from korona.surveillance.store import StoreError, SurveillanceStore


def consultation_rows(rows):
    """Build a consultation frame from (location, date, syndrome, contact, n, denominator)."""
    return pl.DataFrame(
        [
            {
                "location_code": loc,
                "age": "total",
                "syndrome": syndrome,
                "contact_type": contact,
                "practice_type": "gp",
                "date": day,
                "n": n,
                "denominator": den,
            }
            for loc, day, syndrome, contact, n, den in rows
        ]
    )


def test_consultations_zero_filled_with_denominator_floor(tmp_path):
    store = SurveillanceStore(tmp_path)
    store.write_consultations(
        consultation_rows(
            [
                ("municip0301", dt.date(2020, 1, 6), "gastro", "in_person", 3, 10),
                ("municip0301", dt.date(2020, 1, 8), "gastro", "in_person", 1, 0),
            ]
        ),
        locations=["municip0301", "municip3001"],
    )
    daily = store.consultations(Frequency.DAILY).collect()
    # 2 locations × 1 age × 1 syndrome × 3 contact types × 2 practice types × 3 days
    assert daily.height == 2 * 3 * 2 * 3
    halden = daily.filter(pl.col("location_code") == "municip3001")
    assert halden["n"].sum() == 0
    assert set(halden["denominator"].to_list()) == {1}
    row = daily.filter(
        (pl.col("location_code") == "municip0301")
        & (pl.col("date") == dt.date(2020, 1, 8))
        & (pl.col("contact_type") == "in_person")
        & (pl.col("practice_type") == "gp")
    )
    assert row.select("n", "denominator").row(0) == (1, 1)


def test_weekly_rebuilt_as_sums_and_dated_by_sunday(tmp_path):
    store = SurveillanceStore(tmp_path)
    store.write_consultations(
        consultation_rows(
            [
                ("norge", dt.date(2020, 12, 28), "gastro", "telephone", 2, 5),
                ("norge", dt.date(2021, 1, 3), "gastro", "telephone", 4, 7),
                ("norge", dt.date(2021, 1, 4), "gastro", "telephone", 1, 1),
            ]
        )
    )
    weekly = (
        store.consultations(Frequency.WEEKLY)
        .filter(pl.col("contact_type") == "telephone", pl.col("practice_type") == "gp")
        .collect()
        .sort("date")
    )
    assert weekly["week"].to_list() == ["2020-W53", "2021-W01"]
    assert weekly["date"].to_list() == [dt.date(2021, 1, 3), dt.date(2021, 1, 10)]
    assert weekly["n"].to_list() == [6, 1]
    assert weekly["denominator"].to_list() == [12, 1]
    assert weekly["iso_year"].to_list() == [2020, 2021]


def test_rewriting_dates_replaces_them_and_is_idempotent(tmp_path):
    store = SurveillanceStore(tmp_path)
    first = consultation_rows(
        [
            ("norge", dt.date(2020, 1, 6), "gastro", "in_person", 5, 10),
            ("norge", dt.date(2020, 1, 7), "gastro", "in_person", 6, 10),
        ]
    )
    store.write_consultations(first)
    store.write_consultations(first)
    assert store.consultations(Frequency.WEEKLY).collect()["n"].sum() == 11
    corrected = consultation_rows([("norge", dt.date(2020, 1, 7), "gastro", "in_person", 1, 10)])
    store.write_consultations(corrected)
    daily = store.consultations(Frequency.DAILY).collect()
    assert daily["n"].sum() == 6
    assert store.consultations(Frequency.WEEKLY).collect()["n"].sum() == 6


def test_cases_upsert_by_location_and_date(tmp_path):
    store = SurveillanceStore(tmp_path)
    day = dt.date(2020, 3, 2)
    store.write_cases(
        pl.DataFrame({"location_code": ["norge"], "date": [day], "n": [3]}), Frequency.DAILY
    )
    store.write_cases(
        pl.DataFrame({"location_code": ["county03", "norge"], "date": [day, day], "n": [1, 4]}),
        Frequency.DAILY,
    )
    cases = store.cases(Frequency.DAILY).collect().sort("location_code")
    assert cases["n"].to_list() == [1, 4]
    store.write_cases(
        pl.DataFrame({"location_code": ["norge"], "date": [day], "n": [9]}), Frequency.WEEKLY
    )
    weekly = store.cases(Frequency.WEEKLY).collect()
    assert weekly.row(0, named=True)["date"] == dt.date(2020, 3, 8)
    assert weekly.row(0, named=True)["week"] == "2020-W10"


def test_results_replace_only_given_years(tmp_path):
    store = SurveillanceStore(tmp_path)
    frame = pl.DataFrame(
        {"date": [dt.date(2019, 6, 2), dt.date(2020, 6, 7)], "expected": [1.0, 2.0]}
    )
    store.write_results("standard", Frequency.WEEKLY, frame, [2019, 2020])
    store.write_results(
        "standard",
        Frequency.WEEKLY,
        pl.DataFrame({"date": [dt.date(2020, 6, 7)], "expected": [5.0]}),
        [2020],
    )
    got = store.results("standard", Frequency.WEEKLY).collect().sort("date")
    assert got["expected"].to_list() == [1.0, 5.0]
    with pytest.raises(StoreError, match="outside"):
        store.write_results("standard", Frequency.WEEKLY, frame, [2020])
    assert store.results("standard", Frequency.DAILY).collect().height == 0


def test_bad_frame_rejected_and_status(tmp_path):
    store = SurveillanceStore(tmp_path)
    with pytest.raises(StoreError, match="lacks columns"):
        store.write_cases(pl.DataFrame({"location_code": ["norge"]}), Frequency.DAILY)
    store.write_lab_tests(
        pl.DataFrame(
            {"location_code": ["norge"], "date": [dt.date(2020, 4, 1)], "n_pos": [1], "n_neg": [9]}
        ),
        Frequency.DAILY,
    )
    status = {(t.table, t.frequency): t for t in store.status().tables}
    lab = status[("lab_tests", "daily")]
    assert (lab.rows, lab.locations, lab.first_date) == (1, 1, dt.date(2020, 4, 1))
    assert lab.last_ingest_at is not None
    assert status[("cases", "daily")].rows == 0


def test_week_across_two_writes_and_years_is_summed(tmp_path):
    store = SurveillanceStore(tmp_path)
    store.write_consultations(
        consultation_rows([("norge", dt.date(2019, 12, 30), "gastro", "in_person", 2, 4)])
    )
    store.write_consultations(
        consultation_rows([("norge", dt.date(2020, 1, 2), "gastro", "in_person", 3, 5)])
    )
    weekly = (
        store.consultations(Frequency.WEEKLY)
        .filter(pl.col("contact_type") == "in_person", pl.col("practice_type") == "gp")
        .collect()
    )
    assert weekly.select("week", "n", "denominator").rows() == [("2020-W01", 5, 9)]
