"""template_text: a language no template exists in gets the fallback language's template."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from korona.console import CLI
from korona.portfolio.intake import letters
from korona.portfolio.intake.models import LetterKind
from korona.portfolio.measure import notices
from korona.portfolio.measure.models import NoticeKind


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_language_without_templates_gets_the_fallback_as_stored(db: Session) -> None:
    edited = ("Kvittering {reference}", "Hei {contact_name}, takk for innspillet.")
    letters.update_template(CLI, LetterKind.RECEIPT, "nb", *edited, session=db)
    assert letters.get_template(LetterKind.RECEIPT, "de", session=db) == edited
    fallback = notices.DEFAULT_NOTICES[(NoticeKind.DELIVERED, "nb")]
    assert notices.get_template(NoticeKind.DELIVERED, "de", session=db) == fallback
