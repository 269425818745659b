"""Pure parts of the foundation: security helpers, permissions, translations, exports, config."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from korona.auth.models import Role
from korona.auth.permissions import ANONYMOUS, PERMISSIONS, Permission, Principal
from korona.auth.security import (
    csrf_token,
    csrf_valid,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)
from korona.config import DEV_SECRET_KEY, Environment, Settings
from korona.errors import InvalidInput
from korona.portfolio.need.models import NEED_TRANSITIONS, NeedStatus
from korona.portfolio.need.schemas import NeedCreate
from korona.tabular import to_csv
from korona.web import i18n
from korona.web.labels import translate_error


def test_password_hash_is_argon2id_and_verifies() -> None:
    hashed = hash_password("correct-horse-battery")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct-horse-battery")
    assert not verify_password(hashed, "wrong")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "anything")


def test_tokens_are_random_and_stored_hashed() -> None:
    first, second = new_token(), new_token()
    assert first != second and len(first) >= 43
    assert token_hash(first) != first and len(token_hash(first)) == 64


def test_csrf_token_is_bound_to_cookie_session_and_secret() -> None:
    token = csrf_token("secret", "cookie", None)
    assert csrf_valid("secret", "cookie", None, token)
    assert not csrf_valid("secret", "other-cookie", None, token)
    assert not csrf_valid("other-secret", "cookie", None, token)
    assert not csrf_valid("secret", None, None, token)
    assert not csrf_valid("secret", "cookie", None, None)
    # A token minted before login (or in another session) fails once a session is there.
    assert not csrf_valid("secret", "cookie", "session-a", token)
    in_session = csrf_token("secret", "cookie", "session-a")
    assert csrf_valid("secret", "cookie", "session-a", in_session)
    assert not csrf_valid("secret", "cookie", "session-b", in_session)
    assert not csrf_valid("secret", "cookie", None, in_session)


def test_anonymous_has_only_public() -> None:
    assert [permission for permission in Permission if ANONYMOUS.can(permission)] == [
        Permission.PUBLIC
    ]


@given(st.sets(st.sampled_from(list(Role)), min_size=1))
def test_several_roles_grant_the_union(roles: set[Role]) -> None:
    principal = Principal(user_id=1, email="a@example.no", roles=frozenset(roles))
    for permission in Permission:
        assert principal.can(permission) == any(role in PERMISSIONS[permission] for role in roles)


def test_observer_reads_everything_and_changes_nothing() -> None:
    observer = Principal(user_id=1, email="o@example.no", roles=frozenset({Role.OBSERVER}))
    assert observer.can(Permission.NEED_READ) and observer.can(Permission.AUDIT_READ)
    changing = {
        Permission.NEED_CREATE,
        Permission.NEED_EDIT,
        Permission.NEED_VALIDATE,
        Permission.CATEGORY_MANAGE,
    }
    assert not any(observer.can(permission) for permission in changing)


def test_every_need_status_is_reachable_from_registered() -> None:
    reached, frontier = {NeedStatus.REGISTERED}, [NeedStatus.REGISTERED]
    while frontier:
        for target in NEED_TRANSITIONS[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(NeedStatus)
    assert all(status not in NEED_TRANSITIONS[status] for status in NeedStatus)


def test_validation_errors_translate_to_norwegian() -> None:
    with pytest.raises(ValidationError) as caught:
        NeedCreate.model_validate(
            {
                "title": "ab",
                "description": "",
                "category": "video",
                "urgency": 7,
                "affected_groups": [],
            }
        )
    token = i18n.current_language.set("nb")
    try:
        messages = {
            str(error["loc"][0]): i18n.translate_validation_error(error)
            for error in caught.value.errors()
        }
    finally:
        i18n.current_language.reset(token)
    assert messages["title"] == "Må ha minst 3 tegn"
    assert messages["description"] == "Feltet må fylles ut"
    assert messages["urgency"] == "Må være høyst 4"
    assert messages["affected_groups"] == "Velg minst 1"


def test_domain_errors_translate_with_values() -> None:
    error = InvalidInput("Unknown category '{code}'", code="teleport")
    assert error.text == "Unknown category 'teleport'"
    token = i18n.current_language.set("nb")
    try:
        assert translate_error(error) == "Ukjent kategori «teleport»"
    finally:
        i18n.current_language.reset(token)


def test_csv_export_neutralises_formulas_and_keeps_norwegian_letters() -> None:
    data = to_csv(["a", "b"], [["=1+1", "Ålesund"], ["-2", "Tromsø"]])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["a", "b"], ["'=1+1", "Ålesund"], ["'-2", "Tromsø"]]


def test_settings_default_to_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'korona.sqlite3'}"


def test_production_refuses_default_or_short_secret() -> None:
    for secret in (DEV_SECRET_KEY, "too-short"):
        with pytest.raises(ValidationError, match="KORONA_SECRET_KEY"):
            Settings(environment=Environment.PRODUCTION, secret_key=secret)
    assert Settings(environment=Environment.PRODUCTION, secret_key="x" * 40).secret_key


def test_labels_keep_enums_with_equal_values_apart() -> None:
    from korona.portfolio.intake.models import InputStatus
    from korona.web.labels import _LABELLED, LABELS, label

    assert len(LABELS) == len(_LABELLED)  # no (enum, value) pair labelled twice
    token = i18n.current_language.set("en")
    try:
        assert label(NeedStatus.COVERED) == "Covered"
        assert label(InputStatus.COVERED) == "Covered by existing solution"
        assert label("covered", NeedStatus) == "Covered"
    finally:
        i18n.current_language.reset(token)
