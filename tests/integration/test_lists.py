"""Every list pages: one filter model per list serves the page, the API and the export."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session
from tests.conftest import login, make_user

from korona.auth import tokens as auth_tokens
from korona.auth.models import Role
from korona.auth.permissions import Principal
from korona.demo import load_demo
from korona.portfolio.intake import service as intake
from korona.portfolio.intake.schemas import InputCreate
from korona.portfolio.need.models import Need, NeedStatus
from korona.portfolio.need.service import NeedFilter, page_needs
from korona.portfolio.solution import service as solution_service
from korona.portfolio.solution.schemas import SolutionCreate

LINKS = intake.StatusLinks("https://korona.test", "secret")
NEED_LINK = re.compile(r'href="/needs/\d+"')


def add_needs(session: Session, organisation_id: int, count: int, category: str) -> None:
    for number in range(count):
        session.add(
            Need(
                title=f"Behov {category} {number:03d}",
                description="Et behov for å prøve sidevisningen.",
                category_code=category,
                sector="municipal",
                organisation_id=organisation_id,
                urgency=2,
                affected_groups=["citizens"],
                status=NeedStatus.VALIDATED,
            )
        )


def test_needs_list_pages_and_keeps_its_filters(client: TestClient, db: Session) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    assert office.organisation_id is not None
    add_needs(db, office.organisation_id, 60, "video")
    add_needs(db, office.organisation_id, 3, "triage")
    db.commit()
    login(client, office.email)

    first = client.get("/needs?category=video")
    assert first.status_code == 200
    assert "60 behov" in first.text
    assert len(NEED_LINK.findall(first.text)) == 50
    assert "Viser 1–50 av 60" in first.text
    assert 'href="/needs?category=video&amp;page=2"' in first.text  # the filter stays
    second = client.get("/needs?category=video&page=2")
    assert len(NEED_LINK.findall(second.text)) == 10
    assert 'href="/needs?category=video&amp;page=1"' in second.text
    assert "Behov triage" not in second.text
    short = client.get("/needs?category=triage")
    assert 'class="k-pager"' not in short.text  # one page: no pager

    headers = {
        "Authorization": "Bearer "
        + auth_tokens.create_api_token(Principal(), office.id, session=db)
    }
    db.commit()
    api = client.get("/api/v1/needs?category=video", headers=headers)
    assert len(api.json()) == 50 and api.headers["X-Total-Count"] == "60"
    api_last = client.get("/api/v1/needs?category=video&page=3&per_page=25", headers=headers)
    assert len(api_last.json()) == 10
    assert client.get("/api/v1/needs?per_page=100000", headers=headers).status_code == 422
    export = client.get("/needs/export.csv?category=video&page=2")
    assert len(export.content.decode("utf-8-sig").splitlines()) == 61  # exports are not paged


def test_an_invalid_filter_on_a_page_is_a_norwegian_422(client: TestClient, db: Session) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    db.commit()
    login(client, office.email)
    for path in ("/needs?status=bogus", "/inputs?kind=bogus", "/solutions?status=bogus"):
        response = client.get(path)
        assert response.status_code == 422, path
        assert "Velg en av verdiene i listen" in response.text
    assert client.get("/needs?page=0").status_code == 422
    assert client.get("/needs?status=&sector=&q=").status_code == 200  # "All" is no filter


def test_inputs_solutions_and_triage_page(client: TestClient, db: Session) -> None:
    for number in range(55):
        data = InputCreate(
            kind="idea",
            title=f"Idé nummer {number:03d} om video",
            description="En idé for å prøve sidevisningen av innspill.",
            organisation_name="Fjordtech AS",
            is_public=False,
            contact_name="Per",
            contact_email="per@fjordtech.example",
        )
        intake.submit_input(Principal(), data, LINKS, session=db)
    for number in range(52):
        solution_service.create_solution(
            Principal(),
            SolutionCreate(
                name=f"Løsning {number:03d}",
                owner="Norsk helsenett",
                description="En løsning for å prøve sidevisningen av katalogen.",
                categories=["video"],
                status="in_operation",
            ),
            session=db,
        )
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    db.commit()
    login(client, office.email)

    inputs = client.get("/inputs?q=video&page=2")
    assert "55 innspill" in inputs.text and "Viser 51–55 av 55" in inputs.text
    solutions = client.get("/solutions?page=2&per_page=50")
    assert (
        solutions.text.count('href="/solutions/') - solutions.text.count('href="/solutions/new')
        == 2
    )
    assert len(client.get("/api/v1/solutions").json()) == 50
    assert client.get("/api/v1/solutions?page=2").headers["X-Total-Count"] == "52"

    queue = client.get("/triage")
    assert "55 nye innspill" in queue.text
    assert queue.text.count('name="input_ids"') == 50
    # The bulk action form comes before the list it acts on.
    assert queue.text.index('id="bulk-heading"') < queue.text.index("<table")
    assert client.get("/triage?page=2").text.count('name="input_ids"') == 5


def test_a_page_counts_only_when_its_rows_cannot_tell(db: Session) -> None:
    """The total is right on every page; the count query runs only for full or empty pages."""
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    assert office.organisation_id is not None
    add_needs(db, office.organisation_id, 100, "video")
    add_needs(db, office.organisation_id, 7, "triage")
    db.commit()
    statements: list[str] = []
    bind = db.get_bind()

    def listener(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(bind, "before_cursor_execute", listener)
    try:
        cases = [  # category, offset, limit: rows on the page, total, whether it counted
            ("video", 0, 50, 50, 100, True),  # full page
            ("video", 50, 50, 50, 100, True),  # full last page: the rows cannot tell
            ("video", 100, 50, 0, 100, True),  # past the end
            ("video", 90, 50, 10, 100, False),  # the last page tells
            ("triage", 0, 50, 7, 7, False),  # one short page
            ("contact_tracing", 0, 50, 0, 0, False),  # nothing matches
        ]
        for category, offset, limit, shown, total, counted in cases:
            statements.clear()
            rows, found = page_needs(
                NeedFilter(category=category), session=db, offset=offset, limit=limit
            )
            assert (len(rows), found) == (shown, total), (category, offset)
            assert any("count(" in s.lower() for s in statements) is counted, (category, offset)
    finally:
        event.remove(bind, "before_cursor_execute", listener)


def test_a_list_api_says_what_each_item_api_says(client: TestClient, db: Session) -> None:
    """The list APIs read columns, the item APIs read entities: they must agree."""
    load_demo(session=db, password="demo-password-123")
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    token = auth_tokens.create_api_token(Principal(), office.id, session=db)
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}
    listed = {}
    for kind in ("needs", "inputs", "solutions"):
        response = client.get(f"/api/v1/{kind}?per_page=100", headers=headers)
        assert response.status_code == 200
        listed[kind] = response.json()
        assert len(listed[kind]) == int(response.headers["X-Total-Count"]) > 0
        for item in listed[kind]:
            assert client.get(f"/api/v1/{kind}/{item['id']}", headers=headers).json() == item
    # The demo holds what the columns must carry: linked needs, working groups, overdue needs.
    assert any(item["need_ids"] for item in listed["inputs"])
    assert any(item["working_group"] for item in listed["inputs"])
    assert any(need["overdue"] for need in listed["needs"])
    assert not all(need["overdue"] for need in listed["needs"])
