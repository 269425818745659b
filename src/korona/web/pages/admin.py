"""Administration pages for the portfolio office: the category list (users: pages/users.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from korona.portfolio import category
from korona.validation import CleanLine
from korona.web.access import CanCategoryManage
from korona.web.deps import DbSession
from korona.web.forms import NO_ERRORS, Rejected
from korona.web.handlers import form_page, submit

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("/categories")
def categories_page(request: Request, session: DbSession, principal: CanCategoryManage) -> Response:
    """Show the managed list of need categories."""
    return _categories_page(request, session, {})


def _categories_page(
    request: Request, session: Session, values: dict[str, str], rejected: Rejected = NO_ERRORS
) -> Response:
    context = {"categories": category.list_categories(session=session), "values": values}
    return form_page(request, "admin/categories.html", context, rejected)


@router.post("/categories")
def add_category(
    request: Request,
    session: DbSession,
    principal: CanCategoryManage,
    code: Annotated[CleanLine, Form(max_length=40)] = "",
    name_nb: Annotated[CleanLine, Form(max_length=100)] = "",
    name_en: Annotated[CleanLine, Form(max_length=100)] = "",
) -> Response:
    """Add a category; on bad input show the page again with the message."""
    values = {"code": code, "name_nb": name_nb, "name_en": name_en}
    return submit(
        lambda: category.add_category(principal, session=session, **values),
        session=session,
        field="code",
        redraw=lambda rejected: _categories_page(request, session, values, rejected),
        done="/admin/categories?saved=1",
    )
