"""`korona mail send` and `korona mail work`: deliver the outbox, one claimed message at a time."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, NoReturn

import typer

from korona.console import console, err_console, fail, require_database, settings, transaction
from korona.notify import service
from korona.notify.worker import DEFAULT_POLL_SECONDS, RoundResult, open_worker

app = typer.Typer(help="E-mail outbox.", no_args_is_help=True)

#: The longest lease and poll interval the options take: a day is far more than a delivery
#: or an idle wait needs, and larger numbers overflowed timedelta and Event.wait (a traceback).
MAX_SECONDS = 86_400

LeaseOption = Annotated[
    float,
    typer.Option(
        "--lease-seconds",
        min=0,
        max=MAX_SECONDS,
        help="A claim older than this with no result is marked uncertain (never resent). "
        "Use 0 only when no other worker runs.",
    ),
]


@app.callback()
def mail() -> None:
    """E-mail outbox: korona mail send | work."""


def _no_smtp() -> NoReturn:
    with transaction() as session:
        waiting = service.waiting_count(session=session)
    fail(f"No SMTP server is set (KORONA_SMTP_HOST); {waiting} e-mails wait in the outbox.")


def _report(result: RoundResult) -> None:
    for delivery in result.problems:
        err_console.print(
            f"E-mail {delivery.claim.id} to {delivery.claim.to_address}: "
            f"{delivery.outcome.value}: {delivery.reason}",
            markup=False,
            highlight=False,
        )
    if result.marked_uncertain:
        err_console.print(
            f"{result.marked_uncertain} e-mail(s) were claimed by a worker that never reported: "
            "marked uncertain; decide on the outbox page whether to resend them.",
            markup=False,
        )
    line = f"Sent {result.sent}, failed {result.not_sent}, waiting {result.waiting}."
    if result.uncertain:
        line += f" Uncertain {result.uncertain}."
    if result.unreachable:
        line += " The SMTP server is unreachable; stopped early."
    console.print(line, markup=False, highlight=False)


@app.command("send")
def send(lease: LeaseOption = service.DEFAULT_LEASE.total_seconds()) -> None:
    """Try every waiting e-mail once now (also given-up ones); exit 1 if any needs more care."""
    config = settings()
    require_database(config)
    with open_worker(config, lease=timedelta(seconds=lease)) as worker:
        if worker is None:
            _no_smtp()
        result = worker.run_round(ignore_schedule=True)
    _report(result)
    if result.waiting or result.not_sent or result.marked_uncertain:
        raise typer.Exit(1)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn SIGTERM and SIGINT into a request to stop after the current message."""
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.getsignal(sig) for sig in signals}
    for sig in signals:
        signal.signal(sig, lambda *_: stop.set())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@app.command("work")
def work(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit")
    ] = False,
    poll_seconds: Annotated[
        float,
        typer.Option(
            min=0.1, max=MAX_SECONDS, help="Seconds between looks for due e-mail when idle"
        ),
    ] = DEFAULT_POLL_SECONDS,
    lease: LeaseOption = service.DEFAULT_LEASE.total_seconds(),
) -> None:
    """Deliver the outbox until SIGTERM or SIGINT (or once, with --once)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = settings()
    require_database(config)
    with open_worker(config, lease=timedelta(seconds=lease)) as worker:
        if worker is None:
            _no_smtp()
        if once:
            _report(worker.run_round())
            return
        stop = threading.Event()
        with _stop_on_signals(stop):
            worker.run(stop, poll_seconds=poll_seconds)
    console.print("Mail worker stopped.")
