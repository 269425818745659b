"""Bounded, typed input values shared by every schema and route: ids, paging, clean text."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, ClassVar

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from korona.errors import N_, InvalidInput

#: The largest id the id columns hold: they are INTEGER, 32 bits on PostgreSQL, which refuses
#: to compare a larger number with them ("integer out of range") instead of finding nothing.
MAX_ROW_ID = 2**31 - 1
#: The largest offset both databases take (a signed 64-bit integer).
MAX_OFFSET = 2**63 - 1
#: The most rows one list request may ask for.
MAX_LIMIT = 1000
#: Characters allowed in multi-line text although they are control characters (browsers send
#: CRLF from a textarea).
MULTILINE_CONTROLS = frozenset("\t\n\r")
#: What a decoder puts where the bytes were not valid UTF-8 (Starlette decodes form fields with
#: errors="replace"); refusing it here refuses every form, query or body sent in a broken encoding.
REPLACEMENT_CHARACTER = "\ufffd"

NOT_ASCII_DIGITS = N_("Must be a whole number written with the digits 0-9")
FORBIDDEN_CHARACTER = N_("Contains a control character or an invalid character")
LINE_BREAK = N_("Must be on a single line")
NOT_NULLABLE = N_("{field} cannot be null: leave it out to keep its value")


def _ascii_integer(value: Any) -> Any:
    """Parse a string of ASCII digits; refuse other digits, which int() would accept."""
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()):
            raise PydanticCustomError("ascii_digits", NOT_ASCII_DIGITS)
        # A longer string is beyond any bound here; int() of a huge one is slow (and capped).
        return int(text) if len(text) <= 20 else MAX_OFFSET + 1
    return value


def _check_text(value: str, *, multiline: bool) -> str:
    for character in value:
        category = unicodedata.category(character)
        if character == REPLACEMENT_CHARACTER or category == "Cs":
            raise PydanticCustomError("forbidden_character", FORBIDDEN_CHARACTER)
        if category == "Cc" and not (multiline and character in MULTILINE_CONTROLS):
            if character in "\n\r":
                raise PydanticCustomError("line_break", LINE_BREAK)
            raise PydanticCustomError("forbidden_character", FORBIDDEN_CHARACTER)
    return value


def clean_text(value: str) -> str:
    """Return multi-line text unchanged if it has no NUL, control or mis-decoded characters."""
    return _check_text(value, multiline=True)


def clean_line(value: str) -> str:
    """Return a single line unchanged if it has no line break, control or mis-decoded characters."""
    return _check_text(value, multiline=False)


#: Checks that run after a string's own constraints (strip, length) in a schema's Annotated
#: type: ``Annotated[str, StringConstraints(strip_whitespace=True, ...), CLEAN_LINE]``.
CLEAN_TEXT = AfterValidator(clean_text)
CLEAN_LINE = AfterValidator(clean_line)

# Bounds come before the ASCII check in each Annotated, so they describe the int in the schema
# while the check, which wraps them, sees the raw input first.
#: A database row id: ASCII digits only, 1 ≤ id ≤ 2³¹−1.
RowId = Annotated[int, Ge(1), Le(MAX_ROW_ID), BeforeValidator(_ascii_integer)]
#: How many rows to skip in a list: 0 ≤ offset ≤ 2⁶³−1.
Offset = Annotated[int, Ge(0), Le(MAX_OFFSET), BeforeValidator(_ascii_integer)]
#: How many rows one list request returns: 1 ≤ limit ≤ MAX_LIMIT.
Limit = Annotated[int, Ge(1), Le(MAX_LIMIT), BeforeValidator(_ascii_integer)]
#: Multi-line text: tab, newline and carriage return allowed, no other control character.
CleanText = Annotated[str, CLEAN_TEXT]
#: One line of text: no control character at all.
CleanLine = Annotated[str, CLEAN_LINE]
#: A Norwegian municipality number: exactly four ASCII digits ([0-9], as \\d also matches
#: other scripts' digits in pydantic's regex engine).
MunicipalityNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]

#: The text fields the portfolio's aggregates share (needs, inputs, solutions).
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200), CLEAN_LINE
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=10, max_length=5000), CLEAN_TEXT
]
CategoryCode = Annotated[str, StringConstraints(min_length=1, max_length=40), CLEAN_LINE]

_ROW_ID = TypeAdapter(RowId)


def parse_row_id(text: str, *, field: str | None = None) -> int:
    """Return the id written in ``text``, or raise InvalidInput naming the field."""
    try:
        return _ROW_ID.validate_python(text)
    except ValidationError:
        raise InvalidInput(N_("{value} is not a valid id"), field=field, value=text[:24]) from None


def row_id_or_none(text: str) -> int | None:
    """Return the id written in ``text`` (ASCII digits, within range), or None for anything
    else: for ids in links and query strings where a wrong one simply finds nothing."""
    try:
        return _ROW_ID.validate_python(text)
    except ValidationError:
        return None


_MUNICIPALITY_NUMBER = TypeAdapter(MunicipalityNumber)


def check_municipality_number(value: str | None) -> str | None:
    """Return the municipality number ("" reads as none), or raise InvalidInput naming the field:
    the services' own check, for callers that bring no schema (imports, the CLI, the demo)."""
    if not value:
        return None
    try:
        return _MUNICIPALITY_NUMBER.validate_python(value)
    except ValidationError:
        raise InvalidInput(
            N_("Municipality number must be 4 digits, got '{value}'"),
            field="municipality_number",
            value=value,
        ) from None


class PartialUpdate(BaseModel):
    """Base of the PATCH schemas: a field left out stays as it is, and null is refused except
    for the fields in ``NULLABLE`` (those a record may lack), so a required value cannot be
    emptied. Declare the others as ``T | SkipJsonSchema[None] = None``: unset reads as None,
    and the published schema does not offer null.
    """

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _refuse_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None and key in cls.model_fields and key not in cls.NULLABLE:
                    raise PydanticCustomError("not_nullable", NOT_NULLABLE, {"field": key})
        return data
