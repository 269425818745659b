"""Benchmark the public net-list page and its PDF with the demo data (issue 12 targets).

Usage:
    .venv/bin/python benchmarks/bench_netlist.py [--requests 300] [--pdfs 20]

Builds a fresh SQLite database in a temporary folder, loads `korona demo` (net list v1 with
18 measures published), then times requests through the whole app in process (Starlette's
TestClient: routing, middleware, unit of work, templates; no network): the public page
`/netlist`, the PDF `/netlist/versions/1.pdf`, and the committee's case document. Prints wall
times (p50, p95, max) and the process's CPU time (user + sys) per phase.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Callable

from demo_app import cpu_seconds, demo_database
from fastapi.testclient import TestClient

from korona.app import create_app
from korona.db import unit_of_work
from korona.portfolio.netlist.report import build_report


def _time(runs: int, call: Callable[[], object]) -> tuple[list[float], float]:
    call()  # warm-up: templates compiled, caches filled
    cpu = cpu_seconds()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times, cpu_seconds() - cpu


def _report(name: str, times: list[float], cpu: float) -> None:
    ordered = sorted(times)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    print(
        f"{name}: n={len(times)} p50={statistics.median(times):.1f} ms p95={p95:.1f} ms "
        f"max={ordered[-1]:.1f} ms; CPU (user+sys) {cpu * 1000 / len(times):.1f} ms per call"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pdfs", type=int, default=20)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with demo_database("bench-demo-password") as demo:
        app = create_app(demo.settings)
        with TestClient(app, base_url="https://testserver") as client:

            def page() -> None:
                response = client.get("/netlist")
                assert response.status_code == 200 and "versjon 1" in response.text

            def pdf() -> None:
                response = client.get("/netlist/versions/1.pdf")
                assert response.status_code == 200 and response.content.startswith(b"%PDF")

            _report("GET /netlist", *_time(args.requests, page))
            _report("GET /netlist/versions/1.pdf", *_time(args.pdfs, pdf))

        def report() -> None:
            with unit_of_work(demo.sessions) as session:
                assert build_report(2, session=session).startswith(b"%PDF")

        _report("case document (meeting 2)", *_time(max(3, args.pdfs // 5), report))
        app.state.engine.dispose()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
