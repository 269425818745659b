"""Benchmark: ingest one national year of simulated KUHR records (target ≤ 20 s, ≤ 2 GB).

Ingest runs in a child process (aggregate + write to a fresh store) so wall time and peak
memory (ru_maxrss) are its own. Also compares the store format: writing and reading one year
of weekly counts as Parquet via polars versus SQLite.
Usage: .venv/bin/python benchmarks/bench_ingest.py [--file kuhr_2019.parquet] [--csv]
(without --file a national year is simulated first with seed 1).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from korona.config import Settings

CHILD = """
import json, sys, time
from pathlib import Path
from korona.surveillance.geo import load_geography
from korona.surveillance.sources.kuhr import aggregate_kuhr, icpc2_codes
from korona.surveillance.store import SurveillanceStore
reference, path, root = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
batch = int(sys.argv[4])
geography = load_geography(reference)
codes = icpc2_codes(reference)
started = time.perf_counter()
wide, names, report = aggregate_kuhr(path, geography, codes, max_rows_per_batch=batch)
aggregated = time.perf_counter()
SurveillanceStore(root).write_consultation_strata(wide, names, locations=geography.location_codes)
done = time.perf_counter()
print(json.dumps({"aggregate": aggregated - started, "store": done - aggregated,
                  "total": done - started, "rows": report.rows_read, "strata": wide.height}))
"""


def reference_dir() -> Path:
    """Return the reference data folder as korona's settings resolve it."""
    return Settings().reference_dir


def run_ingest(path: Path, batch: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="korona-store-"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(reference_dir()), str(path), str(root), str(batch)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    peak_mb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    f = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"ingest {path.name} (batches of ≤{batch:,} rows): {f['rows']:,} rows → "
        f"{f['strata']:,} strata; "
        f"aggregate {f['aggregate']:.1f} s + store {f['store']:.1f} s = {f['total']:.1f} s "
        f"({f['rows'] / f['total'] / 1e6:.2f} M rows/s), {wall:.1f} s with start-up, "
        f"peak RSS {peak_mb:,.0f} MB"
    )


def compare_formats(path: Path) -> None:
    """Write + read one year of national weekly counts (long layout): Parquet vs SQLite."""
    import polars as pl

    from korona.surveillance.calendar import Frequency
    from korona.surveillance.geo import load_geography
    from korona.surveillance.sources.kuhr import aggregate_kuhr, icpc2_codes
    from korona.surveillance.store import SurveillanceStore

    geography = load_geography(reference_dir())
    wide, names, _ = aggregate_kuhr(path, geography, icpc2_codes(reference_dir()))
    root = Path(tempfile.mkdtemp(prefix="korona-fmt-"))
    store = SurveillanceStore(root)
    store.write_consultation_strata(wide, names, locations=geography.location_codes)
    weekly = store.consultations(Frequency.WEEKLY).collect()
    for label, frame in (
        ("nation", weekly.filter(pl.col("location_code") == "norge")),
        ("all locations", weekly),
    ):
        target = root / "bench.parquet"
        t0 = time.perf_counter()
        frame.write_parquet(target)
        t1 = time.perf_counter()
        back = pl.read_parquet(target)
        t2 = time.perf_counter()
        db = root / "bench.sqlite"
        db.unlink(missing_ok=True)
        rows = frame.with_columns(pl.col("date").cast(pl.String)).rows()
        t3 = time.perf_counter()
        with sqlite3.connect(db) as con:
            con.execute(
                "create table c (location_code text, age text, syndrome text, contact_type text, "
                "practice_type text, date text, iso_year int, iso_week int, week text, n int, "
                "denominator int)"
            )
            con.executemany("insert into c values (?,?,?,?,?,?,?,?,?,?,?)", rows)
        t4 = time.perf_counter()
        with sqlite3.connect(db) as con:
            read = con.execute("select * from c").fetchall()
        t5 = time.perf_counter()
        assert back.height == len(read) == frame.height
        print(
            f"weekly year, {label} ({frame.height:,} rows): Parquet/polars write {t1 - t0:.3f} s "
            f"read {t2 - t1:.3f} s, {target.stat().st_size / 1e6:.1f} MB; SQLite write "
            f"{t4 - t3:.3f} s read {t5 - t4:.3f} s, {db.stat().st_size / 1e6:.1f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=None)
    parser.add_argument("--csv", action="store_true", help="also time the same year as CSV")
    parser.add_argument("--formats", action="store_true", help="also compare Parquet vs SQLite")
    parser.add_argument("--max-rows-per-batch", type=int, default=30_000_000)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {os.cpu_count()} cores, python {platform.python_version()}")
    path = args.file
    if path is None:
        out = Path(tempfile.mkdtemp(prefix="korona-sim-"))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "korona.cli",
                "surveillance",
                "simulate",
                "--years",
                "1",
                "--seed",
                "1",
                "--start-year",
                "2019",
                "--out",
                str(out),
                "--reference-dir",
                str(reference_dir()),
            ],
            check=True,
            capture_output=True,
        )
        path = out / "kuhr_2019.parquet"
    run_ingest(path, args.max_rows_per_batch)
    if args.csv:
        import polars as pl

        csv_path = path.with_suffix(".csv")
        pl.read_parquet(path).write_csv(csv_path)
        run_ingest(csv_path, args.max_rows_per_batch)
    if args.formats:
        compare_formats(path)


if __name__ == "__main__":
    main()
