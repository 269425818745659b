"""Time reading the analysis series from a national store: expand-then-sum vs aggregate-then-fill.

Usage: python benchmarks/bench_store_series.py --data-dir /tmp/korona-eval/var [--years 2015-2020]

Both reads run in this one process on the same store, and their results are compared for
equality. Build the store with benchmarks/evaluate_detection.py (simulate + ingest).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from pathlib import Path

import polars as pl

from korona.surveillance.calendar import Frequency
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
        started = time.perf_counter()
        old = expand_then_sum(store, frequency, first, last)
        old_seconds = time.perf_counter() - started
        same = new.sort(KEYS).equals(old.select(new.columns).sort(KEYS))
        print(
            f"{frequency.value:>6}: {new.height:>11,} rows"
            f"  aggregate-then-fill {new_seconds:6.1f} s"
            f"  expand-then-sum {old_seconds:6.1f} s  ratio {old_seconds / new_seconds:4.1f}×"
            f"  equal={same}"
        )
        assert same
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak RSS of this process (both paths): {peak:.1f} GB")


if __name__ == "__main__":
    main()
