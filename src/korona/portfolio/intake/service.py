"""Input use cases: submit, private status links, letters to the submitter, lists and export."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.models import Organisation
from korona.auth.permissions import Principal
from korona.auth.service import normalise_email
from korona.config import Settings
from korona.db import utcnow
from korona.errors import N_, Conflict, InvalidInput, NotFound
from korona.notify import service as notify
from korona.portfolio.category import category_codes
from korona.portfolio.intake import attachments, letters
from korona.portfolio.intake.models import (
    Input,
    InputAttachment,
    InputKind,
    InputMessage,
    InputNeed,
    InputStatus,
    LetterKind,
)
from korona.portfolio.intake.schemas import InputCreate, InputRead
from korona.portfolio.need.models import Need
from korona.tabular import Coded

ENTITY = "input"
REFERENCE_PREFIX = "INN"


@dataclass(frozen=True)
class StatusLinks:
    """Makes and checks the private status links (unguessable, derived with the secret key).

    The token is an HMAC of the input's id and a random salt, so the database holds nothing a
    thief could use as a link, and a new salt revokes the old link.
    """

    base_url: str
    secret: str

    def token(self, item: Input) -> str:
        """Return the private status token of an input."""
        mac = hmac.new(
            self.secret.encode(), f"input:{item.id}:{item.token_salt}".encode(), hashlib.sha256
        ).hexdigest()[:32]
        return f"{item.id}-{mac}"

    def url(self, item: Input) -> str:
        """Return the full private status link of an input."""
        return f"{self.base_url.rstrip('/')}/inputs/status/{self.token(item)}"


@dataclass(frozen=True)
class Submission:
    """Everything a submitter sends besides the form fields."""

    attachments: Sequence[attachments.Upload] = ()
    attachment_dir: Path | None = None
    #: Imports register inputs received elsewhere: the organisation comes from the data, not
    #: from the importing user, and the receipt may be left out.
    imported: bool = False
    received_at: datetime | None = None
    send_receipt: bool = True
    #: The caller (an import) checked the need ids and the external reference for all its
    #: rows at once, so they are not asked again row by row.
    checked_in_bulk: bool = False


def reference_for(item: Input) -> str:
    """Return the reference number of a flushed input, e.g. INN-2026-0001.

    Built from the row id, so two submissions at the same instant can never get the same
    number (a "highest this year + 1" counter could); numbers run on across years.
    """
    return f"{REFERENCE_PREFIX}-{item.received_at.year}-{item.id:04d}"


def check_needs(session: Session, need_ids: Sequence[int]) -> list[int]:
    """Return the distinct need ids sorted, or raise if one does not exist."""
    wanted = sorted(set(need_ids))
    found = set(session.scalars(select(Need.id).where(Need.id.in_(wanted)))) if wanted else set()
    for need_id in wanted:
        if need_id not in found:
            raise InvalidInput(N_("Need {id} does not exist"), field="need_ids", id=need_id)
    return wanted


def check_categories(session: Session, codes: Sequence[str]) -> list[str]:
    """Return the category codes without repeats, or raise at the first unknown one."""
    known = category_codes(session)
    for code in codes:
        if code not in known:
            raise InvalidInput(N_("Unknown category '{code}'"), field="categories", code=code)
    return list(dict.fromkeys(codes))


def _organisation(
    session: Session, principal: Principal, data: InputCreate
) -> tuple[int | None, str, bool]:
    """Return (organisation id, name, is public): the user's own, or what the form says."""
    if principal.organisation_id is not None:
        organisation = session.get(Organisation, principal.organisation_id)
        assert organisation is not None
        return organisation.id, organisation.name, organisation.kind.is_public
    check_organisation_fields(data.organisation_name, data.is_public)
    assert data.organisation_name is not None and data.is_public is not None
    return None, data.organisation_name, data.is_public


def check_organisation_fields(organisation_name: str | None, is_public: bool | None) -> None:
    """Raise unless a submitter without an account named the organisation and its kind."""
    check_organisation_name(organisation_name)
    check_public_or_private(is_public)


def check_organisation_name(organisation_name: str | None) -> None:
    """Raise unless the submitting organisation is named."""
    if not organisation_name:
        raise InvalidInput(N_("Name the submitting organisation"), field="organisation_name")


def check_public_or_private(is_public: bool | None) -> None:
    """Raise unless the submitter said whether the organisation is public or private."""
    if is_public is None:
        raise InvalidInput(
            N_("Say whether the organisation is public or private"), field="is_public"
        )


def _check_external_ref(session: Session, external_ref: str | None) -> None:
    if external_ref and session.scalar(select(Input.id).where(Input.external_ref == external_ref)):
        raise Conflict(
            N_("An input with reference {ref} exists already"),
            field="external_ref",
            ref=external_ref,
        )


def _store_attachments(
    session: Session,
    item: Input,
    checked: Sequence[attachments.CheckedFile],
    directory: Path | None,
) -> None:
    if directory is None:
        raise InvalidInput(N_("Attachments cannot be stored here"), field="attachments")
    for file in checked:
        session.add(
            InputAttachment(
                input_id=item.id,
                filename=file.filename,
                media_type=file.media_type,
                size_bytes=file.size_bytes,
                sha256=file.sha256,
                storage_name=attachments.store(session, directory, file),
            )
        )


def submit_input(
    session: Session,
    principal: Principal,
    data: InputCreate,
    links: StatusLinks,
    submission: Submission | None = None,
) -> Input:
    """Register an input from anyone, store its attachments and send the receipt."""
    submission = submission or Submission()
    checked = [attachments.check(upload) for upload in submission.attachments]
    email = normalise_email(data.contact_email)
    categories = check_categories(session, data.categories)
    if submission.checked_in_bulk:
        need_ids = sorted(set(data.need_ids))
    else:
        need_ids = check_needs(session, data.need_ids)
        _check_external_ref(session, data.external_ref)
    organisation_id, organisation_name, is_public = _organisation(
        session, Principal() if submission.imported else principal, data
    )
    now = utcnow()
    item = Input(
        reference=f"pending-{secrets.token_hex(6)}",  # replaced below, once the id is known
        external_ref=data.external_ref,
        kind=data.kind,
        title=data.title,
        description=data.description,
        organisation_id=organisation_id,
        organisation_name=organisation_name,
        is_public=is_public,
        commercial=data.commercial,
        categories=categories,
        effort_hospitals=data.effort_hospitals,
        effort_municipalities=data.effort_municipalities,
        contact_name=data.contact_name,
        contact_email=email,
        language=data.language,
        submitted_by_id=None if submission.imported else principal.user_id,
        token_salt=secrets.token_hex(16),
        status=InputStatus.RECEIVED,
        received_at=submission.received_at or now,
        updated_at=now,
        need_links=[InputNeed(need_id=need_id) for need_id in need_ids],
    )
    session.add(item)
    session.flush()
    item.reference = reference_for(item)  # written by the next flush
    if checked:
        _store_attachments(session, item, checked, submission.attachment_dir)
    audit.record(
        session,
        principal,
        AuditAction.CREATE,
        ENTITY,
        item.id,
        after=audit.snapshot(item, exclude={"token_salt"}) | {"need_ids": need_ids},
    )
    if submission.send_receipt:
        send_letter(session, item, LetterKind.RECEIPT, links)
    return item


def letter_values(item: Input, links: StatusLinks, **extra: Any) -> dict[str, Any]:
    """Return the values a letter about this input may use."""
    return {
        "reference": item.reference,
        "title": item.title,
        "contact_name": item.contact_name,
        "status_url": links.url(item),
        **extra,
    }


def send_letter(
    session: Session, item: Input, letter: LetterKind, links: StatusLinks, **values: Any
) -> InputMessage:
    """Write a letter from its template to the submitter: e-mail via the outbox + status page."""
    subject_template, body_template = letters.get_template(session, letter, item.language)
    filled = letter_values(item, links, **values)
    subject = letters.fill(subject_template, filled)
    body = letters.fill(body_template, filled)
    outbox = notify.queue(session, to=item.contact_email, subject=subject, body=body)
    message = InputMessage(
        input_id=item.id,
        letter=letter,
        subject=subject,
        body=body,
        outbox_message_id=outbox.id,
        created_at=utcnow(),
    )
    session.add(message)
    if letter != LetterKind.RECEIPT and item.first_feedback_at is None:
        item.first_feedback_at = message.created_at
    session.flush()
    return message


def get_input(session: Session, input_id: int) -> Input:
    """Return the input or raise NotFound."""
    item = session.get(Input, input_id)
    if item is None:
        raise NotFound(N_("Input {id} does not exist"), id=input_id)
    return item


def find_by_token(session: Session, links: StatusLinks, token: str) -> Input:
    """Return the input a private status token belongs to, or raise NotFound."""
    # Only ASCII can be a real link: int() would read '²' as 2, and compare_digest refuses
    # non-ASCII strings with a TypeError.
    if not token.isascii():
        raise NotFound(N_("No input has this status link"))
    raw_id, _, _ = token.partition("-")
    item = session.get(Input, int(raw_id)) if raw_id.isdigit() and len(raw_id) < 12 else None
    if item is None or not hmac.compare_digest(links.token(item), token):
        raise NotFound(N_("No input has this status link"))
    return item


def messages(session: Session, input_id: int) -> Sequence[InputMessage]:
    """Return the messages sent to the submitter, oldest first."""
    statement = (
        select(InputMessage).where(InputMessage.input_id == input_id).order_by(InputMessage.id)
    )
    return session.scalars(statement).all()


def attachments_of(session: Session, input_id: int) -> Sequence[InputAttachment]:
    """Return the input's attachments."""
    statement = (
        select(InputAttachment)
        .where(InputAttachment.input_id == input_id)
        .order_by(InputAttachment.id)
    )
    return session.scalars(statement).all()


def get_attachment(session: Session, input_id: int, attachment_id: int) -> InputAttachment:
    """Return one attachment of an input or raise NotFound."""
    attachment = session.get(InputAttachment, attachment_id)
    if attachment is None or attachment.input_id != input_id:
        raise NotFound(N_("Attachment {id} does not exist"), id=attachment_id)
    return attachment


def merged_into(session: Session, input_id: int) -> Sequence[Input]:
    """Return the inputs merged into this one as duplicates."""
    statement = select(Input).where(Input.duplicate_of_id == input_id).order_by(Input.id)
    return session.scalars(statement).all()


def inputs_for_need(session: Session, need_id: int) -> Sequence[Input]:
    """Return the inputs linked to a need, oldest first."""
    statement = (
        select(Input)
        .join(InputNeed, InputNeed.input_id == Input.id)
        .where(InputNeed.need_id == need_id)
        .order_by(Input.id)
    )
    return session.scalars(statement).unique().all()


def needs_of(session: Session, item: Input) -> Sequence[Need]:
    """Return the needs an input is linked to, by title."""
    if not item.need_ids:
        return []
    return session.scalars(
        select(Need).where(Need.id.in_(item.need_ids)).order_by(Need.title)
    ).all()


def inputs_of_user(session: Session, user_id: int) -> Sequence[Input]:
    """Return the inputs a user submitted, newest first."""
    statement = select(Input).where(Input.submitted_by_id == user_id).order_by(Input.id.desc())
    return session.scalars(statement).all()


@dataclass(frozen=True)
class InputFilter:
    """Filters of input lists and exports."""

    status: InputStatus | None = None
    kind: InputKind | None = None
    category: str | None = None
    text: str | None = None


def list_inputs(session: Session, filters: InputFilter | None = None) -> list[Input]:
    """Return inputs matching the filters, oldest first (the order they were received)."""
    filters = filters or InputFilter()
    statement = select(Input)
    if filters.status:
        statement = statement.where(Input.status == filters.status)
    if filters.kind:
        statement = statement.where(Input.kind == filters.kind)
    if filters.text:
        pattern = f"%{filters.text.strip()}%"
        statement = statement.where(
            or_(
                Input.title.ilike(pattern),
                Input.description.ilike(pattern),
                Input.reference.ilike(pattern),
                Input.organisation_name.ilike(pattern),
            )
        )
    found = list(session.scalars(statement.order_by(Input.received_at, Input.id)).unique())
    if filters.category:
        found = [item for item in found if filters.category in item.categories]
    return found


def to_read(item: Input) -> InputRead:
    """Return the read model of an input."""
    return InputRead.model_validate(item)


EXPORT_COLUMNS = (
    "reference",
    "kind",
    "title",
    "organisation",
    "sector",
    "commercial",
    "categories",
    "needs",
    "effort_hospitals",
    "effort_municipalities",
    "status",
    "covered_by",
    "duplicate_of",
    "working_group",
    "outcome_note",
    "received_at",
    "first_feedback_at",
    "link",
)


def export_rows(items: Sequence[Input], base_url: str) -> list[list[Any]]:
    """Return inputs as rows of EXPORT_COLUMNS (plain values; see korona.tabular), with links
    to the office's input pages."""
    base = base_url.rstrip("/")
    return [
        [
            item.reference,
            item.kind,
            item.title,
            item.organisation_name,
            Coded("public", N_("Public")) if item.is_public else Coded("private", N_("Private")),
            item.commercial,
            item.categories,
            [f"{base}/needs/{n}" for n in item.need_ids],
            item.effort_hospitals,
            item.effort_municipalities,
            item.status,
            f"{item.covered_by.name} ({base}/solutions/{item.covered_by_id})"
            if item.covered_by
            else "",
            item.duplicate_of.reference if item.duplicate_of else "",
            item.working_group or "",
            item.outcome_note or "",
            item.received_at,
            item.first_feedback_at,
            f"{base}/inputs/{item.id}",
        ]
        for item in items
    ]


def input_history(session: Session, input_id: int) -> Sequence[audit.AuditEntry]:
    """Return every recorded change to the input, oldest first."""
    return audit.history(session, ENTITY, input_id)


def status_links(settings: Settings) -> StatusLinks:
    """Return the status-link maker for the app's base URL and secret key."""
    return StatusLinks(settings.base_url, settings.secret_key.get_secret_value())


def find_by_reference(session: Session, reference: str) -> Input:
    """Return the input with this reference number (e.g. INN-2026-0001) or raise NotFound."""
    item = session.scalar(select(Input).where(Input.reference == reference.strip().upper()))
    if item is None:
        raise NotFound(
            N_("No input has reference number {reference}"),
            field="duplicate_of_id",
            reference=reference,
        )
    return item
