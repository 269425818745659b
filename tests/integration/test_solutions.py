"""Catalogue of existing solutions through the pages and the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import login, make_user

from korona import audit
from korona.auth import tokens as auth_tokens
from korona.auth.models import Role
from korona.auth.permissions import Principal
from korona.demo import load_demo
from korona.portfolio.solution.models import Solution, SolutionStatus

FORM = {
    "name": "Nasjonal videoløsning for fastleger",
    "owner": "Norsk helsenett SF",
    "description": "Trygg videokonsultasjon mellom fastlege og pasient, integrert med journal.",
    "categories": ["video"],
    "status": "in_operation",
    "quality_assured": "1",
    "url": "https://www.nhn.no/video",
    "contact": "kundesenter@nhn.no",
}


def bearer(session: Session, user_id: int) -> dict[str, str]:
    token = auth_tokens.create_api_token(Principal(), user_id, session=session)
    return {"Authorization": f"Bearer {token}"}


def test_office_adds_solution_in_browser_and_public_sees_it(
    client: TestClient, db: Session
) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    db.commit()
    csrf = login(client, office.email)
    response = client.post("/solutions", data={**FORM, "csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    solution = db.scalars(select(Solution)).one()
    assert solution.categories == ["video"]
    assert solution.quality_assured is True
    assert [e.action for e in audit.history("solution", solution.id, session=db)] == ["create"]

    client.cookies.clear()  # the catalogue is public
    listing = client.get("/solutions?category=video")
    assert listing.status_code == 200
    assert "Nasjonal videoløsning for fastleger" in listing.text
    assert "Eksisterende løsninger" in listing.text
    detail = client.get(f"/solutions/{solution.id}")
    assert "I drift" in detail.text
    assert "https://www.nhn.no/video" in detail.text
    assert "Endre" not in detail.text  # no edit button for the public
    assert client.get("/solutions?category=triage").text.count('/solutions/1"') == 0


def test_bad_solution_form_is_shown_again_and_writes_nothing(
    client: TestClient, db: Session
) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    db.commit()
    csrf = login(client, office.email)
    bad = {**FORM, "name": "x", "categories": [], "url": "ftp://x", "csrf_token": csrf}
    response = client.post("/solutions", data=bad)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert "Må ha minst 3 tegn" in response.text
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Solution)) == 0


def test_office_edits_solution_and_history_records_the_change(
    client: TestClient, db: Session
) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    db.commit()
    csrf = login(client, office.email)
    client.post("/solutions", data={**FORM, "csrf_token": csrf})
    solution_id = db.scalars(select(Solution.id)).one()
    edited = {**FORM, "status": "pilot", "categories": ["video", "triage"], "csrf_token": csrf}
    response = client.post(f"/solutions/{solution_id}", data=edited, follow_redirects=False)
    assert response.status_code == 303
    db.expire_all()
    solution = db.get(Solution, solution_id)
    assert solution is not None
    assert solution.status == SolutionStatus.PILOT
    assert solution.categories == ["video", "triage"]
    update = audit.history("solution", solution_id, session=db)[-1]
    assert update.action == "update"
    assert update.after == {
        "categories": ["video", "triage"],
        "status": "pilot",
        "updated_at": update.after["updated_at"],
    }


def test_api_create_list_update_and_refuse(client: TestClient, db: Session) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    reporter = make_user(db, Role.NEEDS_REPORTER)
    office_auth, reporter_auth = bearer(db, office.id), bearer(db, reporter.id)
    db.commit()
    payload = {k: v for k, v in FORM.items() if k != "quality_assured"} | {
        "quality_assured": True,
        "external_ref": "sol-x",
    }
    created = client.post("/api/v1/solutions", json=payload, headers=office_auth)
    assert created.status_code == 201, created.text
    solution_id = created.json()["id"]
    again = client.post("/api/v1/solutions", json=payload, headers=office_auth)
    assert again.status_code == 409
    refused = client.post("/api/v1/solutions", json=payload, headers=reporter_auth)
    assert refused.status_code == 403
    unknown = client.post(
        "/api/v1/solutions",
        json=payload | {"categories": ["nope"], "external_ref": "sol-y"},
        headers=office_auth,
    )
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "categories"
    patched = client.patch(
        f"/api/v1/solutions/{solution_id}", json={"status": "planned"}, headers=office_auth
    )
    assert patched.json()["status"] == "planned"
    public = client.get("/api/v1/solutions?status=planned")
    assert [row["id"] for row in public.json()] == [solution_id]
    assert client.get("/api/v1/solutions/999").status_code == 404


def test_demo_loads_the_catalogue_once(db: Session) -> None:
    first = load_demo(session=db, password="demo-password-123")
    second = load_demo(session=db, password="demo-password-123")
    assert first.solutions_added == 22
    assert second.solutions_added == 0
    owners = set(db.scalars(select(Solution.owner)))
    assert "Norsk helsenett SF" in owners  # demo keys become organisation names
