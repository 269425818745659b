"""User administration by the portfolio office: invite, edit, deactivate, reset passwords."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth import service as auth_service
from korona.auth import tokens as auth_tokens
from korona.auth.models import ApiToken, Organisation, PasswordLink, Role, User, UserRole
from korona.auth.permissions import Principal, principal_for
from korona.auth.security import hash_password, new_token, token_hash
from korona.db import utcnow
from korona.errors import N_, Conflict, InvalidInput, NotFound
from korona.notify import service as notify
from korona.validation import check_municipality_number

_OSLO = ZoneInfo("Europe/Oslo")


class LinkPurpose(StrEnum):
    """Why a set-password link was sent."""

    INVITATION = "invitation"
    RESET = "reset"


#: How long a link stays usable: an invitation may wait over a weekend, a reset is asked for.
LINK_LIFETIME = {LinkPurpose.INVITATION: timedelta(days=3), LinkPurpose.RESET: timedelta(hours=24)}

#: The e-mail each link comes in, per language: (subject, body) with {name}, {url}, {expires}.
_MAIL = {
    (LinkPurpose.INVITATION, "nb"): (
        "Du er invitert til koronaporteføljen",
        "Hei {name},\n\nPorteføljekontoret har opprettet en bruker til deg i koronaporteføljen "
        "({email}).\n\nVelg ditt passord her:\n{url}\n\nLenken kan brukes én gang og gjelder "
        "til {expires}. Etterpå logger du inn med e-postadressen og passordet.\n\n"
        "Vennlig hilsen\nkoronaporteføljen, porteføljekontoret",
    ),
    (LinkPurpose.INVITATION, "en"): (
        "You are invited to the koronaportefølje",
        "Hello {name},\n\nThe portfolio office has created a user for you in the "
        "koronaportefølje ({email}).\n\nChoose your password here:\n{url}\n\nThe link works once "
        "and until {expires}. Then log in with your e-mail address and password.\n\n"
        "Kind regards\nThe koronaportefølje portfolio office",
    ),
    (LinkPurpose.RESET, "nb"): (
        "Nytt passord i koronaporteføljen",
        "Hei {name},\n\nPorteføljekontoret har bedt om at du velger et nytt passord for "
        "{email}.\n\nVelg passordet her:\n{url}\n\nLenken kan brukes én gang og gjelder til "
        "{expires}.\n\nVennlig hilsen\nkoronaporteføljen, porteføljekontoret",
    ),
    (LinkPurpose.RESET, "en"): (
        "New password for the koronaportefølje",
        "Hello {name},\n\nThe portfolio office asks you to choose a new password for "
        "{email}.\n\nChoose it here:\n{url}\n\nThe link works once and until {expires}.\n\n"
        "Kind regards\nThe koronaportefølje portfolio office",
    ),
}


@dataclass(frozen=True)
class UserChange:
    """What the office sets on a user: name, roles, organisation and municipality."""

    name: str
    roles: frozenset[Role]
    organisation_id: int | None = None
    municipality_number: str | None = None


def password_link_url(base_url: str, token: str) -> str:
    """Return the full set-password link of a token."""
    return f"{base_url.rstrip('/')}/password/{token}"


def _organisation(organisation_id: int | None, *, session: Session) -> Organisation | None:
    if organisation_id is None:
        return None
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise InvalidInput(N_("No such organisation"), field="organisation_id")
    return organisation


def get_user(user_id: int, *, session: Session) -> User:
    """Return a user or raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("No such user"))
    return user


def invite_user(
    actor: Principal, change: UserChange, *, session: Session, email: str, base_url: str
) -> User:
    """Create a user without a password and e-mail them a link to choose one."""
    user = auth_service.create_user(
        actor,
        session=session,
        email=email,
        name=change.name,
        password=None,
        roles=change.roles,
        organisation=_organisation(change.organisation_id, session=session),
        municipality_number=check_municipality_number(change.municipality_number),
    )
    send_password_link(actor, user, LinkPurpose.INVITATION, session=session, base_url=base_url)
    return user


def update_user(actor: Principal, user_id: int, change: UserChange, *, session: Session) -> User:
    """Change a user's name, roles, organisation and municipality number."""
    user = get_user(user_id, session=session)
    if not change.roles:
        raise InvalidInput(N_("A user needs at least one role"), field="roles")
    organisation = _organisation(change.organisation_id, session=session)
    municipality = check_municipality_number(change.municipality_number)
    if municipality is None and organisation is not None:
        municipality = organisation.municipality_number
    if Role.MUNICIPAL_DOCTOR in change.roles and municipality is None:
        raise InvalidInput(
            N_("A municipal doctor must be tied to a municipality"), field="municipality_number"
        )
    if user.id == actor.user_id and Role.PORTFOLIO_OFFICE not in change.roles:
        # Otherwise the last office user could lock everyone out of user administration.
        raise Conflict(
            N_("You cannot remove the portfolio office role from yourself"), field="roles"
        )
    before = _summary(user)
    user.name = change.name.strip() or user.email
    user.organisation = organisation
    user.municipality_number = municipality
    current = user.roles
    user.role_rows = [row for row in user.role_rows if row.role in change.roles] + [
        UserRole(role=role) for role in sorted(change.roles - current)
    ]
    session.flush()
    after = _summary(user)
    if before != after:
        _record(actor, user, before, after, session=session)
    return user


def _record(
    actor: Principal,
    user: User,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    *,
    session: Session,
    action: AuditAction = AuditAction.UPDATE,
) -> None:
    """Write the audit row of a change to a user."""
    audit.record(actor, action, "user", user.id, session=session, before=before, after=after)


def _summary(user: User) -> dict[str, object]:
    return {
        "name": user.name,
        "organisation_id": user.organisation_id,
        "municipality_number": user.municipality_number,
        "roles": sorted(role.value for role in user.roles),
    }


def deactivate_user(actor: Principal, user_id: int, *, session: Session) -> User:
    """Deactivate a user: their sessions, API tokens and set-password links end at once."""
    user = get_user(user_id, session=session)
    if user.id == actor.user_id:
        raise Conflict(N_("You cannot deactivate yourself"))
    if not user.is_active:
        return user
    now = utcnow()
    user.is_active = False
    auth_tokens.revoke_all_sessions(user, session=session)
    tokens = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount  # type: ignore[attr-defined]
    _spend_links(user, now, session=session)
    after = {"is_active": False, "api_tokens_revoked": tokens}
    _record(actor, user, {"is_active": True}, after, session=session)
    return user


def reactivate_user(actor: Principal, user_id: int, *, session: Session) -> User:
    """Let a deactivated user log in again (their old sessions and tokens stay ended)."""
    user = get_user(user_id, session=session)
    if user.is_active:
        return user
    user.is_active = True
    _record(actor, user, {"is_active": False}, {"is_active": True}, session=session)
    return user


def send_password_link(
    actor: Principal, user: User, purpose: LinkPurpose, *, session: Session, base_url: str
) -> datetime:
    """Queue an e-mail with a fresh set-password link (earlier ones stop); return its expiry."""
    if not user.is_active:
        raise Conflict(N_("The user is deactivated; reactivate the user first"))
    now = utcnow()
    _spend_links(user, now, session=session)
    token = new_token()
    link = PasswordLink(
        token_hash=token_hash(token),
        user_id=user.id,
        purpose=purpose.value,
        created_at=now,
        expires_at=now + LINK_LIFETIME[purpose],
    )
    session.add(link)
    session.flush()
    language = user.language if (purpose, user.language) in _MAIL else "nb"
    subject, body = _MAIL[(purpose, language)]
    expires = link.expires_at.astimezone(_OSLO).strftime("%d.%m.%Y %H:%M")
    notify.queue(
        session=session,
        to=user.email,
        subject=subject,
        body=body.format(
            name=user.name,
            email=user.email,
            url=password_link_url(base_url, token),
            expires=expires,
        ),
    )
    audit.record(
        actor,
        AuditAction.CREATE,
        "password_link",
        link.id,
        session=session,
        after={
            "user_id": user.id,
            "purpose": purpose.value,
            "expires_at": link.expires_at.isoformat(),
        },
    )
    return link.expires_at


def send_password_reset(
    actor: Principal, user_id: int, *, session: Session, base_url: str
) -> datetime:
    """E-mail a user a link to choose a new password; return when it expires."""
    user = get_user(user_id, session=session)
    return send_password_link(actor, user, LinkPurpose.RESET, session=session, base_url=base_url)


def _spend_links(user: User, now: datetime, *, session: Session) -> None:
    session.execute(
        update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
        .values(used_at=now)
    )


def open_password_link(token: str, *, session: Session) -> PasswordLink:
    """Return the live link of a token, or raise NotFound (unknown, used, expired, deactivated)."""
    link = session.scalar(select(PasswordLink).where(PasswordLink.token_hash == token_hash(token)))
    if (
        link is None
        or link.used_at is not None
        or link.expires_at <= utcnow()
        or not link.user.is_active
    ):
        raise NotFound(
            N_("This link is used, expired or unknown. Ask the portfolio office for a new one.")
        )
    return link


def use_password_link(token: str, password: str, *, session: Session) -> User:
    """Set the password through a link (which is spent), ending the user's other sessions."""
    link = open_password_link(token, session=session)
    user = link.user
    auth_service.check_password_strength(password, user_inputs=(user.email, user.name))
    user.password_hash = hash_password(password)
    auth_tokens.revoke_all_sessions(user, session=session)
    _spend_links(user, utcnow(), session=session)
    after = {"via": link.purpose}
    _record(principal_for(user), user, None, after, session=session, action=AuditAction.PASSWORD)
    return user


@dataclass(frozen=True)
class UserRow:
    """A user as the office's list shows it: the user and whether an invitation is pending."""

    user: User
    invited: bool


def list_user_rows(*, session: Session) -> Sequence[UserRow]:
    """Return every user with whether they still have to choose a password."""
    return [
        UserRow(user, user.password_hash is None)
        for user in auth_service.list_users(session=session)
    ]
