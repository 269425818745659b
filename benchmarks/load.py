"""Load test of a korona server on loopback: concurrent users, latency per endpoint, recovery.

Starts a fresh server (SQLite, or a throwaway PostgreSQL cluster from tests/postgres.py) with
the demo data, or is pointed at one with ``--url``. Each virtual user logs in as a demo user
(or stays anonymous) and runs a weighted mix of page views, list filters, match calls, need
creation, input submission and API reads until ``--duration`` seconds or ``--max-requests``
have passed. With ``--ramp-up S`` the users arrive evenly over the first S seconds (like
locust's spawn rate) instead of all logging in at the same instant. Afterwards it times
``/healthz`` and, on PostgreSQL, counts the connections left "idle in transaction".
Exit status 1 if any request failed (status >= 500, timeout, connection error) or
``/healthz`` did not answer within 1 s.

It also reports the CPU time (user + sys) spent during the load by the server's processes
(every uvicorn worker), by PostgreSQL (when it started the cluster) and by this load generator
itself, and the server's CPU per request: on a shared or small machine the figure to compare
between versions when wall-clock latencies are dominated by other load.

    .venv/bin/python benchmarks/load.py --database sqlite --users 10 --duration 30
    .venv/bin/python benchmarks/load.py --database postgresql --workers 4 --users 200 \
        --duration 300 --think 1.0 --ramp-up 60 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx2 as httpx
from rich.console import Console
from rich.table import Table

REPOSITORY = Path(__file__).resolve().parents[1]
DEMO_PASSWORD = "load-demo-password-2026"
SECRET = "load-test-secret-key-that-is-long-enough-0123456789"
#: Demo users by what they do under load (see korona.demo.DEMO_USERS).
OFFICE = "kontor@demo.korona.no"
REPORTERS = ("sykehus@demo.korona.no", "kommune@demo.korona.no")
READERS = ("vurderer@demo.korona.no", "beslutter@demo.korona.no", "observator@demo.korona.no")
OTHERS = ("innsender@demo.korona.no", "kommunelege@demo.korona.no")
#: Roles that may read every input (Permission.INPUT_READ).
INPUT_READERS = frozenset({OFFICE, *READERS})
NEED_STATUSES = ("registered", "validated", "covered", "partly_covered", "uncovered", "")
INPUT_STATUSES = ("received", "in_assessment", "covered", "duplicate", "declined", "")
SEARCH_WORDS = ("video", "smitte", "testing", "kommune", "sykehjem", "digital", "")
CATEGORIES = ("video", "triage", "remote_monitoring", "contact_tracing", "capacity", "other")
MATCH_TEXTS = (
    "Videokonsultasjon for fastleger med pasienter hjemme",
    "Digital hjemmeoppfølging av pasienter i isolasjon med pulsoksymeter",
    "Smittesporing i kommunen med bedre verktøy for kontaktlister",
    "Oversikt over ledige intensivplasser og respiratorer i regionen",
    "Timebestilling for testing og svar på prøver digitalt",
)
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Stats:
    """Latencies and failures of one endpoint class."""

    latencies_ms: list[float] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)  # time.monotonic() of each answer
    errors: int = 0  # status >= 500, timeouts, connection errors
    client_errors: int = 0  # unexpected 4xx: a fault of this script or of the server's contract
    error_kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def record(self, elapsed_ms: float, failure: str | None) -> None:
        self.latencies_ms.append(elapsed_ms)
        self.finished_at.append(time.monotonic())
        if failure is None:
            return
        self.error_kinds[failure] += 1
        if failure.startswith("4"):
            self.client_errors += 1
        else:
            self.errors += 1


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile (0 < share <= 1) of the values, NaN if none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(-(-share * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


class Budget:
    """Stops the run at the deadline or after the request budget, whichever comes first."""

    def __init__(self, duration: float, max_requests: int) -> None:
        self.deadline = time.monotonic() + duration
        self.remaining = max_requests

    def spent(self) -> bool:
        return time.monotonic() >= self.deadline or self.remaining <= 0

    def take(self) -> bool:
        if time.monotonic() >= self.deadline or self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


@dataclass
class ClientResponse:
    """The status and body of one answer (what the users read of it)."""

    status_code: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class AiohttpClient:
    """The users' default HTTP client: aiohttp, one keep-alive connection and its cookies.

    The load generator shares the server's cores; aiohttp's C HTTP parser spends a fraction
    of the CPU per request that httpx does, leaving the cores to the server
    (``--client httpx`` runs the same users over httpx).
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        self.session = aiohttp.ClientSession(
            base_url=base_url,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # unsafe: cookies for an IP address
            connector=aiohttp.TCPConnector(limit=1),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )

    async def request(self, method: str, url: str, **kwargs: Any) -> ClientResponse:
        async with self.session.request(method, url, allow_redirects=False, **kwargs) as answer:
            return ClientResponse(answer.status, await answer.read())

    async def aclose(self) -> None:
        await self.session.close()


class User:
    """One virtual user: its own client (cookies, keep-alive connection) and its action mix."""

    def __init__(
        self,
        base: str,
        email: str | None,
        token: str,
        stats: dict[str, Stats],
        timeout: float,
        rng: random.Random,
        client: str = "aiohttp",
    ) -> None:
        self.email = email
        self.token = token
        self.stats = stats
        self.rng = rng
        self.client: Any
        if client == "httpx":
            self.client = httpx.AsyncClient(
                base_url=base,
                timeout=timeout,
                follow_redirects=False,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
        else:
            self.client = AiohttpClient(base, timeout)
        self.actions = self._mix()

    def _mix(self) -> list[tuple[Callable[[], Awaitable[None]], int]]:
        """Return the weighted actions this kind of user does."""
        mix: list[tuple[Callable[[], Awaitable[None]], int]] = [
            (self.page_view, 30),
            (self.match_api, 8),
            (self.match_preview, 10),
            (self.api_read, 12),
        ]
        if self.email is None:
            mix.append((self.submit_input, 6))
        else:
            mix.append((self.filter_list, 15))
        if self.email in (OFFICE, *REPORTERS):
            mix.append((self.create_need, 5))
        return mix

    async def close(self) -> None:
        await self.client.aclose()

    async def call(
        self, name: str, method: str, url: str, expected: tuple[int, ...] = (200,), **kwargs: Any
    ) -> Any:
        """Send one request and record its latency and outcome under ``name``."""
        start = time.perf_counter()
        failure: str | None = None
        response = None
        try:
            response = await self.client.request(method, url, **kwargs)
            if response.status_code >= 500:
                failure = f"{response.status_code}"
            elif response.status_code not in expected:
                failure = f"{response.status_code} {method} {urlsplit(url).path}"
        except (httpx.TimeoutException, TimeoutError):
            failure = "timeout"
        except (httpx.TransportError, aiohttp.ClientError) as error:
            failure = f"connection: {type(error).__name__}"
        self.stats[name].record((time.perf_counter() - start) * 1000, failure)
        return response if failure is None else None

    async def csrf(self, name: str, path: str) -> str | None:
        """Load a form page (counted under ``name``) and return its CSRF token."""
        page = await self.call(name, "GET", path)
        if page is None:
            return None
        match = CSRF_PATTERN.search(page.text)
        return match.group(1) if match else None

    async def login(self) -> bool:
        if self.email is None:
            await self.call("page", "GET", "/")  # gets the CSRF cookie like a first visit
            return True
        token = await self.csrf("login", "/login")
        if token is None:
            return False
        data = {"email": self.email, "password": DEMO_PASSWORD, "csrf_token": token, "next": "/"}
        return await self.call("login", "POST", "/login", (303,), data=data) is not None

    def _bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def page_view(self) -> None:
        if self.email is None:
            paths = ["/", "/solutions", "/inputs/new"]
        else:
            paths = ["/", "/needs", "/needs/overview", "/solutions"]
            if self.email in INPUT_READERS:
                paths.append("/inputs")
            if self.email == OFFICE:
                paths.append("/triage")
        await self.call("page", "GET", self.rng.choice(paths))

    async def filter_list(self) -> None:
        if self.email in INPUT_READERS and self.rng.random() < 0.3:
            params = {"status": self.rng.choice(INPUT_STATUSES), "q": self.rng.choice(SEARCH_WORDS)}
            await self.call("filter", "GET", "/inputs", params=params)
            return
        params = {"status": self.rng.choice(NEED_STATUSES), "q": self.rng.choice(SEARCH_WORDS)}
        await self.call("filter", "GET", "/needs", params=params)

    async def match_api(self) -> None:
        body = {"text": self.rng.choice(MATCH_TEXTS), "limit": 5}
        await self.call("match_api", "POST", "/api/v1/match", json=body, headers=self._bearer())

    async def match_preview(self) -> None:
        text = self.rng.choice(MATCH_TEXTS)
        params = {"title": text, "description": text, "categories": self.rng.choice(CATEGORIES)}
        await self.call("match_preview", "GET", "/inputs/match-preview", params=params)

    async def api_read(self) -> None:
        path = self.rng.choice(("/api/v1/needs", "/api/v1/inputs", "/api/v1/solutions"))
        await self.call("api_read", "GET", path, headers=self._bearer())

    async def create_need(self) -> None:
        token = await self.csrf("create_need", "/needs/new")
        if token is None:
            return
        serial = self.rng.randrange(10**9)
        data = {
            "csrf_token": token,
            "title": f"Lasttest behov {serial}",
            "description": "Et behov registrert av lasttesten for å måle skriving under last.",
            "category": self.rng.choice(CATEGORIES),
            "urgency": str(self.rng.randint(1, 4)),
            "affected_groups": "health_personnel",
        }
        await self.call("create_need", "POST", "/needs", (303,), data=data)

    async def submit_input(self) -> None:
        token = await self.csrf("submit_input", "/inputs/new")
        if token is None:
            return
        serial = self.rng.randrange(10**9)
        data = {
            "csrf_token": token,
            "kind": "idea",
            "title": f"Lasttest innspill {serial}",
            "description": self.rng.choice(MATCH_TEXTS) + " – sendt inn av lasttesten.",
            "contact_name": "Lasttest Person",
            "contact_email": f"last{serial}@example.no",
            "organisation_name": "Lasttest AS",
            "is_public": "0",
            "categories": self.rng.choice(CATEGORIES),
        }
        await self.call("submit_input", "POST", "/inputs", (303,), data=data)

    async def run(self, budget: Budget, think: float, delay: float = 0.0) -> None:
        if delay > 0:
            await asyncio.sleep(delay)  # arrives during the ramp-up
        if budget.spent() or not await self.login():
            return
        actions, weights = zip(*self.actions, strict=True)
        while budget.take():
            await self.rng.choices(actions, weights)[0]()
            if think > 0:
                await asyncio.sleep(self.rng.uniform(0, 2 * think))


def assign_users(count: int, anonymous_share: float) -> list[str | None]:
    """Return each virtual user's demo e-mail (None: anonymous), spread over the roles."""
    anonymous = round(count * anonymous_share)
    logged_in = [OFFICE, *REPORTERS, *READERS, *OTHERS]
    return [None] * anonymous + [logged_in[i % len(logged_in)] for i in range(count - anonymous)]


def arrival(number: int, users: int, ramp_up: float) -> float:
    """Return when the user numbered ``number`` starts: evenly over the ramp-up (0: all at once).

    Like locust's spawn rate (``users / ramp_up`` a second): people arrive over time, so their
    logins (argon2, ~0.1 s of CPU each) do not all land in the same instant.
    """
    return ramp_up * number / users if ramp_up > 0 else 0.0


async def run_load(
    base: str, token: str, args: argparse.Namespace
) -> tuple[dict[str, Stats], float, int, float]:
    """Run every virtual user until the budget is spent; return stats, wall time, users and
    the ``time.monotonic()`` of the start."""
    stats: dict[str, Stats] = defaultdict(Stats)
    rng = random.Random(args.seed)
    users = [
        User(base, email, token, stats, args.timeout, random.Random(rng.random()), args.client)
        for email in assign_users(args.users, args.anonymous_share)
    ]
    rng.shuffle(users)  # the roles arrive mixed during a ramp-up
    budget = Budget(args.duration, args.max_requests)
    start, started = time.perf_counter(), time.monotonic()
    try:
        # Requests in flight at the deadline finish or time out: the grace covers one timeout.
        await asyncio.wait_for(
            asyncio.gather(
                *(
                    user.run(budget, args.think, arrival(number, len(users), args.ramp_up))
                    for number, user in enumerate(users)
                )
            ),
            timeout=args.duration + args.timeout * 3 + 5,
        )
    except TimeoutError:
        pass
    finally:
        elapsed = time.perf_counter() - start
        await asyncio.gather(*(user.close() for user in users), return_exceptions=True)
    return stats, elapsed, len(users), started


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stats() -> dict[int, tuple[int, float]]:
    """Return every process's parent pid and CPU seconds (user + sys) from /proc (Linux)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # The command name (field 2) may hold spaces and parentheses: split after its end.
        fields = raw[raw.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS)
    return found


def tree_cpu(pid: int | None) -> dict[int, float]:
    """Return the CPU seconds (user + sys) so far of a process and its descendants, by pid."""
    if pid is None or not Path("/proc").is_dir():
        return {}
    stats = _proc_stats()
    tree, frontier = set(), {pid}
    while frontier:
        tree |= frontier
        frontier = {child for child, (parent, _) in stats.items() if parent in frontier} - tree
    return {member: stats[member][1] for member in tree if member in stats}


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """Return the CPU seconds spent between two :func:`tree_cpu` readings.

    A process that exited in between is not counted after its exit (PostgreSQL backends of
    the pools live through the run; uvicorn workers too).
    """
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


class CpuWatch:
    """Samples a process tree's CPU every second in a side thread, so that the CPU of a
    process that exits during the load (a worker the supervisor replaced) is still counted,
    and so that replaced workers are noticed."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.before = tree_cpu(pid)
        self.latest = dict(self.before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.latest.update(tree_cpu(self.pid))

    def stop(self) -> tuple[float, int]:
        """Return the CPU seconds spent since the start, and how many processes appeared."""
        self._stop.set()
        self._thread.join()
        self.latest.update(tree_cpu(self.pid))
        return cpu_between(self.before, self.latest), len(set(self.latest) - set(self.before))


def own_cpu() -> float:
    """Return this process's CPU seconds so far (user + sys)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def health_after(base: str, limit: float = 5.0) -> float | None:
    """Return the seconds /healthz took on a new connection, or None if no 200 within limit."""
    start = time.perf_counter()
    try:
        response = httpx.get(base + "/healthz", timeout=limit)
    except httpx.HTTPError:
        return None
    elapsed = time.perf_counter() - start
    return elapsed if response.status_code == 200 else None


def require_loopback(url: str) -> None:
    """Refuse any target that is not this machine: load goes to loopback only."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"refusing {url}: the load test targets loopback addresses only")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A korona server this script started, and how to reach its database."""

    base: str
    token: str
    database_url: str | None
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    #: The PostgreSQL postmaster's pid, when this script started the cluster.
    database_pid: int | None = None
    stopped_on_sigterm: bool | None = None
    tracebacks: int | None = None
    keep_log: Path | None = None

    def stop(self) -> None:
        """SIGTERM the server's process group; SIGKILL it if it has not exited after 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
            self.stopped_on_sigterm = True
        except subprocess.TimeoutExpired:
            self.stopped_on_sigterm = False
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
        if self.log is not None:
            self.tracebacks = self.log.read_text(errors="replace").count("Traceback")
            if self.keep_log is not None:
                shutil.copyfile(self.log, self.keep_log)


def korona(env: dict[str, str], *args: str) -> str:
    """Run one korona command in the benchmark's environment; return its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "korona", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"korona {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


@contextlib.contextmanager
def started_server(args: argparse.Namespace, work: Path) -> Iterator[Server]:
    """Prepare a fresh database with the demo data, start the server, stop it afterwards."""
    cluster = None
    env = {
        **os.environ,
        "KORONA_DATA_DIR": str(work / "data"),
        "KORONA_SECRET_KEY": SECRET,
        # Measured as it runs in production (templates not re-checked on every render, …).
        "KORONA_ENVIRONMENT": "production",
        # Plain http on loopback: Secure cookies would not come back from a non-browser client.
        "KORONA_COOKIE_SECURE": "false",
    }
    port = free_port()
    env["KORONA_BASE_URL"] = f"http://127.0.0.1:{port}"
    env.pop("KORONA_DATABASE_URL", None)
    database_url = None
    try:
        if args.database == "postgresql":
            sys.path.insert(0, str(REPOSITORY))
            from sqlalchemy import create_engine, text
            from tests.postgres import start_cluster

            # Each worker's pool holds up to 15 connections; leave room for all and for psql.
            cluster = start_cluster(max_connections=max(100, 20 * args.workers + 20))
            admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text("CREATE DATABASE korona"))
            admin.dispose()
            database_url = cluster.url("korona")
            env["KORONA_DATABASE_URL"] = database_url
        korona(env, "db", "upgrade")
        korona(env, "demo", "--password", DEMO_PASSWORD)
        token = korona(env, "user", "token", OFFICE, "--name", "load").strip()
        if args.workers == 1:
            command = [sys.executable, "-m", "korona", "serve", "--port", str(port)]
        else:
            command = [
                *(sys.executable, "-m", "uvicorn", "korona.app:create_app", "--factory"),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)),
                *("--log-level", "warning"),
                # As docs/operations.md advises: a busy worker is not a hung one.
                *("--timeout-worker-healthcheck", "30"),
            ]
        log = work / "server.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = Server(f"http://127.0.0.1:{port}", token, database_url, process, log)
        if cluster is not None:
            postmaster = cluster.root / "data" / "postmaster.pid"
            with contextlib.suppress(OSError, ValueError, IndexError):
                server.database_pid = int(postmaster.read_text().split()[0])
        server.keep_log = args.server_log
        try:
            wait_until_up(server)
            yield server
        finally:
            server.stop()
    finally:
        if cluster is not None:
            cluster.stop()


def wait_until_up(server: Server, limit: float = 300.0) -> None:
    """Wait until /healthz answers, then until the workers have finished starting.

    One answer means one worker is up; the others may still be importing and warming up,
    which takes seconds of CPU each. So it then waits (up to a minute) until the server's
    processes use less than a fifth of a core, so that neither the load's first requests
    nor its CPU figures include the start-up.
    """
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert server.process is not None
        if server.process.poll() is not None:
            output = server.log.read_text() if server.log else ""
            raise SystemExit("the server exited:\n" + output)
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.base + "/healthz", timeout=1).status_code == 200:
                break
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout=0.2)
    else:
        raise SystemExit(f"the server did not answer /healthz within {limit:.0f} s")
    quiet_by = time.monotonic() + 60
    before = tree_cpu(server.process.pid)
    while time.monotonic() < quiet_by:
        time.sleep(2.0)
        after = tree_cpu(server.process.pid)
        if cpu_between(before, after) < 0.4:
            return
        before = after


@contextlib.contextmanager
def profiled(pid: int, args: argparse.Namespace) -> Iterator[None]:
    """Run py-spy on the server's processes from the end of the ramp-up (a side thread).

    With ``--gil`` py-spy samples only the thread holding the GIL: where the server's Python
    spends CPU, not where its threads wait for a turn.
    """
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [
        *(py_spy, "record", "--subprocesses", "--nonblocking", "--gil", "-p", str(pid)),
        *("-f", "raw", "-r", "25", "-d", str(int(args.py_spy_seconds)), "-o", str(args.py_spy)),
    ]

    def record() -> None:
        time.sleep(min(args.ramp_up + 5, max(args.duration - args.py_spy_seconds, 0)))
        subprocess.run(command, capture_output=True, check=False)

    thread = threading.Thread(target=record, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(timeout=args.py_spy_seconds + 30)


def idle_in_transaction(database_url: str | None) -> int | None:
    """Return the number of PostgreSQL connections idle in transaction (None: not PostgreSQL)."""
    if not database_url or not database_url.startswith("postgresql"):
        return None
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            query = text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
            )
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


#: The timeline's window: long enough for a stable p95, short enough to show a ramp-up.
WINDOW_S = 30.0


def timeline(stats: dict[str, Stats], started: float) -> list[dict[str, Any]]:
    """Return count, throughput, p50 and p95 of the answers in each ``WINDOW_S`` of the run:
    whether a tail comes from the ramp-up, a warm-up or the steady state."""
    windows: defaultdict[int, list[float]] = defaultdict(list)
    for item in stats.values():
        for moment, latency in zip(item.finished_at, item.latencies_ms, strict=True):
            windows[int((moment - started) // WINDOW_S)].append(latency)
    return [
        {
            "from_s": number * WINDOW_S,
            "count": len(latencies),
            "rps": round(len(latencies) / WINDOW_S, 1),
            "p50_ms": round(percentile(latencies, 0.50), 1),
            "p95_ms": round(percentile(latencies, 0.95), 1),
        }
        for number, latencies in sorted(windows.items())
    ]


def summarise(
    stats: dict[str, Stats], elapsed: float, users: int, args: argparse.Namespace
) -> dict[str, Any]:
    classes = {}
    for name in sorted(stats):
        item = stats[name]
        classes[name] = {
            "count": len(item.latencies_ms),
            "errors": item.errors,
            "unexpected_4xx": item.client_errors,
            "p50_ms": round(percentile(item.latencies_ms, 0.50), 1),
            "p95_ms": round(percentile(item.latencies_ms, 0.95), 1),
            "p99_ms": round(percentile(item.latencies_ms, 0.99), 1),
            "failures": dict(sorted(item.error_kinds.items(), key=lambda kv: -kv[1])),
        }
    every = [value for item in stats.values() for value in item.latencies_ms]
    total = len(every)
    errors = sum(item.errors for item in stats.values())
    return {
        "classes": classes,
        "total": {
            "count": total,
            "errors": errors,
            "error_share": round(errors / total, 4) if total else 0.0,
            "unexpected_4xx": sum(item.client_errors for item in stats.values()),
            "p50_ms": round(percentile(every, 0.50), 1),
            "p95_ms": round(percentile(every, 0.95), 1),
            "p99_ms": round(percentile(every, 0.99), 1),
            "throughput_rps": round(total / elapsed, 1) if elapsed else 0.0,
            "wall_s": round(elapsed, 1),
        },
        "config": {
            "database": args.database if not args.url else "external",
            "workers": args.workers,
            "users": users,
            "duration_s": args.duration,
            "max_requests": args.max_requests,
            "timeout_s": args.timeout,
            "think_s": args.think,
            "ramp_up_s": args.ramp_up,
            "anonymous_share": args.anonymous_share,
            "seed": args.seed,
            "client": args.client,
        },
    }


def cpu_summary(
    server_s: float | None, database_s: float | None, generator_s: float, requests: int
) -> dict[str, Any]:
    """Return the CPU seconds of server, database and load generator during the load."""

    def per_request(seconds: float | None) -> float | None:
        return round(seconds * 1000 / requests, 2) if seconds is not None and requests else None

    return {
        "server_s": None if server_s is None else round(server_s, 1),
        "server_ms_per_request": per_request(server_s),
        "database_s": None if database_s is None else round(database_s, 1),
        "database_ms_per_request": per_request(database_s),
        "load_generator_s": round(generator_s, 1),
        "load_generator_ms_per_request": per_request(generator_s),
    }


def show(result: dict[str, Any], console: Console) -> None:
    config = result["config"]
    table = Table(
        title=f"{config['users']} users × {config['duration_s']} s on {config['database']}, "
        f"{config['workers']} worker(s), ramp-up {config['ramp_up_s']} s"
    )
    for column in ("class", "count", "errors", "4xx", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "class" else "right")
    rows = [*result["classes"].items(), ("all", result["total"])]
    for name, item in rows:
        table.add_row(
            name,
            str(item["count"]),
            str(item["errors"]),
            str(item["unexpected_4xx"]),
            f"{item['p50_ms']:.0f}",
            f"{item['p95_ms']:.0f}",
            f"{item['p99_ms']:.0f}",
        )
    console.print(table)
    if result.get("timeline"):
        console.print(
            "per 30 s (from, req/s, p50, p95 ms): "
            + "; ".join(
                f"{w['from_s']:.0f} s {w['rps']:.0f}/s {w['p50_ms']:.0f}/{w['p95_ms']:.0f}"
                for w in result["timeline"]
            )
        )
    total, after = result["total"], result["after"]
    console.print(
        f"throughput {total['throughput_rps']} req/s over {total['wall_s']} s; "
        f"errors {total['errors']} ({total['error_share']:.1%})"
    )
    cpu = result.get("cpu") or {}
    if cpu.get("server_s") is not None:
        console.print(
            f"CPU (user + sys) during the load: server {cpu['server_s']} s "
            f"= {cpu['server_ms_per_request']} ms a request"
            + (
                f"; PostgreSQL {cpu['database_s']} s "
                f"= {cpu['database_ms_per_request']} ms a request"
                if cpu.get("database_s") is not None
                else ""
            )
            + f"; load generator {cpu['load_generator_s']} s"
        )
        if cpu.get("processes_started_during_load"):
            console.print(
                f"  {cpu['processes_started_during_load']} server process(es) started during "
                "the load: uvicorn replaced workers that missed its health check"
            )
    for name, item in result["classes"].items():
        if item["failures"]:
            console.print(f"  {name}: {item['failures']}")
    healthz = after["healthz_s"]
    console.print(
        "after the load: /healthz "
        + (f"answered in {healthz * 1000:.0f} ms" if healthz is not None else "NO answer in 5 s")
        + (
            f"; PostgreSQL connections idle in transaction: {after['idle_in_transaction']}"
            if after["idle_in_transaction"] is not None
            else ""
        )
        + (
            f"; server stopped on SIGTERM: {after['stopped_on_sigterm']}"
            if after.get("stopped_on_sigterm") is not None
            else ""
        )
        + (
            f"; tracebacks in the server log: {after['server_tracebacks']}"
            if after.get("server_tracebacks") is not None
            else ""
        )
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="server processes (uvicorn)")
    parser.add_argument("--users", type=int, default=10, help="concurrent virtual users")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (≤ 900)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="request budget")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, s")
    parser.add_argument("--think", type=float, default=0.0, help="mean pause between actions")
    parser.add_argument(
        "--ramp-up",
        type=float,
        default=0.0,
        help="seconds over which the users arrive, evenly (0: all log in at once)",
    )
    parser.add_argument(
        "--client",
        choices=("aiohttp", "httpx"),
        default="aiohttp",
        help="the users' HTTP client: aiohttp (little CPU, cores left to the server) or httpx",
    )
    parser.add_argument("--anonymous-share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--url", help="load a running server instead (loopback only)")
    parser.add_argument("--token", help="with --url: an API token of the portfolio office")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    parser.add_argument("--server-log", type=Path, help="keep the started server's log here")
    parser.add_argument(
        "--py-spy",
        type=Path,
        help="record the server's workers with py-spy (raw collapsed stacks) into this file, "
        "from the end of the ramp-up for --py-spy-seconds",
    )
    parser.add_argument("--py-spy-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 900 or not 1 <= args.users <= 1000 or args.workers < 1:
        parser.error("need 0 < duration ≤ 900, 1 ≤ users ≤ 1000, workers ≥ 1")
    if args.url and not args.token:
        parser.error("--url needs --token (korona user token kontor@demo.korona.no)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="korona-load-"))
    try:
        with contextlib.ExitStack() as stack:
            if args.url:
                require_loopback(args.url)
                database_url = os.environ.get("KORONA_DATABASE_URL")
                server = Server(args.url.rstrip("/"), args.token, database_url)
            else:
                console.print(f"preparing {args.database} with the demo data in {work} …")
                server = stack.enter_context(started_server(args, work))
            require_loopback(server.base)
            server_pid = server.process.pid if server.process is not None else None
            if args.py_spy and server_pid is not None:
                stack.enter_context(profiled(server_pid, args))
            watches = (CpuWatch(server_pid), CpuWatch(server.database_pid))
            own_before = own_cpu()
            stats, elapsed, users, load_started = asyncio.run(
                run_load(server.base, server.token, args)
            )
            (server_cpu, new_workers), (database_cpu, _) = (watch.stop() for watch in watches)
            own = own_cpu() - own_before
            healthz = health_after(server.base)
            idle = idle_in_transaction(server.database_url)
            stack.close()  # stop the server now, to see whether SIGTERM works
            result = summarise(stats, elapsed, users, args)
            result["timeline"] = timeline(stats, load_started)
            result["cpu"] = cpu_summary(
                server_cpu if server_pid is not None else None,
                database_cpu if server.database_pid is not None else None,
                own,
                result["total"]["count"],
            )
            result["cpu"]["processes_started_during_load"] = new_workers
            result["after"] = {
                "healthz_s": round(healthz, 3) if healthz is not None else None,
                "idle_in_transaction": idle,
                "stopped_on_sigterm": server.stopped_on_sigterm,
                "server_tracebacks": server.tracebacks,
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["machine"] = {
        "started": started.isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }
    show(result, console)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    healthy = result["after"]["healthz_s"] is not None and result["after"]["healthz_s"] <= 1.0
    return 0 if result["total"]["errors"] == 0 and healthy else 1


if __name__ == "__main__":
    sys.exit(main())
