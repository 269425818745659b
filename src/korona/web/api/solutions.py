"""JSON API for the catalogue of existing solutions: /api/v1/solutions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Response

from korona.portfolio.rows import ColumnRow
from korona.portfolio.solution import service
from korona.portfolio.solution.schemas import SolutionCreate, SolutionRead, SolutionUpdate
from korona.validation import RowId
from korona.web.access import CanPublic, CanSolutionManage
from korona.web.deps import DbSession
from korona.web.forms import Page, SolutionQuery, answer_page

router = APIRouter(prefix="/api/v1", tags=["solutions"])


@router.get("/solutions", response_model=list[SolutionRead])
def list_solutions(
    session: DbSession,
    response: Response,
    query: Annotated[SolutionQuery, Query()],
    principal: CanPublic,
) -> Sequence[ColumnRow]:
    """List the catalogue, quality-assured solutions first, a page at a time."""
    page = Page.of(service.list_solutions(query.to_filter(), session=session), query)
    return answer_page(response, page)  # rows of SolutionRead's fields, read once by the model


@router.post("/solutions", response_model=SolutionRead, status_code=201)
def create_solution(
    data: SolutionCreate, session: DbSession, principal: CanSolutionManage
) -> SolutionRead:
    """Add a solution to the catalogue (portfolio office)."""
    return SolutionRead.model_validate(service.create_solution(principal, data, session=session))


@router.get("/solutions/{solution_id}", response_model=SolutionRead)
def get_solution(solution_id: RowId, session: DbSession, principal: CanPublic) -> SolutionRead:
    """Return one solution."""
    return SolutionRead.model_validate(service.get_solution(solution_id, session=session))


@router.patch("/solutions/{solution_id}", response_model=SolutionRead)
def update_solution(
    solution_id: RowId, data: SolutionUpdate, session: DbSession, principal: CanSolutionManage
) -> SolutionRead:
    """Change a catalogue entry (portfolio office)."""
    return SolutionRead.model_validate(
        service.update_solution(principal, solution_id, data, session=session)
    )
