"""Tests for ISO weeks and Norwegian public holidays."""

import csv
import datetime as dt

import pytest

from korona.surveillance.calendar import (
    Holiday,
    daily_holiday_covariate,
    easter_sunday,
    holidays_between,
    iso_week_label,
    iso_weeks_in_year,
    norwegian_holidays,
    parse_iso_week,
    week_of,
    week_sunday,
    weekly_holiday_covariate,
)


def test_week_label_and_sunday():
    assert iso_week_label(dt.date(2020, 1, 27)) == "2020-W05"
    assert week_sunday(2020, 5) == dt.date(2020, 2, 2)
    assert parse_iso_week("2020-W05") == (2020, 5)


def test_week_53_belongs_to_its_iso_year_and_is_dated_by_sunday():
    assert iso_weeks_in_year(2020) == 53
    assert iso_weeks_in_year(2021) == 52
    assert iso_week_label(dt.date(2021, 1, 3)) == "2020-W53"
    assert week_sunday(2020, 53) == dt.date(2021, 1, 3)
    with pytest.raises(ValueError, match="no week 53"):
        parse_iso_week("2021-W53")
    with pytest.raises(ValueError):
        parse_iso_week("2021-5")


def test_week_of_returns_sunday_of_same_iso_week():
    assert week_of(dt.date(2020, 12, 28)) == dt.date(2021, 1, 3)
    assert week_of(dt.date(2021, 1, 3)) == dt.date(2021, 1, 3)


def test_easter_known_years():
    assert easter_sunday(2020) == dt.date(2020, 4, 12)
    assert easter_sunday(2008) == dt.date(2008, 3, 23)
    assert easter_sunday(2038) == dt.date(2038, 4, 25)


def test_holidays_2020_hand_checked():
    holidays = norwegian_holidays(2020)
    assert holidays[dt.date(2020, 4, 5)] is Holiday.PALM_SUNDAY
    assert holidays[dt.date(2020, 5, 21)] is Holiday.ASCENSION_DAY
    assert holidays[dt.date(2020, 6, 1)] is Holiday.WHIT_MONDAY
    assert len(holidays) == 13


def test_coinciding_holidays_listed_once():
    # 2008: Ascension Day fell on 1 May.
    holidays = norwegian_holidays(2008)
    assert holidays[dt.date(2008, 5, 1)] is Holiday.ASCENSION_DAY
    assert len(holidays) == 12


def test_matches_spldata_holiday_file(reference_dir):
    path = reference_dir / "calendar" / "dates_holidays__derived_from_xlsx.csv"
    with path.open(encoding="utf-8") as handle:
        rows = {dt.date.fromisoformat(r["date"]): r["holiday_name"] for r in csv.DictReader(handle)}
    start, end = min(rows), max(rows)
    computed = {
        day: norwegian_holidays(day.year)[day].value for day in holidays_between(start, end)
    }
    assert computed == rows


def test_matches_sykdomspuls_holiday_file(reference_dir):
    path = reference_dir / "calendar" / "DatoerMedHelligdager.txt"
    text = path.read_text(encoding="utf-8-sig").splitlines()
    header = text[0].split(";")
    date_i, flag_i = header.index("Dato"), header.index("HelligdagIndikator")
    flags = {}
    for line in text[1:]:
        parts = line.split(";")
        if len(parts) == len(header):
            flags[dt.date.fromisoformat(parts[date_i])] = int(parts[flag_i])
    assert len(flags) == 7300
    marked = {day for day, flag in flags.items() if flag == 1}
    computed = set(holidays_between(min(flags), max(flags)))
    # The file leaves its very first day, 2000-01-01, unmarked; every other day agrees.
    assert computed - marked == {dt.date(2000, 1, 1)}
    assert marked - computed == set()


def test_daily_and_weekly_covariates():
    daily = daily_holiday_covariate(dt.date(2020, 12, 21), dt.date(2021, 1, 3))
    assert daily.height == 14
    assert daily["holiday"].sum() == 3
    weekly = weekly_holiday_covariate(dt.date(2020, 12, 21), dt.date(2021, 1, 3))
    assert weekly["week"].to_list() == ["2020-W52", "2020-W53"]
    assert weekly["date"].to_list() == [dt.date(2020, 12, 27), dt.date(2021, 1, 3)]
    assert weekly["holiday"].to_list() == pytest.approx([2 / 7, 1 / 7])
