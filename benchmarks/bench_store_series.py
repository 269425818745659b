"""Time reading the analysis series from a national store, three ways, in one process.

Usage: python benchmarks/bench_store_series.py --data-dir /tmp/korona-eval/var [--years 2015-2020]

1. expand-then-sum: zero-fill every stratum, then sum the signal contact types (the first read);
2. long frame: sum the stored strata, zero-fill a long frame, ``SeriesSet.from_long`` (the
   previous ``run``);
3. arrays: sum the stored strata per cell and scatter them into the SeriesSet arrays, no
   zero-filled frame (``analysis.load_store_series``, today's ``run``).
Results are compared for equality. Build the store with benchmarks/evaluate_detection.py
(simulate + ingest) or ``korona surveillance simulate`` + ``ingest``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from pathlib import Path

import numpy as np
import polars as pl

from korona.surveillance.analysis import load_store_series
from korona.surveillance.calendar import Frequency
from korona.surveillance.series import SeriesSet
from korona.surveillance.sources.kuhr import load_syndromes
from korona.surveillance.store import SurveillanceStore

KEYS = ["location_code", "age", "syndrome", "date"]


def daily_locations() -> pl.Expr:
    code = pl.col("location_code")
    return (code == "norge") | code.str.starts_with("county")


def expand_then_sum(
    store: SurveillanceStore, frequency: Frequency, first: dt.date, last: dt.date
) -> pl.DataFrame:
    """The previous read: zero-fill every stratum, then sum the signal contact types."""
    pairs = pl.LazyFrame(
        [
            {"syndrome": s.name, "contact_type": c.value}
            for s in load_syndromes()
            for c in s.signal_contact_types
        ]
    )
    query = store.consultations(frequency).filter(pl.col("date").is_between(first, last))
    if frequency is Frequency.DAILY:
        query = query.filter(daily_locations())
    return (
        query.join(pairs, on=["syndrome", "contact_type"], how="semi")
        .group_by(KEYS)
        .agg(pl.col("n").sum(), pl.col("denominator").sum())
        .collect(engine="streaming")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--years", default="2015-2020")
    parser.add_argument(
        "--skip-expand", action="store_true", help="leave out read 1 (needs ~6 GB nationally)"
    )
    args = parser.parse_args()
    low, high = (int(year) for year in args.years.split("-"))
    first, last = dt.date(low - 5, 1, 1), dt.date(high, 12, 31)
    store = SurveillanceStore(args.data_dir / "surveillance")
    types = {s.name: [c.value for c in s.signal_contact_types] for s in load_syndromes()}
    print(f"store {args.data_dir}, dates {first} … {last}")
    for frequency in (Frequency.WEEKLY, Frequency.DAILY):
        locations = daily_locations() if frequency is Frequency.DAILY else None
        started = time.perf_counter()
        new = store.syndrome_series(frequency, types, first=first, last=last, locations=locations)
        new_seconds = time.perf_counter() - started
        old_seconds, same = float("nan"), True
        if not args.skip_expand:
            started = time.perf_counter()
            old = expand_then_sum(store, frequency, first, last)
            old_seconds = time.perf_counter() - started
            same = new.sort(KEYS).equals(old.select(new.columns).sort(KEYS))
        started = time.perf_counter()
        long_series = SeriesSet.from_long(
            new.with_columns(pl.col("denominator").cast(pl.Float64)),
            frequency=frequency,
            key_columns=KEYS[:3],
        )
        long_seconds = new_seconds + time.perf_counter() - started
        started = time.perf_counter()
        arrays = load_store_series(store, frequency, first, last)
        array_seconds = time.perf_counter() - started
        assert arrays is not None
        same_arrays = (
            arrays.keys.equals(long_series.keys)
            and np.array_equal(arrays.observed, long_series.observed)
            and np.array_equal(arrays.denominator, long_series.denominator)
        )
        print(
            f"{frequency.value:>6}: {new.height:>11,} rows"
            f"  expand-then-sum {old_seconds:6.1f} s"
            f"  aggregate-then-fill {new_seconds:6.1f} s (equal={same})"
            f"  + from_long = {long_seconds:6.1f} s"
            f"  arrays from cells {array_seconds:6.1f} s (equal={same_arrays})"
            f"  {long_seconds / array_seconds:4.1f}× faster than the long frame"
        )
        assert same and same_arrays
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak RSS of this process (both paths): {peak:.1f} GB")


if __name__ == "__main__":
    main()
