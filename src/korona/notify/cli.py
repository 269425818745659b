"""`korona mail send`: deliver the outbox now, also messages that failed many times."""

from __future__ import annotations

import typer
from rich.console import Console

import korona.models  # noqa: F401 - every table must be known before the first session
from korona.config import Settings
from korona.db import make_engine, make_sessionmaker, unit_of_work
from korona.notify import service

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(help="E-mail outbox.", no_args_is_help=True)


@app.callback()
def mail() -> None:
    """E-mail outbox: korona mail send."""


@app.command("send")
def send() -> None:
    """Try to send every waiting e-mail; exit 1 if some are still waiting afterwards."""
    settings = Settings()
    sender = service.sender_for(settings)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            if sender is None:
                waiting = len(service.pending(session, include_exhausted=True))
                err_console.print(
                    f"No SMTP server is set (KORONA_SMTP_HOST); {waiting} e-mails wait in the "
                    "outbox."
                )
                raise typer.Exit(1)
            result = service.deliver(session, sender, settings.mail_from, include_exhausted=True)
    finally:
        engine.dispose()
    console.print(f"Sent {result.sent}, failed {result.failed}, waiting {result.waiting}.")
    if result.waiting:
        raise typer.Exit(1)
