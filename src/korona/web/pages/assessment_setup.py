"""How assessment is set up: working groups and members, the weights, the prioritisation settings.

Its routes sit under ``/assessment``, beside :mod:`korona.web.pages.assessment`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from korona.portfolio import scoring
from korona.portfolio.assessment import groups as working_groups
from korona.portfolio.assessment import service
from korona.portfolio.assessment.schemas import GroupIn, MemberIn, SettingsIn, WeightsIn
from korona.validation import RowId
from korona.web.access import (
    CanAssessmentRead,
    CanPrioritisationManage,
    CanWeightsManage,
    CanWorkingGroupManage,
)
from korona.web.deps import DbSession
from korona.web.forms import NO_ERRORS, Form, Rejected, number_text, text
from korona.web.handlers import form_page, submit

router = APIRouter(prefix="/assessment", include_in_schema=False)


def _groups_page(
    request: Request,
    session: Session,
    failed: str | None = None,
    rejected: Rejected = NO_ERRORS,
) -> Response:
    context = {
        "groups": working_groups.list_groups(session=session),
        "assessors": working_groups.assessor_candidates(session=session),
        "failed": failed,
    }
    return form_page(request, "assessment/groups.html", context, rejected)


@router.get("/groups")
def groups(request: Request, session: DbSession, principal: CanAssessmentRead) -> Response:
    """Show the working groups, their themes and members."""
    return _groups_page(request, session)


@router.post("/groups")
def create_group(
    request: Request, session: DbSession, form: Form, principal: CanWorkingGroupManage
) -> Response:
    """Create a working group."""
    data = {"name": text(form, "name"), "theme": text(form, "theme")}
    return submit(
        lambda: working_groups.create_group(
            principal, GroupIn.model_validate(data), session=session
        ),
        session=session,
        redraw=lambda rejected: _groups_page(request, session, "new", rejected),
        done=lambda group: f"/assessment/groups?saved={group.id}#group-{group.id}",
    )


def _change_group(
    request: Request, session: Session, group_id: int, change: Callable[[], object]
) -> Response:
    """Run a change to one group's members; refused, the groups page shows it at that group."""
    return submit(
        change,
        session=session,
        redraw=lambda rejected: _groups_page(request, session, str(group_id), rejected),
        done=f"/assessment/groups?saved={group_id}#group-{group_id}",
    )


@router.post("/groups/{group_id}/members")
def add_member(
    group_id: RowId,
    request: Request,
    session: DbSession,
    form: Form,
    principal: CanWorkingGroupManage,
) -> Response:
    """Add an assessor to a working group (or make them its lead)."""
    data = {"user_id": text(form, "user_id") or None, "is_lead": form.get("is_lead") == "on"}
    return _change_group(
        request,
        session,
        group_id,
        lambda: working_groups.add_member(
            principal, group_id, MemberIn.model_validate(data), session=session
        ),
    )


@router.post("/groups/{group_id}/members/{user_id}/remove")
def remove_member(
    group_id: RowId,
    user_id: RowId,
    request: Request,
    session: DbSession,
    principal: CanWorkingGroupManage,
) -> Response:
    """Take a member out of a working group."""
    return _change_group(
        request,
        session,
        group_id,
        lambda: working_groups.remove_member(principal, group_id, user_id, session=session),
    )


def weights_table(weights: scoring.Weights) -> dict[str, Any]:
    """Return what assessment/_weights_table.html shows: the weights, each criterion's share."""
    return {
        "weights": weights,
        "normalised": dict(zip(scoring.CRITERIA, weights.as_array(), strict=True)),
        "criteria": scoring.CRITERIA,
    }


def _weights_page(
    request: Request,
    session: Session,
    values: dict[str, Any] | None = None,
    rejected: Rejected = NO_ERRORS,
) -> Response:
    weights = service.current_weights(session=session)
    context = {
        **weights_table(weights),
        "history": service.weights_history(session=session),
        "values": values or weights.as_dict(),
    }
    return form_page(request, "assessment/weights.html", context, rejected)


@router.get("/weights")
def weights_page(request: Request, session: DbSession, principal: CanAssessmentRead) -> Response:
    """Show the decision group's current weights and their versions."""
    return _weights_page(request, session)


@router.post("/weights")
def save_weights(
    request: Request, session: DbSession, form: Form, principal: CanWeightsManage
) -> Response:
    """Store a new version of the weights (decision group members only)."""
    values: dict[str, Any] = {c.value: number_text(form, c.value) for c in scoring.CRITERIA}
    values["reason"] = text(form, "reason")
    return submit(
        lambda: service.set_weights(principal, WeightsIn.model_validate(values), session=session),
        session=session,
        redraw=lambda rejected: _weights_page(request, session, values, rejected),
        done=lambda weights: f"/assessment/weights?saved={weights.version}",
    )


_SETTING_FIELDS = (
    "horizon_months",
    "size_min",
    "size_max",
    "budget_hospitals",
    "budget_municipalities",
    "concentration",
    "draws",
)


def _settings_page(
    request: Request,
    session: Session,
    values: dict[str, Any] | None = None,
    rejected: Rejected = NO_ERRORS,
) -> Response:
    row = service.get_settings(session=session)
    context = {
        "values": values or {name: getattr(row, name) for name in _SETTING_FIELDS},
    }
    return form_page(request, "assessment/settings.html", context, rejected)


@router.get("/settings")
def settings_page(request: Request, session: DbSession, principal: CanAssessmentRead) -> Response:
    """Show the prioritisation settings: crisis horizon, list size, budgets, draws."""
    return _settings_page(request, session)


@router.post("/settings")
def save_settings(
    request: Request, session: DbSession, form: Form, principal: CanPrioritisationManage
) -> Response:
    """Change the prioritisation settings (the portfolio office)."""
    values = {name: number_text(form, name) for name in _SETTING_FIELDS}
    return submit(
        lambda: service.update_settings(
            principal, SettingsIn.model_validate(values), session=session
        ),
        session=session,
        redraw=lambda rejected: _settings_page(request, session, values, rejected),
        done="/assessment/settings?saved=1",
    )
