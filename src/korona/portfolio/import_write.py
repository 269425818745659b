"""Writing checked import rows through the services; each writer says what it did."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, event, func, inspect, literal, select
from sqlalchemy.orm import Session

from korona.auth import service as auth_service
from korona.auth.models import Organisation
from korona.auth.permissions import Principal
from korona.notify.models import OutboxMessage
from korona.portfolio.import_check import OrganisationRow, Prepared
from korona.portfolio.import_files import ImportEntity
from korona.portfolio.intake import models as intake_models
from korona.portfolio.intake import service as intake
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
        writer.session,
        name=data.name,
        kind=data.kind,
        sector=data.sector,
        municipality_number=data.municipality_number,
        external_ref=item.ref,
    )
    return "created"


def _write_solution(writer: Writer, item: Prepared) -> Outcome:
    data: SolutionCreate = item.payload
    existing = writer.existing.get(item.ref)
    if existing is None:
        solution_service.create_solution(writer.session, writer.principal, data)
        return "created"
    update = SolutionUpdate.model_validate(data.model_dump(exclude={"external_ref"}))
    if all(getattr(existing, key) == value for key, value in update.model_dump().items()):
        return "unchanged"
    solution_service.update_solution(writer.session, writer.principal, existing.id, update)
    return "updated"


def _write_need(writer: Writer, item: Prepared) -> Outcome:
    data, organisation_id, status = item.payload
    session = writer.session
    if item.ref in writer.existing:
        return "unchanged"
    organisation = session.get(Organisation, organisation_id)
    assert organisation is not None
    need_service.record_need(
        session,
        writer.principal,
        data.model_copy(update={"external_ref": item.ref}),
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
    intake.submit_input(session, writer.principal, data, writer.links, submission)
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
                if table.name not in counters:
                    continue
                for attribute in mapper.column_attrs:
                    default = attribute.columns[0].default
                    if default is None or getattr(obj, attribute.key) is not None:
                        continue
                    if default.is_callable:
                        setattr(obj, attribute.key, default.arg(None))
                    elif default.is_scalar:
                        setattr(obj, attribute.key, default.arg)
                if obj.id is None:
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
