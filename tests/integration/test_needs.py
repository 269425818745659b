"""Needs registry through the pages and the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, timedelta

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import login, make_organisation, make_user

from korona import audit
from korona.audit import AuditEntry
from korona.auth import tokens as auth_tokens
from korona.auth.models import Organisation, OrganisationKind, Role, Sector
from korona.auth.permissions import Principal
from korona.portfolio.need import service as need_service
from korona.portfolio.need.models import Need, NeedStatus
from korona.portfolio.need.service import NeedFilter

VALID_FORM = {
    "title": "Videokonsultasjon på legevakt",
    "description": "Legevakten trenger video for å vurdere pasienter uten oppmøte.",
    "category": "video",
    "clinical_line": "Legevakt",
    "municipality_number": "",
    "urgency": "3",
    "affected_groups": ["citizens", "health_personnel"],
    "review_by_date": "",
}


def count(session: Session, model: type) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def bearer(session: Session, user_id: int) -> dict[str, str]:
    return {
        "Authorization": "Bearer "
        + auth_tokens.create_api_token(Principal(), user_id, session=session)
    }


def test_reporter_registers_need_in_browser_and_sees_it(client: TestClient, db: Session) -> None:
    reporter = make_user(db, Role.NEEDS_REPORTER)
    db.commit()
    csrf = login(client, reporter.email)
    response = client.post(
        "/needs", data={**VALID_FORM, "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Videokonsultasjon på legevakt" in page.text
    assert "Behovet ble registrert." in page.text
    need = db.scalars(select(Need)).one()
    assert need.organisation_id == reporter.organisation_id
    assert need.sector == Sector.MUNICIPAL
    assert need.municipality_number == "4601"  # taken from the reporting municipality
    assert need.status == NeedStatus.REGISTERED
    history = audit.history("need", need.id, session=db)
    assert [entry.action for entry in history] == ["create"]
    assert history[0].actor == reporter.email


def test_bad_form_input_gives_norwegian_messages_and_writes_nothing(
    client: TestClient, db: Session
) -> None:
    reporter = make_user(db, Role.NEEDS_REPORTER)
    db.commit()
    csrf = login(client, reporter.email)
    audit_rows = count(db, AuditEntry)
    bad = {
        **VALID_FORM,
        "title": "x",
        "urgency": "9",
        "affected_groups": [],
        "csrf_token": csrf,
        "municipality_number": "12",
    }
    response = client.post("/needs", data=bad)
    assert response.status_code == 422
    assert "Må ha minst 3 tegn" in response.text
    assert "Må være høyst 4" in response.text
    assert "Har feil format" in response.text
    assert 'aria-invalid="true"' in response.text
    assert count(db, Need) == 0
    assert count(db, AuditEntry) == audit_rows


def test_unknown_category_and_past_review_date_are_refused(client: TestClient, db: Session) -> None:
    reporter = make_user(db, Role.NEEDS_REPORTER)
    db.commit()
    csrf = login(client, reporter.email)
    response = client.post(
        "/needs", data={**VALID_FORM, "category": "teleport", "csrf_token": csrf}
    )
    assert response.status_code == 422
    assert "Ukjent kategori «teleport»" in response.text
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    response = client.post(
        "/needs", data={**VALID_FORM, "review_by_date": yesterday, "csrf_token": csrf}
    )
    assert response.status_code == 422
    assert "Revurderingsdatoen kan ikke være tilbake i tid" in response.text
    assert count(db, Need) == 0


def test_reporter_edits_own_but_not_other_organisations_need(
    client: TestClient, db: Session
) -> None:
    own = make_organisation(db, "Bergen kommune", municipality_number="4601")
    other = make_organisation(
        db, "Oslo universitetssykehus HF", OrganisationKind.HEALTH_TRUST, Sector.SPECIALIST, None
    )
    reporter = make_user(db, Role.NEEDS_REPORTER, organisation=own)
    colleague = make_user(db, Role.NEEDS_REPORTER, organisation=other)
    db.commit()
    headers_own = bearer(db, reporter.id)
    headers_other = bearer(db, colleague.id)
    db.commit()
    payload = {key: value for key, value in VALID_FORM.items() if value}
    payload["urgency"] = 3
    created = client.post("/api/v1/needs", json=payload, headers=headers_own)
    assert created.status_code == 201, created.text
    need_id = created.json()["id"]
    changed = client.patch(f"/api/v1/needs/{need_id}", json={"urgency": 4}, headers=headers_own)
    assert changed.status_code == 200
    assert changed.json()["urgency"] == 4
    refused = client.patch(f"/api/v1/needs/{need_id}", json={"urgency": 1}, headers=headers_other)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/api/v1/needs/{need_id}", headers=headers_own).json()["urgency"] == 4
    history = audit.history("need", need_id, session=db)
    assert [entry.action for entry in history] == ["create", "update"]
    assert history[1].before == {"updated_at": history[1].before["updated_at"], "urgency": 3}


def test_api_bad_input_is_problem_json_and_writes_nothing(client: TestClient, db: Session) -> None:
    reporter = make_user(db, Role.NEEDS_REPORTER)
    headers = bearer(db, reporter.id)
    db.commit()
    response = client.post(
        "/api/v1/needs",
        json={
            "title": "",
            "description": "kort",
            "category": "video",
            "urgency": 0,
            "affected_groups": ["aliens"],
            "surprise": 1,
        },
        headers=headers,
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422
    fields = {error["field"] for error in problem["errors"]}
    assert {"title", "description", "urgency", "affected_groups.0", "surprise"} <= fields
    assert "The request is invalid" in problem["detail"]
    not_json = client.post(
        "/api/v1/needs",
        content=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422
    assert count(db, Need) == 0
    assert client.get("/api/v1/needs/999", headers=headers).status_code == 404


def test_office_validates_along_allowed_transitions_only(client: TestClient, db: Session) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    headers = bearer(db, office.id)
    db.commit()
    payload = {key: value for key, value in VALID_FORM.items() if value}
    payload |= {"urgency": 2, "organisation_id": office.organisation_id}
    need_id = client.post("/api/v1/needs", json=payload, headers=headers).json()["id"]
    skipped = client.post(
        f"/api/v1/needs/{need_id}/status", json={"status": "covered"}, headers=headers
    )
    assert skipped.status_code == 409
    assert "cannot go from registered to covered" in skipped.json()["detail"]
    for status in ("validated", "partly_covered", "expired"):
        response = client.post(
            f"/api/v1/needs/{need_id}/status", json={"status": status}, headers=headers
        )
        assert response.status_code == 200, response.text
    assert [entry.action for entry in audit.history("need", need_id, session=db)] == [
        "create",
        "status",
        "status",
        "status",
    ]


def add_need(
    db: Session,
    organisation: Organisation,
    title: str,
    category: str,
    review_in_days: int | None,
    status: NeedStatus = NeedStatus.VALIDATED,
) -> None:
    """Add a need straight to the database, reviewed ``review_in_days`` from today (or never)."""
    review = None if review_in_days is None else date.today() + timedelta(days=review_in_days)
    db.add(
        Need(
            title=title,
            description="Et behov for testing av oversikten.",
            category_code=category,
            sector=organisation.sector,
            organisation_id=organisation.id,
            urgency=2,
            affected_groups=["citizens"],
            status=status,
            review_by_date=review,
        )
    )


def test_overview_counts_equal_counting_the_needs(db: Session) -> None:
    """The grouped query counts as one would count the listed needs one by one."""
    first = make_organisation(db, "Alfa kommune")
    second = make_organisation(db, "Beta kommune")
    rows = [
        (first, "video", NeedStatus.VALIDATED, -3),
        (first, "video", NeedStatus.EXPIRED, -3),
        (second, "triage", NeedStatus.REGISTERED, 5),
        (second, "video", NeedStatus.VALIDATED, None),
        (second, "video", NeedStatus.VALIDATED, -1),
    ]
    for number, (organisation, category, status, days) in enumerate(rows):
        add_need(db, organisation, f"Telt behov {number}", category, days, status)
    db.commit()
    for filters in (NeedFilter(), NeedFilter(category="video"), NeedFilter(overdue=True)):
        needs = need_service.list_needs(filters, session=db)
        counts = need_service.overview(filters, session=db)
        assert counts.total == len(needs)
        assert counts.overdue == sum(need.is_overdue(date.today()) for need in needs)
        assert counts.by_status == dict(Counter(need.status.value for need in needs))
        by_organisation = Counter(need.organisation.name for need in needs)
        assert counts.by_organisation == dict(
            sorted(by_organisation.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        assert counts.by_category_status == dict(
            Counter((need.category_code, need.status.value) for need in needs)
        )
    assert need_service.overview(NeedFilter(), session=db).overdue == 2


def test_overview_counts_filters_and_flags_overdue(client: TestClient, db: Session) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    organisation = office.organisation
    assert organisation is not None
    for index, (category, days) in enumerate([("video", -3), ("video", 10), ("triage", None)]):
        add_need(db, organisation, f"Behov nummer {index}", category, days)
    db.commit()
    login(client, office.email)
    page = client.get("/needs/overview")
    assert page.status_code == 200
    assert '<p class="k-stat__n">3</p>' in page.text
    assert '<p class="k-stat__n">1</p>' in page.text  # one past its review date
    filtered = client.get("/needs/overview?category=video")
    assert '<p class="k-stat__n">2</p>' in filtered.text
    chart = client.get("/needs/overview/chart.svg?category=video")
    assert chart.headers["content-type"] == "image/svg+xml"
    assert chart.text.lstrip().startswith("<svg")
    overdue = client.get("/needs?overdue=1")
    assert "Behov nummer 0" in overdue.text and "Behov nummer 1" not in overdue.text
    partial = client.get("/needs?category=triage", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "Behov nummer 2" in partial.text


def test_exports_csv_and_xlsx(client: TestClient, db: Session) -> None:
    office = make_user(db, Role.OBSERVER)
    organisation = office.organisation
    assert organisation is not None
    db.add(
        Need(
            title='=HYPERLINK("x")',
            description="Formelinjeksjon skal nøytraliseres.",
            category_code="triage",
            sector=organisation.sector,
            organisation_id=organisation.id,
            urgency=1,
            affected_groups=["authorities"],
            status=NeedStatus.REGISTERED,
        )
    )
    db.commit()
    login(client, office.email)
    csv_response = client.get("/needs/export.csv?format=machine")
    assert csv_response.status_code == 200
    text = csv_response.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("id,title,description,category")
    assert "'=HYPERLINK" in text and ",authorities," in text and ",registered," in text
    people = client.get("/needs/export.csv").content.decode("utf-8-sig")
    assert people.splitlines()[0].startswith("Id;Tittel;Beskrivelse;Kategori;Sektor")
    assert ";Myndigheter;Registrert;" in people and "'=HYPERLINK" in people
    xlsx = client.get("/needs/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert sheet["B2"].value == '\'=HYPERLINK("x")'
    assert sheet["A1"].value == "Id" and sheet["K2"].value == "Registrert"
    assert sheet.column_dimensions["B"].width > 8 and sheet.freeze_panes == "A2"
    assert client.get("/needs/export.pdf").status_code == 404


def test_bad_edit_status_and_patch_input_change_nothing(client: TestClient, db: Session) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    headers = bearer(db, office.id)
    db.commit()
    payload = {key: value for key, value in VALID_FORM.items() if value}
    payload |= {"urgency": 2, "organisation_id": office.organisation_id}
    need_id = client.post("/api/v1/needs", json=payload, headers=headers).json()["id"]
    before = client.get(f"/api/v1/needs/{need_id}", headers=headers).json()
    audit_rows = count(db, AuditEntry)

    assert client.patch(f"/api/v1/needs/{need_id}", json={}, headers=headers).status_code == 422
    bad_patch = client.patch(f"/api/v1/needs/{need_id}", json={"category": "nope"}, headers=headers)
    assert bad_patch.status_code == 422 and "Unknown category 'nope'" in bad_patch.json()["detail"]
    bad_status = client.post(
        f"/api/v1/needs/{need_id}/status", json={"status": "done"}, headers=headers
    )
    assert bad_status.status_code == 422

    csrf = login(client, office.email)
    form = {**VALID_FORM, "title": "", "description": "for kort", "csrf_token": csrf}
    edited = client.post(f"/needs/{need_id}", data=form)
    assert edited.status_code == 422
    assert "Tittel: Feltet må fylles ut" in edited.text
    assert "Beskrivelse: Må ha minst 10 tegn" in edited.text
    status_form = client.post(
        f"/needs/{need_id}/status", data={"status": "done", "csrf_token": csrf}
    )
    assert status_form.status_code == 422
    skipped = client.post(
        f"/needs/{need_id}/status", data={"status": "covered", "csrf_token": csrf}
    )
    assert skipped.status_code == 409 and "kan ikke gå fra Registrert til Dekket" in skipped.text

    client.cookies.clear()
    assert client.get(f"/api/v1/needs/{need_id}", headers=headers).json() == before
    assert count(db, AuditEntry) == audit_rows + 1  # only the login was recorded


def test_category_admin_validates_and_adds(client: TestClient, db: Session) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    db.commit()
    csrf = login(client, office.email)
    duplicate = client.post(
        "/admin/categories",
        data={"code": "video", "name_nb": "Video", "name_en": "Video", "csrf_token": csrf},
    )
    assert duplicate.status_code == 409 and "Kategorien «video» finnes allerede" in duplicate.text
    bad_code = client.post(
        "/admin/categories",
        data={"code": "ny kategori!", "name_nb": "Ny", "name_en": "New", "csrf_token": csrf},
    )
    assert bad_code.status_code == 422
    added = client.post(
        "/admin/categories",
        data={
            "code": "vaccination",
            "name_nb": "Vaksinasjon",
            "name_en": "Vaccination",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    codes = [row["code"] for row in client.get("/api/v1/categories").json()]
    assert "vaccination" in codes and len(codes) == 10
    assert [entry.action for entry in audit.history("category", "vaccination", session=db)] == [
        "create"
    ]
