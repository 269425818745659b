"""E-mail through a real SMTP server on loopback: requests only queue, the worker delivers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.conftest import login, make_user
from tests.smtp import Mailbox, SilentServer, free_port
from typer.testing import CliRunner

from korona.app import create_app
from korona.audit import AuditEntry
from korona.auth.models import Role
from korona.config import Settings
from korona.db import unit_of_work, utcnow
from korona.notify import cli as mail_cli
from korona.notify import service as notify
from korona.notify.models import OutboxMessage, OutboxStatus
from korona.notify.worker import DeliveryWorker, Outcome, open_worker

SUBMISSION = {
    "kind": "offer",
    "title": "Videokonsultasjon for sykehjem",
    "description": "Vi tilbyr nettbrett med video slik at sykehjemsbeboere kan snakke med lege.",
    "organisation_name": "Fjordtech AS",
    "is_public": "0",
    "contact_name": "Per Leverandør",
    "contact_email": "per@fjordtech.example",
}


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """Run a real SMTP server on loopback for the test."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def with_smtp(settings: Settings, port: int) -> Settings:
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "mail_from": "korona@test.no"}
    )


@pytest.fixture
def mail_settings(settings: Settings, smtp: tuple[Mailbox, int]) -> Settings:
    return with_smtp(settings, smtp[1])


@pytest.fixture
def mail_client(mail_settings: Settings) -> Iterator[TestClient]:
    app = create_app(mail_settings)
    with TestClient(app, base_url="https://testserver") as client:
        yield client
    app.state.engine.dispose()


@pytest.fixture
def worker(mail_settings: Settings) -> Iterator[DeliveryWorker]:
    with open_worker(mail_settings, smtp_timeout=2) as opened:
        assert opened is not None
        yield opened


def submit(client: TestClient, **changes: str) -> str:
    token = client.get("/inputs/new").text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/inputs", data={**SUBMISSION, **changes, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def outbox(session: Session) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def queue(session: Session, *addresses: str, subject: str = "Hei") -> list[int]:
    ids = [
        notify.queue(session=session, to=to, subject=subject, body="Tekst").id for to in addresses
    ]
    session.commit()
    return ids


def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings, port: int) -> None:
    monkeypatch.setenv("KORONA_DATABASE_URL", settings.sqlalchemy_url)
    monkeypatch.setenv("KORONA_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KORONA_SMTP_PORT", str(port))
    monkeypatch.setenv("KORONA_MAIL_FROM", "korona@test.no")
    monkeypatch.setenv("KORONA_DATA_DIR", str(settings.data_dir))


def test_the_worker_delivers_a_receipt_once_with_a_stable_message_id(
    mail_client: TestClient, smtp: tuple[Mailbox, int], worker: DeliveryWorker, db: Session
) -> None:
    mailbox, _ = smtp
    location = submit(mail_client)
    assert mailbox.received == []  # the request only queued it
    (queued,) = outbox(db)
    assert queued.status == OutboxStatus.QUEUED and queued.attempts == 0

    first = worker.run_round()
    second = worker.run_round()
    assert (first.sent, second.sent) == (1, 0)
    (mail,) = mailbox.received
    assert mail["To"] == "per@fjordtech.example"
    assert mail["From"] == "korona@test.no"
    assert mail["Subject"].startswith("Kvittering for innspill INN-")
    assert mail["Message-ID"] == f"<korona-outbox-{queued.id}@test.no>"
    body = mail.get_payload(decode=True).decode()
    assert "Videokonsultasjon for sykehjem" in body
    assert location.split("?")[0] in body  # the private status link is in the e-mail
    (row,) = outbox(db)
    assert row.status == OutboxStatus.SENT and row.sent_at is not None
    assert row.attempts == 1 and row.last_error is None
    assert row.message_id == mail["Message-ID"]


@pytest.mark.parametrize("server", ["refusing", "hanging"])
def test_a_request_that_queues_mail_returns_at_once_whatever_the_smtp_server_does(
    settings: Settings, smtp: tuple[Mailbox, int], db: Session, server: str
) -> None:
    mailbox, port = smtp
    mailbox.down = True
    silent = SilentServer()
    app = create_app(with_smtp(settings, port if server == "refusing" else silent.port))
    try:
        with TestClient(app, base_url="https://testserver") as client:
            started = time.monotonic()
            submit(client)
            elapsed = time.monotonic() - started
    finally:
        app.state.engine.dispose()
        silent.close()
    (row,) = outbox(db)
    assert row.status == OutboxStatus.QUEUED and row.attempts == 0  # not even tried
    assert not silent.connected.is_set()
    assert mailbox.received == []
    assert elapsed < 5, f"the submission took {elapsed:.1f} s"


def test_a_message_that_cannot_be_built_fails_alone_and_later_mail_still_goes(
    smtp: tuple[Mailbox, int], worker: DeliveryWorker, db: Session
) -> None:
    mailbox, _ = smtp
    (before,) = queue(db, "a@example.no")
    (newline,) = queue(db, "b@example.no", subject="Kvittering INN-1: Linje én\nLinje to")
    (address,) = queue(db, "not an address")
    (after,) = queue(db, "c@example.no")

    result = worker.run_round()

    assert (result.sent, result.failed, result.waiting) == (2, 2, 0)
    assert {m["To"] for m in mailbox.received} == {"a@example.no", "c@example.no"}
    rows = {row.id: row for row in outbox(db)}
    assert rows[before].status == rows[after].status == OutboxStatus.SENT
    assert rows[newline].status == OutboxStatus.FAILED
    assert "linefeed" in (rows[newline].last_error or "")
    assert rows[address].status == OutboxStatus.FAILED
    assert "Cannot build the e-mail" in (rows[address].last_error or "")
    assert worker.run_round().sent == 0  # failed mail is not retried by itself


def test_a_refusing_server_gets_exponential_backoff_then_a_person_decides(
    mail_settings: Settings,
    smtp: tuple[Mailbox, int],
    session_factory: sessionmaker[Session],
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mailbox, port = smtp
    mailbox.down = True
    (message,) = queue(db, "a@example.no")
    now = [utcnow() + timedelta(seconds=1)]
    sender = notify.sender_for(mail_settings, timeout=2)
    assert sender is not None
    worker = DeliveryWorker(
        session_factory, sender, mail_from="korona@test.no", clock=lambda: now[0]
    )
    delays = []
    for attempt in range(1, notify.MAX_AUTOMATIC_ATTEMPTS + 1):
        result = worker.run_round()
        assert (result.sent, result.retrying) == (0, 1)
        (row,) = outbox(db)
        assert row.attempts == attempt and row.status == OutboxStatus.QUEUED
        assert "451" in (row.last_error or "")
        if row.next_attempt_at is None:
            break
        delays.append(row.next_attempt_at - now[0])
        assert worker.run_round().retrying == 0  # not due yet: nothing is tried
        now[0] = row.next_attempt_at
    assert delays == [timedelta(seconds=30 * 2**n) for n in range(4)]
    (given_up,) = outbox(db)
    assert given_up.next_attempt_at is None and given_up.attempts == 5
    now[0] += timedelta(days=30)
    assert worker.run_round().retrying == 0  # automatic retries are used up

    mailbox.down = False
    cli_env(monkeypatch, mail_settings, port)
    result = CliRunner().invoke(mail_cli.app, ["send"])
    assert result.exit_code == 0, result.output
    assert "Sent 1, failed 0, waiting 0" in result.output
    assert [m["Message-ID"] for m in mailbox.received] == [f"<korona-outbox-{message}@test.no>"]


def test_an_unreachable_or_hanging_server_stops_the_round_and_delays_the_message(
    settings: Settings, session_factory: sessionmaker[Session], db: Session
) -> None:
    first, second = queue(db, "a@example.no", "b@example.no")
    silent = SilentServer()
    closed_port = free_port()
    try:
        for port in (silent.port, closed_port):
            sender = notify.sender_for(with_smtp(settings, port), timeout=0.5)
            assert sender is not None
            worker = DeliveryWorker(session_factory, sender, mail_from="korona@test.no")
            started = utcnow()
            result = worker.run_round()
            assert result.unreachable and result.retrying == 1 and result.sent == 0
            tried = [
                row for row in outbox(db) if row.last_attempt_at and row.last_attempt_at >= started
            ]
            assert len(tried) == 1  # the round stops: the next message would wait just as long
            assert tried[0].next_attempt_at is not None
            assert tried[0].next_attempt_at - started >= notify.RETRY_BASE
    finally:
        silent.close()
    assert silent.connected.is_set()
    assert {row.id: row.attempts for row in outbox(db)} == {first: 1, second: 1}


def test_mail_send_delivers_everything_waiting_and_reports_bad_mail_without_a_traceback(
    mail_settings: Settings,
    smtp: tuple[Mailbox, int],
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mailbox, port = smtp
    ids = queue(db, *(f"person{n}@example.no" for n in range(6)))
    rows = outbox(db)
    rows[0].attempts = notify.MAX_AUTOMATIC_ATTEMPTS  # given up on by automatic retries
    rows[0].next_attempt_at = None
    rows[1].next_attempt_at = utcnow() + timedelta(hours=1)  # backing off
    db.commit()
    (bad,) = queue(db, "bad@example.no", subject="Linje én\r\nBcc: everyone@example.no")
    cli_env(monkeypatch, mail_settings, port)

    result = CliRunner().invoke(mail_cli.app, ["send"])

    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1, result.output  # one message failed and needs a person
    assert "Sent 6, failed 1, waiting 0" in result.output
    assert f"E-mail {bad} to bad@example.no: failed: Cannot build" in " ".join(
        result.output.split()
    )
    assert "Traceback" not in result.output
    assert {m["To"] for m in mailbox.received} == {f"person{n}@example.no" for n in range(6)}
    assert {row.id for row in outbox(db) if row.status == OutboxStatus.SENT} == set(ids)

    mailbox.down = True
    queue(db, "late@example.no")
    failed = CliRunner().invoke(mail_cli.app, ["send"])
    assert failed.exit_code == 1
    assert "failed 1, waiting 1" in failed.output
    assert outbox(db)[-1].attempts == 1


def test_mail_commands_without_smtp_say_so(
    settings: Settings, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue(db, "a@example.no")
    monkeypatch.setenv("KORONA_DATABASE_URL", settings.sqlalchemy_url)
    monkeypatch.setenv("KORONA_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("KORONA_SMTP_HOST", raising=False)
    for command in (["send"], ["work", "--once"]):
        result = CliRunner().invoke(mail_cli.app, command)
        assert result.exit_code == 1
        output = " ".join(result.output.split())
        assert "No SMTP server is set (KORONA_SMTP_HOST); 1 e-mails wait" in output


@contextmanager
def running_workers(settings: Settings) -> Iterator[None]:
    """Run delivery workers in threads: one on SQLite, three on PostgreSQL."""
    count = 3 if settings.sqlalchemy_url.startswith("postgresql") else 1
    stop = threading.Event()
    with ExitStack() as stack:
        threads = []
        for _ in range(count):
            opened = stack.enter_context(open_worker(settings, smtp_timeout=5))
            assert opened is not None
            threads.append(
                threading.Thread(target=opened.run, args=(stop,), kwargs={"poll_seconds": 0.1})
            )
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)


def run_simultaneously(count: int, action: Callable[[int], None]) -> None:
    """Run ``action(n)`` for n in range(count) in threads released at once; re-raise failures."""
    start = threading.Barrier(count, timeout=30)
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            start.wait()
            action(number)
        except BaseException as error:  # re-raised in the test's thread below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []


def assert_one_email_each(mailbox: Mailbox, db: Session, addresses: set[str]) -> None:
    received = mailbox.wait_for(len(addresses))
    rows = outbox(db)
    assert len(rows) == len(addresses)
    assert sorted(m["Message-ID"] for m in received) == sorted(str(r.message_id) for r in rows)
    assert sorted(m["To"] for m in received) == sorted(addresses)


def test_ten_simultaneous_receipts_with_workers_running_give_one_email_each(
    mail_settings: Settings,
    smtp: tuple[Mailbox, int],
    session_factory: sessionmaker[Session],
    db: Session,
) -> None:
    mailbox, _ = smtp

    def queue_receipt(number: int) -> None:
        with unit_of_work(session_factory) as session:
            notify.queue(
                session=session, to=f"p{number}@x.no", subject=f"Kvittering {number}", body=""
            )

    with running_workers(mail_settings):
        run_simultaneously(10, queue_receipt)
        mailbox.wait_for(10)
    assert_one_email_each(mailbox, db, {f"p{n}@x.no" for n in range(10)})
    assert {row.status for row in outbox(db)} == {OutboxStatus.SENT}


# On SQLite, simultaneous submissions through the app also need the unit of work to take the
# write lock first (a separate change); the mail side of it is the test above.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_ten_simultaneous_submissions_through_the_app_give_one_email_per_receipt(
    mail_settings: Settings, mail_client: TestClient, smtp: tuple[Mailbox, int], db: Session
) -> None:
    mailbox, _ = smtp
    token = mail_client.get("/inputs/new").text.split('name="csrf_token" value="')[1].split('"')[0]

    def submit_one(number: int) -> None:
        data = {**SUBMISSION, "title": f"Innspill nummer {number}", "csrf_token": token}
        data["contact_email"] = f"p{number}@x.no"
        response = mail_client.post("/inputs", data=data, follow_redirects=False)
        assert response.status_code == 303, response.text

    with running_workers(mail_settings):
        run_simultaneously(10, submit_one)
        mailbox.wait_for(10)
    assert_one_email_each(mailbox, db, {f"p{n}@x.no" for n in range(10)})


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_on_postgresql_never_send_the_same_message(
    mail_settings: Settings,
    smtp: tuple[Mailbox, int],
    session_factory: sessionmaker[Session],
    db: Session,
) -> None:
    mailbox, _ = smtp
    ids = queue(db, *(f"p{n}@example.no" for n in range(30)))
    smtp_sender = notify.sender_for(mail_settings, timeout=5)
    assert smtp_sender is not None
    both_sending = threading.Barrier(2, timeout=30)

    class Overlapping:
        """Hold the first message of each worker until both have one claimed at once."""

        def __init__(self) -> None:
            self.first = True

        def send(self, message: object) -> None:
            if self.first:
                self.first = False
                both_sending.wait()
            smtp_sender.send(message)  # type: ignore[arg-type]

    workers = [
        DeliveryWorker(session_factory, Overlapping(), mail_from="korona@test.no", name=name)
        for name in ("one", "two")
    ]
    results: dict[str, int] = {}
    threads = [
        threading.Thread(target=lambda w=w: results.__setitem__(w.name, w.run_round().sent))
        for w in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results["one"] + results["two"] == 30
    assert results["one"] > 0 and results["two"] > 0
    message_ids = [m["Message-ID"] for m in mailbox.received]
    assert len(message_ids) == 30 == len(set(message_ids))
    rows = outbox(db)
    assert {row.claimed_by for row in rows} == {"one", "two"}
    assert sorted(row.id for row in rows if row.status == OutboxStatus.SENT) == ids


def test_a_stale_claim_becomes_uncertain_and_the_office_can_resend_it(
    mail_settings: Settings,
    client: TestClient,
    smtp: tuple[Mailbox, int],
    session_factory: sessionmaker[Session],
    db: Session,
) -> None:
    mailbox, _ = smtp
    first, second = queue(db, "a@example.no", "b@example.no")
    crashed = DeliveryWorker(
        session_factory, notify.SmtpSender("127.0.0.1", 1), mail_from="korona@test.no"
    )
    with crashed.factory.begin() as session:  # a worker that claimed and then died
        claim = notify.claim_next(
            session=session, now=utcnow(), worker="dead", domain=crashed.domain, exclude=()
        )
    assert claim is not None and claim.id == first
    sender = notify.sender_for(mail_settings, timeout=5)
    assert sender is not None
    later = DeliveryWorker(
        session_factory,
        sender,
        mail_from="korona@test.no",
        clock=lambda: utcnow() + notify.DEFAULT_LEASE + timedelta(seconds=1),
    )
    result = later.run_round()
    assert (result.marked_uncertain, result.sent) == (1, 1)
    rows = {row.id: row for row in outbox(db)}
    assert rows[first].status == OutboxStatus.UNCERTAIN
    assert rows[first].message_id == f"<korona-outbox-{first}@test.no>"
    assert [m["To"] for m in mailbox.received] == ["b@example.no"]
    # the dead worker's late answer cannot overwrite a person's decision below
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    reporter = make_user(db, Role.NEEDS_REPORTER)
    db.commit()

    token = login(client, reporter.email)
    refused = client.post(f"/outbox/{first}/resend", data={"csrf_token": token})
    assert refused.status_code == 403
    client = TestClient(client.app, base_url="https://testserver")
    token = login(client, office.email)
    page = client.get("/outbox")
    assert "Usikker: kan være sendt" in page.text
    assert f"/outbox/{first}/resend" in page.text
    assert f"/outbox/{second}/resend" not in page.text  # sent mail has no resend button
    assert client.post(f"/outbox/{first}/resend").status_code == 403  # no CSRF token
    resent = client.post(
        f"/outbox/{first}/resend", data={"csrf_token": token}, follow_redirects=False
    )
    assert resent.status_code == 303
    again = client.post(f"/outbox/{second}/resend", data={"csrf_token": token})
    assert again.status_code == 409
    db.expire_all()
    entry = db.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_type == "outbox_message", AuditEntry.entity_id == str(first)
        )
    )
    assert entry is not None and entry.actor_id == office.id
    assert entry.before == {
        "claim_token": claim.token,
        "claimed_at": entry.before["claimed_at"],
        "claimed_by": "dead",
        "next_attempt_at": None,
        "status": "uncertain",
    }
    assert entry.after is not None and entry.after["status"] == "queued"
    with crashed.factory.begin() as session:
        assert not notify.record_sent(claim, session=session, now=utcnow())

    assert later.run_round().sent == 1
    assert [m["To"] for m in mailbox.received] == ["b@example.no", "a@example.no"]
    assert mailbox.received[1]["Message-ID"] == f"<korona-outbox-{first}@test.no>"
    assert outbox(db)[0].status == OutboxStatus.SENT


def test_an_answer_lost_after_data_makes_the_message_uncertain_not_resent(
    settings: Settings, session_factory: sessionmaker[Session], db: Session
) -> None:
    mailbox = Mailbox(stall=True)
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        (message,) = queue(db, "a@example.no")
        sender = notify.sender_for(with_smtp(settings, port), timeout=1)
        assert sender is not None
        worker = DeliveryWorker(session_factory, sender, mail_from="korona@test.no")
        delivery = worker.deliver_one()
        assert delivery is not None and delivery.outcome == Outcome.UNCERTAIN
        assert worker.run_round().sent == 0
    finally:
        controller.stop()
    (row,) = outbox(db)
    assert row.id == message and row.status == OutboxStatus.UNCERTAIN
    assert len(mailbox.received) == 1  # the server has it; it is not sent again


def test_without_smtp_mail_stays_in_the_outbox_page(client: TestClient, db: Session) -> None:
    submit(client)
    (row,) = outbox(db)
    assert row.status == OutboxStatus.QUEUED and row.attempts == 0  # development: not tried
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    db.commit()
    token = login(client, office.email)
    page = client.get("/outbox")
    assert page.status_code == 200
    assert "per@fjordtech.example" in page.text
    assert "Ingen SMTP-server er satt opp" in page.text
    assert "1 e-post venter" in page.text
    retried = client.post("/outbox/send", data={"csrf_token": token})
    assert retried.status_code == 200 and "Venter" in retried.text


def test_rolled_back_change_queues_nothing(
    mail_client: TestClient, worker: DeliveryWorker, smtp: tuple[Mailbox, int], db: Session
) -> None:
    mailbox, _ = smtp
    token = mail_client.get("/inputs/new").text.split('name="csrf_token" value="')[1]
    bad = {**SUBMISSION, "contact_email": "not-an-address", "csrf_token": token.split('"')[0]}
    response = mail_client.post("/inputs", data=bad)
    assert response.status_code == 422
    assert outbox(db) == []
    assert worker.run_round().sent == 0
    assert mailbox.received == []


def test_the_migration_keeps_the_state_of_existing_mail(database_url: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from korona.migrations import alembic_config, upgrade

    command.downgrade(alembic_config(database_url), "0002")
    engine = create_engine(database_url)
    created = datetime(2026, 11, 30, 12, 0)
    with engine.begin() as connection:
        for sent, attempts in ((created, 1), (None, 2), (None, 5)):
            connection.execute(
                text(
                    "INSERT INTO outbox_message (to_address, subject, body, created_at, sent_at,"
                    " attempts) VALUES ('a@example.no', 'Hei', 'Tekst', :created, :sent, :n)"
                ),
                {"created": created, "sent": sent, "n": attempts},
            )
    upgrade(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT status, next_attempt_at IS NULL FROM outbox_message ORDER BY id")
        ).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("sent", True), ("queued", False), ("queued", True)]
