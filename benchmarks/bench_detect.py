"""Benchmark outbreak detection at national scale, and the vectorised path against statsmodels.

Usage:
    .venv/bin/python benchmarks/bench_detect.py [--reference-series 150] [--workers 0]

Builds synthetic arrays of the national shape (368 locations × 7 age groups × 6 syndromes
weekly 2010–2020, predicted 2015–2020; nation + 11 counties daily) with a realistic spread of
volumes (from empty small-municipality series to the nation), runs the Sykdomspulsen detector,
then times a per-series statsmodels loop (the test reference) on a subset of the same series.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from korona.surveillance.calendar import Frequency
from korona.surveillance.detect.sykdomspulsen import SykdomspulsenDetector
from korona.surveillance.series import SeriesSet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "surveillance"))

LOCATIONS, AGES, SYNDROMES = 368, 7, 6
YEARS = range(2015, 2021)


def synthetic(frequency: Frequency, n_series: int, seed: int) -> SeriesSet:
    """Return series whose weekly means span 0.01–5000 (log-uniform), seasonal, with outbreaks."""
    rng = np.random.default_rng(seed)
    if frequency is Frequency.WEEKLY:
        dates = np.arange(np.datetime64("2010-01-03"), np.datetime64("2021-01-04"), 7)
        period, scale = 52.0, 1.0
    else:
        dates = np.arange(np.datetime64("2010-01-01"), np.datetime64("2021-01-01"))
        period, scale = 365.25, 1 / 7
    t = np.arange(dates.size)
    level = np.exp(rng.uniform(np.log(0.01), np.log(5000), n_series)) * scale
    phase = rng.uniform(0, 2 * np.pi, n_series)
    amplitude = rng.uniform(0.1, 0.8, n_series)
    mean = level[:, None] * np.exp(
        amplitude[:, None] * np.cos(2 * np.pi * t[None, :] / period + phase[:, None])
    )
    observed = rng.poisson(mean)
    burst = rng.random(observed.shape) < 0.002
    observed[burst] += rng.poisson(5 * mean[burst] + 5)
    denominator = rng.poisson(mean * 25 + 10).astype(np.float64)
    return SeriesSet(
        keys=pl.DataFrame({"series": [f"s{i:05d}" for i in range(n_series)]}),
        frequency=frequency,
        dates=dates,
        observed=observed,
        denominator=denominator,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-series", type=int, default=150)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    load_start = os.getloadavg()[0]
    detector = SykdomspulsenDetector(workers=args.workers)
    weekly = synthetic(Frequency.WEEKLY, LOCATIONS * AGES * SYNDROMES, seed=1)
    daily = synthetic(Frequency.DAILY, 12 * AGES * SYNDROMES, seed=2)

    # Wall time, and the process's CPU time (all threads): on a shared machine the CPU time
    # is the figure that does not depend on how long the process waited for a core.
    started, cpu = time.perf_counter(), time.process_time()
    weekly_result = detector.detect(weekly, years=YEARS)
    weekly_seconds = time.perf_counter() - started
    weekly_cpu = time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    daily_result = detector.detect(daily, years=YEARS)
    daily_seconds = time.perf_counter() - started
    daily_cpu = time.process_time() - cpu

    # Side by side on the same series: vectorised path vs the per-series statsmodels loop.
    from test_detect_reference import reference_sykdomspulsen

    subset = weekly.subset(np.arange(args.reference_series))
    started, cpu = time.perf_counter(), time.process_time()
    detector.detect(subset, years=YEARS)
    fast_subset = time.perf_counter() - started
    fast_subset_cpu = time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    reference_sykdomspulsen(subset, detector, list(YEARS))
    slow_subset = time.perf_counter() - started
    slow_subset_cpu = time.process_time() - cpu
    fast_per_fit = weekly_seconds / weekly_result.fits
    slow_per_fit = slow_subset / (args.reference_series * len(YEARS))

    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        # Load average before and after: the machine may be shared (wall times then stretch).
        "load_average_start_end": f"{load_start:.1f} / {os.getloadavg()[0]:.1f}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "weekly_series": weekly.n_series,
        "weekly_points": int(weekly.n_time),
        "weekly_fits": weekly_result.fits,
        "weekly_failed_fits": weekly_result.failed_fits,
        "weekly_seconds": round(weekly_seconds, 2),
        "daily_series": daily.n_series,
        "daily_fits": daily_result.fits,
        "daily_failed_fits": daily_result.failed_fits,
        "daily_seconds": round(daily_seconds, 2),
        "total_seconds": round(weekly_seconds + daily_seconds, 2),
        "weekly_cpu_seconds": round(weekly_cpu, 2),
        "daily_cpu_seconds": round(daily_cpu, 2),
        "total_cpu_seconds": round(weekly_cpu + daily_cpu, 2),
        "reference_series": args.reference_series,
        "vectorised_subset_seconds": round(fast_subset, 3),
        "statsmodels_subset_seconds": round(slow_subset, 2),
        "ratio_same_series": round(slow_subset / fast_subset, 1),
        "ratio_per_fit_at_national_scale": round(slow_per_fit / fast_per_fit, 1),
        "vectorised_subset_cpu_seconds": round(fast_subset_cpu, 3),
        "statsmodels_subset_cpu_seconds": round(slow_subset_cpu, 2),
        "ratio_same_series_cpu": round(slow_subset_cpu / fast_subset_cpu, 1),
        "ratio_per_fit_cpu": round(
            (slow_subset_cpu / (args.reference_series * len(YEARS)))
            / (weekly_cpu / weekly_result.fits),
            1,
        ),
    }
    for key, value in report.items():
        print(f"{key:34s} {value}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
