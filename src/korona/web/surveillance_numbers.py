"""Figures on the surveillance pages, formatted as Babel formats them, at a tenth of the cost."""

from __future__ import annotations

import decimal
import math
from typing import Any

from babel.numbers import format_decimal

from korona.web import i18n

__all__ = ["babel_number", "number"]

_STEPS = {digits: decimal.Decimal(1).scaleb(-digits) for digits in range(7)}


def number(value: Any, digits: int = 0) -> str:
    """Format a figure for the page in the current language ("–" for none).

    The same text as Babel's ``format_decimal(value, "#,##0.0…")`` (half-even rounding of
    the decimal the float prints as; Norwegian: non-breaking space between thousands and a
    decimal comma), at a tenth of its cost: a page shows thousands of figures.
    """
    if value is None:
        return "–"
    if isinstance(value, str):
        return value  # "<5" or ":"
    language = i18n.current_language.get()
    if isinstance(value, float) and not math.isfinite(value):
        return babel_number(value, digits, language)
    try:
        rounded = decimal.Decimal(str(value)).quantize(
            _STEPS[digits], rounding=decimal.ROUND_HALF_EVEN
        )
    except (decimal.InvalidOperation, KeyError):
        return babel_number(value, digits, language)
    text = f"{rounded:,}"
    if language == "nb":
        return text.replace(",", "\u00a0").replace(".", ",")
    return text


def babel_number(value: Any, digits: int, language: str) -> str:
    pattern = "#,##0" if digits == 0 else "#,##0." + "0" * digits
    return format_decimal(value, format=pattern, locale=language)
