"""Editable letter templates: the languages they come in and the {field}s they may use."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from string import Formatter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from korona.errors import N_, InvalidInput

#: The languages every letter template exists in; the first is the fallback.
LANGUAGES = ("nb", "en")


def check_fields(text: str, fields: Collection[str]) -> None:
    """Refuse a template that uses a {field} not in `fields` or has unbalanced braces."""
    try:
        names = [name for _, name, _, _ in Formatter().parse(text) if name is not None]
    except ValueError as error:
        raise InvalidInput(N_("The template has unbalanced braces"), field="body") from error
    unknown = sorted({name for name in names if name not in fields})
    if unknown:
        raise InvalidInput(
            N_("Unknown field {{{name}}} in the template"), field="body", name=unknown[0]
        )


def fill_fields(text: str, values: Mapping[str, Any], fields: Collection[str]) -> str:
    """Fill in ``{field}`` values; a field without a value becomes empty text."""
    return text.format_map({name: values.get(name, "") or "" for name in fields})


def find_template(
    kind_column: InstrumentedAttribute[Any], kind: Any, language: str, *, session: Session
) -> Any:
    """Return the stored template of this kind (its column names the table) and language."""
    model = kind_column.class_
    return session.scalar(select(model).where(kind_column == kind, model.language == language))


def template_text(
    kind_column: InstrumentedAttribute[Any],
    kind: Any,
    language: str,
    defaults: Mapping[tuple[Any, str], tuple[str, str]],
    *,
    session: Session,
) -> tuple[str, str]:
    """Return (subject, body) of a template as stored, else from `defaults`.

    A language no template exists in (a user's or submitter's choice the templates do not
    cover) gets the fallback language's template.
    """
    if language not in LANGUAGES:
        language = LANGUAGES[0]
    row = find_template(kind_column, kind, language, session=session)
    return (row.subject, row.body) if row is not None else defaults[(kind, language)]
