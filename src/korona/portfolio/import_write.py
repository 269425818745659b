"""Writing checked import rows through the services; each writer says what it did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from korona.auth import service as auth_service
from korona.auth.models import Organisation
from korona.auth.permissions import Principal
from korona.portfolio.import_check import OrganisationRow, Prepared
from korona.portfolio.import_files import ImportEntity
from korona.portfolio.intake import service as intake
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
        session=writer.session,
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
