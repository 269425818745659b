"""Situation report use cases: report, correct, read, history, and needs registered from them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from korona import audit
from korona.audit import AuditAction, AuditEntry
from korona.auth.models import Organisation, OrganisationKind, Role
from korona.auth.permissions import Principal
from korona.errors import N_, Conflict, Forbidden, InvalidInput
from korona.portfolio.need import service as need_service
from korona.portfolio.need.models import Need
from korona.portfolio.need.schemas import NeedCreate
from korona.portfolio.rows import (
    get_or_raise,
    record_change,
    record_update,
)
from korona.portfolio.situation.models import SituationReport, SituationReportNeed
from korona.portfolio.situation.places import Places
from korona.portfolio.situation.schemas import (
    FIGURES,
    SituationFigures,
    SituationReportCreate,
    SituationReportRead,
)
from korona.surveillance.calendar import parse_iso_week

ENTITY = "situation_report"
#: The fields a correction replaces (and the audit log compares).
REPLACED = (*FIGURES, "needs_text")


def own_municipality(principal: Principal, *, session: Session) -> str | None:
    """Return the municipality the principal reports for: their own, else their organisation's."""
    if principal.municipality_number:
        return principal.municipality_number
    if principal.organisation_id is None:
        return None
    organisation = session.get(Organisation, principal.organisation_id)
    return organisation.municipality_number if organisation else None


def may_report_for(principal: Principal, number: str, *, session: Session) -> bool:
    """Return whether the principal may report or correct for the municipality.

    The portfolio office may act for any municipality; municipal needs reporters and municipal
    doctors only for their own.
    """
    if principal.has_role(Role.PORTFOLIO_OFFICE):
        return True
    if not (principal.has_role(Role.NEEDS_REPORTER) or principal.has_role(Role.MUNICIPAL_DOCTOR)):
        return False
    return own_municipality(principal, session=session) == number


def _reporting_municipality(
    principal: Principal, requested: str | None, places: Places, *, session: Session
) -> str:
    number = requested or own_municipality(principal, session=session)
    if number is None:
        if principal.has_role(Role.PORTFOLIO_OFFICE):
            raise InvalidInput(N_("Choose the municipality"), field="municipality_number")
        raise Forbidden(N_("Your account belongs to no municipality, so you cannot report for one"))
    if number not in places.municipalities:
        raise InvalidInput(
            N_("Unknown municipality number {number}"), field="municipality_number", number=number
        )
    if not may_report_for(principal, number, session=session):
        raise Forbidden(N_("You can only report for your own municipality"))
    return number


def submit_report(
    principal: Principal, data: SituationReportCreate, *, session: Session, places: Places
) -> SituationReport:
    """Store a new report; a second one for the same municipality and week is a Conflict.

    The unique constraint decides (two reporters submitting at once cannot both win); the
    insert runs in a savepoint so that the refusal leaves the caller's transaction usable.
    """
    number = _reporting_municipality(principal, data.municipality_number, places, session=session)
    iso_year, iso_week = parse_iso_week(data.week)
    report = SituationReport(
        municipality_number=number,
        iso_year=iso_year,
        iso_week=iso_week,
        reported_by_id=principal.user_id,
        **{name: getattr(data, name) for name in REPLACED},
    )
    try:
        with session.begin_nested():
            session.add(report)
            session.flush()
    except IntegrityError:
        if find_report(number, data.week, session=session) is None:
            raise
        raise Conflict(
            N_("{municipality} has already reported for week {week}: correct that report instead"),
            field="week",
            municipality=places.municipality_name(number),
            week=data.week,
        ) from None
    record_change(principal, AuditAction.CREATE, ENTITY, report, session=session)
    return report


def correct_report(
    principal: Principal, report_id: int, data: SituationFigures, *, session: Session
) -> SituationReport:
    """Replace a report's figures and text; the audit log keeps what they were."""
    report = get_report(report_id, session=session)
    if not may_report_for(principal, report.municipality_number, session=session):
        raise Forbidden(N_("You can only report for your own municipality"))
    before = audit.snapshot(report)
    for name in REPLACED:
        setattr(report, name, getattr(data, name))
    if all(before[name] == getattr(report, name) for name in REPLACED):
        return report
    report.reported_by_id = principal.user_id
    record_update(principal, AuditAction.UPDATE, ENTITY, report, before, session=session)
    return report


def get_report(report_id: int, *, session: Session) -> SituationReport:
    """Return the report or raise NotFound."""
    return get_or_raise(
        SituationReport, report_id, N_("Situation report {id} does not exist"), session=session
    )


def find_report(number: str, week: str, *, session: Session) -> SituationReport | None:
    """Return a municipality's report for an ISO week, if there is one."""
    iso_year, iso_week = parse_iso_week(week)
    return session.scalar(
        select(SituationReport).where(
            SituationReport.municipality_number == number,
            SituationReport.iso_year == iso_year,
            SituationReport.iso_week == iso_week,
        )
    )


@dataclass(frozen=True)
class ReportFilter:
    """Filters of the report lists: one week, one county or one municipality."""

    week: str | None = None
    county: str | None = None
    municipality_number: str | None = None


def _filtered(filters: ReportFilter) -> Select[Any]:
    statement = select(SituationReport)
    if filters.week:
        iso_year, iso_week = parse_iso_week(filters.week)
        statement = statement.where(
            SituationReport.iso_year == iso_year, SituationReport.iso_week == iso_week
        )
    if filters.county:
        statement = statement.where(SituationReport.municipality_number.startswith(filters.county))
    if filters.municipality_number:
        statement = statement.where(
            SituationReport.municipality_number == filters.municipality_number
        )
    return statement


def list_reports(filters: ReportFilter, *, session: Session) -> Sequence[SituationReport]:
    """Return the matching reports, newest week first, then by municipality number."""
    statement = _filtered(filters).order_by(
        SituationReport.iso_year.desc(),
        SituationReport.iso_week.desc(),
        SituationReport.municipality_number,
    )
    return session.scalars(statement).all()


def latest_reports(numbers: Iterable[str], *, session: Session) -> dict[str, SituationReport]:
    """Return each municipality's newest report (municipalities without one are left out)."""
    wanted = sorted(set(numbers))
    if not wanted:
        return {}
    reports = session.scalars(
        select(SituationReport)
        .where(SituationReport.municipality_number.in_(wanted))
        .order_by(SituationReport.iso_year, SituationReport.iso_week)
    ).all()
    return {report.municipality_number: report for report in reports}


def report_history(report_id: int, *, session: Session) -> Sequence[AuditEntry]:
    """Return every recorded change to the report, oldest first."""
    return audit.history(ENTITY, report_id, session=session)


def need_ids(report_ids: Iterable[int], *, session: Session) -> dict[int, list[int]]:
    """Return report id → ids of the needs registered from it."""
    ids = sorted(set(report_ids))
    found: dict[int, list[int]] = {report_id: [] for report_id in ids}
    if not ids:
        return found
    rows = session.execute(
        select(SituationReportNeed.report_id, SituationReportNeed.need_id)
        .where(SituationReportNeed.report_id.in_(ids))
        .order_by(SituationReportNeed.need_id)
    )
    for report_id, need_id in rows:
        found[report_id].append(need_id)
    return found


def needs_of_report(report_id: int, *, session: Session) -> Sequence[Need]:
    """Return the needs registered from a report, oldest first."""
    return session.scalars(
        select(Need)
        .join(SituationReportNeed, SituationReportNeed.need_id == Need.id)
        .where(SituationReportNeed.report_id == report_id)
        .order_by(Need.id)
    ).all()


def reports_of_need(need_id: int, *, session: Session) -> Sequence[SituationReport]:
    """Return the report a need was registered from (none or one)."""
    return session.scalars(
        select(SituationReport)
        .join(SituationReportNeed, SituationReportNeed.report_id == SituationReport.id)
        .where(SituationReportNeed.need_id == need_id)
    ).all()


def need_municipalities(need: Need, *, session: Session) -> list[str]:
    """Return the municipalities a need is linked to: its own and those of its reports."""
    numbers = [need.municipality_number] if need.municipality_number else []
    numbers += [report.municipality_number for report in reports_of_need(need.id, session=session)]
    return sorted(set(numbers))


def _municipality_organisation(number: str, *, session: Session) -> Organisation | None:
    return session.scalars(
        select(Organisation)
        .where(
            Organisation.municipality_number == number,
            Organisation.kind == OrganisationKind.MUNICIPALITY,
        )
        .order_by(Organisation.id)
        .limit(1)
    ).first()


def register_need(
    principal: Principal, report_id: int, data: NeedCreate, *, session: Session
) -> Need:
    """Register a need from a report's free text, linked back to the report.

    Municipal reporters register for their own municipality; the portfolio office registers
    it for the municipality's organisation when there is one.
    """
    report = get_report(report_id, session=session)
    if not may_report_for(principal, report.municipality_number, session=session):
        raise Forbidden(N_("You can only register needs from your own municipality's reports"))
    organisation_id = None
    if principal.has_role(Role.PORTFOLIO_OFFICE):
        organisation = _municipality_organisation(report.municipality_number, session=session)
        organisation_id = organisation.id if organisation else data.organisation_id
    data = data.model_copy(
        update={
            "municipality_number": report.municipality_number,
            "organisation_id": organisation_id,
        }
    )
    need = need_service.create_need(principal, data, session=session)
    session.add(SituationReportNeed(report_id=report.id, need_id=need.id))
    session.flush()
    record_change(
        principal,
        AuditAction.UPDATE,
        ENTITY,
        report,
        {"need_ids": need_ids([report.id], session=session)[report.id][:-1]},
        session=session,
        after={"need_ids": need_ids([report.id], session=session)[report.id]},
    )
    return need


def to_read(report: SituationReport, places: Places, linked: Sequence[int]) -> SituationReportRead:
    """Return the read model of a report."""
    return SituationReportRead.model_validate(
        {
            **{name: getattr(report, name) for name in (*REPLACED, "id", "municipality_number")},
            "municipality_name": places.municipality_name(report.municipality_number),
            "week": report.week,
            "need_ids": list(linked),
            "created_at": report.created_at,
            "updated_at": report.updated_at,
        }
    )
