"""Per-request plumbing: language, the CSRF cookie and security headers on every response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from korona.auth.security import new_token
from korona.web import i18n
from korona.web.deps import CSRF_COOKIE

LANGUAGE_COOKIE = "korona_lang"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def request_language(request: Request) -> str:
    """Return the language chosen by cookie, else Norwegian bokmål."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


async def korona_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Set the language, make sure the browser has a CSRF cookie, add security headers."""
    token = i18n.current_language.set(request_language(request))
    csrf_cookie = request.cookies.get(CSRF_COOKIE)
    request.state.csrf_cookie = csrf_cookie or new_token()
    try:
        response = await call_next(request)
    finally:
        i18n.current_language.reset(token)
    if not csrf_cookie:
        response.set_cookie(
            CSRF_COOKIE,
            request.state.csrf_cookie,
            httponly=True,
            secure=request.app.state.settings.cookie_secure,
            samesite="lax",
            path="/",
        )
    return add_security_headers(request, response)


def add_security_headers(request: Request, response: Response) -> Response:
    """Add the security and caching headers the response does not set itself.

    The middleware calls it for every response it sees; the handler of unexpected errors calls
    it too, because Starlette answers those outside every middleware.
    """
    for header, value in SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)
    if request.url.path.startswith("/static/"):
        response.headers["Cache-Control"] = "public, max-age=3600"
    else:
        response.headers.setdefault("Cache-Control", "no-store")
    if request.app.state.settings.cookie_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
