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
