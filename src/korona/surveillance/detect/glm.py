"""Batched Poisson/quasi-Poisson GLM fitting (IRLS) for many count series at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from korona.surveillance.detect.glm_layout import Layout, gauss_jordan

__all__ = [
    "FITTED_ZERO",
    "PoissonFit",
    "fit_poisson",
    "hat_values",
    "pearson_dispersion",
    "quadratic_form",
]

#: R's glm.fit warns "fitted rates numerically 0 occurred" below this mean; such a fit fails.
FITTED_ZERO = 10 * np.finfo(np.float64).eps
#: A mean this small mid-iteration means the MLE does not exist (separation); stop early.
_DIVERGED = 1e-30
#: Warm starts predicting a mean above e^50 are discarded.
_WARM_ETA_MAX = 50.0
_WARM_MU_MAX = float(np.exp(_WARM_ETA_MAX))


@dataclass(frozen=True)
class PoissonFit:
    """Result of :func:`fit_poisson` for a batch of B fits on n points with p coefficients.

    Attributes:
        beta: (B, p) coefficients (NaN where the fit failed numerically).
        mu: (B, n) fitted means.
        cov_unscaled: (B, p, p) (XᵀWX)⁻¹ with W = prior weight · μ at the solution.
        converged: (B,) True when the coefficient change fell below the tolerance and every
            fitted mean stayed above :data:`FITTED_ZERO`.
        iterations: (B,) IRLS iterations used.
    """

    beta: np.ndarray
    mu: np.ndarray
    cov_unscaled: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray


def fit_poisson(
    design: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray | None = None,
    prior_weights: np.ndarray | None = None,
    *,
    start: np.ndarray | None = None,
    start_mu: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> PoissonFit:
    """Fit B Poisson log-link GLMs by iteratively reweighted least squares, all at once.

    Parameters:
        design: model matrix (n, p) shared by all fits; rows are observations.
        y: (B, n) counts.
        offset: (B, n) offset on the log scale (e.g. log denominator), or None.
        prior_weights: (B, n) prior weights, or None for 1.
        start: (B, p) starting coefficients (NaN rows use R's start μ = y + 0.1), or None.
            A warm start changes the iterations needed, not the converged answer.
        start_mu: (B, n) the fitted means at ``start`` (exp(X·start + offset)), when the
            caller has them (a refit from a fit's solution); saves computing them.
        tol: stop a fit when max |Δβ_j| / (1 + |β_j|) < tol (coefficient change, spec §6).
        max_iter: a fit that has not converged after this many iterations fails.
    Returns:
        :class:`PoissonFit`. IRLS on the canonical link is Newton's method, so near the
        solution each iteration squares the error. A fit whose counts are all zero, or whose
        means collapse towards 0, has no maximum-likelihood estimate (separation) and is
        reported as not converged.
    References:
        McCullagh & Nelder (1989), *Generalized Linear Models*, 2nd ed., §2.5.
    """
    design = np.asarray(design, dtype=np.float64)
    if design.ndim != 2:
        raise ValueError("design must be one (n, p) matrix shared by all fits")
    y = np.asarray(y, dtype=np.float64)
    batch, n = y.shape
    p = design.shape[-1]
    off = np.zeros_like(y) if offset is None else np.asarray(offset, dtype=np.float64)
    pw = None if prior_weights is None else np.asarray(prior_weights, dtype=np.float64)
    out = PoissonFit(
        beta=np.full((batch, p), np.nan),
        mu=np.empty((batch, n)),  # every active row is written by _irls
        cov_unscaled=np.full((batch, p, p), np.nan),
        converged=np.zeros(batch, dtype=bool),
        iterations=np.zeros(batch, dtype=np.int64),
    )
    # All-zero counts: the likelihood increases without bound as μ → 0, so no fit exists.
    has_case = np.any(y > 0, axis=1)
    out.mu[~has_case] = np.nan
    active = np.flatnonzero(has_case)
    if not active.size:
        return out
    layout = Layout.of(design)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        mu_min = np.zeros(batch)
        final = np.empty((batch, layout.size + 1))
        warm = _irls(
            layout, design, y, off, pw, active, start, start_mu, out, mu_min, final, tol, max_iter
        )
        _covariance(out, mu_min, final, layout)
    warm_rows = active[warm]
    retry = warm_rows[~out.converged[warm_rows]]
    if retry.size:
        # Newton's method can diverge from a poor start; a warm start must never turn a fit
        # that converges from R's start into a failure, so retry those fits cold.
        cold = fit_poisson(
            design,
            y[retry],
            off[retry],
            None if pw is None else pw[retry],
            tol=tol,
            max_iter=max_iter,
        )
        out.beta[retry], out.mu[retry], out.cov_unscaled[retry] = (
            cold.beta,
            cold.mu,
            cold.cov_unscaled,
        )
        out.converged[retry], out.iterations[retry] = cold.converged, cold.iterations
    return out


def _irls(
    layout: Layout,
    design: np.ndarray,
    y: np.ndarray,
    off: np.ndarray,
    pw: np.ndarray | None,
    active: np.ndarray,
    start: np.ndarray | None,
    start_mu: np.ndarray | None,
    out: PoissonFit,
    mu_min_out: np.ndarray,
    final_stats: np.ndarray,
    tol: float,
    max_iter: int,
) -> np.ndarray:
    """Iterate the active fits to convergence, writing β, μ, convergence and iterations
    into ``out``, the smallest fitted mean into ``mu_min_out`` and the statistics at the
    solution (XᵀWX for :func:`_covariance`) into ``final_stats``; return which active fits
    started warm.

    Each step is the Newton step β ← β + (XᵀWX)⁻¹ Xᵀ(pw·(y − μ)), which is the IRLS step
    written without the working response: with c = Xᵀ(pw·y) fixed, Xᵀ(pw·(y − μ)) =
    c − Xᵀw, and Xᵀw comes out of the same product as XᵀWX (see :class:`Layout`). A step
    reads the data once for η = Xβ + offset, μ = exp(η) and w = pw·μ and once for that
    product. Fits drop out of the batch as they finish.
    """
    p, n_stats = design.shape[1], layout.size
    everyone = active.size == y.shape[0]  # then no copies: the rows are the arrays
    a_y = y if everyone else y[active]
    a_off = off if everyone else off[active]
    a_pw = None if pw is None else (pw if everyone else pw[active])
    design_t = np.ascontiguousarray(design.T)
    eta = np.empty_like(a_y)
    mu = np.empty_like(a_y)
    beta, cold, means = _start(
        design_t,
        a_y,
        a_off,
        None if start is None else (start if everyone else start[active]),
        None if start_mu is None else (start_mu if everyone else start_mu[active]),
        eta,
        mu,
    )
    w = means if a_pw is None else np.multiply(means, a_pw)
    del means
    stats = layout.statistics(w, np.zeros((n_stats + 1, active.size)))
    c = ((a_y if a_pw is None else a_pw * a_y) @ design).T  # Xᵀ(pw·y), the same every step
    rhs = c - stats[layout.xw]
    if cold.any():
        # From R's start μ = y + 0.1, η = log μ (not of the form Xβ + offset) the first step
        # solves XᵀWX β = Xᵀ(w·(η − offset) + pw·(y − μ)): β = 0 plus this "step".
        if cold.all():
            lin = np.subtract(eta, a_off, out=eta)
            lin *= w
            rhs += (lin @ design).T
        else:
            lin = eta[cold] - a_off[cold]
            lin *= w[cold]
            rhs[:, cold] += (lin @ design).T
        del lin
    del w
    live = np.ones(active.size, dtype=bool)
    prev_min = np.full(active.size, np.inf)
    streak = np.zeros(active.size, dtype=np.int64)
    for iteration in range(1, max_iter + 1):
        system = np.empty((p + 1, p, active.size))
        np.take(stats, layout.gram, axis=0, out=system[:p].reshape(p * p, -1))
        system[p] = rhs
        ok = live & np.all(np.isfinite(system), axis=(0, 1))
        gauss_jordan(system)
        step = system[p]
        ok &= np.all(np.isfinite(step), axis=0)
        new_beta = beta + step
        # max |Δβ| / (1 + |β|); none converges in the first step (β₀ = ∞ as it were).
        change = np.max(np.abs(step) / (1.0 + np.abs(new_beta)), axis=0) if iteration > 1 else None
        lin_beta = new_beta
        if not ok.all():
            new_beta[:, ~ok] = np.nan
            lin_beta = np.where(ok, new_beta, 0.0)
        # An overflowing mean makes the next XᵀWX non-finite, which the next step reports.
        np.matmul(np.ascontiguousarray(lin_beta.T), design_t, out=eta)
        eta += a_off
        # The smallest mean (argmin and a gather: faster than min along short rows).
        mu_min = np.exp(eta[np.arange(eta.shape[0]), eta.argmin(axis=1)])
        if a_pw is None:
            mu = w = np.exp(eta, out=eta)
        else:
            np.exp(eta, out=mu)
            w = np.multiply(mu, a_pw, out=eta)
        layout.statistics(w, stats)
        rhs = c - stats[layout.xw]
        done = ok & (change < tol) if change is not None else np.zeros_like(ok)
        # Separation: the smallest mean falls geometrically (about e per step) towards 0.
        # Once it is below R's "numerically 0" and still halving every step, the fit
        # fails either way; stop instead of iterating on to underflow.
        falling = mu_min < 0.5 * prev_min
        streak = np.where(falling, streak + 1, 0)
        prev_min = mu_min
        collapse = (mu_min < _DIVERGED) | ((streak >= 3) & (mu_min < FITTED_ZERO))
        finished = live & (done | ~ok | collapse)
        beta = new_beta
        if iteration == max_iter:
            finished = live
        if finished.any():
            idx = active[finished]
            out.beta[idx] = new_beta[:, finished].T
            out.mu[idx] = mu[finished]
            mu_min_out[idx] = mu_min[finished]
            out.converged[idx] = done[finished]
            out.iterations[idx] = iteration
            final_stats[idx] = stats[:, finished].T  # XᵀWX at the solution: _covariance
            live &= ~finished
            if not live.any():
                break
            # Finished fits ride along (harmlessly) until dropping them pays off: copying
            # the data of the others costs about a third of a step.
            if live.sum() < 0.85 * live.size:
                keep = np.flatnonzero(live)
                active, beta = active[keep], beta[:, keep]
                prev_min, streak = prev_min[keep], streak[keep]
                stats, rhs, c = stats[:, keep], rhs[:, keep], c[:, keep]
                a_off = a_off[keep]
                a_pw = None if a_pw is None else a_pw[keep]
                eta = np.empty_like(a_off)
                mu = np.empty_like(a_off)
                live = np.ones(active.size, dtype=bool)
    return ~cold


def _start(
    design_t: np.ndarray,
    y: np.ndarray,
    off: np.ndarray,
    start: np.ndarray | None,
    start_mu: np.ndarray | None,
    eta: np.ndarray,
    mu: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the starting coefficients (p, A), which fits start cold, and the starting
    means (A, n): ``mu`` filled in, or ``start_mu`` itself (not to be written to) when the
    caller knows the means at ``start``. η is written into ``eta`` for the cold fits.

    R's starting values for the Poisson family are μ = y + 0.1 (β = 0 here, see
    :func:`_irls`); a warm start (coefficients of a previous fit) is used where it keeps
    every mean within reason.
    """
    n_fits = y.shape[0]
    beta = np.zeros((design_t.shape[0], n_fits))
    cold = np.ones(n_fits, dtype=bool)
    means = mu
    if start is not None:
        finite = np.all(np.isfinite(start), axis=1)
        rows = np.arange(n_fits)
        if start_mu is not None:
            # A start that puts a mean far outside the data is no help; start cold instead.
            sane = (start_mu[rows, start_mu.argmax(axis=1)] < _WARM_MU_MAX) & (
                start_mu[rows, start_mu.argmin(axis=1)] > _DIVERGED
            )
            means = start_mu
        elif finite.any():
            np.matmul(
                start if finite.all() else np.where(finite[:, None], start, 0.0), design_t, out=eta
            )
            eta += off
            sane = (eta[rows, eta.argmax(axis=1)] < _WARM_ETA_MAX) & (
                eta[rows, eta.argmin(axis=1)] > np.log(_DIVERGED)
            )
            np.exp(eta, out=mu)
        else:
            sane = finite
        sane &= finite
        cold = ~sane
        beta[:, sane] = start[sane].T
    if cold.all():
        np.add(y, 0.1, out=mu)
        np.log(mu, out=eta)
        means = mu
    elif cold.any():
        if means is not mu:
            np.copyto(mu, means)
            means = mu
        mu[cold] = y[cold] + 0.1
        eta[cold] = np.log(mu[cold])
    return beta, cold, means


def _covariance(
    out: PoissonFit, mu_min: np.ndarray, final_stats: np.ndarray, layout: Layout
) -> None:
    """Invert XᵀWX at the solution (from ``final_stats``) into ``out.cov_unscaled``; a fit
    whose means reached 0 (``mu_min``: the smallest fitted mean of each fit) or whose matrix
    is singular is marked not converged."""
    converged, cov = out.converged, out.cov_unscaled
    p = cov.shape[1]
    converged &= mu_min >= FITTED_ZERO  # NaN (a failed fit) compares False
    good = np.flatnonzero(converged)
    if good.size:
        system = np.empty((2 * p, p, good.size))
        np.take(final_stats[good].T, layout.gram, axis=0, out=system[:p].reshape(p * p, -1))
        finite = np.all(np.isfinite(system[:p]), axis=(0, 1))
        system[p:] = np.eye(p)[:, :, None]
        gauss_jordan(system)
        inverse = np.moveaxis(system[p:], -1, 0)
        finite &= np.all(np.isfinite(inverse), axis=(1, 2))
        cov[good[finite]] = inverse[finite]
        converged[good[~finite]] = False


def quadratic_form(design: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Return xᵢᵀ M_b xᵢ for every fit b and row i, as (B, n).

    ``design`` is shared (n, p) or batched (B, n, p); ``matrix`` is (B, p, p).
    """
    if design.ndim == 2:
        n, p = design.shape
        outer = (design[:, :, None] * design[:, None, :]).reshape(n, p * p)
        return matrix.reshape(matrix.shape[0], p * p) @ outer.T
    return np.einsum("bnp,bpq,bnq->bn", design, matrix, design, optimize=True)


def hat_values(fit: PoissonFit, design: np.ndarray, prior_weights: np.ndarray | None) -> np.ndarray:
    """Return the GLM hat values hᵢ = wᵢ xᵢᵀ(XᵀWX)⁻¹xᵢ with w = prior weight · μ, as (B, n)."""
    w = fit.mu if prior_weights is None else prior_weights * fit.mu
    return w * quadratic_form(design, fit.cov_unscaled)


def pearson_dispersion(
    y: np.ndarray, mu: np.ndarray, prior_weights: np.ndarray | None, df_residual: np.ndarray | int
) -> np.ndarray:
    """Return φ = Σ wᵢ (yᵢ − μᵢ)² / μᵢ / df (Pearson χ² over residual df), as (B,)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.subtract(y, mu)
        np.square(r, out=r)
        r /= mu
        if prior_weights is not None:
            r *= prior_weights
        return np.sum(r, axis=1) / df_residual
