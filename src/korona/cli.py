"""The `korona` command line: one Typer app whose commands call services in a few lines."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from korona.auth import service as auth_service
from korona.auth.models import Organisation, Role
from korona.console import CLI, console, err_console, fail, settings, transaction
from korona.notify.cli import app as mail_app
from korona.portfolio.cli import app as portfolio_app
from korona.surveillance.cli import app as surveillance_app

app = typer.Typer(
    help="korona – koronaportefølje and Sykdomspulsen in one system.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to the newest schema (or to REVISION)."""
    from korona.migrations import upgrade

    config = settings()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(config.sqlalchemy_url, revision)
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
) -> None:
    """Load the Norwegian demo data (idempotent) and print the demo logins."""
    from korona.demo import generate_password, is_empty, load_demo

    config = settings()
    password_file = config.data_dir / "demo-password.txt"
    with transaction() as session:
        if if_empty and not is_empty(session):
            if password_file.exists():
                _print_logins(password_file.read_text().strip())
            else:
                console.print("Database has data already; demo not loaded.")
            return
        chosen = password or generate_password()
        auth_service.check_password_strength(chosen)
        result = load_demo(session, password=chosen)
    password_file.write_text(chosen + "\n")
    password_file.chmod(0o600)
    console.print(
        f"[green]Demo loaded:[/] {result.organisations} organisations, "
        f"{len(result.users)} users, {result.needs_added} new needs, "
        f"{result.solutions_added} new solutions, {result.inputs_added} new inputs."
    )
    _print_logins(chosen)


def _print_logins(password: str) -> None:
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
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
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


@user_app.command("add")
def user_add(
    email: str,
    name: Annotated[str, typer.Option(help="Full name")],
    role: Annotated[list[Role], typer.Option(help="Role; repeat for several")],
    organisation: Annotated[str | None, typer.Option(help="Organisation name (must exist)")] = None,
    municipality: Annotated[
        str | None, typer.Option(help="Municipality number (municipal doctors)")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(help="Password (prompted if omitted)", envvar="KORONA_NEW_USER_PASSWORD"),
    ] = None,
) -> None:
    """Create a user with one or more roles."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with transaction() as session:
        org = None
        if organisation is not None:
            org = session.scalar(select(Organisation).where(Organisation.name == organisation))
            if org is None:
                fail(f"No organisation named '{organisation}'")
        user = auth_service.create_user(
            session,
            CLI,
            email=email,
            name=name,
            password=password,
            roles=role,
            organisation=org,
            municipality_number=municipality,
        )
        console.print(f"[green]Created[/] {user.email} ({', '.join(sorted(user.roles))})")


@user_app.command("token")
def user_token(
    email: str,
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
) -> None:
    """Print a new API token for the user (shown once; only its hash is stored)."""
    with transaction() as session:
        user = auth_service.get_user_by_email(session, email)
        if user is None:
            fail(f"No user with e-mail {email}")
        token = auth_service.create_api_token(session, CLI, user.id, name=name)
    typer.echo(token)


app.add_typer(surveillance_app, name="surveillance")
app.add_typer(portfolio_app, name="portfolio")
app.add_typer(mail_app, name="mail")


def main() -> None:
    """Entry point for `python -m korona`."""
    app(prog_name=os.environ.get("KORONA_PROG", "korona"))
