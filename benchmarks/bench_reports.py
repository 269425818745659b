"""Benchmark the weekly report: every municipality's report (HTML + PDF) for one week.

Usage:
    .venv/bin/python benchmarks/bench_reports.py [--weeks 20] [--out DIR]

Fills a throwaway store (tests/report_store.py) with weekly MSIS cases and lab tests for the
356 municipalities and Sykdomspulsen results for all 368 locations × 7 age groups × every
shipped syndrome, then builds the week's figures once (WeeklyData) and renders 356 reports, one
per municipality, each with the municipality and its county (as a municipal doctor who follows
their county gets). County sections are shared through the renderer's cache.

CPU is the process's user + system time. To compare with an older commit side by side (the
machine is shared), run both in one shell:

    git archive <commit> src | tar -x -C /tmp/old
    KORONA_REFERENCE_DIR=$PWD/../shared/data PYTHONPATH=/tmp/old/src \
        .venv/bin/python benchmarks/bench_reports.py
    .venv/bin/python benchmarks/bench_reports.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.report_store import fill_store

from korona.config import Settings
from korona.surveillance.geo import load_geography
from korona.surveillance.report.data import WeeklyData
from korona.surveillance.report.render import ReportRenderer, ReportRequest
from korona.surveillance.sources.syndromes import load_syndromes
from korona.surveillance.store import SurveillanceStore

WEEK = "2020-W20"


def cpu() -> float:
    """Return this process's user + system CPU seconds."""
    times = os.times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weeks", type=int, default=20, help="weeks stored before the report")
    parser.add_argument("--out", type=Path, help="also write the 356 PDFs here")
    args = parser.parse_args()
    geography = load_geography(Settings().reference_dir)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        syndromes = [s.name for s in load_syndromes()]
        fill_store(
            Path(folder) / "surveillance",
            geography,
            last_week=WEEK,
            weeks=args.weeks,
            syndromes=syndromes,
            short_week="2020-W19",
        )
        wall, used = time.perf_counter(), cpu()
        data = WeeklyData.build(SurveillanceStore(Path(folder) / "surveillance"), geography, WEEK)
        build = (time.perf_counter() - wall, cpu() - used)
        renderer = ReportRenderer(data, base_url="https://korona.example")
        municipalities = geography.municipalities.select("location_code", "county_code")
        sizes = []
        requests = [
            ReportRequest("Kommunelege", "nb", (code, county), "https://korona.example/u")
            for code, county in municipalities.iter_rows()
        ]
        wall, used = time.perf_counter(), cpu()
        for report in map(renderer.render, requests):
            sizes.append((len(report.html), len(report.pdf)))
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / report.filename).write_bytes(report.pdf)
        render = (time.perf_counter() - wall, cpu() - used)
    load_after = os.getloadavg()
    n = len(sizes)
    result = {
        "reports": n,
        "syndromes": len(syndromes),
        "build_wall_s": round(build[0], 2),
        "build_cpu_s": round(build[1], 2),
        "render_wall_s": round(render[0], 2),
        "render_cpu_s": round(render[1], 2),
        "total_wall_s": round(build[0] + render[0], 2),
        "total_cpu_s": round(build[1] + render[1], 2),
        "per_report_ms": round(render[0] / n * 1000, 1),
        "per_report_cpu_ms": round(render[1] / n * 1000, 1),
        "html_kb_median": round(sorted(s[0] for s in sizes)[n // 2] / 1024, 1),
        "pdf_kb_median": round(sorted(s[1] for s in sizes)[n // 2] / 1024, 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
