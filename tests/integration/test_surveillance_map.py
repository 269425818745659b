"""The Sykdomspulsen map: /surveillance, the county view and /api/v1/surveillance/map."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import numpy as np
import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import PASSWORD, login, make_organisation, make_user

from korona.auth.models import Role
from korona.config import Settings
from korona.surveillance.calendar import Frequency
from korona.surveillance.geo import load_geography
from korona.surveillance.neighbours import neighbours
from korona.surveillance.store import SurveillanceStore

SUNDAYS = [dt.date(2021, 11, 28) + dt.timedelta(weeks=i) for i in range(5)]  # 2021-W47..W51
LAST_WEEK = "2021-W51"
COUNTS = ("n", "cases_14d_n", "cumulative_n")
HIDDEN = ("<5", ":")


@pytest.fixture
def store_data(settings: Settings) -> pl.DataFrame:
    """Store weekly cases for all 356 municipalities (many of them 1–4) and signals."""
    geography = load_geography(settings.reference_dir)
    codes = geography.municipalities["location_code"].to_list()
    rng = np.random.default_rng(13)
    cases = pl.DataFrame(
        {
            "location_code": [code for code in codes for _ in SUNDAYS],
            "date": SUNDAYS * len(codes),
            "n": rng.choice([0, 1, 2, 3, 4, 7, 30, 200], size=len(codes) * len(SUNDAYS)),
        }
    ).with_columns(
        # Bergen has 3 cases in the last week, Oslo 2: hidden from all but the doctors there.
        pl.when(pl.col("location_code").is_in(["municip4601", "municip0301"]))
        .then(pl.when(pl.col("location_code") == "municip4601").then(3).otherwise(2))
        .otherwise(pl.col("n"))
        .alias("n")
    )
    statuses = np.array(["normal", "medium", "high"])
    results = pl.DataFrame(
        {
            "location_code": [code for code in codes for _ in SUNDAYS for _ in range(2)],
            "age": "total",
            "syndrome": ["gastro", "influensa"] * (len(codes) * len(SUNDAYS)),
            "date": [day for _ in codes for day in SUNDAYS for _ in range(2)],
            "n": rng.integers(0, 9, size=len(codes) * len(SUNDAYS) * 2),
            "status": statuses[rng.integers(0, 3, size=len(codes) * len(SUNDAYS) * 2)],
        }
    ).with_columns(
        pl.col("date").dt.strftime("%G-W%V").alias("week"),
        pl.col("date").dt.iso_year().alias("iso_year"),
        pl.col("date").dt.week().alias("iso_week"),
    )
    store = SurveillanceStore(settings.surveillance_dir)
    store.write_cases(cases, Frequency.WEEKLY)
    store.write_results("sykdomspulsen", Frequency.WEEKLY, results, [2021])
    return cases


def _small(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4


def _map(client: TestClient, **params: str) -> dict:
    response = client.get("/api/v1/surveillance/map", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("indicator", ["share_infected", "incidence_14d", "signal"])
def test_public_map_and_api_carry_no_count_from_1_to_4(
    client: TestClient, store_data: pl.DataFrame, indicator: str
) -> None:
    weeks = _map(client, indicator=indicator)["weeks"]
    assert weeks[-1] == LAST_WEEK
    for week in weeks:
        body = _map(client, indicator=indicator, week=week)
        rows = body["municipalities"]
        assert len(rows) == 356
        for row in rows:
            assert not any(_small(row[count]) for count in COUNTS), row
            # A rate computed from a hidden count is hidden too.
            if row["cases_14d_n"] in HIDDEN:
                assert row["incidence_14d"] in HIDDEN
            if row["cumulative_n"] in HIDDEN:
                assert row["share_infected_percent"] in HIDDEN
            # Two published cumulative counts would give back the weeks between them.
            if week != LAST_WEEK:
                assert row["cumulative_n"] is None and row["share_infected_percent"] is None
            if indicator == "signal" and row["n"] in HIDDEN:
                assert row["status"] is None
        # Complementary suppression: no county hides exactly one municipality's count (Oslo,
        # a county of one municipality, has a county total as small as its one cell).
        size = Counter(r["county_code"] for r in rows)
        for count in COUNTS:
            hidden = Counter(r["county_code"] for r in rows if r[count] in HIDDEN)
            assert [c for c, k in hidden.items() if k == 1 and size[c] > 1] == [], (week, count)
        page = client.get("/surveillance", params={"indicator": indicator, "week": week})
        assert page.status_code == 200
        cells = re.findall(r'<td class="k-num">([^<]*)</td>', page.text)
        assert cells and not [c for c in cells if c.strip() in {"1", "2", "3", "4"}]


def test_public_sees_hidden_counts_as_less_than_five(
    client: TestClient, store_data: pl.DataFrame
) -> None:
    rows = {
        r["location_code"]: r for r in _map(client, indicator="incidence_14d")["municipalities"]
    }
    assert rows["municip4601"]["n"] == "<5"
    assert rows["municip4601"]["suppressed"] in (True, False)
    page = client.get("/surveillance?indicator=incidence_14d")
    assert "Antall fra 1 til 4 vises som &lt;5" in page.text
    bergen = re.search(
        r'href="/surveillance/municip4601">Bergen</a></th>(.*?)</tr>', page.text, re.S
    )
    assert bergen and "&lt;5" in bergen.group(1)


def test_municipal_doctor_sees_own_municipality_and_neighbours_in_full(
    client: TestClient, db: Session, store_data: pl.DataFrame, settings: Settings
) -> None:
    doctor = make_user(db, Role.MUNICIPAL_DOCTOR, organisation=make_organisation(db))
    db.commit()
    login(client, doctor.email)
    rows = {
        r["location_code"]: r for r in _map(client, indicator="incidence_14d")["municipalities"]
    }
    assert rows["municip4601"]["n"] == 3  # Bergen, the doctor's own
    assert rows["municip0301"]["n"] == "<5"  # Oslo is no neighbour of Bergen
    last = store_data.filter(pl.col("date") == SUNDAYS[-1])
    expected = dict(zip(last["location_code"], last["n"], strict=True))
    for number in neighbours(settings.reference_dir)["4601"]:
        assert rows[f"municip{number}"]["n"] == expected[f"municip{number}"]


@pytest.mark.parametrize("role", [Role.PORTFOLIO_OFFICE, Role.OBSERVER, Role.NEEDS_REPORTER])
def test_other_roles_see_municipal_counts_suppressed(
    client: TestClient, db: Session, store_data: pl.DataFrame, role: Role
) -> None:
    user = make_user(db, role)
    db.commit()
    login(client, user.email)
    body = _map(client, indicator="share_infected")
    assert not any(_small(r[c]) for r in body["municipalities"] for c in COUNTS)
    assert client.get("/surveillance").status_code == 200


def test_county_view_zooms_to_its_municipalities(
    client: TestClient, store_data: pl.DataFrame
) -> None:
    body = _map(client, indicator="incidence_14d", county="county46")
    assert body["county"] == "county46"
    assert {r["county_code"] for r in body["municipalities"]} == {"county46"}
    assert len(body["municipalities"]) == 43
    page = client.get("/surveillance/map/county46?indicator=signal&syndrome=gastro")
    assert page.status_code == 200
    assert "Vestland etter kommune" in page.text
    assert page.text.count('href="/surveillance/municip46') >= 2 * 43  # map and table
    assert 'href="/surveillance/municip0301"' not in page.text
    national = client.get("/surveillance").text
    box = re.search(r'viewBox="([^"]+)"', page.text)
    assert box and box.group(1) not in national


def test_map_links_every_municipality_to_its_page(
    client: TestClient, store_data: pl.DataFrame
) -> None:
    page = client.get("/surveillance")
    links = set(re.findall(r'<a href="/surveillance/(municip\d{4})"><title>', page.text))
    assert len(links) == 356
    assert 'href="/surveillance/map/county46' in page.text


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/v1/surveillance/map?indicator=nope", 422, "indicator"),
        ("/api/v1/surveillance/map?week=2021-52", 422, "week"),
        ("/api/v1/surveillance/map?week=2019-W01", 422, "No figures for week 2019-W01"),
        ("/api/v1/surveillance/map?county=county99", 404, "Unknown county county99"),
        ("/api/v1/surveillance/map?county=oslo", 422, "county"),
        ("/api/v1/surveillance/map?indicator=signal&syndrome=xyz", 422, "Unknown syndrome xyz"),
        ("/surveillance?week=2019-W01", 422, "Ingen tall for uke 2019-W01"),
        ("/surveillance?indicator=nope", 422, "indicator"),
        ("/surveillance/map/county99", 404, "Ukjent fylke county99"),
        ("/surveillance/map/foo", 404, "Finnes ikke"),
    ],
)
def test_bad_parameters_get_a_clear_4xx(
    client: TestClient, store_data: pl.DataFrame, path: str, status: int, message: str
) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert message.lower() in response.text.lower()


def test_empty_store_says_so(client: TestClient) -> None:
    page = client.get("/surveillance")
    assert page.status_code == 200
    assert "har ingen tall ennå" in page.text
    assert _map(client)["week"] is None


def test_map_follows_a_new_commit_of_the_store(
    client: TestClient, store_data: pl.DataFrame, settings: Settings
) -> None:
    before = _map(client, indicator="incidence_14d")["weeks"]
    extra = pl.DataFrame(
        {"location_code": ["municip0301"], "date": [SUNDAYS[-1] + dt.timedelta(weeks=1)], "n": [9]}
    )
    SurveillanceStore(settings.surveillance_dir).write_cases(extra, Frequency.WEEKLY)
    after = _map(client, indicator="incidence_14d")["weeks"]
    assert after == [*before, "2021-W52"]


def test_municipal_doctor_lands_on_their_municipality(client: TestClient, db: Session) -> None:
    doctor = make_user(db, Role.MUNICIPAL_DOCTOR, organisation=make_organisation(db))
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    db.commit()
    for user, landing in ((doctor, "/surveillance/municip4601"), (office, "/")):
        client.cookies.clear()
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        response = client.post(
            "/login",
            data={
                "email": user.email,
                "password": PASSWORD,
                "csrf_token": token.group(1),
                "next": "/",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == landing


def test_home_and_menu_link_to_sykdomspulsen(client: TestClient) -> None:
    page = client.get("/")
    assert page.text.count('href="/surveillance"') >= 2  # the menu and the card
