"""The Farrington flexible / Noufaily detector (spec §3), vectorised across series."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from korona.surveillance.calendar import Frequency
from korona.surveillance.detect.base import (
    Detection,
    DetectionError,
    Detector,
    Method,
    single_threaded_blas,
)
from korona.surveillance.detect.farrington.bounds import (
    PowerTransform,
    ThresholdMethod,
    threshold_delta,
    threshold_noufaily,
)
from korona.surveillance.detect.farrington.fitting import fit_point
from korona.surveillance.detect.farrington.windows import reference_window
from korona.surveillance.series import SeriesSet, Status


@dataclass(frozen=True)
class FarringtonResult:
    """R ``farringtonFlexible``'s outputs for a SeriesSet, each (n_series, n_time).

    Attributes:
        points: the predicted time indices (R ``range``).
        expected: μ₀ (R ``control$expected``); NaN where R gives NA.
        upperbound: the upper bound (R ``upperbound``); NaN where R gives NA.
        alarm: R ``alarm`` (False where R gives NA).
        score: Farrington's exceedance score (R ``control$score``).
        trend: the time trend was kept (R ``control$trend``).
        failed: no model converged (R leaves every output NA).
        dispersion: (n_series, points) the final fit's dispersion before the floor at 1.
    """

    points: np.ndarray
    expected: np.ndarray
    upperbound: np.ndarray
    alarm: np.ndarray
    score: np.ndarray
    trend: np.ndarray
    failed: np.ndarray
    dispersion: np.ndarray


@dataclass(frozen=True)
class FarringtonDetector(Detector):
    """Farrington flexible (Noufaily et al. 2013) as R ``surveillance::farringtonFlexible``.

    One quasi-Poisson GLM per series and predicted week on the reference windows of the
    previous years, with Anscombe-residual reweighting, a time trend kept only when
    significant, and a one-sided upper bound. Weekly series only.

    Parameters (R name, paper symbol):
        years_back: years of history (``b``).
        window_half_width: half-width of the reference windows, weeks (``w``).
        reweight: down-weight past outbreaks (``reweight``).
        weights_threshold: Anscombe residual above which a point is down-weighted
            (``weightsThreshold``; 2.58 in Noufaily, 1 in Farrington 1996).
        alpha: one-sided level of the upper bound (``alpha``).
        trend: allow a linear time trend (``trend``).
        trend_p_threshold: p-value below which the trend is kept (``pThresholdTrend``).
        limit_cases, limit_weeks: no alarm unless the last ``limit_weeks`` weeks (this one
            included) have at least ``limit_cases`` cases (``limit54 = c(5, 4)``).
        power_transform: transformation for the delta threshold (``powertrans``).
        population_offset: use log(denominator) as offset (``populationOffset``).
        no_periods: periods a year is split into; > 1 adds a seasonal factor (``noPeriods``).
        past_weeks_not_included: recent weeks left out of the fit; None means
            ``window_half_width`` (``pastWeeksNotIncluded``).
        threshold_method: delta, nbPlugin or muan (``thresholdMethod``).

    Results: ``expected`` is μ₀, ``threshold4`` the upper bound, ``zscore`` Farrington's
    exceedance score X = (y − μ₀)/(U − μ₀) (alarm ⟺ X > 1), ``status`` high on an alarm.
    As in R, expected and upper bound are missing (NaN) when ``limit54`` is not met, and a
    week where no model converges has expected 0 (R's initial value) and ``failed`` set.
    :meth:`evaluate` returns R's outputs by R's names, the trend decision included.

    References:
        Farrington C.P. et al. (1996) JRSS A 159, 547–563. Noufaily A. et al. (2013) An
        improved algorithm for outbreak detection in multiple surveillance systems. Stat Med
        32, 1206–1222. Salmon M., Schumacher D., Höhle M. (2016) J Stat Softw 70(10).
    """

    method: ClassVar[Method] = Method.FARRINGTON
    #: R ``farringtonFlexible`` control names → korona parameter names (spec §3 table).
    R_NAMES: ClassVar[dict[str, str]] = {
        "b": "years_back",
        "w": "window_half_width",
        "weightsThreshold": "weights_threshold",
        "pThresholdTrend": "trend_p_threshold",
        "limit54": "limit_cases, limit_weeks",
        "powertrans": "power_transform",
        "populationOffset": "population_offset",
        "noPeriods": "no_periods",
        "pastWeeksNotIncluded": "past_weeks_not_included",
        "thresholdMethod": "threshold_method",
    }

    years_back: int = 5
    window_half_width: int = 3
    reweight: bool = True
    weights_threshold: float = 2.58
    alpha: float = 0.05
    trend: bool = True
    trend_p_threshold: float = 0.05
    limit_cases: int = 5
    limit_weeks: int = 4
    power_transform: PowerTransform = PowerTransform.TWO_THIRDS
    population_offset: bool = False
    no_periods: int = 1
    past_weeks_not_included: int | None = None
    threshold_method: ThresholdMethod = ThresholdMethod.DELTA
    tol: float = 1e-8
    max_iter: int = 100
    workers: int = 0

    def __post_init__(self) -> None:
        if self.years_back < 1 or self.window_half_width < 0 or self.no_periods < 1:
            raise ValueError("years_back ≥ 1, window_half_width ≥ 0 and no_periods ≥ 1")
        if not 0 < self.alpha < 1:
            raise ValueError("alpha must be between 0 and 1")
        if self.limit_cases < 0 or self.limit_weeks < 1:
            raise ValueError("limit_cases must be ≥ 0 and limit_weeks ≥ 1")
        object.__setattr__(self, "power_transform", PowerTransform(self.power_transform))
        object.__setattr__(self, "threshold_method", ThresholdMethod(self.threshold_method))

    @property
    def weeks_left_out(self) -> int:
        """Return ``past_weeks_not_included`` with its default (``window_half_width``)."""
        if self.past_weeks_not_included is None:
            return self.window_half_width
        return self.past_weeks_not_included

    def detect(self, series: SeriesSet, *, years: Sequence[int] | None = None) -> Detection:
        """Fit every series at every week of the prediction ``years``."""
        out = self.evaluate(series, years=years)
        shape = series.observed.shape
        predicted = np.zeros(shape, dtype=bool)
        predicted[:, out.points] = True
        status = np.where(out.alarm, Status.HIGH.code, Status.NORMAL.code).astype(np.int8)
        with np.errstate(invalid="ignore"):
            excess = np.where(
                out.alarm, np.ceil(np.nan_to_num(series.observed - out.upperbound)), 0
            ).astype(np.int64)
        nan = np.full(shape, np.nan)
        result = series.with_results(
            predicted=predicted,
            expected=out.expected,
            threshold2=nan,
            threshold4=out.upperbound,
            threshold6=nan,
            zscore=out.score,
            status=status,
            excess=excess,
            failed=out.failed,
        )
        return Detection(
            series=result,
            fits=series.n_series * out.points.size,
            failed_fits=int(np.count_nonzero(out.failed[:, out.points])),
            dispersion=out.dispersion,
            fit_labels=tuple(str(d) for d in series.dates[out.points]),
        )

    def evaluate(
        self, series: SeriesSet, *, years: Sequence[int] | None = None
    ) -> FarringtonResult:
        """Return R's quantities (expected, upperbound, alarm, trend, …) for every series.

        Every array is (n_series, n_time) and NaN / False outside the predicted weeks.
        """
        if series.frequency is not Frequency.WEEKLY:
            raise DetectionError("the Farrington method is implemented for weekly series only")
        n_series, n_time = series.observed.shape
        year_of = series.years()
        if years is not None:
            points = np.flatnonzero(np.isin(year_of, list(years)))
        else:
            # Like R's default range: every week that has the full history behind it.
            points = np.array(
                [k for k in range(n_time) if self._window(series.dates, k) is not None],
                dtype=np.int64,
            )
        y_all = series.observed.astype(np.float64)
        if self.population_offset and series.denominator is None:
            raise DetectionError("population_offset needs a denominator")
        offset_all = (
            np.log(np.maximum(series.denominator, 1.0))
            if self.population_offset and series.denominator is not None
            else np.zeros_like(y_all)
        )

        shape = (n_series, n_time)
        expected = np.full(shape, np.nan)
        upper = np.full(shape, np.nan)
        score = np.full(shape, np.nan)
        alarm = np.zeros(shape, dtype=bool)
        trend = np.zeros(shape, dtype=bool)
        failed = np.zeros(shape, dtype=bool)
        dispersion = np.full((n_series, points.size), np.nan)
        muan = self.threshold_method is ThresholdMethod.MUAN

        def run_point(column: int) -> None:
            k = int(points[column])
            window = self._window(series.dates, k)
            if window is None:
                failed[:, k] = True
                expected[:, k] = 0.0
                return
            point = fit_point(self, window, y_all, offset_all[:, k], offset_all, k)
            mu0, se_eta0, phi, ok = point.mu0, point.se_eta0, point.phi, point.ok
            y_k = y_all[:, k]
            with np.errstate(divide="ignore", invalid="ignore"):
                if self.threshold_method is ThresholdMethod.DELTA:
                    u, _, x = threshold_delta(
                        mu0, mu0 * se_eta0, phi, self.power_transform, self.alpha, y_k
                    )
                else:
                    u, _, x = threshold_noufaily(
                        np.log(mu0), se_eta0, phi, self.threshold_method, self.alpha, y_k
                    )
            # No cases in the whole reference period: μ₀ = 0, so the bound is 0 too. R's fit
            # stops at a tiny μ₀ with an enormous se(η₀); muan's exp(η₀ + z·se) overflows
            # there, so R's bound, score and expected are NA (and no alarm).
            zero_mean = ok & (mu0 == 0)
            u = np.where(zero_mean, np.nan if muan else 0.0, u)
            x = np.where(zero_mean, np.nan if muan else np.where(y_k > 0, np.inf, 0.0), x)
            lo = max(0, k - self.limit_weeks + 1)
            enough = y_all[:, lo : k + 1].sum(axis=1) >= self.limit_cases
            # R: expected is NA when the bound is NA or limit54 is not met; the score is
            # kept either way, but X (hence the alarm) is NA without enough cases. When no
            # model converges R leaves expected at the 0 its result matrix starts with.
            expected[:, k] = np.where(ok, np.where(enough & ~np.isnan(u), mu0, np.nan), 0.0)
            upper[:, k] = np.where(ok & enough, u, np.nan)
            score[:, k] = np.where(ok, x, np.nan)
            alarm[:, k] = ok & enough & (x > 1) & (y_k != 0)
            trend[:, k] = ok & point.trend
            failed[:, k] = ~ok
            dispersion[:, column] = np.where(ok, point.raw_phi, np.nan)

        workers = self.workers or os.cpu_count() or 1
        with single_threaded_blas():
            if workers == 1 or points.size < 2:
                for column in range(points.size):
                    run_point(column)
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    list(pool.map(run_point, range(points.size)))
        return FarringtonResult(
            points=points,
            expected=expected,
            upperbound=upper,
            alarm=alarm,
            score=score,
            trend=trend,
            failed=failed,
            dispersion=dispersion,
        )

    def _window(self, dates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Return the reference data of week ``k`` for this detector's settings."""
        return reference_window(
            dates,
            k,
            self.years_back,
            self.window_half_width,
            self.no_periods,
            self.weeks_left_out,
        )
