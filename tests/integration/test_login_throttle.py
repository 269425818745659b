"""The login throttle tells attempts still checking a password from settled failures."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select
from tests.conftest import PASSWORD, make_user

from korona.auth import service as auth_service
from korona.auth import throttle
from korona.auth.models import LoginFailure, Role
from korona.config import Settings
from korona.db import make_engine, make_sessionmaker, unit_of_work


def test_a_burst_of_correct_logins_from_one_address_is_not_refused(settings: Settings) -> None:
    """Twelve people log in to one account at the same instant from one address (NAT).

    Each attempt counts as a failure while its password is checked, so without waiting for
    in-flight attempts to settle, all but the first five would be refused with 429.
    """
    engine = make_engine(settings.sqlalchemy_url)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        email = make_user(session, Role.OBSERVER).email
    start = threading.Barrier(12)
    # A generous wait: twelve argon2 checks on a busy 2-core test machine can take seconds.
    policy = throttle.ThrottlePolicy(max_wait=timedelta(seconds=60))

    def log_in(_: int) -> bool:
        start.wait()
        with unit_of_work(factory) as session:
            outcome = auth_service.log_in(
                email, PASSWORD, session=session, address="192.0.2.7", policy=policy
            )
            return outcome.user is not None

    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            assert all(pool.map(log_in, range(12)))
        with unit_of_work(factory) as session:
            assert session.scalars(select(LoginFailure)).all() == []
    finally:
        engine.dispose()


def test_settled_failures_refuse_at_once_and_attempts_in_flight_after_waiting(
    settings: Settings,
) -> None:
    engine = make_engine(settings.sqlalchemy_url)
    policy = throttle.ThrottlePolicy(max_wait=timedelta(seconds=1))
    try:
        attempts = [
            throttle.begin_attempt(engine, "a@example.no", "x", policy=policy)
            for _ in range(policy.per_account)
        ]
        assert not any(attempt.refused for attempt in attempts)
        # Five attempts still checking their passwords: the sixth waits for them, then gives up.
        began = time.monotonic()
        assert throttle.begin_attempt(engine, "a@example.no", "x", policy=policy).refused
        assert 0.9 <= time.monotonic() - began < 5
        # Once they have failed, the refusal is final at once.
        for attempt in attempts:
            assert attempt.id is not None
            throttle.settle(engine, attempt.id)
        began = time.monotonic()
        refused = throttle.begin_attempt(engine, "a@example.no", "x", policy=policy)
        assert refused.refused and refused.wait_minutes == 15
        assert time.monotonic() - began < 0.5
        with engine.begin() as connection:
            assert connection.scalars(select(LoginFailure.settled)).all() == [True] * 5
    finally:
        engine.dispose()


def test_a_waiting_attempt_is_admitted_when_the_others_succeed(settings: Settings) -> None:
    engine = make_engine(settings.sqlalchemy_url)
    factory = make_sessionmaker(engine)
    policy = throttle.ThrottlePolicy(max_wait=timedelta(seconds=30))
    try:
        attempts = [
            throttle.begin_attempt(engine, "b@example.no", "x", policy=policy) for _ in range(5)
        ]

        def succeed() -> None:
            time.sleep(0.5)
            with unit_of_work(factory) as session:
                for attempt in attempts:
                    throttle.clear_account("b@example.no", attempt.id, session=session)

        worker = threading.Thread(target=succeed)
        worker.start()
        began = time.monotonic()
        admitted = throttle.begin_attempt(engine, "b@example.no", "x", policy=policy)
        worker.join()
        assert not admitted.refused
        assert 0.4 <= time.monotonic() - began < 30
    finally:
        engine.dispose()
