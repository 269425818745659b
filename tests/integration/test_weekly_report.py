"""The weekly report and alerts end to end: queue, deliver over real SMTP, unsubscribe, kill -9."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path

import pypdf
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import make_organisation, make_user
from tests.integration.test_mail_worker_process import environment
from tests.report_store import fill_store
from tests.smtp import Mailbox, free_port, wait_until
from typer.testing import CliRunner

from korona.auth.models import Role, User
from korona.bootstrap import bootstrap
from korona.cli import app as korona_app
from korona.config import Settings
from korona.notify.models import OutboxMessage
from korona.notify.service import SmtpSender
from korona.notify.worker import DeliveryWorker
from korona.surveillance.geo import load_geography
from korona.surveillance_mail import service
from korona.surveillance_mail.models import ReportDelivery, SubscriptionKind
from korona.surveillance_mail.sending import queue_alerts

WEEK = "2020-W20"
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def doctor(db: Session, number: str, email: str, language: str = "nb") -> User:
    user = make_user(db, Role.MUNICIPAL_DOCTOR, organisation=make_organisation(db), email=email)
    user.municipality_number = number
    user.language = language
    db.flush()
    return user


def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, smtp_port: int, *args: str) -> str:
    for name, value in environment(settings, smtp_port).items():
        if name.startswith("KORONA_"):
            monkeypatch.setenv(name, value)
    result = CliRunner().invoke(korona_app, list(args))
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def deliver(settings: Settings, port: int) -> int:
    runtime = bootstrap(settings)
    try:
        worker = DeliveryWorker(
            runtime.sessions, SmtpSender("127.0.0.1", port), mail_from="korona@test.no"
        )
        result = worker.run_round()
        assert result.problems == []
        return result.sent
    finally:
        runtime.close()


def parts(message: Message) -> tuple[str, bytes]:
    html = next(p for p in message.walk() if p.get_content_type() == "text/html")
    pdf = next(p for p in message.walk() if p.get_content_type() == "application/pdf")
    return html.get_payload(decode=True).decode(), pdf.get_payload(decode=True)


def test_a_week_of_reports_goes_out_once_with_pdf_and_a_working_unsubscribe_link(
    settings: Settings,
    db: Session,
    client: TestClient,
    smtp: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mailbox, port = smtp
    fill_store(settings.surveillance_dir, load_geography(settings.reference_dir))
    bergen = doctor(db, "4601", "lege.bergen@example.no")
    doctor(db, "0301", "lege.oslo@example.no", language="en")
    bystander = make_user(db, Role.SUBMITTER, email="innsender@example.no")
    db.commit()

    output = cli(settings, monkeypatch, port, "surveillance", "send-reports", "--week", WEEK)
    assert "Weekly reports 2020-W20" in output and "│ 2 │ 2 │ 0 │" in output.replace(" ", " ")
    assert deliver(settings, port) == 2

    received = {m["To"]: m for m in mailbox.wait_for(2)}
    assert bystander.email not in received
    message = received[bergen.email]
    assert message["Subject"] == "Ukentlig oversikt 2020-W20: Bergen"
    assert message["List-Unsubscribe"].startswith("<http")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # RFC 8058
    html, pdf = parts(message)
    assert "Bergen" in html and "Covid-19-konsultasjoner" in html and "<img" not in html
    assert "/surveillance/municip4601" in html
    assert "betydelig høyere enn forventet" in html  # the high gastro 65+ signal
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Bergen" in text and "2020-W20" in text
    assert received["lege.oslo@example.no"]["Subject"] == "Weekly overview 2020-W20: Oslo"

    link = re.search(r'href="(https?://[^"]+/subscriptions/unsubscribe/[^"]+)"', html)
    assert link is not None
    path = "/" + link.group(1).split("/", 3)[3]
    assert message["List-Unsubscribe"] == f"<{link.group(1)}>"
    forged = client.get(re.sub(r"/[0-9a-f]+$", "/" + "0" * 32, path))
    assert forged.status_code == 400 and "ikke gyldig" in forged.text
    # Opening the link (a person, a mail scanner, a link preview) only asks.
    page = client.get(path)
    assert page.status_code == 200 and "Vil du stoppe denne e-posten" in page.text
    db.expire_all()
    assert SubscriptionKind.WEEKLY_REPORT in {
        f.kind for f in service.followed(db.get(User, bergen.id), session=db)
    }
    # The mail provider's one-click POST (RFC 8058): the header's URL, its body, no cookies.
    client.cookies.clear()
    answer = client.post(
        path,
        content=message["List-Unsubscribe-Post"],
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200 and "Ferdig" in answer.text
    db.expire_all()
    kinds = {f.kind for f in service.followed(db.get(User, bergen.id), session=db)}
    assert kinds == {SubscriptionKind.ALERTS}  # the weekly report stopped, alerts kept

    again = cli(settings, monkeypatch, port, "surveillance", "send-reports", "--week", WEEK)
    assert "│ 1 │ 0 │ 1 │" in again  # Oslo's report was queued before; Bergen stopped
    assert deliver(settings, port) == 0
    assert len(mailbox.received) == 2


def test_kill_9_in_the_middle_and_a_rerun_deliver_each_report_once(
    settings: Settings,
    db: Session,
    smtp: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    mailbox, port = smtp
    fill_store(settings.surveillance_dir, load_geography(settings.reference_dir))
    numbers = ["4601", "0301", "5001", "1103", "3005", "1106", "4204", "1804", "5401", "3024"]
    numbers += ["3025", "3020", "4627", "4624", "1507", "1506", "3803", "3806", "3411", "3407"]
    for number in numbers:
        doctor(db, number, f"lege{number}@example.no")
    db.commit()
    log = tmp_path / "send.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "korona", "surveillance", "send-reports", "--week", WEEK],
            env={**environment(settings, port), "COLUMNS": "120"},
            stdout=output,
            stderr=output,
        )

    def queued() -> int:
        db.expire_all()
        return int(db.scalar(select(func.count()).select_from(ReportDelivery)) or 0)

    try:
        wait_until(lambda: queued() >= 3 or process.poll() is not None, timeout=120, what="3")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
    db.rollback()
    before = queued()
    assert 3 <= before < len(numbers), log.read_text()

    output = cli(settings, monkeypatch, port, "surveillance", "send-reports", "--week", WEEK)
    assert f"│ {len(numbers)} │ {len(numbers) - before} │ {before} │" in output
    assert deliver(settings, port) == len(numbers)
    addresses = sorted(m["To"] for m in mailbox.wait_for(len(numbers)))
    assert addresses == sorted(f"lege{number}@example.no" for number in numbers)
    assert queued() == len(numbers)
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == len(numbers)


def test_alerts_list_new_high_signals_once_most_unusual_first(
    settings: Settings, db: Session, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    fill_store(settings.surveillance_dir, load_geography(settings.reference_dir))
    bergen = doctor(db, "4601", "lege.bergen@example.no")
    oslo = doctor(db, "0301", "lege.oslo@example.no")
    team = make_user(db, Role.OBSERVER, email="utbrudd.vestland@example.no")
    service.follow(
        service.Principal(user_id=team.id),
        team.id,
        "county46",
        [SubscriptionKind.ALERTS],
        session=db,
        known={"county46"},
    )
    db.commit()
    runtime = bootstrap(settings)
    try:
        first = queue_alerts(runtime, "sykdomspulsen")
        second = queue_alerts(runtime, "sykdomspulsen")
    finally:
        runtime.close()
    assert (first.signals, first.mails, first.told) == (2, 2, 4)
    assert (second.mails, second.told) == (0, 0)
    assert deliver(settings, port) == 2
    received = {m["To"]: m for m in mailbox.wait_for(2)}
    assert oslo.email not in received
    alert = received[bergen.email]
    assert re.fullmatch(
        r"<https?://\S+/subscriptions/unsubscribe/\d+/alerts/[0-9a-f]+>", alert["List-Unsubscribe"]
    )
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain = next(p for p in alert.walk() if p.get_content_type() == "text/plain")
    body = plain.get_payload(decode=True).decode()
    gastro, influenza = body.index("gastro"), body.index("influensa")
    assert gastro < influenza  # z-score 9 before 8
    assert "90 konsultasjoner for gastro i uke 2020-W20, mot 20 forventet" in body
    assert "svært uvanlig" in body
    subject = str(make_header(decode_header(received[team.email]["Subject"])))
    assert subject == "Signal: 2 nye høye signaler i områdene du følger (2020-W20)"


def test_dry_run_writes_html_and_pdf_and_queues_nothing(
    settings: Settings, db: Session, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fill_store(settings.surveillance_dir, load_geography(settings.reference_dir))
    user = doctor(db, "4601", "lege.bergen@example.no")
    db.commit()
    out = tmp_path / "reports"
    output = cli(
        settings,
        monkeypatch,
        25,
        "surveillance",
        "send-reports",
        "--week",
        WEEK,
        "--dry-run",
        "--out",
        str(out),
    )
    assert "│ 1 │ 0 │ 0 │ 2 │" in output
    assert sorted(p.name for p in out.iterdir()) == [
        f"{WEEK}-user{user.id}.html",
        f"{WEEK}-user{user.id}.pdf",
    ]
    assert pypdf.PdfReader(out / f"{WEEK}-user{user.id}.pdf").pages
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert db.scalar(select(func.count()).select_from(ReportDelivery)) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2020-W54"], "ISO year 2020 has no week 54"),
        (["--week", "uke 20"], "not an ISO week label"),
        (["--week", WEEK, "--dry-run"], "--dry-run and --out DIR go together"),
    ],
)
def test_bad_options_are_one_clear_line(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    for name, value in environment(settings, 25).items():
        if name.startswith("KORONA_"):
            monkeypatch.setenv(name, value)
    result = CliRunner().invoke(korona_app, ["surveillance", "send-reports", *args])
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
