"""Translations: Babel catalogues loaded once, the request's language, validation errors."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from datetime import timedelta
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import dates, numbers
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Format, NullTranslations, Translations

from korona.errors import N_

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DEFAULT_LANGUAGE = "nb"
LANGUAGES: dict[str, str] = {"nb": "Norsk bokmål", "en": "English"}

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


def _read_catalogue(language: str) -> Catalog | None:
    """Return the language's .po catalogue as Babel reads it (None if it has none)."""
    path = TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


@cache
def translations(language: str) -> NullTranslations:
    """Return Babel's translations of a language, compiled once from its .po catalogue.

    English message ids translate to themselves; fuzzy entries are left out. Plural forms
    follow the catalogue's own Plural-Forms rule.
    """
    catalog = _read_catalogue(language)
    if catalog is None:
        return NullTranslations()
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain="messages")


@cache
def catalogue(language: str) -> frozenset[str]:
    """Return the message ids (singular and plural) the language's catalogue translates."""
    catalog = _read_catalogue(language)
    if catalog is None:
        return frozenset()
    ids: set[str] = set()
    for message in catalog:
        if message.id and message.string and not message.fuzzy:
            ids.update([message.id] if isinstance(message.id, str) else map(str, message.id))
    return frozenset(ids)


def translate(message: str, language: str) -> str:
    """Translate a message id into the language (values not filled in)."""
    if not message:  # the empty id is the catalogue's header, never a message
        return message
    return translations(language).gettext(message)


def gettext(message: str, **values: Any) -> str:
    """Translate a message id into the current language and fill in ``%(name)s`` values."""
    text = translate(message, current_language.get())
    return text % values if values else text


def ngettext(singular: str, plural: str, count: int, **values: Any) -> str:
    """Translate a count-dependent message by the language's plural rule; ``num`` is the count."""
    text = translations(current_language.get()).ngettext(singular, plural, count)
    values.setdefault("num", count)
    return text % values


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
    "too_long": N_("Choose at most {max_length}"),
    "bool_parsing": N_("Must be yes or no"),
    "bool_type": N_("Must be yes or no"),
    "float_parsing": N_("Must be a number"),
    "int_from_float": N_("Must be a whole number"),
    "datetime_parsing": N_("Must be a date and time (YYYY-MM-DD HH:MM)"),
    "datetime_from_date_parsing": N_("Must be a date and time (YYYY-MM-DD HH:MM)"),
    "url_parsing": N_("Must be a web address (https://…)"),
    "url_scheme": N_("Must be a web address (https://…)"),
    "string_type": N_("Must be text"),
    "list_type": N_("Must be a list"),
    "literal_error": N_("Choose one of the listed values"),
}


def translate_validation_error(error: Mapping[str, Any]) -> str:
    """Return a pydantic validation error as a sentence in the current language."""
    kind = "missing" if error.get("input") in ("", None) else str(error.get("type"))
    template = _PYDANTIC_MESSAGES.get(kind)
    if template is None:
        # A korona validator's own error (PydanticCustomError) carries a catalogue message.
        message = str(error.get("msg", ""))
        translated = gettext(message) if message else message
        if translated != message or (message and current_language.get() != "nb"):
            return translated
        # pydantic's own message is English only: say it in the user's language, less precisely.
        return gettext(_PYDANTIC_MESSAGES["value_error"])
    context = error.get("ctx") or {}
    return gettext(template).format(**{key: value for key, value in context.items()})


def format_date(value: Any) -> str:
    """Format a date or datetime for the current language."""
    if value is None:
        return ""
    return _formatted_date(value, current_language.get())


#: Oslo time, in which every date and time is shown.
OSLO = ZoneInfo("Europe/Oslo")


@lru_cache(maxsize=4096)
def _formatted_date(value: Any, language: str) -> str:
    # Babel formats a date in about a tenth of a millisecond, and a list page shows fifty; the
    # same rows come back page after page, so each (moment, language) is formatted once.
    fmt = Format("nb_NO" if language == "nb" else "en_GB", tzinfo=OSLO)
    if hasattr(value, "hour"):
        return fmt.datetime(value, "short")
    return fmt.date(value, "medium")


def _locale() -> str:
    return "nb_NO" if current_language.get() == "nb" else "en_GB"


def format_number(value: float | int | None, decimals: int = 0) -> str:
    """Format a number for the current language ("12 345,7" in Norwegian); "–" for None."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return numbers.format_decimal(value, format=pattern, locale=_locale())


def format_size(size_bytes: int) -> str:
    """Format a file size: "850 B", "12,3 kB", "4,1 MB" (1 kB = 1000 bytes)."""
    if size_bytes < 1000:
        return f"{format_number(size_bytes)}\u00a0B"
    for unit, factor in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if size_bytes < factor * 1000 or unit == "GB":
            return f"{format_number(size_bytes / factor, 1)}\u00a0{unit}"
    raise AssertionError("unreachable")


def format_hours(hours: float | None) -> str:
    """Format a duration given in hours the way people say it ("5 timer", "3 dager")."""
    if hours is None:
        return "–"
    return dates.format_timedelta(timedelta(hours=hours), threshold=2, locale=_locale())


def format_week(value: str, *, short: bool = False) -> str:
    """Format an ISO week "2026-W44" as "uke 44 2026" ("uke 44" when ``short``)."""
    year, _, week = value.partition("-W")
    if not (week.isascii() and week.isdigit()):
        return value
    if short:
        return gettext("week %(week)d", week=int(week))
    return gettext("week %(week)d %(year)s", week=int(week), year=year)
