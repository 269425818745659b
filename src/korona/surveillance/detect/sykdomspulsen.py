"""Sykdomspulsen's quasi-Poisson outbreak detection ("standard" algorithm, spec §2), vectorised."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from korona.surveillance.detect.base import (
    Detection,
    Detector,
    Method,
    classify,
    single_threaded_blas,
)
from korona.surveillance.detect.glm import (
    fit_poisson,
    hat_values,
    pearson_dispersion,
    quadratic_form,
)
from korona.surveillance.detect.sykdomspulsen_model import (
    as_slice,
    design_matrix,
    prediction_years,
    training_window,
)
from korona.surveillance.series import SeriesSet

__all__ = [
    "SykdomspulsenDetector",
    "design_matrix",
    "prediction_years",
    "training_window",
]


#: y^(2/3) of the counts 0 … 4095, looked up instead of computed (cbrt is slow).
_Y23 = np.cbrt(np.arange(4096, dtype=np.float64) ** 2)


def _two_thirds_power(counts: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return y^(2/3) = cbrt(y²) for integer ``counts`` (as float64 ``y``)."""
    if counts.dtype.kind not in "iu":
        return np.cbrt(y * y)
    out = _Y23[np.clip(counts, 0, _Y23.size - 1)]
    outside = np.flatnonzero((counts >= _Y23.size) | (counts < 0))
    if outside.size:
        big = y.ravel()[outside]
        out.ravel()[outside] = np.cbrt(big * big)
    return out


@dataclass(frozen=True)
class _WindowFit:
    """The reweighted fit of one training window for the series that have one (A of them)."""

    keep: np.ndarray  # design columns used (p of them)
    beta: np.ndarray  # (A, p), 0 where the fit failed
    cov: np.ndarray  # (A, p, p) unscaled covariance, 0 where failed
    phi: np.ndarray  # (A,) dispersion, NaN where failed
    ok: np.ndarray  # (A,) fit and refit converged, φ finite
    start_next: np.ndarray  # (A, p) first-fit coefficients: the next window's warm start


@dataclass(frozen=True)
class SykdomspulsenDetector(Detector):
    """FHI Sykdomspulsen quasi-Poisson detector with one Anscombe reweighting (spec §2).

    One quasi-Poisson GLM (log link, offset log denominator) per series and prediction year,
    trained on the five previous years, then refitted once with weights from standardised
    Anscombe residuals; thresholds by Farrington's 2/3-power transform.

    Parameters:
        years_back: training years before the prediction year (5).
        z_medium: z of the medium threshold U₂ (2).
        z_high: z of the high threshold U₄ (4).
        z_extreme: z of the third threshold U₆ (6).
        floor_medium: lowest U₂, cases (2.5).
        floor_high: lowest U₄, cases (3).
        max_expected: a fit predicting a mean above this fails (1e10).
        tol: IRLS stops when the relative coefficient change is below this (1e-6; Newton
            converges quadratically, so the coefficients are then exact to ~1e-12).
        max_iter: IRLS iterations before a fit is declared non-converged (100).
        block_size: series fitted together in one batch (1 024; speed only, same results).
        workers: threads fitting blocks in parallel; 0 means one per CPU (speed only).

    References:
        Farrington C.P., Andrews N.J., Beale A.D., Catchpole M.A. (1996). A statistical
        algorithm for the early detection of outbreaks of infectious disease. JRSS A 159,
        547–563. FHI, R package ``sykdomspuls`` (2018), ``QuasipoissonTrainPredictData``.
    """

    method: ClassVar[Method] = Method.SYKDOMSPULSEN

    years_back: int = 5
    z_medium: float = 2.0
    z_high: float = 4.0
    z_extreme: float = 6.0
    floor_medium: float = 2.5
    floor_high: float = 3.0
    max_expected: float = 1e10
    tol: float = 1e-6
    max_iter: int = 100
    block_size: int = 1024
    workers: int = 0

    #: Failure values of spec §2 step 8: expected 0 and thresholds U₂/U₄/U₆.
    FAILED_THRESHOLDS: ClassVar[tuple[float, float, float]] = (5.0, 10.0, 15.0)

    def __post_init__(self) -> None:
        if self.years_back < 1:
            raise ValueError("years_back must be at least 1")
        if not 0 < self.tol < 1:
            raise ValueError("tol must be between 0 and 1")
        if self.max_iter < 2:
            raise ValueError("max_iter must be at least 2")
        if self.workers < 0:
            raise ValueError("workers must be 0 (one per CPU) or more")
        if self.block_size < 1:
            raise ValueError("block_size must be at least 1")

    def detect(self, series: SeriesSet, *, years: Sequence[int] | None = None) -> Detection:
        """Fit every series for every prediction year and return thresholds and statuses."""
        years_all = series.years()
        wanted = prediction_years(series) if years is None else sorted(set(years))
        n_series, n_time = series.observed.shape
        design, _ = design_matrix(series.dates, series.frequency)
        y_all = series.observed.astype(np.float64)
        if series.denominator is None:
            offset_all = np.zeros_like(y_all)
        else:  # spec §1: a denominator below 1 is 1; the log is taken in place
            offset_all = np.maximum(series.denominator, 1.0)
            np.log(offset_all, out=offset_all)

        out = {
            name: np.empty((n_series, n_time))
            for name in ("expected", "threshold2", "threshold4", "threshold6", "zscore")
        }
        failed = np.zeros((n_series, n_time), dtype=bool)
        predicted = np.zeros((n_series, n_time), dtype=bool)
        status = np.zeros((n_series, n_time), dtype=np.int8)
        excess = np.zeros((n_series, n_time), dtype=np.int64)
        dispersion = np.full((n_series, len(wanted)), np.nan)
        fallback = dict(
            zip(
                ("expected", "threshold2", "threshold4", "threshold6", "zscore"),
                (0.0, *self.FAILED_THRESHOLDS, 0.0),
                strict=True,
            )
        )
        # Years whose training windows are the same (data starting late: every year trains on
        # the first five years of data) share one fit; each year then only predicts from it.
        groups: dict[tuple[int, int], list[tuple[int, slice]]] = {}
        for j, year in enumerate(wanted):
            pred = as_slice(years_all == year)
            if pred is not None:
                train = as_slice(training_window(series.dates, year, self.years_back))
                key = (-1, -1) if train is None else (train.start, train.stop)
                groups.setdefault(key, []).append((j, pred))
        windows = [
            (None if key == (-1, -1) else slice(*key), preds) for key, preds in groups.items()
        ]
        # Every predicted column is written for every series below; the others are NaN.
        unpredicted = np.ones(n_time, dtype=bool)
        for _, preds in windows:
            for _, pred in preds:
                unpredicted[pred] = False
        for array in out.values():
            array[:, unpredicted] = np.nan

        def run_block(rows: slice) -> int:
            """Fit one block of series for every window; write its rows; return failed fits."""
            warm: tuple[np.ndarray, np.ndarray] | None = None
            block_failed = 0
            y_block, offset_block = y_all[rows], offset_all[rows]
            # y^(2/3) for the Anscombe residuals and the z-scores, once for all windows.
            y23_block = _two_thirds_power(series.observed[rows], y_block)
            for train, preds in windows:
                # A series without a case in its training window has no Poisson fit (spec §6):
                # it fails at once, so only the others are fitted.
                y_train = y_block[:, slice(0, 0) if train is None else train]
                active = np.flatnonzero(np.any(y_train > 0, axis=1))
                # Views of the block's rows when every series is fitted, copies otherwise.
                fitted = slice(None) if active.size == y_block.shape[0] else active
                fit = None
                if train is not None and active.size:
                    start = None
                    if warm is not None:
                        keep = np.any(design[train] != 0, axis=0)
                        start = warm[1][active] if np.array_equal(warm[0], keep) else None
                    fit = self._fit_window(
                        design[train],
                        y_train[fitted],
                        y23_block[fitted, train],
                        offset_block[fitted, train],
                        start,
                    )
                if fit is None:
                    warm = None  # no fit in this window: the next one starts cold
                else:
                    warm_next = np.full((y_block.shape[0], fit.start_next.shape[1]), np.nan)
                    warm_next[active] = fit.start_next
                    warm = (fit.keep, warm_next)
                for j, pred in preds:
                    ok = np.zeros(y_block.shape[0], dtype=bool)
                    values = {
                        name: np.full((y_block.shape[0], pred.stop - pred.start), value)
                        for name, value in fallback.items()
                    }
                    if fit is not None:
                        mu0, var_eta0, fit_ok = self._predict(
                            fit, design[pred], offset_block[active, pred]
                        )
                        ok[active] = fit_ok
                        dispersion[rows, j][active] = np.where(fit_ok, fit.phi, np.nan)
                        t2, t4, t6, sd, mu0_23 = self._thresholds(mu0, var_eta0, fit.phi[:, None])
                        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                            zscore = (y23_block[active, pred] - mu0_23) / sd
                        good = active[fit_ok]
                        for name, value in zip(
                            ("expected", "threshold2", "threshold4", "threshold6", "zscore"),
                            (mu0, t2, t4, t6, zscore),
                            strict=True,
                        ):
                            values[name][good] = value[fit_ok]
                    block_failed += int(np.count_nonzero(~ok))
                    for name, value in values.items():
                        out[name][rows, pred] = value
                    failed[rows, pred] = ~ok[:, None]
                    predicted[rows, pred] = True
                    status[rows, pred], excess[rows, pred] = classify(
                        series.observed[rows, pred], values["threshold2"], values["threshold4"]
                    )
            return block_failed

        # Blocks are independent and write disjoint rows, so they run on a thread per core
        # (numpy releases the GIL). 1 024 series a block measured fastest on two cores: smaller
        # blocks make numpy calls too short to overlap, larger ones leave the CPU cache.
        workers = self.workers or os.cpu_count() or 1
        # At least one block a thread, so no core idles on a small set, unless the blocks would
        # be so small (under 2^17 cells) that threads cost more than they bring.
        smallest = -(-(2**17) // max(n_time, 1))
        size = min(self.block_size, max(smallest, -(-n_series // workers)))
        blocks = [slice(lo, min(lo + size, n_series)) for lo in range(0, n_series, size)]
        fits = n_series * sum(len(preds) for _, preds in windows)
        with single_threaded_blas():
            if workers == 1 or len(blocks) == 1:
                failed_fits = sum(run_block(rows) for rows in blocks)
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    failed_fits = sum(pool.map(run_block, blocks))

        results = dict(predicted=predicted, status=status, excess=excess, failed=failed, **out)
        for array in results.values():
            array.setflags(write=False)  # handed over: the SeriesSet keeps them without a copy
        result_series = series.with_results(**results)
        return Detection(
            series=result_series,
            fits=fits,
            failed_fits=failed_fits,
            dispersion=dispersion,
            fit_labels=tuple(str(y) for y in wanted),
        )

    def _fit_window(
        self,
        design: np.ndarray,
        y: np.ndarray,
        y23: np.ndarray,
        offset: np.ndarray,
        start: np.ndarray | None,
    ) -> _WindowFit | None:
        """Fit, reweight and refit one training window for all series (spec §2 steps 2–4).

        ``y23`` is y^(2/3). ``start`` is the previous window's first-fit coefficients (NaN
        rows: R's start): the training windows of consecutive years overlap by four years,
        so it is a close start and saves iterations. Returns None when the window has no
        more points than coefficients (every fit fails).
        """
        # Columns that are all zero in the training window (e.g. no holiday in a short
        # history) carry no information; drop them rather than fail on a singular matrix.
        keep = np.any(design != 0, axis=0)
        design = design[:, keep]
        n, p = design.shape
        if n <= p:
            return None
        df = n - p
        first = fit_poisson(design, y, offset, start=start, tol=self.tol, max_iter=self.max_iter)
        ok = first.converged.copy()
        mu = first.mu
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            phi1 = pearson_dispersion(y, mu, None, df)
            # Standardised Anscombe residual 1.5·(y^(2/3)·μ^(−1/6) − μ^(1/2)) / √(φ·(1 − h))
            # with hat values h; cbrt/sqrt are much faster than fractional powers and exact
            # to rounding, and every step writes into one of two arrays.
            root = hat_values(first, design, None)
            np.subtract(1.0, root, out=root)
            np.sqrt(root, out=root)  # √(1 − h)
            root_mu = np.sqrt(mu)
            anscombe = np.cbrt(root_mu)
            np.divide(y23, anscombe, out=anscombe)
            anscombe -= root_mu
            anscombe /= root
            anscombe *= (1.5 / np.sqrt(phi1))[:, None]
            del root, root_mu
            # The reference sets residuals *below* 1 to 1 (so large negative residuals get
            # weight 1 and only positive outliers are down-weighted); weight = residual⁻².
            np.maximum(anscombe, 1.0, out=anscombe, where=np.isfinite(anscombe))
            np.square(anscombe, out=anscombe)
            weights = np.divide(1.0, anscombe, out=anscombe)
            weights *= (n / np.sum(weights, axis=1))[:, None]
        ok &= np.all(np.isfinite(weights), axis=1)
        # Refit only the fits that survived the first round; the rest have failed already.
        n_series = y.shape[0]
        rows = np.flatnonzero(ok)
        refit = slice(None) if rows.size == n_series else rows
        second = fit_poisson(
            design,
            y[refit],
            offset[refit],
            weights[refit],
            start=first.beta[refit],
            start_mu=mu[refit],
            tol=self.tol,
            max_iter=self.max_iter,
        )
        ok[rows] &= second.converged
        beta = np.zeros((n_series, p))
        beta[rows] = np.nan_to_num(second.beta)
        cov = np.zeros((n_series, p, p))
        cov[rows] = np.nan_to_num(second.cov_unscaled)
        phi = np.full(n_series, np.nan)
        phi[rows] = pearson_dispersion(y[refit], second.mu, weights[refit], df)
        ok &= np.isfinite(phi)
        start_next = np.where(first.converged[:, None], first.beta, np.nan)
        return _WindowFit(keep, beta, cov, phi, ok, start_next)

    def _predict(
        self, fit: _WindowFit, design_pred: np.ndarray, offset_pred: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return μ₀ (S, m), var(η₀) = φ·x₀ᵀ(XᵀWX)⁻¹x₀ (S, m) and which fits hold for the
        predicted points (spec §2 step 5; a mean above ``max_expected`` fails the fit)."""
        design_pred = design_pred[:, fit.keep]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            eta0 = fit.beta @ design_pred.T + offset_pred
            mu0 = np.exp(eta0)
            var_eta0 = fit.phi[:, None] * quadratic_form(design_pred, fit.cov)
        ok = fit.ok & np.all(np.isfinite(mu0) & np.isfinite(var_eta0), axis=1)
        ok &= np.all(mu0 <= self.max_expected, axis=1)
        return mu0, var_eta0, ok

    def _thresholds(
        self, mu0: np.ndarray, var_eta0: np.ndarray, phi: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return U₂, U₄, U₆ (floored), the 2/3-power-scale sd and μ₀^(2/3) (spec §2 steps
        5–6)."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # se(μ₀)² = μ₀² var(η₀), so τ = φ + se(μ₀)²/μ₀ = φ + μ₀ var(η₀)
            tau = phi + mu0 * var_eta0
            cbrt_mu0 = np.cbrt(mu0)
            sd = np.sqrt(4 / 9 * cbrt_mu0 * tau)
            base = cbrt_mu0 * cbrt_mu0  # μ₀^(2/3)
            upper = []
            for z in (self.z_medium, self.z_high, self.z_extreme):
                level = base + z * sd
                upper.append(level * np.sqrt(level))  # (·)^(3/2)
        upper[0] = np.maximum(upper[0], self.floor_medium)
        upper[1] = np.maximum(upper[1], self.floor_high)
        return upper[0], upper[1], upper[2], sd, base
