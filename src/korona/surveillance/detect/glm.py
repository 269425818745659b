"""Batched Poisson/quasi-Poisson GLM fitting (IRLS) for many count series at once."""

from __future__ import annotations

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


def _gram(design: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return XᵀWX as (B, p, p) for a shared (n, p) or batched (B, n, p) design."""
    if design.ndim == 2:
        n, p = design.shape
        outer = (design[:, :, None] * design[:, None, :]).reshape(n, p * p)
        return (weights @ outer).reshape(-1, p, p)
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


def _solve(gram: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve each (p, p) system; return solutions and a mask of systems that were solvable."""
    ok = np.all(np.isfinite(gram), axis=(1, 2)) & np.all(np.isfinite(rhs), axis=1)
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
    tol: float = 1e-10,
    max_iter: int = 100,
) -> PoissonFit:
    """Fit B Poisson log-link GLMs by iteratively reweighted least squares, all at once.

    Parameters:
        design: model matrix, shared (n, p) or per fit (B, n, p); rows are observations.
        y: (B, n) counts.
        offset: (B, n) offset on the log scale (e.g. log denominator), or None.
        prior_weights: (B, n) prior weights, or None for 1.
        tol: stop a fit when max |Δβ_j| / (1 + |β_j|) < tol (coefficient change, spec §6).
        max_iter: a fit that has not converged after this many iterations fails.
    Returns:
        :class:`PoissonFit`. IRLS on the canonical link is Newton's method, so near the
        solution each iteration squares the error; a fit whose means collapse to 0 has no
        maximum-likelihood estimate (separation) and is reported as not converged.
    References:
        McCullagh & Nelder (1989), *Generalized Linear Models*, 2nd ed., §2.5.
    """
    y = np.asarray(y, dtype=np.float64)
    batch, n = y.shape
    p = design.shape[-1]
    off = np.zeros_like(y) if offset is None else np.asarray(offset, dtype=np.float64)
    pw = np.ones_like(y) if prior_weights is None else np.asarray(prior_weights, dtype=np.float64)

    beta = np.full((batch, p), np.nan)
    mu_out = np.full((batch, n), np.nan)
    converged = np.zeros(batch, dtype=bool)
    iterations = np.zeros(batch, dtype=np.int64)

    # R's starting values for the Poisson family: mu = y + 0.1.
    mu = y + 0.1
    eta = np.log(mu)
    active = np.arange(batch)
    beta_old = np.full((batch, p), np.inf)
    a_design = design
    a_y, a_off, a_pw = y, off, pw
    for iteration in range(1, max_iter + 1):
        w = a_pw * mu
        z = eta - a_off + (a_y - mu) / mu
        new_beta, ok = _solve(_gram(a_design, w), _xty(a_design, w * z))
        eta = _linear(a_design, np.where(ok[:, None], new_beta, 0.0)) + a_off
        with np.errstate(over="ignore", under="ignore"):
            mu = np.exp(eta)
        ok &= np.all(np.isfinite(mu), axis=1)
        change = np.max(np.abs(new_beta - beta_old) / (1.0 + np.abs(new_beta)), axis=1)
        done = ok & (change < tol)
        collapsed = ~ok | (np.min(mu, axis=1, initial=np.inf) < _DIVERGED)
        finished = done | collapsed
        if finished.any():
            idx = active[finished]
            beta[idx] = new_beta[finished]
            mu_out[idx] = mu[finished]
            converged[idx] = done[finished]
            iterations[idx] = iteration
        keep = ~finished
        if not keep.any():
            active = active[:0]
            break
        active = active[keep]
        beta_old = new_beta[keep]
        mu, eta = mu[keep], eta[keep]
        a_y, a_off, a_pw = a_y[keep], a_off[keep], a_pw[keep]
        if a_design.ndim == 3:
            a_design = a_design[keep]
    if active.size:
        beta[active] = beta_old
        mu_out[active] = mu
        iterations[active] = max_iter

    converged &= np.min(np.nan_to_num(mu_out, nan=0.0), axis=1, initial=np.inf) >= FITTED_ZERO
    gram = _gram(design, pw * np.nan_to_num(mu_out, nan=1.0))
    cov = np.full((batch, p, p), np.nan)
    good = converged & np.all(np.isfinite(gram), axis=(1, 2))
    if good.any():
        eye = np.broadcast_to(np.eye(p), (int(good.sum()), p, p))
        inv, ok = _solve_matrix(gram[good], eye)
        cov[np.flatnonzero(good)] = inv
        converged[np.flatnonzero(good)[~ok]] = False
    converged &= good
    return PoissonFit(beta, mu_out, cov, converged, iterations)


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
        return np.sum(w * (y - mu) ** 2 / mu, axis=1) / df_residual
