"""The portfolio office's daily work: history sentences, links by title, merge and undo, forms."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import cli_env, csrf_from, login, make_user
from typer.testing import CliRunner

from korona import audit
from korona.auth import service as auth_service
from korona.auth import tokens as auth_tokens
from korona.auth.models import Organisation, Role, User
from korona.auth.permissions import Principal, principal_for
from korona.cli import app as korona_cli
from korona.config import Environment, Settings
from korona.portfolio.intake import attachments
from korona.portfolio.intake import service as intake
from korona.portfolio.intake.models import Input, InputStatus
from korona.portfolio.intake.schemas import InputCreate
from korona.portfolio.need.models import Need
from korona.portfolio.need.schemas import NeedCreate
from korona.portfolio.need.service import create_need
from korona.portfolio.solution import service as solution_service
from korona.portfolio.solution.schemas import SolutionCreate
from korona.web.pages import inputs as input_pages

LINKS = intake.StatusLinks("https://korona.test", "secret")
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def new_input(
    session: Session, title: str, submission: intake.Submission | None = None, **extra: object
) -> Input:
    data = InputCreate(
        kind="idea",
        title=title,
        description=f"{title}: en beskrivelse som er lang nok.",
        organisation_name="Fjordtech AS",
        is_public=False,
        contact_name="Per",
        contact_email="per@fjordtech.example",
        **extra,  # type: ignore[arg-type]
    )
    return intake.submit_input(Principal(), data, LINKS, submission, session=session)


def new_need(session: Session, title: str) -> Need:
    office = make_user(session, Role.PORTFOLIO_OFFICE)
    return create_need(
        principal_for(office),
        NeedCreate(
            title=title,
            description=f"{title}: kommunene trenger dette.",
            category="video",
            urgency=2,
            affected_groups=["citizens"],
        ),
        session=session,
    )


def office(client: TestClient, session: Session, name: str = "Kari Kontor") -> str:
    user = auth_service.create_user(
        Principal(),
        session=session,
        email="kontor@example.no",
        name=name,
        password="korrekt hest batteri stift",
        roles=[Role.PORTFOLIO_OFFICE],
        organisation=None,
    )
    session.commit()
    return login(client, user.email, "korrekt hest batteri stift")


def switch_language(client: TestClient, csrf: str, language: str) -> None:
    client.post("/language", data={"language": language, "next": "/", "csrf_token": csrf})


def history_text(page: str) -> str:
    """Return the history list of a page without the folded raw diff."""
    block = page[page.index('<ol class="k-history">') :]
    block = block[: block.index("</ol>")]
    return re.sub(r"<details.*?</details>", "", block, flags=re.S)


def test_history_reads_as_sentences_with_names_in_both_languages(
    client: TestClient, db: Session
) -> None:
    solution = solution_service.create_solution(
        Principal(),
        SolutionCreate(
            name="Smittestopp",
            owner="Folkehelseinstituttet",
            description="Mobilapp for digital smittesporing som varsler nærkontakter.",
            categories=["contact_tracing"],
            status="in_operation",
            quality_assured=True,
        ),
        session=db,
    )
    item = new_input(db, "Smittesporingsapp")
    db.commit()
    csrf = office(client, db)
    covered = client.post(
        f"/triage/{item.id}",
        data={
            "action": "covered",
            "solution_id": str(solution.id),
            "reason": "Finnes allerede.",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert covered.status_code == 303
    page = client.get(f"/inputs/{item.id}").text
    history = history_text(page)
    assert "Innsender (uten innlogging) sendte inn innspillet." in history
    assert "Kari Kontor markerte innspillet som dekket av Smittestopp." in history
    assert "Dekket av: – → Smittestopp" in history
    for developer_word in ("covered_by_id", "None", "anonymous", "first_feedback_at", "user "):
        assert developer_word not in history
    assert "covered_by_id" in page  # the raw diff, one click away
    assert "Vis den lagrede endringen" in page

    switch_language(client, csrf, "en")
    english = history_text(client.get(f"/inputs/{item.id}").text)
    assert "Submitter (not logged in) submitted the input." in english
    assert "Kari Kontor marked the input as covered by Smittestopp." in english
    switch_language(client, csrf, "nb")

    log = client.get(f"/audit?entity_type=input&entity_id={item.id}").text
    assert f"Innspill: {item.reference} «Smittesporingsapp»" in log
    assert "Kari Kontor markerte innspillet som dekket av Smittestopp." in log
    exported = client.get(f"/audit/export.csv?entity_type=input&entity_id={item.id}").text
    assert '""covered_by_id"": ' in exported  # the CSV keeps the stored change


def test_raw_diff_is_for_the_office_only(client: TestClient, db: Session) -> None:
    item = new_input(db, "Videoløsning")
    assessor = make_user(db, Role.ASSESSOR)
    db.commit()
    login(client, assessor.email)
    page = client.get(f"/inputs/{item.id}").text
    assert "sendte inn innspillet" in page
    assert "Vis den lagrede endringen" not in page


def test_links_by_title_both_ways_and_a_linked_input_leaves_the_queue(
    client: TestClient, db: Session
) -> None:
    need = new_need(db, "Digital hjemmeoppfølging")
    item = new_input(db, "Pulsoksymeter hjemme")
    other = new_input(db, "Noe annet")
    reporter = make_user(db, Role.NEEDS_REPORTER)
    db.commit()
    csrf = office(client, db)
    assert f'id="select-{item.id}"' in client.get("/triage").text
    done = client.post(
        "/triage/bulk",
        data={
            "action": "link_needs",
            "input_ids": [str(item.id)],
            "need_ids": [str(need.id)],
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    queue = client.get("/triage").text
    assert f'id="select-{item.id}"' not in queue and f'id="select-{other.id}"' in queue
    db.expire_all()
    assert db.get(Input, item.id).status == InputStatus.RECEIVED  # type: ignore[union-attr]

    input_page = client.get(f"/inputs/{item.id}").text
    assert f'<a class="ds-link" href="/needs/{need.id}">Digital hjemmeoppfølging</a>' in input_page
    assert f"#{need.id}" not in input_page
    assert "knyttet innspillet til Digital hjemmeoppfølging" in input_page
    need_page = client.get(f"/needs/{need.id}").text
    assert "Innspill knyttet til dette behovet" in need_page
    assert f'<a class="ds-link" href="/inputs/{item.id}">Pulsoksymeter hjemme</a>' in need_page
    assert "Noe annet" not in need_page

    client.post("/logout", data={"csrf_token": csrf})
    login(client, reporter.email)
    reporter_view = client.get(f"/needs/{need.id}").text
    assert "Digital hjemmeoppfølging" in reporter_view
    assert "Pulsoksymeter hjemme" not in reporter_view  # inputs are not theirs to read


def test_merge_says_which_is_kept_carries_links_and_can_be_undone(
    client: TestClient, db: Session, settings: Settings
) -> None:
    need = new_need(db, "Video på sykehjem")
    kept = new_input(db, "Videoløsning for sykehjem")
    submission = intake.Submission(
        attachments=[attachments.Upload("tilbud.pdf", PDF)],
        attachment_dir=settings.data_dir / "attachments",
    )
    dropped = new_input(db, "Video på sykehjemmet", submission, need_ids=[need.id])
    observer = make_user(db, Role.OBSERVER)
    db.commit()
    csrf = office(client, db)
    # Ticking both and naming the one to keep merges the other: no "duplicate of itself".
    merged = client.post(
        "/triage/bulk",
        data={
            "action": "duplicate",
            "input_ids": [str(kept.id), str(dropped.id)],
            "duplicate_of": kept.reference,
            "csrf_token": csrf,
        },
    )
    assert merged.status_code == 200
    assert "duplikat av seg selv" not in merged.text
    notice = merged.text[merged.text.index("Beholdt:") :][:1200]
    assert kept.reference in notice and "Slått sammen med det:" in notice
    assert notice.index(kept.reference) < notice.index(dropped.reference)
    db.expire_all()
    assert db.get(Input, kept.id).status == InputStatus.RECEIVED  # type: ignore[union-attr]
    assert db.get(Input, kept.id).need_ids == [need.id]  # type: ignore[union-attr]
    kept_page = client.get(f"/inputs/{kept.id}").text
    assert "tilbud.pdf" in kept_page and f"fra {dropped.reference}" in kept_page
    assert f"Kvittering for innspill {dropped.reference}" in kept_page  # its messages too
    assert f"slo sammen {dropped.reference} med dette innspillet" in kept_page

    client.post("/logout", data={"csrf_token": csrf})
    csrf_observer = login(client, observer.email)
    refused = client.post(f"/triage/{dropped.id}/undo-merge", data={"csrf_token": csrf_observer})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": csrf_observer})
    csrf = login(client, "kontor@example.no", "korrekt hest batteri stift")
    dropped_page = client.get(f"/inputs/{dropped.id}").text
    assert "Angre sammenslåingen" in dropped_page
    undone = client.post(
        f"/triage/{dropped.id}/undo-merge", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert undone.status_code == 303
    db.expire_all()
    back = db.get(Input, dropped.id)
    assert back is not None and back.status == InputStatus.RECEIVED
    assert back.duplicate_of_id is None and back.need_ids == [need.id]
    assert db.get(Input, kept.id).need_ids == []  # type: ignore[union-attr]
    assert audit.history("input", kept.id, session=db)[-1].after == {"merged": [], "need_ids": []}
    assert audit.history("input", dropped.id, session=db)[-1].after["status"] == "received"  # type: ignore[index]
    page = client.get(undone.headers["location"]).text
    assert "Sammenslåingen ble angret." in page
    assert f"angret sammenslåingen med {kept.reference}" in page
    again = client.post(f"/triage/{dropped.id}/undo-merge", data={"csrf_token": csrf})
    assert again.status_code == 409


def test_not_found_page_is_translated_and_knows_who_is_logged_in(
    client: TestClient, db: Session
) -> None:
    anonymous = client.get("/no-such-page")
    assert anonymous.status_code == 404
    assert "Vi fant ikke denne siden" in anonymous.text and "Not Found" not in anonymous.text
    assert 'href="/login"' in anonymous.text
    csrf = office(client, db)
    logged_in = client.get("/no-such-page")
    assert logged_in.status_code == 404
    assert "Kari Kontor" in logged_in.text and 'href="/login"' not in logged_in.text
    assert 'href="/triage"' in logged_in.text  # the office's own menu
    switch_language(client, csrf, "en")
    english = client.get("/no-such-page")
    assert "We could not find this page" in english.text
    assert client.get("/api/v1/no-such-thing").json()["status"] == 404


def test_municipality_numbers_are_checked_against_the_2020_list(
    client: TestClient, db: Session
) -> None:
    reporter = make_user(db, Role.NEEDS_REPORTER)
    token = auth_tokens.create_api_token(Principal(), reporter.id, session=db)
    db.commit()
    csrf = login(client, reporter.email)
    form = {
        "title": "Videokonsultasjon på legevakt",
        "description": "Legevakten trenger video for å vurdere pasienter uten oppmøte.",
        "category": "video",
        "urgency": "3",
        "affected_groups": ["citizens"],
        "csrf_token": csrf,
    }
    unknown = client.post("/needs", data={**form, "municipality_number": "9999"})
    assert unknown.status_code == 422
    assert "9999 betyr ukjent kommune" in unknown.text
    old = client.post("/needs", data={**form, "municipality_number": "0101"})
    assert "0101 er ikke et kommunenummer i 2020-listen" in old.text
    body = {key: value for key, value in form.items() if key != "csrf_token"}
    headers = {"Authorization": f"Bearer {token}"}
    api = client.post(
        "/api/v1/needs", json={**body, "municipality_number": "9999"}, headers=headers
    )
    assert api.status_code == 422 and api.json()["field"] == "municipality_number"
    ok = client.post("/api/v1/needs", json={**body, "municipality_number": "0301"}, headers=headers)
    assert ok.status_code == 201 and ok.json()["municipality_number"] == "0301"
    need_id = ok.json()["id"]
    patched = client.patch(
        f"/api/v1/needs/{need_id}", json={"municipality_number": "9999"}, headers=headers
    )
    assert patched.status_code == 422


def test_need_form_shows_every_error_at_once(client: TestClient, db: Session) -> None:
    reporter = make_user(db, Role.NEEDS_REPORTER)
    db.commit()
    csrf = login(client, reporter.email)
    response = client.post(
        "/needs",
        data={
            "title": "x",
            "description": "Legevakten trenger video for å vurdere pasienter uten oppmøte.",
            "category": "teleport",
            "municipality_number": "9999",
            "urgency": "3",
            "affected_groups": ["citizens"],
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 422
    for message in ("Må ha minst 3 tegn", "Ukjent kategori «teleport»", "9999 betyr ukjent"):
        assert message in response.text


def test_input_form_shows_every_error_at_once(client: TestClient, db: Session) -> None:
    token = csrf_from(client, "/inputs/new")
    response = client.post(
        "/inputs",
        data={
            "kind": "idea",
            "title": "",
            "description": "Kort",
            "organisation_name": "",
            "is_public": "",
            "contact_name": "Per",
            "contact_email": "per@example.no",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    for message in (
        "Feltet må fylles ut",
        "Oppgi innsendende virksomhet",
        "offentlig eller privat",
    ):
        assert message in response.text
    assert db.query(Input).count() == 0


def test_needs_picker_searches_keeps_ticked_needs_and_works_without_javascript(
    client: TestClient, db: Session
) -> None:
    wanted = new_need(db, "Digital hjemmeoppfølging")
    ticked = new_need(db, "Smittesporing i kommunene")
    new_need(db, "Vaksinasjonsregister")
    db.commit()
    csrf = office(client, db)
    form = client.get("/inputs/new").text
    assert 'id="need_q"' in form and 'hx-get="/inputs/need-options"' in form
    assert "Vaksinasjonsregister" in form  # without a search every need is listed
    fragment = client.get(
        "/inputs/need-options", params={"need_q": "hjemme", "need_ids": [str(ticked.id)]}
    ).text
    assert "Digital hjemmeoppfølging" in fragment and "Vaksinasjonsregister" not in fragment
    assert re.search(rf'value="{ticked.id}"\s+checked', fragment)  # a ticked need stays
    assert "1 behov passer til søket: «hjemme»" in fragment
    # Without JavaScript the search button posts the form: it comes back filtered, unsaved.
    searched = client.post(
        "/inputs",
        data={
            "search_needs": "1",
            "need_q": "hjemme",
            "title": "Mitt utkast",
            "need_ids": [str(ticked.id)],
            "csrf_token": csrf,
        },
    )
    assert searched.status_code == 200
    assert "Vaksinasjonsregister" not in searched.text and 'value="Mitt utkast"' in searched.text
    assert f'value="{wanted.id}"' in searched.text
    assert db.query(Input).count() == 0
    client.post("/logout", data={"csrf_token": csrf})
    assert client.get("/inputs/need-options", follow_redirects=False).status_code == 303


def test_needs_picker_lists_the_most_urgent_few_and_says_so(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The picker's list is bounded: it does not grow with the needs, and it says so."""
    monkeypatch.setattr(input_pages, "PICKER_LIMIT", 2)
    needs = [new_need(db, f"Behov for telling {number}") for number in range(4)]
    db.commit()
    office(client, db)
    form = client.get("/inputs/new").text
    listed = re.findall(r'name="need_ids" value="(\d+)"', form)
    assert listed == [str(needs[3].id), str(needs[2].id)]  # newest first at equal urgency
    assert "De 2 mest hastende av 4 behov vises" in form
    # A ticked need stays listed (and ticked) although it is not among the first two.
    fragment = client.get("/inputs/need-options", params={"need_ids": [str(needs[0].id)]}).text
    assert re.findall(r'name="need_ids" value="(\d+)"', fragment) == [
        str(needs[0].id),
        str(needs[3].id),
        str(needs[2].id),
    ]
    assert re.search(rf'value="{needs[0].id}"\s+checked', fragment)
    # Ids that are no number, or no need, are ignored rather than refused or kept.
    odd = client.get("/inputs/need-options", params={"need_ids": ["²", "99999999999999999999"]})
    assert odd.status_code == 200 and "checked" not in odd.text


def test_status_page_confirms_the_attachments_that_arrived(client: TestClient) -> None:
    token = csrf_from(client, "/inputs/new")
    response = client.post(
        "/inputs",
        data={
            "kind": "offer",
            "title": "Nettbrett med video",
            "description": "Vi tilbyr nettbrett med videosamtale til sykehjem.",
            "organisation_name": "Fjordtech AS",
            "is_public": "0",
            "contact_name": "Per",
            "contact_email": "per@example.no",
            "csrf_token": token,
        },
        files=[("attachments", ("tilbud.pdf", PDF, "application/pdf"))],
        follow_redirects=False,
    )
    assert response.status_code == 303
    receipt = client.get(response.headers["location"]).text
    assert "Vedlegg vi mottok" in receipt
    assert f"tilbud.pdf ({len(PDF)}\u00a0B)" in receipt
    # Unset KORONA_BASE_URL in tests: the letter links to where the request came.
    assert "https://testserver/inputs/status/" in receipt


def test_base_url_notice_at_start_up() -> None:
    assert Settings(base_url="https://korona.example").base_url_notice() is None
    development = Settings(environment=Environment.DEV).base_url_notice()
    assert development is not None and "each request" in development
    production = Settings(environment=Environment.PRODUCTION, secret_key="x" * 40).base_url_notice()
    assert production is not None and "KORONA_BASE_URL is not set" in production


def test_imports_and_the_cli_refuse_municipalities_outside_the_2020_list(
    database_url: str, tmp_path: Path, db: Session
) -> None:
    env = cli_env(tmp_path / "data", database_url)
    organisations = tmp_path / "organisations.csv"
    organisations.write_text(
        "external_ref,name,kind,sector,municipality_number\n"
        "o1,Alfa kommune,municipality,municipal,0301\n"
        "o2,Ukjent kommune,municipality,municipal,9999\n",
        encoding="utf-8",
    )
    imported = CliRunner().invoke(korona_cli, ["portfolio", "import", str(organisations)], env=env)
    assert imported.exit_code == 1 and "9999 stands for an unknown municipality" in imported.output
    added = CliRunner().invoke(
        korona_cli,
        [
            "user",
            "add",
            "lege@example.no",
            "--name",
            "Lise Lege",
            "--role",
            "municipal_doctor",
            "--municipality",
            "0101",
            "--password",
            "long-enough-password",
        ],
        env=env,
    )
    assert added.exit_code == 1 and "0101 is not a municipality number" in added.output
    assert db.query(Organisation).count() == 0 and db.query(User).count() == 0
