"""Per-request plumbing: language, the CSRF cookie and security headers on every response."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class KoronaMiddleware:
    """Set the language, make sure the browser has a CSRF cookie, add security headers.

    A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's
    ``BaseHTTPMiddleware`` runs the rest of the app in a task of its own and passes the
    response through memory streams, a cost paid on every request. Here the response's first
    message only gets its headers added on its way out.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        csrf_cookie = request.cookies.get(CSRF_COOKIE)
        request.state.csrf_cookie = csrf_cookie or new_token()
        settings = request.app.state.settings
        static = request.url.path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if not csrf_cookie:
                    headers.append("set-cookie", _csrf_cookie_header(request, settings))
                _add_headers(headers, static=static, secure=settings.cookie_secure)
            await send(message)

        token = i18n.current_language.set(request_language(request))
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            i18n.current_language.reset(token)


def _csrf_cookie_header(request: Request, settings: Any) -> str:
    """Return the Set-Cookie value of the browser's new CSRF cookie (as Response.set_cookie)."""
    carrier = Response()
    carrier.set_cookie(
        CSRF_COOKIE,
        request.state.csrf_cookie,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return carrier.headers["set-cookie"]


def _add_headers(headers: MutableHeaders, *, static: bool, secure: bool) -> None:
    for header, value in SECURITY_HEADERS.items():
        headers.setdefault(header, value)
    if static:
        headers["Cache-Control"] = "public, max-age=3600"
    else:
        headers.setdefault("Cache-Control", "no-store")
    if secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")


def add_security_headers(request: Request, response: Response) -> Response:
    """Add the security and caching headers the response does not set itself.

    The middleware adds them to every response it sees; the handler of unexpected errors calls
    this too, because Starlette answers those outside every middleware.
    """
    _add_headers(
        response.headers,
        static=request.url.path.startswith("/static/"),
        secure=request.app.state.settings.cookie_secure,
    )
    return response
