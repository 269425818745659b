"""Situation reports: validation, one per municipality and week, corrections with history,
spreadsheet import, needs registered from reports, dashboards, pages, API and permissions."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from tests.conftest import login, make_organisation, make_user
from tests.surveillance_store import copy_store

from korona.auth import tokens as auth_tokens
from korona.auth.models import OrganisationKind, Role, Sector
from korona.auth.permissions import Principal, principal_for
from korona.errors import Conflict, Forbidden
from korona.portfolio.need.schemas import NeedCreate
from korona.portfolio.situation import dashboard, imports, service
from korona.portfolio.situation.models import SituationReport, SituationReportNeed
from korona.portfolio.situation.places import Places, load_places
from korona.portfolio.situation.schemas import (
    SituationReportCorrection,
    SituationReportCreate,
)
from korona.surveillance.calendar import iso_week_label

BERGEN, OSLO, ASKOY = "4601", "0301", "4627"
HEADER = (
    "municipality_number,week,nursing_home_beds_free,acute_beds_free,test_capacity_per_day,"
    "staff_absence_percent,home_care_load,tracing_capacity_per_day,needs\n"
)


@pytest.fixture
def places(reference_dir: Path) -> Places:
    return load_places(reference_dir)


def figures(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "nursing_home_beds_free": 12,
        "acute_beds_free": 3,
        "test_capacity_per_day": 400,
        "staff_absence_percent": 6.5,
        "home_care_load": 3,
        "tracing_capacity_per_day": 40,
        "needs_text": "Vi trenger flere smittesporere i helgene.",
    }
    return values | changes


def week_ago(weeks: int) -> str:
    return iso_week_label(date.today() - timedelta(weeks=weeks))


def reporter(session: Session, role: Role = Role.NEEDS_REPORTER, number: str = BERGEN) -> Principal:
    organisation = make_organisation(session, name=f"Kommune {number}", municipality_number=number)
    return principal_for(make_user(session, role, organisation=organisation))


def office(session: Session) -> Principal:
    organisation = make_organisation(
        session,
        name="Porteføljekontoret",
        kind=OrganisationKind.OTHER,
        sector=Sector.STATE,
        municipality_number=None,
    )
    return principal_for(make_user(session, Role.PORTFOLIO_OFFICE, organisation=organisation))


def submit(
    session: Session, principal: Principal, places: Places, **changes: object
) -> SituationReport:
    data = SituationReportCreate.model_validate({"week": week_ago(1), **figures(**changes)})
    return service.submit_report(principal, data, session=session, places=places)


def count_reports(session: Session) -> int:
    return int(session.scalar(select(func.count(SituationReport.id))) or 0)


# -- validation --------------------------------------------------------------------------------


def test_every_bad_value_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        SituationReportCreate.model_validate(
            {
                "week": "2020-W54",
                "nursing_home_beds_free": "-1",
                "acute_beds_free": "",
                "test_capacity_per_day": "mange",
                "staff_absence_percent": "140",
                "home_care_load": "7",
                "tracing_capacity_per_day": "10",
            }
        )
    fields = {str(error["loc"][0]) for error in caught.value.errors()}
    assert fields == {
        "week",
        "nursing_home_beds_free",
        "acute_beds_free",
        "test_capacity_per_day",
        "staff_absence_percent",
        "home_care_load",
    }


def test_decimal_comma_and_week_rules() -> None:
    data = SituationReportCreate.model_validate(
        {"week": "2020-w20", **figures(staff_absence_percent="4,5")}
    )
    assert (data.week, data.staff_absence_percent) == ("2020-W20", 4.5)
    for week, kind in (
        (iso_week_label(date.today() + timedelta(weeks=1)), "iso_week_future"),
        ("2019-W52", "iso_week_too_early"),
        ("uke 20", "iso_week"),
    ):
        with pytest.raises(ValidationError) as caught:
            SituationReportCreate.model_validate({"week": week, **figures()})
        assert caught.value.errors()[0]["type"] == kind


# -- one report per municipality and week, corrections ------------------------------------------


def test_one_report_per_municipality_and_week(db: Session, places: Places) -> None:
    knut = reporter(db)
    submit(db, knut, places)
    with pytest.raises(Conflict) as caught:
        submit(db, knut, places, home_care_load=5)
    assert "already reported for week" in caught.value.text
    assert count_reports(db) == 1
    # The database itself refuses a second row, whatever the service checks.
    first = db.scalars(select(SituationReport)).one()
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(
            SituationReport(
                municipality_number=BERGEN,
                iso_year=first.iso_year,
                iso_week=first.iso_week,
                **figures(),
            )
        )
        db.flush()
    # Another week and another municipality are fine.
    data = SituationReportCreate.model_validate({"week": week_ago(2), **figures()})
    service.submit_report(knut, data, session=db, places=places)
    submit(db, reporter(db, number=OSLO), places)
    assert count_reports(db) == 3


def test_correction_replaces_the_report_and_the_audit_log_keeps_history(
    db: Session, places: Places
) -> None:
    knut = reporter(db)
    report = submit(db, knut, places, staff_absence_percent=6.5)
    correction = SituationReportCorrection.model_validate(
        figures(staff_absence_percent=9.0, home_care_load=4)
    )
    service.correct_report(knut, report.id, correction, session=db)
    service.correct_report(knut, report.id, correction, session=db)  # no change: no history row
    assert count_reports(db) == 1
    assert (report.staff_absence_percent, report.home_care_load) == (9.0, 4)
    history = service.report_history(report.id, session=db)
    assert [entry.action for entry in history] == ["create", "update"]
    assert history[0].after["staff_absence_percent"] == 6.5
    changed = {"home_care_load", "staff_absence_percent", "updated_at"}
    assert set(history[1].before) == set(history[1].after) == changed
    assert (history[1].before["home_care_load"], history[1].after["home_care_load"]) == (3, 4)
    assert history[1].before["staff_absence_percent"] == 6.5


def test_reporters_report_only_for_their_own_municipality(db: Session, places: Places) -> None:
    knut = reporter(db)
    doctor = reporter(db, Role.MUNICIPAL_DOCTOR, number=ASKOY)
    with pytest.raises(Forbidden):
        submit(db, knut, places, municipality_number=OSLO)
    askoy = submit(db, doctor, places)
    assert askoy.municipality_number == ASKOY
    with pytest.raises(Forbidden):
        service.correct_report(
            knut, askoy.id, SituationReportCorrection.model_validate(figures()), session=db
        )
    assessor = principal_for(make_user(db, Role.ASSESSOR))
    with pytest.raises(Forbidden):
        submit(db, assessor, places)
    kari = office(db)
    assert submit(db, kari, places, municipality_number=OSLO).municipality_number == OSLO
    assert count_reports(db) == 2


# -- import ---------------------------------------------------------------------------------------


def test_import_csv_and_xlsx_then_again_changes_nothing(db: Session, places: Places) -> None:
    kari = office(db)
    # Excel in Norwegian writes semicolons and decimal commas.
    csv_file = (
        HEADER.replace(",", ";")
        + f"{BERGEN};{week_ago(1)};10;2;300;5,5;2;30;Mangler smittevernutstyr\n"
        + f"0301;{week_ago(1)};40;8;2000;7;3;200;\n"
    ).encode()
    result = imports.import_reports(kari, "rapporter.csv", csv_file, session=db, places=places)
    assert (result.rows, result.created, result.corrected, result.unchanged) == (2, 2, 0, 0)
    again = imports.import_reports(kari, "rapporter.csv", csv_file, session=db, places=places)
    assert (again.created, again.corrected, again.unchanged) == (0, 0, 2)

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(","))
    sheet.append([301, week_ago(1), 41, 8, 2000, 7, 3, 200, None])  # Oslo, leading zero lost
    sheet.append([int(ASKOY), week_ago(1), 3, 1, 50, 2.5, 1, 5, "Trenger testpersonell"])
    content = io.BytesIO()
    workbook.save(content)
    result = imports.import_reports(kari, "uke.xlsx", content.getvalue(), session=db, places=places)
    assert (result.created, result.corrected) == (1, 1)
    oslo = service.find_report(OSLO, week_ago(1), session=db)
    assert oslo is not None and oslo.nursing_home_beds_free == 41
    assert [e.action for e in service.report_history(oslo.id, session=db)] == ["create", "update"]
    assert count_reports(db) == 3


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("uke.txt", b"x", (0, "file", "The file must be CSV or XLSX")),
        ("uke.csv", b"", (0, "file", "The file is empty")),
        ("uke.csv", HEADER.encode(), (0, "file", "The file has no data rows, only a header")),
        (
            "uke.csv",
            b"municipality_number,week,beds\n4601,2020-W20,3\n",
            (1, "beds", "Unknown column"),
        ),
        ("uke.xlsx", b"PK\x03\x04 broken", (0, "file", "Cannot be read as XLSX: {reason}")),
    ],
)
def test_a_bad_file_is_refused_precisely_and_stores_nothing(
    db: Session, places: Places, name: str, content: bytes, expected: tuple[int, str, str]
) -> None:
    with pytest.raises(imports.ReportImportRejected) as caught:
        imports.import_reports(office(db), name, content, session=db, places=places)
    first = caught.value.errors[0]
    assert (first.row, first.column, first.message) == expected
    assert count_reports(db) == 0


def test_a_bad_row_names_row_and_column_and_nothing_is_stored(db: Session, places: Places) -> None:
    knut = reporter(db)
    content = (
        HEADER
        + f"{BERGEN},{week_ago(1)},10,2,300,5,2,30,\n"
        + f"{BERGEN},{week_ago(2)},10,-2,300,105,9,30,\n"
        + f"{OSLO},{week_ago(1)},10,2,300,5,2,30,\n"
        + f"{BERGEN},{week_ago(1)},10,2,300,5,2,30,\n"
    ).encode()
    with pytest.raises(imports.ReportImportRejected) as caught:
        imports.import_reports(knut, "uke.csv", content, session=db, places=places)
    found = {(error.row, error.column) for error in caught.value.errors}
    assert found == {
        (3, "acute_beds_free"),
        (3, "staff_absence_percent"),
        (3, "home_care_load"),
        (4, "municipality_number"),
        (5, "week"),
    }
    assert count_reports(db) == 0


# -- needs from reports, dashboards ------------------------------------------------------------


def need_data(**changes: object) -> NeedCreate:
    values: dict[str, object] = {
        "title": "Flere smittesporere i helgene",
        "description": "Vi trenger flere smittesporere i helgene.",
        "category": "contact_tracing",
        "urgency": 3,
        "affected_groups": ["health_personnel"],
    }
    return NeedCreate.model_validate(values | changes)


def test_a_need_registered_from_a_report_links_back(db: Session, places: Places) -> None:
    knut = reporter(db)
    report = submit(db, knut, places)
    need = service.register_need(knut, report.id, need_data(municipality_number=OSLO), session=db)
    assert need.municipality_number == BERGEN  # the report's municipality, whatever was sent
    assert [n.id for n in service.needs_of_report(report.id, session=db)] == [need.id]
    assert [r.id for r in service.reports_of_need(need.id, session=db)] == [report.id]
    assert service.need_municipalities(need, session=db) == [BERGEN]
    assert service.report_history(report.id, session=db)[-1].after == {"need_ids": [need.id]}
    other = reporter(db, number=OSLO)
    with pytest.raises(Forbidden):
        service.register_need(other, report.id, need_data(), session=db)
    # The office registers it for the municipality's own organisation.
    by_office = service.register_need(
        office(db), report.id, need_data(title="Testutstyr"), session=db
    )
    assert by_office.organisation.municipality_number == BERGEN
    assert db.scalar(select(func.count(SituationReportNeed.id))) == 2


def test_week_summary_lists_who_has_not_reported(db: Session, places: Places) -> None:
    submit(db, reporter(db), places, home_care_load=5, nursing_home_beds_free=4)
    submit(db, reporter(db, number=ASKOY), places, home_care_load=2, nursing_home_beds_free=6)
    submit(db, reporter(db, number=OSLO), places)
    vestland = dashboard.week_summary(places, session=db, week=week_ago(1), county="46")
    assert [r.municipality_number for r in vestland.reports] == [ASKOY, BERGEN]  # by name
    assert vestland.expected == len(places.in_county("46"))
    assert len(vestland.missing) == vestland.expected - 2
    assert (BERGEN, "Bergen") not in vestland.missing
    assert vestland.total("nursing_home_beds_free") == 10
    assert vestland.strained_home_care == 1
    assert dashboard.reported_weeks(session=db) == [week_ago(1)]
    series = dashboard.weekly_series(session=db)
    assert [(p.week, p.reported) for p in series] == [(week_ago(1), 3)]
    assert dashboard.weekly_series(session=db, county="46")[0].nursing_home_beds_free == 10


# -- pages and API ------------------------------------------------------------------------------


def form_data(csrf: str, **changes: str) -> dict[str, str]:
    values = {key: str(value) for key, value in figures().items()}
    return {"csrf_token": csrf, "week": week_ago(1), **values, **changes}


def bearer(session: Session, principal: Principal) -> dict[str, str]:
    assert principal.user_id is not None
    token = auth_tokens.create_api_token(Principal(), principal.user_id, session=session)
    return {"Authorization": f"Bearer {token}"}


def test_the_form_names_every_bad_value_in_norwegian_and_stores_nothing(
    client: TestClient, db: Session
) -> None:
    knut = reporter(db)
    db.commit()
    csrf = login(client, knut.email)
    assert client.get("/situation/reports/new").status_code == 200
    bad = form_data(
        csrf,
        nursing_home_beds_free="-3",
        acute_beds_free="",
        staff_absence_percent="mye",
        home_care_load="9",
        week="2020-W60",
    )
    response = client.post("/situation/reports", data=bad, follow_redirects=False)
    assert response.status_code == 422
    for message in (
        "Må være minst 0",
        "Feltet må fylles ut",
        "Må være et tall, for eksempel 4,5",
        "Må være høyst 5",
        "Må være en ISO-uke, for eksempel 2020-W20",
    ):
        assert message in response.text, message
    assert 'value="-3"' in response.text  # what was typed stays in the form
    assert count_reports(db) == 0
    good = form_data(csrf, staff_absence_percent="7,5")
    response = client.post("/situation/reports", data=good, follow_redirects=False)
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Rapporten er mottatt." in page.text and "7,5" in page.text
    again = client.post("/situation/reports", data=good, follow_redirects=False)
    assert again.status_code == 409
    assert "Bergen har allerede rapportert for uke" in again.text
    assert count_reports(db) == 1


def test_correction_page_keeps_history(client: TestClient, db: Session, places: Places) -> None:
    knut = reporter(db)
    report = submit(db, knut, places)
    db.commit()
    csrf = login(client, knut.email)
    form = client.get(f"/situation/reports/{report.id}/edit")
    assert 'value="6,5"' in form.text
    data = {k: v for k, v in form_data(csrf, home_care_load="5").items() if k != "week"}
    bad = client.post(f"/situation/reports/{report.id}", data=data | {"acute_beds_free": "x"})
    assert bad.status_code == 422 and "Må være et heltall" in bad.text
    response = client.post(f"/situation/reports/{report.id}", data=data, follow_redirects=False)
    assert response.headers["location"] == f"/situation/reports/{report.id}?saved=1"
    page = client.get(response.headers["location"])
    assert "Korrigeringen er lagret." in page.text
    assert "Belastning i hjemmetjenesten (1–5): 3 → 5" in page.text


def test_api_reports_conflicts_corrects_and_refuses_in_english(
    client: TestClient, db: Session
) -> None:
    doctor = reporter(db, Role.MUNICIPAL_DOCTOR)
    other = reporter(db, number=OSLO)
    submitter = principal_for(make_user(db, Role.SUBMITTER))
    headers, other_headers = bearer(db, doctor), bearer(db, other)
    submitter_headers = bearer(db, submitter)
    db.commit()
    body = {"week": week_ago(1), **figures()}
    created = client.post("/api/v1/situation-reports", json=body, headers=headers)
    assert created.status_code == 201, created.text
    report = created.json()
    assert (report["municipality_number"], report["municipality_name"]) == (BERGEN, "Bergen")
    twice = client.post("/api/v1/situation-reports", json=body, headers=headers)
    assert twice.status_code == 409
    assert "Bergen has already reported for week" in twice.json()["detail"]
    bad = client.post(
        "/api/v1/situation-reports",
        json=body | {"home_care_load": 0, "staff_absence_percent": 101},
        headers=headers,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {
        "home_care_load",
        "staff_absence_percent",
    }
    correction = figures(home_care_load=4)
    url = f"/api/v1/situation-reports/{report['id']}"
    refused = client.put(url, json=correction, headers=other_headers)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "You can only report for your own municipality"
    assert (
        client.post("/api/v1/situation-reports", json=body, headers=submitter_headers).status_code
        == 403
    )
    corrected = client.put(url, json=correction, headers=headers)
    assert corrected.status_code == 200 and corrected.json()["home_care_load"] == 4
    history = client.get(url + "/history", headers=other_headers).json()
    assert [entry["action"] for entry in history] == ["create", "update"]
    listed = client.get("/api/v1/situation-reports?county=46", headers=other_headers)
    assert listed.headers["X-Total-Count"] == "1"
    summary = client.get("/api/v1/situation-reports/summary?county=46", headers=headers).json()
    assert (summary["week"], summary["reported"]) == (week_ago(1), 1)
    assert len(summary["missing"]) == summary["expected"] - 1


def test_api_import_is_all_or_nothing(client: TestClient, db: Session) -> None:
    kari = office(db)
    headers = bearer(db, kari)
    db.commit()
    good = (HEADER + f"{BERGEN},{week_ago(1)},10,2,300,5.5,2,30,Mer testutstyr\n").encode()
    bad = good + f"{OSLO},{week_ago(1)},10,2,300,5.5,8,30,\n".encode()
    url = "/api/v1/situation-reports/import"
    refused = client.post(url, files={"file": ("uke.csv", bad, "text/csv")}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"row": 3, "column": "home_care_load", "message": "Input should be less than or equal to 5"}
    ]
    assert count_reports(db) == 0
    done = client.post(url, files={"file": ("uke.csv", good, "text/csv")}, headers=headers)
    assert done.json() == {"rows": 1, "created": 1, "corrected": 0, "unchanged": 0}
    assert count_reports(db) == 1


def test_import_page_reports_rows_in_norwegian(client: TestClient, db: Session) -> None:
    knut = reporter(db)
    db.commit()
    csrf = login(client, knut.email)
    content = (HEADER + f"{OSLO},{week_ago(1)},10,2,300,5,2,30,\n").encode()
    response = client.post(
        "/situation/import",
        data={"csrf_token": csrf},
        files={"file": ("uke.csv", content, "text/csv")},
    )
    assert response.status_code == 422
    assert "Ingenting ble importert" in response.text
    assert "Du kan bare rapportere for din egen kommune" in response.text
    assert count_reports(db) == 0


def test_roles_that_may_not_report_are_refused(client: TestClient, db: Session) -> None:
    assessor = make_user(db, Role.ASSESSOR)
    submitter = make_user(db, Role.SUBMITTER)
    db.commit()
    csrf = login(client, assessor.email)
    assert client.get("/situation").status_code == 200  # assessors read the dashboards
    assert client.get("/situation/reports/new").status_code == 403
    response = client.post("/situation/reports", data=form_data(csrf), follow_redirects=False)
    assert response.status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    client.cookies.clear()
    login(client, submitter.email)
    assert client.get("/situation").status_code == 403
    client.cookies.clear()
    assert client.get("/situation", follow_redirects=False).headers["location"].startswith("/login")
    assert count_reports(db) == 0


def test_dashboards_show_table_map_chart_and_missing(
    client: TestClient, db: Session, places: Places
) -> None:
    knut = reporter(db)
    submit(db, knut, places, home_care_load=5)
    data = SituationReportCreate.model_validate({"week": week_ago(2), **figures()})
    service.submit_report(knut, data, session=db, places=places)
    submit(db, reporter(db, number=OSLO), places)
    observer = make_user(db, Role.OBSERVER)
    db.commit()
    login(client, observer.email)
    national = client.get("/situation")
    assert national.status_code == 200
    assert "2 / 356" in national.text and "354 kommuner har ikke rapportert" in national.text
    assert 'href="/situation/reports/' in national.text and "<svg" in national.text
    assert "Bergen: belastning i hjemmetjenesten 5 – Kritisk" in national.text
    vestland = client.get("/situation/county/46")
    assert "1 / 43" in vestland.text and ">Oslo</a></th>" not in vestland.text
    earlier = client.get(f"/situation/county/46?week={week_ago(2)}")
    assert f"Rapporter for uke {week_ago(2)}" in earlier.text
    assert client.get("/situation/county/99").status_code == 404
    chart = client.get("/situation/chart.svg?county=46")
    assert chart.headers["content-type"].startswith("image/svg+xml") and "<svg" in chart.text


def test_a_need_from_a_report_shows_live_indicators(
    client: TestClient,
    db: Session,
    places: Places,
    settings: object,
    reference_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    copy_store(tmp_path_factory, reference_dir, settings.surveillance_dir)  # type: ignore[attr-defined]
    knut = reporter(db)
    report = submit(db, knut, places, needs_text="Flere smittesporere i helgene. Nå!")
    db.commit()
    csrf = login(client, knut.email)
    form = client.get(f"/situation/reports/{report.id}/need")
    assert 'value="Flere smittesporere i helgene"' in form.text
    incomplete = {"csrf_token": csrf, "title": "Flere smittesporere i helgene"}
    refused = client.post(f"/situation/reports/{report.id}/need", data=incomplete)
    assert refused.status_code == 422 and "Feltet må fylles ut" in refused.text
    data = incomplete | {
        "description": report.needs_text,
        "category": "contact_tracing",
        "urgency": "3",
        "affected_groups": "health_personnel",
    }
    response = client.post(
        f"/situation/reports/{report.id}/need", data=data, follow_redirects=False
    )
    assert response.status_code == 303
    need_url = response.headers["location"].split("?")[0]
    need_page = client.get(need_url)
    need_id = need_url.rsplit("/", 1)[1]
    assert f'hx-get="/situation/needs/{need_id}/indicators"' in need_page.text
    fragment = client.get(f"/situation/needs/{need_id}/indicators", headers={"HX-Request": "1"})
    assert "<html" not in fragment.text
    for text in ("Bergen (4601)", "Andel smittet", "14-dagers insidens", "Ledige sykehjemsplasser"):
        assert text in fragment.text
    # The store has figures for Bergen: share infected and incidence are numbers.
    assert "Andel smittet</dt><dd>Ingen data" not in fragment.text
    assert "100 000</dt><dd>Ingen data" not in fragment.text
    assert "Andre signaler</dt><dd>Ingen data" not in fragment.text
    whole = client.get(f"/situation/needs/{need_id}/indicators")
    assert "<html" in whole.text and "Kommunens indikatorer" in whole.text
    report_page = client.get(f"/situation/reports/{report.id}")
    assert f'href="/needs/{need_id}"' in report_page.text
