"""`korona user …`: create users and API tokens from the console."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from korona.auth import service as auth_service
from korona.auth.models import Organisation, Role
from korona.console import CLI, console, fail, settings, transaction

app = typer.Typer(help="User accounts.", no_args_is_help=True)


@app.command("add")
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
    if municipality is not None:
        from korona import municipalities
        from korona.errors import InvalidInput

        try:
            municipalities.load(settings().reference_dir).check(municipality)
        except InvalidInput as error:
            fail(error.text)
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


@app.command("token")
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
