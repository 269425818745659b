"""A real korona server (SQLite, demo data) and Debian's chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.conftest import TEST_SECRET, build_once

DEMO_PASSWORD = "e2e-demo-password"
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
#: Console errors that are part of normal use: forms answer bad input with 4xx, and htmx logs
#: an aborted live-match request when the user submits or types on. Anything else fails.
EXPECTED_CONSOLE_ERRORS = (
    "Failed to load resource: the server responded with a status of 4",
    "htmx:sendAbort",
    "htmx:afterRequest",
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str:
    path = os.environ.get("KORONA_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "chromium not found: install Debian's 'chromium' package "
            "(make test does, through scripts/system-deps.sh)"
        )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def korona_env(data_dir: Path) -> dict[str, str]:
    """Return the environment of a `korona` command on the data directory (SQLite in it)."""
    env = {
        **os.environ,
        "KORONA_DATA_DIR": str(data_dir),
        "KORONA_SECRET_KEY": TEST_SECRET,
        "KORONA_ENVIRONMENT": "test",
    }
    env.pop("KORONA_DATABASE_URL", None)
    return env


KORONA = [sys.executable, "-m", "korona"]


def _load_demo(data_dir: Path) -> None:
    env = korona_env(data_dir)
    subprocess.run([*KORONA, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*KORONA, "demo", "--password", DEMO_PASSWORD], env=env, check=True, capture_output=True
    )


def demo_data_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """Return a new data directory with a migrated SQLite database and `korona demo` loaded.

    `korona demo` (with its surveillance store, about 40 s of CPU) runs once per test run and
    is shared by the xdist workers; every caller gets its own copy, which its server writes.
    """
    shared = build_once(tmp_path_factory, "e2e-demo", _load_demo)
    data_dir = tmp_path_factory.mktemp(name)
    shutil.copytree(shared, data_dir, dirs_exist_ok=True)
    return data_dir


@contextlib.contextmanager
def serve(data_dir: Path, env: dict[str, str]) -> Iterator[str]:
    """Run `korona serve` on a free port on the data directory; yield its base URL."""
    port = _free_port()
    log = (data_dir / "server.log").open("w")
    process = subprocess.Popen(
        [*KORONA, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                pytest.fail("korona serve exited: " + (data_dir / "server.log").read_text())
            process_wait(process)
        else:
            pytest.fail("korona serve did not answer /healthz")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start `korona serve` on a free port with a migrated, demo-loaded SQLite database."""
    data_dir = demo_data_dir(tmp_path_factory, "e2e-data")
    with serve(data_dir, korona_env(data_dir)) as base:
        yield base


def process_wait(process: subprocess.Popen[bytes]) -> None:
    """Wait a short moment for the server process (returns early if it exits)."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=0.1)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    # bypass_csp lets the test inject axe-core; the app's own pages never need inline script.
    context = browser.new_context(base_url=server, bypass_csp=True, locale="nb-NO")
    page = context.new_page()
    errors = collect_browser_errors(page)
    yield page
    context.close()
    assert errors == [], f"browser errors: {errors}"


def collect_browser_errors(page: Page) -> list[str]:
    """Return a list that fills with the page's script errors and unexpected console errors."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith(EXPECTED_CONSOLE_ERRORS)
            else None
        ),
    )
    return errors


def check_accessibility(page: Page) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.1 A/AA) on the page; return serious and critical violations.

    ``resultTypes: ['violations']`` keeps every node of a violation but only one of the other
    results (passes, incomplete): axe then builds far fewer CSS selectors, which took a third
    to nearly half of its time on the largest pages (the national surveillance page: 4.9 s
    against 2.7 s).
    """
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
             resultTypes: ['violations']})"""
    )
    serious = [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert result["passes"], "axe ran no checks"
    return serious


def assert_accessible(page: Page) -> None:
    violations = check_accessibility(page)
    assert violations == [], f"{page.url}: " + json.dumps(violations, indent=1)


def log_in(page: Page, email: str) -> None:
    """Log in through the form as a demo user and wait for the logged-in header."""
    page.goto("/login")
    page.get_by_label("E-postadresse").fill(email)
    page.get_by_label("Passord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logg inn").click()
    expect(page.get_by_role("button", name="Logg ut")).to_be_visible()
