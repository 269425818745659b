"""The password policy: long enough and hard to guess (zxcvbn), including personal details."""

from __future__ import annotations

import pytest

from korona.auth.security import MIN_PASSWORD_SCORE, password_score
from korona.auth.service import check_password_strength
from korona.demo import generate_password
from korona.errors import InvalidInput


@pytest.mark.parametrize(
    "password",
    ["1234567890", "password12", "aaaaaaaaaa", "123456789012", "password1234", "a" * 80],
)
def test_common_and_patterned_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput):
        check_password_strength(password)


def test_the_users_own_details_make_a_password_guessable() -> None:
    details = ("kari.nordmann@example.no", "Kari Nordmann")
    for password in ("nordmannkari", "kari.nordmann@example.no"):
        check_password_strength(password)  # strong enough for a stranger's account
        with pytest.raises(InvalidInput, match="too easy to guess"):
            check_password_strength(password, user_inputs=details)


def test_long_unrelated_words_pass_and_demo_passwords_pass() -> None:
    check_password_strength("Stjerne-Bølge-Kompass-17")
    for _ in range(20):
        password = generate_password()
        assert password_score(password) >= MIN_PASSWORD_SCORE
        check_password_strength(password)
