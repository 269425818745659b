"""The reference windows of a predicted week: b years back, ±w weeks, and the periods."""

from __future__ import annotations

import datetime as dt

import numpy as np

from korona.surveillance.detect.base import DetectionError


def _years_back(day: dt.date, years: int) -> dt.date:
    """Return the same calendar day ``years`` earlier; 29 February becomes 1 March (as R does)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return dt.date(day.year - years, 3, 1)


def reference_window(
    dates: np.ndarray,
    k: int,
    years_back: int,
    window_half_width: int,
    no_periods: int,
    past_weeks_not_included: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return (time indices, period level) of the reference data for prediction index ``k``.

    Mirrors R ``algo.farrington.data.glm`` for weekly dates: reference weeks are the weeks
    nearest the same date 1..b years back; each contributes a window of ±w weeks (level
    ``no_periods``); with ``no_periods > 1`` the weeks between windows are split into
    ``no_periods − 1`` blocks. The last ``past_weeks_not_included`` weeks before ``k`` (and
    ``k``) are left out. Returns None when the history is too short.
    """
    first = dates[0].astype("datetime64[D]").astype(dt.date)
    today = dates[k].astype("datetime64[D]").astype(dt.date)
    refs = [k]
    for j in range(1, years_back + 1):
        target = _years_back(today, j)
        wday = (target.weekday() + 1) % 7  # R %w: Sunday = 0
        shift = 7 - wday if wday >= 4 else -wday
        index = ((target + dt.timedelta(days=shift)) - first).days // 7
        refs.append(index)
    w = window_half_width
    if refs[-1] - w < 0:
        return None
    levels = np.full(k + 1, -1, dtype=np.int64)
    levels[k - w : k + 1] = no_periods
    for i in range(1, years_back + 1):
        ref, later = refs[i], refs[i - 1]
        levels[ref - w : ref + w + 1] = no_periods
        if no_periods != 1:
            period = later - 2 * w - 1 - ref
            if period < no_periods - (2 * w + 1):
                raise DetectionError("no_periods is too large for the window")
            size, rest = divmod(period, no_periods - 1)
            lengths = np.full(no_periods - 1, size)
            lengths[:rest] += 1
            edges = np.concatenate([[0], np.cumsum(lengths)]) + ref + w + 1
            for level in range(1, no_periods):
                levels[edges[level - 1] : edges[level]] = level
    levels[max(0, k - past_weeks_not_included) : k + 1] = -1
    index = np.flatnonzero(levels >= 0)
    return index, levels[index]
