"""Triage of inputs by the portfolio office: link, covered, duplicate, assess, decline.

What waits for triage, and the suggestions beside it, is read in ``intake.triage_queue``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.permissions import Principal
from korona.db import utcnow
from korona.errors import N_, Conflict, InvalidInput
from korona.portfolio.assessment import groups
from korona.portfolio.intake import service as intake
from korona.portfolio.intake.models import (
    Input,
    InputNeed,
    InputStatus,
    LetterKind,
)
from korona.portfolio.intake.service import StatusLinks
from korona.portfolio.rows import record_change
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
    item: Input, status: InputStatus, *, session: Session, **fields: object
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
    principal: Principal, item: Input, before: dict[str, object], *, session: Session
) -> None:
    record_change(
        principal,
        AuditAction.STATUS,
        ENTITY,
        item,
        before,
        session=session,
        after=audit.snapshot(item, exclude={"token_salt"}),
    )


def link_needs(
    principal: Principal, input_id: int, need_ids: Sequence[int], *, session: Session
) -> Input:
    """Link an input to needs it addresses (links already there are kept)."""
    item = intake.get_input(input_id, session=session)
    if not need_ids:
        raise InvalidInput(N_("Choose at least one need"), field="need_ids")
    wanted = intake.check_needs(need_ids, session=session)
    before = item.need_ids
    for need_id in wanted:
        if need_id not in before:
            item.need_links.append(InputNeed(need_id=need_id))
    item.updated_at = utcnow()
    if item.status == InputStatus.RECEIVED and item.triaged_at is None:
        # Linking is this input's triage outcome: it leaves the queue (its status stays).
        item.triaged_at = item.updated_at
    session.flush()
    record_change(
        principal,
        AuditAction.UPDATE,
        ENTITY,
        item,
        {"need_ids": before},
        session=session,
        after={"need_ids": item.need_ids},
    )
    return item


def _reason(reason: str, *, required: bool) -> str:
    text = reason.strip()
    if required and len(text) < 3:
        raise InvalidInput(N_("Give a reason for the submitter"), field="reason")
    return text[:2000]


def _chosen(row_id: int | None, message: str, field: str) -> int:
    """Return the id the office chose for an outcome that needs one, or refuse an empty choice."""
    if row_id is None:
        raise InvalidInput(message, field=field)
    return row_id


def mark_covered(
    principal: Principal,
    input_id: int,
    solution_id: int | None,
    reason: str,
    links: StatusLinks,
    *,
    session: Session,
) -> Input:
    """Mark an input as covered by an existing solution and send the feedback letter."""
    solution_id = _chosen(solution_id, N_("Choose the existing solution"), "solution_id")
    solution = solutions.get_solution(solution_id, session=session)
    item = intake.get_input(input_id, session=session)
    why = _reason(reason, required=True)
    before = _move(
        item,
        InputStatus.COVERED,
        session=session,
        covered_by_id=solution.id,
        outcome_note=why,
    )
    intake.send_letter(
        item,
        LetterKind.COVERED,
        links,
        session=session,
        solution=solution.name,
        solution_url=solution.url or links.base_url.rstrip("/") + f"/solutions/{solution.id}",
        reason=why,
    )
    _record_status(principal, item, before, session=session)
    return item


def _carry_links(item: Input, kept: Input) -> None:
    """Give the kept input the merged one's need links it lacks, marked as carried over."""
    present = set(kept.need_ids)
    for need_id in item.need_ids:
        if need_id not in present:
            kept.need_links.append(InputNeed(need_id=need_id, merged_from_id=item.id))


def _kept_state(kept: Input, *, session: Session) -> dict[str, object]:
    merged = [other.reference for other in intake.merged_into(kept.id, session=session)]
    return {"merged": merged, "need_ids": kept.need_ids}


def _record_kept(
    principal: Principal, kept: Input, before: dict[str, object], *, session: Session
) -> None:
    after = _kept_state(kept, session=session)
    audit.record(
        principal, AuditAction.UPDATE, ENTITY, kept.id, session=session, before=before, after=after
    )


def mark_duplicate(
    principal: Principal,
    input_id: int,
    kept_id: int | None,
    reason: str,
    links: StatusLinks,
    *,
    session: Session,
) -> Input:
    """Merge an input into the kept one: both keep their history, the submitter is told.

    The kept input gains the merged one's need links; its attachments and messages are shown
    on the kept input's page (they stay where the submitter's status link finds them).
    """
    kept_id = _chosen(kept_id, N_("Choose the input to keep"), "duplicate_of_id")
    if kept_id == input_id:
        raise InvalidInput(N_("An input cannot be a duplicate of itself"), field="duplicate_of_id")
    kept = intake.get_input(kept_id, session=session)
    if kept.status == InputStatus.DUPLICATE:
        raise Conflict(
            N_("Input {reference} is itself merged; choose the input it was merged into"),
            field="duplicate_of_id",
            reference=kept.reference,
        )
    item = intake.get_input(input_id, session=session)
    why = _reason(reason, required=False)
    kept_before = _kept_state(kept, session=session)
    before = _move(
        item,
        InputStatus.DUPLICATE,
        session=session,
        duplicate_of_id=kept.id,
        outcome_note=why or None,
    )
    # Inputs merged into this one follow it to the kept input, so every chain has one head.
    for earlier in intake.merged_into(item.id, session=session):
        earlier.duplicate_of_id = kept.id
    _carry_links(item, kept)
    session.flush()
    intake.send_letter(
        item,
        LetterKind.DUPLICATE,
        links,
        session=session,
        kept_reference=kept.reference,
        kept_title=kept.title,
        reason=why,
    )
    _record_status(principal, item, before, session=session)
    _record_kept(principal, kept, kept_before, session=session)
    return item


def _status_before_merge(item: Input, *, session: Session) -> tuple[InputStatus, str | None]:
    """Return the status and reason the input had before it was merged (from its audit rows)."""
    for entry in reversed(audit.history(ENTITY, item.id, session=session)):
        after, before = entry.after or {}, entry.before or {}
        if entry.action == AuditAction.STATUS and after.get("status") == InputStatus.DUPLICATE:
            status = before.get("status")
            note = before.get("outcome_note")
            if status in set(InputStatus) and status != InputStatus.DUPLICATE:
                return InputStatus(str(status)), note if isinstance(note, str) else None
            break
    return InputStatus.RECEIVED, None


def undo_merge(principal: Principal, input_id: int, *, session: Session) -> Input:
    """Take a merged input out of the kept one again: its status and own links come back.

    The links it carried to the kept input are removed; both inputs get an audit row.
    """
    item = intake.get_input(input_id, session=session)
    if item.status != InputStatus.DUPLICATE or item.duplicate_of_id is None:
        raise Conflict(
            N_("Input {reference} is not merged into another input"),
            field="input_ids",
            reference=item.reference,
        )
    kept = intake.get_input(item.duplicate_of_id, session=session)
    kept_before = _kept_state(kept, session=session)
    status, note = _status_before_merge(item, session=session)
    before = audit.snapshot(item, exclude={"token_salt"})
    item.status = status
    item.duplicate_of_id = None
    item.outcome_note = note
    item.updated_at = utcnow()
    kept.need_links = [link for link in kept.need_links if link.merged_from_id != item.id]
    session.flush()
    _record_status(principal, item, before, session=session)
    _record_kept(principal, kept, kept_before, session=session)
    return item


def send_to_working_group(
    principal: Principal,
    input_id: int,
    working_group_id: int | None,
    links: StatusLinks,
    *,
    session: Session,
) -> Input:
    """Send an input to a working group (arbeidsgruppe) for assessment."""
    group_id = _chosen(working_group_id, N_("Choose the working group"), "working_group_id")
    group = groups.get_group(group_id, session=session)
    item = intake.get_input(input_id, session=session)
    before = _move(item, InputStatus.IN_ASSESSMENT, session=session, working_group_id=group.id)
    intake.send_letter(
        item, LetterKind.IN_ASSESSMENT, links, session=session, working_group=group.name
    )
    _record_status(principal, item, before, session=session)
    return item


def decline(
    principal: Principal, input_id: int, reason: str, links: StatusLinks, *, session: Session
) -> Input:
    """Decline an input with a reason the submitter is told."""
    item = intake.get_input(input_id, session=session)
    why = _reason(reason, required=True)
    before = _move(item, InputStatus.DECLINED, session=session, outcome_note=why)
    intake.send_letter(item, LetterKind.DECLINED, links, session=session, reason=why)
    _record_status(principal, item, before, session=session)
    return item


def apply(
    principal: Principal,
    input_ids: Sequence[int],
    request: TriageRequest,
    links: StatusLinks,
    *,
    session: Session,
) -> list[Input]:
    """Apply one action to every listed input, all or nothing (one transaction)."""
    if not input_ids:
        raise InvalidInput(N_("Choose at least one input"), field="input_ids")
    wanted = list(dict.fromkeys(input_ids))
    kept_id = request.duplicate_of_id
    if request.action == TriageAction.DUPLICATE and kept_id in wanted and len(wanted) > 1:
        # Ticking the kept input too is natural when choosing among duplicates: it is kept.
        wanted.remove(kept_id)
    return [_apply_one(principal, item_id, request, links, session=session) for item_id in wanted]


def _apply_one(
    principal: Principal,
    input_id: int,
    request: TriageRequest,
    links: StatusLinks,
    *,
    session: Session,
) -> Input:
    match request.action:
        case TriageAction.LINK_NEEDS:
            return link_needs(principal, input_id, request.need_ids, session=session)
        case TriageAction.COVERED:
            return mark_covered(
                principal, input_id, request.solution_id, request.reason, links, session=session
            )
        case TriageAction.DUPLICATE:
            return mark_duplicate(
                principal, input_id, request.duplicate_of_id, request.reason, links, session=session
            )
        case TriageAction.WORKING_GROUP:
            return send_to_working_group(
                principal, input_id, request.working_group_id, links, session=session
            )
        case TriageAction.DECLINE:
            return decline(principal, input_id, request.reason, links, session=session)
