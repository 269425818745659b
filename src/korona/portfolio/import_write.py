"""Writing checked import rows through the services; each writer says what it did."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, event, func, insert, inspect, literal, select
from sqlalchemy.orm import ONETOMANY, Session

from korona.auth import service as auth_service
from korona.auth.models import Organisation
from korona.auth.permissions import Principal
from korona.db import Base
from korona.notify.models import OutboxMessage
from korona.portfolio.import_check import OrganisationRow, Prepared
from korona.portfolio.import_files import ImportEntity
from korona.portfolio.intake import models as intake_models
from korona.portfolio.intake import service as intake
from korona.portfolio.matching import changes
from korona.portfolio.need import models as need_models
from korona.portfolio.need import service as need_service
from korona.portfolio.solution import service as solution_service
from korona.portfolio.solution.schemas import SolutionCreate, SolutionUpdate

#: What writing one row did: the name of the report's counter to raise.
Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class Writer:
    """What writing needs besides the row: who imports, status links, whether to send receipts."""

    session: Session
    principal: Principal
    links: intake.StatusLinks
    send_receipts: bool
    #: The rows of this entity whose external_ref exists already (one query for all rows).
    existing: dict[str, Any]


def _write_organisation(writer: Writer, item: Prepared) -> Outcome:
    data: OrganisationRow = item.payload
    if item.ref in writer.existing:
        return "unchanged"
    auth_service.get_or_create_organisation(
        session=writer.session, **data.model_dump(), external_ref=item.ref
    )
    return "created"


def _write_solution(writer: Writer, item: Prepared) -> Outcome:
    data: SolutionCreate = item.payload
    existing = writer.existing.get(item.ref)
    if existing is None:
        solution_service.create_solution(writer.principal, data, session=writer.session)
        return "created"
    update = SolutionUpdate.model_validate(data.model_dump(exclude={"external_ref"}))
    if all(getattr(existing, key) == value for key, value in update.model_dump().items()):
        return "unchanged"
    solution_service.update_solution(writer.principal, existing.id, update, session=writer.session)
    return "updated"


def _write_need(writer: Writer, item: Prepared) -> Outcome:
    data, organisation_id, status = item.payload
    session = writer.session
    if item.ref in writer.existing:
        return "unchanged"
    organisation = session.get(Organisation, organisation_id)
    assert organisation is not None
    need_service.record_need(
        writer.principal,
        data.model_copy(update={"external_ref": item.ref}),
        session=session,
        organisation=organisation,
        status=status,
    )
    return "created"


def _write_input(writer: Writer, item: Prepared) -> Outcome:
    data, received_at = item.payload
    session = writer.session
    if item.ref in writer.existing:
        return "unchanged"
    submission = intake.Submission(
        imported=True,
        received_at=received_at,
        send_receipt=writer.send_receipts,
        checked_in_bulk=True,
    )
    intake.submit_input(writer.principal, data, writer.links, submission, session=session)
    return "created"


Write = Callable[[Writer, Prepared], Outcome]

#: The writer of each entity's rows.
WRITERS: dict[ImportEntity, Write] = {
    ImportEntity.ORGANISATIONS: _write_organisation,
    ImportEntity.SOLUTIONS: _write_solution,
    ImportEntity.NEEDS: _write_need,
    ImportEntity.INPUTS: _write_input,
}


# -- writing on SQLite without holding the write lock for the whole write phase ---------------

#: Tables whose new rows' ids other rows of the same import use: audit rows (entity_id),
#: reference numbers, status links, need links and receipts (outbox_message_id).
_RESERVED: tuple[type[Any], ...] = (
    Organisation,
    need_models.Need,
    intake_models.Input,
    OutboxMessage,
)


@dataclass
class NextIds:
    """The next free id of each reserved table, as the database would hand them out."""

    next: dict[str, int]

    @classmethod
    def read(cls, session: Session) -> NextIds:
        found: dict[str, int] = {}
        for model in _RESERVED:
            table = model.__table__
            found[table.name] = (session.scalar(select(func.max(table.c.id))) or 0) + 1
        return cls(found)

    @contextmanager
    def deferred(self, session: Session) -> Iterator[None]:
        """Inside the block, flushes write nothing: they give new rows the next reserved id
        and their Python-side column defaults, as a real INSERT would. The rows stay pending
        until the next real flush, which writes them all in a few batched INSERTs."""
        counters = dict(self.next)
        added: list[Any] = []  # rows made pending since the last flush (session.new grows)

        def pending(_session: Session, obj: Any) -> None:
            added.append(obj)

        def assign(objects: Any = None) -> None:
            fresh = list(added)
            added.clear()
            for obj in fresh:
                mapper = inspect(obj).mapper
                table = mapper.local_table
                for attribute in mapper.column_attrs:
                    default = attribute.columns[0].default
                    if default is None or getattr(obj, attribute.key) is not None:
                        continue
                    if default.is_callable:
                        setattr(obj, attribute.key, default.arg(None))
                    elif default.is_scalar:
                        setattr(obj, attribute.key, default.arg)
                if table.name in counters and obj.id is None:
                    obj.id = counters[table.name]
                    counters[table.name] += 1

        event.listen(session, "transient_to_pending", pending)
        session.flush = assign  # type: ignore[method-assign]
        try:
            with session.no_autoflush:
                yield
            assign()
        finally:
            del session.flush
            event.remove(session, "transient_to_pending", pending)


def take_write_lock(session: Session) -> None:
    """Start the write transaction now (SQLite takes its write lock at the first write)."""
    session.execute(delete(OutboxMessage).where(literal(False)))


def pending_rows(*, session: Session) -> dict[str, list[dict[str, Any]]]:
    """Take the session's pending rows out of it as column values, table by table.

    The rows were built inside ``NextIds.deferred`` (ids of the reserved tables and Python-side
    defaults set); the other tables' ids will come from the database, in the order the rows
    were added. Columns set through a relationship (an input's need links) are copied here, as
    a flush would. Done before taking the write lock; ``insert_rows`` then writes them.
    """
    with session.no_autoflush:
        objects = list(session.new)  # strong references: the session holds pending rows weakly
        states = sorted((inspect(obj) for obj in objects), key=lambda state: state.insert_order)
        for state in states:
            _copy_relationship_keys(state)
        rows: dict[str, list[dict[str, Any]]] = {}
        reserved = {model.__table__.name for model in _RESERVED}
        for state in states:
            obj, mapper = state.obj(), state.mapper
            name = mapper.local_table.name
            rows.setdefault(name, []).append(
                {
                    attribute.columns[0].key: getattr(obj, attribute.key)
                    for attribute in mapper.column_attrs
                    if name in reserved or attribute.key != "id"
                }
            )
        changes.note(objects, session=session)  # the match change log, as a flush would
        for obj in objects:
            if obj in session:  # not yet expunged with its parent
                session.expunge(obj)
    return rows


def _copy_relationship_keys(state: Any) -> None:
    for relationship in state.mapper.relationships:
        if relationship.direction is not ONETOMANY:
            continue
        children = getattr(state.obj(), relationship.key) or []
        for child in children if isinstance(children, list) else [children]:
            if child is None:
                continue
            for parent_column, child_column in relationship.local_remote_pairs:
                key = state.mapper.get_property_by_column(parent_column).key
                child_key = inspect(child).mapper.get_property_by_column(child_column).key
                setattr(child, child_key, getattr(state.obj(), key))


def insert_rows(rows: dict[str, list[dict[str, Any]]], *, session: Session) -> None:
    """Write ``pending_rows`` with one executemany INSERT per table, parents first."""
    for table in Base.metadata.sorted_tables:
        if table.name in rows:
            session.execute(insert(table), rows[table.name])
