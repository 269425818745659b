"""Submitting inputs: form, attachments, receipt, private status link, live matches, API, export."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import csrf_from, login, make_organisation, make_user

from korona import audit
from korona.auth import tokens as auth_tokens
from korona.auth.models import OrganisationKind, Role, Sector
from korona.auth.permissions import Principal
from korona.demo import load_demo
from korona.portfolio.intake.models import Input, InputAttachment, InputStatus
from korona.portfolio.solution import service as solution_service
from korona.portfolio.solution.models import Solution
from korona.portfolio.solution.schemas import SolutionCreate

YEAR = datetime.now(UTC).year
FORM = {
    "kind": "offer",
    "title": "Nettbrett med video til sykehjem",
    "description": "Vi tilbyr nettbrett med videosamtale slik at beboere kan snakke med pårørende.",
    "organisation_name": "Fjordtech AS",
    "is_public": "0",
    "commercial": "1",
    "categories": ["video"],
    "effort_hospitals": "low",
    "effort_municipalities": "medium",
    "contact_name": "Per Leverandør",
    "contact_email": "Per@Fjordtech.example",
}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def count(session: Session, model: type) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def add_solution(session: Session, name: str, description: str, categories: list[str]) -> int:
    solution = solution_service.create_solution(
        Principal(),
        SolutionCreate(
            name=name,
            owner="Norsk helsenett SF",
            description=description,
            categories=categories,
            status="in_operation",
            quality_assured=True,
            url="https://www.nhn.no/",
        ),
        session=session,
    )
    return solution.id


def post_form(client: TestClient, data: dict[str, object], files: object = None) -> object:
    token = csrf_from(client, "/inputs/new")
    return client.post(
        "/inputs", data={**data, "csrf_token": token}, files=files, follow_redirects=False
    )


def test_anonymous_submits_with_attachments_and_gets_receipt_and_status_link(
    client: TestClient, db: Session, settings: object
) -> None:
    files = [
        ("attachments", ("skjerm.png", PNG, "image/png")),
        ("attachments", ("tilbud.pdf", PDF, "application/pdf")),
        ("attachments", ("beskrivelse.docx", docx_bytes(), "application/octet-stream")),
    ]
    response = post_form(client, FORM, files)
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    location = response.headers["location"]  # type: ignore[attr-defined]
    assert re.fullmatch(r"/inputs/status/\d+-[0-9a-f]{32}\?submitted=1", location)

    receipt = client.get(location)
    reference = f"INN-{YEAR}-0001"
    assert f"Innspillet ditt er mottatt med referansenummer {reference}" in receipt.text
    assert "per@fjordtech.example" in receipt.text
    assert f"Kvittering for innspill {reference}" in receipt.text  # the receipt message

    item = db.scalars(select(Input)).one()
    assert item.reference == reference
    assert item.status == InputStatus.RECEIVED
    assert item.is_public is False and item.commercial is True
    assert item.submitted_by_id is None
    assert item.first_feedback_at is None  # a receipt is not feedback
    stored = db.scalars(select(InputAttachment).order_by(InputAttachment.id)).all()
    assert [a.media_type for a in stored] == [
        "image/png",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ]
    folder = settings.data_dir / "attachments"  # type: ignore[attr-defined]
    assert (folder / stored[0].storage_name).read_bytes() == PNG
    assert [e.action for e in audit.history("input", item.id, session=db)] == ["create"]

    office = make_user(db, Role.PORTFOLIO_OFFICE)
    db.commit()
    login(client, office.email)
    download = client.get(f"/inputs/{item.id}/attachments/{stored[1].id}")
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"


def test_wrong_link_or_tampered_token_finds_nothing(client: TestClient, db: Session) -> None:
    location = post_form(client, FORM).headers["location"]  # type: ignore[attr-defined]
    good = location.split("?")[0]
    assert client.get(good).status_code == 200
    tampered = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert client.get(tampered).status_code == 404
    assert client.get("/inputs/status/1").status_code == 404
    assert client.get("/inputs/status/not-a-token").status_code == 404


def test_file_type_is_checked_by_content_not_name(client: TestClient, db: Session) -> None:
    fake = [("attachments", ("tilbud.pdf", b"just text, not a PDF at all", "application/pdf"))]
    response = post_form(client, FORM, fake)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "er ikke en PDF-, DOCX-, PNG- eller JPEG-fil" in response.text  # type: ignore[attr-defined]
    too_big = [("attachments", ("stor.png", PNG + bytes(10 * 1024 * 1024), "image/png"))]
    response = post_form(client, FORM, too_big)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "større enn 10 MB" in response.text  # type: ignore[attr-defined]
    assert count(db, Input) == 0
    assert count(db, InputAttachment) == 0


def test_missing_fields_show_the_form_again_in_norwegian(client: TestClient, db: Session) -> None:
    response = post_form(client, {**FORM, "title": "", "organisation_name": "", "is_public": ""})
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "Feltet må fylles ut" in response.text  # type: ignore[attr-defined]
    assert 'value="Per Leverandør"' in response.text  # type: ignore[attr-defined]
    response = post_form(client, {**FORM, "organisation_name": "", "is_public": ""})
    assert "Oppgi innsendende virksomhet" in response.text  # type: ignore[attr-defined]
    assert count(db, Input) == 0


def test_logged_in_submitter_uses_own_organisation_and_sees_my_inputs(
    client: TestClient, db: Session
) -> None:
    vendor = make_organisation(
        db, "Nordlys Helse AS", OrganisationKind.VENDOR, Sector.BUSINESS, None
    )
    user = make_user(db, Role.SUBMITTER, organisation=vendor)
    db.commit()
    login(client, user.email)
    form = {**FORM, "organisation_name": "Ignored", "is_public": "1"}
    post_form(client, form)
    post_form(client, {**form, "title": "Digital innsjekk for legevakt"})
    items = db.scalars(select(Input).order_by(Input.id)).all()
    assert [i.reference for i in items] == [f"INN-{YEAR}-0001", f"INN-{YEAR}-0002"]
    assert items[0].organisation_name == "Nordlys Helse AS"
    assert items[0].is_public is False  # from the organisation's kind, not the form
    assert items[0].submitted_by_id == user.id
    mine = client.get("/inputs/mine")
    assert "Digital innsjekk for legevakt" in mine.text
    assert re.search(rf'href="/inputs/status/2-[0-9a-f]{{32}}">INN-{YEAR}-0002<', mine.text)
    assert client.get("/inputs").status_code == 403  # submitters do not see others' inputs


def test_match_preview_while_typing_and_new_solutions_match_at_once(
    client: TestClient, db: Session
) -> None:
    load_demo(session=db, password="demo-password-123")  # a realistic catalogue: 22 solutions
    db.commit()
    smittestopp = db.scalars(select(Solution.id).where(Solution.name == "Smittestopp")).one()
    text = {"title": "App for smittesporing", "description": "Digital smittesporing med mobilapp"}
    preview = client.get("/inputs/match-preview", params=text)
    assert "Dette ser ut til å være dekket av" in preview.text
    assert f'href="/solutions/{smittestopp}"' in preview.text
    assert 'href="/needs/' not in preview.text  # the public does not see the needs
    lunch = {"title": "Kantinemat til ansatte", "description": "Varm lunsj levert på døra"}
    assert "dekket av" not in client.get("/inputs/match-preview", params=lunch).text

    office = make_user(db, Role.PORTFOLIO_OFFICE)
    token = auth_tokens.create_api_token(Principal(), office.id, session=db)
    db.commit()
    created = client.post(
        "/api/v1/solutions",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "name": "Kantinemat levert på døra",
            "owner": "Sykehusinnkjøp HF",
            "description": "Varm lunsj og kantinemat til ansatte levert på døra.",
            "categories": ["other"],
            "status": "pilot",
        },
    )
    assert created.status_code == 201
    again = client.get("/inputs/match-preview", params=lunch)
    assert f'href="/solutions/{created.json()["id"]}"' in again.text  # no rebuild needed


def test_api_match_submit_and_list(client: TestClient, db: Session) -> None:
    add_solution(
        db, "Nasjonal videoløsning", "Videokonsultasjon for fastleger og pasienter.", ["video"]
    )
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    submitter = make_user(db, Role.SUBMITTER)
    office_auth = {
        "Authorization": "Bearer "
        + auth_tokens.create_api_token(Principal(), office.id, session=db)
    }
    submitter_auth = {
        "Authorization": "Bearer "
        + auth_tokens.create_api_token(Principal(), submitter.id, session=db)
    }
    db.commit()
    found = client.post(
        "/api/v1/match", json={"text": "videokonsultasjon fastlege"}, headers=submitter_auth
    )
    assert found.status_code == 200
    assert found.json()[0] == {
        "kind": "solution",
        "id": 1,
        "title": "Nasjonal videoløsning",
        "score": found.json()[0]["score"],
    }
    payload = {k: v for k, v in FORM.items() if k not in {"is_public", "commercial"}}
    receipt = client.post(
        "/api/v1/inputs", json=payload | {"commercial": True}, headers=submitter_auth
    )
    assert receipt.status_code == 201, receipt.text
    assert receipt.json()["reference"] == f"INN-{YEAR}-0001"
    # KORONA_BASE_URL is unset in tests: the link follows the address the request came to.
    assert receipt.json()["status_url"].startswith("https://testserver/inputs/status/")
    assert client.get("/api/v1/inputs", headers=submitter_auth).status_code == 403
    listed = client.get("/api/v1/inputs", headers=office_auth).json()
    assert [row["reference"] for row in listed] == [f"INN-{YEAR}-0001"]
    assert listed[0]["organisation_name"] == "Testkommune"


def test_anonymous_api_submission_needs_no_csrf_token_but_a_browser_session_does(
    client: TestClient, db: Session
) -> None:
    payload = {k: v for k, v in FORM.items() if k not in {"is_public", "commercial"}}
    payload |= {"organisation_name": "Frivillig AS", "is_public": False, "commercial": False}
    receipt = client.post("/api/v1/inputs", json=payload)
    assert receipt.status_code == 201, receipt.text
    assert receipt.json()["reference"] == f"INN-{YEAR}-0001"
    user = make_user(db, Role.SUBMITTER)
    db.commit()
    login(client, user.email)
    refused = client.post("/api/v1/inputs", json=payload)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]


def test_export_inputs_with_status_and_links(client: TestClient, db: Session) -> None:
    post_form(client, FORM)
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    db.commit()
    login(client, office.email)
    csv_text = client.get("/inputs/export.csv?format=machine").content.decode("utf-8-sig")
    header, row = csv_text.splitlines()[:2]
    assert header.startswith("reference,kind,title,organisation,sector")
    assert f"INN-{YEAR}-0001,offer,Nettbrett med video til sykehjem,Fjordtech AS,private" in row
    assert ",received," in row and "/inputs/1" in row
    people = client.get("/inputs/export.csv").content.decode("utf-8-sig")
    header, row = people.splitlines()[:2]
    assert header.startswith("Referanse;Type;Tittel;Virksomhet;Sektor")
    assert f"INN-{YEAR}-0001;Tilbud;Nettbrett med video til sykehjem;Fjordtech AS;Privat" in row
    assert ";Mottatt;" in row
    workbook = load_workbook(io.BytesIO(client.get("/inputs/export.xlsx").content))
    sheet = workbook.active
    assert sheet is not None and sheet["A2"].value == f"INN-{YEAR}-0001"
    # Received: a real date-time cell in Norwegian local time, shown as such.
    received = sheet["P2"]
    assert isinstance(received.value, datetime) and received.number_format == "DD.MM.YYYY HH:MM"
    assert client.get("/inputs/export.pdf").status_code == 404


def test_files_of_a_rolled_back_submission_are_removed(db: Session, settings: object) -> None:
    from korona.portfolio.intake import service as intake
    from korona.portfolio.intake.attachments import Upload
    from korona.portfolio.intake.schemas import InputCreate

    folder = settings.data_dir / "attachments"  # type: ignore[attr-defined]
    data = InputCreate.model_validate({**FORM, "is_public": False, "commercial": True})
    links = intake.StatusLinks("https://t", "secret")
    submission = intake.Submission([Upload("a.png", PNG)], attachment_dir=folder)
    intake.submit_input(Principal(), data, links, submission, session=db)
    assert len(list(folder.iterdir())) == 1
    db.rollback()
    assert list(folder.iterdir()) == []
    intake.submit_input(Principal(), data, links, submission, session=db)
    db.commit()
    assert len(list(folder.iterdir())) == 1


def test_reference_numbers_come_from_the_row_id(db: Session) -> None:
    from korona.portfolio.intake import service as intake
    from korona.portfolio.intake.models import InputKind
    from korona.portfolio.intake.schemas import InputCreate

    links = intake.StatusLinks("https://testserver", "secret")
    references = []
    for title in ("Første idé om video", "Andre idé om video"):
        data = InputCreate(
            kind=InputKind.IDEA,
            title=title,
            description="En beskrivelse som er lang nok.",
            organisation_name="Eksempel AS",
            is_public=False,
            contact_name="Kari",
            contact_email="kari@example.no",
        )
        item = intake.submit_input(Principal(), data, links, session=db)
        references.append((item.id, item.reference))
    year = datetime.now(UTC).year
    assert references == [(i, f"INN-{year}-{i:04d}") for i, _ in references]
    assert len({reference for _, reference in references}) == 2
