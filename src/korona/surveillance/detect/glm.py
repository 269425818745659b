"""Batched Poisson/quasi-Poisson GLM fitting (IRLS) for many count series at once."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

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


@functools.cache
def _triangle(p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the upper-triangle row and column indices of a p×p matrix and, for every
    (i, j) of the full matrix, the position of its packed upper-triangle entry."""
    rows, cols = np.triu_indices(p)
    position = np.empty((p, p), dtype=np.intp)
    position[rows, cols] = np.arange(rows.size)
    position[cols, rows] = np.arange(rows.size)
    return rows, cols, position.ravel()


def _products(design: np.ndarray) -> np.ndarray:
    """Return the column products xᵢⱼ·xᵢₖ (j ≤ k) of a shared (n, p) design, as (n, p(p+1)/2)."""
    rows, cols, _ = _triangle(design.shape[1])
    return design[:, rows] * design[:, cols]


def _gram(
    design: np.ndarray, weights: np.ndarray, products: np.ndarray | None = None
) -> np.ndarray:
    """Return XᵀWX as (B, p, p) for a shared (n, p) or batched (B, n, p) design.

    ``products`` is :func:`_products` of a shared design, computed once per fit.
    """
    if design.ndim == 2:
        p = design.shape[1]
        # Only the upper triangle: XᵀWX is symmetric, so compute p(p+1)/2 products, not p².
        packed = weights @ (_products(design) if products is None else products)
        return packed[:, _triangle(p)[2]].reshape(-1, p, p)
    return np.einsum("bnp,bn,bnq->bpq", design, weights, design, optimize=True)


def _xty(design: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return Xᵀv as (B, p) for a shared or batched design."""
    if design.ndim == 2:
        return values @ design
    return np.einsum("bnp,bn->bp", design, values, optimize=True)


def _linear(design: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Return Xβ as (B, n)."""
    if design.ndim == 2:
        return beta @ design.T
    return np.einsum("bnp,bp->bn", design, beta, optimize=True)


def _solve(
    gram: np.ndarray, rhs: np.ndarray, wanted: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Solve each wanted (p, p) system; return solutions and a mask of those solved."""
    ok = np.all(np.isfinite(gram), axis=(1, 2)) & np.all(np.isfinite(rhs), axis=1)
    if wanted is not None:
        ok &= wanted
    if ok.all():
        try:
            out = np.linalg.solve(gram, rhs[..., None])[..., 0]
            return out, ok & np.all(np.isfinite(out), axis=1)
        except np.linalg.LinAlgError:
            pass  # fall through to the careful path below
    out = np.full(rhs.shape, np.nan)
    if not ok.any():
        return out, ok
    try:
        out[ok] = np.linalg.solve(gram[ok], rhs[ok][..., None])[..., 0]
    except np.linalg.LinAlgError:
        # A singular matrix in the batch: solve one by one so the others still succeed.
        for i in np.flatnonzero(ok):
            try:
                out[i] = np.linalg.solve(gram[i], rhs[i])
            except np.linalg.LinAlgError:
                ok[i] = False
    ok &= np.all(np.isfinite(out), axis=1)
    return out, ok


def fit_poisson(
    design: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray | None = None,
    prior_weights: np.ndarray | None = None,
    *,
    start: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> PoissonFit:
    """Fit B Poisson log-link GLMs by iteratively reweighted least squares, all at once.

    Parameters:
        design: model matrix, shared (n, p) or per fit (B, n, p); rows are observations.
        y: (B, n) counts.
        offset: (B, n) offset on the log scale (e.g. log denominator), or None.
        prior_weights: (B, n) prior weights, or None for 1.
        start: (B, p) starting coefficients (NaN rows use R's start μ = y + 0.1), or None.
            A warm start changes the iterations needed, not the converged answer.
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
    y = np.asarray(y, dtype=np.float64)
    batch, n = y.shape
    p = design.shape[-1]
    off = np.zeros_like(y) if offset is None else np.asarray(offset, dtype=np.float64)
    pw = np.ones_like(y) if prior_weights is None else np.asarray(prior_weights, dtype=np.float64)
    out = PoissonFit(
        beta=np.full((batch, p), np.nan),
        mu=np.full((batch, n), np.nan),
        cov_unscaled=np.full((batch, p, p), np.nan),
        converged=np.zeros(batch, dtype=bool),
        iterations=np.zeros(batch, dtype=np.int64),
    )
    # All-zero counts: the likelihood increases without bound as μ → 0, so no fit exists.
    active = np.flatnonzero(np.any(y > 0, axis=1))
    eta, mu, warm = _start(design, y, off, active, start)
    _irls(
        design, y, off, None if prior_weights is None else pw, active, eta, mu, out, tol, max_iter
    )
    _covariance(design, pw, out)
    warm_rows = active[warm]
    retry = warm_rows[~out.converged[warm_rows]]
    if retry.size:
        # Newton's method can diverge from a poor start; a warm start must never turn a fit
        # that converges from R's start into a failure, so retry those fits cold.
        cold = fit_poisson(
            design if design.ndim == 2 else design[retry],
            y[retry],
            off[retry],
            pw[retry],
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


def _start(
    design: np.ndarray,
    y: np.ndarray,
    off: np.ndarray,
    active: np.ndarray,
    start: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the starting η and μ of the active fits and which of them start warm.

    R's starting values for the Poisson family are μ = y + 0.1; a warm start (coefficients of
    a previous fit) is used where it keeps every mean within reason.
    """
    a_design = design if design.ndim == 2 else design[active]
    mu = y[active] + 0.1
    eta = np.log(mu)
    warm = np.zeros(active.size, dtype=bool)
    if start is not None and active.size:
        warm = np.all(np.isfinite(start[active]), axis=1)
        if warm.any():
            d = a_design if a_design.ndim == 2 else a_design[warm]
            warm_eta = _linear(d, start[active][warm]) + off[active][warm]
            # A start that puts a mean far outside the data is no help; start cold instead.
            sane = np.all(warm_eta < _WARM_ETA_MAX, axis=1) & np.all(
                warm_eta > np.log(_DIVERGED), axis=1
            )
            rows = np.flatnonzero(warm)[sane]
            eta[rows] = warm_eta[sane]
            mu[rows] = np.exp(warm_eta[sane])
            warm[np.flatnonzero(warm)[~sane]] = False
    return eta, mu, warm


def _irls(
    design: np.ndarray,
    y: np.ndarray,
    off: np.ndarray,
    prior_weights: np.ndarray | None,
    active: np.ndarray,
    eta: np.ndarray,
    mu: np.ndarray,
    out: PoissonFit,
    tol: float,
    max_iter: int,
) -> None:
    """Iterate the active fits to convergence, writing β, μ, convergence and iterations into
    ``out`` (fits drop out of the batch as they finish)."""
    beta, mu_out, converged, iterations = out.beta, out.mu, out.converged, out.iterations
    p = design.shape[-1]
    a_design = design if design.ndim == 2 else design[active]
    a_y, a_off = y[active], off[active]
    a_pw = None if prior_weights is None else prior_weights[active]
    products = _products(design) if design.ndim == 2 else None
    beta_old = np.full((active.size, p), np.inf)
    live = np.ones(active.size, dtype=bool)
    lin = eta - a_off
    wz = np.empty_like(mu)
    prev_min = np.full(active.size, np.inf)
    streak = np.zeros(active.size, dtype=np.int64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        for iteration in range(1, max_iter + 1 if active.size else 1):
            # Working weights w = pw·μ and w·z with z = Xβ + (y − μ)/μ, in few passes:
            # w·z = pw·(y − μ) + w·Xβ.
            w = mu if prior_weights is None else a_pw * mu
            np.subtract(lin, 1.0, out=wz)
            wz *= mu
            if prior_weights is None:
                wz += a_y
            else:
                wz += a_y
                wz *= a_pw
            new_beta, ok = _solve(_gram(a_design, w, products), _xty(a_design, wz), live)
            lin = _linear(a_design, new_beta if ok.all() else np.where(ok[:, None], new_beta, 0.0))
            eta = lin + a_off
            # An overflowing mean makes the next XᵀWX non-finite, which _solve reports.
            mu = np.exp(eta, out=eta)
            change = np.max(np.abs(new_beta - beta_old) / (1.0 + np.abs(new_beta)), axis=1)
            done = ok & (change < tol)
            mu_min = mu.min(axis=1)
            # Separation: the smallest mean falls geometrically (about e per step) towards 0.
            # Once it is below R's "numerically 0" and still halving every step, the fit
            # fails either way; stop instead of iterating on to underflow.
            falling = mu_min < 0.5 * prev_min
            streak = np.where(falling, streak + 1, 0)
            prev_min = mu_min
            collapse = (mu_min < _DIVERGED) | ((streak >= 3) & (mu_min < FITTED_ZERO))
            finished = live & (done | ~ok | collapse)
            beta_old = new_beta
            if finished.any():
                idx = active[finished]
                beta[idx] = new_beta[finished]
                mu_out[idx] = mu[finished]
                converged[idx] = done[finished]
                iterations[idx] = iteration
                live &= ~finished
                if not live.any():
                    break
                # Finished fits keep riding along (harmlessly) until dropping them pays off:
                # copying every array costs more than a few wasted rows.
                if live.sum() < 0.75 * live.size:
                    active, beta_old = active[live], beta_old[live]
                    prev_min, streak = prev_min[live], streak[live]
                    mu, lin, wz = mu[live], lin[live], wz[live]
                    a_y, a_off = a_y[live], a_off[live]
                    a_pw = None if a_pw is None else a_pw[live]
                    if a_design.ndim == 3:
                        a_design = a_design[live]
                    live = np.ones(active.size, dtype=bool)
        else:
            rest = active[live]
            beta[rest] = beta_old[live]
            mu_out[rest] = mu[live]
            iterations[rest] = max_iter


def _covariance(design: np.ndarray, pw: np.ndarray, out: PoissonFit) -> None:
    """Fill in (XᵀWX)⁻¹ at the solution; a fit whose means reached 0 or whose matrix is
    singular is marked not converged."""
    converged, mu_out = out.converged, out.mu
    p = design.shape[-1]
    converged &= np.min(np.nan_to_num(mu_out, nan=0.0), axis=1, initial=np.inf) >= FITTED_ZERO
    with np.errstate(over="ignore", invalid="ignore"):
        gram = _gram(design, pw * np.nan_to_num(mu_out, nan=1.0))
    good = converged & np.all(np.isfinite(gram), axis=(1, 2))
    if good.any():
        eye = np.broadcast_to(np.eye(p), (int(good.sum()), p, p))
        inv, ok = _solve_matrix(gram[good], eye)
        out.cov_unscaled[np.flatnonzero(good)] = inv
        converged[np.flatnonzero(good)[~ok]] = False
    converged &= good


def _solve_matrix(gram: np.ndarray, eye: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Invert a batch of matrices; report which were invertible."""
    ok = np.ones(gram.shape[0], dtype=bool)
    try:
        inv = np.linalg.solve(gram, eye)
    except np.linalg.LinAlgError:
        inv = np.full(gram.shape, np.nan)
        for i in range(gram.shape[0]):
            try:
                inv[i] = np.linalg.solve(gram[i], eye[i])
            except np.linalg.LinAlgError:
                ok[i] = False
    ok &= np.all(np.isfinite(inv), axis=(1, 2))
    return inv, ok


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
    w = 1.0 if prior_weights is None else prior_weights
    with np.errstate(divide="ignore", invalid="ignore"):
        r = y - mu
        return np.sum(w * (r * r) / mu, axis=1) / df_residual
