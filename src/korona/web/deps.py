"""Request dependencies: the unit of work, who is asking, permission checks and CSRF."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from korona import municipalities
from korona.auth import tokens as auth_tokens
from korona.auth.permissions import ANONYMOUS, Permission, Principal
from korona.auth.security import csrf_valid
from korona.bootstrap import Runtime
from korona.config import Environment, Settings
from korona.municipalities import Municipalities
from korona.portfolio.intake.service import StatusLinks

SESSION_COOKIE = "korona_session"
CSRF_COOKIE = "korona_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotAuthenticated(Exception):
    """The route needs a login and none was given (401 for the API, login page for pages)."""


class PermissionDenied(Exception):
    """The principal lacks the route's permission (403)."""


class CsrfFailed(Exception):
    """A state-changing browser request came without a valid CSRF token (403)."""


def get_settings(request: Request) -> Settings:
    """Return the settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_municipalities(request: Request) -> Municipalities:
    """Return the 2020 municipality list of the app's reference data folder."""
    return municipalities.load(get_settings(request).reference_dir)


def public_base_url(request: Request) -> str:
    """Return the address links in letters and exports start with.

    KORONA_BASE_URL when set (and always in production); otherwise, in development and tests,
    the address this request came to, so letters work wherever the server runs.
    """
    settings = get_settings(request)
    if settings.base_url_is_set or settings.environment == Environment.PRODUCTION:
        return settings.base_url
    return str(request.base_url).rstrip("/")


def status_links(request: Request) -> StatusLinks:
    """Return the maker of private status links for this request's base address."""
    secret = get_settings(request).secret_key.get_secret_value()
    return StatusLinks(public_base_url(request), secret)


def get_runtime(request: Request) -> Runtime:
    """Return the engine, session factory and match index the app was built with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _database_slot(request: Request) -> AsyncIterator[None]:
    """Wait on the event loop, holding no thread, until the pool has a connection to spare."""
    async with get_runtime(request).database_slots():
        yield


def get_db(
    request: Request, _slot: Annotated[None, Depends(_database_slot, scope="function")]
) -> Iterator[Session]:
    """Yield the request's unit of work: commit when the route returns, roll back on error.

    A plain ``def``: FastAPI runs it, its commit included, in the threadpool, never on the loop.
    It also resolves who is asking in the same hop to the threadpool (the principal's token
    or session look-up is database work too), so that :func:`current_principal` costs no hop
    of its own: a hop is a hand-off between threads, paid by every request.
    """
    with get_runtime(request).unit_of_work() as session:
        try:
            resolve_principal(request, session)
        except NotAuthenticated:
            request.state.principal_refused = True  # raised only where a route asks who it is
        yield session


DbSession = Annotated[Session, Depends(get_db, scope="function")]


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def current_principal(request: Request, session: DbSession) -> Principal:
    """Return who is asking, as :func:`get_db` resolved it in its worker thread.

    Async yet free of database work on the event loop: the look-up ran in ``get_db``; only
    if that did not happen (a test overriding ``get_db``) it runs here, in the threadpool.
    """
    if getattr(request.state, "principal_refused", False):
        raise NotAuthenticated
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        principal = await run_in_threadpool(resolve_principal, request, session)
    return principal


def resolve_principal(request: Request, session: Session) -> Principal:
    """Return who is asking: API bearer token first, then the session cookie."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = ANONYMOUS
    token = _bearer_token(request)
    if token is not None:
        holder = auth_tokens.resolve_api_token(token, session=session)
        if holder is None:
            raise NotAuthenticated
        principal = holder
    elif cookie := request.cookies.get(SESSION_COOKIE):
        principal = auth_tokens.resolve_session(cookie, session=session) or ANONYMOUS
    request.state.principal = principal
    return principal


def resolve_principal_apart(request: Request) -> Principal:
    """Return who is asking, looked up in a unit of work of its own: for code that runs
    without the route's :func:`get_db` (an error page, the surveillance routes)."""
    with get_runtime(request).unit_of_work() as session:
        return resolve_principal(request, session)


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    )


async def _read_form(request: Request) -> None:
    """Read a posted form before any database work, so no connection waits on the upload."""
    if request.method not in SAFE_METHODS and _is_form(request):
        await request.form()  # Starlette keeps it for the handler and the CSRF check


async def _check_csrf(request: Request, settings: Settings) -> None:
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None and _is_form(request):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    if not csrf_valid(
        settings.secret_key.get_secret_value(),
        request.cookies.get(CSRF_COOKIE),
        request.cookies.get(SESSION_COOKIE),
        submitted,
    ):
        raise CsrfFailed


def _has_ambient_credentials(request: Request, principal: Principal) -> bool:
    if principal.via_token:
        return False
    is_api = request.url.path.startswith("/api/")
    return not is_api or SESSION_COOKIE in request.cookies


def check_permission(principal: Principal, permission: Permission) -> None:
    """Refuse a principal without ``permission``: NotAuthenticated if nobody is logged in (the
    login page or 401), else PermissionDenied (403)."""
    if not principal.can(permission):
        if not principal.is_authenticated:
            raise NotAuthenticated
        raise PermissionDenied


def require(
    permission: Permission, *, csrf_exempt: Callable[[Request], bool] | None = None
) -> Callable[..., object]:
    """Return a dependency that admits only principals holding ``permission``.

    It also enforces CSRF on every state-changing request made with a browser session.
    Bearer-token API calls, and anonymous API calls that carry no login cookie, have no
    ambient credentials a forged request could borrow, and are exempt: so the public
    ``POST /api/v1/inputs`` works for scripts, as documented. ``csrf_exempt`` exempts one
    request when it returns True: for a route whose authority is a secret in its own URL (the
    signed unsubscribe link, which mail providers POST without cookies, RFC 8058), not the
    browser's session.
    """

    async def dependency(
        request: Request,
        _form: Annotated[None, Depends(_read_form)],
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        # Async and free of database work: get_db resolved the principal in its worker thread.
        check_permission(principal, permission)
        if (
            request.method not in SAFE_METHODS
            and _has_ambient_credentials(request, principal)
            and not (csrf_exempt is not None and csrf_exempt(request))
        ):
            await _check_csrf(request, get_settings(request))
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency
