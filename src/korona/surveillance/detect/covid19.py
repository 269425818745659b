"""The covid-19 signal of spec §4: cases and covid consultations against the two weeks before."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

import numpy as np

from korona.surveillance.calendar import Frequency
from korona.surveillance.detect.base import Detection, DetectionError, Detector, Method
from korona.surveillance.series import SeriesSet, Status

__all__ = ["Covid19Detector", "Covid19Source"]


class Covid19Source(StrEnum):
    """What the covid-19 series count."""

    CASES = "cases"  # MSIS confirmed cases; no denominator
    CONSULTATIONS = "consultations"  # R991 + R992 consultations; denominator all consultations


@dataclass(frozen=True)
class Covid19Detector(Detector):
    """FHI's covid-19 signal (spec §4), weekly, from 9 March 2020.

    Cases: baseline b = max(1, ⌈mean of the two previous weeks⌉); high if n > Q₀.₉₇₅(Pois(b)).
    Consultations: share s = covid consultations of the two previous weeks / all
    consultations of those weeks, at least ``min_share``; expected e = ⌈s · N⌉ with N this
    week's consultations; threshold = Q₀.₉₇₅(Pois(e)) / N as a percentage, capped at 100;
    high if 100 · n / N is above it.

    Parameters:
        source: cases or consultations.
        start: first day a week may be signalled (its Sunday on or after this date).
        quantile: Poisson quantile of the threshold (0.975).
        min_share: lowest baseline share of consultations (0.0001 = 0.01 %).

    Results: ``expected`` the baseline (cases or consultations), ``threshold4`` the
    threshold as a count (for consultations: percentage × N / 100), ``status`` high or
    normal, ``excess`` ⌈max(0, n − threshold)⌉; there is no z-score (NaN). A consultation
    week with no consultations at all cannot be judged and is marked failed.

    References:
        FHI Sykdomspulsen covid-19 municipal reports (2020), spec §4.
    """

    method: ClassVar[Method] = Method.COVID19

    source: Covid19Source = Covid19Source.CONSULTATIONS
    start: dt.date = field(default=dt.date(2020, 3, 9))
    quantile: float = 0.975
    min_share: float = 0.0001

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", Covid19Source(self.source))
        if not 0 < self.quantile < 1:
            raise ValueError("quantile must be between 0 and 1")
        if not 0 <= self.min_share <= 1:
            raise ValueError("min_share must be between 0 and 1")

    def detect(self, series: SeriesSet, *, years: Sequence[int] | None = None) -> Detection:
        """Judge every week from ``start`` (and in ``years``) that has two weeks before it."""
        from scipy import stats  # imported here: scipy.stats costs ~1 s at start-up

        if series.frequency is not Frequency.WEEKLY:
            raise DetectionError("the covid-19 signal is weekly")
        if self.source is Covid19Source.CONSULTATIONS and series.denominator is None:
            raise DetectionError("the consultation signal needs all consultations as denominator")
        n_series, n_time = series.observed.shape
        y = series.observed.astype(np.float64)
        wanted = series.dates >= np.datetime64(self.start)
        wanted[:2] = False  # two previous weeks are needed
        if years is not None:
            wanted &= np.isin(series.years(), list(years))
        cols = np.flatnonzero(wanted)
        previous = y[:, cols - 1] + y[:, cols - 2]
        now = y[:, cols]
        failed_part = np.zeros((n_series, cols.size), dtype=bool)
        if self.source is Covid19Source.CASES:
            expected = np.maximum(1.0, np.ceil(previous / 2))
            threshold = stats.poisson.ppf(self.quantile, expected)
        else:
            assert series.denominator is not None
            den = series.denominator
            den_previous = den[:, cols - 1] + den[:, cols - 2]
            den_now = den[:, cols]
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(den_previous > 0, previous / den_previous, 0.0)
            share = np.maximum(share, self.min_share)
            expected = np.ceil(share * den_now)
            # Threshold as a percentage of this week's consultations, capped at 100 %,
            # kept as the equivalent count so it compares with n directly.
            threshold = np.minimum(stats.poisson.ppf(self.quantile, expected), den_now)
            failed_part = den_now <= 0
        high = (now > threshold) & ~failed_part

        shape = (n_series, n_time)
        out = {name: np.full(shape, np.nan) for name in ("expected", "threshold4")}
        out["expected"][:, cols] = expected
        out["threshold4"][:, cols] = threshold
        status = np.zeros(shape, dtype=np.int8)
        status[:, cols] = np.where(high, Status.HIGH.code, Status.NORMAL.code)
        excess = np.zeros(shape, dtype=np.int64)
        excess[:, cols] = np.where(high, np.ceil(now - threshold), 0)
        failed = np.zeros(shape, dtype=bool)
        failed[:, cols] = failed_part
        predicted = np.zeros(shape, dtype=bool)
        predicted[:, cols] = True
        nan = np.full(shape, np.nan)
        result = series.with_results(
            predicted=predicted,
            expected=out["expected"],
            threshold2=nan,
            threshold4=out["threshold4"],
            threshold6=nan,
            zscore=nan,
            status=status,
            excess=excess,
            failed=failed,
        )
        return Detection(
            series=result,
            fits=int(n_series * cols.size),
            failed_fits=int(np.count_nonzero(failed_part)),
            dispersion=np.full((n_series, 0), np.nan),
            fit_labels=(),
        )

    def percent_threshold(
        self, threshold_count: np.ndarray, consultations: np.ndarray
    ) -> np.ndarray:
        """Return the consultation threshold as the spec's percentage (capped at 100)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.minimum(100.0 * threshold_count / consultations, 100.0)
