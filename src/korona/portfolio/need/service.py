"""Needs use cases: report, edit, validate, filter, overview counts and history.

The export's columns and rows are in ``need.export``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Row, Select, case, func, select
from sqlalchemy.orm import Session

from korona import audit, municipalities
from korona.audit import AuditAction, AuditEntry
from korona.auth.models import Organisation, Role, Sector
from korona.auth.permissions import Principal
from korona.config import default_reference_dir
from korona.errors import N_, Conflict, Forbidden, InvalidInput
from korona.municipalities import Municipalities
from korona.portfolio.category import category_codes
from korona.portfolio.need.models import NEED_TRANSITIONS, Need, NeedStatus
from korona.portfolio.need.schemas import NeedCreate, NeedRead, NeedUpdate
from korona.portfolio.rows import (
    ColumnRow,
    Columns,
    add_new,
    get_or_raise,
    page_of_rows,
    record_update,
    refuse_taken_ref,
    text_matches,
    where_given,
)

ENTITY = "need"


def check_category(code: str, *, session: Session) -> None:
    """Raise unless the category code is on the managed list."""
    if code not in category_codes(session=session):
        raise InvalidInput(N_("Unknown category '{code}'"), field="category", code=code)


def check_review_date(value: date | None) -> None:
    """Raise if a new need's review-by date has already passed."""
    if value is not None and value < date.today():
        raise InvalidInput(N_("The review-by date cannot be in the past"), field="review_by_date")


def known_municipalities(given: Municipalities | None = None) -> Municipalities:
    """Return the given 2020 municipality list, else the one of the default reference folder.

    The web app passes the list of its settings' reference folder.
    """
    return given if given is not None else municipalities.load(default_reference_dir())


def reporting_organisation(
    principal: Principal, organisation_id: int | None, *, session: Session
) -> Organisation:
    """Return the organisation a need is reported for, checking the caller may report for it."""
    own = principal.organisation_id
    if organisation_id is not None and organisation_id != own:
        if not principal.has_role(Role.PORTFOLIO_OFFICE):
            raise Forbidden(N_("You can only report needs for your own organisation"))
        organisation = session.get(Organisation, organisation_id)
        if organisation is None:
            raise InvalidInput(
                N_("Unknown organisation {id}"), field="organisation_id", id=organisation_id
            )
        return organisation
    if own is None:
        raise InvalidInput(N_("Choose the reporting organisation"), field="organisation_id")
    organisation = session.get(Organisation, own)
    assert organisation is not None
    return organisation


def create_need(
    principal: Principal,
    data: NeedCreate,
    *,
    session: Session,
    places: Municipalities | None = None,
) -> Need:
    """Register a new need for the caller's organisation (or any, for the portfolio office).

    ``places`` is the 2020 municipality list the number is checked against.
    """
    check_category(data.category, session=session)
    organisation = reporting_organisation(principal, data.organisation_id, session=session)
    check_review_date(data.review_by_date)
    known_municipalities(places).check(data.municipality_number)
    refuse_taken_ref(
        Need, data.external_ref, N_("A need with reference {ref} exists already"), session=session
    )
    return record_need(
        principal, data, session=session, organisation=organisation, status=NeedStatus.REGISTERED
    )


def record_need(
    principal: Principal,
    data: NeedCreate,
    *,
    session: Session,
    organisation: Organisation,
    status: NeedStatus,
) -> Need:
    """Insert a need as given, with its audit row (also for imports and the demo, whose needs
    arrive with a status and may have review dates that have already passed)."""
    need = Need(
        external_ref=data.external_ref,
        title=data.title,
        description=data.description,
        category_code=data.category,
        sector=organisation.sector,
        organisation_id=organisation.id,
        clinical_line=data.clinical_line,
        municipality_number=data.municipality_number or organisation.municipality_number,
        urgency=data.urgency,
        affected_groups=[group.value for group in data.affected_groups],
        status=status,
        review_by_date=data.review_by_date,
        created_by_id=principal.user_id,
    )
    return add_new(principal, ENTITY, need, session=session)


def get_need(need_id: int, *, session: Session) -> Need:
    """Return the need or raise NotFound."""
    return get_or_raise(Need, need_id, N_("Need {id} does not exist"), session=session)


def can_edit(principal: Principal, need: Need) -> bool:
    """Return whether the principal may change this need's content."""
    if principal.has_role(Role.PORTFOLIO_OFFICE):
        return True
    return (
        principal.has_role(Role.NEEDS_REPORTER)
        and principal.organisation_id is not None
        and principal.organisation_id == need.organisation_id
        and need.status != NeedStatus.EXPIRED
    )


def update_need(
    principal: Principal,
    need_id: int,
    data: NeedUpdate,
    *,
    session: Session,
    places: Municipalities | None = None,
) -> Need:
    """Change a need's content; reporters only their own organisation's needs."""
    need = get_need(need_id, session=session)
    if not can_edit(principal, need):
        raise Forbidden(N_("You can only edit your own organisation's needs"))
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput(N_("Nothing to change"))
    if "category" in changes:
        check_category(changes["category"], session=session)
    if "municipality_number" in changes:
        known_municipalities(places).check(changes["municipality_number"])
    if changes.get("title") is None and "title" in changes:
        raise InvalidInput(N_("The title cannot be empty"), field="title")
    before = audit.snapshot(need)
    for key, value in changes.items():
        if key == "category":
            need.category_code = value
        elif key == "affected_groups":
            need.affected_groups = [group.value for group in data.affected_groups or []]
        elif value is not None or key in {"municipality_number", "review_by_date"}:
            setattr(need, key, value)
    record_update(principal, AuditAction.UPDATE, ENTITY, need, before, session=session)
    return need


def change_status(
    principal: Principal, need_id: int, status: NeedStatus, *, session: Session
) -> Need:
    """Move a need to a new status along the allowed transitions."""
    need = get_need(need_id, session=session)
    if status not in NEED_TRANSITIONS[need.status]:
        raise Conflict(
            N_("A need cannot go from {current} to {new}"),
            field="status",
            current=need.status,
            new=status,
        )
    before = audit.snapshot(need)
    need.status = status
    record_update(principal, AuditAction.STATUS, ENTITY, need, before, session=session)
    return need


@dataclass(frozen=True)
class NeedFilter:
    """Filters of the needs list and overview."""

    sector: Sector | None = None
    category: str | None = None
    status: NeedStatus | None = None
    organisation_id: int | None = None
    municipality_number: str | None = None
    overdue: bool = False
    text: str | None = None


def _filtered(statement: Select[*Columns], filters: NeedFilter, today: date) -> Select[*Columns]:
    """Return the statement (over needs) narrowed to the needs that match the filters."""
    statement = where_given(
        statement,
        [
            (Need.sector, filters.sector),
            (Need.category_code, filters.category),
            (Need.status, filters.status),
            (Need.organisation_id, filters.organisation_id),
            (Need.municipality_number, filters.municipality_number),
        ],
    )
    if filters.overdue:
        statement = statement.where(Need.overdue_in_sql(today))
    if filters.text:
        statement = statement.where(text_matches(filters.text, Need.title, Need.description))
    return statement


def list_needs(
    filters: NeedFilter, *, session: Session, today: date | None = None
) -> Sequence[Need]:
    """Return the needs matching the filters, most urgent and newest first."""
    return session.scalars(_ordered(filters, today)).unique().all()


def page_needs(
    filters: NeedFilter, *, session: Session, offset: int, limit: int, today: date | None = None
) -> tuple[Sequence[ColumnRow], int]:
    """Return one page of :func:`list_needs` and how many needs match in all.

    The page's needs come as rows of :class:`NeedRead`'s fields, not as entities: a list
    shows 50 at a time on every visit, and rows cost a fraction of what entities do.
    """
    today = today or date.today()
    columns = select(*_READ_COLUMNS, Need.overdue_in_sql(today).label("overdue"))
    statement = _filtered(columns.join_from(Need, Organisation, Need.organisation), filters, today)
    return page_of_rows(
        statement.order_by(*_MOST_URGENT_FIRST), session=session, offset=offset, limit=limit
    )


def _ordered(filters: NeedFilter, today: date | None) -> Select[Need]:
    return _filtered(select(Need), filters, today or date.today()).order_by(*_MOST_URGENT_FIRST)


#: The columns of :class:`NeedRead` but the one computed for a day (overdue).
_READ_COLUMNS = (
    Need.id,
    Need.title,
    Need.description,
    Need.category_code,
    Need.sector,
    Need.organisation_id,
    Organisation.name.label("organisation_name"),
    Need.clinical_line,
    Need.municipality_number,
    Need.urgency,
    Need.affected_groups,
    Need.status,
    Need.review_by_date,
    Need.created_at,
    Need.updated_at,
)


_MOST_URGENT_FIRST = (Need.urgency.desc(), Need.id.desc())


def need_titles(
    *, session: Session, text: str = "", ids: Collection[int] = (), limit: int | None = None
) -> Sequence[Row[int, str]]:
    """Return (id, title) of the needs, most urgent and newest first: a form's choices.

    ``text`` keeps those whose title or description contains it, ``ids`` those with these ids;
    ``limit`` caps how many come back.
    """
    statement = select(Need.id, Need.title).order_by(*_MOST_URGENT_FIRST).limit(limit)
    if text:
        statement = statement.where(text_matches(text, Need.title, Need.description))
    if ids:
        statement = statement.where(Need.id.in_(ids))
    return session.execute(statement).all()


def count_needs(filters: NeedFilter, *, session: Session) -> int:
    """Return how many needs match the filters."""
    matching = _filtered(select(func.count()).select_from(Need), filters, date.today())
    return session.scalar(matching) or 0


@dataclass(frozen=True)
class NeedOverview:
    """Counts of needs by the overview's dimensions (behovsoversikt)."""

    total: int
    overdue: int
    by_sector: dict[str, int]
    by_category: dict[str, int]
    by_status: dict[str, int]
    by_organisation: dict[str, int]
    by_category_status: dict[tuple[str, str], int]


def overview(filters: NeedFilter, *, session: Session, today: date | None = None) -> NeedOverview:
    """Count the needs matching the filters by sector, category, status and organisation.

    One grouped query: the database counts, so the cost does not grow with the needs.
    """
    today = today or date.today()
    counted = select(
        Need.sector,
        Need.category_code,
        Need.status,
        Organisation.name,
        func.count(),
        func.sum(case((Need.overdue_in_sql(today), 1), else_=0)),
    ).join_from(Need, Organisation, Need.organisation)
    groups = session.execute(
        _filtered(counted, filters, today).group_by(
            Need.sector, Need.category_code, Need.status, Organisation.id, Organisation.name
        )
    ).all()
    total = overdue_total = 0
    sectors: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    organisations: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for sector, category, status, organisation, count, late in groups:
        total += count
        overdue_total += late or 0
        sectors[sector.value] += count
        categories[category] += count
        statuses[status.value] += count
        organisations[organisation] += count
        pairs[category, status.value] += count
    return NeedOverview(
        total=total,
        overdue=overdue_total,
        by_sector=dict(sectors),
        by_category=dict(categories),
        by_status=dict(statuses),
        # Most needs first; organisations with as many in name order.
        by_organisation=dict(sorted(organisations.items(), key=lambda kv: (-kv[1], kv[0]))),
        by_category_status=dict(pairs),
    )


def to_read(need: Need, *, today: date | None = None) -> NeedRead:
    """Return the read model of a need."""
    return NeedRead.model_validate(
        {
            **{key: getattr(need, key) for key in NeedRead.model_fields if hasattr(need, key)},
            "category_code": need.category_code,
            "organisation_name": need.organisation.name,
            "overdue": need.is_overdue(today or date.today()),
        }
    )


def need_history(need_id: int, *, session: Session) -> Sequence[AuditEntry]:
    """Return every recorded change to the need, oldest first."""
    return audit.history(ENTITY, need_id, session=session)
