"""Solution catalogue use cases: add, edit, find and list existing solutions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction
from korona.auth.permissions import Principal
from korona.errors import N_, InvalidInput
from korona.portfolio.category import category_codes
from korona.portfolio.rows import (
    ColumnRow,
    add_new,
    get_or_raise,
    record_update,
    refuse_taken_ref,
    text_matches,
    where_given,
)
from korona.portfolio.solution.models import Solution, SolutionStatus
from korona.portfolio.solution.schemas import SolutionCreate, SolutionRead, SolutionUpdate

ENTITY = "solution"


def _check_categories(codes: Sequence[str], *, session: Session) -> None:
    known = category_codes(session=session)
    for code in codes:
        if code not in known:
            raise InvalidInput(N_("Unknown category '{code}'"), field="categories", code=code)


def create_solution(principal: Principal, data: SolutionCreate, *, session: Session) -> Solution:
    """Add a solution to the catalogue."""
    _check_categories(data.categories, session=session)
    refuse_taken_ref(
        Solution,
        data.external_ref,
        N_("A solution with reference {ref} exists already"),
        session=session,
    )
    solution = Solution(
        external_ref=data.external_ref,
        name=data.name,
        owner=data.owner,
        description=data.description,
        categories=list(dict.fromkeys(data.categories)),
        status=data.status,
        quality_assured=data.quality_assured,
        url=data.url,
        contact=data.contact,
    )
    return add_new(principal, ENTITY, solution, session=session)


def get_solution(solution_id: int, *, session: Session) -> Solution:
    """Return the solution or raise NotFound."""
    return get_or_raise(Solution, solution_id, N_("Solution {id} does not exist"), session=session)


def update_solution(
    principal: Principal, solution_id: int, data: SolutionUpdate, *, session: Session
) -> Solution:
    """Change a catalogue entry."""
    solution = get_solution(solution_id, session=session)
    changes = {
        key: value
        for key, value in data.model_dump(exclude_unset=True).items()
        if value is not None
    }
    if not changes:
        raise InvalidInput(N_("Nothing to change"))
    if "categories" in changes:
        _check_categories(changes["categories"], session=session)
        changes["categories"] = list(dict.fromkeys(changes["categories"]))
    before = audit.snapshot(solution)
    for key, value in changes.items():
        setattr(solution, key, value)
    record_update(principal, AuditAction.UPDATE, ENTITY, solution, before, session=session)
    return solution


@dataclass(frozen=True)
class SolutionFilter:
    """Filters of the catalogue."""

    category: str | None = None
    status: SolutionStatus | None = None
    quality_assured: bool | None = None
    text: str | None = None


def list_solutions(filters: SolutionFilter | None = None, *, session: Session) -> list[ColumnRow]:
    """Return the catalogue, quality-assured and in-operation first, then by name.

    As rows of :class:`SolutionRead`'s fields, not entities: the catalogue page and API read
    it on every visit, and the triage and assessment forms offer it as choices.
    """
    filters = filters or SolutionFilter()
    statement = where_given(select(*_READ_COLUMNS), [(Solution.status, filters.status)])
    if filters.quality_assured is not None:
        statement = statement.where(Solution.quality_assured.is_(filters.quality_assured))
    if filters.text:
        columns = (Solution.name, Solution.description, Solution.owner)
        statement = statement.where(text_matches(filters.text, *columns))
    solutions = list(session.execute(statement.order_by(Solution.name)))
    if filters.category:
        # Categories are a JSON list: filter in Python, the catalogue is small.
        solutions = [s for s in solutions if filters.category in s.categories]
    order = {status: rank for rank, status in enumerate(SolutionStatus)}
    return sorted(solutions, key=lambda s: (not s.quality_assured, order[s.status]))


#: The columns of :class:`SolutionRead`, which names its fields as the table does.
_READ_COLUMNS = tuple(getattr(Solution, field) for field in SolutionRead.model_fields)


def find_by_ref(external_ref: str, *, session: Session) -> Solution | None:
    """Return the solution with this external reference, if any."""
    return session.scalar(select(Solution).where(Solution.external_ref == external_ref))


def solution_history(solution_id: int, *, session: Session) -> Sequence[audit.AuditEntry]:
    """Return every recorded change to the solution, oldest first."""
    return audit.history(ENTITY, solution_id, session=session)
