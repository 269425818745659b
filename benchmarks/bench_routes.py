"""CPU time and queries per request of the load test's hot routes, in process, with the demo.

Usage:
    .venv/bin/python benchmarks/bench_routes.py [--requests 30] [--profile /needs]

Builds a fresh SQLite database with ``korona demo``, logs in as the portfolio office through
the form, then requests each route ``--requests`` times through the whole app (Starlette's
TestClient: routing, middleware, unit of work, templates; no network). Prints per route the
CPU time (user + sys) per request and the SQL statements per request. ``--profile PATH``
prints a cProfile of that route (cumulative). Compare versions side by side with
``PYTHONPATH=/tmp/old/src``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re

from demo_app import cpu_seconds, demo_database, office_token
from fastapi.testclient import TestClient
from sqlalchemy import event

import korona
from korona.app import create_app

PASSWORD = "bench-demo-password-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
MATCH = "Digital hjemmeoppfølging av pasienter i isolasjon med pulsoksymeter"
ROUTES: list[tuple[str, str, dict]] = [
    ("GET", "/", {}),
    ("GET", "/needs", {}),
    ("GET", "/needs?status=registered&q=video", {}),
    ("GET", "/needs/overview", {}),
    ("GET", "/solutions", {}),
    ("GET", "/inputs", {}),
    ("GET", "/inputs?status=received&q=smitte", {}),
    ("GET", "/inputs/new", {}),
    ("GET", "/triage", {}),
    ("GET", f"/inputs/match-preview?title={MATCH}&description={MATCH}&categories=video", {}),
    ("POST", "/api/v1/match", {"json": {"text": MATCH, "limit": 5}}),
    ("GET", "/api/v1/needs", {}),
    ("GET", "/api/v1/inputs", {}),
    ("GET", "/api/v1/solutions", {}),
]


def grow(client: TestClient, count: int) -> None:
    """Add ``count`` needs and inputs through the forms, like the load test's users."""
    for serial in range(count):
        for form_path, post_path, data in (
            (
                "/needs/new",
                "/needs",
                {
                    "title": f"Vekst behov {serial}",
                    "description": "Et behov som fyller listene slik lasttesten gjør.",
                    "category": "video",
                    "urgency": "2",
                    "affected_groups": "health_personnel",
                },
            ),
            (
                "/inputs/new",
                "/inputs",
                {
                    "kind": "idea",
                    "title": f"Vekst innspill {serial}",
                    "description": "Digital hjemmeoppfølging av pasienter – fyller listene.",
                    "contact_name": "Vekst Person",
                    "contact_email": f"vekst{serial}@example.no",
                    "organisation_name": "Vekst AS",
                    "is_public": "0",
                    "categories": "video",
                },
            ),
        ):
            token = CSRF.search(client.get(form_path).text).group(1)  # type: ignore[union-attr]
            answer = client.post(
                post_path, data={**data, "csrf_token": token}, follow_redirects=False
            )
            assert answer.status_code == 303, (post_path, answer.status_code, answer.text[:300])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--profile", help="print a cProfile of this path")
    parser.add_argument(
        "--only",
        action="append",
        help="time only this path (repeatable; its query string may be left out), e.g. under "
        "py-spy",
    )
    parser.add_argument(
        "--grow",
        type=int,
        default=0,
        help="first add this many needs and inputs through the forms, as a load test does",
    )
    args = parser.parse_args()
    print(f"korona from {korona.__file__}; load average before: {os.getloadavg()}")
    with demo_database(PASSWORD) as demo:
        token = office_token(demo)
        app = create_app(demo.settings)
        statements = [0]
        event.listen(
            app.state.engine,
            "before_cursor_execute",
            lambda *_: statements.__setitem__(0, statements[0] + 1),
        )
        with TestClient(app, base_url="https://testserver") as client:
            page = client.get("/login")
            form = {
                "email": "kontor@demo.korona.no",
                "password": PASSWORD,
                "csrf_token": CSRF.search(page.text).group(1),  # type: ignore[union-attr]
                "next": "/",
            }
            assert client.post("/login", data=form, follow_redirects=False).status_code == 303
            bearer = {"Authorization": f"Bearer {token}"}
            grow(client, args.grow)
            total_cpu = 0.0
            routes = [
                route
                for route in ROUTES
                if not args.only or {route[1], route[1].split("?")[0]} & set(args.only)
            ]
            for method, path, extra in routes:

                def call(method: str = method, path: str = path, extra: dict = extra) -> None:
                    response = client.request(method, path, headers=bearer, **extra)
                    assert response.status_code == 200, (path, response.status_code)

                call()  # warm-up
                statements[0] = 0
                cpu = cpu_seconds()
                for _ in range(args.requests):
                    call()
                per_request = (cpu_seconds() - cpu) / args.requests
                total_cpu += per_request
                print(
                    f"{method} {path[:60]:<60} {per_request * 1000:6.1f} ms CPU "
                    f"{statements[0] / args.requests:5.1f} queries"
                )
                if args.profile and path == args.profile:
                    profile = cProfile.Profile()
                    profile.enable()
                    for _ in range(args.requests):
                        call()
                    profile.disable()
                    pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
            print(f"mean over the routes: {total_cpu / len(routes) * 1000:.1f} ms CPU a request")
        app.state.engine.dispose()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
