"""Surveillance location pages and API: who sees what, bad codes, CSV, and a walk over every
location that finds no public count between 1 and 4."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import PASSWORD, login, make_organisation
from tests.surveillance_store import build_store, copy_store

from korona.auth import service as auth_service
from korona.auth.models import Role
from korona.auth.permissions import Principal
from korona.surveillance.location_view import SurveillanceReader
from korona.surveillance.sources.ingest import ingest_file
from korona.surveillance.sources.kuhr_read import SIMULATED_MARK
from korona.web.middleware import LANGUAGE_COOKIE


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """SQLite only: these tests read the surveillance store, not the database."""
    import shutil

    path = tmp_path / "korona.sqlite3"
    shutil.copy(sqlite_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture(scope="module")
def reader(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> SurveillanceReader:
    store = build_store(tmp_path_factory.mktemp("surveillance"), reference_dir)
    return SurveillanceReader(store, reference_dir)


@pytest.fixture
def web(app: object, client: TestClient, reader: SurveillanceReader) -> TestClient:
    app.state.surveillance_reader = reader  # type: ignore[attr-defined]
    return client


def user(db: Session, *roles: Role, municipality: str | None = None) -> str:
    """Create a user and return the e-mail address to log in with."""
    created = auth_service.create_user(
        Principal(),
        session=db,
        email=f"{'-'.join(r.value for r in roles)}-{municipality}@example.no",
        name="Test Person",
        password=PASSWORD,
        roles=roles,
        organisation=make_organisation(db),
        municipality_number=municipality,
    )
    db.commit()
    return created.email


def detail(web: TestClient, code: str) -> str:
    response = web.get(f"/api/v1/surveillance/locations/{code}/covid19")
    assert response.status_code == 200, response.text
    return response.json()["detail"]


def counts_1_to_4(value: object, key: str = "") -> list[str]:
    """Return every count field (``n`` or ``*_n``) holding 1–4 in a JSON document."""
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += counts_1_to_4(v, k)
    elif isinstance(value, list):
        for item in value:
            found += counts_1_to_4(item, key)
    elif (key == "n" or key.endswith("_n")) and type(value) is int and 1 <= value <= 4:
        found.append(f"{key}={value}")
    return found


#: Table cells and figures that show counts on the page (rates carry decimals).
_COUNT_CELL = re.compile(r'<(?:td class="k-num"|p class="k-stat__n")>\s*([1-4])\s*</')


def test_bad_location_codes_answer_404_with_a_clear_message(web: TestClient) -> None:
    for code in ("municip9999", "county99", "oslo", "MUNICIP0301", "x" * 41):
        page = web.get(f"/surveillance/{code}")
        assert page.status_code == 404
        api = web.get(f"/api/v1/surveillance/locations/{code}/covid19")
        assert api.status_code == 404
        assert api.headers["content-type"].startswith("application/problem+json")
    message = web.get("/api/v1/surveillance/locations/municip9999/signals").json()["detail"]
    assert message.startswith("Unknown location municip9999: use norge, a county")
    assert "Ukjent sted" in web.get("/surveillance/municip9999").text
    assert web.get("/surveillance/norge/secrets.csv").status_code == 404


def test_a_location_before_the_first_ingest_says_there_are_no_figures_yet(
    client: TestClient,
) -> None:
    """A new installation's store has no figures: its pages say so (they answered 500)."""
    for path in ("/surveillance/county46", "/surveillance/municip1151", "/surveillance/norge"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "Ingen covid-19-data for dette stedet ennå" in page.text
    api = client.get("/api/v1/surveillance/locations/municip1151")
    assert api.status_code == 200
    assert api.json()["sources"]["cases"]["data_to"] is None


def test_the_public_sees_suppressed_figures_and_users_the_nation_in_full(
    web: TestClient, db: Session
) -> None:
    assert {detail(web, c) for c in ("norge", "county46", "municip4601")} == {"public"}
    login(web, user(db, Role.NEEDS_REPORTER))
    assert detail(web, "norge") == detail(web, "county46") == "full"
    assert detail(web, "municip4601") == "public"


def test_a_municipal_doctor_sees_own_municipality_and_neighbours_in_full(
    web: TestClient, db: Session
) -> None:
    login(web, user(db, Role.MUNICIPAL_DOCTOR, municipality="4601"))
    assert detail(web, "municip4601") == "full"
    assert detail(web, "municip4628") == "full"  # Vaksdal borders Bergen
    assert detail(web, "municip0301") == "public"
    assert detail(web, "county03") == "full"
    # Full detail really does carry small counts (so the public test below can fail).
    vaksdal = web.get("/api/v1/surveillance/locations/municip4628/covid19").json()
    assert counts_1_to_4(vaksdal)


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.MUNICIPAL_DOCTOR])
def test_other_roles_are_refused_municipal_detail(web: TestClient, db: Session, role: Role) -> None:
    login(web, user(db, role))
    assert detail(web, "municip4601") == "public"
    page = web.get("/surveillance/municip4628")
    assert "<5" in page.text or "&lt;5" in page.text


def test_csv_downloads_and_english(web: TestClient) -> None:
    response = web.get("/surveillance/municip4601/signals.csv?format=machine")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows and {"week", "syndrome", "age", "n", "status"} <= set(rows[0])
    people = web.get("/surveillance/municip4601/signals.csv").content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(people), delimiter=";"))
    assert len(table) == len(rows) + 1 and len(table[0]) == len(rows[0])  # Norwegian Excel
    web.cookies.set(LANGUAGE_COOKIE, "en")
    english = web.get("/surveillance/municip4601").text
    assert "Share of inhabitants infected" in english and "Neighbouring municipalities" in english
    web.cookies.set(LANGUAGE_COOKIE, "nb")
    norwegian = web.get("/surveillance/municip4601").text
    assert "Andel innbyggere smittet" in norwegian


def test_utsira_for_the_public_shows_less_than_five(web: TestClient) -> None:
    page = web.get("/surveillance/municip1151")
    assert page.status_code == 200
    assert "&lt;5" in page.text
    document = web.get("/api/v1/surveillance/locations/municip1151/covid19").json()
    assert "<5" in {week["n"] for week in document["weeks"]}


def test_no_public_route_shows_a_count_between_1_and_4(
    web: TestClient, reader: SurveillanceReader
) -> None:
    """Every location's page, its three CSV files and every API answer, as the public."""
    problems: list[str] = []
    locations = web.get("/api/v1/surveillance/locations").json()
    assert len(locations) == 368
    for location in locations:
        code = location["code"]
        page = web.get(f"/surveillance/{code}")
        assert page.status_code == 200, code
        problems += [f"{code} page: {m}" for m in _COUNT_CELL.findall(page.text)]
        for table in ("covid", "signals", "comparison"):
            url = f"/surveillance/{code}/{table}.csv"
            machine = web.get(url + "?format=machine").content.decode("utf-8-sig")
            people = web.get(url).content.decode("utf-8-sig")
            header, *rows = list(csv.reader(io.StringIO(machine)))
            counts = [i for i, k in enumerate(header) if k in ("n", "excess") or k.endswith("_n")]
            # The same columns in the same order in both formats: check both by position.
            for sheet in (rows, list(csv.reader(io.StringIO(people), delimiter=";"))[1:]):
                problems += [
                    f"{code} {table}.csv {header[i]}={row[i]}"
                    for row in sheet
                    for i in counts
                    if row[i] in {"1", "2", "3", "4"}
                ]
        for path in ("", "/covid19", "/signals"):
            document = web.get(f"/api/v1/surveillance/locations/{code}{path}").json()
            problems += [f"{code}{path}: {m}" for m in counts_1_to_4(document)]
    assert problems == []
    # The walk saw hidden counts: Utsira's small weeks are there, as "<5".
    assert reader.view("municip1151").covid["n"].is_between(1, 4).any()


def test_consultations_are_called_simulated_only_when_the_simulator_made_them(
    app: object,
    web: TestClient,
    reference_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> None:
    """The location page, its API and the map say the consultations (and so the signals) are
    simulated when the store's came from the simulator's files, and only then: every
    installation said "in this demo" before, real figures or not."""

    def shown() -> tuple[bool, bool, bool, bool]:
        page = web.get("/surveillance/municip4601").text
        sources = web.get("/api/v1/surveillance/locations/municip4601").json()["sources"]
        map_page = web.get("/surveillance", params={"indicator": "signal"}).text
        map_api = web.get("/api/v1/surveillance/map", params={"indicator": "signal"}).json()
        assert ("Konsultasjonstallene er simulert." in page) == ("(simulert)" in page)
        assert sources["consultations"]["simulated"] == sources["signals"]["simulated"]
        assert not sources["cases"]["simulated"]
        return (
            "Konsultasjonstallene er simulert." in page,
            sources["consultations"]["simulated"],
            "Simulerte konsultasjoner hos fastleger" in map_page,
            map_api["source"].startswith("Simulated consultations"),
        )

    assert shown() == (False, False, False, False)

    store = copy_store(tmp_path_factory, reference_dir, tmp_path / "store")
    record = {
        "consultation_id": 1,
        "icpc2_code": "D11",
        "patient_age": 34,
        "patient_municipality": "4601",
        "practice_municipality": "4601",
        "consultation_date": dt.date(2021, 6, 8),
        "fee_code": "2ad",
        "practice_type": "gp",
    }
    pl.DataFrame([record]).write_parquet(tmp_path / "kuhr.parquet", metadata=SIMULATED_MARK)
    ingest_file(tmp_path / "kuhr.parquet", store, reference_dir)
    app.state.surveillance_reader = SurveillanceReader(store, reference_dir)  # type: ignore[attr-defined]
    assert shown() == (True, True, True, True)
