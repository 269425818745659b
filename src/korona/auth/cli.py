"""`korona user …`: create, invite, deactivate users and make API tokens from the console."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.auth import admin
from korona.auth import service as auth_service
from korona.auth import tokens as auth_tokens
from korona.auth.models import Organisation, Role
from korona.console import CLI, console, fail, settings, transaction

app = typer.Typer(help="User accounts.", no_args_is_help=True)

FullName = Annotated[str, typer.Option(help="Full name")]
Roles = Annotated[list[Role], typer.Option(help="Role; repeat for several")]
OrganisationName = Annotated[str | None, typer.Option(help="Organisation name (must exist)")]
MunicipalityNumber = Annotated[
    str | None, typer.Option(help="Municipality number (municipal doctors)")
]


def _organisation(name: str | None, *, session: Session) -> Organisation | None:
    if name is None:
        return None
    org = session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        fail(f"No organisation named '{name}'")
    return org


@app.command("add")
def user_add(
    email: str,
    name: FullName,
    role: Roles,
    organisation: OrganisationName = None,
    municipality: MunicipalityNumber = None,
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
        org = _organisation(organisation, session=session)
        user = auth_service.create_user(
            CLI,
            session=session,
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
        token = auth_tokens.create_api_token(
            CLI, _user_id(email, session=session), session=session, name=name
        )
    typer.echo(token)


def _user_id(email: str, *, session: Session) -> int:
    user = auth_service.get_user_by_email(email, session=session)
    if user is None:
        fail(f"No user with e-mail {email}")
    return user.id


@app.command("invite")
def user_invite(
    email: str,
    name: FullName,
    role: Roles,
    organisation: OrganisationName = None,
    municipality: MunicipalityNumber = None,
) -> None:
    """Create a user without a password and queue an invitation with a set-password link."""
    with transaction() as session:
        org = _organisation(organisation, session=session)
        change = admin.UserChange(
            name=name,
            roles=frozenset(role),
            organisation_id=org.id if org is not None else None,
            municipality_number=municipality,
        )
        user = admin.invite_user(
            CLI, change, session=session, email=email, base_url=settings().base_url
        )
        console.print(f"[green]Invited[/] {user.email}: the invitation is in the outbox")


@app.command("deactivate")
def user_deactivate(email: str) -> None:
    """Deactivate a user: their sessions, API tokens and set-password links end at once."""
    with transaction() as session:
        admin.deactivate_user(CLI, _user_id(email, session=session), session=session)
    console.print(f"[green]Deactivated[/] {email}")


@app.command("reactivate")
def user_reactivate(email: str) -> None:
    """Let a deactivated user log in again."""
    with transaction() as session:
        admin.reactivate_user(CLI, _user_id(email, session=session), session=session)
    console.print(f"[green]Reactivated[/] {email}")


@app.command("reset-password")
def user_reset_password(email: str) -> None:
    """Queue an e-mail with a new set-password link (earlier links stop working)."""
    with transaction() as session:
        expires = admin.send_password_reset(
            CLI, _user_id(email, session=session), session=session, base_url=settings().base_url
        )
    until = f"{expires:%Y-%m-%d %H:%M} UTC"
    console.print(f"[green]Queued[/] a set-password link for {email}, valid until {until}")
