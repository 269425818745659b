"""Steps every portfolio service repeats: fetch a row by id, filter a list, audit a change."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias, TypeVar, TypeVarTuple

from sqlalchemy import ColumnElement, Row, Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from korona.audit import AuditAction, record_change
from korona.auth.permissions import Principal
from korona.db import utcnow
from korona.errors import Conflict, NotFound

RowT = TypeVar("RowT")
#: What a statement selects, column by column (SQLAlchemy 2.1 types a select by its columns).
Columns = TypeVarTuple("Columns")
#: A row of a statement of columns (what :func:`page_of_rows` returns), of any width.
ColumnRow: TypeAlias = Row[*tuple[Any, ...]]


def get_or_raise(
    model: type[RowT], row_id: int, message: str, *, session: Session, **params: Any
) -> RowT:
    """Return the `model` row with this id, or raise NotFound with `message` (given `id`)."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(message, id=row_id, **params)
    return row


def get_owned_or_raise(
    model: type[RowT], row_id: int, owner_key: str, owner_id: int, message: str, *, session: Session
) -> RowT:
    """Return the `model` row with this id if its `owner_key` column is `owner_id`, else NotFound.

    For a row reached through its owner's URL (a meeting's agenda item, a measure's milestone).
    """
    row = session.get(model, row_id)
    if row is None or getattr(row, owner_key) != owner_id:
        raise NotFound(message, id=row_id)
    return row


def refuse_taken_ref(
    model: type[Any], external_ref: str | None, message: str, *, session: Session
) -> None:
    """Raise Conflict with `message` (given `ref`) if a `model` row has this external_ref.

    An external_ref names one row of the system it came from, so a second row may not take it.
    """
    if external_ref and session.scalar(select(model.id).where(model.external_ref == external_ref)):
        raise Conflict(message, field="external_ref", ref=external_ref)


def where_given(
    statement: Select[*Columns], conditions: Iterable[tuple[InstrumentedAttribute[Any], Any]]
) -> Select[*Columns]:
    """Add ``column == value`` for each (column, value) whose value a filter gave (not empty)."""
    for column, value in conditions:
        if value:
            statement = statement.where(column == value)
    return statement


def text_matches(text: str, *columns: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """Return the condition that one of the columns contains `text`, ignoring case."""
    pattern = f"%{text.strip()}%"
    return or_(*(column.ilike(pattern) for column in columns))


def add_new(principal: Principal, entity: str, row: RowT, *, session: Session) -> RowT:
    """Add a new row, flush it (so it has its id) and audit its creation; return it."""
    session.add(row)
    session.flush()
    record_change(principal, AuditAction.CREATE, entity, row, session=session)
    return row


def record_update(
    principal: Principal,
    action: AuditAction,
    entity: str,
    row: Any,
    before: dict[str, Any] | None,
    *,
    session: Session,
    after: dict[str, Any] | None = None,
) -> None:
    """Stamp `row` as updated now, flush it and write the audit row of the change."""
    row.updated_at = utcnow()
    session.flush()
    record_change(principal, action, entity, row, before, session=session, after=after)


def set_field(
    principal: Principal, entity: str, row: Any, field: str, value: Any, *, session: Session
) -> None:
    """Set one field of `row` and audit the change as its old and new value."""
    before = {field: getattr(row, field)}
    setattr(row, field, value)
    record_change(
        principal, AuditAction.UPDATE, entity, row, before, session=session, after={field: value}
    )


def page_of(
    statement: Select[RowT], *, session: Session, offset: int, limit: int
) -> tuple[Sequence[RowT], int]:
    """Return one page of the statement's rows and how many rows it has in all.

    The page with ``LIMIT``/``OFFSET``, then a count only where the page cannot tell: a page
    that is neither full nor empty is the last one, so the rows before it and its own are
    all (a filtered list often fits on one page; each query saved is a database round trip).
    Either way the cost of a list page does not grow with the rows that match it.
    """
    rows = session.scalars(statement.offset(offset).limit(limit)).unique().all()
    return rows, _total(statement, rows, offset, limit, session=session)


def page_of_rows(
    statement: Select[*tuple[Any, ...]], *, session: Session, offset: int, limit: int
) -> tuple[Sequence[ColumnRow], int]:
    """Return one page of a statement of columns, as plain rows, as :func:`page_of` does.

    For lists read on every visit: rows skip the identity map, instance state and eager
    loading that entities cost.
    """
    rows = session.execute(statement.offset(offset).limit(limit)).all()
    return rows, _total(statement, rows, offset, limit, session=session)


def _total(
    statement: Select[Any], page: Sequence[object], offset: int, limit: int, *, session: Session
) -> int:
    """Return how many rows the statement has, counting only where the page cannot tell."""
    if 0 < len(page) < limit or (offset == 0 and not page):
        return offset + len(page)
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    return session.scalar(counted) or 0
