"""Account use cases: users, organisations, passwords and logging in.

Login sessions and API tokens live in ``auth.tokens``; their names are available here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth import throttle
from korona.auth.models import (
    Organisation,
    OrganisationKind,
    Role,
    Sector,
    User,
    UserRole,
)
from korona.auth.permissions import Principal
from korona.auth.security import (
    MIN_PASSWORD_LENGTH,
    MIN_PASSWORD_SCORE,
    hash_password,
    needs_rehash,
    password_score,
    verify_password,
)
from korona.auth.tokens import revoke_all_sessions
from korona.errors import N_, Conflict, InvalidInput
from korona.validation import check_municipality_number

SYSTEM = Principal()


def normalise_email(email: str) -> str:
    """Return the e-mail address in canonical form or raise InvalidInput."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise InvalidInput(
            N_("'{email}' is not a valid e-mail address"), field="email", email=email
        ) from error


def check_password_strength(password: str, *, user_inputs: Iterable[str] = ()) -> None:
    """Refuse passwords that are too short or easy to guess (common, patterned, personal)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            N_("The password must have at least {length} characters"),
            field="password",
            length=MIN_PASSWORD_LENGTH,
        )
    if password_score(password, _personal_words(user_inputs)) < MIN_PASSWORD_SCORE:
        raise InvalidInput(
            N_(
                "The password is too easy to guess. Avoid common words, names, dates and "
                "patterns; a few unrelated words make a good password."
            ),
            field="password",
        )


def _personal_words(user_inputs: Iterable[str]) -> list[str]:
    """Return the user's details and their parts (e-mail local part, name words) for zxcvbn."""
    words = ["korona", "koronaportefølje"]
    for value in user_inputs:
        words.append(value)
        words.extend(part for part in re.split(r"[\s@._+-]+", value) if len(part) > 2)
    return words


def get_or_create_organisation(
    *,
    session: Session,
    name: str,
    kind: OrganisationKind,
    sector: Sector,
    municipality_number: str | None = None,
    external_ref: str | None = None,
) -> Organisation:
    """Return the organisation with this name, creating it if missing."""
    existing = session.scalar(select(Organisation).where(Organisation.name == name))
    if existing is not None:
        return existing
    organisation = Organisation(
        name=name,
        kind=kind,
        sector=sector,
        municipality_number=check_municipality_number(municipality_number),
        external_ref=external_ref,
    )
    session.add(organisation)
    session.flush()
    audit.record(
        SYSTEM,
        AuditAction.CREATE,
        "organisation",
        organisation.id,
        session=session,
        after=audit.snapshot(organisation),
    )
    return organisation


def list_organisations(*, session: Session) -> Sequence[Row[int, str]]:
    """Return the id and name of every organisation, by name: the choices of forms and filters.

    Two columns, not entities: the needs pages ask on every visit.
    """
    return session.execute(
        select(Organisation.id, Organisation.name).order_by(Organisation.name)
    ).all()


def get_user_by_email(email: str, *, session: Session) -> User | None:
    """Return the user with this e-mail address, if any."""
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(
    actor: Principal,
    *,
    session: Session,
    email: str,
    name: str,
    password: str | None,
    roles: Iterable[Role],
    organisation: Organisation | None = None,
    municipality_number: str | None = None,
) -> User:
    """Create a user with roles; refuse duplicates, weak passwords, doctors without municipality."""
    address = normalise_email(email)
    if get_user_by_email(address, session=session) is not None:
        raise Conflict(
            N_("A user with e-mail {email} already exists"), field="email", email=address
        )
    if password is not None:
        check_password_strength(password, user_inputs=(address, name))
    role_set = set(roles)
    if not role_set:
        raise InvalidInput(N_("A user needs at least one role"), field="roles")
    municipality_number = check_municipality_number(municipality_number)
    if municipality_number is None and organisation is not None:
        municipality_number = organisation.municipality_number
    if Role.MUNICIPAL_DOCTOR in role_set and municipality_number is None:
        raise InvalidInput(
            N_("A municipal doctor must be tied to a municipality"), field="municipality_number"
        )
    user = User(
        email=address,
        name=name.strip() or address,
        password_hash=hash_password(password) if password else None,
        organisation=organisation,
        municipality_number=municipality_number,
        role_rows=[UserRole(role=role) for role in sorted(role_set)],
    )
    session.add(user)
    session.flush()
    audit.record(
        actor,
        AuditAction.CREATE,
        "user",
        user.id,
        session=session,
        after=audit.snapshot(user, exclude={"password_hash"}) | {"roles": sorted(role_set)},
    )
    return user


def set_password(actor: Principal, user: User, password: str, *, session: Session) -> None:
    """Set a new password and revoke every session and token of the user's sessions."""
    check_password_strength(password, user_inputs=(user.email, user.name))
    user.password_hash = hash_password(password)
    revoke_all_sessions(user, session=session)
    audit.record(actor, AuditAction.PASSWORD, "user", user.id, session=session)


def change_password(principal: Principal, *, session: Session, current: str, new: str) -> None:
    """Change the caller's own password after checking the current one."""
    user = session.get(User, principal.user_id) if principal.user_id is not None else None
    if user is None:
        raise InvalidInput(N_("You must be logged in"))
    if not verify_password(user.password_hash, current):
        raise InvalidInput(N_("The current password is wrong"), field="current_password")
    set_password(principal, user, new, session=session)


def authenticate(email: str, password: str, *, session: Session) -> User | None:
    """Return the active user with these credentials, or None (same work either way)."""
    user = get_user_by_email(email, session=session)
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        return None
    if user.password_hash is not None and needs_rehash(user.password_hash):
        # Made with older hash settings: store it with today's (the same password).
        user.password_hash = hash_password(password)
    return user


@dataclass(frozen=True)
class LoginOutcome:
    """The result of a login attempt: the user, or why not (throttled: wait before retrying)."""

    user: User | None
    throttled: throttle.Attempt | None = None


def log_in(
    email: str,
    password: str,
    *,
    session: Session,
    address: str,
    policy: throttle.ThrottlePolicy = throttle.POLICY,
) -> LoginOutcome:
    """Check credentials under the login throttle; while locked out even the right password fails.

    Every attempt counts for the account and the client address while its password is
    checked and as a failure once it is wrong; a success forgets the account's failures
    (in the caller's transaction).
    """
    key = email.strip().lower()[:254]
    attempt = throttle.begin_attempt(session.get_bind(), key, address[:64], policy=policy)  # type: ignore[arg-type]
    if attempt.refused:
        return LoginOutcome(None, throttled=attempt)
    user = authenticate(email, password, session=session)
    if user is None:
        throttle.settle(session.get_bind(), attempt.id)  # type: ignore[arg-type]
    else:
        throttle.clear_account(key, attempt.id, session=session)
    return LoginOutcome(user)


def list_users(*, session: Session) -> Sequence[User]:
    """Return all users by e-mail."""
    return session.scalars(select(User).order_by(User.email)).all()
