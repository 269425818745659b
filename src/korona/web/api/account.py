"""JSON API about the caller: who am I."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from korona.auth.models import Role
from korona.auth.permissions import Permission
from korona.web.access import CanProfile

router = APIRouter(prefix="/api/v1", tags=["account"])


class MeRead(BaseModel):
    """The authenticated user."""

    id: int
    email: str
    name: str
    organisation: str | None
    municipality_number: str | None
    roles: list[Role]
    permissions: list[Permission]


@router.get("/me", response_model=MeRead)
def me(principal: CanProfile) -> MeRead:
    """Return the caller's identity, roles and permissions."""
    assert principal.user_id is not None
    return MeRead(
        id=principal.user_id,
        email=principal.email,
        name=principal.name,
        organisation=principal.organisation_name,
        municipality_number=principal.municipality_number,
        roles=sorted(principal.roles),
        permissions=[permission for permission in Permission if principal.can(permission)],
    )
