"""Import and export of the portfolio: documented examples, idempotence, all-or-nothing, UI, CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import csrf_from, login, make_user
from typer.testing import CliRunner

from korona.auth.models import Organisation, Role
from korona.config import Settings
from korona.notify.models import OutboxMessage
from korona.portfolio.cli import app as portfolio_cli
from korona.portfolio.intake.models import Input
from korona.portfolio.need.models import Need
from korona.portfolio.solution.models import Solution

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
ORDER = ("organisations", "solutions", "needs", "inputs")


def count(session: Session, model: type) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("KORONA_DATABASE_URL", settings.sqlalchemy_url)
    monkeypatch.setenv("KORONA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KORONA_SECRET_KEY", settings.secret_key.get_secret_value())
    return CliRunner()


def test_documented_examples_import_once_and_again_change_nothing(
    cli_env: CliRunner, db: Session
) -> None:
    for entity in ORDER:
        result = cli_env.invoke(portfolio_cli, ["import", str(EXAMPLES / f"import_{entity}.csv")])
        assert result.exit_code == 0, result.output
        assert "Imported" in result.output
    assert (count(db, Solution), count(db, Need), count(db, Input)) == (2, 2, 3)
    assert count(db, OutboxMessage) == 3  # a receipt to each submitter
    english = db.scalars(select(Input).where(Input.external_ref == "inn-ext-003")).one()
    assert english.language == "en" and english.is_public is False
    assert english.received_at.isoformat() == "2020-03-24T00:00:00+00:00"
    offer = db.scalars(select(Input).where(Input.external_ref == "inn-ext-001")).one()
    alta_need = db.scalars(select(Need).where(Need.external_ref == "need-alta-video")).one()
    assert offer.need_ids == [alta_need.id]
    assert offer.received_at.isoformat() == "2020-03-18T08:30:00+00:00"

    for entity in ORDER:
        again = cli_env.invoke(portfolio_cli, ["import", str(EXAMPLES / f"import_{entity}.csv")])
        assert again.exit_code == 0, again.output
        assert "0 new" in again.output
    assert (count(db, Solution), count(db, Need), count(db, Input)) == (2, 2, 3)
    assert count(db, OutboxMessage) == 3


def test_a_bad_row_imports_nothing_and_is_reported_row_by_row(
    cli_env: CliRunner, db: Session, tmp_path: Path
) -> None:
    path = tmp_path / "solutions.csv"
    path.write_text(
        "external_ref;name;owner;description;categories;status\n"
        "s1;Smittestopp;FHI;Mobilapp for smittesporing i landet.;contact_tracing;in_operation\n"
        "s2;X;FHI;For kort;nope;in_operation\n"
        "s1;Duplikat;FHI;Samme referanse som en annen rad.;video;pilot\n",
        encoding="utf-8",
    )
    result = cli_env.invoke(portfolio_cli, ["import", str(path)])
    assert result.exit_code == 1
    assert "Nothing imported" in result.output
    assert "categories" in result.output and "same reference as row 2" in result.output
    assert count(db, Solution) == 0


def test_xlsx_and_json_files_and_solution_updates(
    cli_env: CliRunner, db: Session, tmp_path: Path
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["external_ref", "name", "owner", "description", "categories", "status"])
    sheet.append(
        ["x1", "Helsenorge", "NHN", "Innbyggerportalen for helse i Norge.", "other", "in_operation"]
    )
    xlsx = tmp_path / "katalog.xlsx"
    workbook.save(xlsx)
    result = cli_env.invoke(portfolio_cli, ["import", str(xlsx), "--entity", "solutions"])
    assert result.exit_code == 0, result.output
    changed = [
        {
            "external_ref": "x1",
            "name": "Helsenorge",
            "owner": "NHN",
            "description": "Innbyggerportalen for helse i Norge.",
            "categories": ["other"],
            "status": "pilot",
        }
    ]
    json_path = tmp_path / "solutions.json"
    json_path.write_text(json.dumps(changed), encoding="utf-8")
    updated = cli_env.invoke(portfolio_cli, ["import", str(json_path)])
    assert "0 new, 1 changed" in updated.output
    assert db.scalars(select(Solution.status)).one() == "pilot"
    unknown = cli_env.invoke(portfolio_cli, ["import", str(json_path.with_name("x.txt"))])
    assert unknown.exit_code != 0


def test_office_imports_in_the_browser(client: TestClient, db: Session) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    db.commit()
    login(client, office.email)
    token = csrf_from(client, "/portfolio/import")
    content = (EXAMPLES / "import_organisations.csv").read_bytes()
    response = client.post(
        "/portfolio/import",
        data={"entity": "organisations", "csrf_token": token},
        files={"file": ("orgs.csv", content, "text/csv")},
    )
    assert response.status_code == 200
    assert "Importerte 3 rader: 3 nye" in response.text
    assert count(db, Organisation) == 4  # the office's own organisation + 3
    bad = content.replace(b"vendor", b"wizard")
    response = client.post(
        "/portfolio/import",
        data={"entity": "organisations", "csrf_token": token},
        files={"file": ("orgs.csv", bad, "text/csv")},
    )
    assert response.status_code == 422
    assert "Ingenting ble importert" in response.text
    assert '<td class="k-num">2</td><td><code>kind</code>' in response.text
    submitter = make_user(db, Role.SUBMITTER)
    db.commit()
    client.cookies.clear()
    login(client, submitter.email)
    assert client.get("/portfolio/import").status_code == 403


def test_match_and_export_commands(cli_env: CliRunner, db: Session, tmp_path: Path) -> None:
    for entity in ORDER:
        cli_env.invoke(portfolio_cli, ["import", str(EXAMPLES / f"import_{entity}.csv")])
    result = cli_env.invoke(portfolio_cli, ["match", "--json", "videokonsultasjon sykehjem"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert 1 <= len(rows) <= 10
    assert set(rows[0]) == {"kind", "id", "title", "score"}
    assert rows == sorted(rows, key=lambda row: -row["score"])
    assert {"solution", "need", "input"} >= {row["kind"] for row in rows}
    table = cli_env.invoke(portfolio_cli, ["match", "intensivsenger respirator"])
    assert "Felles kapasitetsoversikt" in table.output or "intensivkapasitet" in table.output
    out = tmp_path / "innspill.xlsx"
    exported = cli_env.invoke(portfolio_cli, ["export", str(out)])
    assert exported.exit_code == 0 and out.stat().st_size > 0
    csv_out = tmp_path / "innspill.csv"
    cli_env.invoke(portfolio_cli, ["export", str(csv_out)])
    lines = io.StringIO(csv_out.read_text(encoding="utf-8-sig")).readlines()
    assert len(lines) == 4 and lines[0].startswith("reference,kind,title")
