"""The delivery worker as a process: kill -9 between claim and send, and beside `korona serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import TEST_SECRET
from tests.smtp import Mailbox, SilentServer, free_port, wait_until
from typer.testing import CliRunner

from korona.config import Settings
from korona.notify import cli as mail_cli
from korona.notify import service as notify
from korona.notify.models import OutboxMessage, OutboxStatus


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def environment(settings: Settings, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "KORONA_ENVIRONMENT": "test",
        "KORONA_SECRET_KEY": TEST_SECRET,
        "KORONA_DATABASE_URL": settings.sqlalchemy_url,
        "KORONA_DATA_DIR": str(settings.data_dir),
        "KORONA_SMTP_HOST": "127.0.0.1",
        "KORONA_SMTP_PORT": str(smtp_port),
        "KORONA_MAIL_FROM": "korona@test.no",
    }


def korona(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `korona ARGS` (`korona mail ...` loads only the mail commands, to start faster)."""
    if args[0] == "mail":
        command = ["-c", "from korona.notify.cli import app; app(prog_name='korona mail')"]
        args = args[1:]
    else:
        command = ["-m", "korona"]
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, *command, *args], env=env, stdout=output, stderr=output
        )


def outbox(session: Session) -> dict[int, OutboxMessage]:
    session.expire_all()
    return {row.id: row for row in session.scalars(select(OutboxMessage))}


def queue_three(db: Session) -> list[int]:
    ids = [
        notify.queue(session=db, to=f"p{n}@example.no", subject=f"Kvittering {n}", body="Tekst").id
        for n in range(3)
    ]
    db.commit()
    return ids


def rerun_after_the_crash(
    settings: Settings, port: int, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> str:
    for name, value in environment(settings, port).items():
        if name.startswith("KORONA_"):
            monkeypatch.setenv(name, value)
    # Lease 0: no other worker runs, so any claim without a result is from the killed one.
    result = CliRunner().invoke(mail_cli.app, [*command, "--lease-seconds", "0"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return " ".join(result.output.split())


def test_kill_9_after_the_claim_before_the_send_leaves_the_message_for_a_person(
    settings: Settings,
    smtp: tuple[Mailbox, int],
    db: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mailbox, port = smtp
    claimed, *others = queue_three(db)
    silent = SilentServer()  # accepts the connection, never greets: the send cannot begin
    try:
        worker = korona(["mail", "work"], environment(settings, silent.port), tmp_path / "w.log")
        try:
            assert silent.connected.wait(60), (tmp_path / "w.log").read_text()
            rows = outbox(db)
            assert rows[claimed].status == OutboxStatus.SENDING  # the claim was committed
            assert f":{worker.pid}:" in str(rows[claimed].claimed_by)
            assert all(rows[i].attempts == 0 for i in others)
        finally:
            worker.send_signal(signal.SIGKILL)
            assert worker.wait(30) == -signal.SIGKILL
    finally:
        silent.close()

    output = rerun_after_the_crash(settings, port, monkeypatch, ["work", "--once"])

    assert "1 e-mail(s) were claimed by a worker that never reported" in output
    assert "Sent 2, failed 0, waiting 0." in output
    rows = outbox(db)
    assert rows[claimed].status == OutboxStatus.UNCERTAIN
    assert rows[claimed].attempts == 1 and rows[claimed].sent_at is None
    assert all(rows[i].status == OutboxStatus.SENT for i in others)
    assert sorted(m["Message-ID"] for m in mailbox.received) == sorted(
        f"<korona-outbox-{i}@test.no>" for i in others
    )
    again = rerun_after_the_crash(settings, port, monkeypatch, ["send"])
    assert "Sent 0, failed 0, waiting 0." in again
    assert len(mailbox.received) == 2  # the uncertain message waits for a person


def test_kill_9_while_the_server_has_the_message_sends_nothing_twice(
    settings: Settings,
    smtp: tuple[Mailbox, int],
    db: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mailbox, port = smtp
    mailbox.stall = True  # keeps the message, then never answers DATA
    claimed, *others = queue_three(db)
    worker = korona(["mail", "work"], environment(settings, port), tmp_path / "w.log")
    try:
        assert mailbox.stalled.wait(60), (tmp_path / "w.log").read_text()
    finally:
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(30) == -signal.SIGKILL
    mailbox.stall = False
    assert outbox(db)[claimed].status == OutboxStatus.SENDING

    output = rerun_after_the_crash(settings, port, monkeypatch, ["send"])

    assert "Sent 2, failed 0, waiting 0." in output
    message_ids = [m["Message-ID"] for m in mailbox.received]
    assert sorted(message_ids) == sorted(f"<korona-outbox-{i}@test.no>" for i in [claimed, *others])
    assert outbox(db)[claimed].status == OutboxStatus.UNCERTAIN


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


# SQLite only: the worker's database behaviour is tested on both databases above.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("worker_flag", ["--mail-worker", "--no-mail-worker"])
def test_serve_runs_one_worker_beside_the_server_and_stops_it_cleanly(
    settings: Settings, smtp: tuple[Mailbox, int], db: Session, tmp_path: Path, worker_flag: str
) -> None:
    mailbox, smtp_port = smtp
    (message,) = queue_three(db)[:1]
    port = free_port()
    log = tmp_path / "serve.log"
    server = korona(
        ["serve", "--port", str(port), worker_flag], environment(settings, smtp_port), log
    )
    try:
        wait_until(lambda: healthy(port) or server.poll() is not None, timeout=60, what="/healthz")
        assert server.poll() is None, log.read_text()
        if worker_flag == "--mail-worker":
            assert len(mailbox.wait_for(3)) == 3
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(60)
    output = log.read_text()
    # With a worker, serve takes SIGTERM itself to stop the worker after its current message;
    # without one, uvicorn ends the process by the signal once the server has shut down.
    assert code == (0 if worker_flag == "--mail-worker" else -signal.SIGTERM), output
    assert "Traceback" not in output
    rows = outbox(db)
    if worker_flag == "--mail-worker":
        assert "Mail worker started" in output
        assert {row.status for row in rows.values()} == {OutboxStatus.SENT}
        assert len(mailbox.received) == 3
    else:
        assert "Mail worker started" not in output
        assert rows[message].status == OutboxStatus.QUEUED and rows[message].attempts == 0
        assert mailbox.received == []


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_mail_work_delivers_until_a_signal_and_stops_cleanly(
    settings: Settings,
    smtp: tuple[Mailbox, int],
    db: Session,
    tmp_path: Path,
    stop_signal: signal.Signals,
) -> None:
    mailbox, port = smtp
    queue_three(db)
    log = tmp_path / "w.log"
    worker = korona(["mail", "work", "--poll-seconds", "0.2"], environment(settings, port), log)
    try:
        mailbox.wait_for(3, timeout=60)
    finally:
        worker.send_signal(stop_signal)
        code = worker.wait(60)
    output = log.read_text()
    assert code == 0, output
    assert "Mail worker stopped." in output and "Traceback" not in output
    assert {row.status for row in outbox(db).values()} == {OutboxStatus.SENT}
    assert len(mailbox.received) == 3
