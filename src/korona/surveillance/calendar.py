"""ISO weeks and Norwegian public holidays: the calendar every surveillance series is built on."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from functools import lru_cache

import polars as pl

__all__ = [
    "Frequency",
    "Holiday",
    "daily_holiday_covariate",
    "easter_sunday",
    "holidays_between",
    "is_holiday",
    "iso_week_label",
    "iso_weeks_in_year",
    "norwegian_holidays",
    "parse_iso_week",
    "week_columns",
    "week_of",
    "week_sunday",
    "weekly_holiday_covariate",
]

_WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


class Frequency(StrEnum):
    """Time resolution of a count series."""

    DAILY = "daily"
    WEEKLY = "weekly"


class Holiday(StrEnum):
    """Norwegian public holiday (helligdag); values are the names in FHI's holiday tables."""

    NEW_YEARS_DAY = "1. nyttårsdag"
    PALM_SUNDAY = "Palmesøndag"
    MAUNDY_THURSDAY = "Skjærtorsdag"
    GOOD_FRIDAY = "Langfredag"
    EASTER_SUNDAY = "1. påskedag"
    EASTER_MONDAY = "2. påskedag"
    LABOUR_DAY = "Offentlig høytidsdag"
    CONSTITUTION_DAY = "Grunnlovsdag"
    ASCENSION_DAY = "Kristi Himmelfartsdag"
    WHIT_SUNDAY = "1. pinsedag"
    WHIT_MONDAY = "2. pinsedag"
    CHRISTMAS_DAY = "1. juledag"
    BOXING_DAY = "2. juledag"


def iso_week_label(day: dt.date) -> str:
    """Return the ISO week of a date as ``"2020-W05"`` (``%G-W%V``)."""
    iso = day.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def parse_iso_week(label: str) -> tuple[int, int]:
    """Parse ``"2020-W05"`` into ``(2020, 5)``; raise ValueError for a week that does not exist."""
    match = _WEEK_PATTERN.match(label)
    if match is None:
        raise ValueError(f"not an ISO week label (expected e.g. 2020-W05): {label!r}")
    year, week = int(match.group(1)), int(match.group(2))
    if not 1 <= week <= iso_weeks_in_year(year):
        raise ValueError(f"ISO year {year} has no week {week}")
    return year, week


def iso_weeks_in_year(iso_year: int) -> int:
    """Return 52 or 53, the ISO weeks in an ISO year (28 December is always in the last)."""
    return dt.date(iso_year, 12, 28).isocalendar().week


def week_sunday(iso_year: int, iso_week: int) -> dt.date:
    """Return the Sunday that dates an ISO week (the spec dates every week by its Sunday)."""
    return dt.date.fromisocalendar(iso_year, iso_week, 7)


def week_of(day: dt.date) -> dt.date:
    """Return the Sunday of the ISO week that contains ``day``."""
    return day + dt.timedelta(days=7 - day.isoweekday())


def week_columns(date_column: str = "date") -> list[pl.Expr]:
    """Return expressions adding ``iso_year``, ``iso_week`` and ``week`` ("2020-W05") from a date.

    The date may be any day of the week; weekly frames use the week's Sunday.
    """
    date = pl.col(date_column)
    return [
        date.dt.iso_year().cast(pl.Int32).alias("iso_year"),
        date.dt.week().cast(pl.Int32).alias("iso_week"),
        pl.format(
            "{}-W{}",
            date.dt.iso_year(),
            date.dt.week().cast(pl.String).str.zfill(2),
        ).alias("week"),
    ]


def easter_sunday(year: int) -> dt.date:
    """Return Easter Sunday of a Gregorian year (anonymous Gregorian algorithm).

    References: J. Meeus, *Astronomical Algorithms* (1991), ch. 8.
    """
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


@lru_cache(maxsize=256)
def norwegian_holidays(year: int) -> dict[dt.date, Holiday]:
    """Return the Norwegian public holidays of a year, date → holiday.

    When two holidays fall on one date (Ascension Day on 1 or 17 May) the date is listed once,
    with the movable (Easter-based) holiday, as FHI's holiday tables do.
    """
    easter = easter_sunday(year)
    fixed = {
        dt.date(year, 1, 1): Holiday.NEW_YEARS_DAY,
        dt.date(year, 5, 1): Holiday.LABOUR_DAY,
        dt.date(year, 5, 17): Holiday.CONSTITUTION_DAY,
        dt.date(year, 12, 25): Holiday.CHRISTMAS_DAY,
        dt.date(year, 12, 26): Holiday.BOXING_DAY,
    }
    movable = {
        easter - dt.timedelta(days=7): Holiday.PALM_SUNDAY,
        easter - dt.timedelta(days=3): Holiday.MAUNDY_THURSDAY,
        easter - dt.timedelta(days=2): Holiday.GOOD_FRIDAY,
        easter: Holiday.EASTER_SUNDAY,
        easter + dt.timedelta(days=1): Holiday.EASTER_MONDAY,
        easter + dt.timedelta(days=39): Holiday.ASCENSION_DAY,
        easter + dt.timedelta(days=49): Holiday.WHIT_SUNDAY,
        easter + dt.timedelta(days=50): Holiday.WHIT_MONDAY,
    }
    return dict(sorted({**fixed, **movable}.items()))


def is_holiday(day: dt.date) -> bool:
    """Return True if ``day`` is a Norwegian public holiday."""
    return day in norwegian_holidays(day.year)


def holidays_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Return the public holidays from ``start`` to ``end``, both included, in date order."""
    return [
        day
        for year in range(start.year, end.year + 1)
        for day in norwegian_holidays(year)
        if start <= day <= end
    ]


def daily_holiday_covariate(start: dt.date, end: dt.date) -> pl.DataFrame:
    """Return one row per day from ``start`` to ``end`` with ``holiday`` 0/1 (Int8).

    Returns: columns ``date`` (Date), ``holiday`` (Int8).
    """
    dates = pl.date_range(start, end, interval="1d", eager=True).alias("date")
    holidays = pl.Series("h", holidays_between(start, end), dtype=pl.Date)
    return pl.DataFrame({"date": dates}).with_columns(
        pl.col("date").is_in(holidays.implode()).cast(pl.Int8).alias("holiday")
    )


def weekly_holiday_covariate(start: dt.date, end: dt.date) -> pl.DataFrame:
    """Return one row per ISO week touching ``start``..``end`` with its holiday fraction.

    Whole weeks are always counted (Monday to Sunday), so the fraction is holidays / 7.
    Returns: columns ``date`` (the week's Sunday), ``iso_year``, ``iso_week``, ``week``,
    ``holiday`` (Float64 in [0, 1]).
    """
    first_monday = start - dt.timedelta(days=start.isoweekday() - 1)
    last_sunday = week_of(end)
    daily = daily_holiday_covariate(first_monday, last_sunday)
    return (
        daily.with_columns(
            (pl.col("date") + pl.duration(days=7 - pl.col("date").dt.weekday())).alias("sunday")
        )
        .group_by("sunday")
        .agg((pl.col("holiday").sum() / 7.0).alias("holiday"))
        .rename({"sunday": "date"})
        .sort("date")
        .with_columns(week_columns("date"))
        .select("date", "iso_year", "iso_week", "week", "holiday")
    )
