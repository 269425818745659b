"""Farrington flexible / Noufaily outbreak detection (spec §3), vectorised across series."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
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
from korona.surveillance.detect.glm import PoissonFit, fit_poisson, hat_values, quadratic_form
from korona.surveillance.series import SeriesSet, Status

__all__ = [
    "FarringtonDetector",
    "FarringtonResult",
    "PowerTransform",
    "ThresholdMethod",
    "assign_weights",
    "reference_window",
    "threshold_delta",
    "threshold_noufaily",
]


class ThresholdMethod(StrEnum):
    """How the upper bound is computed (R ``thresholdMethod``)."""

    DELTA = "delta"  # Farrington 1996: normal approximation on a power scale, delta method
    NB_PLUGIN = "nbPlugin"  # Noufaily 2013: negative binomial quantile at the fitted mean
    MUAN = "muan"  # Noufaily 2013: negative binomial quantile at an upper quantile of μ


class PowerTransform(StrEnum):
    """Power transformation of the counts for the delta threshold (R ``powertrans``)."""

    TWO_THIRDS = "2/3"
    HALF = "1/2"
    NONE = "none"

    @property
    def exponent(self) -> float:
        """Return the exponent of the transformation."""
        return {"2/3": 2 / 3, "1/2": 0.5, "none": 1.0}[self.value]


def assign_weights(residuals: np.ndarray, threshold: float) -> np.ndarray:
    """Return Farrington's reweighting ω (R ``algo.farrington.assign.weights``), row-wise.

    ω = γ·s⁻² where s > threshold, else γ; γ makes the weights sum to the number of points.
    """
    above = residuals > threshold
    with np.errstate(divide="ignore"):
        raw = np.where(above, residuals**-2.0, 1.0)
    gamma = residuals.shape[-1] / raw.sum(axis=-1, keepdims=True)
    return gamma * raw


def threshold_delta(
    mu0: np.ndarray,
    se_mu0: np.ndarray,
    phi: np.ndarray,
    transform: PowerTransform,
    alpha: float,
    y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (upper bound, exceedance probability, score) by Farrington's delta method.

    Parameters:
        mu0: predicted mean (cases); se_mu0: its standard error on the response scale;
        phi: dispersion (≥ 1); alpha: one-sided level; y: observed count.
    References:
        Farrington et al. (1996) JRSS A 159, 547–563; R ``algo.farrington.threshold.farrington``.
    """
    from scipy import stats  # imported here: scipy.stats costs ~1 s at start-up

    tau = phi + se_mu0**2 / mu0
    e = transform.exponent
    if transform is PowerTransform.NONE:
        se = np.sqrt(mu0 * tau)
    elif transform is PowerTransform.HALF:
        se = np.sqrt(0.25 * tau)
    else:
        se = np.sqrt(4 / 9 * mu0 ** (1 / 3) * tau)
    z = stats.norm.ppf(1 - alpha)
    upper = (mu0**e + z * se) ** (1 / e)
    prob = stats.norm.sf(y**e, loc=mu0**e, scale=se)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (y - mu0) / (upper - mu0)
    return upper, prob, score


def threshold_noufaily(
    eta0: np.ndarray,
    se_eta0: np.ndarray,
    phi: np.ndarray,
    method: ThresholdMethod,
    alpha: float,
    y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (upper bound, exceedance probability, score) by Noufaily's quantile methods.

    nbPlugin uses μ = exp(η₀); muan uses μ = exp(η₀ + z₁₋α·se(η₀)). The bound is the
    (1 − α) quantile of NB(size = μ/(φ − 1), prob = 1/φ), or Poisson(μ) when φ ≤ 1.
    The score keeps R's definition (y − η₀)/(U − η₀), with η₀ on the link scale.
    References:
        Noufaily et al. (2013) Stat Med 32, 1206–1222; R ``algo.farrington.threshold.noufaily``.
    """
    from scipy import stats  # imported here: scipy.stats costs ~1 s at start-up

    if method is ThresholdMethod.NB_PLUGIN:
        mu = np.exp(eta0)
    else:
        mu = np.exp(eta0 + stats.norm.ppf(1 - alpha) * se_eta0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        over = phi > 1
        size = np.where(over, mu / np.where(over, phi - 1, 1.0), 1.0)
        prob_nb = np.where(over, 1 / phi, 0.5)
        upper = np.where(
            over,
            stats.nbinom.ppf(1 - alpha, size, prob_nb),
            stats.poisson.ppf(1 - alpha, mu),
        )
        exceed = np.where(
            phi != 1,
            stats.nbinom.sf(y - 1, size, prob_nb),
            stats.poisson.sf(y - 1, mu),
        )
        upper = np.where(np.isfinite(mu), upper, np.nan)
        score = (y - eta0) / (upper - eta0)
    return upper, exceed, score


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
            point = self._fit_point(window, y_all, offset_all[:, k], offset_all, k)
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

    # ------------------------------------------------------------------ fitting
    def _fit_glm(
        self,
        design: np.ndarray,
        y: np.ndarray,
        offset: np.ndarray,
        *,
        df: int,
        n_separated: int = 0,
    ) -> tuple[PoissonFit, np.ndarray, np.ndarray, np.ndarray]:
        """Fit, reweight and refit (R ``algo.farrington.fitGLM.flexible``) for all rows.

        ``df`` is R's residual degrees of freedom; ``n_separated`` counts reference points
        left out of ``design`` because their factor level has no cases (see
        :meth:`_fit_point`): their fitted means are 0 in the limit R's glm approaches.

        Returns (fit, Pearson dispersion, the dispersion R's ``summary.glm`` and
        ``predict.glm`` use, converged). The first fit must converge (R returns NULL
        otherwise); R does not check the refit's convergence, here a refit without a finite
        solution fails too.

        R quirk: after reweighting, ``fitGLM.flexible`` overwrites the model's working
        weights with the prior weights ω (``model$weights <- omega``). ``summary.glm`` and
        ``predict.glm`` then estimate the dispersion as Σ ω (y − μ)²/μ² / df instead of the
        Pearson Σ ω (y − μ)²/μ / df. That estimate decides the trend's significance and
        scales se(η₀); φ in the threshold is the Pearson one (taken before the overwrite).
        A separated point (y = 0, μ → 0) adds ω·1 to that sum, and 0 to the Pearson one.
        """
        fit = fit_poisson(design, y, offset, tol=self.tol, max_iter=self.max_iter)
        ok = fit.converged.copy()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            pearson = np.sum((y - fit.mu) ** 2 / fit.mu, axis=1) / df
            summary = pearson
            if self.reweight:
                hat = hat_values(fit, design, None)
                # Anscombe residual 1.5·(y^(2/3)·μ^(−1/6) − μ^(1/2)); cbrt/sqrt are much
                # faster than fractional powers and exact to rounding.
                root_mu = np.sqrt(fit.mu)
                s = (
                    1.5
                    * (np.cbrt(y * y) / np.cbrt(root_mu) - root_mu)
                    / np.sqrt(np.maximum(pearson, 1.0)[:, None] * (1 - hat))
                )
                # Separated points have s → 0 (below any threshold ≥ 0): raw weight 1.
                above = s > self.weights_threshold
                raw = np.where(above, s**-2.0, 1.0)
                gamma = (y.shape[1] + n_separated) / (raw.sum(axis=1) + n_separated)
                weights = gamma[:, None] * raw
                ok &= np.all(np.isfinite(weights), axis=1)
                weights = np.where(ok[:, None], weights, 1.0)
                fit = fit_poisson(
                    design, y, offset, weights, start=fit.beta, tol=self.tol, max_iter=self.max_iter
                )
                ok &= fit.converged
                pearson = np.sum(weights * (y - fit.mu) ** 2 / fit.mu, axis=1) / df
                summary = (
                    np.sum(weights * (y - fit.mu) ** 2 / fit.mu**2, axis=1) + gamma * n_separated
                ) / df
        ok &= np.isfinite(pearson) & np.isfinite(summary)
        return fit, pearson, summary, ok

    def _fit_mean(
        self, y: np.ndarray, offset: np.ndarray, *, df: int
    ) -> tuple[PoissonFit, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`_fit_glm` for the intercept-only model, in closed form (speed only).

        Without trend and factor the (weighted) Poisson MLE is μᵢ = e^(oᵢ)·Σwy/Σw·e^o, the
        hat values are wᵢμᵢ/Σwμ and (XᵀWX)⁻¹ = 1/Σwμ: no iterations are needed. Every row
        has a case (empty reference periods are handled before fitting).
        """
        scale = np.exp(offset)

        def fit(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            level = np.sum(weights * y, axis=1) / np.sum(weights * scale, axis=1)
            mu = scale * level[:, None]
            return np.log(level), mu, 1.0 / np.sum(weights * mu, axis=1)

        weights = np.ones_like(y)
        beta, mu, cov = fit(weights)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            pearson = np.sum((y - mu) ** 2 / mu, axis=1) / df
            summary = pearson
            if self.reweight:
                hat = mu * cov[:, None]
                root_mu = np.sqrt(mu)
                s = (
                    1.5
                    * (np.cbrt(y * y) / np.cbrt(root_mu) - root_mu)
                    / np.sqrt(np.maximum(pearson, 1.0)[:, None] * (1 - hat))
                )
                weights = assign_weights(s, self.weights_threshold)
                beta, mu, cov = fit(weights)
                pearson = np.sum(weights * (y - mu) ** 2 / mu, axis=1) / df
                summary = np.sum(weights * (y - mu) ** 2 / mu**2, axis=1) / df
        ok = np.isfinite(beta) & np.isfinite(pearson) & np.isfinite(summary) & np.isfinite(cov)
        result = PoissonFit(
            beta=beta[:, None],
            mu=mu,
            cov_unscaled=cov[:, None, None],
            converged=ok,
            iterations=np.zeros(y.shape[0], dtype=np.int64),
        )
        return result, pearson, summary, ok

    def _fit_point(
        self,
        window: tuple[np.ndarray, np.ndarray],
        y_all: np.ndarray,
        offset_now: np.ndarray,
        offset_all: np.ndarray,
        k: int,
    ) -> _PointFit:
        """Fit all series for one predicted week (R ``algo.farrington.glm``).

        A factor level without cases (``no_periods`` > 1, sparse series) separates: its
        coefficient goes to −∞ and its fitted means to 0, which R's glm approaches until the
        deviance stalls and then reports as converged. Its limit is the fit without that
        level's points and column, with R's degrees of freedom; that is what is computed
        here, per pattern of empty levels. When the current level (or the whole reference
        period) has no cases, μ₀ = 0.
        """
        index, levels = window
        y = y_all[:, index]
        n_series = y.shape[0]
        out = _PointFit.empty(n_series)
        level_values = np.unique(levels)
        n_coef = level_values.size + (1 if self.trend else 0)
        if index.size <= n_coef:
            return out
        members = (levels[None, :] == level_values[:, None]).astype(np.float64)
        empty = (y @ members.T) == 0  # (series, level): a level without cases
        current = level_values == self.no_periods
        zero = empty[:, current][:, 0]
        out.mu0[zero], out.se_eta0[zero], out.phi[zero] = 0.0, 0.0, 1.0
        out.raw_phi[zero], out.ok[zero] = 0.0, True
        rows = np.flatnonzero(~zero)
        if not rows.size:
            return out
        patterns, group = np.unique(empty[rows], axis=0, return_inverse=True)
        for g, pattern in enumerate(patterns):
            kept = ~np.isin(levels, level_values[pattern])
            self._fit_group(
                index,
                levels,
                kept,
                rows[group.ravel() == g],
                y_all,
                offset_now,
                offset_all,
                k,
                out,
            )
        return out

    def _fit_group(
        self,
        index: np.ndarray,
        levels: np.ndarray,
        kept: np.ndarray,
        rows: np.ndarray,
        y_all: np.ndarray,
        offset_now: np.ndarray,
        offset_all: np.ndarray,
        k: int,
        out: _PointFit,
    ) -> None:
        """Fit the series ``rows`` on the reference points ``kept``; store into ``out``."""
        from scipy import stats  # imported here: scipy.stats costs ~1 s at start-up

        n_levels = np.unique(levels).size
        df_base = index.size - n_levels
        n_separated = int(index.size - kept.sum())
        y = y_all[np.ix_(rows, index[kept])]
        offset = offset_all[np.ix_(rows, index[kept])]
        kept_levels = levels[kept]
        wtime = (index[kept] - index[0]).astype(np.float64)
        wtime_now = float(k - index[0])
        dummies = [
            (kept_levels == lv).astype(np.float64)
            for lv in np.unique(kept_levels)
            if lv != self.no_periods
        ]
        base = np.column_stack([np.ones(kept_levels.size), *dummies])
        x0_base = np.concatenate([[1.0], np.zeros(len(dummies))])
        with_trend = np.column_stack([base[:, :1], wtime, base[:, 1:]])
        x0_trend = np.concatenate([[1.0, wtime_now], x0_base[1:]])
        no_trend_rows = np.arange(rows.size)
        if self.trend:
            fit, pearson, summary, conv = self._fit_glm(
                with_trend, y, offset, df=df_base - 1, n_separated=n_separated
            )
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                mu_now = np.exp(fit.beta @ x0_trend + offset_now[rows])
                t_stat = fit.beta[:, 1] / np.sqrt(summary * fit.cov_unscaled[:, 1, 1])
            p_value = 2 * stats.t.sf(np.abs(t_stat), df_base - 1)
            keep_trend = (
                conv
                & (self.years_back >= 3)
                & (p_value < self.trend_p_threshold)
                & (mu_now <= y.max(axis=1))
            )
            if keep_trend.any():
                out.store(fit, pearson, summary, keep_trend, rows[keep_trend], x0_trend, offset_now)
                out.trend[rows[keep_trend]] = True
            # R refits without the trend when the trend model did not converge, or when the
            # trend is not significant / extrapolates / b < 3.
            no_trend_rows = np.flatnonzero(~keep_trend)
        if no_trend_rows.size and base.shape[1] == 1:
            fit, pearson, summary, conv = self._fit_mean(
                y[no_trend_rows], offset[no_trend_rows], df=df_base
            )
        elif no_trend_rows.size:
            fit, pearson, summary, conv = self._fit_glm(
                base,
                y[no_trend_rows],
                offset[no_trend_rows],
                df=df_base,
                n_separated=n_separated,
            )
        if no_trend_rows.size:
            out.store(fit, pearson, summary, conv, rows[no_trend_rows][conv], x0_base, offset_now)


@dataclass(frozen=True)
class _PointFit:
    """Per-series results of the fits for one predicted week."""

    mu0: np.ndarray
    se_eta0: np.ndarray
    phi: np.ndarray
    raw_phi: np.ndarray
    trend: np.ndarray
    ok: np.ndarray

    @classmethod
    def empty(cls, n_series: int) -> _PointFit:
        """Return results for ``n_series`` series, all failed until stored."""
        nan = np.full(n_series, np.nan)
        none = np.zeros(n_series, dtype=bool)
        return cls(nan.copy(), nan.copy(), nan.copy(), nan.copy(), none.copy(), none.copy())

    def store(
        self,
        fit: PoissonFit,
        pearson: np.ndarray,
        summary: np.ndarray,
        select: np.ndarray,
        rows: np.ndarray,
        x0: np.ndarray,
        offset_now: np.ndarray,
    ) -> None:
        """Write the prediction at the current week of the selected fits into ``rows``."""
        beta = fit.beta[select]
        cov = fit.cov_unscaled[select]
        with np.errstate(over="ignore", invalid="ignore"):
            eta = beta @ x0 + offset_now[rows]
            # se.fit from predict.glm, scaled by summary.glm's dispersion (see _fit_glm).
            var = summary[select] * quadratic_form(x0[None, :], cov)[:, 0]
        self.mu0[rows] = np.exp(eta)
        self.se_eta0[rows] = np.sqrt(var)
        # φ in the threshold is R's max(dispersion, 1) of the (reweighted) fit.
        self.phi[rows] = np.maximum(pearson[select], 1.0)
        self.raw_phi[rows] = pearson[select]
        self.ok[rows] = np.isfinite(self.mu0[rows]) & np.isfinite(self.se_eta0[rows])
