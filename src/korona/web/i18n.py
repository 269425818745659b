"""Translations: Babel catalogues loaded once, the request's language, translated errors."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.messages.pofile import read_po
from babel.support import Format

from korona.errors import N_, DomainError

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DEFAULT_LANGUAGE = "nb"
LANGUAGES: dict[str, str] = {"nb": "Norsk bokmål", "en": "English"}

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """Return msgid → translation for a language (English message ids translate to themselves)."""
    path = TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    translations: dict[str, str] = {}
    for message in catalog:
        if not message.id or not message.string or message.fuzzy:
            continue
        if isinstance(message.id, str):
            translations[message.id] = str(message.string)
        else:  # plural forms: bokmål and English both have singular (n == 1) and plural
            for form_id, form_text in zip(message.id, message.string, strict=False):
                translations[str(form_id)] = str(form_text)
    return translations


def gettext(message: str, **values: Any) -> str:
    """Translate a message id into the current language and fill in ``%(name)s`` values."""
    text = catalogue(current_language.get()).get(message, message)
    return text % values if values else text


def ngettext(singular: str, plural: str, count: int, **values: Any) -> str:
    """Translate a count-dependent message (Norwegian and English share the same plural rule)."""
    message = singular if count == 1 else plural
    values.setdefault("num", count)
    return gettext(message, **values)


def translate_error(error: DomainError) -> str:
    """Return a domain error's message in the current language; enum values become labels."""
    from korona.web.labels import label  # labels translate through this module

    template = catalogue(current_language.get()).get(error.message, error.message)
    values = {
        key: label(value) if isinstance(value, Enum) else value
        for key, value in error.params.items()
    }
    return template.format(**values)


#: Norwegian and English texts for pydantic's error types (pydantic itself speaks English only).
_PYDANTIC_MESSAGES = {
    "missing": N_("This field is required"),
    "string_too_short": N_("Must have at least {min_length} characters"),
    "string_too_long": N_("Must have at most {max_length} characters"),
    "string_pattern_mismatch": N_("Has the wrong format"),
    "greater_than_equal": N_("Must be at least {ge}"),
    "less_than_equal": N_("Must be at most {le}"),
    "int_parsing": N_("Must be a whole number"),
    "date_from_datetime_parsing": N_("Must be a date (YYYY-MM-DD)"),
    "date_parsing": N_("Must be a date (YYYY-MM-DD)"),
    "enum": N_("Choose one of the listed values"),
    "too_short": N_("Choose at least {min_length}"),
    "value_error": N_("Invalid value"),
}


def translate_validation_error(error: Mapping[str, Any]) -> str:
    """Return a pydantic validation error as a sentence in the current language."""
    kind = "missing" if error.get("input") in ("", None) else str(error.get("type"))
    template = _PYDANTIC_MESSAGES.get(kind)
    if template is None:
        return gettext(str(error.get("msg", "Invalid value")))
    context = error.get("ctx") or {}
    return gettext(template).format(**{key: value for key, value in context.items()})


def format_date(value: Any) -> str:
    """Format a date or datetime for the current language."""
    if value is None:
        return ""
    locale = "nb_NO" if current_language.get() == "nb" else "en_GB"
    fmt = Format(locale, tzinfo=ZoneInfo("Europe/Oslo"))
    if hasattr(value, "hour"):
        return fmt.datetime(value, "short")
    return fmt.date(value, "medium")
