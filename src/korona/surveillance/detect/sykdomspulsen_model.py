"""Sykdomspulsen's model matrix and training windows (spec §2 steps 1–2)."""

from __future__ import annotations

import numpy as np

from korona.surveillance.calendar import Frequency, norwegian_holidays
from korona.surveillance.detect.base import DetectionError
from korona.surveillance.series import SeriesSet

__all__ = ["as_slice", "design_matrix", "prediction_years", "training_window"]

_TREND_ORIGIN_DAYS = 13000.0
_TREND_SCALE_DAYS = 100.0


def _holiday_days(years: range) -> np.ndarray:
    """Return all Norwegian public holidays in ``years`` as days since 1970-01-01."""
    days = [d for year in years for d in norwegian_holidays(year)]
    return np.array(days, dtype="datetime64[D]").astype(np.int64)


def _day_of_year(days: np.ndarray) -> np.ndarray:
    """Return the 1-based day of the year of each day number."""
    as_date = days.astype("datetime64[D]")
    return (as_date - as_date.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64) + 1


def design_matrix(dates: np.ndarray, frequency: Frequency) -> tuple[np.ndarray, tuple[str, ...]]:
    """Return the model matrix of spec §2 step 2 for a time axis, and its column names.

    Parameters:
        dates: ``datetime64[D]``; weekly points are the ISO week's Sunday.
        frequency: weekly → ``1, trend, sin, cos, holiday`` with seasonality on the ISO week;
            daily → ``1, trend, 6 day-of-week dummies (Monday is the reference), sin, cos,
            holiday`` with seasonality on the day of the year.
    Returns:
        ``(n_time, p)`` float64 matrix and column names. ``trend`` is (days since 1970-01-01
        − 13000) / 100, weekly the mean over the week's seven days (its Thursday). The weekly
        ``holiday`` is the share of the week's days that are public holidays.
    """
    days = np.asarray(dates).astype("datetime64[D]").astype(np.int64)
    if days.size == 0:
        raise DetectionError("no time points to build a design for")
    first_year = int(days.min().astype("datetime64[D]").astype("datetime64[Y]").astype(int)) + 1970
    last_year = int(days.max().astype("datetime64[D]").astype("datetime64[Y]").astype(int)) + 1970
    holidays = _holiday_days(range(first_year - 1, last_year + 2))
    ones = np.ones(days.size)
    if frequency is Frequency.WEEKLY:
        thursday = days - 3
        trend = (thursday - _TREND_ORIGIN_DAYS) / _TREND_SCALE_DAYS
        iso_week = (_day_of_year(thursday) - 1) // 7 + 1
        angle = 2 * np.pi * (iso_week - 1) / 52
        week_days = days[:, None] - np.arange(7)[None, :]
        holiday = np.isin(week_days, holidays).sum(axis=1) / 7.0
        columns = np.column_stack([ones, trend, np.sin(angle), np.cos(angle), holiday])
        return columns, ("intercept", "trend", "sin", "cos", "holiday")
    trend = (days - _TREND_ORIGIN_DAYS) / _TREND_SCALE_DAYS
    weekday = (days + 3) % 7  # Monday = 0: day 0 (1970-01-01) was a Thursday
    dummies = (weekday[:, None] == np.arange(1, 7)[None, :]).astype(np.float64)
    angle = 2 * np.pi * _day_of_year(days) / 366
    holiday = np.isin(days, holidays).astype(np.float64)
    columns = np.column_stack([ones, trend, dummies, np.sin(angle), np.cos(angle), holiday])
    names = ("intercept", "trend", *(f"weekday{i}" for i in range(2, 8)), "sin", "cos", "holiday")
    return columns, names


def prediction_years(series: SeriesSet) -> list[int]:
    """Return every calendar year that has points in ``series`` (weekly: year of the Sunday)."""
    return sorted({int(y) for y in np.unique(series.years())})


def training_window(dates: np.ndarray, year: int, years_back: int = 5) -> np.ndarray:
    """Return the training mask for prediction year ``year`` (spec §2 step 1).

    Train on 1 January (year − 5) up to but not including 31 December (year − 1); if the
    data start later, train on the first five years of data instead (the reference compares
    ``date < train_end``, so 31 December is left out either way).
    """
    days = np.asarray(dates).astype("datetime64[D]")
    first_year = int(days.min().astype("datetime64[Y]").astype(int)) + 1970
    start_year = year - years_back
    if start_year < first_year:
        start_year = first_year
    start = np.datetime64(f"{start_year:04d}-01-01")
    end = np.datetime64(f"{start_year + years_back - 1:04d}-12-31")
    return (days >= start) & (days < end)


#: An empty column selection (a year without a training window).
_EMPTY = slice(0, 0)


def as_slice(mask: np.ndarray) -> slice | None:
    """Return the consecutive True run of ``mask`` as a slice (None if none is True)."""
    where = np.flatnonzero(mask)
    if where.size == 0:
        return None
    if where[-1] - where[0] + 1 != where.size:
        raise DetectionError("a training or prediction window is not one run of time points")
    return slice(int(where[0]), int(where[-1]) + 1)
