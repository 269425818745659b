"""User administration pages for the portfolio office, and the public set-password page."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from korona.auth import admin
from korona.auth import service as auth_service
from korona.auth.models import Role, User
from korona.auth.permissions import Principal
from korona.errors import NotFound
from korona.validation import CleanLine, MunicipalityNumber, RowId
from korona.web.access import CanPublic, CanUserManage, CanUserRead
from korona.web.deps import DbSession, get_settings
from korona.web.forms import NO_ERRORS, Form, ListQuery, Page, Rejected, attempt, text
from korona.web.handlers import form_page, signed_out, submit
from korona.web.labels import translate_error
from korona.web.templating import render

router = APIRouter(include_in_schema=False)


#: Set-password tokens are 43 URL-safe characters; anything much longer is not one of ours.
class UserAction(Protocol):
    """An account action: ``act(principal, user_id, session=session)``."""

    def __call__(self, principal: Principal, user_id: int, /, *, session: Session) -> object: ...


TOKEN_PATH = Annotated[str, Field(max_length=100)]


class UserForm(BaseModel):
    """The office's user form: checked here so that every field's error shows at once."""

    model_config = ConfigDict(extra="ignore")

    name: Annotated[CleanLine, Field(min_length=2, max_length=200)]
    roles: Annotated[list[Role], Field(min_length=1)]
    organisation_id: RowId | None = None
    municipality_number: MunicipalityNumber | None = None

    @field_validator("organisation_id", "municipality_number", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    def change(self) -> admin.UserChange:
        """Return the service's change."""
        return admin.UserChange(
            name=self.name,
            roles=frozenset(self.roles),
            organisation_id=self.organisation_id,
            municipality_number=self.municipality_number,
        )


class NewUserForm(UserForm):
    """The form for a new user: the user form plus the e-mail address."""

    email: Annotated[CleanLine, Field(min_length=3, max_length=254)]


def _values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        key: text(form, key) for key in ("email", "name", "organisation_id", "municipality_number")
    }
    values["roles"] = form.getlist("roles")
    return values


def _form_page(
    request: Request,
    session: Session,
    values: dict[str, Any],
    user: Any = None,
    rejected: Rejected = NO_ERRORS,
    *,
    action_error: str | None = None,
) -> Response:
    context = {
        "values": values,
        "action_error": action_error,
        "user": user,
        "roles": list(Role),
        "organisations": auth_service.list_organisations(session=session),
    }
    return form_page(request, "users/form.html", context, rejected)


def _user_values(user: Any) -> dict[str, Any]:
    return {
        "email": user.email,
        "name": user.name,
        "organisation_id": str(user.organisation_id or ""),
        "municipality_number": user.municipality_number or "",
        "roles": [role.value for role in user.roles],
    }


@router.get("/admin/users")
def users_page(
    request: Request,
    session: DbSession,
    query: Annotated[ListQuery, Query()],
    principal: CanUserRead,
) -> Response:
    """List users, their organisations, roles and state, a page at a time."""
    page = Page.of(admin.list_user_rows(session=session), query)
    return render(request, "users/list.html", {"rows": page.items, "page": page})


@router.get("/admin/users/new")
def new_user_form(request: Request, session: DbSession, principal: CanUserManage) -> Response:
    """Show the form for inviting a user."""
    return _form_page(request, session, {"roles": []})


@router.post("/admin/users")
def create_user(
    request: Request, session: DbSession, form: Form, principal: CanUserManage
) -> Response:
    """Create the user and queue their invitation; on bad input show the form again."""
    values = _values(form)
    base_url = get_settings(request).base_url

    def invite() -> User:
        change = NewUserForm.model_validate(values).change()
        return admin.invite_user(
            principal, change, session=session, email=values["email"], base_url=base_url
        )

    return submit(
        invite,
        session=session,
        redraw=lambda rejected: _form_page(request, session, values, rejected=rejected),
        done=lambda user: f"/admin/users/{user.id}?invited=1",
    )


@router.get("/admin/users/{user_id}")
def user_page(
    user_id: RowId, request: Request, session: DbSession, principal: CanUserManage
) -> Response:
    """Show one user with the form to change them and the account actions."""
    user = admin.get_user(user_id, session=session)
    return _form_page(request, session, _user_values(user), user)


@router.post("/admin/users/{user_id}")
def update_user(
    user_id: RowId, request: Request, session: DbSession, form: Form, principal: CanUserManage
) -> Response:
    """Save the user's name, roles, organisation and municipality number."""
    values = _values(form)

    def redraw(rejected: Rejected) -> Response:
        user = admin.get_user(user_id, session=session)
        values["email"] = user.email
        return _form_page(request, session, values, user, rejected)

    return submit(
        lambda: admin.update_user(
            principal, user_id, UserForm.model_validate(values).change(), session=session
        ),
        session=session,
        redraw=redraw,
        done=f"/admin/users/{user_id}?saved=1",
    )


def _account_action(
    request: Request,
    session: Session,
    principal: Principal,
    user_id: int,
    act: UserAction,
    done: str,
) -> Response:
    """Run an account action; a refusal shows the user page with the message."""
    action = partial(act, principal, user_id, session=session)

    def redraw(rejected: Rejected) -> Response:
        user = admin.get_user(user_id, session=session)
        refused = Rejected({}, rejected.status_code)
        values = _user_values(user)
        return _form_page(request, session, values, user, refused, action_error=rejected.message)

    return submit(action, session=session, redraw=redraw, done=f"/admin/users/{user_id}?{done}=1")


@router.post("/admin/users/{user_id}/deactivate")
def deactivate_user(
    user_id: RowId, request: Request, session: DbSession, principal: CanUserManage
) -> Response:
    """Deactivate the user: their sessions and API tokens end at once."""
    act = admin.deactivate_user
    return _account_action(request, session, principal, user_id, act, "deactivated")


@router.post("/admin/users/{user_id}/reactivate")
def reactivate_user(
    user_id: RowId, request: Request, session: DbSession, principal: CanUserManage
) -> Response:
    """Let a deactivated user log in again."""
    act = admin.reactivate_user
    return _account_action(request, session, principal, user_id, act, "reactivated")


@router.post("/admin/users/{user_id}/reset-password")
def reset_password(
    user_id: RowId, request: Request, session: DbSession, principal: CanUserManage
) -> Response:
    """E-mail the user a new set-password link (earlier links stop working)."""
    act = partial(admin.send_password_reset, base_url=get_settings(request).base_url)
    return _account_action(request, session, principal, user_id, act, "reset")


@router.get("/password/{token}")
def password_form(
    token: TOKEN_PATH, request: Request, session: DbSession, principal: CanPublic
) -> Response:
    """Show the form for choosing a password through an e-mailed link."""
    try:
        link = admin.open_password_link(token, session=session)
    except NotFound as error:
        context = {"link_error": translate_error(error)}
        return render(request, "users/password.html", context, status_code=404)
    return render(request, "users/password.html", {"link_user": link.user, "errors": {}})


@router.post("/password/{token}")
def set_password(
    token: TOKEN_PATH, request: Request, session: DbSession, form: Form, principal: CanPublic
) -> Response:
    """Set the password; the link is spent and the user goes to the login page."""
    password = form.get("password")
    outcome = attempt(
        lambda: admin.use_password_link(
            token, password if isinstance(password, str) else "", session=session
        ),
        session=session,
        field="password",
    )
    if isinstance(outcome, Rejected):
        if outcome.status_code == 404:
            context: dict[str, Any] = {"link_error": outcome.message}
            return render(request, "users/password.html", context, status_code=404)
        link = admin.open_password_link(token, session=session)
        context = {"link_user": link.user, "errors": outcome.errors}
        return render(request, "users/password.html", context, status_code=outcome.status_code)
    return signed_out("/login?changed=1")
