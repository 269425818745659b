"""Catalogue pages (eksisterende løsninger): public list and detail; the office adds and edits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from korona.auth.permissions import Permission
from korona.portfolio.category import list_categories
from korona.portfolio.measure.service import experience_notes
from korona.portfolio.solution import service
from korona.portfolio.solution.models import Solution, SolutionStatus
from korona.portfolio.solution.schemas import SolutionCreate, SolutionUpdate
from korona.validation import RowId
from korona.web.access import CanPublic, CanSolutionManage
from korona.web.deps import DbSession
from korona.web.forms import NO_ERRORS, Form, Page, Rejected, SolutionQuery
from korona.web.handlers import form_page, submit
from korona.web.templating import render

router = APIRouter(prefix="/solutions", include_in_schema=False)

TEXT_FIELDS = ("name", "owner", "description", "status", "url", "contact")


@router.get("")
def solutions_list(
    request: Request,
    session: DbSession,
    query: Annotated[SolutionQuery, Query()],
    principal: CanPublic,
) -> Response:
    """List the catalogue of existing solutions with filters, a page at a time."""
    filters = query.to_filter()
    page = Page.of(service.list_solutions(filters, session=session), query)
    context = {
        "solutions": page.items,
        "page": page,
        "filters": filters,
        "categories": list_categories(session=session),
        "statuses": list(SolutionStatus),
    }
    return render(request, "solutions/list.html", context)


def _form_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {key: (form.get(key) or "").strip() for key in TEXT_FIELDS}
    values["categories"] = form.getlist("categories")
    values["quality_assured"] = form.get("quality_assured") == "1"
    return values


def _form_page(
    request: Request,
    session: Session,
    values: dict[str, Any],
    solution: Solution | None = None,
    rejected: Rejected = NO_ERRORS,
) -> Response:
    context = {
        "values": values,
        "solution": solution,
        "categories": list_categories(session=session),
        "statuses": list(SolutionStatus),
    }
    return form_page(request, "solutions/form.html", context, rejected)


@router.get("/new")
def new_solution_form(
    request: Request, session: DbSession, principal: CanSolutionManage
) -> Response:
    """Show the form for adding a solution."""
    values = {"status": SolutionStatus.IN_OPERATION.value, "categories": []}
    return _form_page(request, session, values)


@router.post("")
def create_solution(
    request: Request, session: DbSession, form: Form, principal: CanSolutionManage
) -> Response:
    """Add a solution from the form; on bad input show the form again with messages."""
    values = _form_values(form)
    return submit(
        lambda: service.create_solution(
            principal, SolutionCreate.model_validate(values), session=session
        ),
        session=session,
        redraw=lambda rejected: _form_page(request, session, values, rejected=rejected),
        done=lambda solution: f"/solutions/{solution.id}?created=1",
    )


@router.get("/{solution_id}")
def solution_page(
    solution_id: RowId, request: Request, session: DbSession, principal: CanPublic
) -> Response:
    """Show one solution."""
    solution = service.get_solution(solution_id, session=session)
    context = {
        "solution": solution,
        "categories": list_categories(session=session),
        "notes": experience_notes(session=session, solution_id=solution_id),
        "experience_action": f"/solutions/{solution_id}/experience",
        "history": service.solution_history(solution_id, session=session)
        if principal.can(Permission.SOLUTION_MANAGE)
        else [],
    }
    return render(request, "solutions/detail.html", context)


@router.get("/{solution_id}/edit")
def edit_solution_form(
    solution_id: RowId, request: Request, session: DbSession, principal: CanSolutionManage
) -> Response:
    """Show the edit form of a solution."""
    solution = service.get_solution(solution_id, session=session)
    values = {key: getattr(solution, key) for key in TEXT_FIELDS}
    values |= {
        "status": solution.status.value,
        "categories": solution.categories,
        "quality_assured": solution.quality_assured,
    }
    return _form_page(request, session, values, solution)


@router.post("/{solution_id}")
def update_solution(
    solution_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: CanSolutionManage,
) -> Response:
    """Save changes to a solution; on bad input show the form again with messages."""
    service.get_solution(solution_id, session=session)
    values = _form_values(form)
    return submit(
        lambda: service.update_solution(
            principal, solution_id, SolutionUpdate.model_validate(values), session=session
        ),
        session=session,
        redraw=lambda rejected: _form_page(
            request, session, values, service.get_solution(solution_id, session=session), rejected
        ),
        done=f"/solutions/{solution_id}?saved=1",
    )
