"""Letters of measures and needs: "delivered" to reporters and proposers, review reminders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.permissions import Principal
from korona.db import utcnow
from korona.errors import N_, InvalidInput
from korona.notify import service as outbox
from korona.portfolio.intake.models import Input, InputNeed
from korona.portfolio.measure.models import Measure, NoticeKind, NoticeTemplate, ReviewReminder
from korona.portfolio.need.models import Need, NeedStatus
from korona.portfolio.templates import (
    LANGUAGES,
    check_fields,
    fill_fields,
    find_template,
    template_text,
)

#: The fields a template may use.
FIELDS = ("name", "measure", "owner", "needs", "measure_url", "need", "review_by_date", "need_url")

DEFAULT_NOTICES: dict[tuple[NoticeKind, str], tuple[str, str]] = {
    (NoticeKind.DELIVERED, "nb"): (
        "Tiltaket «{measure}» er levert",
        "Hei {name},\n\nTiltaket «{measure}» ({owner}) er levert. Det dekker behovene: "
        "{needs}.\n\nLes mer: {measure_url}\n\nVennlig hilsen\nkoronaporteføljen, "
        "porteføljekontoret",
    ),
    (NoticeKind.DELIVERED, "en"): (
        'The measure "{measure}" is delivered',
        'Hello {name},\n\nThe measure "{measure}" ({owner}) has been delivered. It covers the '
        "needs: {needs}.\n\nRead more: {measure_url}\n\nKind regards\nThe koronaportefølje "
        "portfolio office",
    ),
    (NoticeKind.REVIEW_DUE, "nb"): (
        "Behovet «{need}» skulle vært revidert {review_by_date}",
        "Hei {name},\n\nBehovet «{need}» hadde revisjonsdato {review_by_date}. Er behovet "
        "fortsatt aktuelt? Oppdater det eller be porteføljekontoret sette det som utgått.\n\n"
        "{need_url}\n\nVennlig hilsen\nkoronaporteføljen, porteføljekontoret",
    ),
    (NoticeKind.REVIEW_DUE, "en"): (
        'The need "{need}" was due for review on {review_by_date}',
        'Hello {name},\n\nThe need "{need}" was due for review on {review_by_date}. Is it still '
        "current? Update it, or ask the portfolio office to mark it expired.\n\n{need_url}\n\n"
        "Kind regards\nThe koronaportefølje portfolio office",
    ),
}


def get_template(kind: NoticeKind, language: str, *, session: Session) -> tuple[str, str]:
    """Return (subject, body) of a letter in a language, falling back to the defaults."""
    return template_text(NoticeTemplate.kind, kind, language, DEFAULT_NOTICES, session=session)


def save_template(
    principal: Principal,
    kind: NoticeKind,
    language: str,
    subject: str,
    body: str,
    *,
    session: Session,
) -> NoticeTemplate:
    """Store an edited template (subject and body are checked for known fields)."""
    if language not in LANGUAGES:
        raise InvalidInput(N_("Unknown language {language}"), field="language", language=language)
    check_fields(subject, FIELDS)
    check_fields(body, FIELDS)
    row = find_template(NoticeTemplate.kind, kind, language, session=session)
    before = {"subject": row.subject, "body": row.body} if row else None
    if row is None:
        row = NoticeTemplate(kind=kind, language=language, subject=subject, body=body)
        session.add(row)
    row.subject, row.body, row.updated_at = subject, body, utcnow()
    session.flush()
    audit.record(
        principal,
        AuditAction.UPDATE,
        "notice_template",
        f"{kind.value}:{language}",
        session=session,
        before=before,
        after={"subject": subject, "body": body},
    )
    return row


def fill(text: str, values: Mapping[str, Any]) -> str:
    """Fill in ``{field}`` values; a field without a value becomes empty text."""
    return fill_fields(text, values, FIELDS)


@dataclass(frozen=True)
class Recipient:
    """Who gets a letter, in which language."""

    email: str
    name: str
    language: str


def delivered_recipients(measure: Measure, *, session: Session) -> list[Recipient]:
    """Return the reporters of the covered needs and the proposers of linked inputs, once each."""
    found: dict[str, Recipient] = {}
    needs = [link.need for link in measure.need_links]
    for need in needs:
        if need.created_by is not None:
            user = need.created_by
            found.setdefault(user.email.lower(), Recipient(user.email, user.name, user.language))
    input_ids = set(
        session.scalars(
            select(InputNeed.input_id).where(InputNeed.need_id.in_([need.id for need in needs]))
        )
    )
    if measure.input_id:
        input_ids.add(measure.input_id)
    if input_ids:
        for item in session.scalars(
            select(Input).where(Input.id.in_(input_ids)).order_by(Input.id)
        ):
            found.setdefault(
                item.contact_email.lower(),
                Recipient(item.contact_email, item.contact_name, item.language),
            )
    return list(found.values())


def send_delivered_letters(measure: Measure, *, session: Session, base_url: str) -> int:
    """Queue the "delivered" letter to every recipient; return how many were queued."""
    recipients = delivered_recipients(measure, session=session)
    values = {
        "measure": measure.title,
        "owner": measure.owner.name if measure.owner else "",
        "needs": "; ".join(link.need.title for link in measure.need_links),
        "measure_url": f"{base_url}/measures/{measure.id}",
    }
    for recipient in recipients:
        subject, body = get_template(NoticeKind.DELIVERED, recipient.language, session=session)
        filled = values | {"name": recipient.name}
        outbox.queue(
            session=session,
            to=recipient.email,
            subject=fill(subject, filled),
            body=fill(body, filled),
        )
    return len(recipients)


def remind_reviews(*, session: Session, today: date, base_url: str) -> int:
    """Queue one reminder per need past its review date; a need is reminded once per date.

    The (need, review date) unique key makes a second run on the same day, or a run that
    races another, send nothing twice: a changed review date earns a new reminder.
    """
    already = select(ReviewReminder.id).where(
        ReviewReminder.need_id == Need.id, ReviewReminder.review_by_date == Need.review_by_date
    )
    due = session.scalars(
        select(Need)
        .where(
            Need.review_by_date.is_not(None),
            Need.review_by_date < today,
            Need.status != NeedStatus.EXPIRED,
            ~already.exists(),
        )
        .order_by(Need.id)
    ).all()
    sent = 0
    for need in due:
        assert need.review_by_date is not None
        reporter = need.created_by
        message_id = None
        if reporter is not None:
            subject, body = get_template(NoticeKind.REVIEW_DUE, reporter.language, session=session)
            values = {
                "name": reporter.name,
                "need": need.title,
                "review_by_date": need.review_by_date.isoformat(),
                "need_url": f"{base_url}/needs/{need.id}",
            }
            message = outbox.queue(
                session=session,
                to=reporter.email,
                subject=fill(subject, values),
                body=fill(body, values),
            )
            message_id = message.id
            sent += 1
        session.add(
            ReviewReminder(
                need_id=need.id,
                review_by_date=need.review_by_date,
                outbox_message_id=message_id,
                sent_at=utcnow(),
            )
        )
        session.flush()
    return sent
