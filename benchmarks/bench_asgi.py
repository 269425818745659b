"""CPU time per request of the load test's routes, the ASGI app called in process, side by side.

Usage:
    .venv/bin/python benchmarks/bench_asgi.py [--requests 60] [--rounds 3] [--cpu 1]
    .venv/bin/python benchmarks/bench_asgi.py --against /tmp/old      # old code: /tmp/old/src

Unlike ``bench_routes.py`` there is no test client: each request is one call of the ASGI app
with a prepared scope, so every CPU second counted is the app's own (routing, middleware,
dependencies, the thread pool's real hops, the unit of work, templates). Per route it prints
the least and the median CPU time per request over ``--rounds`` rounds. ``--cpu N`` pins the
process to core N: on a shared virtual machine, threads woken on the other core cost more.

This machine's speed drifts by up to 2× from one minute to the next, so two versions are
compared only at the same time: ``--against DIR`` runs this code and the code in ``DIR/src``
(e.g. ``git archive <commit> src | tar -x -C DIR``) at once, each pinned to its own core, then
again with the cores swapped, and prints both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import uvloop
from bench_routes import MATCH, PASSWORD, ROUTES
from demo_app import OFFICE, cpu_seconds, demo_database, office_token

import korona
from korona.app import create_app
from korona.auth import service as auth_service
from korona.auth import tokens as auth_tokens
from korona.db import unit_of_work

Message = dict[str, Any]


async def _call(app: Any, method: str, path: str, headers: list, body: bytes) -> int:
    """Call the app once as uvicorn would; return the response status."""
    route, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": route,
        "raw_path": route.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    request: Message = {"type": "http.request", "body": body, "more_body": False}
    received = False
    status = 0

    async def receive() -> Message:
        nonlocal received
        if received:  # the client stays connected until the response is sent
            await asyncio.sleep(3600)
        received = True
        return request

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _measure(app: Any, cookie: bytes, token: str, args: argparse.Namespace) -> None:
    for method, path, extra in ROUTES:
        headers = [(b"cookie", cookie), (b"authorization", f"Bearer {token}".encode())]
        body = b""
        if "json" in extra:
            body = f'{{"text": "{MATCH}", "limit": 5}}'.encode()
            headers.append((b"content-type", b"application/json"))
        for _ in range(10):  # compile templates, fill caches
            assert await _call(app, method, path, headers, body) == 200, path
        rounds = []
        for _ in range(args.rounds):
            started = cpu_seconds()
            for _ in range(args.requests):
                await _call(app, method, path, headers, body)
            rounds.append((cpu_seconds() - started) / args.requests * 1000)
        print(
            f"{method} {path[:60]:64s} {min(rounds):6.2f} {statistics.median(rounds):6.2f} ms",
            flush=True,
        )


def run(args: argparse.Namespace) -> None:
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    print(f"korona from {korona.__file__}; CPU ms a request: least, median of {args.rounds}")
    with demo_database(PASSWORD) as demo:
        token = office_token(demo)
        with unit_of_work(demo.sessions) as session:
            user = auth_service.get_user_by_email(OFFICE, session=session)
            assert user is not None
            login = auth_tokens.start_session(user, session=session, hours=8)
        app = create_app(demo.settings)
        cookie = f"korona_session={login}; korona_csrf={'c' * 32}".encode()
        uvloop.run(_measure(app, cookie, token, args))


def compare(args: argparse.Namespace) -> None:
    """Run this code and ``args.against``'s at the same time on two cores, then swapped."""
    own = [sys.executable, __file__, "--requests", str(args.requests), "--rounds", str(args.rounds)]
    old_env = {**os.environ, "PYTHONPATH": str(Path(args.against) / "src")}
    for new_cpu, old_cpu in ((0, 1), (1, 0)):
        old = subprocess.Popen(
            [*own, "--cpu", str(old_cpu)], env=old_env, stdout=subprocess.PIPE, text=True
        )
        new = subprocess.run([*own, "--cpu", str(new_cpu)], stdout=subprocess.PIPE, text=True)
        old_out, _ = old.communicate()
        print(f"--- {args.against} on core {old_cpu}\n{old_out}--- this code on core {new_cpu}")
        print(new.stdout, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60, help="requests a route per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", type=int, help="pin this process to one core")
    parser.add_argument("--against", help="compare with the code in DIR/src, side by side")
    args = parser.parse_args()
    if args.against:
        compare(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
