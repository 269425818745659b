"""Map errors to responses: problem+json under /api, translated HTML pages elsewhere."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from korona.errors import N_, DomainError
from korona.web import i18n
from korona.web.deps import (
    SESSION_COOKIE,
    CsrfFailed,
    NotAuthenticated,
    PermissionDenied,
    resolve_principal_apart,
)
from korona.web.labels import translate_error
from korona.web.middleware import add_security_headers
from korona.web.templating import render

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: N_("Bad request"),
    401: N_("Login required"),
    403: N_("Forbidden"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Too large"),
    422: N_("Invalid input"),
    500: N_("Internal error"),
}


def is_api(request: Request) -> bool:
    """Return whether the request is for the JSON API."""
    return request.url.path.startswith("/api/")


def problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    """Return an RFC 9457 problem document."""
    body = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status}
    body |= {"detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


class Problem(Exception):
    """An API refusal with more to say than a domain error (an import's row errors).

    Raised, not returned, so that the request's unit of work rolls back what was written.
    """

    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extra = extra


def error_page(request: Request, status: int, detail: str) -> Response:
    """Return the translated HTML error page."""
    return render(
        request,
        "error.html",
        {"status": status, "title": i18n.gettext(_TITLES.get(status, "Error")), "detail": detail},
        status_code=status,
    )


#: What a page that does not exist says (Starlette's own 404 says only "Not Found").
NO_SUCH_PAGE = N_(
    "We could not find this page. The address may be wrong, or the page may have moved."
)


async def know_principal(request: Request) -> None:
    """Find out who is logged in when the error came before any route did (an unknown page),
    so the error page shows the right header. The look-up runs in a worker thread."""
    if getattr(request.state, "principal", None) is not None:
        return
    if SESSION_COOKIE not in request.cookies:
        return

    def resolve() -> None:
        try:
            resolve_principal_apart(request)
        except (NotAuthenticated, SQLAlchemyError):
            # An error page must still answer when the login cannot be read: as logged out.
            log.info("error page for %s drawn without the login", request.url.path)

    await run_in_threadpool(resolve)


def field_path(location: tuple[Any, ...] | list[Any]) -> str:
    """Return a validation error's field as dotted path without the 'body'/'query' prefix."""
    parts = [str(part) for part in location if part not in ("body", "query", "path", "form")]
    return ".".join(parts) or "request"


def _in_path(item: Any) -> bool:
    location = item.get("loc", ())
    return bool(location) and location[0] == "path"


def not_found(request: Request) -> Response:
    """Return the 404 answer of the API or the pages."""
    if is_api(request):
        return problem(404, "Not found")
    return error_page(request, 404, i18n.gettext(_TITLES[404]))


def install_error_handlers(app: FastAPI) -> None:
    """Register every error mapping on the app."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        if is_api(request):
            extra = {"field": error.field} if error.field else {}
            return problem(error.status_code, error.text, **extra)
        return error_page(request, error.status_code, translate_error(error))

    @app.exception_handler(Problem)
    async def problem_error(_request: Request, error: Problem) -> Response:
        return problem(error.status, error.detail, **error.extra)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        if any(_in_path(item) for item in error.errors()):
            # A path that names no valid id (too large, not ASCII digits) names nothing.
            return not_found(request)
        errors = [
            {"field": field_path(item.get("loc", ())), "message": str(item.get("msg", ""))}
            for item in error.errors()
        ]
        if is_api(request):
            summary = "; ".join(f"{item['field']}: {item['message']}" for item in errors)
            return problem(422, f"The request is invalid: {summary}", errors=errors)
        text = "; ".join(
            f"{field_path(item.get('loc', ()))}: {i18n.translate_validation_error(item)}"
            for item in error.errors()
        )
        return error_page(request, 422, text)

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, _error: NotAuthenticated) -> Response:
        if is_api(request):
            response = problem(401, "Log in or send a valid API token (Authorization: Bearer …)")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        if request.method == "GET":
            target = quote(
                request.url.path + ("?" + request.url.query if request.url.query else "")
            )
            return RedirectResponse(f"/login?next={target}", status_code=303)
        return error_page(request, 401, i18n.gettext("You must log in to do this."))

    @app.exception_handler(PermissionDenied)
    async def permission_denied(request: Request, _error: PermissionDenied) -> Response:
        if is_api(request):
            return problem(403, "Your roles do not allow this")
        return error_page(request, 403, i18n.gettext("Your roles do not allow this."))

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, _error: CsrfFailed) -> Response:
        if is_api(request):
            return problem(403, "Missing or invalid CSRF token (send the X-CSRF-Token header)")
        return error_page(
            request,
            403,
            i18n.gettext(
                "The form had expired or came from elsewhere. Reload the page and try again."
            ),
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        detail = str(error.detail) if error.detail else _TITLES.get(error.status_code, "Error")
        if is_api(request):
            return problem(error.status_code, detail)
        await know_principal(request)
        if error.status_code == 404 and detail == HTTPStatus.NOT_FOUND.phrase:
            detail = NO_SUCH_PAGE
        elif error.status_code in _TITLES and detail == HTTPStatus(error.status_code).phrase:
            # Starlette's English reason phrase: say it in the reader's language instead.
            detail = _TITLES[error.status_code]
        return error_page(request, error.status_code, i18n.gettext(detail))

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, _error: ClientDisconnect) -> Response:
        # The client gave up while sending its body: nobody reads this answer and nothing was
        # saved, so it is no server error (it used to be logged as one under load).
        log.info("client left during %s %s", request.method, request.url.path)
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
        if is_api(request):
            response: Response = problem(
                500, "Something went wrong on our side; the change was not saved"
            )
        else:
            response = error_page(
                request, 500, i18n.gettext("Something went wrong on our side; nothing was saved.")
            )
        # Starlette sends this response from its outermost layer, past the middleware that adds
        # the security headers to every other response.
        return add_security_headers(request, response)
