"""Input use cases: submit and letters to the submitter.

The private status links live in ``intake.links`` and the reading side (one input, lists,
export) in ``intake.queries``; their names are available here too, as before.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.models import Organisation
from korona.auth.permissions import Principal
from korona.auth.service import normalise_email
from korona.db import utcnow
from korona.errors import N_, InvalidInput
from korona.notify import service as notify
from korona.portfolio.category import category_codes
from korona.portfolio.intake import attachments, letters
from korona.portfolio.intake.links import StatusLinks, status_links
from korona.portfolio.intake.models import (
    Input,
    InputAttachment,
    InputMessage,
    InputNeed,
    InputStatus,
    LetterKind,
)
from korona.portfolio.intake.queries import (
    EXPORT_COLUMNS,
    InputFilter,
    attachments_of,
    export_rows,
    find_by_reference,
    find_by_token,
    get_attachment,
    get_input,
    input_history,
    inputs_for_need,
    inputs_of_user,
    list_inputs,
    merged_into,
    messages,
    needs_of,
    page_inputs,
    to_read,
)
from korona.portfolio.intake.schemas import InputCreate
from korona.portfolio.need.models import Need
from korona.portfolio.rows import refuse_taken_ref

__all__ = [
    "EXPORT_COLUMNS",
    "InputFilter",
    "StatusLinks",
    "attachments_of",
    "export_rows",
    "find_by_reference",
    "find_by_token",
    "get_attachment",
    "get_input",
    "input_history",
    "inputs_for_need",
    "inputs_of_user",
    "list_inputs",
    "merged_into",
    "messages",
    "needs_of",
    "page_inputs",
    "status_links",
    "to_read",
]

ENTITY = "input"
REFERENCE_PREFIX = "INN"


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


def check_needs(need_ids: Sequence[int], *, session: Session) -> list[int]:
    """Return the distinct need ids sorted, or raise if one does not exist."""
    wanted = sorted(set(need_ids))
    found = set(session.scalars(select(Need.id).where(Need.id.in_(wanted)))) if wanted else set()
    for need_id in wanted:
        if need_id not in found:
            raise InvalidInput(N_("Need {id} does not exist"), field="need_ids", id=need_id)
    return wanted


def check_categories(codes: Sequence[str], *, session: Session) -> list[str]:
    """Return the category codes without repeats, or raise at the first unknown one."""
    known = category_codes(session=session)
    for code in codes:
        if code not in known:
            raise InvalidInput(N_("Unknown category '{code}'"), field="categories", code=code)
    return list(dict.fromkeys(codes))


def _organisation(
    principal: Principal, data: InputCreate, *, session: Session
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


def _store_attachments(
    item: Input,
    checked: Sequence[attachments.CheckedFile],
    directory: Path | None,
    *,
    session: Session,
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
                storage_name=attachments.store(directory, file, session=session),
            )
        )


def submit_input(
    principal: Principal,
    data: InputCreate,
    links: StatusLinks,
    submission: Submission | None = None,
    *,
    session: Session,
) -> Input:
    """Register an input from anyone, store its attachments and send the receipt."""
    submission = submission or Submission()
    checked = [attachments.check(upload) for upload in submission.attachments]
    email = normalise_email(data.contact_email)
    categories = check_categories(data.categories, session=session)
    if submission.checked_in_bulk:
        need_ids = sorted(set(data.need_ids))
    else:
        need_ids = check_needs(data.need_ids, session=session)
        refuse_taken_ref(
            Input,
            data.external_ref,
            N_("An input with reference {ref} exists already"),
            session=session,
        )
    organisation_id, organisation_name, is_public = _organisation(
        Principal() if submission.imported else principal, data, session=session
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
        _store_attachments(item, checked, submission.attachment_dir, session=session)
    audit.record(
        principal,
        AuditAction.CREATE,
        ENTITY,
        item.id,
        session=session,
        after=audit.snapshot(item, exclude={"token_salt"}) | {"need_ids": need_ids},
    )
    if submission.send_receipt:
        send_letter(item, LetterKind.RECEIPT, links, session=session)
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
    item: Input, letter: LetterKind, links: StatusLinks, *, session: Session, **values: Any
) -> InputMessage:
    """Write a letter from its template to the submitter: e-mail via the outbox + status page."""
    subject_template, body_template = letters.get_template(letter, item.language, session=session)
    filled = letter_values(item, links, **values)
    subject = letters.fill(subject_template, filled)
    body = letters.fill(body_template, filled)
    outbox = notify.queue(session=session, to=item.contact_email, subject=subject, body=body)
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
