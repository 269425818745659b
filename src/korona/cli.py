"""The `korona` command line: one Typer app whose commands call services in a few lines."""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Annotated

import typer
from typer import _click as click  # the click that typer vendors and subclasses
from typer.core import TyperGroup

from korona.console import console, err_console, fail, require_database, settings, transaction

if TYPE_CHECKING:
    from korona.config import Settings

#: Command groups loaded only when one of their commands runs, so that `korona --help` and
#: every other command skip their imports (SQLAlchemy, polars, scipy …): name → (module, help).
LAZY_GROUPS = {
    "user": ("korona.auth.cli", "User accounts."),
    "surveillance": ("korona.surveillance.cli", "Sykdomspulsen: simulate, ingest, detect, run."),
    "portfolio": ("korona.portfolio.cli", "Koronaportefølje: matching, import and export."),
    "mail": ("korona.notify.cli", "E-mail outbox and its delivery worker."),
}
#: Modules whose commands join a lazy group when it loads; each has ``app`` and ``extend(module)``
#: (the weekly report needs the database, which korona.surveillance does not import).
LAZY_EXTENSIONS = {"surveillance": ("korona.surveillance_mail.cli",)}


class LazyGroup(TyperGroup):
    """The root command: lists the lazy groups by name and imports one only to run it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *LAZY_GROUPS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_GROUPS:
            # Enough for the help listing; resolve_command loads the real group to run it.
            return TyperGroup(name=cmd_name, help=LAZY_GROUPS[cmd_name][1])
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] in LAZY_GROUPS:
            module = importlib.import_module(LAZY_GROUPS[args[0]][0])
            group = typer.main.get_group(module.app)
            group.name = args[0]
            for name in LAZY_EXTENSIONS.get(args[0], ()):
                extension = importlib.import_module(name)
                extension.extend(module)
                for command_name, command in typer.main.get_group(extension.app).commands.items():
                    group.add_command(command, command_name)
            return args[0], group, args[1:]
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=LazyGroup,
    help="korona – koronaportefølje and Sykdomspulsen in one system.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to the newest schema (or to REVISION)."""
    from alembic.util import CommandError

    from korona.migrations import upgrade

    if not revision.strip():
        # Alembic fails an assertion on a blank revision instead of saying what is wrong.
        fail("--revision is empty: give a revision id, or head for the newest schema")
    config = settings()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(config.sqlalchemy_url, revision)
    except CommandError as error:  # an unknown or ambiguous revision
        fail(f"Cannot migrate to revision '{revision}': {error}")
    console.print(f"[green]Database at {revision}[/] ({_safe_url(config.sqlalchemy_url)})")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def demo(
    password: Annotated[
        str | None, typer.Option(help="Password for every demo user (default: generated)")
    ] = None,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Only load into an empty database")
    ] = False,
    surveillance: Annotated[
        bool,
        typer.Option(
            "--surveillance/--no-surveillance",
            help="Also fill an empty surveillance store (FHI covid-19 data, simulated signals)",
        ),
    ] = True,
) -> None:
    """Load the Norwegian demo data (idempotent) and print the demo logins."""
    from korona.auth import service as auth_service
    from korona.demo import generate_password, is_empty, load_demo

    config = settings()
    require_database(config)  # before the surveillance demo's minute of work
    if surveillance:
        _surveillance_demo(config)
    password_file = config.data_dir / "demo-password.txt"
    with transaction() as session:
        if if_empty and not is_empty(session=session):
            if password_file.exists():
                _print_logins(password_file.read_text().strip())
            else:
                console.print("Database has data already; demo not loaded.")
            return
        chosen = password or generate_password()
        auth_service.check_password_strength(chosen)
        result = load_demo(session=session, password=chosen, settings=config)
    password_file.write_text(chosen + "\n")
    password_file.chmod(0o600)
    console.print(
        f"[green]Demo loaded:[/] {result.organisations} organisations, "
        f"{len(result.users)} users, {result.needs_added} new needs, "
        f"{result.solutions_added} new solutions, {result.inputs_added} new inputs."
    )
    if result.reports is not None:
        source = "from the surveillance store" if result.reports.from_store else "(empty store)"
        state = "queued in the outbox" if result.reports.queued else "already in the outbox"
        console.print(f"Weekly report {result.reports.week} {source} {state}.", markup=False)
    _print_logins(chosen)


def _surveillance_demo(config: Settings) -> None:
    """Fill the surveillance store once, with a progress bar (see korona.demo.surveillance)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from korona.demo.surveillance import demo_steps, load_surveillance_demo
    from korona.surveillance.detect import DetectionError
    from korona.surveillance.geo import GeographyError
    from korona.surveillance.series import SeriesSetError
    from korona.surveillance.sources import IngestError
    from korona.surveillance.store import StoreError

    failures = (IngestError, GeographyError, StoreError, DetectionError, SeriesSetError, OSError)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("Sykdomspulsen demo", total=demo_steps())
        try:
            result = load_surveillance_demo(
                config,
                step=lambda text, done, _total: progress.update(
                    task, description=text, completed=done
                ),
            )
        except failures as error:
            fail(f"surveillance demo not loaded: {error}", code=2)
    if result.loaded:
        console.print(
            f"[green]Sykdomspulsen demo loaded[/] in {result.seconds:.0f} s: "
            f"{result.consultations:,} simulated consultations, {result.signals:,} signals."
        )
    else:
        console.print("Sykdomspulsen demo already in the store.")


def _print_logins(password: str) -> None:
    from rich.table import Table

    from korona.demo import DEMO_USERS

    table = Table(title="Demo logins (password for all: " + password + ")")
    table.add_column("E-mail")
    table.add_column("Role")
    for user in DEMO_USERS:
        table.add_row(user.email, ", ".join(role.value for role in user.roles))
    console.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    # Bounded: uvicorn accepted 99999999 without a word and failed on -1.
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port")] = 8000,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development)")] = False,
    mail_worker: Annotated[
        bool,
        typer.Option(
            "--mail-worker/--no-mail-worker",
            help="Deliver the outbox in a thread beside the server (needs KORONA_SMTP_HOST)",
        ),
    ] = True,
) -> None:
    """Serve the web app and API, with one mail delivery worker beside it."""
    import signal

    import uvicorn

    from korona.notify.worker import start_thread

    config = settings()  # fail early with a clear message on bad configuration
    require_database(config)
    worker = start_thread(config) if mail_worker else None
    if worker is not None:
        # uvicorn hands SIGTERM/SIGINT on to these handlers once it has shut down; the default
        # SIGTERM handler would kill the worker in the middle of a message.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: worker.stop_event.set())
        console.print("Mail worker started (one per server process).")
    elif mail_worker:
        console.print("No SMTP server set (KORONA_SMTP_HOST): e-mail stays in the outbox.")
    console.print(f"Serving korona on http://{host}:{port}")
    if notice := config.base_url_notice():
        console.print(notice)
    try:
        uvicorn.run(
            "korona.app:create_app",
            factory=True,
            host=host,
            port=port,
            reload=reload,
            proxy_headers=True,
            log_level="info",
        )
    finally:
        if worker is not None and not worker.stop():
            err_console.print("The mail worker did not stop in time.")


def main() -> None:
    """Entry point for `python -m korona`."""
    app(prog_name=os.environ.get("KORONA_PROG", "korona"))
