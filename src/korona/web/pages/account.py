"""The logged-in user's own account: password change and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from korona.auth import service as auth_service
from korona.auth import tokens as auth_tokens
from korona.auth.permissions import Principal
from korona.validation import CleanLine, RowId
from korona.web.access import CanProfile
from korona.web.deps import DbSession
from korona.web.forms import Rejected, attempt
from korona.web.handlers import see_other, signed_out
from korona.web.templating import render

router = APIRouter(prefix="/account", include_in_schema=False)


def _account_page(
    request: Request, session: DbSession, principal: Principal, **extra: object
) -> dict[str, object]:
    assert principal.user_id is not None
    return {"tokens": auth_tokens.list_api_tokens(principal.user_id, session=session), **extra}


@router.get("")
def account_page(request: Request, session: DbSession, principal: CanProfile) -> Response:
    """Show the user's profile, roles and API tokens."""
    return render(request, "account.html", _account_page(request, session, principal))


@router.post("/password")
def change_password(
    request: Request,
    session: DbSession,
    principal: CanProfile,
    current_password: Annotated[str, Form(max_length=1000)] = "",
    new_password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Change the password; every session, this one included, is revoked."""
    outcome = attempt(
        lambda: auth_service.change_password(
            principal, session=session, current=current_password, new=new_password
        ),
        session=session,
        field="",
    )
    if isinstance(outcome, Rejected):
        context = _account_page(
            request,
            session,
            principal,
            password_error=outcome.message,
            password_field=outcome.field or None,
        )
        return render(request, "account.html", context, status_code=outcome.status_code)
    return signed_out("/login?changed=1")


@router.post("/tokens")
def create_token(
    request: Request,
    session: DbSession,
    principal: CanProfile,
    name: Annotated[CleanLine, Form(min_length=1, max_length=100)] = "web",
) -> Response:
    """Create an API token and show it once."""
    assert principal.user_id is not None
    token = auth_tokens.create_api_token(
        principal, principal.user_id, session=session, name=name.strip()
    )
    context = _account_page(request, session, principal, new_token=token)
    return render(request, "account.html", context, status_code=201)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: RowId, session: DbSession, principal: CanProfile) -> Response:
    """Revoke one of the user's API tokens."""
    auth_tokens.revoke_api_token(principal, token_id, session=session)
    return see_other("/account")
