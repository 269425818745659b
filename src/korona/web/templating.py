"""The Jinja2 environment: autoescaping, translations and the helpers every page uses."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

from korona.audit import AuditAction
from korona.auth.models import Sector
from korona.auth.permissions import ANONYMOUS, Permission, Principal
from korona.auth.security import csrf_token
from korona.config import Environment as Stage
from korona.config import Settings
from korona.portfolio.need.models import NeedStatus
from korona.web import i18n
from korona.web.deps import CSRF_COOKIE, SESSION_COOKIE, get_settings
from korona.web.labels import label

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"

templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        # Every template stays compiled in memory (there are fewer than this).
        cache_size=1000,
    )
)
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True
)


@lru_cache(maxsize=8192)
def _catalogue_markup(language: str, message: str) -> Markup:
    """Return a message translated and marked safe (the catalogue is trusted)."""
    return Markup(i18n.translate(message, language))  # noqa: S704


@lru_cache(maxsize=8192)
def _filled_markup(language: str, message: str) -> Markup:
    """Return a message with no values as Jinja gives it (``%%`` becomes ``%``)."""
    return _catalogue_markup(language, message) % {}


def _template_gettext(message: str, /, **values: Any) -> Markup:
    """Translate like Jinja's newstyle gettext (the message is safe, the values are escaped).

    A list page calls it hundreds of times; Jinja's own goes through two more call layers and
    translates and formats every time, this does each message once per process and language.
    """
    language = i18n.current_language.get()
    if values:
        return _catalogue_markup(language, message) % values
    return _filled_markup(language, message)


@lru_cache(maxsize=4096)
def _language_label(language: str, kind: type, member: Enum | str, enum: type[Enum] | None) -> str:
    # ``language`` (the current one) and ``kind`` only key the cache: members of two string
    # enums with one value are equal (NeedStatus.COVERED == InputStatus.COVERED) but are
    # labelled differently.
    return label(member, enum)


def _template_label(member: Enum | str, enum: type[Enum] | None = None) -> str:
    """Return :func:`label` once per process, language and member (list pages ask per row)."""
    try:
        return _language_label(i18n.current_language.get(), type(member), member, enum)
    except TypeError:  # an unhashable value: no cache
        return label(member, enum)


def status_tag(status: Enum) -> Markup:
    """Return a status as a coloured tag (a Python global, not a macro: rows call it).

    Built once per process, language and status: escaping formats are slow, and a list page
    shows 50 tags.
    """
    return _status_tag(i18n.current_language.get(), type(status), status)


@lru_cache(maxsize=256)
def _status_tag(language: str, kind: type, status: Enum) -> Markup:
    # ``language`` and ``kind`` key the cache, as for _language_label.
    return Markup('<span class="ds-tag k-status k-status--{}">{}</span>').format(
        status.value, _language_label(language, kind, status, None)
    )


templates.env.globals.update(_=_template_gettext, gettext=_template_gettext)
templates.env.filters["date"] = i18n.format_date
templates.env.filters["number"] = i18n.format_number
templates.env.filters["size"] = i18n.format_size
templates.env.filters["hours"] = i18n.format_hours
templates.env.filters["week"] = i18n.format_week
templates.env.globals["Permission"] = Permission
templates.env.filters["label"] = _template_label
templates.env.globals["status_tag"] = status_tag
templates.env.globals["sector_enum"] = Sector
templates.env.globals["status_enum"] = NeedStatus
templates.env.globals["audit_action"] = AuditAction
templates.env.globals["LANGUAGES"] = i18n.LANGUAGES


def configure_templates(settings: Settings) -> None:
    """Compile the templates once per process, not in the requests.

    Outside development a template file is not checked for changes on every render (a stat
    of it and of every template it extends or imports); the compiled code is shared between
    the server's processes through a bytecode cache in the data directory (keyed by the
    source's checksum, so an edited template is never served stale); and every template is
    loaded at start-up, so no request pays for compiling one. Tests compile on demand.
    """
    env = templates.env
    env.auto_reload = settings.environment == Stage.DEV
    if settings.environment == Stage.TEST:
        return
    if env.bytecode_cache is None:
        folder = settings.data_dir / "cache" / "templates"
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:  # a read-only data directory: compile in each process
            log.warning("no template bytecode cache in %s: %s", folder, error)
        else:
            env.bytecode_cache = FileSystemBytecodeCache(str(folder))
    for name in env.list_templates(filter_func=lambda name: name.endswith(".html")):
        env.get_template(name)


def enum_options(members: Iterable[Enum]) -> list[tuple[str, str]]:
    """Return (value, translated label) pairs for a filter's select."""
    return [(str(member.value), label(member)) for member in members]


def category_options(categories: Iterable[Any], language: str) -> list[tuple[str, str]]:
    """Return (code, name in the language) pairs of need categories."""
    return [(category.code, category.name(language)) for category in categories]


def category_names(categories: Iterable[Any]) -> dict[str, str]:
    """Return each need category's name in the current language, by code (for charts)."""
    return dict(category_options(categories, i18n.current_language.get()))


def organisation_options(organisations: Iterable[Any]) -> list[tuple[int, str]]:
    """Return (id, name) pairs of organisations."""
    return [(organisation.id, organisation.name) for organisation in organisations]


templates.env.globals.update(
    enum_options=enum_options,
    category_options=category_options,
    organisation_options=organisation_options,
)


def page_csrf_token(request: Request) -> str:
    """Return the CSRF token that forms on this page must send back."""
    cookie = request.cookies.get(CSRF_COOKIE) or request.state.csrf_cookie
    return csrf_token(
        get_settings(request).secret_key.get_secret_value(),
        cookie,
        request.cookies.get(SESSION_COOKIE),
    )


def query_with(request: Request, **changes: Any) -> str:
    """Return the current query string with some parameters replaced (for filter links)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else "?"


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page with the principal, language and CSRF token in its context."""
    principal: Principal = getattr(request.state, "principal", None) or ANONYMOUS
    base = {
        "principal": principal,
        "language": i18n.current_language.get(),
        "csrf_token": page_csrf_token(request),
        "query_with": lambda **changes: query_with(request, **changes),
    }
    return templates.TemplateResponse(
        request, template, base | (context or {}), status_code=status_code
    )
