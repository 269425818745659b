"""Measures, progress reports, coverage, letters and review reminders, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import TEST_SECRET, login, make_organisation, make_user

from korona.auth import tokens as auth_tokens
from korona.auth.models import OrganisationKind, Role, Sector
from korona.auth.permissions import Principal, principal_for
from korona.errors import Conflict, Forbidden
from korona.notify.models import OutboxMessage
from korona.portfolio.intake import service as intake
from korona.portfolio.intake.models import InputKind
from korona.portfolio.intake.schemas import InputCreate
from korona.portfolio.measure import notices, progress, service
from korona.portfolio.measure.models import MeasureStatus, Rag
from korona.portfolio.measure.schemas import (
    MeasureCreate,
    MilestoneCreate,
    ProgrammeCreate,
    ReportCreate,
    StatusChange,
)
from korona.portfolio.need.schemas import NeedCreate
from korona.portfolio.need.service import create_need
from korona.portfolio.solution.models import Solution, SolutionStatus
from korona.portfolio.solution.schemas import SolutionCreate
from korona.portfolio.solution.service import create_solution


def _need(session: Session, reporter: Principal, title: str, urgency: int, **extra: object):
    return create_need(
        reporter,
        NeedCreate(
            title=title,
            description="Et behov som må dekkes raskt.",
            category="video",
            urgency=urgency,
            affected_groups=["citizens"],
            **extra,
        ),
        session=session,
    )


def _world(session: Session):
    office = principal_for(make_user(session, Role.PORTFOLIO_OFFICE, email="office@example.no"))
    reporter_user = make_user(session, Role.NEEDS_REPORTER, email="reporter@example.no")
    reporter = principal_for(reporter_user)
    nhn = make_organisation(
        session, "Norsk helsenett", OrganisationKind.NHN, Sector.STATE, municipality_number=None
    )
    owner = principal_for(make_user(session, Role.NEEDS_REPORTER, organisation=nhn))
    need = _need(session, reporter, "Video for fastleger", 3)
    item = intake.submit_input(
        Principal(),
        InputCreate(
            kind=InputKind.PROPOSAL,
            title="Videoløsning",
            description="En videoløsning for fastlegene.",
            organisation_name="Eksempel AS",
            is_public=False,
            contact_name="Per",
            contact_email="per@example.no",
        ),
        intake.StatusLinks("https://testserver", TEST_SECRET),
        session=session,
    )
    programme = service.create_programme(
        office, ProgrammeCreate(name="Digital hjemmeoppfølging"), session=session
    )
    measure = service.create_measure(
        office,
        MeasureCreate(
            title="Nasjonal video for fastleger",
            owner_organisation_id=nhn.id,
            responsible_name="Ola Nordmann",
            programme_id=programme.id,
            need_ids=[need.id],
            input_id=item.id,
        ),
        session=session,
    )
    return office, reporter, owner, need, measure


def test_measure_flow_reports_and_delivered_letters(db: Session) -> None:
    office, reporter, owner, _need, measure = _world(db)
    service.add_milestone(
        office,
        measure.id,
        MilestoneCreate(title="Pilot", planned_date=date(2026, 3, 1)),
        session=db,
    )
    report = service.report_progress(
        owner, measure.id, ReportCreate(rag=Rag.RED, text="Forsinket leveranse"), session=db
    )
    assert report.rag == Rag.RED and measure.latest_report is report
    with pytest.raises(Forbidden):  # not the owner organisation
        service.report_progress(
            reporter, measure.id, ReportCreate(rag=Rag.GREEN, text="Fint"), session=db
        )
    with pytest.raises(Conflict):  # planned cannot jump to delivered
        service.change_status(
            office, measure.id, StatusChange(status=MeasureStatus.DELIVERED), session=db
        )
    service.change_status(
        office, measure.id, StatusChange(status=MeasureStatus.IN_PROGRESS), session=db
    )
    before = db.scalars(select(OutboxMessage.id)).all()
    service.change_status(
        office,
        measure.id,
        StatusChange(status=MeasureStatus.DELIVERED),
        session=db,
        base_url="https://k",
    )
    letters = db.scalars(select(OutboxMessage).where(OutboxMessage.id.not_in(before))).all()
    assert sorted(letter.to_address for letter in letters) == [
        "per@example.no",
        "reporter@example.no",
    ]
    assert all("Nasjonal video for fastleger" in letter.subject for letter in letters)
    assert "https://k/measures/" in letters[0].body
    overview = progress.progress_overview(session=db)
    assert overview.by_status[MeasureStatus.DELIVERED] == 1
    assert overview.by_rag[Rag.RED] == 1
    assert overview.programmes[0].name == "Digital hjemmeoppfølging"


def test_stopping_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        StatusChange(status=MeasureStatus.STOPPED, reason="")


def test_coverage_puts_urgent_uncovered_needs_first(db: Session) -> None:
    _office, reporter, _owner, need, _measure = _world(db)
    urgent = _need(db, reporter, "Kritisk mangel på smittesporing", 4)
    calm = _need(db, reporter, "Kan vente", 1)
    rows = progress.needs_coverage(session=db)
    assert rows[0].need.id == urgent.id and rows[0].urgent_uncovered
    by_id = {row.need.id: row for row in rows}
    assert by_id[need.id].covered and not by_id[need.id].urgent_uncovered
    assert not by_id[calm.id].covered and not by_id[calm.id].urgent_uncovered


def test_review_reminders_are_sent_once_per_date(db: Session) -> None:
    reporter = principal_for(make_user(db, Role.NEEDS_REPORTER, email="r@example.no"))
    soon = date.today() + timedelta(days=10)
    need = _need(db, reporter, "Gammelt behov", 2, review_by_date=soon)
    _need(db, reporter, "Nytt behov", 2, review_by_date=soon + timedelta(days=400))
    today = soon + timedelta(days=30)
    assert notices.remind_reviews(session=db, today=today, base_url="https://k") == 1
    assert notices.remind_reviews(session=db, today=today, base_url="https://k") == 0
    need.review_by_date = soon + timedelta(days=20)  # a new review date earns a new reminder
    assert notices.remind_reviews(session=db, today=today + timedelta(days=1), base_url="") == 1
    mail = db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == "r@example.no"))
    assert ["Gammelt behov" in message.subject for message in mail] == [True, True]


def test_pages_and_refused_owner(client: TestClient, db: Session) -> None:
    _office, _reporter, _owner, need, measure = _world(db)
    db.commit()
    csrf = login(client, "reporter@example.no")  # a reporter, not of the owner organisation
    refused = client.post(
        f"/measures/{measure.id}/reports",
        data={"rag": "green", "text": "Alt i rute", "csrf_token": csrf},
    )
    assert refused.status_code == 403
    page = client.get(f"/needs/{need.id}")
    assert "Nasjonal video for fastleger" in page.text  # measures listed by title
    client.cookies.clear()
    csrf = login(client, "office@example.no")
    bad = client.post(
        f"/measures/{measure.id}/status",
        data={"status": "stopped", "reason": "", "csrf_token": csrf},
    )
    assert bad.status_code == 422 and "ds-alert" in bad.text
    assert service.get_measure(measure.id, session=db).status == MeasureStatus.PLANNED
    for path in ("/measures", f"/measures/{measure.id}", "/progress", "/coverage", "/programmes"):
        assert client.get(path).status_code == 200, path
    assert client.get("/letters/measures").status_code == 200
    saved = client.post(
        "/letters/measures/delivered/nb",
        data={"subject": "Levert: {measure}", "body": "Hei {name}, {unknown}", "csrf_token": csrf},
    )
    assert saved.status_code == 422 and "unknown" in saved.text
    created = client.post(
        "/measures",
        data={"title": "Nytt tiltak", "need_ids": [str(need.id)], "csrf_token": csrf},
        follow_redirects=False,
    )
    assert created.status_code == 303


def test_api_reports_and_solution_experience(client: TestClient, db: Session) -> None:
    _office, reporter, owner, _need, measure = _world(db)
    solution = (
        db.scalar(select(Solution.id))
        or create_solution(
            _office,
            SolutionCreate(
                name="Nasjonal video",
                owner="NHN",
                description="Videokonsultasjon for hele landet.",
                categories=["video"],
                status=SolutionStatus.IN_OPERATION,
            ),
            session=db,
        ).id
    )
    owner_token = auth_tokens.create_api_token(Principal(), owner.user_id, session=db)
    other_token = auth_tokens.create_api_token(Principal(), reporter.user_id, session=db)
    db.commit()
    body = {"rag": "amber", "text": "Litt forsinket", "next_milestone": "Pilot"}
    path = f"/api/v1/measures/{measure.id}/reports"
    refused = client.post(path, json=body, headers={"Authorization": f"Bearer {other_token}"})
    assert refused.status_code == 403
    made = client.post(path, json=body, headers={"Authorization": f"Bearer {owner_token}"})
    assert made.status_code == 201 and made.json()["rag"] == "amber"
    read = client.get(
        f"/api/v1/measures/{measure.id}", headers={"Authorization": f"Bearer {other_token}"}
    )
    assert read.json()["reports"][0]["text"] == "Litt forsinket"
    csrf = login(client, "reporter@example.no")
    shared = client.post(
        f"/solutions/{solution}/experience",
        data={"note": "Brukes på legevakten", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert shared.status_code == 303
    client.cookies.clear()
    page = client.get(f"/solutions/{solution}")  # the catalogue is public
    assert "Brukes på legevakten" in page.text and "Testkommune" in page.text
