"""Farrington's GLM fits for one predicted week, all series at once (R ``algo.farrington.glm``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from korona.surveillance.detect.farrington.bounds import assign_weights
from korona.surveillance.detect.glm import PoissonFit, fit_poisson, hat_values, quadratic_form

if TYPE_CHECKING:  # the fits read the detector's settings; it imports this module
    from korona.surveillance.detect.farrington.detector import FarringtonDetector


@dataclass(frozen=True)
class PointFit:
    """Per-series results of the fits for one predicted week."""

    mu0: np.ndarray
    se_eta0: np.ndarray
    phi: np.ndarray
    raw_phi: np.ndarray
    trend: np.ndarray
    ok: np.ndarray

    @classmethod
    def empty(cls, n_series: int) -> PointFit:
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


def _fit_glm(
    params: FarringtonDetector,
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
    :func:`fit_point`): their fitted means are 0 in the limit R's glm approaches.

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
    fit = fit_poisson(design, y, offset, tol=params.tol, max_iter=params.max_iter)
    ok = fit.converged.copy()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pearson = np.sum((y - fit.mu) ** 2 / fit.mu, axis=1) / df
        summary = pearson
        if params.reweight:
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
            above = s > params.weights_threshold
            raw = np.where(above, s**-2.0, 1.0)
            gamma = (y.shape[1] + n_separated) / (raw.sum(axis=1) + n_separated)
            weights = gamma[:, None] * raw
            ok &= np.all(np.isfinite(weights), axis=1)
            weights = np.where(ok[:, None], weights, 1.0)
            fit = fit_poisson(
                design, y, offset, weights, start=fit.beta, tol=params.tol, max_iter=params.max_iter
            )
            ok &= fit.converged
            pearson = np.sum(weights * (y - fit.mu) ** 2 / fit.mu, axis=1) / df
            summary = (
                np.sum(weights * (y - fit.mu) ** 2 / fit.mu**2, axis=1) + gamma * n_separated
            ) / df
    ok &= np.isfinite(pearson) & np.isfinite(summary)
    return fit, pearson, summary, ok


def _fit_mean(
    params: FarringtonDetector, y: np.ndarray, offset: np.ndarray, *, df: int
) -> tuple[PoissonFit, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_fit_glm` for the intercept-only model, in closed form (speed only).

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
        if params.reweight:
            hat = mu * cov[:, None]
            root_mu = np.sqrt(mu)
            s = (
                1.5
                * (np.cbrt(y * y) / np.cbrt(root_mu) - root_mu)
                / np.sqrt(np.maximum(pearson, 1.0)[:, None] * (1 - hat))
            )
            weights = assign_weights(s, params.weights_threshold)
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


def fit_point(
    params: FarringtonDetector,
    window: tuple[np.ndarray, np.ndarray],
    y_all: np.ndarray,
    offset_now: np.ndarray,
    offset_all: np.ndarray,
    k: int,
) -> PointFit:
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
    out = PointFit.empty(n_series)
    level_values = np.unique(levels)
    n_coef = level_values.size + (1 if params.trend else 0)
    if index.size <= n_coef:
        return out
    members = (levels[None, :] == level_values[:, None]).astype(np.float64)
    empty = (y @ members.T) == 0  # (series, level): a level without cases
    current = level_values == params.no_periods
    zero = empty[:, current][:, 0]
    out.mu0[zero], out.se_eta0[zero], out.phi[zero] = 0.0, 0.0, 1.0
    out.raw_phi[zero], out.ok[zero] = 0.0, True
    rows = np.flatnonzero(~zero)
    if not rows.size:
        return out
    patterns, group = np.unique(empty[rows], axis=0, return_inverse=True)
    for g, pattern in enumerate(patterns):
        kept = ~np.isin(levels, level_values[pattern])
        _fit_group(
            params,
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
    params: FarringtonDetector,
    index: np.ndarray,
    levels: np.ndarray,
    kept: np.ndarray,
    rows: np.ndarray,
    y_all: np.ndarray,
    offset_now: np.ndarray,
    offset_all: np.ndarray,
    k: int,
    out: PointFit,
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
        if lv != params.no_periods
    ]
    base = np.column_stack([np.ones(kept_levels.size), *dummies])
    x0_base = np.concatenate([[1.0], np.zeros(len(dummies))])
    with_trend = np.column_stack([base[:, :1], wtime, base[:, 1:]])
    x0_trend = np.concatenate([[1.0, wtime_now], x0_base[1:]])
    no_trend_rows = np.arange(rows.size)
    if params.trend:
        fit, pearson, summary, conv = _fit_glm(
            params, with_trend, y, offset, df=df_base - 1, n_separated=n_separated
        )
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            mu_now = np.exp(fit.beta @ x0_trend + offset_now[rows])
            t_stat = fit.beta[:, 1] / np.sqrt(summary * fit.cov_unscaled[:, 1, 1])
        p_value = 2 * stats.t.sf(np.abs(t_stat), df_base - 1)
        keep_trend = (
            conv
            & (params.years_back >= 3)
            & (p_value < params.trend_p_threshold)
            & (mu_now <= y.max(axis=1))
        )
        if keep_trend.any():
            out.store(fit, pearson, summary, keep_trend, rows[keep_trend], x0_trend, offset_now)
            out.trend[rows[keep_trend]] = True
        # R refits without the trend when the trend model did not converge, or when the
        # trend is not significant / extrapolates / b < 3.
        no_trend_rows = np.flatnonzero(~keep_trend)
    if no_trend_rows.size and base.shape[1] == 1:
        fit, pearson, summary, conv = _fit_mean(
            params, y[no_trend_rows], offset[no_trend_rows], df=df_base
        )
    elif no_trend_rows.size:
        fit, pearson, summary, conv = _fit_glm(
            params,
            base,
            y[no_trend_rows],
            offset[no_trend_rows],
            df=df_base,
            n_separated=n_separated,
        )
    if no_trend_rows.size:
        out.store(fit, pearson, summary, conv, rows[no_trend_rows][conv], x0_base, offset_now)
