"""The Norwegian demo: organisations, one user per role, and realistic needs."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.auth import service as auth_service
from korona.auth.models import Organisation, OrganisationKind, Role, Sector, User
from korona.auth.permissions import Principal
from korona.auth.security import MIN_PASSWORD_SCORE, password_score
from korona.config import Settings
from korona.demo.assessment import load_assessment
from korona.demo.netlist import load_decisions
from korona.demo.reports import ReportDemo, load_report_demo
from korona.demo.situation import load_situation
from korona.portfolio.intake.models import Input, InputKind
from korona.portfolio.intake.schemas import InputCreate
from korona.portfolio.intake.service import StatusLinks, Submission, submit_input
from korona.portfolio.need.models import Need, NeedStatus
from korona.portfolio.need.schemas import NeedCreate
from korona.portfolio.need.service import record_need
from korona.portfolio.solution import service as solution_service
from korona.portfolio.solution.models import SolutionStatus
from korona.portfolio.solution.schemas import SolutionCreate

DEMO_DIR = Path(__file__).parent
SYSTEM = Principal()
#: Demo inputs send no receipts, so their status links are never formed.
NO_LINKS = StatusLinks(base_url="", secret="")


@dataclass(frozen=True)
class DemoUser:
    """One demo login."""

    email: str
    name: str
    roles: tuple[Role, ...]
    organisation: str


#: One user per role, documented in README.md and docs/operations.md.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("kontor@demo.korona.no", "Kari Kontor", (Role.PORTFOLIO_OFFICE,), "ehelse"),
    DemoUser("vurderer@demo.korona.no", "Vidar Vurderer", (Role.ASSESSOR,), "hdir"),
    DemoUser("beslutter@demo.korona.no", "Berit Beslutter", (Role.DECISION_MEMBER,), "fhi"),
    DemoUser("observator@demo.korona.no", "Ola Observatør", (Role.OBSERVER,), "ks"),
    DemoUser("sykehus@demo.korona.no", "Siri Sykehus", (Role.NEEDS_REPORTER,), "ous"),
    DemoUser("kommune@demo.korona.no", "Knut Kommune", (Role.NEEDS_REPORTER,), "bergen"),
    DemoUser("innsender@demo.korona.no", "Ida Innsender", (Role.SUBMITTER,), "nordlys"),
    DemoUser("kommunelege@demo.korona.no", "Lars Kommunelege", (Role.MUNICIPAL_DOCTOR,), "bergen"),
    DemoUser("vurderer2@demo.korona.no", "Vera Vurderer", (Role.ASSESSOR,), "nhn"),
    DemoUser("gruppeleder@demo.korona.no", "Gunnar Gruppeleder", (Role.ASSESSOR,), "ks"),
)


def _load(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((DEMO_DIR / name).read_text(encoding="utf-8"))
    return data


def _new_rows(name: str, stored: Callable[[str], bool]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (reference, row) of the demo rows in `name` whose ``demo-`` reference is not stored."""
    for row in _load(name):
        ref = f"demo-{row['ref']}"
        if not stored(ref):
            yield ref, row


def _stored_ref(model: type[Need] | type[Input], *, session: Session) -> Callable[[str], bool]:
    """Return whether a row of `model` with an external reference is stored already."""
    return lambda ref: session.scalar(select(model.id).where(model.external_ref == ref)) is not None


def generate_password() -> str:
    """Return a random, readable demo password that the password policy accepts."""
    while True:
        # 96 random bits nearly always score 4; the loop only guards against a chance word.
        candidate = "demo-" + secrets.token_urlsafe(12)
        if password_score(candidate) >= MIN_PASSWORD_SCORE:
            return candidate


def is_empty(*, session: Session) -> bool:
    """Return whether the database has no users yet."""
    return session.scalar(select(User.id).limit(1)) is None


@dataclass(frozen=True)
class DemoResult:
    """What loading the demo did."""

    organisations: int
    users: tuple[DemoUser, ...]
    needs_added: int
    solutions_added: int = 0
    inputs_added: int = 0
    reports: ReportDemo | None = None


def load_demo(
    *,
    session: Session,
    password: str,
    today: date | None = None,
    settings: Settings | None = None,
) -> DemoResult:
    """Create the demo organisations, users and needs; running it again adds nothing twice.

    Existing demo users get ``password`` so that the printed logins always work.
    """
    today = today or date.today()
    organisations: dict[str, Organisation] = {}
    for row in _load("organisations.json"):
        organisations[row["key"]] = auth_service.get_or_create_organisation(
            session=session,
            name=row["name"],
            kind=OrganisationKind(row["kind"]),
            sector=Sector(row["sector"]),
            municipality_number=row.get("municipality_number"),
            external_ref=f"demo-org-{row['key']}",
        )
    for demo in DEMO_USERS:
        user = auth_service.get_user_by_email(demo.email, session=session)
        if user is None:
            auth_service.create_user(
                SYSTEM,
                session=session,
                email=demo.email,
                name=demo.name,
                password=password,
                roles=demo.roles,
                organisation=organisations[demo.organisation],
            )
        else:
            auth_service.set_password(SYSTEM, user, password, session=session)
    added = 0
    for ref, row in _new_rows("needs.json", _stored_ref(Need, session=session)):
        data = NeedCreate(
            external_ref=ref,
            title=row["title"],
            description=row["description"],
            category=row["category"],
            clinical_line=row.get("clinical_line", ""),
            municipality_number=row.get("municipality_number"),
            urgency=int(row["urgency"]),
            affected_groups=row["affected_groups"],
            review_by_date=today + timedelta(days=int(row["review_by_days"]))
            if row.get("review_by_days") is not None
            else None,
        )
        record_need(
            SYSTEM,
            data,
            session=session,
            organisation=organisations[row["organisation"]],
            status=NeedStatus(row["status"]),
        )
        added += 1
    solutions_added = load_solutions(organisations, session=session)
    inputs_added = load_inputs(session=session, today=today)
    load_assessment(session=session, today=today)
    load_decisions(session=session, today=today)
    load_situation(session=session, today=today)
    reports = load_report_demo(settings, session=session, today=today) if settings else None
    return DemoResult(
        organisations=len(organisations),
        users=DEMO_USERS,
        needs_added=added,
        solutions_added=solutions_added,
        inputs_added=inputs_added,
        reports=reports,
    )


def load_solutions(organisations: dict[str, Organisation], *, session: Session) -> int:
    """Add the demo catalogue of existing solutions (solutions.json); return how many were new."""
    added = 0

    def stored(ref: str) -> bool:
        return solution_service.find_by_ref(ref, session=session) is not None

    for ref, row in _new_rows("solutions.json", stored):
        owner = organisations.get(row["owner"])
        data = SolutionCreate(
            external_ref=ref,
            name=row["name"],
            owner=owner.name if owner else row["owner"],
            description=row["description"],
            categories=row["categories"],
            status=SolutionStatus(row["status"]),
            quality_assured=bool(row["quality_assured"]),
            url=row.get("url", ""),
            contact=row.get("contact", ""),
        )
        solution_service.create_solution(SYSTEM, data, session=session)
        added += 1
    return added


def load_inputs(*, session: Session, today: date) -> int:
    """Add demo inputs (innspill) received over the last weeks, waiting in the triage queue."""
    added = 0
    for ref, row in _new_rows("inputs.json", _stored_ref(Input, session=session)):
        data = InputCreate(
            external_ref=ref,
            kind=InputKind(row["kind"]),
            title=row["title"],
            description=row["description"],
            categories=row["categories"],
            organisation_name=row["organisation_name"],
            is_public=row["is_public"],
            commercial=row["commercial"],
            contact_name=row["contact_name"],
            contact_email=row["contact_email"],
        )
        received = datetime.combine(
            today - timedelta(days=int(row["received_days_ago"])), time(9, 30), tzinfo=UTC
        )
        # Demo inputs are "received elsewhere": no receipts queued for invented addresses.
        submission = Submission(imported=True, received_at=received, send_receipt=False)
        submit_input(SYSTEM, data, NO_LINKS, submission, session=session)
        added += 1
    return added
