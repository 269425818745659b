"""Data completeness: flag weeks whose consultation total falls far below the usual level."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from korona.surveillance.calendar import weekly_holiday_covariate

__all__ = [
    "BASELINE_WEEKS",
    "INCOMPLETE_RATIO",
    "MIN_BASELINE",
    "MIN_HISTORY_WEEKS",
    "incomplete_by_location",
    "possibly_incomplete",
    "usual_totals",
]

#: The usual level is the median of this many earlier weeks (two months: recent enough to
#: follow a municipality's growth, long enough that one odd week does not move it).
BASELINE_WEEKS = 8
#: …of which at least this many must have a report, or the week is not judged.
MIN_HISTORY_WEEKS = 4
#: A week below this share of the usual level is possibly incomplete.
INCOMPLETE_RATIO = 0.5
#: Municipalities usually reporting fewer consultations a week than this are not judged:
#: a Poisson count with mean 30 falls below 15 in under 0.1 % of weeks, so a flag above this
#: level is rarely noise, while below it (Utsira, Modalen) chance alone would flag weeks.
MIN_BASELINE = 30.0


def _as_arrays(totals: np.ndarray, holiday: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(totals, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError("totals must be a 2-D array (series × weeks)")
    holidays = np.broadcast_to(np.asarray(holiday, dtype=bool), values.shape)
    if np.any(values[np.isfinite(values)] < 0):
        raise ValueError("consultation totals cannot be negative")
    return values, holidays


def usual_totals(
    totals: np.ndarray,
    holiday: np.ndarray,
    *,
    weeks: int = BASELINE_WEEKS,
    min_weeks: int = MIN_HISTORY_WEEKS,
) -> np.ndarray:
    """Return each week's usual total: the median of the series' previous reporting weeks.

    The previous ``weeks`` weeks that are neither holiday weeks nor missing (NaN) count,
    however far back they lie; the week itself never does.

    Parameters
    ----------
    totals:
        Consultations per week, shape (n_series, n_weeks), weeks in order; NaN = no report.
    holiday:
        True for weeks with a public holiday, shape (n_weeks,) or (n_series, n_weeks).
    weeks:
        How many earlier weeks the median takes.
    min_weeks:
        Fewer earlier weeks than this give NaN.

    Returns
    -------
    Float array shaped like ``totals`` (consultations per week), NaN where too little history.
    """
    if not 1 <= min_weeks <= weeks:
        raise ValueError("need 1 <= min_weeks <= weeks")
    values, holidays = _as_arrays(totals, holiday)
    usable = np.isfinite(values) & ~holidays
    n_series, n_weeks = values.shape
    # Pack each series' usable weeks to the left, in time order; a week then sees the
    # `weeks` packed entries just before its own count of earlier usable weeks.
    order = np.argsort(~usable, axis=1, kind="stable")
    packed = np.take_along_axis(values, order, axis=1)
    packed[np.arange(n_weeks)[None, :] >= usable.sum(axis=1, keepdims=True)] = np.nan
    padded = np.concatenate((np.full((n_series, weeks), np.nan), packed), axis=1)
    windows = sliding_window_view(padded, weeks, axis=1)[:, : n_weeks + 1]
    history = np.minimum(np.arange(n_weeks + 1), weeks)
    by_count = np.full((n_series, n_weeks + 1), np.nan)
    # Full windows hold no NaN, and np.median is far faster than np.nanmedian.
    full = history == weeks
    by_count[:, full] = np.median(windows[:, full], axis=2)
    partial = (history >= min_weeks) & ~full
    if partial.any():
        # Counts beyond a series' own number of usable weeks give all-NaN windows; their
        # medians are never looked up, so numpy's warning about them is noise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            by_count[:, partial] = np.nanmedian(windows[:, partial], axis=2)
    earlier = np.cumsum(usable, axis=1) - usable
    return np.take_along_axis(by_count, earlier, axis=1)


def possibly_incomplete(
    totals: np.ndarray,
    holiday: np.ndarray,
    *,
    ratio: float = INCOMPLETE_RATIO,
    min_baseline: float = MIN_BASELINE,
    weeks: int = BASELINE_WEEKS,
    min_weeks: int = MIN_HISTORY_WEEKS,
) -> np.ndarray:
    """Return True for weeks whose total falls below ``ratio`` times the usual total.

    A week is possibly incomplete when it is not a holiday week, its usual total
    (:func:`usual_totals`) is at least ``min_baseline``, and its total is below ``ratio``
    times that usual total or missing altogether. Holiday weeks are never flagged: fewer
    consultations there are expected, not a reporting gap.

    Parameters
    ----------
    totals:
        Consultations per week, shape (n_series, n_weeks); NaN = no report.
    holiday:
        True for weeks with a public holiday, shape (n_weeks,) or (n_series, n_weeks).
    ratio:
        Share of the usual total below which a week is flagged (0 < ratio <= 1).
    min_baseline:
        Usual totals below this (consultations per week) are too small to judge.

    Returns
    -------
    Boolean array shaped like ``totals``.
    """
    if not 0 < ratio <= 1:
        raise ValueError("ratio must lie in (0, 1]")
    values, holidays = _as_arrays(totals, holiday)
    usual = usual_totals(values, holidays, weeks=weeks, min_weeks=min_weeks)
    judged = ~holidays & (usual >= min_baseline)
    with np.errstate(invalid="ignore"):
        low = ~(values >= ratio * usual)
    return judged & low


def incomplete_by_location(frame: pl.DataFrame, totals: str) -> pl.Series:
    """Flag weeks whose consultation total falls far below usual (holiday weeks excepted),
    judged per location over its own weeks (``frame`` sorted by location_code, date)."""
    if totals not in frame.columns or frame.height == 0:
        return pl.Series("possibly_incomplete", [False] * frame.height, dtype=pl.Boolean)
    dates = frame["date"].unique().sort()
    first, last = dates.min(), dates.max()
    assert isinstance(first, dt.date) and isinstance(last, dt.date)
    holidays = weekly_holiday_covariate(first, last).select("date", "holiday")
    holiday = (
        pl.DataFrame({"date": dates})
        .join(holidays, on="date", how="left", maintain_order="left")["holiday"]
        .fill_null(0)
        > 0
    ).to_numpy()
    codes = frame["location_code"]
    row_location = codes.rle_id().to_numpy()  # sorted by location: one run per location
    row_date = np.searchsorted(dates.to_numpy(), frame["date"].to_numpy())
    values = np.full((int(row_location.max()) + 1, dates.len()), np.nan)
    values[row_location, row_date] = frame[totals].cast(pl.Float64).fill_null(np.nan).to_numpy()
    # A week missing from a location's table is NaN here, which the usual level skips just
    # as it skips a week without a report; its own flag is never read.
    reported = np.isfinite(values)
    columns = np.arange(values.shape[1])
    first_seen = np.where(reported.any(axis=1), reported.argmax(axis=1), values.shape[1])
    last_seen = values.shape[1] - 1 - reported[:, ::-1].argmax(axis=1)
    # Only weeks inside the reported period are judged: after the last delivery a week is
    # not incomplete, it has not arrived yet.
    inside = (columns[None, :] >= first_seen[:, None]) & (columns[None, :] <= last_seen[:, None])
    flags = possibly_incomplete(values, holiday) & inside
    return pl.Series("possibly_incomplete", flags[row_location, row_date])
