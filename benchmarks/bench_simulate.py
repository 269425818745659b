"""Benchmark: simulate one national year of KUHR records (target ≤ 30 s on 2 cores).

Runs the simulation in a child process so its peak memory (ru_maxrss) is measured alone.
Usage: .venv/bin/python benchmarks/bench_simulate.py [--out DIR] [--year 2019] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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
from korona.surveillance.sources.simulator import simulate_kuhr
reference, out = Path(sys.argv[1]), Path(sys.argv[2])
year, seed = int(sys.argv[3]), int(sys.argv[4])
geography = load_geography(reference)
started = time.perf_counter()
result = simulate_kuhr(geography, out, years=1, seed=seed, start_year=year)
print(json.dumps({"seconds": time.perf_counter() - started, "rows": result.rows,
                  "consultations": result.consultations, "bytes": result.files[0].stat().st_size}))
"""


def reference_dir() -> Path:
    """Return the reference data folder as korona's settings resolve it."""
    return Settings().reference_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--year", type=int, default=2019)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="korona-sim-"))
    started = time.perf_counter()
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(reference_dir()),
            str(out),
            str(args.year),
            str(args.seed),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"machine: {platform.node()} {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"output: {out}")
    print(
        f"simulate {args.year}: {figures['rows']:,} rows "
        f"({figures['consultations']:,} consultations), "
        f"{figures['seconds']:.1f} s in simulate_kuhr, {wall:.1f} s with start-up, "
        f"{figures['rows'] / figures['seconds'] / 1e6:.2f} M rows/s, peak RSS {peak_mb:,.0f} MB, "
        f"file {figures['bytes'] / 1e6:.0f} MB"
    )


if __name__ == "__main__":
    main()
