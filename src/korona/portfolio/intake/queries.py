"""Reading inputs: one by id, token or reference, their letters and files, lists and export."""

from __future__ import annotations

import hmac
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload, lazyload

from korona import audit
from korona.errors import N_, NotFound
from korona.portfolio.assessment.models import WorkingGroup
from korona.portfolio.intake.links import StatusLinks
from korona.portfolio.intake.models import (
    Input,
    InputAttachment,
    InputKind,
    InputMessage,
    InputNeed,
    InputStatus,
)
from korona.portfolio.intake.schemas import InputRead
from korona.portfolio.need.models import Need
from korona.portfolio.rows import (
    ColumnRow,
    Columns,
    get_or_raise,
    get_owned_or_raise,
    page_of_rows,
    text_matches,
    where_given,
)
from korona.tabular import Coded
from korona.validation import row_id_or_none

ENTITY = "input"


def get_input(input_id: int, *, session: Session) -> Input:
    """Return the input or raise NotFound."""
    return get_or_raise(Input, input_id, N_("Input {id} does not exist"), session=session)


def find_by_token(links: StatusLinks, token: str, *, session: Session) -> Input:
    """Return the input a private status token belongs to, or raise NotFound."""
    # Only ASCII can be a real link: int() would read '²' as 2, and compare_digest refuses
    # non-ASCII strings with a TypeError.
    if not token.isascii():
        raise NotFound(N_("No input has this status link"))
    raw_id, _, _ = token.partition("-")
    input_id = row_id_or_none(raw_id)
    item = session.get(Input, input_id) if input_id is not None else None
    if item is None or not hmac.compare_digest(links.token(item), token):
        raise NotFound(N_("No input has this status link"))
    return item


def messages(input_id: int, *, session: Session) -> Sequence[InputMessage]:
    """Return the messages sent to the submitter, oldest first."""
    statement = (
        select(InputMessage).where(InputMessage.input_id == input_id).order_by(InputMessage.id)
    )
    return session.scalars(statement).all()


def attachments_of(input_id: int, *, session: Session) -> Sequence[InputAttachment]:
    """Return the input's attachments."""
    statement = (
        select(InputAttachment)
        .where(InputAttachment.input_id == input_id)
        .order_by(InputAttachment.id)
    )
    return session.scalars(statement).all()


def get_attachment(input_id: int, attachment_id: int, *, session: Session) -> InputAttachment:
    """Return one attachment of an input or raise NotFound."""
    return get_owned_or_raise(
        InputAttachment,
        attachment_id,
        "input_id",
        input_id,
        N_("Attachment {id} does not exist"),
        session=session,
    )


def merged_into(input_id: int, *, session: Session) -> Sequence[Input]:
    """Return the inputs merged into this one as duplicates."""
    statement = select(Input).where(Input.duplicate_of_id == input_id).order_by(Input.id)
    return session.scalars(statement).all()


def inputs_for_need(need_id: int, *, session: Session) -> Sequence[Input]:
    """Return the inputs linked to a need, oldest first."""
    statement = (
        select(Input)
        .join(InputNeed, InputNeed.input_id == Input.id)
        .where(InputNeed.need_id == need_id)
        .order_by(Input.id)
    )
    return session.scalars(statement).unique().all()


def needs_of(item: Input, *, session: Session) -> Sequence[Need]:
    """Return the needs an input is linked to, by title."""
    if not item.need_ids:
        return []
    return session.scalars(
        select(Need).where(Need.id.in_(item.need_ids)).order_by(Need.title)
    ).all()


def inputs_of_user(user_id: int, *, session: Session) -> Sequence[Input]:
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


def list_inputs(filters: InputFilter | None = None, *, session: Session) -> list[Input]:
    """Return inputs matching the filters, oldest first (the order they were received)."""
    filters = filters or InputFilter()
    found = list(session.scalars(_ordered(filters)).unique())
    if filters.category:
        found = [item for item in found if filters.category in item.categories]
    return found


def page_inputs(
    filters: InputFilter, *, session: Session, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Return one page of :func:`list_inputs` and how many inputs match in all.

    The page's inputs come as dicts of :class:`InputRead`'s fields, read as columns, not as
    entities with their need links and group: a list shows 50 at a time on every visit.
    """
    columns = select(*_READ_COLUMNS).outerjoin_from(Input, WorkingGroup, Input.group)
    statement = _filtered(columns, filters).order_by(*_RECEIVED_FIRST)
    rows: Sequence[ColumnRow]
    if filters.category:  # categories are filtered in Python (see list_inputs)
        found = [row for row in session.execute(statement) if filters.category in row.categories]
        rows, total = found[offset : offset + limit], len(found)
    else:
        rows, total = page_of_rows(statement, session=session, offset=offset, limit=limit)
    needs = _need_ids([row.id for row in rows], session=session)
    return [{**row._mapping, "need_ids": needs[row.id]} for row in rows], total


#: The columns of :class:`InputRead` but its need ids (a list, read by :func:`_need_ids`).
_READ_COLUMNS = (
    Input.id,
    Input.reference,
    Input.kind,
    Input.title,
    Input.description,
    Input.organisation_name,
    Input.is_public,
    Input.commercial,
    Input.categories,
    Input.effort_hospitals,
    Input.effort_municipalities,
    Input.status,
    Input.covered_by_id,
    Input.duplicate_of_id,
    WorkingGroup.name.label("working_group"),
    Input.outcome_note,
    Input.received_at,
    Input.first_feedback_at,
)


def _need_ids(input_ids: Sequence[int], *, session: Session) -> defaultdict[int, list[int]]:
    """Return the ids of the needs each of these inputs is linked to, in id order."""
    linked: defaultdict[int, list[int]] = defaultdict(list)
    if input_ids:
        statement = (
            select(InputNeed.input_id, InputNeed.need_id)
            .where(InputNeed.input_id.in_(input_ids))
            .order_by(InputNeed.need_id)
        )
        for input_id, need_id in session.execute(statement):
            linked[input_id].append(need_id)
    return linked


#: What a list of inputs loads with them: their need links and their group's name. The
#: submitting organisation, the covering solution and the group's members (with their users,
#: organisations and roles) load only if asked for: a list shows none of them.
_LIST_LOADING = (
    lazyload(Input.organisation),
    lazyload(Input.covered_by),
    joinedload(Input.group).lazyload(WorkingGroup.members),
)


def _ordered(filters: InputFilter) -> Select[Input]:
    return _filtered(select(Input).options(*_LIST_LOADING), filters).order_by(*_RECEIVED_FIRST)


def _filtered(statement: Select[*Columns], filters: InputFilter) -> Select[*Columns]:
    """Return the statement (over inputs) narrowed to the inputs that match the filters."""
    statement = where_given(statement, [(Input.status, filters.status), (Input.kind, filters.kind)])
    if filters.text:
        columns = (Input.title, Input.description, Input.reference, Input.organisation_name)
        statement = statement.where(text_matches(filters.text, *columns))
    return statement


_RECEIVED_FIRST = (Input.received_at, Input.id)


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


def input_history(input_id: int, *, session: Session) -> Sequence[audit.AuditEntry]:
    """Return every recorded change to the input, oldest first."""
    return audit.history(ENTITY, input_id, session=session)


def find_by_reference(reference: str, *, session: Session) -> Input:
    """Return the input with this reference number (e.g. INN-2026-0001) or raise NotFound."""
    item = session.scalar(select(Input).where(Input.reference == reference.strip().upper()))
    if item is None:
        raise NotFound(
            N_("No input has reference number {reference}"),
            field="duplicate_of_id",
            reference=reference,
        )
    return item
