"""Working groups (arbeidsgrupper): who assesses which inputs, and who leads each group."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.models import User
from korona.auth.permissions import Principal
from korona.auth.vocabulary import Role
from korona.errors import N_, Conflict, InvalidInput, NotFound
from korona.portfolio.assessment.models import WorkingGroup, WorkingGroupMember
from korona.portfolio.assessment.schemas import GroupIn, MemberIn
from korona.portfolio.intake.models import Input
from korona.portfolio.rows import get_or_raise, record_change

GROUP = "working_group"


def list_groups(*, session: Session) -> list[WorkingGroup]:
    """Return every working group by name."""
    return list(session.scalars(select(WorkingGroup).order_by(WorkingGroup.name)))


def get_group(group_id: int, *, session: Session) -> WorkingGroup:
    """Return one working group or raise NotFound."""
    return get_or_raise(
        WorkingGroup,
        group_id,
        N_("Working group {id} not found"),
        session=session,
        field="working_group_id",
    )


def _name_taken(name: str, group_id: int | None, *, session: Session) -> None:
    other = session.scalar(
        select(WorkingGroup).where(func.lower(WorkingGroup.name) == name.lower())
    )
    if other is not None and other.id != group_id:
        raise Conflict(N_("A working group named {name} exists"), field="name", name=name)


def create_group(principal: Principal, data: GroupIn, *, session: Session) -> WorkingGroup:
    """Create a working group for a theme."""
    _name_taken(data.name, None, session=session)
    group = WorkingGroup(name=data.name, theme=data.theme)
    session.add(group)
    session.flush()
    audit.record(
        principal, AuditAction.CREATE, GROUP, group.id, session=session, after=_group_state(group)
    )
    return group


def update_group(
    principal: Principal, group_id: int, data: GroupIn, *, session: Session
) -> WorkingGroup:
    """Rename a working group or change its theme."""
    group = get_group(group_id, session=session)
    _name_taken(data.name, group.id, session=session)
    before = _group_state(group)
    group.name, group.theme = data.name, data.theme
    session.flush()
    _record_group_update(principal, group, before, session=session)
    return group


def _group_state(group: WorkingGroup) -> dict[str, object]:
    return {
        "name": group.name,
        "theme": group.theme,
        "members": sorted([m.user_id, m.is_lead] for m in group.members),
    }


def _record_group_update(
    principal: Principal, group: WorkingGroup, before: dict[str, object], *, session: Session
) -> None:
    record_change(
        principal,
        AuditAction.UPDATE,
        GROUP,
        group,
        before,
        session=session,
        after=_group_state(group),
    )


def add_member(
    principal: Principal, group_id: int, data: MemberIn, *, session: Session
) -> WorkingGroupMember:
    """Add an assessor to a working group, or change whether they lead it."""
    group = get_group(group_id, session=session)
    user = session.get(User, data.user_id)
    if user is None or not user.is_active:
        raise NotFound(N_("User {id} not found"), field="user_id", id=data.user_id)
    if Role.ASSESSOR not in user.roles:
        raise InvalidInput(
            N_("Only users with the assessor role can join a working group"), field="user_id"
        )
    before = _group_state(group)
    member = next((m for m in group.members if m.user_id == user.id), None)
    if member is None:
        member = WorkingGroupMember(user_id=user.id, is_lead=data.is_lead)
        group.members.append(member)
    else:
        member.is_lead = data.is_lead
    session.flush()
    _record_group_update(principal, group, before, session=session)
    return member


def remove_member(principal: Principal, group_id: int, user_id: int, *, session: Session) -> None:
    """Take a user out of a working group (their scores stay)."""
    group = get_group(group_id, session=session)
    member = next((m for m in group.members if m.user_id == user_id), None)
    if member is None:
        raise NotFound(N_("User {id} not found"), field="user_id", id=user_id)
    before = _group_state(group)
    group.members.remove(member)
    session.flush()
    _record_group_update(principal, group, before, session=session)


def assessor_candidates(*, session: Session) -> list[User]:
    """Return the active users who hold the assessor role, by name."""
    users = session.scalars(select(User).where(User.is_active).order_by(User.name, User.email))
    return [u for u in users if Role.ASSESSOR in u.roles]


def group_ids_of(user_id: int | None, *, session: Session) -> set[int]:
    """Return the ids of the working groups a user is a member of."""
    if user_id is None:
        return set()
    return set(
        session.scalars(
            select(WorkingGroupMember.group_id).where(WorkingGroupMember.user_id == user_id)
        )
    )


def is_member(principal: Principal, item: Input, *, session: Session) -> bool:
    """Return whether the principal assesses in the input's working group."""
    return item.working_group_id is not None and item.working_group_id in group_ids_of(
        principal.user_id, session=session
    )


def is_lead(principal: Principal, item: Input, *, session: Session) -> bool:
    """Return whether the principal leads the input's working group."""
    if item.working_group_id is None or principal.user_id is None:
        return False
    return bool(
        session.scalar(
            select(WorkingGroupMember.is_lead).where(
                WorkingGroupMember.group_id == item.working_group_id,
                WorkingGroupMember.user_id == principal.user_id,
            )
        )
    )
