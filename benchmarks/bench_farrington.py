"""Benchmark Farrington flexible for one national prediction year (issue 10: ≤ 30 s).

Usage:
    .venv/bin/python benchmarks/bench_farrington.py [--series 15456] [--year 2020]
        [--noufaily] [--workers 0] [--profile]

Uses the synthetic weekly series of ``bench_detect.py`` (the national shape: 368 locations ×
7 age groups × 6 syndromes, means 0.01–5000 a week) and predicts every week of one year.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import sys
import time
from pathlib import Path

import numpy as np

from korona.surveillance.calendar import Frequency
from korona.surveillance.detect.farrington import FarringtonDetector, ThresholdMethod

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_detect import AGES, LOCATIONS, SYNDROMES, synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=LOCATIONS * AGES * SYNDROMES)
    parser.add_argument("--year", type=int, default=2020)
    parser.add_argument("--noufaily", action="store_true", help="no_periods=10, 26, nbPlugin")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    series = synthetic(Frequency.WEEKLY, LOCATIONS * AGES * SYNDROMES, seed=1)
    series = series.subset(np.arange(args.series))
    settings = (
        {
            "no_periods": 10,
            "past_weeks_not_included": 26,
            "threshold_method": ThresholdMethod.NB_PLUGIN,
        }
        if args.noufaily
        else {}
    )
    detector = FarringtonDetector(workers=args.workers, **settings)
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    result = detector.detect(series, years=[args.year])
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"series {series.n_series}, fits {result.fits}, failed {result.failed_fits}")
    print(f"wall {wall:.1f} s, cpu {cpu:.1f} s, peak memory {peak:.2f} GB")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
