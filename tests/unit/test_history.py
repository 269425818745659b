"""Audit entries as sentences: names for ids, labels for codes, Oslo time, nb and en."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from korona.audit import AuditEntry
from korona.web import i18n
from korona.web.history import Names, describe, sentence, value_text

AT = datetime(2026, 12, 1, 19, 8, 2, tzinfo=UTC)  # 20:08 in Oslo (winter time, UTC+1)
NAMES = Names(
    users={1: "Kari Kontor"},
    needs={11: "Digital hjemmeoppfølging"},
    inputs={3: "INN-2026-0003 «Videoløsning»"},
    solutions={7: "Smittestopp"},
    organisations={5: "Bergen kommune"},
    categories={"contact_tracing": "Smittesporing"},
)


def entry(action: str, entity_type: str = "input", actor_id: int | None = 1, **sides: object):
    return AuditEntry(
        id=1,
        at=AT,
        actor_id=actor_id,
        actor="kari@example.no" if actor_id else "anonymous",
        action=action,
        entity_type=entity_type,
        entity_id="29",
        before=sides.get("before"),
        after=sides.get("after"),
    )


@pytest.fixture(params=["nb", "en"])
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    token = i18n.current_language.set(request.param)
    yield request.param
    i18n.current_language.reset(token)


def test_public_submission_names_the_submitter_without_login(language: str) -> None:
    text = sentence(entry("create", actor_id=None, after={"title": "x"}), NAMES)
    expected = {
        "nb": "Innsender (uten innlogging) sendte inn innspillet.",
        "en": "Submitter (not logged in) submitted the input.",
    }
    assert text == expected[language]
    assert "anonymous" not in text


def test_covered_status_names_the_solution_and_the_person(language: str) -> None:
    item = entry(
        "status",
        before={"status": "received", "covered_by_id": None, "first_feedback_at": None},
        after={
            "status": "covered",
            "covered_by_id": 7,
            "first_feedback_at": "2026-12-01T19:08:02.865014+00:00",
        },
    )
    line = describe([item], NAMES)[0]
    assert "Kari Kontor" in line.sentence and "Smittestopp" in line.sentence
    assert "covered_by_id" not in line.sentence and "None" not in line.sentence
    labels = [change.label for change in line.changes]
    assert "first_feedback_at" not in labels  # a side effect, left to the raw diff
    assert ("Dekket av" if language == "nb" else "Covered by") in labels
    status = next(change for change in line.changes if change.new != "Smittestopp")
    if language == "nb":
        assert (status.old, status.new) == ("Mottatt", "Dekket av eksisterende løsning")
    assert "first_feedback_at" in line.raw and "covered_by_id" in line.raw


def test_time_is_norwegian_local_time(language: str) -> None:
    line = describe([entry("login", entity_type="user")], NAMES)[0]
    assert "20:08" in line.when  # 19:08 UTC is 20:08 in Oslo in December
    assert (
        line.sentence == {"nb": "Kari Kontor logget inn.", "en": "Kari Kontor logged in."}[language]
    )


def test_need_links_are_named_by_title(language: str) -> None:
    text = sentence(entry("update", before={"need_ids": []}, after={"need_ids": [11]}), NAMES)
    assert "Digital hjemmeoppfølging" in text and "#11" not in text


def test_merge_and_undo_read_both_ways(language: str) -> None:
    merged = entry(
        "status",
        before={"status": "received", "duplicate_of_id": None},
        after={"status": "duplicate", "duplicate_of_id": 3},
    )
    undone = entry(
        "status",
        before={"status": "duplicate", "duplicate_of_id": 3},
        after={"status": "received", "duplicate_of_id": None},
    )
    kept = entry("update", before={"merged": []}, after={"merged": ["INN-2026-0029"]})
    kept_undone = entry("update", before={"merged": ["INN-2026-0029"]}, after={"merged": []})
    texts = [sentence(item, NAMES) for item in (merged, undone, kept, kept_undone)]
    assert all("INN-2026-0003 «Videoløsning»" in text for text in texts[:2])
    assert all("INN-2026-0029" in text for text in texts[2:])
    assert len(set(texts)) == 4
    if language == "nb":
        assert texts[1] == "Kari Kontor angret sammenslåingen med INN-2026-0003 «Videoløsning»."


def test_values_become_labels_names_and_local_dates(language: str) -> None:
    assert (
        value_text("status", "uncovered", "need", NAMES)
        == {
            "nb": "Udekket",
            "en": "Not covered",
        }[language]
    )
    assert value_text("organisation_id", 5, "need", NAMES) == "Bergen kommune"
    assert value_text("organisation_id", 99, "need", NAMES) == "#99"  # gone since: the id
    assert value_text("category_code", "contact_tracing", "need", NAMES) == "Smittesporing"
    assert value_text("is_public", True, "input", NAMES) == {"nb": "Ja", "en": "Yes"}[language]
    assert value_text("municipality_number", None, "need", NAMES) == "–"
    assert value_text("review_by_date", "2026-12-24", "need", NAMES) != "2026-12-24"
    assert value_text("description", "ord " * 100, "need", NAMES).endswith("…")


def test_unknown_actor_and_fields_fall_back_to_what_was_stored() -> None:
    item = entry("update", actor_id=42, before={"odd_field": 1}, after={"odd_field": 2})
    line = describe([item], NAMES)[0]
    assert line.actor == "kari@example.no"  # a user no longer there: the stored address
    assert [(c.label, c.old, c.new) for c in line.changes] == [("odd field", "1", "2")]


def test_only_inputs_come_from_the_public_anything_else_unnamed_is_the_system(
    language: str,
) -> None:
    need = entry("create", entity_type="need", actor_id=None, after={"title": "x"})
    assert (
        sentence(need, NAMES)
        == {
            "nb": "Systemet registrerte behovet.",
            "en": "The system registered the need.",
        }[language]
    )
