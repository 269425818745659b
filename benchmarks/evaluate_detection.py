"""Evaluate outbreak detection on simulated KUHR data with known injected outbreaks.

Usage:
    .venv/bin/python benchmarks/evaluate_detection.py --work /tmp/korona-eval \
        [--first-year 2010 --last-year 2016 --outbreaks-per-year 120 --seed 11]

Steps: simulate KUHR records for all 356 municipalities (first..last year) with injected
outbreaks (ground truth ``outbreaks.csv``), ingest them into a store, run every method on the
weekly municipal series (age total) of the outbreak syndromes for the years after the five
training years, and report per method and municipality size band:

* probability of detection (POD): share of outbreaks with a signal in a week that overlaps
  the outbreak (or the week after it);
* false-alarm rate: share of series-weeks with no outbreak nearby (none during, or within
  two weeks after) that carry a signal.

The result is printed as a Markdown table (pasted into docs/algorithms.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import numpy as np
import polars as pl

from korona.config import Settings
from korona.surveillance.analysis import load_store_series
from korona.surveillance.calendar import Frequency
from korona.surveillance.detect import (
    Detector,
    FarringtonDetector,
    SykdomspulsenDetector,
    ThresholdMethod,
)
from korona.surveillance.geo import load_geography
from korona.surveillance.series import Status
from korona.surveillance.sources.ingest import ingest_file
from korona.surveillance.sources.simulator import SimulationParameters, simulate_kuhr
from korona.surveillance.store import SurveillanceStore

REFERENCE_DIR = Settings().reference_dir
SIZE_BANDS = [
    (0, 2_000, "< 2 000"),
    (2_000, 10_000, "2 000–10 000"),
    (10_000, 50_000, "10 000–50 000"),
    (50_000, 10**9, "≥ 50 000"),
]
#: Weeks after an outbreak's last week that count neither as detection misses nor false alarms.
AFTERGLOW_WEEKS = 2


def prepare_store(work: Path, args: argparse.Namespace) -> tuple[SurveillanceStore, pl.DataFrame]:
    """Simulate and ingest once; later runs reuse the store."""
    sim_dir = work / "simulated"
    store = SurveillanceStore(work / "var" / "surveillance")
    truth_path = sim_dir / "outbreaks.csv"
    if not truth_path.exists():
        geography = load_geography(args.reference_dir)
        params = SimulationParameters(outbreaks_per_year=args.outbreaks_per_year)
        started = time.perf_counter()
        result = simulate_kuhr(
            geography,
            sim_dir,
            years=args.last_year - args.first_year + 1,
            seed=args.seed,
            start_year=args.first_year,
            params=params,
        )
        print(f"simulated {result.rows:,} rows in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        for path in result.files:
            ingest_file(path, store, args.reference_dir)
        print(f"ingested in {time.perf_counter() - started:.0f} s")
    return store, pl.read_csv(truth_path, try_parse_dates=True)


def methods() -> dict[str, tuple[Detector, tuple[Status, ...]]]:
    """Return the evaluated configurations and which statuses count as a signal."""
    noufaily = FarringtonDetector(
        no_periods=10, past_weeks_not_included=26, threshold_method=ThresholdMethod.NB_PLUGIN
    )
    return {
        "sykdomspulsen (medium or high)": (
            SykdomspulsenDetector(),
            (Status.MEDIUM, Status.HIGH),
        ),
        "sykdomspulsen (high)": (SykdomspulsenDetector(), (Status.HIGH,)),
        "farrington flexible (defaults)": (FarringtonDetector(), (Status.HIGH,)),
        "noufaily (noPeriods 10, nbPlugin)": (noufaily, (Status.HIGH,)),
    }


def outbreak_weeks(truth: pl.DataFrame, years: list[int]) -> pl.DataFrame:
    """Return one row per outbreak × week (Sunday) it overlaps, plus its after-glow weeks."""
    rows = []
    for record in truth.iter_rows(named=True):
        start, end = record["start_date"], record["end_date"]
        first_sunday = np.datetime64(start) + (6 - start.weekday())
        last_sunday = np.datetime64(end) + (6 - end.weekday())
        weeks = np.arange(first_sunday, last_sunday + 7 * AFTERGLOW_WEEKS + 1, 7)
        for i, sunday in enumerate(weeks):
            rows.append(
                {
                    "outbreak_id": record["outbreak_id"],
                    "location_code": record["location_code"],
                    "syndrome": record["syndrome"],
                    "date": sunday.astype("datetime64[D]").item(),
                    # detection counts during the outbreak and the week after it
                    "counts_for_detection": bool(sunday <= last_sunday + 7),
                    "week_index": i,
                }
            )
    frame = pl.DataFrame(rows)
    return frame.filter(pl.col("date").dt.year().is_in(years))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/korona-eval"))
    parser.add_argument("--first-year", type=int, default=2010)
    parser.add_argument("--last-year", type=int, default=2016)
    parser.add_argument("--outbreaks-per-year", type=int, default=120)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--reference-dir", type=Path, default=REFERENCE_DIR)
    args = parser.parse_args()

    store, truth = prepare_store(args.work, args)
    years = list(range(args.first_year + 5, args.last_year + 1))
    series = load_store_series(
        store, Frequency.WEEKLY, dt.date(min(years) - 5, 1, 1), dt.date(max(years), 12, 31)
    )
    assert series is not None, "the store holds no weekly consultations"
    keys = series.keys.with_row_index("row")
    wanted = keys.filter(
        pl.col("location_code").str.starts_with("municip"),
        pl.col("age") == "total",
        pl.col("syndrome").is_in(truth["syndrome"].unique().to_list()),
    )
    series = series.subset(wanted["row"].to_numpy())
    population = (
        load_geography(args.reference_dir)
        .population([args.last_year])
        .filter(pl.col("age") == "total")
        .select("location_code", "population")
    )
    band = pl.lit(None, pl.String)
    for lo, hi, label in reversed(SIZE_BANDS):
        band = (
            pl.when(pl.col("population").is_between(lo, hi, closed="left"))
            .then(pl.lit(label))
            .otherwise(band)
        )
    bands = population.with_columns(band.alias("band")).select("location_code", "band")
    weeks = outbreak_weeks(truth, years)
    truth_in_years = truth.filter(pl.col("start_date").dt.year().is_in(years))
    print(
        f"{series.n_series} series, years {years[0]}–{years[-1]}, "
        f"{truth_in_years.height} outbreaks evaluated"
    )

    lines = [
        "| method | size band | outbreaks | POD | series-weeks | false-alarm rate | seconds |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, (detector, signal_statuses) in methods().items():
        started = time.perf_counter()
        result = detector.detect(series, years=years)
        seconds = time.perf_counter() - started
        long = result.series.to_long().select(
            "location_code", "syndrome", "date", "status", "failed"
        )
        codes = [s.value for s in signal_statuses]
        long = long.with_columns(pl.col("status").is_in(codes).alias("signal"))
        labelled = long.join(
            weeks.select(
                "location_code", "syndrome", "date", "outbreak_id", "counts_for_detection"
            ),
            on=["location_code", "syndrome", "date"],
            how="left",
        ).join(bands, on="location_code", how="left")
        detected = (
            labelled.filter(pl.col("counts_for_detection"))
            .group_by("outbreak_id")
            .agg(pl.col("signal").any().alias("detected"), pl.col("band").first())
        )
        quiet = labelled.filter(pl.col("outbreak_id").is_null())
        false_alarms = quiet.group_by("band").agg(
            pl.len().alias("weeks"), pl.col("signal").mean().alias("rate")
        )
        pod = detected.group_by("band").agg(
            pl.len().alias("outbreaks"), pl.col("detected").mean().alias("pod")
        )
        table = false_alarms.join(pod, on="band", how="full", coalesce=True)
        order = {label: i for i, (_, _, label) in enumerate(SIZE_BANDS)}
        rows = sorted(table.iter_rows(named=True), key=lambda r: order.get(r["band"], 99))
        total_pod = detected["detected"].mean() if detected.height else float("nan")
        total_rate = quiet["signal"].mean()
        for row in rows:
            lines.append(
                f"| {name} | {row['band']} | {row['outbreaks'] or 0} | "
                f"{(row['pod'] or 0):.2f} | {row['weeks'] or 0:,} | {(row['rate'] or 0):.4f} | |"
            )
        lines.append(
            f"| {name} | **all** | {detected.height} | {total_pod:.2f} | {quiet.height:,} | "
            f"{total_rate:.4f} | {seconds:.1f} |"
        )
        print(f"{name}: POD {total_pod:.2f}, false-alarm rate {total_rate:.4f} ({seconds:.1f} s)")
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
