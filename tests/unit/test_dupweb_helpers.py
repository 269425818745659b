"""The web helpers that now serve where the same logic was written twice."""

from __future__ import annotations

import pytest

from korona.auth.models import Role
from korona.auth.permissions import ANONYMOUS, Permission, Principal
from korona.web import i18n
from korona.web.deps import NotAuthenticated, PermissionDenied, check_permission


def test_check_permission_admits_holders_and_tells_the_two_refusals_apart() -> None:
    office = Principal(user_id=1, roles=frozenset({Role.PORTFOLIO_OFFICE}))
    check_permission(ANONYMOUS, Permission.PUBLIC)  # no refusal
    check_permission(office, Permission.NEED_VALIDATE)
    with pytest.raises(NotAuthenticated):
        check_permission(ANONYMOUS, Permission.NEED_VALIDATE)
    reporter = Principal(user_id=2, roles=frozenset())
    with pytest.raises(PermissionDenied):
        check_permission(reporter, Permission.NEED_VALIDATE)


def test_both_catalogue_readers_agree_on_the_bokmal_catalogue() -> None:
    translated = i18n.catalogue("nb")
    assert "Category" in translated
    assert i18n.translations("nb").gettext("Category") == "Kategori"
    assert i18n.catalogue("xx") == frozenset()  # no catalogue: nothing translated
    assert i18n.translations("xx").gettext("Category") == "Category"
