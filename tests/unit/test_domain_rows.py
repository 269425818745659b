"""rows.refuse_taken_ref: the one external_ref conflict check of needs, solutions and inputs."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from korona.auth import service as auth_service
from korona.auth.models import Organisation, OrganisationKind, Sector
from korona.errors import Conflict
from korona.portfolio.rows import refuse_taken_ref

MESSAGE = "A row with reference {ref} exists already"


def test_refuse_taken_ref_refuses_only_a_ref_in_use(db: Session) -> None:
    auth_service.get_or_create_organisation(
        session=db,
        name="Refkommune",
        kind=OrganisationKind.MUNICIPALITY,
        sector=Sector.MUNICIPAL,
        external_ref="org-1",
    )
    db.flush()
    for free in (None, "", "org-2"):
        refuse_taken_ref(Organisation, free, MESSAGE, session=db)
    with pytest.raises(Conflict) as caught:
        refuse_taken_ref(Organisation, "org-1", MESSAGE, session=db)
    assert caught.value.field == "external_ref"
    assert caught.value.text == "A row with reference org-1 exists already"
