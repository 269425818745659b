"""Administration pages for the portfolio office: the category list (users: pages/users.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from korona.portfolio import category
from korona.validation import CleanLine
from korona.web.access import CanCategoryManage
from korona.web.deps import DbSession
from korona.web.forms import Rejected, attempt
from korona.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("/categories")
def categories_page(request: Request, session: DbSession, principal: CanCategoryManage) -> Response:
    """Show the managed list of need categories."""
    context = {"categories": category.list_categories(session=session), "values": {}, "errors": {}}
    return render(request, "admin/categories.html", context)


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
    outcome = attempt(
        lambda: category.add_category(
            principal, session=session, code=code, name_nb=name_nb, name_en=name_en
        ),
        session=session,
        field="code",
    )
    if isinstance(outcome, Rejected):
        context = {
            "categories": category.list_categories(session=session),
            "values": {"code": code, "name_nb": name_nb, "name_en": name_en},
            "errors": outcome.errors,
        }
        return render(request, "admin/categories.html", context, status_code=outcome.status_code)
    return RedirectResponse("/admin/categories?saved=1", status_code=303)
