"""The delivery worker: claim one outbox message, commit, send it, commit the result; repeat.

Guarantee: **at most once**. A claim is committed before the SMTP conversation starts, so a
worker that dies (kill -9, power loss) leaves its message ``sending``; once the claim is older
than the lease, any worker marks it ``uncertain`` and nobody sends it again until a person
chooses to (outbox page or ``korona mail send`` after a resend). Every attempt of a message
carries the same ``Message-ID`` (from its outbox id and the sender's domain), so a person can
look it up in the mail server's log, and a recipient's client can recognise a resent copy.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from korona.config import Settings
from korona.db import make_engine, make_sessionmaker, unit_of_work, utcnow
from korona.notify import service
from korona.notify.service import (
    BuildError,
    Claim,
    DeliveryUncertain,
    MailSender,
    NotDelivered,
)

log = logging.getLogger(__name__)

#: How long an idle worker waits before it looks for due mail again.
DEFAULT_POLL_SECONDS = 5.0


class Outcome(StrEnum):
    """What one attempt at one message came to."""

    SENT = "sent"
    RETRY = "retry"  # not delivered; queued again for later (or for a person, if given up)
    FAILED = "failed"  # cannot be sent as it is
    UNCERTAIN = "uncertain"  # may have been delivered; never sent again automatically


@dataclass(frozen=True)
class Delivery:
    """One claimed message and what became of it."""

    claim: Claim
    outcome: Outcome
    reason: str | None = None
    unreachable: bool = False


@dataclass
class RoundResult:
    """What one round (every due message, one claim at a time) did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    uncertain: int = 0
    marked_uncertain: int = 0
    waiting: int = 0
    unreachable: bool = False
    problems: list[Delivery] = field(default_factory=list)

    @property
    def not_sent(self) -> int:
        """Return how many messages this round tried and did not send."""
        return self.retrying + self.failed + self.uncertain


def default_worker_name() -> str:
    """Return a name that tells which host and process holds a claim."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DeliveryWorker:
    """Deliver the outbox through a sender, one committed claim at a time."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        sender: MailSender,
        *,
        mail_from: str,
        lease: timedelta = service.DEFAULT_LEASE,
        name: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.factory = factory
        self.sender = sender
        self.mail_from = mail_from
        self.domain = service.mail_domain(mail_from)
        self.lease = lease
        self.name = name or default_worker_name()
        self.clock = clock

    def mark_stale_claims(self) -> int:
        """Mark claims older than the lease as uncertain (in their own transaction)."""
        with unit_of_work(self.factory) as session:
            marked = service.mark_stale_claims(session=session, now=self.clock(), lease=self.lease)
        if marked:
            log.warning("%d e-mail(s) marked uncertain: claimed, but no result recorded", marked)
        return marked

    def deliver_one(
        self, *, ignore_schedule: bool = False, exclude: Collection[int] = ()
    ) -> Delivery | None:
        """Claim, send and record one message; None when nothing is due."""
        with unit_of_work(self.factory) as session:
            claim = service.claim_next(
                session=session,
                now=self.clock(),
                worker=self.name,
                domain=self.domain,
                ignore_schedule=ignore_schedule,
                exclude=exclude,
            )
        if claim is None:
            return None
        # The claim is committed: if this process dies from here on, the message stays
        # 'sending' and is later marked uncertain, never sent again without a person.
        delivery = self._attempt(claim)
        with unit_of_work(self.factory) as session:
            recorded = self._record(session, delivery)
        if not recorded:
            log.warning(
                "outbox %d: result %s not recorded, the claim was taken over by a person",
                claim.id,
                delivery.outcome,
            )
        return delivery

    def _attempt(self, claim: Claim) -> Delivery:
        try:
            email = service.build_email(claim, self.mail_from)
        except BuildError as error:
            return Delivery(claim, Outcome.FAILED, str(error))
        try:
            self.sender.send(email)
        except NotDelivered as error:
            outcome = Outcome.FAILED if error.permanent else Outcome.RETRY
            return Delivery(claim, outcome, error.reason, unreachable=error.unreachable)
        except DeliveryUncertain as error:
            return Delivery(claim, Outcome.UNCERTAIN, error.reason)
        except Exception as error:  # a sender outside its contract: whether it sent is unknown
            log.exception("outbox %d: the sender failed unexpectedly", claim.id)
            return Delivery(claim, Outcome.UNCERTAIN, f"{type(error).__name__}: {error}")
        return Delivery(claim, Outcome.SENT)

    def _record(self, session: Session, delivery: Delivery) -> bool:
        claim, reason, now = delivery.claim, delivery.reason or "", self.clock()
        if delivery.outcome == Outcome.SENT:
            return service.record_sent(claim, session=session, now=now)
        if delivery.outcome == Outcome.FAILED:
            log.warning("outbox %d failed for good: %s", claim.id, reason)
            return service.record_failed(claim, reason, session=session)
        if delivery.outcome == Outcome.UNCERTAIN:
            log.warning("outbox %d may have been sent: %s", claim.id, reason)
            return service.record_uncertain(claim, reason, session=session)
        next_attempt = service.record_retry(claim, reason, session=session, now=now)
        log.info("outbox %d not delivered (%s); next attempt %s", claim.id, reason, next_attempt)
        return True

    def run_round(
        self, *, ignore_schedule: bool = False, stop: threading.Event | None = None
    ) -> RoundResult:
        """Deliver every due message once, one claim at a time; stop early if unreachable."""
        result = RoundResult(marked_uncertain=self.mark_stale_claims())
        tried: set[int] = set()
        while stop is None or not stop.is_set():
            delivery = self.deliver_one(ignore_schedule=ignore_schedule, exclude=tried)
            if delivery is None:
                break
            tried.add(delivery.claim.id)
            if delivery.outcome == Outcome.SENT:
                result.sent += 1
                continue
            result.problems.append(delivery)
            if delivery.outcome == Outcome.RETRY:
                result.retrying += 1
            elif delivery.outcome == Outcome.FAILED:
                result.failed += 1
            else:
                result.uncertain += 1
            if delivery.unreachable:
                # The next message would wait for the same dead server: back off instead.
                result.unreachable = True
                break
        with unit_of_work(self.factory) as session:
            result.waiting = service.waiting_count(session=session)
        return result

    def run(self, stop: threading.Event, *, poll_seconds: float = DEFAULT_POLL_SECONDS) -> None:
        """Deliver until ``stop`` is set, backing off exponentially while the server is down."""
        trouble = 0
        log.info("mail worker %s started", self.name)
        while not stop.is_set():
            try:
                result = self.run_round(stop=stop)
            except Exception:  # the database may be away for a moment; the worker must live on
                log.exception("mail worker round failed")
                trouble += 1
            else:
                trouble = trouble + 1 if result.unreachable else 0
            delay = poll_seconds
            if trouble:
                backoff = service.RETRY_BASE * 2 ** (trouble - 1)
                delay = min(backoff, service.RETRY_CAP).total_seconds()
                log.warning("mail worker pauses %.0f s (SMTP server or database away)", delay)
            stop.wait(delay)
        log.info("mail worker %s stopped", self.name)


@contextmanager
def open_worker(
    settings: Settings,
    *,
    lease: timedelta = service.DEFAULT_LEASE,
    smtp_timeout: float = service.SMTP_TIMEOUT_SECONDS,
) -> Iterator[DeliveryWorker | None]:
    """Yield a worker on its own engine for the settings, or None when no SMTP host is set."""
    sender = service.sender_for(settings, timeout=smtp_timeout)
    if sender is None:
        yield None
        return
    engine = make_engine(settings.sqlalchemy_url, pool_pre_ping=True)
    try:
        yield DeliveryWorker(
            make_sessionmaker(engine), sender, mail_from=settings.mail_from, lease=lease
        )
    finally:
        engine.dispose()


class WorkerThread:
    """A delivery worker in a background thread of the server process (``korona serve``)."""

    def __init__(self, settings: Settings, *, poll_seconds: float = DEFAULT_POLL_SECONDS) -> None:
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.stop_event = threading.Event()
        self._thread = threading.Thread(target=self._run, name="korona-mail-worker", daemon=True)

    def _run(self) -> None:
        with open_worker(self.settings) as worker:
            if worker is not None:
                worker.run(self.stop_event, poll_seconds=self.poll_seconds)

    def start(self) -> None:
        """Start delivering in the background."""
        self._thread.start()

    def stop(self, timeout: float = 4 * service.SMTP_TIMEOUT_SECONDS) -> bool:
        """Ask the worker to stop after its current message; return whether it has stopped."""
        self.stop_event.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()


def start_thread(settings: Settings) -> WorkerThread | None:
    """Start a worker thread for the server; None (mail stays queued) without an SMTP host."""
    if not settings.smtp_host:
        return None
    thread = WorkerThread(settings)
    thread.start()
    return thread
