"""Farrington's reweighting and upper bounds: the delta method and Noufaily's quantiles."""

from __future__ import annotations

from enum import StrEnum

import numpy as np


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
