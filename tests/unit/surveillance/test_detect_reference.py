"""Slow, obvious statsmodels references for the vectorised detectors (one GLM per series)."""

from __future__ import annotations

import warnings

import numpy as np
import statsmodels.api as sm

from korona.surveillance.detect.glm import FITTED_ZERO
from korona.surveillance.detect.sykdomspulsen import (
    SykdomspulsenDetector,
    design_matrix,
    prediction_years,
    training_window,
)
from korona.surveillance.series import SeriesSet


def tight_glm_fit(design, y, offset, weights=None):
    """Fit a Poisson GLM with statsmodels, converged on the coefficients to ~1e-13.

    Returns (result, failed) where failed follows spec §2 step 8: any warning, no
    convergence, or a fitted mean numerically 0 (R: "fitted rates numerically 0").
    """
    model = sm.GLM(
        y,
        design,
        family=sm.families.Poisson(),
        offset=offset,
        var_weights=weights,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = model.fit(maxiter=100, tol_criterion="params", tol=1e-13, rtol=1e-12)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return None, True
    failed = bool(caught) or not result.converged
    mu = result.fittedvalues
    failed |= not np.all(np.isfinite(mu)) or float(np.min(mu)) < FITTED_ZERO
    return result, failed


def reference_sykdomspulsen(series: SeriesSet, detector: SykdomspulsenDetector, years=None):
    """Return per-series reference results: dict of (S, T) arrays plus dispersion (S, Y)."""
    wanted = prediction_years(series) if years is None else sorted(years)
    design_all, _ = design_matrix(series.dates, series.frequency)
    den = np.ones(series.observed.shape) if series.denominator is None else series.denominator
    offset_all = np.log(np.maximum(den, 1.0))
    shape = series.observed.shape
    out = {k: np.full(shape, np.nan) for k in ("expected", "t2", "t4", "t6", "z")}
    failed = np.zeros(shape, dtype=bool)
    dispersion = np.full((shape[0], len(wanted)), np.nan)
    year_of = series.years()
    for j, year in enumerate(wanted):
        train = training_window(series.dates, year, detector.years_back)
        pred = year_of == year
        keep = np.any(design_all[train] != 0, axis=0)
        x, x0 = design_all[train][:, keep], design_all[pred][:, keep]
        n, p = x.shape
        for s in range(shape[0]):
            y = series.observed[s, train].astype(float)
            off = offset_all[s, train]
            res, bad = (None, True) if n <= p else tight_glm_fit(x, y, off)
            if not bad:
                mu = res.fittedvalues
                phi1 = np.sum((y - mu) ** 2 / mu) / (n - p)
                hat = res.get_hat_matrix_diag()
                with np.errstate(all="ignore"):
                    r = 1.5 * (y ** (2 / 3) * mu ** (-1 / 6) - mu**0.5) / np.sqrt(phi1 * (1 - hat))
                    r[r < 1] = 1
                    w = r**-2.0
                    w = w * n / w.sum()
                bad = not np.all(np.isfinite(w))
            if not bad:
                res, bad = tight_glm_fit(x, y, off, w)
            if not bad:
                mu = res.fittedvalues
                phi = np.sum(w * (y - mu) ** 2 / mu) / (n - p)
                eta0 = x0 @ res.params + offset_all[s, pred]
                mu0 = np.exp(eta0)
                cov = res.cov_params(scale=phi)
                se_mu0 = mu0 * np.sqrt(np.einsum("ip,pq,iq->i", x0, cov, x0))
                bad = bool(np.any(mu0 > detector.max_expected))
            if bad:
                out["expected"][s, pred] = 0
                out["t2"][s, pred], out["t4"][s, pred], out["t6"][s, pred] = 5, 10, 15
                out["z"][s, pred] = 0
                failed[s, pred] = True
                continue
            dispersion[s, j] = phi
            tau = phi + se_mu0**2 / mu0
            sd = np.sqrt(4 / 9 * mu0 ** (1 / 3) * tau)
            out["expected"][s, pred] = mu0
            out["t2"][s, pred] = np.maximum((mu0 ** (2 / 3) + 2 * sd) ** 1.5, 2.5)
            out["t4"][s, pred] = np.maximum((mu0 ** (2 / 3) + 4 * sd) ** 1.5, 3.0)
            out["t6"][s, pred] = (mu0 ** (2 / 3) + 6 * sd) ** 1.5
            out["z"][s, pred] = (series.observed[s, pred] ** (2 / 3) - mu0 ** (2 / 3)) / sd
    return out, failed, dispersion


def _farrington_glm(detector, design, y, offset, df, n_separated):
    """R algo.farrington.fitGLM.flexible with statsmodels.

    ``n_separated`` points (a factor level without cases, fitted mean → 0) were left out of
    ``design``; ``df`` is R's residual df with them. Returns (res, weights, Pearson φ,
    summary φ) or None. The summary φ is what R's summary.glm/predict.glm see after
    fitGLM.flexible sets ``model$weights <- omega``: Σ ω (y − μ)²/μ² / df when reweighting
    (a separated point adds its ω = γ), the Pearson φ otherwise.
    """
    res, bad = tight_glm_fit(design, y, offset)
    if bad:
        return None
    mu = res.fittedvalues
    raw = np.sum((y - mu) ** 2 / mu) / df
    summary = raw
    weights = np.ones_like(y)
    if detector.reweight:
        phi = max(raw, 1.0)
        hat = res.get_hat_matrix_diag()
        s = 1.5 * (y ** (2 / 3) * mu ** (-1 / 6) - mu**0.5) / np.sqrt(phi * (1 - hat))
        unscaled = np.where(s > detector.weights_threshold, s**-2.0, 1.0)
        gamma = (y.size + n_separated) / (unscaled.sum() + n_separated)
        weights = gamma * unscaled
        res, bad = tight_glm_fit(design, y, offset, weights)
        if bad:
            return None
        mu = res.fittedvalues
        raw = np.sum(weights * (y - mu) ** 2 / mu) / df
        summary = (np.sum(weights * (y - mu) ** 2 / mu**2) + gamma * n_separated) / df
    return res, weights, raw, summary


def reference_farrington(series: SeriesSet, detector, points):
    """Per-series, per-week Farrington flexible with statsmodels (R farringtonFlexible logic).

    Returns dict of (S, len(points)) arrays: mu0, upper (NaN if limit54 not met or failed),
    failed (bool), alarm (bool).
    """
    from scipy import stats

    from korona.surveillance.detect.farrington import (
        ThresholdMethod,
        reference_window,
        threshold_delta,
        threshold_noufaily,
    )

    S = series.n_series
    out = {
        "mu0": np.full((S, len(points)), np.nan),
        "upper": np.full((S, len(points)), np.nan),
        "failed": np.zeros((S, len(points)), dtype=bool),
        "alarm": np.zeros((S, len(points)), dtype=bool),
    }
    obs = series.observed.astype(float)
    for c, k in enumerate(points):
        window = reference_window(
            series.dates,
            k,
            detector.years_back,
            detector.window_half_width,
            detector.no_periods,
            detector.weeks_left_out,
        )
        if window is None:
            out["failed"][:, c] = True
            out["mu0"][:, c] = 0.0
            continue
        full_index, full_levels = window
        for s in range(S):
            # A factor level without cases separates (fitted means → 0): its limit is the
            # fit without that level's points and column, with the full model's df.
            y_full = obs[s, full_index]
            empty = [lv for lv in np.unique(full_levels) if not y_full[full_levels == lv].any()]
            kept = ~np.isin(full_levels, empty)
            index, levels = full_index[kept], full_levels[kept]
            n_levels = np.unique(full_levels).size
            n_separated = int((~kept).sum())
            wtime = (index - full_index[0]).astype(float)
            dummies = [
                (levels == lv).astype(float)
                for lv in np.unique(levels)
                if lv != detector.no_periods
            ]
            base = np.column_stack([np.ones(index.size), *dummies])
            trend_x = np.column_stack([np.ones(index.size), wtime, *dummies])
            x0_base = np.r_[1.0, np.zeros(len(dummies))]
            x0_trend = np.r_[1.0, float(k - full_index[0]), np.zeros(len(dummies))]
            y = obs[s, index]
            offset = np.zeros(index.size)
            if detector.no_periods in empty:
                mu0 = 0.0
                muan = detector.threshold_method is ThresholdMethod.MUAN
                upper = np.nan if muan else 0.0
                score = np.nan if muan else (np.inf if obs[s, k] > 0 else 0.0)
            else:
                fitted, x0 = None, x0_base
                if detector.trend:
                    df = full_index.size - n_levels - 1
                    fitted = _farrington_glm(detector, trend_x, y, offset, df, n_separated)
                    if fitted is not None:
                        res, _, _, summary = fitted
                        mu_now = float(np.exp(x0_trend @ res.params))
                        t = res.params[1] / np.sqrt(summary * res.cov_params(scale=1.0)[1, 1])
                        p_value = 2 * stats.t.sf(abs(t), df)
                        keep = (
                            detector.years_back >= 3
                            and p_value < detector.trend_p_threshold
                            and mu_now <= y.max()
                        )
                        if keep:
                            x0 = x0_trend
                        else:
                            fitted = None
                if fitted is None:
                    df = full_index.size - n_levels
                    fitted = _farrington_glm(detector, base, y, offset, df, n_separated)
                    x0 = x0_base
                if fitted is None:
                    # R leaves expected at the 0 its result matrix starts with.
                    out["failed"][s, c] = True
                    out["mu0"][s, c] = 0.0
                    continue
                res, _, raw, summary = fitted
                eta0 = float(x0 @ res.params)
                se_eta0 = float(np.sqrt(summary * x0 @ res.cov_params(scale=1.0) @ x0))
                phi = max(raw, 1.0)
                mu0 = np.exp(eta0)
                y_k = np.array([obs[s, k]])
                if detector.threshold_method is ThresholdMethod.DELTA:
                    u, _, x = threshold_delta(
                        np.array([mu0]),
                        np.array([mu0 * se_eta0]),
                        np.array([phi]),
                        detector.power_transform,
                        detector.alpha,
                        y_k,
                    )
                else:
                    u, _, x = threshold_noufaily(
                        np.array([eta0]),
                        np.array([se_eta0]),
                        np.array([phi]),
                        detector.threshold_method,
                        detector.alpha,
                        y_k,
                    )
                upper, score = float(u[0]), float(x[0])
            enough = (
                obs[s, max(0, k - detector.limit_weeks + 1) : k + 1].sum() >= detector.limit_cases
            )
            out["mu0"][s, c] = mu0 if enough and not np.isnan(upper) else np.nan
            out["upper"][s, c] = upper if enough else np.nan
            out["alarm"][s, c] = enough and score > 1 and obs[s, k] != 0
    return out
