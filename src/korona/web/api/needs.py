"""JSON API for needs: /api/v1/needs and the category list."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from korona.portfolio.category import list_categories
from korona.portfolio.need import service
from korona.portfolio.need.schemas import NeedCreate, NeedRead, NeedStatusChange, NeedUpdate
from korona.portfolio.rows import ColumnRow
from korona.validation import RowId
from korona.web.access import CanNeedCreate, CanNeedEdit, CanNeedRead, CanNeedValidate
from korona.web.deps import DbSession, get_municipalities
from korona.web.forms import NeedQuery, Page, answer_page

router = APIRouter(prefix="/api/v1", tags=["needs"])


@router.get("/needs", response_model=list[NeedRead])
def list_needs(
    session: DbSession,
    response: Response,
    query: Annotated[NeedQuery, Query()],
    principal: CanNeedRead,
) -> Sequence[ColumnRow]:
    """List needs, most urgent first, a page at a time (X-Total-Count: all that match)."""
    page = Page.fetch(query, partial(service.page_needs, query.to_filter(), session=session))
    return answer_page(response, page)  # rows of NeedRead's fields, read once by the model


@router.post("/needs", response_model=NeedRead, status_code=201)
def create_need(
    data: NeedCreate, request: Request, session: DbSession, principal: CanNeedCreate
) -> NeedRead:
    """Register a need for the caller's organisation."""
    places = get_municipalities(request)
    return service.to_read(service.create_need(principal, data, session=session, places=places))


@router.get("/needs/{need_id}", response_model=NeedRead)
def get_need(need_id: RowId, session: DbSession, principal: CanNeedRead) -> NeedRead:
    """Return one need."""
    return service.to_read(service.get_need(need_id, session=session))


@router.patch("/needs/{need_id}", response_model=NeedRead)
def update_need(
    need_id: RowId, data: NeedUpdate, request: Request, session: DbSession, principal: CanNeedEdit
) -> NeedRead:
    """Change a need's content (reporters: own organisation's needs only)."""
    places = get_municipalities(request)
    return service.to_read(
        service.update_need(principal, need_id, data, session=session, places=places)
    )


@router.post("/needs/{need_id}/status", response_model=NeedRead)
def change_status(
    need_id: RowId, data: NeedStatusChange, session: DbSession, principal: CanNeedValidate
) -> NeedRead:
    """Move a need to a new status (portfolio office)."""
    return service.to_read(service.change_status(principal, need_id, data.status, session=session))


class CategoryRead(BaseModel):
    """A need category."""

    code: str
    name_nb: str
    name_en: str
    active: bool


@router.get("/categories", response_model=list[CategoryRead], tags=["categories"])
def categories(session: DbSession, principal: CanNeedRead) -> list[CategoryRead]:
    """List the need categories."""
    return [
        CategoryRead.model_validate(row, from_attributes=True)
        for row in list_categories(session=session)
    ]
