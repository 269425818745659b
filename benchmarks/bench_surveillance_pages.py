"""Benchmark: surveillance pages on a national store, concurrent clients against one server.

Targets (issue 13): municipality page p95 ≤ 100 ms, map page p95 ≤ 300 ms, API p95 ≤ 50 ms.

The store (built once under ``--work``, reused by later runs): FHI's real covid-19 files
(cases per municipality 2020–2022, national lab tests and hospital admissions), simulated KUHR
consultations for 2017–2022 at ``--scale`` of the national volume (every syndrome), and six
years (2017–2022) of weekly Sykdomspulsen results for every location × age group × syndrome
(synthetic: expected counts, thresholds and statuses drawn per series, so the result table has
the national shape without the minutes a national detector run takes on a loaded machine),
plus the covid-19 detector's results from a real run. Then ``korona serve`` (one process;
uvicorn with ``--workers N`` processes) is started, each kind of request is made once right
away (reported as "cold": it waits for the store's snapshot), ``--settle`` seconds pass,
and ``--clients`` concurrent anonymous clients
request random municipality pages, location API documents (summary, covid-19, signals), map
pages (indicators, weeks, county views) and map API calls for ``--duration`` seconds. Compare
two versions side by side by running the script twice with ``PYTHONPATH`` set to the other
version's ``src`` (the server inherits it).

    .venv/bin/python benchmarks/bench_surveillance_pages.py --work /tmp/korona-bench-surv
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx
import numpy as np
import polars as pl
from load import SECRET, Server, free_port, korona, percentile, wait_until_up

from korona.config import Settings
from korona.demo.surveillance import COVID_FILES
from korona.surveillance.analysis import run_store
from korona.surveillance.calendar import Frequency
from korona.surveillance.detect import Covid19Detector
from korona.surveillance.geo import load_geography
from korona.surveillance.sources.ingest import ingest_file
from korona.surveillance.sources.simulator import SimulationParameters, simulate_kuhr
from korona.surveillance.sources.syndromes import load_syndromes
from korona.surveillance.store import SurveillanceStore

YEARS = range(2017, 2023)
AGES = ("total", "0-4", "5-14", "15-19", "20-29", "30-64", "65+")
INDICATORS = ("share_infected", "incidence_14d", "signal")
TARGETS_MS = {
    "municipality page": 100.0,
    "map page": 300.0,
    "map API": 50.0,
    "location API": 50.0,
}
WEIGHTS = {"municipality page": 4, "map page": 2, "map API": 3, "location API": 3}
LOCATION_DOCUMENTS = ("", "/covid19", "/signals")


def serve_command(port: int, workers: int) -> list[str]:
    """`korona serve` (one process), or uvicorn with several worker processes of the same app."""
    if workers == 1:
        return [sys.executable, "-m", "korona", "serve", "--port", str(port), "--no-mail-worker"]
    return [
        *(sys.executable, "-m", "uvicorn", "korona.app:create_app", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        *("--log-level", "warning"),
    ]


def build_store(root: Path, reference: Path, scale: float) -> None:
    """Fill ``root`` with the national benchmark store (see the module docstring)."""
    store = SurveillanceStore(root)
    started = time.perf_counter()
    for name in COVID_FILES:
        ingest_file(reference / "covid19" / name, store, reference)
    print(f"  FHI files ingested in {time.perf_counter() - started:.0f} s")
    geography = load_geography(reference)
    with tempfile.TemporaryDirectory(prefix="korona-bench-kuhr-") as folder:
        started = time.perf_counter()
        simulation = simulate_kuhr(
            geography,
            Path(folder),
            years=len(YEARS),
            seed=17,
            start_year=YEARS[0],
            params=SimulationParameters(scale=scale),
        )
        for path in simulation.files:
            ingest_file(path, store, reference)
        print(
            f"  {simulation.consultations:,} simulated consultations ingested in "
            f"{time.perf_counter() - started:.0f} s"
        )
    started = time.perf_counter()
    run_store(store, Covid19Detector(), [2020, 2021, 2022])
    print(f"  covid-19 detector run in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    locations = geography.location_codes
    syndromes = [s.name for s in load_syndromes()]
    rng = np.random.default_rng(23)
    rows = 0
    for year in YEARS:
        # A weekly result belongs to the year of its Sunday (spec §2).
        first = dt.date(year, 1, 1) + dt.timedelta(days=(6 - dt.date(year, 1, 1).weekday()))
        sundays = pl.date_range(first, dt.date(year, 12, 31), interval="1w", eager=True)
        keys = (
            pl.DataFrame({"location_code": locations})
            .join(pl.DataFrame({"age": list(AGES)}), how="cross")
            .join(pl.DataFrame({"syndrome": syndromes}), how="cross")
        )
        frame = keys.join(pl.DataFrame({"date": sundays}), how="cross")
        size = frame.height
        expected = rng.gamma(1.2, 6.0, size)
        n = rng.poisson(expected * rng.choice([1.0, 1.0, 1.0, 1.8, 3.0], size))
        spread = np.sqrt(expected + 1)
        threshold2, threshold4 = expected + 2 * spread, expected + 4 * spread
        status = np.where(n > threshold4, "high", np.where(n > threshold2, "medium", "normal"))
        frame = frame.with_columns(
            pl.col("date").dt.iso_year().cast(pl.Int32).alias("iso_year"),
            pl.col("date").dt.week().cast(pl.Int32).alias("iso_week"),
            pl.col("date").dt.strftime("%G-W%V").alias("week"),
            pl.Series("n", n, pl.Int64),
            pl.Series("denominator", n * 40.0 + 100),
            pl.Series("expected", expected),
            pl.Series("threshold2", threshold2),
            pl.Series("threshold4", threshold4),
            pl.Series("threshold6", expected + 6 * spread),
            pl.Series("zscore", (n - expected) / spread),
            pl.Series("status", status),
            pl.Series("excess", np.maximum(0, np.ceil(n - threshold2)).astype(np.int64)),
            pl.lit(False).alias("failed"),
        )
        store.write_results("sykdomspulsen", Frequency.WEEKLY, frame, [year])
        rows += size
    print(f"  {rows:,} weekly result rows written in {time.perf_counter() - started:.0f} s")


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds (from /proc) of the server's session: the server
    process and, with ``--workers``, its worker processes (started in their own session)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[3]) == pid:  # the session id: the server leads its own session
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def client(
    base: str,
    until: float,
    weeks: list[str],
    municipalities: list[str],
    times: dict[str, list[float]],
    failures: list[str],
    seed: int,
    kinds: list[str],
) -> None:
    """Request a random mix of pages until ``until`` (monotonic seconds)."""
    chance = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.monotonic() < until:
            kind = chance.choices(kinds, weights=[WEIGHTS[k] for k in kinds])[0]
            # Most readers look at the latest week; some browse back.
            week = weeks[-1] if chance.random() < 0.6 else chance.choice(weeks[-30:])
            indicator = chance.choice(INDICATORS)
            if kind == "municipality page":
                path = f"/surveillance/{chance.choice(municipalities)}"
            elif kind == "map page":
                county = chance.choice(["", "", "/map/county46", "/map/county03", "/map/county54"])
                path = f"/surveillance{county}?indicator={indicator}"
                path += f"&week={week}" if indicator != "signal" else ""
            elif kind == "location API":
                document = chance.choice(LOCATION_DOCUMENTS)
                path = f"/api/v1/surveillance/locations/{chance.choice(municipalities)}{document}"
            else:
                path = f"/api/v1/surveillance/map?indicator={indicator}"
                path += f"&week={week}" if indicator != "signal" else ""
            started = time.perf_counter()
            try:
                response = await http.get(path)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {path}")
            except httpx.HTTPError as error:
                failures.append(f"{type(error).__name__} {path}")
                continue
            times[kind].append((time.perf_counter() - started) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, default=Path("/tmp/korona-bench-surv"))
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=1, help="server worker processes (uvicorn), default one"
    )
    parser.add_argument(
        "--only",
        choices=["all", "map", "location"],
        default="all",
        help="map: map pages and map API only; location: municipality pages and their API",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="seconds to wait after the cold requests (lets a background warm-up finish)",
    )
    args = parser.parse_args()
    reference = Settings().reference_dir
    data = args.work / "data"
    env = {
        **os.environ,
        "KORONA_DATA_DIR": str(data),
        "KORONA_SECRET_KEY": SECRET,
        "KORONA_ENVIRONMENT": "dev",
        "KORONA_COOKIE_SECURE": "false",
    }
    env.pop("KORONA_DATABASE_URL", None)
    if args.rebuild and args.work.exists():
        shutil.rmtree(args.work)
    if not (data / "surveillance" / "manifest.json").exists():
        print(f"building the national store in {data / 'surveillance'}")
        started = time.perf_counter()
        data.mkdir(parents=True, exist_ok=True)
        korona(env, "db", "upgrade")
        korona(env, "demo", "--no-surveillance", "--password", "bench-demo-password-2026")
        build_store(data / "surveillance", reference, args.scale)
        print(f"  store built in {time.perf_counter() - started:.0f} s")
    store = SurveillanceStore(data / "surveillance")
    weeks = (
        store.cases(Frequency.WEEKLY).select("week").unique().sort("week").collect()["week"]
    ).to_list()
    geography = load_geography(reference)
    municipalities = geography.municipalities["location_code"].to_list()
    results = store.results("sykdomspulsen", Frequency.WEEKLY).select(pl.len()).collect().item()

    port = free_port()
    log = args.work / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            serve_command(port, args.workers),
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", "", None, process, log)
    started_process = time.perf_counter()
    try:
        wait_until_up(server)
        up = time.perf_counter() - started_process
        cold: dict[str, float] = {}
        for name, path in (
            ("map page", "/surveillance"),
            ("municipality page", "/surveillance/municip4601"),
            ("map API", "/api/v1/surveillance/map?indicator=incidence_14d"),
            ("location API", "/api/v1/surveillance/locations/municip1151/signals"),
        ):
            started = time.perf_counter()
            response = httpx.get(server.base + path, timeout=600)
            cold[name] = time.perf_counter() - started
            assert response.status_code == 200, (path, response.status_code)
        server_cpu = cpu_seconds(process.pid)
        client_cpu = resource.getrusage(resource.RUSAGE_SELF)
        load_before = os.getloadavg()
        time.sleep(args.settle)
        kinds = {
            "all": list(TARGETS_MS),
            "map": ["map page", "map API"],
            "location": ["municipality page", "location API"],
        }[args.only]
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        failures: list[str] = []
        until = time.monotonic() + args.duration
        started = time.perf_counter()

        async def run_all() -> None:
            await asyncio.gather(
                *(
                    client(server.base, until, weeks, municipalities, times, failures, seed, kinds)
                    for seed in range(args.clients)
                )
            )

        asyncio.run(run_all())
        wall = time.perf_counter() - started
        server_cpu = cpu_seconds(process.pid) - server_cpu
        after = resource.getrusage(resource.RUSAGE_SELF)
        own_cpu = (after.ru_utime - client_cpu.ru_utime) + (after.ru_stime - client_cpu.ru_stime)
        load_after = os.getloadavg()
    finally:
        server.stop()
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(
        f"store: {len(weeks)} case weeks, {results:,} weekly result rows; "
        f"{args.clients} clients for {wall:.0f} s on one server ({args.workers} worker process(es))"
    )
    print(f"load average before {load_before}, after {load_after}")
    served = sum(len(values) for values in times.values())
    print(
        f"CPU: server {server_cpu:.1f} s ({server_cpu / max(served, 1) * 1000:.1f} ms a request, "
        f"{served} requests), load clients {own_cpu:.1f} s (wall {wall:.0f} s)"
    )
    print(
        f"cold: server up {up:.1f} s after start; first requests in turn: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in cold.items())
    )
    warmed = [line for line in log.read_text().splitlines() if "caches warmed" in line]
    print("warm-up thread: " + (warmed[0].split(":", 1)[1].strip() if warmed else "none logged"))
    print("| request | n | p50 ms | p95 ms | p99 ms | target p95 |")
    print("|---|---|---|---|---|---|")
    for kind, values in times.items():
        print(
            f"| {kind} | {len(values)} | {percentile(values, 0.5):.0f} | "
            f"{percentile(values, 0.95):.0f} | {percentile(values, 0.99):.0f} | "
            f"≤ {TARGETS_MS[kind]:.0f} |"
        )
    print(f"failures: {len(failures)} {failures[:5]}")


if __name__ == "__main__":
    main()
