"""JSON API for inputs, their triage and matching: /api/v1/inputs, /triage, /match."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from korona.portfolio.intake import service as intake
from korona.portfolio.intake import workflow
from korona.portfolio.intake.schemas import (
    BulkTriageIn,
    InputCreate,
    InputRead,
    InputReceipt,
    MatchRead,
    MatchRequest,
    TriageIn,
)
from korona.validation import RowId
from korona.web.access import CanInputRead, CanInputTriage, CanPublic
from korona.web.deps import DbSession, get_runtime, status_links
from korona.web.forms import InputQuery, Page, answer_page

router = APIRouter(prefix="/api/v1", tags=["inputs"])


@router.post("/match", response_model=list[MatchRead])
def match(data: MatchRequest, request: Request, principal: CanPublic) -> list[MatchRead]:
    """Return the solutions, needs and inputs most similar to a text, best first."""
    index = get_runtime(request).match_index.get()
    return [
        MatchRead(kind=m.kind.value, id=m.id, title=m.title, score=m.score)
        for m in index.search(data.text, data.categories, limit=data.limit)
    ]


@router.get("/inputs", response_model=list[InputRead])
def list_inputs(
    session: DbSession,
    response: Response,
    query: Annotated[InputQuery, Query()],
    principal: CanInputRead,
) -> Sequence[dict[str, Any]]:
    """List inputs in the order they were received, a page at a time."""
    page = Page.fetch(query, partial(intake.page_inputs, query.to_filter(), session=session))
    return answer_page(response, page)  # dicts of InputRead's fields, read once by the model


@router.post("/inputs", response_model=InputReceipt, status_code=201)
def submit_input(
    data: InputCreate, request: Request, session: DbSession, principal: CanPublic
) -> InputReceipt:
    """Submit an input; the answer carries the reference number and the private status link."""
    links = status_links(request)
    item = intake.submit_input(principal, data, links, session=session)
    return InputReceipt(
        id=item.id, reference=item.reference, status=item.status, status_url=links.url(item)
    )


@router.get("/inputs/{input_id}", response_model=InputRead)
def get_input(input_id: RowId, session: DbSession, principal: CanInputRead) -> InputRead:
    """Return one input."""
    return intake.to_read(intake.get_input(input_id, session=session))


def _triage_request(data: TriageIn) -> workflow.TriageRequest:
    return workflow.TriageRequest(
        action=workflow.TriageAction(data.action),
        need_ids=tuple(data.need_ids),
        solution_id=data.solution_id,
        duplicate_of_id=data.duplicate_of_id,
        working_group_id=data.working_group_id,
        reason=data.reason,
    )


@router.post("/inputs/{input_id}/triage", response_model=InputRead)
def triage_input(
    input_id: RowId, data: TriageIn, request: Request, session: DbSession, principal: CanInputTriage
) -> InputRead:
    """Apply one triage action to an input; the submitter gets the letter (portfolio office)."""
    links = status_links(request)
    (item,) = workflow.apply(principal, [input_id], _triage_request(data), links, session=session)
    return intake.to_read(item)


@router.post("/triage", response_model=list[InputRead])
def triage_bulk(
    data: BulkTriageIn, request: Request, session: DbSession, principal: CanInputTriage
) -> list[InputRead]:
    """Apply one triage action to many inputs at once, all or nothing (portfolio office)."""
    links = status_links(request)
    items = workflow.apply(principal, data.input_ids, _triage_request(data), links, session=session)
    return [intake.to_read(item) for item in items]
