"""Triage by the portfolio office: actions, letters, merges, bulk, templates, dashboard, audit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import login, make_user

from korona import audit
from korona.audit import AuditEntry
from korona.auth.models import Role
from korona.auth.permissions import Principal
from korona.config import Settings
from korona.portfolio import importer
from korona.portfolio.assessment.groups import create_group
from korona.portfolio.assessment.schemas import GroupIn
from korona.portfolio.intake import service as intake
from korona.portfolio.intake import stats, workflow
from korona.portfolio.intake.models import Input, InputMessage, InputStatus, LetterKind
from korona.portfolio.intake.schemas import InputCreate
from korona.portfolio.need.schemas import NeedCreate
from korona.portfolio.need.service import create_need
from korona.portfolio.solution import service as solution_service
from korona.portfolio.solution.schemas import SolutionCreate

LINKS = intake.StatusLinks("https://korona.test", "secret")


def new_input(session: Session, title: str, description: str, **extra: object) -> Input:
    data = InputCreate(
        kind="idea",
        title=title,
        description=description,
        organisation_name="Fjordtech AS",
        is_public=False,
        contact_name="Per",
        contact_email="per@fjordtech.example",
        **extra,  # type: ignore[arg-type]
    )
    return intake.submit_input(Principal(), data, LINKS, session=session)


def add_solution(session: Session) -> int:
    return solution_service.create_solution(
        Principal(),
        SolutionCreate(
            name="Smittestopp",
            owner="Folkehelseinstituttet",
            description="Mobilapp for digital smittesporing som varsler nærkontakter.",
            categories=["contact_tracing"],
            status="in_operation",
            quality_assured=True,
            url="https://www.fhi.no/smittestopp",
        ),
        session=session,
    ).id


def office_client(client: TestClient, session: Session) -> str:
    office = make_user(session, Role.PORTFOLIO_OFFICE, email="kontor@example.no")
    session.commit()
    return login(client, office.email)


def messages(session: Session, item_id: int) -> list[InputMessage]:
    session.expire_all()
    return list(intake.messages(item_id, session=session))


def test_covered_by_existing_solution_sends_the_feedback_letter(
    client: TestClient, db: Session, settings: Settings
) -> None:
    solution_id = add_solution(db)
    item = new_input(db, "Smittesporingsapp", "En app som varsler nærkontakter av smittede.")
    db.commit()
    csrf = office_client(client, db)
    page = client.get(f"/inputs/{item.id}")
    assert f'href="/solutions/{solution_id}"' in page.text  # suggested on the input page
    response = client.post(
        f"/triage/{item.id}",
        data={
            "action": "covered",
            "solution_id": str(solution_id),
            "reason": "Smittestopp gjør dette nasjonalt.",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    db.expire_all()
    item = db.get(Input, item.id)
    assert item is not None
    assert item.status == InputStatus.COVERED and item.covered_by_id == solution_id
    assert item.first_feedback_at is not None
    letter = messages(db, item.id)[-1]
    assert letter.letter == LetterKind.COVERED
    assert "Smittestopp (https://www.fhi.no/smittestopp)" in letter.body
    assert "Smittestopp gjør dette nasjonalt." in letter.body
    actions = [
        (e.action, e.after.get("status") if e.after else None)
        for e in audit.history("input", item.id, session=db)
    ]
    assert actions == [("create", "received"), ("status", "covered")]

    client.cookies.clear()  # the submitter, through the private link
    status = client.get(f"/inputs/status/{intake.status_links(settings).token(item)}")
    assert "Dekket av eksisterende løsning" in status.text
    assert "Smittestopp gjør dette nasjonalt." in status.text


def test_duplicate_merge_keeps_both_histories_and_tells_the_submitter(
    client: TestClient, db: Session
) -> None:
    kept = new_input(db, "Videoløsning for sykehjem", "Nettbrett med video på sykehjem.")
    dropped = new_input(db, "Video på sykehjemmet", "Pårørende vil se beboerne på video.")
    earlier = new_input(db, "Skjerm til sykehjem", "Skjermer for videosamtaler på sykehjem.")
    db.commit()
    csrf = office_client(client, db)
    # An earlier merge into the dropped input follows it to the kept one.
    client.post(
        f"/triage/{earlier.id}",
        data={"action": "duplicate", "duplicate_of": dropped.reference, "csrf_token": csrf},
    )
    response = client.post(
        f"/triage/{dropped.id}",
        data={"action": "duplicate", "duplicate_of": kept.reference.lower(), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    db.expire_all()
    assert db.get(Input, dropped.id).duplicate_of_id == kept.id  # type: ignore[union-attr]
    assert db.get(Input, earlier.id).duplicate_of_id == kept.id  # type: ignore[union-attr]
    page = client.get(f"/inputs/{kept.id}")
    assert "Slått sammen med dette innspillet" in page.text
    assert dropped.reference in page.text and earlier.reference in page.text
    letter = messages(db, dropped.id)[-1]
    assert letter.letter == LetterKind.DUPLICATE and kept.reference in letter.subject
    kept_history = audit.history("input", kept.id, session=db)
    assert kept_history[-1].after == {"merged": [dropped.reference, earlier.reference]}
    assert audit.history("input", dropped.id, session=db)[-1].action == "status"
    itself = client.post(
        f"/triage/{kept.id}",
        data={"action": "duplicate", "duplicate_of": kept.reference, "csrf_token": csrf},
    )
    assert itself.status_code == 422
    assert "kan ikke være duplikat av seg selv" in itself.text


def test_link_needs_working_group_decline_and_refused_moves(
    client: TestClient, db: Session
) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    from korona.auth.permissions import principal_for

    need = create_need(
        principal_for(office),
        NeedCreate(
            title="Smittesporing i kommunene",
            description="Kommunene trenger verktøy for sporing.",
            category="contact_tracing",
            urgency=3,
            affected_groups=["citizens"],
        ),
        session=db,
    )
    item = new_input(db, "Sporingsverktøy", "Et verktøy for smittesporing i kommunene.")
    group = create_group(principal_for(office), GroupIn(name="Smittesporing"), session=db)
    db.commit()
    csrf = office_client(client, db)
    no_group = client.post(
        f"/triage/{item.id}",
        data={"action": "working_group", "working_group_id": "", "csrf_token": csrf},
    )
    assert no_group.status_code == 422 and "Velg arbeidsgruppen" in no_group.text
    client.post(
        f"/triage/{item.id}",
        data={"action": "link_needs", "need_ids": [str(need.id)], "csrf_token": csrf},
    )
    client.post(
        f"/triage/{item.id}",
        data={"action": "working_group", "working_group_id": str(group.id), "csrf_token": csrf},
    )
    db.expire_all()
    item = db.get(Input, item.id)  # type: ignore[assignment]
    assert item.need_ids == [need.id]
    assert item.status == InputStatus.IN_ASSESSMENT and item.working_group == "Smittesporing"
    no_reason = client.post(
        f"/triage/{item.id}", data={"action": "decline", "reason": "", "csrf_token": csrf}
    )
    assert no_reason.status_code == 422
    assert "Skriv en begrunnelse til innsenderen" in no_reason.text
    client.post(
        f"/triage/{item.id}",
        data={"action": "decline", "reason": "Ikke aktuelt nå.", "csrf_token": csrf},
    )
    again = client.post(
        f"/triage/{item.id}",
        data={"action": "working_group", "working_group_id": str(group.id), "csrf_token": csrf},
    )
    assert again.status_code == 409
    assert [m.letter for m in messages(db, item.id)] == [
        LetterKind.RECEIPT,
        LetterKind.IN_ASSESSMENT,
        LetterKind.DECLINED,
    ]
    assert [e.action for e in audit.history("input", item.id, session=db)] == [
        "create",
        "update",
        "status",
        "status",
    ]


def import_inputs(session: Session, count: int) -> None:
    themes = [
        ("Smittesporingsapp for kommunen", "Mobilapp som varsler nærkontakter ved smitte."),
        ("Video for fastleger", "Videokonsultasjon mellom fastlege og pasient hjemme."),
        ("Hjemmeoppfølging med pulsoksymeter", "Oppfølging av covid-pasienter hjemme."),
        ("Kapasitetsoversikt for intensiv", "Sanntidsoversikt over intensivsenger."),
    ]
    start = datetime(2020, 3, 16, 9, tzinfo=UTC)
    rows = [
        {
            "external_ref": f"imp-{n:03d}",
            "kind": ["idea", "proposal", "offer"][n % 3],
            "title": f"{themes[n % 4][0]} {n}",
            "description": themes[n % 4][1],
            "organisation_name": f"Leverandør {n % 17}",
            "is_public": "nei" if n % 2 else "ja",
            "categories": ["contact_tracing", "video", "remote_monitoring", "capacity"][n % 4],
            "contact_name": "Kari",
            "contact_email": f"kari{n}@example.no",
            "received_at": (start + timedelta(hours=5 * n)).isoformat(),
        }
        for n in range(count)
    ]
    report = importer.import_rows(
        Principal(email="import"),
        importer.ImportEntity.INPUTS,
        rows,
        session=session,
        links=LINKS,
        send_receipts=False,
    )
    assert report.ok and report.created == count, report.errors


def test_office_triages_200_imported_inputs_in_bulk(client: TestClient, db: Session) -> None:
    add_solution(db)
    import_inputs(db, 200)
    db.commit()
    csrf = office_client(client, db)
    queue = client.get("/triage?per_page=200")  # the queue pages; ask for all 200 at once
    assert queue.status_code == 200
    assert "200 nye innspill" in queue.text
    assert queue.text.count('name="input_ids"') == 200
    assert 'href="/solutions/1"' in queue.text  # match suggestions on the queue
    ids = [str(i) for i in db.scalars(select(Input.id).order_by(Input.id))]
    tracing = [i for n, i in enumerate(ids) if n % 4 == 0]
    response = client.post(
        "/triage/bulk",
        data={
            "input_ids": tracing,
            "action": "covered",
            "solution_id": "1",
            "reason": "Smittestopp dekker dette.",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/triage?done=50"
    db.expire_all()
    statuses = dict(db.execute(select(Input.status, func.count()).group_by(Input.status)).all())
    assert statuses == {InputStatus.COVERED: 50, InputStatus.RECEIVED: 150}
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity_type == "input", AuditEntry.action == "status")
        )
        == 50
    )
    assert db.scalar(select(func.count()).select_from(InputMessage)) == 50  # no receipts
    assert "150 nye innspill" in client.get("/triage").text

    # All or nothing: one input that cannot move stops the whole batch.
    mixed = [ids[1], ids[2], tracing[0]]
    refused = client.post(
        "/triage/bulk",
        data={"input_ids": mixed, "action": "decline", "reason": "Nei takk.", "csrf_token": csrf},
    )
    assert refused.status_code == 409
    db.expire_all()
    assert db.get(Input, int(ids[1])).status == InputStatus.RECEIVED  # type: ignore[union-attr]
    nothing = client.post("/triage/bulk", data={"action": "decline", "csrf_token": csrf})
    assert nothing.status_code == 422
    assert "Velg minst ett innspill" in nothing.text


def test_edited_letter_template_is_used_and_unknown_fields_are_refused(
    client: TestClient, db: Session
) -> None:
    item = new_input(db, "Innspill", "Et innspill som blir avslått.")
    db.commit()
    csrf = office_client(client, db)
    page = client.get("/triage/templates")
    assert "Brevmaler" in page.text and "{solution}" in page.text
    bad = client.post(
        "/triage/templates",
        data={
            "letter": "declined",
            "language": "nb",
            "subject": "Svar på {reference}",
            "body": "Hei {navn}, dessverre.",
            "csrf_token": csrf,
        },
    )
    assert bad.status_code == 422
    assert "Ukjent felt {navn} i malen" in bad.text
    saved = client.post(
        "/triage/templates",
        data={
            "letter": "declined",
            "language": "nb",
            "subject": "Svar på {reference}",
            "body": "Hei {contact_name}! Vi går ikke videre fordi: {reason}",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    client.post(
        f"/triage/{item.id}", data={"action": "decline", "reason": "for dyrt", "csrf_token": csrf}
    )
    letter = messages(db, item.id)[-1]
    assert letter.subject == f"Svar på {item.reference}"
    assert letter.body == "Hei Per! Vi går ikke videre fordi: for dyrt"
    assert audit.history("letter_template", 0, session=db) == []  # ids are real rows, not 0
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity_type == "letter_template")
        )
        == 1
    )


def test_time_to_first_feedback_by_week() -> None:
    monday = datetime(2020, 3, 16, 8, tzinfo=UTC)

    def item(received: datetime, hours: float | None) -> Input:
        answered = received + timedelta(hours=hours) if hours is not None else None
        return Input(received_at=received, first_feedback_at=answered)

    items = [item(monday, h) for h in (1, 2, 3, 4, 10)] + [
        item(monday + timedelta(days=7), None),
        item(monday + timedelta(days=8), 48),
    ]
    weeks = stats.time_to_first_feedback(items)
    assert [(w.week, w.received, w.answered) for w in weeks] == [
        ("2020-W12", 5, 5),
        ("2020-W13", 2, 1),
    ]
    assert weeks[0].median_hours == 3.0
    assert weeks[0].p90_hours == 7.6  # numpy's linear interpolation between 4 and 10
    assert weeks[1].median_hours == 48.0 and weeks[1].p90_hours == 48.0


def test_dashboard_shows_feedback_times_and_chart(client: TestClient, db: Session) -> None:
    import_inputs(db, 40)  # five hours apart: weeks 12 and 13 of 2020
    first = db.scalars(select(Input).order_by(Input.id)).first()
    assert first is not None
    workflow.decline(Principal(), first.id, "Ikke nå", LINKS, session=db)
    first.first_feedback_at = first.received_at + timedelta(hours=6)
    db.commit()
    office_client(client, db)
    page = client.get("/portfolio/dashboard")
    assert "Tid til første tilbakemelding" in page.text
    # Weeks and durations in Norwegian (issue 15): "uke 12 2020", "6 timer".
    cell = r"<td class=\"k-num\"[^>]*>"
    assert re.search(
        rf"<td>uke 12 2020</td>{cell}\d+</td>{cell}1</td>{cell}6 timer</td>", page.text
    ), page.text[page.text.find("feedback-heading") :][:1500]
    for by in ("kind", "category", "sector"):
        chart = client.get(f"/portfolio/dashboard/chart.svg?by={by}")
        assert chart.headers["content-type"] == "image/svg+xml"
        assert chart.text.lstrip().startswith("<svg")
    sector_chart = client.get("/portfolio/dashboard/chart.svg?by=sector").text
    assert "Offentlig" in sector_chart
    assert sector_chart.index("uke 12") < sector_chart.index("uke 13")  # time order


def test_triage_over_the_api(client: TestClient, db: Session) -> None:
    from korona.auth import tokens as auth_tokens

    solution_id = add_solution(db)
    first = new_input(db, "Smittesporingsapp", "En app som varsler nærkontakter av smittede.")
    second = new_input(db, "Sporingsapp", "Mobilapp for smittesporing i kommunen.")
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    observer = make_user(db, Role.OBSERVER)
    group = create_group(Principal(), GroupIn(name="Smittesporing"), session=db)
    office_auth = {
        "Authorization": "Bearer "
        + auth_tokens.create_api_token(Principal(), office.id, session=db)
    }
    observer_auth = {
        "Authorization": "Bearer "
        + auth_tokens.create_api_token(Principal(), observer.id, session=db)
    }
    db.commit()
    body = {
        "input_ids": [first.id, second.id],
        "action": "covered",
        "solution_id": solution_id,
        "reason": "Smittestopp finnes.",
    }
    assert client.post("/api/v1/triage", json=body, headers=observer_auth).status_code == 403
    done = client.post("/api/v1/triage", json=body, headers=office_auth)
    assert done.status_code == 200, done.text
    assert [row["status"] for row in done.json()] == ["covered", "covered"]
    again = client.post(
        f"/api/v1/inputs/{first.id}/triage",
        json={"action": "decline", "reason": "x"},
        headers=office_auth,
    )
    assert again.status_code == 422 and again.json()["field"] == "reason"
    reopened = client.post(
        f"/api/v1/inputs/{first.id}/triage",
        json={"action": "working_group", "working_group_id": group.id},
        headers=office_auth,
    )
    assert reopened.json()["status"] == "in_assessment"
    assert [m.letter for m in messages(db, first.id)] == [
        LetterKind.RECEIPT,
        LetterKind.COVERED,
        LetterKind.IN_ASSESSMENT,
    ]
