"""Assessment and prioritisation over HTTP: pages, forms, the JSON API and refused roles."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import login, make_user
from tests.integration.test_assessment import Team, scores, sent, team  # noqa: F401

from korona.auth import tokens as auth_tokens
from korona.auth.models import Role, User
from korona.auth.permissions import Principal
from korona.portfolio.assessment import groups
from korona.portfolio.assessment import service as assessment
from korona.portfolio.assessment.schemas import SettingsIn
from korona.portfolio.intake.models import Input, InputStatus
from korona.portfolio.netlist.models import NetlistVersion
from korona.portfolio.solution.schemas import SolutionCreate
from korona.portfolio.solution.service import create_solution


def email(db: Session, principal: Principal) -> str:
    user = db.get(User, principal.user_id)
    assert user is not None
    return user.email


@pytest.fixture(autouse=True)
def no_redirects(client: TestClient) -> None:
    """Let the tests see each form's 303 instead of the page it leads to."""
    client.follow_redirects = False


def form(values: dict[str, object], csrf: str) -> dict[str, object]:
    data: dict[str, object] = {"csrf_token": csrf}
    for key, value in values.items():
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif value is not None:
            data[key] = value if isinstance(value, list) else str(value)
    return data


def small_settings(db: Session, team: Team) -> None:  # noqa: F811
    assessment.update_settings(
        team["office"],
        SettingsIn(
            horizon_months=3,
            size_min=1,
            size_max=2,
            budget_hospitals=10,
            budget_municipalities=10,
            concentration=100,
            draws=20,
        ),
        session=db,
    )


def test_assessors_score_alone_the_lead_agrees_and_the_office_drafts(
    client: TestClient,
    db: Session,
    team: Team,  # noqa: F811
) -> None:
    item = sent(db, team, "Videokonsultasjon for fastleger")
    other = sent(db, team, "Digital hjemmeoppfølging")
    assessment.save_assessment(team["lead"], other.id, scores(2), session=db)
    small_settings(db, team)
    db.commit()
    page = f"/assessment/inputs/{item.id}"

    csrf = login(client, email(db, team["outsider"]))
    refused = client.post(page + "/score", data=form(scores(3).model_dump(mode="json"), csrf))
    assert refused.status_code == 403
    assert "Bare medlemmer av innspillets arbeidsgruppe kan vurdere det" in refused.text

    csrf = login(client, email(db, team["second"]))
    bad = client.post(
        page + "/score", data=form(scores(3).model_dump(mode="json") | {"relief": 7}, csrf)
    )
    assert bad.status_code == 422
    assert (
        client.post(page + "/score", data=form(scores(1).model_dump(mode="json"), csrf)).status_code
        == 303
    )
    shown = client.get(page)
    assert "Din vurdering ble lagret" not in shown.text  # only after the redirect
    assert "Tas i bruk som den er (helsenorge.no, NHNs video)" in shown.text  # anchors shown

    csrf = login(client, email(db, team["lead"]))
    before_scoring = client.get(page).text
    assert "Vurderingene er ulike" not in before_scoring
    done = client.post(page + "/score", data=form(scores(3).model_dump(mode="json"), csrf))
    assert done.status_code == 303
    spread = client.get(page).text
    assert "Vurderingene er ulike: lederen må registrere en omforent vurdering" in spread
    assert re.search(r"<strong>1–3</strong>", spread)
    no_reason = client.post(page + "/agreed", data=form(scores(2).model_dump(mode="json"), csrf))
    assert no_reason.status_code == 422
    assert "Skriv begrunnelsen for den omforente vurderingen" in no_reason.text
    agreed = client.post(
        page + "/agreed",
        data=form(scores(2, reason="Enige etter møtet").model_dump(mode="json"), csrf),
    )
    assert agreed.status_code == 303
    parts = client.get(page).text
    assert "Omforent vurdering registrert" in parts and "Poengsum delt opp" in parts
    assert (
        client.post(page + "/notes", data={"body": "Ring NHN", "csrf_token": csrf}).status_code
        == 303
    )
    assert "Ring NHN" in client.get(page).text

    csrf = login(client, email(db, team["office"]))
    ranking = client.get("/prioritisation")
    assert ranking.status_code == 200
    assert "Løst eksakt med HiGHS, gap 0" in ranking.text
    assert "Vekter, versjon 1" in ranking.text
    no_pin_reason = client.post(
        "/prioritisation/pins", data={"input_id": str(other.id), "pin": "in", "csrf_token": csrf}
    )
    assert no_pin_reason.status_code == 422
    pinned = client.post(
        "/prioritisation/pins",
        data={"input_id": str(other.id), "pin": "in", "reason": "Avtalt", "csrf_token": csrf},
    )
    assert pinned.status_code == 303
    chart = client.get("/prioritisation/sensitivity.svg")
    assert chart.headers["content-type"] == "image/svg+xml" and "<svg" in chart.text
    drafted = client.post("/prioritisation/drafts", data={"csrf_token": csrf})
    assert drafted.status_code == 303
    version = db.scalar(select(NetlistVersion).order_by(NetlistVersion.id.desc()))
    assert (
        version is not None
        and drafted.headers["location"] == f"/prioritisation/drafts/{version.id}"
    )
    draft = client.get(drafted.headers["location"])
    assert draft.status_code == 200 and "Avtalt" in draft.text and other.reference in draft.text
    assert client.get(f"/prioritisation/drafts/{version.id}/sensitivity.svg").status_code == 200


def test_observers_and_the_office_cannot_change_the_weights(
    client: TestClient,
    db: Session,
    team: Team,  # noqa: F811
) -> None:
    db.commit()
    values = {
        "clinical_benefit": "3",
        "relief": "3",
        "severity": "1",
        "reuse": "1",
        "time_criticality": "1",
        "need_coverage": "1",
        "reason": "Avlastning først",
    }
    for who in ("observer", "office", "lead"):
        csrf = login(client, email(db, team[who]))
        refused = client.post("/assessment/weights", data=values | {"csrf_token": csrf})
        assert refused.status_code == 403, who
    csrf = login(client, email(db, team["decider"]))
    bad = client.post("/assessment/weights", data=values | {"relief": "-1", "csrf_token": csrf})
    assert bad.status_code == 422
    saved = client.post("/assessment/weights", data=values | {"csrf_token": csrf})
    assert saved.status_code == 303
    assert "Vekter, versjon 2" in client.get("/assessment/weights").text
    db.expire_all()
    assert assessment.current_weights(session=db).version == 2


def test_groups_settings_queue_and_overlap_pages(
    client: TestClient,
    db: Session,
    team: Team,  # noqa: F811
) -> None:
    item = sent(db, team, "Smittesporingsapp")
    solution = create_solution(
        team["office"],
        SolutionCreate(
            name="Smittestopp",
            owner="FHI",
            description="Mobilapp for digital smittesporing.",
            categories=["contact_tracing"],
            status="in_operation",
        ),
        session=db,
    )
    newcomer = make_user(db, Role.ASSESSOR)
    db.commit()
    csrf = login(client, email(db, team["office"]))
    created = client.post(
        "/assessment/groups", data={"name": "Samhandling", "theme": "", "csrf_token": csrf}
    )
    assert created.status_code == 303
    twice = client.post("/assessment/groups", data={"name": "samhandling", "csrf_token": csrf})
    assert twice.status_code == 409
    group_id = next(g.id for g in groups.list_groups(session=db) if g.name == "Samhandling")
    added = client.post(
        f"/assessment/groups/{group_id}/members",
        data={"user_id": str(newcomer.id), "is_lead": "on", "csrf_token": csrf},
    )
    assert added.status_code == 303
    assert newcomer.email in client.get("/assessment/groups").text
    bad = client.post(
        "/assessment/settings",
        data={
            "horizon_months": "3",
            "size_min": "20",
            "size_max": "15",
            "budget_hospitals": "50",
            "budget_municipalities": "50",
            "concentration": "100",
            "draws": "1000",
            "csrf_token": csrf,
        },
    )
    assert bad.status_code == 422 and "Minste listestørrelse" in bad.text

    csrf = login(client, email(db, team["second"]))
    queue = client.get("/assessment?show=not_assessed")
    assert item.reference in queue.text
    assert item.reference not in client.get("/assessment?show=mine").text
    settings = client.post("/assessment/settings", data={"horizon_months": "2", "csrf_token": csrf})
    assert settings.status_code == 403
    covered = client.post(
        f"/assessment/inputs/{item.id}/overlap",
        data={
            "solution_id": str(solution.id),
            "reason": "Smittestopp gjør dette.",
            "csrf_token": csrf,
        },
    )
    assert covered.status_code == 303
    db.expire_all()
    moved = db.get(Input, item.id)
    assert moved is not None and moved.status is InputStatus.COVERED
    assert moved.covered_by_id == solution.id


def test_the_json_api(client: TestClient, db: Session, team: Team) -> None:  # noqa: F811
    item = sent(db, team, "Videotolk")
    small_settings(db, team)
    tokens = {
        who: auth_tokens.create_api_token(Principal(), team[who].user_id, session=db)  # type: ignore[arg-type]
        for who in ("lead", "second", "observer", "decider", "office")
    }
    db.commit()

    def auth(who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[who]}"}

    body = scores(3).model_dump(mode="json")
    put = client.put(f"/api/v1/assessment/inputs/{item.id}/score", json=body, headers=auth("lead"))
    assert put.status_code == 200, put.text
    bad = client.put(
        f"/api/v1/assessment/inputs/{item.id}/score",
        json=body | {"confidence": 0.7},
        headers=auth("second"),
    )
    assert bad.status_code == 422
    queue = client.get("/api/v1/assessment/queue?show=assessed", headers=auth("observer"))
    assert [row["input_id"] for row in queue.json()] == [item.id]
    weights = {c: 1 for c in ("clinical_benefit", "relief", "severity", "reuse")}
    weights |= {"time_criticality": 1, "need_coverage": 1}
    assert (
        client.post(
            "/api/v1/assessment/weights", json=weights, headers=auth("observer")
        ).status_code
        == 403
    )
    made = client.post("/api/v1/assessment/weights", json=weights, headers=auth("decider"))
    assert made.status_code == 201 and made.json()["version"] == 2
    proposal = client.get("/api/v1/assessment/proposal", headers=auth("observer")).json()
    assert proposal["status"] == "optimal" and proposal["gap"] == 0
    assert proposal["chosen"] == [item.id] and proposal["weights_version"] == 2
    assert client.post("/api/v1/assessment/drafts", headers=auth("observer")).status_code == 403
    draft = client.post("/api/v1/assessment/drafts", headers=auth("office"))
    assert draft.status_code == 201 and draft.json()["input_ids"] == [item.id]
