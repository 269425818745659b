"""Queue the weekly reports and the signal alerts in the outbox, each at most once per key."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from korona.bootstrap import Runtime
from korona.config import Settings
from korona.db import utcnow
from korona.files import write_atomically
from korona.notify import service as notify
from korona.surveillance.geo import Geography, load_geography
from korona.surveillance.report.alerts import (
    AlertMail,
    HighSignal,
    area_codes,
    latest_high_signals,
    render_alert,
)
from korona.surveillance.report.data import WeeklyData
from korona.surveillance.report.render import RenderedReport, ReportRenderer, ReportRequest
from korona.surveillance.store import SurveillanceStore
from korona.surveillance_mail import service
from korona.surveillance_mail.models import AlertDelivery, ReportDelivery, SubscriptionKind


@dataclass
class ReportSummary:
    """What one ``send-reports`` did."""

    week: str
    subscribers: int = 0
    queued: int = 0
    already_queued: int = 0
    written: list[Path] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class AlertSummary:
    """What one round of alerts after a run did."""

    signals: int = 0
    subscribers: int = 0
    mails: int = 0
    told: int = 0


def _urls(settings: Settings, user_id: int, kind: SubscriptionKind) -> tuple[str, str]:
    base = settings.base_url.rstrip("/")
    path = service.unsubscribe_path(settings.secret_key.get_secret_value(), user_id, kind)
    return base + path, base + "/subscriptions"


def _insert_once(
    model: type[ReportDelivery | AlertDelivery], *, session: Session, **values: Any
) -> int | None:
    """Insert a delivery row unless its unique key is taken; return its id, or None if taken.

    INSERT … ON CONFLICT DO NOTHING on both databases: the unique key decides, also between
    two runs at once, and the transaction stays usable (no savepoint: pysqlite's savepoints
    would commit early).
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(model)
        .values(created_at=utcnow(), **values)
        .on_conflict_do_nothing()
        .returning(model.id)
    )
    return session.execute(statement).scalar_one_or_none()


def _queue_mail(
    model: type[ReportDelivery | AlertDelivery],
    delivery_ids: Sequence[int],
    subscriber: service.Subscriber,
    mail: RenderedReport | AlertMail,
    unsubscribe_url: str,
    *,
    session: Session,
    attachments: Sequence[notify.Attachment] = (),
) -> None:
    """Queue ``mail`` to a subscriber and point its delivery rows at the queued message (an
    empty ``unsubscribe_url``: the mail has no unsubscribe link)."""
    message = notify.queue(
        session=session,
        to=subscriber.email,
        subject=mail.subject,
        body=mail.text,
        html=mail.html,
        unsubscribe_url=unsubscribe_url or None,
        attachments=attachments,
    )
    session.execute(
        update(model).where(model.id.in_(delivery_ids)).values(outbox_message_id=message.id)
    )


def weekly_renderer(
    settings: Settings, week: str, geography: Geography | None = None
) -> ReportRenderer:
    """Return the renderer of a week's reports, reading the store once."""
    geography = geography or load_geography(settings.reference_dir)
    store = SurveillanceStore(settings.surveillance_dir)
    data = WeeklyData.build(store, geography, week)
    return ReportRenderer(data, base_url=settings.base_url)


def report_request(settings: Settings, subscriber: service.Subscriber) -> ReportRequest:
    """Return what a subscriber's report needs: name, language, places, links."""
    unsubscribe, account = _urls(settings, subscriber.user_id, SubscriptionKind.WEEKLY_REPORT)
    return ReportRequest(
        name=subscriber.name,
        language=subscriber.language,
        locations=subscriber.weekly,
        unsubscribe_url=unsubscribe,
        account_url=account,
    )


def queue_report(
    subscriber: service.Subscriber,
    week: str,
    request: ReportRequest,
    report: Callable[[ReportRequest], RenderedReport],
    *,
    session: Session,
) -> bool:
    """Queue one subscriber's report for a week in the caller's transaction, unless the week's
    unique key (user, week) is taken; return whether it was queued. ``report`` renders it only
    once the key is held."""
    delivery_id = _insert_once(
        ReportDelivery, session=session, user_id=subscriber.user_id, iso_week=week
    )
    if delivery_id is None:
        return False
    rendered = report(request)
    _queue_mail(
        ReportDelivery,
        [delivery_id],
        subscriber,
        rendered,
        request.unsubscribe_url,
        session=session,
        attachments=[notify.Attachment(rendered.filename, "application/pdf", rendered.pdf)],
    )
    return True


def _writer(content: bytes) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(content)


def send_reports(
    runtime: Runtime,
    week: str,
    *,
    out: Path | None = None,
    started: Callable[[int], None] = lambda _total: None,
    advance: Callable[[], None] = lambda: None,
) -> ReportSummary:
    """Queue every subscriber's weekly report for ``week`` (or, with ``out``, write the HTML and
    PDF files there and queue nothing). One transaction per subscriber: a crash keeps what was
    queued, and a rerun queues only the rest (the unique key (user, week) decides).

    Reports already queued for the week are not laid out again (read once, up front); the
    unique key still decides, so a run racing another queues nothing twice.
    """
    clock = time.perf_counter()
    summary = ReportSummary(week)
    with runtime.unit_of_work() as session:
        subscribers = [s for s in service.subscribers(session=session) if s.weekly]
        done = set(
            session.scalars(select(ReportDelivery.user_id).where(ReportDelivery.iso_week == week))
        )
    summary.subscribers = len(subscribers)
    settings = runtime.settings
    renderer = weekly_renderer(settings, week)
    started(len(subscribers))
    if out is None:
        summary.already_queued = sum(1 for s in subscribers if s.user_id in done)
        for _ in range(summary.already_queued):
            advance()
        subscribers = [s for s in subscribers if s.user_id not in done]
    for subscriber in subscribers:
        request = report_request(settings, subscriber)
        if out is not None:
            rendered = renderer.render(request)
            stem = out / f"{week}-user{subscriber.user_id}"
            for suffix, content in ((".html", rendered.html.encode()), (".pdf", rendered.pdf)):
                path = stem.with_suffix(suffix)
                write_atomically(path, _writer(content))
                summary.written.append(path)
        else:
            with runtime.unit_of_work() as session:
                queued = queue_report(subscriber, week, request, renderer.render, session=session)
            if queued:
                summary.queued += 1
            else:
                summary.already_queued += 1
        advance()
    summary.seconds = time.perf_counter() - clock
    return summary


def queue_alerts(runtime: Runtime, method: str) -> AlertSummary:
    """Queue one alert e-mail per subscriber listing the new high signals of the latest week in
    the areas they follow; a signal already told to a user (unique key) is left out."""
    settings = runtime.settings
    geography = load_geography(settings.reference_dir)
    signals = latest_high_signals(SurveillanceStore(settings.surveillance_dir), geography, method)
    summary = AlertSummary(signals=len(signals))
    if not signals:
        return summary
    with runtime.unit_of_work() as session:
        subscribers = [s for s in service.subscribers(session=session) if s.alerts]
    summary.subscribers = len(subscribers)
    for subscriber in subscribers:
        area = area_codes(geography, subscriber.alerts)
        mine = [s for s in signals if s.location_code in area]
        if not mine:
            continue
        with runtime.unit_of_work() as session:
            told = _queue_alert(runtime, session, subscriber, mine)
        if told:
            summary.mails += 1
            summary.told += told
    return summary


def _queue_alert(
    runtime: Runtime, session: Session, subscriber: service.Subscriber, signals: list[HighSignal]
) -> int:
    deliveries = []
    new = []
    for signal in signals:
        delivery_id = _insert_once(
            AlertDelivery, session=session, user_id=subscriber.user_id, signal_key=signal.key
        )
        if delivery_id is not None:
            deliveries.append(delivery_id)
            new.append(signal)
    if not new:
        return 0
    unsubscribe, _ = _urls(runtime.settings, subscriber.user_id, SubscriptionKind.ALERTS)
    mail = render_alert(
        new,
        name=subscriber.name,
        language=subscriber.language,
        base_url=runtime.settings.base_url,
        unsubscribe_url=unsubscribe,
    )
    _queue_mail(AlertDelivery, deliveries, subscriber, mail, unsubscribe, session=session)
    return len(new)
