"""`korona mail send`: deliver the outbox now, also messages that failed many times."""

from __future__ import annotations

import typer

from korona.console import console, fail, settings, transaction
from korona.notify import service

app = typer.Typer(help="E-mail outbox.", no_args_is_help=True)


@app.callback()
def mail() -> None:
    """E-mail outbox: korona mail send."""


@app.command("send")
def send() -> None:
    """Try to send every waiting e-mail; exit 1 if some are still waiting afterwards."""
    config = settings()
    sender = service.sender_for(config)
    with transaction(config) as session:
        if sender is None:
            waiting = len(service.pending(session, include_exhausted=True))
            fail(f"No SMTP server is set (KORONA_SMTP_HOST); {waiting} e-mails wait in the outbox.")
        result = service.deliver(session, sender, config.mail_from, include_exhausted=True)
    console.print(f"Sent {result.sent}, failed {result.failed}, waiting {result.waiting}.")
    if result.waiting:
        raise typer.Exit(1)
