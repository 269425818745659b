"""The portfolio dashboard: outcome counts, need coverage per week, charts that fit their box."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import login, make_user

from korona.auth.models import Role
from korona.auth.permissions import principal_for
from korona.portfolio.need import trend
from korona.portfolio.need.models import NeedStatus
from korona.portfolio.need.schemas import NeedCreate
from korona.portfolio.need.service import change_status, create_need


def add_need(db: Session, office: object, title: str) -> int:
    need = create_need(
        office,  # type: ignore[arg-type]
        NeedCreate(
            title=title,
            description="Fastlegene trenger dette nå.",
            category="video",
            urgency=2,
            affected_groups=["citizens"],
        ),
        session=db,
    )
    return need.id


def test_coverage_by_week_replays_status_changes(db: Session) -> None:
    office = principal_for(make_user(db, Role.PORTFOLIO_OFFICE))
    first = add_need(db, office, "Video for fastleger")
    add_need(db, office, "Video for legevakt")
    change_status(office, first, NeedStatus.VALIDATED, session=db)
    change_status(office, first, NeedStatus.COVERED, session=db)
    weeks = trend.coverage_by_week(session=db, today=date.today() + timedelta(days=14))
    assert len(weeks) >= 3  # this week and the two empty weeks after it
    last = weeks[-1]
    assert last.by_status[NeedStatus.COVERED] == 1 and last.by_status[NeedStatus.REGISTERED] == 1
    assert last.total == 2 and last.covered_share == 0.5
    assert trend.coverage_by_week(session=db, today=date.today())[-1].by_status == last.by_status


def test_dashboard_shows_outcomes_trend_and_narrow_charts(client: TestClient, db: Session) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    add_need(db, principal_for(office), "Video for fastleger")
    db.commit()
    login(client, office.email)
    page = client.get("/portfolio/dashboard")
    assert page.status_code == 200
    for text in ("Innspill etter utfall", "Avslått", "Dekning av behov over tid", "Registrert"):
        assert text in page.text
    assert "width=340" in page.text
    for path in ("/portfolio/dashboard/coverage.svg", "/needs/overview/chart.svg"):
        for width in (340, 720):
            svg = client.get(f"{path}?width={width}")
            assert svg.status_code == 200, path
            drawn = re.search(r'<svg[^>]* width="([\d.]+)"', svg.text)
            assert drawn is not None and float(drawn.group(1)) <= width + 1, (path, width)
        assert client.get(f"{path}?width=5").status_code == 422
