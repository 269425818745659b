"""Triage of inputs by the portfolio office: link, covered, duplicate, assess, decline; stats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.permissions import Principal
from korona.db import utcnow
from korona.errors import N_, Conflict, InvalidInput
from korona.portfolio.assessment import service as assessment
from korona.portfolio.intake import letters
from korona.portfolio.intake import service as intake
from korona.portfolio.intake.models import (
    Input,
    InputNeed,
    InputStatus,
    LetterKind,
    LetterTemplate,
)
from korona.portfolio.intake.service import StatusLinks
from korona.portfolio.matching import DocumentKind, Match, MatchIndex
from korona.portfolio.solution import service as solutions

ENTITY = intake.ENTITY


class TriageAction(StrEnum):
    """What the portfolio office can do with one input or many at once."""

    LINK_NEEDS = "link_needs"  # knytt til behov
    COVERED = "covered"  # dekket av eksisterende løsning
    DUPLICATE = "duplicate"  # duplikat av et annet innspill
    WORKING_GROUP = "working_group"  # send til arbeidsgruppe
    DECLINE = "decline"  # avslå


#: Where an input may go from each status; merged and declined inputs are final.
INPUT_TRANSITIONS: dict[InputStatus, frozenset[InputStatus]] = {
    InputStatus.RECEIVED: frozenset(
        {
            InputStatus.IN_ASSESSMENT,
            InputStatus.COVERED,
            InputStatus.DUPLICATE,
            InputStatus.DECLINED,
        }
    ),
    InputStatus.IN_ASSESSMENT: frozenset(
        {InputStatus.COVERED, InputStatus.DUPLICATE, InputStatus.DECLINED}
    ),
    InputStatus.COVERED: frozenset({InputStatus.IN_ASSESSMENT}),
    InputStatus.DUPLICATE: frozenset(),
    InputStatus.DECLINED: frozenset(),
}


@dataclass(frozen=True)
class TriageRequest:
    """One triage action with its parameters (only those the action needs are read)."""

    action: TriageAction
    need_ids: tuple[int, ...] = ()
    solution_id: int | None = None
    duplicate_of_id: int | None = None
    working_group_id: int | None = None
    reason: str = ""


def _move(
    session: Session, item: Input, status: InputStatus, **fields: object
) -> dict[str, object]:
    if status not in INPUT_TRANSITIONS[item.status]:
        raise Conflict(
            N_("Input {reference} cannot go from {current} to {new}"),
            field="action",
            reference=item.reference,
            current=item.status.value,
            new=status.value,
        )
    before = audit.snapshot(item, exclude={"token_salt"})
    item.status = status
    for key, value in fields.items():
        setattr(item, key, value)
    item.updated_at = utcnow()
    session.flush()
    return before


def _record_status(
    session: Session, principal: Principal, item: Input, before: dict[str, object]
) -> None:
    audit.record(
        session,
        principal,
        AuditAction.STATUS,
        ENTITY,
        item.id,
        before=before,
        after=audit.snapshot(item, exclude={"token_salt"}),
    )


def link_needs(
    session: Session, principal: Principal, input_id: int, need_ids: Sequence[int]
) -> Input:
    """Link an input to needs it addresses (links already there are kept)."""
    item = intake.get_input(session, input_id)
    if not need_ids:
        raise InvalidInput(N_("Choose at least one need"), field="need_ids")
    wanted = intake.check_needs(session, need_ids)
    before = item.need_ids
    for need_id in wanted:
        if need_id not in before:
            item.need_links.append(InputNeed(need_id=need_id))
    item.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        principal,
        AuditAction.UPDATE,
        ENTITY,
        item.id,
        before={"need_ids": before},
        after={"need_ids": item.need_ids},
    )
    return item


def _reason(reason: str, *, required: bool) -> str:
    text = reason.strip()
    if required and len(text) < 3:
        raise InvalidInput(N_("Give a reason for the submitter"), field="reason")
    return text[:2000]


def mark_covered(
    session: Session,
    principal: Principal,
    input_id: int,
    solution_id: int | None,
    reason: str,
    links: StatusLinks,
) -> Input:
    """Mark an input as covered by an existing solution and send the feedback letter."""
    if solution_id is None:
        raise InvalidInput(N_("Choose the existing solution"), field="solution_id")
    solution = solutions.get_solution(session, solution_id)
    item = intake.get_input(session, input_id)
    why = _reason(reason, required=True)
    before = _move(
        session,
        item,
        InputStatus.COVERED,
        covered_by_id=solution.id,
        outcome_note=why,
    )
    intake.send_letter(
        session,
        item,
        LetterKind.COVERED,
        links,
        solution=solution.name,
        solution_url=solution.url or links.base_url.rstrip("/") + f"/solutions/{solution.id}",
        reason=why,
    )
    _record_status(session, principal, item, before)
    return item


def mark_duplicate(
    session: Session,
    principal: Principal,
    input_id: int,
    kept_id: int | None,
    reason: str,
    links: StatusLinks,
) -> Input:
    """Merge an input into the kept one: both keep their history, the submitter is told."""
    if kept_id is None:
        raise InvalidInput(N_("Choose the input to keep"), field="duplicate_of_id")
    if kept_id == input_id:
        raise InvalidInput(N_("An input cannot be a duplicate of itself"), field="duplicate_of_id")
    kept = intake.get_input(session, kept_id)
    if kept.status == InputStatus.DUPLICATE:
        raise Conflict(
            N_("Input {reference} is itself merged; choose the input it was merged into"),
            field="duplicate_of_id",
            reference=kept.reference,
        )
    item = intake.get_input(session, input_id)
    why = _reason(reason, required=False)
    before = _move(
        session,
        item,
        InputStatus.DUPLICATE,
        duplicate_of_id=kept.id,
        outcome_note=why or None,
    )
    # Inputs merged into this one follow it to the kept input, so every chain has one head.
    for earlier in intake.merged_into(session, item.id):
        earlier.duplicate_of_id = kept.id
    intake.send_letter(
        session,
        item,
        LetterKind.DUPLICATE,
        links,
        kept_reference=kept.reference,
        kept_title=kept.title,
        reason=why,
    )
    _record_status(session, principal, item, before)
    merged = [other.reference for other in intake.merged_into(session, kept.id)]
    audit.record(
        session,
        principal,
        AuditAction.UPDATE,
        ENTITY,
        kept.id,
        before={"merged": [ref for ref in merged if ref != item.reference]},
        after={"merged": merged},
    )
    return item


def send_to_working_group(
    session: Session,
    principal: Principal,
    input_id: int,
    working_group_id: int | None,
    links: StatusLinks,
) -> Input:
    """Send an input to a working group (arbeidsgruppe) for assessment."""
    if working_group_id is None:
        raise InvalidInput(N_("Choose the working group"), field="working_group_id")
    group = assessment.get_group(session, working_group_id)
    item = intake.get_input(session, input_id)
    before = _move(session, item, InputStatus.IN_ASSESSMENT, working_group_id=group.id)
    intake.send_letter(session, item, LetterKind.IN_ASSESSMENT, links, working_group=group.name)
    _record_status(session, principal, item, before)
    return item


def decline(
    session: Session, principal: Principal, input_id: int, reason: str, links: StatusLinks
) -> Input:
    """Decline an input with a reason the submitter is told."""
    item = intake.get_input(session, input_id)
    why = _reason(reason, required=True)
    before = _move(session, item, InputStatus.DECLINED, outcome_note=why)
    intake.send_letter(session, item, LetterKind.DECLINED, links, reason=why)
    _record_status(session, principal, item, before)
    return item


def apply(
    session: Session,
    principal: Principal,
    input_ids: Sequence[int],
    request: TriageRequest,
    links: StatusLinks,
) -> list[Input]:
    """Apply one action to every listed input, all or nothing (one transaction)."""
    if not input_ids:
        raise InvalidInput(N_("Choose at least one input"), field="input_ids")
    done = []
    for input_id in dict.fromkeys(input_ids):
        match request.action:
            case TriageAction.LINK_NEEDS:
                done.append(link_needs(session, principal, input_id, request.need_ids))
            case TriageAction.COVERED:
                done.append(
                    mark_covered(
                        session, principal, input_id, request.solution_id, request.reason, links
                    )
                )
            case TriageAction.DUPLICATE:
                done.append(
                    mark_duplicate(
                        session,
                        principal,
                        input_id,
                        request.duplicate_of_id,
                        request.reason,
                        links,
                    )
                )
            case TriageAction.WORKING_GROUP:
                done.append(
                    send_to_working_group(
                        session, principal, input_id, request.working_group_id, links
                    )
                )
            case TriageAction.DECLINE:
                done.append(decline(session, principal, input_id, request.reason, links))
    return done


def queue(session: Session) -> list[Input]:
    """Return the triage queue: received inputs, oldest first."""
    return intake.list_inputs(session, intake.InputFilter(status=InputStatus.RECEIVED))


def suggestions(index: MatchIndex, item: Input, *, per_kind: int = 2) -> list[Match]:
    """Return the best solutions, needs and other inputs for an input, each kind on its own.

    Near-identical inputs would otherwise crowd out the solution that covers them all.
    """
    text = f"{item.title}\n{item.description}"
    found: list[Match] = []
    for kind in (DocumentKind.SOLUTION, DocumentKind.NEED, DocumentKind.INPUT):
        found += index.search(
            text,
            item.categories,
            limit=per_kind,
            kinds={kind},
            exclude=(DocumentKind.INPUT, item.id),
        )
    return found


def update_template(
    session: Session,
    principal: Principal,
    letter: LetterKind,
    language: str,
    subject: str,
    body: str,
) -> LetterTemplate:
    """Change a letter template after checking it uses only known fields."""
    if language not in letters.LANGUAGES:
        raise InvalidInput(N_("Unknown language '{language}'"), field="language", language=language)
    subject, body = subject.strip(), body.strip()
    if len(subject) < 3 or len(body) < 10:
        raise InvalidInput(N_("The letter needs a subject and a body"), field="body")
    letters.check_template(subject)
    letters.check_template(body)
    row = session.scalar(
        select(LetterTemplate).where(
            LetterTemplate.letter == letter, LetterTemplate.language == language
        )
    )
    if row is None:
        row = LetterTemplate(letter=letter, language=language, subject="", body="")
        session.add(row)
        session.flush()
    before = audit.snapshot(row)
    row.subject, row.body, row.updated_at = subject, body, utcnow()
    session.flush()
    audit.record(
        session,
        principal,
        AuditAction.UPDATE,
        "letter_template",
        row.id,
        before=before,
        after=audit.snapshot(row),
    )
    return row


def list_templates(session: Session) -> list[tuple[LetterKind, str, str, str]]:
    """Return every letter template as (letter, language, subject, body)."""
    return [
        (letter, language, *letters.get_template(session, letter, language))
        for letter in LetterKind
        for language in letters.LANGUAGES
    ]
