"""`korona portfolio remind-reviews` and `korona portfolio report`: decisions and measures."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from korona.console import console, fail, settings, transaction
from korona.files import write_atomically
from korona.validation import MAX_ROW_ID


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
            sent = remind(session=session, today=day, base_url=config.base_url)
    except IntegrityError:
        # Another run reminded the same needs at the same moment; its reminders stand.
        fail("another remind-reviews run was sending the same reminders; nothing sent twice")
    console.print(f"{sent} review reminder(s) queued in the outbox")


def report(
    meeting: Annotated[
        int, typer.Option("--meeting", min=1, max=MAX_ROW_ID, help="The meeting's id")
    ],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="Where to write the PDF")],
) -> None:
    """Write the committee's case document "Koronaporteføljen og fremdriftstatus" (PDF)."""
    from korona.portfolio.netlist.report import build_report

    if out.parent and not out.parent.is_dir():
        fail(f"the folder {out.parent} does not exist", code=2)
    with transaction(settings()) as session:
        pdf = build_report(meeting, session=session)
    write_atomically(out, lambda path: path.write_bytes(pdf))
    console.print(f"wrote {out} ({len(pdf) // 1024} KiB)")


def register(app: typer.Typer) -> None:
    """Add this feature's commands to `korona portfolio`."""
    app.command("remind-reviews")(remind_reviews)
    app.command("report")(report)
