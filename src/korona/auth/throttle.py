"""Login throttling: a sliding window of failed logins per account and per client address."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from korona.auth.models import LoginFailure
from korona.db import utcnow


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failed logins a window allows before further attempts are refused."""

    window: timedelta = timedelta(minutes=15)
    per_account: int = 5
    #: Higher than per account: several people may share an office's address.
    per_address: int = 20


POLICY = ThrottlePolicy()


@dataclass(frozen=True)
class Attempt:
    """A login attempt admitted or refused by the throttle."""

    id: int | None
    wait: timedelta | None = None

    @property
    def refused(self) -> bool:
        """Return whether the attempt must be refused without looking at the password."""
        return self.wait is not None

    @property
    def wait_minutes(self) -> int:
        """Return the whole minutes until the next attempt may be made (at least 1)."""
        return max(1, math.ceil((self.wait or timedelta()).total_seconds() / 60))


def begin_attempt(
    engine: Engine, email: str, address: str, *, policy: ThrottlePolicy = POLICY
) -> Attempt:
    """Record an attempt as a failure first, then admit it only if the window has room.

    The row is committed in its own short transaction before the count, so that parallel
    attempts (in any server process) see each other: of n simultaneous attempts at most the
    allowance are admitted. A refused attempt removes its row again (it guessed nothing).
    A successful login later deletes the account's rows (``clear_account``).
    """
    now = utcnow()
    since = now - policy.window
    with engine.begin() as connection:
        connection.execute(delete(LoginFailure).where(LoginFailure.failed_at <= since))
        attempt_id = connection.execute(
            insert(LoginFailure)
            .values(email=email, address=address, failed_at=now)
            .returning(LoginFailure.id)
        ).scalar_one()
    with engine.begin() as connection:
        waits = [
            _room_again(connection, key, attempt_id, allowance, policy.window, since)
            for key, allowance in (
                (LoginFailure.email == email, policy.per_account),
                (LoginFailure.address == address, policy.per_address),
            )
        ]
        refused = [moment for moment in waits if moment is not None]
        if not refused:
            return Attempt(attempt_id)
        connection.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id))
    return Attempt(None, wait=max(refused) - now)


def _room_again(
    connection: Connection,
    key: ColumnElement[bool],
    own_id: int,
    allowance: int,
    window: timedelta,
    since: datetime,
) -> datetime | None:
    """Return when the window has room again, or None if this attempt fits in it now."""
    earlier = (
        select(LoginFailure.failed_at)
        .where(key, LoginFailure.id != own_id, LoginFailure.failed_at > since)
        .order_by(LoginFailure.failed_at.desc())
    )
    # One statement, so rows other attempts delete meanwhile cannot split count and lookup.
    newest = connection.scalars(earlier.limit(allowance)).all()
    if len(newest) < allowance:
        return None
    # There is room again once the allowance-th newest earlier failure leaves the window.
    oldest_counted = newest[-1]
    return oldest_counted + window


def clear_account(session: Session, email: str) -> None:
    """Forget an account's failed logins after it logged in.

    Failures against other accounts from the same address stay, so logging in to one's own
    account between guesses does not reset the address's count.
    """
    session.execute(delete(LoginFailure).where(LoginFailure.email == email))
