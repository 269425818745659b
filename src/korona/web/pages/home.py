"""Public pages: the front page, login and logout, language choice, health check."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from korona.auth import service as auth_service
from korona.auth import tokens as auth_tokens
from korona.auth.models import User
from korona.auth.vocabulary import Role
from korona.validation import CleanLine
from korona.web import i18n
from korona.web.access import CanPublic
from korona.web.deps import SESSION_COOKIE, DbSession, get_settings
from korona.web.handlers import see_other, signed_out
from korona.web.middleware import LANGUAGE_COOKIE
from korona.web.templating import render

router = APIRouter(include_in_schema=False)

#: How long the language cookie lasts (seconds).
YEAR = 365 * 24 * 3600


def safe_next(target: str | None) -> str:
    """Return a local redirect target, refusing other hosts (open redirect)."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def landing_page(user: User, target: str) -> str:
    """Return where a login goes: the asked-for page, else a municipal doctor's municipality."""
    if target == "/" and Role.MUNICIPAL_DOCTOR in user.roles and user.municipality_number:
        return f"/surveillance/municip{user.municipality_number}"
    return target


@router.get("/")
def front_page(request: Request, principal: CanPublic) -> Response:
    """Show what korona is and where to go next."""
    return render(request, "home.html")


@router.get("/login")
def login_form(request: Request, principal: CanPublic, next: str | None = None) -> Response:
    """Show the login form."""
    return render(request, "login.html", {"next": safe_next(next), "email": ""})


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    principal: CanPublic,
    email: Annotated[CleanLine, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[CleanLine, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials (throttled per account and address) and start a session."""
    address = request.client.host if request.client else "unknown"
    outcome = (
        auth_service.log_in(email, password, session=session, address=address) if email else None
    )
    user = outcome.user if outcome else None
    if user is None:
        context = {"next": safe_next(next), "email": email}
        if outcome is None or outcome.throttled is None:
            context["error"] = i18n.gettext("Wrong e-mail address or password.")
            return render(request, "login.html", context, status_code=400)
        minutes = outcome.throttled.wait_minutes
        context["error"] = i18n.ngettext(
            "Too many failed logins. Try again in %(num)d minute.",
            "Too many failed logins. Try again in %(num)d minutes.",
            minutes,
        )
        refused = render(request, "login.html", context, status_code=429)
        refused.headers["Retry-After"] = str(minutes * 60)
        return refused
    settings = get_settings(request)
    token = auth_tokens.start_session(user, session=session, hours=settings.session_hours)
    response = see_other(landing_page(user, safe_next(next)))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    _remember_language(response, user.language, secure=settings.cookie_secure)
    return response


def _remember_language(response: Response, language: str | None, *, secure: bool) -> None:
    """Keep the interface language in a cookie for a year (an unknown language is ignored)."""
    if language in i18n.LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, language, samesite="lax", path="/", secure=secure, max_age=YEAR
        )


@router.post("/logout")
def logout(request: Request, session: DbSession, principal: CanPublic) -> Response:
    """End the session (the server forgets it, not only the browser)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        auth_tokens.end_session(principal, token, session=session)
    return signed_out("/")


@router.post("/language")
def choose_language(
    request: Request,
    language: Annotated[CleanLine, Form(max_length=5)],
    principal: CanPublic,
    next: Annotated[CleanLine, Form(max_length=2000)] = "/",
) -> Response:
    """Switch the interface language and go back to the page."""
    response = see_other(safe_next(next))
    _remember_language(response, language, secure=get_settings(request).cookie_secure)
    return response


@router.get("/healthz")
def health(session: DbSession, principal: CanPublic) -> Response:
    """Report that the app and its database answer (for load balancers)."""
    session.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})
