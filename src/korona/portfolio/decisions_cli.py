"""`korona portfolio remind-reviews` and `korona portfolio report`: decisions and measures."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from korona.console import console, fail, settings, transaction


def remind_reviews(
    today: Annotated[
        str | None,
        typer.Option(help="Treat this ISO date as today (default: the real date)"),
    ] = None,
) -> None:
    """Queue a reminder to the reporter of every need past its review date (once per date).

    Idempotent: a need is reminded once for each review date, so the command can run from
    cron every day (see docs/operations.md).
    """
    from sqlalchemy.exc import IntegrityError

    from korona.portfolio.measure.notices import remind_reviews as remind

    try:
        day = date.fromisoformat(today) if today else date.today()
    except ValueError:
        fail(f"--today must be an ISO date (YYYY-MM-DD), not {today!r}", code=2)
    config = settings()
    try:
        with transaction(config) as session:
            sent = remind(session, today=day, base_url=config.base_url)
    except IntegrityError:
        # Another run reminded the same needs at the same moment; its reminders stand.
        fail("another remind-reviews run was sending the same reminders; nothing sent twice")
    console.print(f"{sent} review reminder(s) queued in the outbox")


def register(app: typer.Typer) -> None:
    """Add this feature's commands to `korona portfolio`."""
    app.command("remind-reviews")(remind_reviews)
