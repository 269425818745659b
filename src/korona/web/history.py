"""Audit entries as sentences in the reader's language: names, labels and Norwegian time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.audit import AuditAction, AuditEntry
from korona.auth.models import Organisation, User
from korona.errors import N_
from korona.portfolio.category import Category
from korona.portfolio.intake.models import Input, InputStatus
from korona.portfolio.need.models import Need
from korona.portfolio.solution.models import Solution
from korona.web import history_words as words
from korona.web import i18n
from korona.web.labels import label

#: Long texts are cut in sentences; the raw diff keeps them whole.
MAX_VALUE_CHARS = 120


@dataclass(frozen=True)
class Names:
    """What the ids and codes in audit entries stand for (ids → names, codes → labels)."""

    users: Mapping[int, str] = field(default_factory=dict)
    needs: Mapping[int, str] = field(default_factory=dict)
    inputs: Mapping[int, str] = field(default_factory=dict)
    solutions: Mapping[int, str] = field(default_factory=dict)
    organisations: Mapping[int, str] = field(default_factory=dict)
    categories: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """One changed field in words: its label and the old and new value as text."""

    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryLine:
    """One audit entry for people: when, a sentence, the changes, and the raw diff."""

    entry: AuditEntry
    when: str
    actor: str
    sentence: str
    subject: str
    changes: list[Change]

    @property
    def raw(self) -> str:
        """Return the stored before/after as JSON text (what the CSV export holds)."""
        return json.dumps(
            {"before": self.entry.before, "after": self.entry.after},
            ensure_ascii=False,
            indent=1,
        )


def actor_name(entry: AuditEntry, names: Names) -> str:
    """Return who acted: the user's name, or the public submitter, or the command line."""
    if entry.actor_id is not None and entry.actor_id in names.users:
        return names.users[entry.actor_id]
    if entry.actor_id is None and entry.actor == words.PUBLIC_ACTOR:
        if entry.entity_type == "input" and entry.action == AuditAction.CREATE:
            return i18n.gettext("submitter (not logged in)")
        # Only inputs come from the public; anything else without a user is the demo loader
        # or a service call made on nobody's behalf.
        return i18n.gettext("the system")
    if entry.actor_id is None and entry.actor == words.CLI_ACTOR:
        return i18n.gettext("the command line")
    return entry.actor


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _time_text(value: str) -> str | None:
    """Return an ISO timestamp or date as local text, or None if it is neither."""
    if len(value) < 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        if len(value) == 10:
            return i18n.format_date(date.fromisoformat(value))
        return i18n.format_date(datetime.fromisoformat(value))
    except ValueError:
        return None


def _named(mapping: Mapping[int, str], value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return mapping.get(value, f"#{value}")
    return str(value)


def value_text(key: str, value: Any, entity_type: str, names: Names) -> str:
    """Return one stored value in words: names for ids, labels for codes, local times."""
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, list):
        return ", ".join(value_text(key, item, entity_type, names) for item in value)
    if isinstance(value, bool):
        return i18n.gettext("Yes") if value else i18n.gettext("No")
    lookups: dict[str, Mapping[int, str]] = {
        "covered_by_id": names.solutions,
        "duplicate_of_id": names.inputs,
        "organisation_id": names.organisations,
        "need_ids": names.needs,
        "submitted_by_id": names.users,
        "created_by_id": names.users,
    }
    if key in lookups:
        return _named(lookups[key], value)
    if key in ("category_code", "categories"):
        return names.categories.get(str(value), str(value))
    enum = words.STATUS_ENUMS.get(entity_type) if key == "status" else words.ENUM_FIELDS.get(key)
    if enum is not None:
        return label(str(value), enum)
    if isinstance(value, str):
        return _time_text(value) or _shorten(value)
    return str(value)


def field_label(key: str) -> str:
    """Return a field's label in the reader's language."""
    if key in words.FIELD_LABELS:
        return i18n.gettext(words.FIELD_LABELS[key])
    return key.replace("_", " ")


def changes_of(entry: AuditEntry, names: Names) -> list[Change]:
    """Return the entry's changed fields in words, leaving out the side-effect fields."""
    after = entry.after or {}
    before = entry.before or {}
    if entry.action == AuditAction.CREATE:
        return []
    return [
        Change(
            field_label(key),
            value_text(key, before.get(key), entry.entity_type, names) if before else "–",
            value_text(key, value, entry.entity_type, names),
        )
        for key, value in after.items()
        if key not in words.QUIET_FIELDS
    ]


def _added(before: Any, after: Any) -> tuple[list[Any], list[Any]]:
    old, new = list(before or []), list(after or [])
    return [item for item in new if item not in old], [item for item in old if item not in new]


def _status_sentence(entry: AuditEntry, names: Names, actor: str) -> str:
    before, after = entry.before or {}, entry.after or {}
    old, new = before.get("status"), after.get("status")
    kind = entry.entity_type
    if kind == "input" and new == InputStatus.DUPLICATE:
        kept = value_text("duplicate_of_id", after.get("duplicate_of_id"), kind, names)
        return i18n.gettext("%(actor)s merged the input into %(kept)s.", actor=actor, kept=kept)
    if kind == "input" and old == InputStatus.DUPLICATE:
        kept = value_text("duplicate_of_id", before.get("duplicate_of_id"), kind, names)
        return i18n.gettext("%(actor)s undid the merge into %(kept)s.", actor=actor, kept=kept)
    if kind == "input" and new == InputStatus.COVERED:
        solution = value_text("covered_by_id", after.get("covered_by_id"), kind, names)
        return i18n.gettext(
            "%(actor)s marked the input as covered by %(solution)s.",
            actor=actor,
            solution=solution,
        )
    if kind == "input" and new == InputStatus.IN_ASSESSMENT:
        group = after.get("working_group") or before.get("working_group") or "–"
        return i18n.gettext(
            "%(actor)s sent the input to the working group %(group)s.", actor=actor, group=group
        )
    if kind == "input" and new == InputStatus.DECLINED:
        return i18n.gettext("%(actor)s declined the input.", actor=actor)
    if old is None or new is None:
        return i18n.gettext("%(actor)s changed the status.", actor=actor)
    return i18n.gettext(
        "%(actor)s changed the status from %(old)s to %(new)s.",
        actor=actor,
        old=value_text("status", old, kind, names),
        new=value_text("status", new, kind, names),
    )


def _update_sentence(entry: AuditEntry, names: Names, actor: str) -> str:
    before, after = entry.before or {}, entry.after or {}
    if "need_ids" in after and set(after) <= {"need_ids"}:
        added, removed = _added(before.get("need_ids"), after.get("need_ids"))
        if added and not removed:
            return i18n.gettext(
                "%(actor)s linked the input to %(needs)s.",
                actor=actor,
                needs=value_text("need_ids", added, entry.entity_type, names),
            )
        if removed and not added:
            return i18n.gettext(
                "%(actor)s removed the links to %(needs)s.",
                actor=actor,
                needs=value_text("need_ids", removed, entry.entity_type, names),
            )
    if "merged" in after:
        added, removed = _added(before.get("merged"), after.get("merged"))
        if added and not removed:
            return i18n.gettext(
                "%(actor)s merged %(inputs)s into this input.",
                actor=actor,
                inputs=", ".join(map(str, added)),
            )
        if removed and not added:
            return i18n.gettext(
                "%(actor)s undid the merge of %(inputs)s into this input.",
                actor=actor,
                inputs=", ".join(map(str, removed)),
            )
    shown = [key for key in after if key not in words.QUIET_FIELDS]
    if not shown:
        return i18n.gettext("%(actor)s made a change.", actor=actor)
    return i18n.gettext(
        "%(actor)s changed %(fields)s.",
        actor=actor,
        fields=", ".join(field_label(key).lower() for key in shown),
    )


def sentence(entry: AuditEntry, names: Names) -> str:
    """Return what happened as one sentence in the reader's language."""
    actor = actor_name(entry, names)
    match entry.action:
        case AuditAction.CREATE:
            template = words.CREATED.get(entry.entity_type, N_("%(actor)s created it."))
            text = i18n.gettext(template, actor=actor)
        case AuditAction.STATUS:
            text = _status_sentence(entry, names, actor)
        case AuditAction.UPDATE:
            text = _update_sentence(entry, names, actor)
        case action if action in words.SIMPLE:
            text = i18n.gettext(words.SIMPLE[action], actor=actor)
        case _:
            text = i18n.gettext("%(actor)s made a change.", actor=actor)
    return text[:1].upper() + text[1:]


def subject_of(entry: AuditEntry, names: Names) -> str:
    """Return what the entry is about, by name (the audit log's "what" column)."""
    kind = entry.entity_type
    key = int(entry.entity_id) if entry.entity_id.isdigit() else None
    lookup: dict[str, Mapping[int, str]] = {
        "input": names.inputs,
        "need": names.needs,
        "solution": names.solutions,
        "user": names.users,
        "organisation": names.organisations,
    }
    noun = i18n.gettext(words.ENTITY_NAMES[kind]) if kind in words.ENTITY_NAMES else kind
    if kind == "category":
        return f"{noun}: {names.categories.get(entry.entity_id, entry.entity_id)}"
    if key is not None and kind in lookup and key in lookup[kind]:
        return f"{noun}: {lookup[kind][key]}"
    return f"{noun} {entry.entity_id}"


def describe(entries: Iterable[AuditEntry], names: Names) -> list[HistoryLine]:
    """Return the entries as lines people read, in the order given."""
    return [
        HistoryLine(
            entry=entry,
            when=i18n.format_date(entry.at),
            actor=actor_name(entry, names),
            sentence=sentence(entry, names),
            subject=subject_of(entry, names),
            changes=changes_of(entry, names),
        )
        for entry in entries
    ]


def _ids(entries: Sequence[AuditEntry], entity_type: str, *keys: str) -> set[int]:
    found: set[int] = set()
    for entry in entries:
        if entry.entity_type == entity_type and entry.entity_id.isdigit():
            found.add(int(entry.entity_id))
        for side in (entry.before or {}, entry.after or {}):
            for key in keys:
                value = side.get(key)
                values = value if isinstance(value, list) else [value]
                found.update(v for v in values if isinstance(v, int) and not isinstance(v, bool))
    return found


def load_names(entries: Sequence[AuditEntry], language: str, *, session: Session) -> Names:
    """Look up, in a few queries, the names of everything the entries refer to."""
    user_ids = {entry.actor_id for entry in entries if entry.actor_id is not None}
    user_ids |= _ids(entries, "user", "submitted_by_id", "created_by_id")
    need_ids = _ids(entries, "need", "need_ids")
    input_ids = _ids(entries, "input", "duplicate_of_id")
    solution_ids = _ids(entries, "solution", "covered_by_id")
    organisation_ids = _ids(entries, "organisation", "organisation_id")

    def pairs(statement: Any) -> dict[int, str]:
        return {row[0]: row[1] for row in session.execute(statement)}

    inputs = session.execute(
        select(Input.id, Input.reference, Input.title).where(Input.id.in_(input_ids))
    )
    return Names(
        users=pairs(select(User.id, User.name).where(User.id.in_(user_ids))),
        needs=pairs(select(Need.id, Need.title).where(Need.id.in_(need_ids))),
        inputs={row.id: f"{row.reference} «{row.title}»" for row in inputs},
        solutions=pairs(select(Solution.id, Solution.name).where(Solution.id.in_(solution_ids))),
        organisations=pairs(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(organisation_ids))
        ),
        categories={
            category.code: category.name(language) for category in session.scalars(select(Category))
        },
    )


def history_lines(entries: Sequence[AuditEntry], *, session: Session) -> list[HistoryLine]:
    """Return the entries as sentences in the current language (names looked up once)."""
    language = i18n.current_language.get()
    return describe(entries, load_names(entries, language, session=session))
