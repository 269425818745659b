"""E-mail through a real SMTP server on loopback: delivery, queueing on failure, retries."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import login, make_user
from typer.testing import CliRunner

from korona.app import create_app
from korona.auth.models import Role
from korona.config import Settings
from korona.notify import cli as mail_cli
from korona.notify import service as notify
from korona.notify.models import OutboxMessage

SUBMISSION = {
    "kind": "offer",
    "title": "Videokonsultasjon for sykehjem",
    "description": "Vi tilbyr nettbrett med video slik at sykehjemsbeboere kan snakke med lege.",
    "organisation_name": "Fjordtech AS",
    "is_public": "0",
    "contact_name": "Per Leverandør",
    "contact_email": "per@fjordtech.example",
}


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what arrived, or refuses everything while ``down``."""

    received: list[Message] = field(default_factory=list)
    down: bool = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.down:
            return "451 Requested action aborted: try again later"
        self.received.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """Run a real SMTP server on loopback for the test."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def mail_settings(settings: Settings, smtp: tuple[Mailbox, int]) -> Settings:
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp[1], "mail_from": "korona@test.no"}
    )


@pytest.fixture
def mail_client(mail_settings: Settings) -> Iterator[TestClient]:
    app = create_app(mail_settings)
    with TestClient(app, base_url="https://testserver") as client:
        yield client
    app.state.engine.dispose()


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


def test_receipt_arrives_at_the_smtp_server(
    mail_client: TestClient, smtp: tuple[Mailbox, int], db: Session
) -> None:
    mailbox, _ = smtp
    location = submit(mail_client)
    assert len(mailbox.received) == 1
    mail = mailbox.received[0]
    assert mail["To"] == "per@fjordtech.example"
    assert mail["From"] == "korona@test.no"
    assert mail["Subject"].startswith("Kvittering for innspill INN-")
    body = mail.get_payload(decode=True).decode()
    assert "Videokonsultasjon for sykehjem" in body
    assert location.split("?")[0] in body  # the private status link is in the e-mail
    (row,) = outbox(db)
    assert row.sent_at is not None
    assert row.attempts == 1
    assert row.last_error is None


def test_failing_server_keeps_the_message_and_the_next_send_retries_it(
    mail_client: TestClient, smtp: tuple[Mailbox, int], db: Session
) -> None:
    mailbox, _ = smtp
    mailbox.down = True
    submit(mail_client)  # the submission itself succeeds
    (row,) = outbox(db)
    assert row.sent_at is None
    assert row.attempts == 1
    assert row.last_error is not None and "451" in row.last_error
    assert mailbox.received == []

    mailbox.down = False
    submit(mail_client, title="Digital innsjekk på legevakten")
    rows = outbox(db)
    assert [r.sent_at is not None for r in rows] == [True, True]
    assert rows[0].attempts == 2  # retried on the next send
    assert len(mailbox.received) == 2


def test_mail_send_command_delivers_waiting_mail(
    mail_settings: Settings,
    smtp: tuple[Mailbox, int],
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mailbox, port = smtp
    for number in range(notify.MAX_AUTOMATIC_ATTEMPTS + 1):
        notify.queue(db, to=f"person{number}@example.no", subject="Hei", body="Tekst")
    db.commit()
    exhausted = outbox(db)[0]
    exhausted.attempts = notify.MAX_AUTOMATIC_ATTEMPTS  # given up on by automatic retries
    db.commit()
    monkeypatch.setenv("KORONA_DATABASE_URL", mail_settings.sqlalchemy_url)
    monkeypatch.setenv("KORONA_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KORONA_SMTP_PORT", str(port))
    monkeypatch.setenv("KORONA_DATA_DIR", str(mail_settings.data_dir))
    result = CliRunner().invoke(mail_cli.app, ["send"])
    assert result.exit_code == 0, result.output
    assert "Sent 6, failed 0, waiting 0" in result.output
    assert {m["To"] for m in mailbox.received} == {f"person{n}@example.no" for n in range(6)}

    mailbox.down = True
    notify.queue(db, to="late@example.no", subject="Hei", body="Tekst")
    db.commit()
    failed = CliRunner().invoke(mail_cli.app, ["send"])
    assert failed.exit_code == 1
    assert "failed 1, waiting 1" in failed.output
    assert outbox(db)[-1].attempts == 1


def test_without_smtp_mail_stays_in_the_outbox_page(client: TestClient, db: Session) -> None:
    submit(client)
    (row,) = outbox(db)
    assert row.sent_at is None and row.attempts == 0  # development: not even tried
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    db.commit()
    login(client, office.email)
    page = client.get("/outbox")
    assert page.status_code == 200
    assert "per@fjordtech.example" in page.text
    assert "Ingen SMTP-server er satt opp" in page.text
    assert "1 e-post venter" in page.text


def test_rolled_back_change_sends_nothing(
    mail_client: TestClient, smtp: tuple[Mailbox, int], db: Session
) -> None:
    mailbox, _ = smtp
    token = mail_client.get("/inputs/new").text.split('name="csrf_token" value="')[1]
    bad = {**SUBMISSION, "contact_email": "not-an-address", "csrf_token": token.split('"')[0]}
    response = mail_client.post("/inputs", data=bad)
    assert response.status_code == 422
    assert mailbox.received == []
    assert outbox(db) == []
