"""Meetings, approval, publication, immutability, public net list and API, on both databases."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from tests.conftest import TEST_SECRET, login, make_organisation, make_user

from korona.auth import tokens as auth_tokens
from korona.auth.models import OrganisationKind, Role, Sector
from korona.auth.permissions import Principal, principal_for
from korona.errors import Conflict, Forbidden
from korona.portfolio.intake import service as intake
from korona.portfolio.intake.models import Input, InputKind
from korona.portfolio.intake.schemas import InputCreate
from korona.portfolio.measure.models import Measure
from korona.portfolio.netlist import meetings, publication
from korona.portfolio.netlist.decision_models import Capacity
from korona.portfolio.netlist.diff import Change
from korona.portfolio.netlist.meetings import AttendeeAdd, MeetingCreate
from korona.portfolio.netlist.models import NetlistItem, NetlistStatus, NetlistVersion


def _inputs(session: Session, count: int) -> list[Input]:
    links = intake.StatusLinks("https://testserver", TEST_SECRET)
    return [
        intake.submit_input(
            Principal(),
            InputCreate(
                kind=InputKind.PROPOSAL,
                title=f"Forslag nummer {n}",
                description="Et forslag til et digitalt tiltak.",
                organisation_name="Eksempel AS",
                is_public=False,
                contact_name="Per",
                contact_email=f"per{n}@example.no",
            ),
            links,
            session=session,
        )
        for n in range(1, count + 1)
    ]


def _draft(session: Session, number: int, inputs: list[Input]) -> NetlistVersion:
    version = NetlistVersion(number=number, status=NetlistStatus.DRAFT, weights_version=1)
    for position, item in enumerate(inputs, start=1):
        version.items.append(
            NetlistItem(
                input_id=item.id,
                position=position,
                priority=10.0 - position,
                parts={"value": 4.0, "confidence": 0.8, "effort": 1.0, "criteria": []},
            )
        )
    session.add(version)
    session.flush()
    return version


@pytest.fixture
def world(db: Session) -> dict[str, object]:
    fhi = make_organisation(db, "FHI", OrganisationKind.FHI, Sector.STATE, None)
    ks = make_organisation(db, "KS", OrganisationKind.KS, Sector.MUNICIPAL, None)
    office = make_user(db, Role.PORTFOLIO_OFFICE, email="office@example.no")
    member = make_user(db, Role.DECISION_MEMBER, organisation=fhi, email="member@example.no")
    observer = make_user(db, Role.OBSERVER, organisation=ks, email="observer@example.no")
    inputs = _inputs(db, 5)
    meeting = meetings.create_meeting(
        principal_for(office), MeetingCreate(title="Møte 1", held_on=date(2026, 11, 1)), session=db
    )
    return {
        "office": principal_for(office),
        "member": principal_for(member),
        "observer": principal_for(observer),
        "observer_user": observer,
        "inputs": inputs,
        "meeting": meeting,
    }


def _published_v1(db: Session, world: dict[str, object]) -> NetlistVersion:
    inputs = world["inputs"]
    v1 = _draft(db, 1, inputs[:3])  # type: ignore[index]
    publication.approve(world["member"], 1, world["meeting"].id, session=db)  # type: ignore[arg-type, attr-defined]
    publication.publish(world["office"], 1, session=db)  # type: ignore[arg-type]
    return v1


def test_only_decision_members_approve_and_items_become_measures(
    db: Session, world: dict[str, object]
) -> None:
    inputs: list[Input] = world["inputs"]  # type: ignore[assignment]
    _draft(db, 1, inputs[:3])
    meeting = world["meeting"]
    with pytest.raises(Forbidden):
        publication.approve(world["observer"], 1, meeting.id, session=db)  # type: ignore[arg-type, attr-defined]
    with pytest.raises(Conflict):  # a draft is not published before approval
        publication.publish(world["office"], 1, session=db)  # type: ignore[arg-type]
    version = publication.approve(world["member"], 1, meeting.id, session=db)  # type: ignore[arg-type, attr-defined]
    assert version.status == NetlistStatus.APPROVED
    assert [a.capacity for a in meeting.attendees] == [Capacity.MEMBER]  # type: ignore[attr-defined]
    assert "vedtatt" in meeting.agenda[0].decision  # type: ignore[attr-defined]
    made = db.scalars(select(Measure.input_id).order_by(Measure.input_id)).all()
    assert made == [item.id for item in inputs[:3]]
    publication.publish(world["office"], 1, session=db)  # type: ignore[arg-type]
    assert publication.latest_published(session=db).number == 1


def test_observer_cannot_attend_as_member(db: Session, world: dict[str, object]) -> None:
    observer = world["observer_user"]
    with pytest.raises(Exception, match="not a member"):
        meetings.add_attendee(
            world["office"],  # type: ignore[arg-type]
            world["meeting"].id,  # type: ignore[attr-defined]
            AttendeeAdd(user_id=observer.id, capacity=Capacity.MEMBER),  # type: ignore[attr-defined]
            session=db,
        )


def test_diff_from_previous_published_version(db: Session, world: dict[str, object]) -> None:
    _published_v1(db, world)
    inputs: list[Input] = world["inputs"]  # type: ignore[assignment]
    v2 = _draft(db, 2, [inputs[1], inputs[0], inputs[3]])
    publication.record_reason(
        world["office"], 2, inputs[2].id, "Dekket av annen løsning", session=db
    )  # type: ignore[arg-type]
    rows = {row.input_id: row for row in publication.diff_of(v2, session=db)}
    assert rows[inputs[0].id].change == Change.MOVED
    assert (rows[inputs[0].id].old_position, rows[inputs[0].id].new_position) == (1, 2)
    assert rows[inputs[3].id].change == Change.IN
    assert rows[inputs[2].id].change == Change.OUT
    assert rows[inputs[2].id].reason == "Dekket av annen løsning"


def test_changing_a_published_version_fails_via_service_api_and_sql(
    db: Session, world: dict[str, object], client: TestClient
) -> None:
    v1 = _published_v1(db, world)
    db.commit()
    with pytest.raises(Conflict):
        publication.update_note(world["office"], 1, "ny merknad", session=db)  # type: ignore[arg-type]
    db.rollback()
    token = auth_tokens.create_api_token(Principal(), world["office"].user_id, session=db)  # type: ignore[attr-defined]
    db.commit()
    response = client.patch(
        "/api/v1/netlist/versions/1",
        json={"note": "ny merknad"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 409, response.text
    statements = [
        ("UPDATE netlist_version SET note = 'x' WHERE id = :id", {"id": v1.id}),
        ("UPDATE netlist_version SET status = 'draft' WHERE id = :id", {"id": v1.id}),
        ("DELETE FROM netlist_version WHERE id = :id", {"id": v1.id}),
        ("UPDATE netlist_item SET priority = 99 WHERE version_id = :id", {"id": v1.id}),
        ("DELETE FROM netlist_item WHERE version_id = :id", {"id": v1.id}),
        (
            "INSERT INTO netlist_item (version_id, input_id, position, priority, parts) "
            "VALUES (:id, :input, 99, 1.0, '{}')",
            {"id": v1.id, "input": world["inputs"][4].id},  # type: ignore[index]
        ),
        (
            "UPDATE netlist_decision SET meeting_id = meeting_id WHERE version_id = :id",
            {"id": v1.id},
        ),
    ]
    for statement, values in statements:
        with pytest.raises(DBAPIError, match="immutable"), db.begin_nested():
            db.execute(text(statement), values)
    assert db.scalar(select(NetlistVersion.status).where(NetlistVersion.id == v1.id)) == "published"


def test_public_pages_downloads_and_api(
    db: Session, world: dict[str, object], client: TestClient
) -> None:
    assert client.get("/netlist").status_code == 200
    assert client.get("/api/v1/netlist").status_code == 404
    _published_v1(db, world)
    inputs: list[Input] = world["inputs"]  # type: ignore[assignment]
    _draft(db, 2, [inputs[1], inputs[0]])
    db.commit()
    page = client.get("/netlist")
    assert page.status_code == 200 and "Nettoliste – versjon 1" in page.text
    assert "Forslag nummer 3" in page.text
    assert client.get("/netlist/versions/2").status_code == 404  # a draft is not public
    api = client.get("/api/v1/netlist").json()
    assert api["number"] == 1 and [i["position"] for i in api["items"]] == [1, 2, 3]
    assert api["items"][0]["measure"]["status"] == "planned"
    assert api["items"][0]["parts"]["value"] == 4.0
    pdf = client.get("/netlist/versions/1.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    csv = client.get("/netlist/versions/1.csv")
    assert "Forslag nummer 2" in csv.content.decode("utf-8-sig")
    assert client.get("/netlist/versions/1.xlsx").content[:2] == b"PK"
    client.cookies.set("korona_lang", "en")
    assert "Net list – version 1" in client.get("/netlist/versions/1").text
    assert "Position" in client.get("/netlist/versions/1.csv").content.decode("utf-8-sig")


def test_meeting_pages_and_refused_roles(
    db: Session, world: dict[str, object], client: TestClient
) -> None:
    _draft(db, 1, world["inputs"][:2])  # type: ignore[index]
    meeting_id = world["meeting"].id  # type: ignore[attr-defined]
    db.commit()
    csrf = login(client, "observer@example.no")
    page = client.get(f"/meetings/{meeting_id}")
    assert page.status_code == 200 and "Vedta versjon 1" not in page.text
    refused = client.post(f"/meetings/{meeting_id}/approve/1", data={"csrf_token": csrf})
    assert refused.status_code == 403
    commented = client.post(
        f"/meetings/{meeting_id}/comments",
        data={"text": "KS støtter forslaget", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert commented.status_code == 303
    client.cookies.clear()
    csrf = login(client, "member@example.no")
    assert "Vedta versjon 1" in client.get(f"/meetings/{meeting_id}").text
    approved = client.post(
        f"/meetings/{meeting_id}/approve/1", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert approved.status_code == 303
    assert (
        client.post("/decisions/versions/1/publish", data={"csrf_token": csrf}).status_code == 403
    )
    client.cookies.clear()
    csrf = login(client, "office@example.no")
    published = client.post(
        "/decisions/versions/1/publish", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert published.status_code == 303
    report = client.get(f"/meetings/{meeting_id}/report.pdf")
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    assert "KS støtter forslaget" in client.get(f"/meetings/{meeting_id}").text


def test_demo_report_and_reminder_commands(database_url: str, tmp_path: Path, db: Session) -> None:
    from typer.testing import CliRunner

    from korona.cli import app

    runner = CliRunner()
    env = {
        "KORONA_DATABASE_URL": database_url,
        "KORONA_DATA_DIR": str(tmp_path / "data"),
        "KORONA_SECRET_KEY": TEST_SECRET,
        "KORONA_ENVIRONMENT": "test",
    }
    assert (
        runner.invoke(
            app, ["demo", "--no-surveillance", "--password", "demo-password-1"], env=env
        ).exit_code
        == 0
    )
    statuses = db.execute(text("SELECT number, status FROM netlist_version ORDER BY number")).all()
    assert [tuple(row) for row in statuses] == [(1, "published"), (2, "draft")]
    measures = db.scalar(text("SELECT count(*) FROM measure"))
    assert measures is not None and 15 <= measures <= 20
    rags = {row[0] for row in db.execute(text("SELECT DISTINCT rag FROM progress_report"))}
    assert rags == {"green", "amber", "red"}
    out = tmp_path / "fremdrift.pdf"
    meeting = db.scalar(text("SELECT max(id) FROM meeting"))
    made = runner.invoke(
        app, ["portfolio", "report", "--meeting", str(meeting), "--out", str(out)], env=env
    )
    assert made.exit_code == 0, made.output
    assert out.read_bytes().startswith(b"%PDF")
    missing = runner.invoke(
        app, ["portfolio", "report", "--meeting", "999", "--out", str(out)], env=env
    )
    assert missing.exit_code == 1 and "Meeting 999 does not exist" in missing.output
    bad = runner.invoke(app, ["portfolio", "remind-reviews", "--today", "tomorrow"], env=env)
    assert bad.exit_code == 2
    late = ["portfolio", "remind-reviews", "--today", "2031-01-01"]
    first = runner.invoke(app, late, env=env)
    assert first.exit_code == 0 and "0 review" not in first.output
    again = runner.invoke(app, late, env=env)
    assert again.exit_code == 0 and "0 review reminder(s)" in again.output
