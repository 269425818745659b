"""Subscriptions: follow and stop following locations, who gets what, signed unsubscribe links."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.models import User
from korona.auth.permissions import Permission, Principal
from korona.auth.vocabulary import Role
from korona.db import utcnow
from korona.errors import N_, Forbidden, InvalidInput, NotFound
from korona.surveillance_mail.models import Subscription, SubscriptionKind

AUDIT_ENTITY = "subscription"
_LEVEL_ORDER = {"munici": 0, "county": 1, "norge": 2}
NO_KIND = N_("Choose the weekly report, alerts, or both.")


@dataclass(frozen=True)
class Followed:
    """One location a user follows for one kind; ``automatic``: their own municipality."""

    location_code: str
    kind: SubscriptionKind
    automatic: bool = False


@dataclass(frozen=True)
class Subscriber:
    """A user who gets surveillance e-mail, with what they follow (plain data)."""

    user_id: int
    email: str
    name: str
    language: str
    weekly: tuple[str, ...]
    alerts: tuple[str, ...]


def municipality_code(number: str) -> str:
    """Return the surveillance location code of a 4-digit municipality number."""
    return f"municip{number}"


def automatic_locations(user: User) -> list[str]:
    """Return what a user follows without asking: a municipal doctor's own municipality."""
    if Role.MUNICIPAL_DOCTOR in user.roles and user.municipality_number:
        return [municipality_code(user.municipality_number)]
    return []


def followed(user: User, *, session: Session) -> list[Followed]:
    """Return what the user follows now: active rows and automatic ones not stopped."""
    rows = session.scalars(select(Subscription).where(Subscription.user_id == user.id)).all()
    stated = {(row.location_code, row.kind): row.active for row in rows}
    automatic = set(automatic_locations(user))
    result = [
        Followed(code, kind, code in automatic) for (code, kind), active in stated.items() if active
    ]
    for code in automatic:
        for kind in SubscriptionKind:
            if (code, kind) not in stated:
                result.append(Followed(code, kind, True))
    return sorted(result, key=lambda f: (f.location_code, f.kind.value))


def _user(user_id: int, *, session: Session) -> User:
    """Return the user with this id, or raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("No user {id}."), id=user_id)
    return user


def user_for(principal: Principal, user_id: int, *, session: Session) -> User:
    """Return the user whose subscriptions the principal may see and change: their own, or
    (office) any."""
    if principal.user_id != user_id and not principal.can(Permission.SUBSCRIPTION_MANAGE):
        raise Forbidden(N_("You may only change your own subscriptions."))
    return _user(user_id, session=session)


def _set(
    principal: Principal,
    user: User,
    code: str,
    kind: SubscriptionKind,
    active: bool,
    *,
    session: Session,
) -> None:
    row = session.scalar(
        select(Subscription).where(
            Subscription.user_id == user.id,
            Subscription.location_code == code,
            Subscription.kind == kind,
        )
    )
    if row is None:
        row = Subscription(user_id=user.id, location_code=code, kind=kind, active=active)
        session.add(row)
        session.flush()
        audit.record_change(principal, AuditAction.CREATE, AUDIT_ENTITY, row, session=session)
        return
    if row.active == active:
        return
    before = audit.snapshot(row)
    row.active = active
    row.updated_at = utcnow()
    session.flush()
    audit.record_change(principal, AuditAction.UPDATE, AUDIT_ENTITY, row, before, session=session)


def follow(
    principal: Principal,
    user_id: int,
    location_code: str,
    kinds: Collection[SubscriptionKind],
    *,
    session: Session,
    known: Collection[str],
) -> None:
    """Follow a location (municipality, county or the nation) for the given kinds; audited."""
    user = user_for(principal, user_id, session=session)
    if location_code not in known:
        raise InvalidInput(
            N_("Unknown location {code}."), field="location_code", code=location_code
        )
    if not kinds:
        raise InvalidInput(NO_KIND, field="kinds")
    for kind in kinds:
        _set(principal, user, location_code, kind, True, session=session)


def unfollow(
    principal: Principal,
    user_id: int,
    location_code: str,
    kind: SubscriptionKind,
    *,
    session: Session,
) -> None:
    """Stop following a location for one kind (kept as stopped, so automatic ones stay off)."""
    user = user_for(principal, user_id, session=session)
    _set(principal, user, location_code, kind, False, session=session)


def following(user_id: int, kind: SubscriptionKind, *, session: Session) -> list[str]:
    """Return the locations a user follows for one kind (what the signed link would stop)."""
    user = _user(user_id, session=session)
    return [f.location_code for f in followed(user, session=session) if f.kind == kind]


def unsubscribe(user_id: int, kind: SubscriptionKind, *, session: Session) -> int:
    """Stop every location of one kind for a user (the signed link); return how many stopped."""
    user = _user(user_id, session=session)
    principal = Principal(user_id=user.id, email=user.email, name=user.name)
    current = [f for f in followed(user, session=session) if f.kind == kind]
    for item in current:
        _set(principal, user, item.location_code, kind, False, session=session)
    return len(current)


def subscribers(*, session: Session) -> list[Subscriber]:
    """Return every active user who follows something, with their weekly and alert locations."""
    users = session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.id)).unique()
    result = []
    for user in users:
        # Own municipality first, then other municipalities, counties, the nation.
        items = sorted(
            followed(user, session=session),
            key=lambda f: (
                not f.automatic,
                _LEVEL_ORDER.get(f.location_code[:6], 3),
                f.location_code,
            ),
        )
        weekly = tuple(f.location_code for f in items if f.kind == SubscriptionKind.WEEKLY_REPORT)
        alerts = tuple(f.location_code for f in items if f.kind == SubscriptionKind.ALERTS)
        if weekly or alerts:
            result.append(
                Subscriber(user.id, user.email, user.name, user.language or "nb", weekly, alerts)
            )
    return result


def _signature(secret_key: str, user_id: int, kind: SubscriptionKind) -> str:
    message = f"korona-unsubscribe:{user_id}:{kind.value}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def unsubscribe_path(secret_key: str, user_id: int, kind: SubscriptionKind) -> str:
    """Return the signed path that stops one kind of e-mail for a user, without a login."""
    return (
        f"/subscriptions/unsubscribe/{user_id}/{kind.value}/{_signature(secret_key, user_id, kind)}"
    )


def signature_valid(secret_key: str, user_id: int, kind: SubscriptionKind, signature: str) -> bool:
    """Return whether an unsubscribe link's signature was made with this server's key."""
    return hmac.compare_digest(_signature(secret_key, user_id, kind), signature)


def kinds_from(values: Sequence[str]) -> list[SubscriptionKind]:
    """Return the subscription kinds named in a form, refusing unknown names."""
    try:
        return [SubscriptionKind(value) for value in values]
    except ValueError:
        raise InvalidInput(
            N_("Choose the weekly report, alerts, or both."), field="kinds"
        ) from None
