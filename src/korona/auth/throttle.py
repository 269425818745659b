"""Login throttling: a sliding window of failed logins per account and per client address."""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, delete, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from korona.auth.models import LoginFailure
from korona.db import on_commit, utcnow


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failed logins a window allows before further attempts are refused."""

    window: timedelta = timedelta(minutes=15)
    per_account: int = 5
    #: Higher than per account: several people may share an office's address.
    per_address: int = 20
    #: The longest an attempt waits for others still checking their passwords (then refused).
    max_wait: timedelta = timedelta(seconds=10)
    #: How soon a waiting attempt first looks again (then twice as long each time, up to 1 s),
    #: unless an attempt in its own process finishes first and wakes it.
    poll: timedelta = timedelta(milliseconds=200)
    #: An unsettled row older than this belongs to a crashed attempt: it counts as a failure.
    stale: timedelta = timedelta(minutes=1)
    #: How often a process deletes rows that have left the window (they no longer count).
    cleanup: timedelta = timedelta(minutes=1)


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
    """Record an attempt (unsettled) first, then admit it only if the window has room.

    The row is committed in its own short transaction before the count, so that parallel
    attempts (in any server process) see each other: of n simultaneous attempts at most the
    allowance are admitted. A refused attempt removes its row again (it guessed nothing).
    The caller settles the row when the password is wrong (``settle``); a successful login
    deletes the account's rows (``clear_account``).

    Attempts still checking a password count like failures, but they are not failures yet:
    a burst of correct logins from one address (an office behind NAT, a load test on
    loopback) would otherwise be refused only because the others had not finished. So a
    refusal is final at once only if settled failures alone fill an allowance; if attempts
    in flight are needed to fill it, the attempt waits (no transaction open) and counts
    again. The allowance is never exceeded; only a refusal can come later (``max_wait``).

    Waiting is cheap: an attempt of this process that finishes wakes the waiters at once
    (others are seen at the next look, after ``poll``, doubling up to 1 s), and a look is one
    read; only when it finds room is the attempt recorded and counted again.
    """
    give_up = time.monotonic() + policy.max_wait.total_seconds()
    pause = policy.poll.total_seconds()
    while True:
        now = utcnow()
        attempt_id, refused, final = _try_admit(engine, email, address, policy, now)
        if attempt_id is not None:
            return Attempt(attempt_id)
        while True:
            if final or time.monotonic() >= give_up:
                return Attempt(None, wait=max(refused) - now)
            # Jitter, so that waiters woken together do not all look at the same instant.
            _wait_for_room(min(pause, give_up - time.monotonic()) * random.uniform(0.8, 1.2))
            pause = min(pause * 2, 1.0)
            now = utcnow()
            refused, final = _full(engine, email, address, policy, now)
            if not refused:
                break  # room now, as far as a read can tell: record the attempt and count


def settle(engine: Engine, attempt_id: int) -> None:
    """Mark an admitted attempt as a failure (its password was wrong)."""
    with engine.begin() as connection:
        connection.execute(
            update(LoginFailure).where(LoginFailure.id == attempt_id).values(settled=True)
        )
    _finished()


#: Wakes this process's waiting attempts when one of its attempts finishes (see begin_attempt).
_room = threading.Condition()


def _finished() -> None:
    with _room:
        _room.notify_all()


def _wait_for_room(seconds: float) -> None:
    if seconds > 0:
        with _room:
            _room.wait(seconds)


_last_cleanup = [0.0]


def _cleanup_due(policy: ThrottlePolicy) -> bool:
    """Return whether this process should delete expired rows now (at most once a minute)."""
    now = time.monotonic()
    if now - _last_cleanup[0] < policy.cleanup.total_seconds():
        return False
    _last_cleanup[0] = now
    return True


def _keys(
    email: str, address: str, policy: ThrottlePolicy
) -> tuple[tuple[ColumnElement[bool], int], ...]:
    return (
        (LoginFailure.email == email, policy.per_account),
        (LoginFailure.address == address, policy.per_address),
    )


def _full(
    engine: Engine, email: str, address: str, policy: ThrottlePolicy, now: datetime
) -> tuple[list[datetime], bool]:
    """Look (one read) whether the window is still full for a waiting attempt.

    Return when each full key has room again (empty: room now), and whether that refusal is
    final (some key's allowance is filled by settled failures alone).
    """
    since = now - policy.window
    with engine.connect() as connection:
        keys = _keys(email, address, policy)
        waits = [_room_again(connection, key, None, allowance, since) for key, allowance in keys]
        refused = [moment + policy.window for moment in waits if moment is not None]
        final = bool(refused) and _final(connection, keys, waits, None, since, now, policy)
        connection.rollback()
    return refused, final


def _final(
    connection: Connection,
    keys: tuple[tuple[ColumnElement[bool], int], ...],
    waits: list[datetime | None],
    own_id: int | None,
    since: datetime,
    now: datetime,
    policy: ThrottlePolicy,
) -> bool:
    """Tell whether settled failures (or stale, crashed attempts) alone fill a full key."""
    failed = or_(LoginFailure.settled, LoginFailure.failed_at <= now - policy.stale)
    return any(
        _room_again(connection, key & failed, own_id, allowance, since) is not None
        for (key, allowance), moment in zip(keys, waits, strict=True)
        if moment is not None
    )


def _try_admit(
    engine: Engine, email: str, address: str, policy: ThrottlePolicy, now: datetime
) -> tuple[int | None, list[datetime], bool]:
    """Insert the attempt and count.

    Return its id if admitted; else None, when each full key has room again, and whether the
    refusal is final (some key's allowance is filled by settled failures alone).
    """
    since = now - policy.window
    with engine.begin() as connection:
        if _cleanup_due(policy):
            connection.execute(delete(LoginFailure).where(LoginFailure.failed_at <= since))
        attempt_id = connection.execute(
            insert(LoginFailure)
            .values(email=email, address=address, failed_at=now, settled=False)
            .returning(LoginFailure.id)
        ).scalar_one()
    with engine.begin() as connection:
        keys = _keys(email, address, policy)
        waits = [
            _room_again(connection, key, attempt_id, allowance, since) for key, allowance in keys
        ]
        refused = [moment + policy.window for moment in waits if moment is not None]
        if not refused:
            return attempt_id, [], False
        connection.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id))
        final = _final(connection, keys, waits, attempt_id, since, now, policy)
    _finished()  # its row is gone: another waiter may fit now
    return None, refused, final


def _room_again(
    connection: Connection,
    key: ColumnElement[bool],
    own_id: int | None,
    allowance: int,
    since: datetime,
) -> datetime | None:
    """Return the oldest counted row's time if the window is full, None if this attempt fits.

    ``own_id`` is the attempt's own row, not counted; None for an attempt not recorded yet.
    """
    earlier = (
        select(LoginFailure.failed_at)
        .where(key, LoginFailure.failed_at > since)
        .order_by(LoginFailure.failed_at.desc())
    )
    if own_id is not None:
        earlier = earlier.where(LoginFailure.id != own_id)
    # One statement, so rows other attempts delete meanwhile cannot split count and lookup.
    newest = connection.scalars(earlier.limit(allowance)).all()
    if len(newest) < allowance:
        return None
    # There is room again once the allowance-th newest earlier row leaves the window.
    return newest[-1]


def clear_account(email: str, attempt_id: int | None, *, session: Session) -> None:
    """Forget an account's failed logins (and this attempt) after it logged in.

    Failures against other accounts from the same address stay, so logging in to one's own
    account between guesses does not reset the address's count; so do the account's other
    attempts still in flight (each settles or clears itself).
    """
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.email == email,
            or_(LoginFailure.settled, LoginFailure.id == attempt_id),
        )
    )
    on_commit(_finished, session=session)
