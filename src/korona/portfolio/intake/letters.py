"""Letters (brev) to submitters: default templates, editing them and filling them in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.permissions import Principal
from korona.db import utcnow
from korona.errors import N_, InvalidInput
from korona.portfolio.intake.models import LetterKind, LetterTemplate
from korona.portfolio.read_cache import remembered
from korona.portfolio.rows import record_change
from korona.portfolio.templates import (
    LANGUAGES,
    check_fields,
    fill_fields,
    find_template,
    template_text,
)

#: The fields a template may use, for the template editor's help text.
FIELDS = (
    "reference",
    "title",
    "contact_name",
    "status_url",
    "solution",
    "solution_url",
    "reason",
    "working_group",
    "kept_reference",
    "kept_title",
)

#: The templates the portfolio starts with (also seeded by migration 0002): (subject, body).
DEFAULT_LETTERS: dict[tuple[LetterKind, str], tuple[str, str]] = {
    (LetterKind.RECEIPT, "nb"): (
        "Kvittering for innspill {reference}",
        "Hei {contact_name},\n\nTakk for innspillet «{title}». Vi har mottatt det med "
        "referansenummer {reference}.\n\nDu kan følge saken og lese alle meldinger fra oss her:\n"
        "{status_url}\n\nVennlig hilsen\nkoronaporteføljen, porteføljekontoret",
    ),
    (LetterKind.RECEIPT, "en"): (
        "Receipt for input {reference}",
        'Hello {contact_name},\n\nThank you for the input "{title}". We have received it with '
        "reference number {reference}.\n\nYou can follow it and read every message from us here:\n"
        "{status_url}\n\nKind regards\nThe koronaportefølje portfolio office",
    ),
    (LetterKind.COVERED, "nb"): (
        "Innspill {reference}: dekket av eksisterende løsning",
        "Hei {contact_name},\n\nTakk for innspillet «{title}». Behovet ser ut til å være dekket "
        "av en eksisterende, kvalitetssikret løsning: {solution} ({solution_url}).\n\n"
        "Begrunnelse: {reason}\n\nVi anbefaler å ta i bruk denne løsningen før noe nytt utvikles."
        "\n\nStatus: {status_url}\n\nVennlig hilsen\nkoronaporteføljen, porteføljekontoret",
    ),
    (LetterKind.COVERED, "en"): (
        "Input {reference}: covered by an existing solution",
        'Hello {contact_name},\n\nThank you for the input "{title}". The need appears to be '
        "covered by an existing, quality-assured solution: {solution} ({solution_url}).\n\n"
        "Why: {reason}\n\nWe recommend using this solution before anything new is built.\n\n"
        "Status: {status_url}\n\nKind regards\nThe koronaportefølje portfolio office",
    ),
    (LetterKind.DUPLICATE, "nb"): (
        "Innspill {reference}: slått sammen med {kept_reference}",
        "Hei {contact_name},\n\nInnspillet «{title}» handler om det samme som innspill "
        "{kept_reference} «{kept_title}», og vi har slått dem sammen. Begge beholder sin "
        "historikk, og innspillet ditt blir vurdert sammen med {kept_reference}.\n\n{reason}\n\n"
        "Status: {status_url}\n\nVennlig hilsen\nkoronaporteføljen, porteføljekontoret",
    ),
    (LetterKind.DUPLICATE, "en"): (
        "Input {reference}: merged with {kept_reference}",
        'Hello {contact_name},\n\nThe input "{title}" is about the same as input '
        '{kept_reference} "{kept_title}", and we have merged them. Both keep their history, and '
        "your input will be assessed together with {kept_reference}.\n\n{reason}\n\n"
        "Status: {status_url}\n\nKind regards\nThe koronaportefølje portfolio office",
    ),
    (LetterKind.IN_ASSESSMENT, "nb"): (
        "Innspill {reference}: sendt til vurdering",
        "Hei {contact_name},\n\nInnspillet «{title}» er sendt til arbeidsgruppen "
        "{working_group} for vurdering. Du hører fra oss når vurderingen er ferdig.\n\n"
        "Status: {status_url}\n\nVennlig hilsen\nkoronaporteføljen, porteføljekontoret",
    ),
    (LetterKind.IN_ASSESSMENT, "en"): (
        "Input {reference}: sent for assessment",
        'Hello {contact_name},\n\nThe input "{title}" has been sent to the working group '
        "{working_group} for assessment. You will hear from us when the assessment is done.\n\n"
        "Status: {status_url}\n\nKind regards\nThe koronaportefølje portfolio office",
    ),
    (LetterKind.DECLINED, "nb"): (
        "Innspill {reference}: ikke videreført",
        "Hei {contact_name},\n\nTakk for innspillet «{title}». Vi har vurdert det og "
        "viderefører det ikke.\n\nBegrunnelse: {reason}\n\nStatus: {status_url}\n\n"
        "Vennlig hilsen\nkoronaporteføljen, porteføljekontoret",
    ),
    (LetterKind.DECLINED, "en"): (
        "Input {reference}: not taken further",
        'Hello {contact_name},\n\nThank you for the input "{title}". We have considered it and '
        "will not take it further.\n\nWhy: {reason}\n\nStatus: {status_url}\n\n"
        "Kind regards\nThe koronaportefølje portfolio office",
    ),
}


def get_template(letter: LetterKind, language: str, *, session: Session) -> tuple[str, str]:
    """Return (subject, body) of a letter in a language, falling back to the defaults."""

    def read() -> tuple[str, str]:
        return template_text(
            LetterTemplate.letter, letter, language, DEFAULT_LETTERS, session=session
        )

    return remembered(("letter_template", letter, language), read, session=session)


def fill(text: str, values: Mapping[str, Any]) -> str:
    """Fill in ``{field}`` values; a field without a value becomes empty text."""
    return fill_fields(text, values, FIELDS)


def update_template(
    principal: Principal,
    letter: LetterKind,
    language: str,
    subject: str,
    body: str,
    *,
    session: Session,
) -> LetterTemplate:
    """Change a letter template after checking it uses only known fields."""
    if language not in LANGUAGES:
        raise InvalidInput(N_("Unknown language '{language}'"), field="language", language=language)
    subject, body = subject.strip(), body.strip()
    if len(subject) < 3 or len(body) < 10:
        raise InvalidInput(N_("The letter needs a subject and a body"), field="body")
    check_fields(subject, FIELDS)
    check_fields(body, FIELDS)
    row = find_template(LetterTemplate.letter, letter, language, session=session)
    if row is None:
        row = LetterTemplate(letter=letter, language=language, subject="", body="")
        session.add(row)
        session.flush()
    before = audit.snapshot(row)
    row.subject, row.body, row.updated_at = subject, body, utcnow()
    session.flush()
    record_change(principal, AuditAction.UPDATE, "letter_template", row, before, session=session)
    return row


def list_templates(*, session: Session) -> list[tuple[LetterKind, str, str, str]]:
    """Return every letter template as (letter, language, subject, body)."""
    return [
        (letter, language, *get_template(letter, language, session=session))
        for letter in LetterKind
        for language in LANGUAGES
    ]
