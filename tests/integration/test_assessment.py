"""Working groups, assessments, agreed scores, weights, pins, proposals and draft net lists."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import make_user

from korona import audit
from korona.auth.models import Role
from korona.auth.permissions import Principal, principal_for
from korona.errors import Conflict, Forbidden, InvalidInput
from korona.portfolio.assessment import groups, prioritisation
from korona.portfolio.assessment import service as assessment
from korona.portfolio.assessment.agreement import Agreement
from korona.portfolio.assessment.schemas import (
    AssessmentIn,
    GroupIn,
    MemberIn,
    NoteIn,
    PinIn,
    SettingsIn,
    WeightsIn,
)
from korona.portfolio.intake import service as intake
from korona.portfolio.intake import workflow
from korona.portfolio.intake.models import Input, InputStatus
from korona.portfolio.intake.schemas import InputCreate
from korona.portfolio.intake.service import StatusLinks
from korona.portfolio.netlist.drafts import create_draft
from korona.portfolio.netlist.models import NetlistStatus
from korona.portfolio.netlist.solver.vocabulary import Pin, Status

LINKS = StatusLinks("https://korona.example", "test-secret")


def new_input(session: Session, title: str) -> Input:
    data = InputCreate(
        kind="idea",
        title=title,
        description=f"{title}: et forslag som skal vurderes av arbeidsgruppen.",
        organisation_name="Fjordtech AS",
        is_public=False,
        contact_name="Per",
        contact_email="per@fjordtech.example",
    )
    return intake.submit_input(Principal(), data, LINKS, session=session)


def scores(level: int = 3, **changes: object) -> AssessmentIn:
    values: dict[str, object] = {
        "benefit_groups": ["health_personnel"],
        "delivery_months": 1,
        "clinical_benefit": level,
        "relief": level,
        "severity": level,
        "reuse": level,
        "time_criticality": level,
        "effort_hospitals": 2,
        "effort_municipalities": 1,
        "confidence": 0.8,
    }
    return AssessmentIn.model_validate(values | changes)


@dataclass(frozen=True)
class Team:
    """The people of the tests by name, and their working group."""

    people: dict[str, Principal]
    group_id: int

    def __getitem__(self, name: str) -> Principal:
        return self.people[name]


@pytest.fixture
def team(db: Session) -> Team:
    """An office user, a group with a lead and a second assessor, a decision member, an observer."""
    users = {
        "office": make_user(db, Role.PORTFOLIO_OFFICE),
        "lead": make_user(db, Role.ASSESSOR),
        "second": make_user(db, Role.ASSESSOR),
        "outsider": make_user(db, Role.ASSESSOR),
        "decider": make_user(db, Role.DECISION_MEMBER),
        "observer": make_user(db, Role.OBSERVER),
    }
    people = {name: principal_for(user) for name, user in users.items()}
    group = groups.create_group(
        people["office"], GroupIn(name="Video og avstandsoppfølging", theme="Video"), session=db
    )
    lead = MemberIn(user_id=users["lead"].id, is_lead=True)
    groups.add_member(people["office"], group.id, lead, session=db)
    groups.add_member(people["office"], group.id, MemberIn(user_id=users["second"].id), session=db)
    return Team(people, group.id)


def sent(db: Session, team: Team, title: str) -> Input:
    item = new_input(db, title)
    workflow.send_to_working_group(team["office"], item.id, team.group_id, LINKS, session=db)
    return item


def test_members_must_hold_the_assessor_role_and_names_are_unique(db: Session, team: Team) -> None:
    group_id = team.group_id
    decider = MemberIn(user_id=team["decider"].user_id)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        groups.add_member(team["office"], group_id, decider, session=db)
    with pytest.raises(Conflict):
        groups.create_group(team["office"], GroupIn(name="video og avstandsoppfølging"), session=db)
    group = groups.get_group(group_id, session=db)
    assert [u.id for u in group.leads] == [team["lead"].user_id]


def test_each_assessor_scores_alone_the_spread_shows_and_the_lead_agrees(
    db: Session, team: Team
) -> None:
    item = sent(db, team, "Videokonsultasjon for fastleger")
    with pytest.raises(Forbidden):
        assessment.save_assessment(team["outsider"], item.id, scores(), session=db)
    assessment.save_assessment(team["lead"], item.id, scores(3), session=db)
    summary = assessment.assessments_of(item.id, session=db)
    assert summary.agreement is Agreement.SINGLE and summary.effective is not None
    assessment.save_assessment(team["second"], item.id, scores(1), session=db)
    summary = assessment.assessments_of(item.id, session=db)
    assert summary.agreement is Agreement.DIFFER and summary.effective is None
    clinical = next(s for s in summary.spread if s.field == "clinical_benefit")
    assert (clinical.low, clinical.high, clinical.differs) == (1, 3, True)
    with pytest.raises(Forbidden):
        assessment.record_agreed(
            team["second"], item.id, scores(2, reason="Enige om 2"), session=db
        )
    with pytest.raises(InvalidInput):
        assessment.record_agreed(team["lead"], item.id, scores(2), session=db)
    assessment.record_agreed(
        team["lead"], item.id, scores(2, reason="Enige etter møtet"), session=db
    )
    summary = assessment.assessments_of(item.id, session=db)
    assert summary.agreement is Agreement.AGREED
    assert summary.effective is not None and summary.effective.clinical_benefit == 2
    assert audit.history("assessment", summary.effective.id, session=db)[-1].action == "create"


def test_queue_filters_and_private_notes(db: Session, team: Team) -> None:
    done = sent(db, team, "Digital hjemmeoppfølging")
    waiting = sent(db, team, "Chat med sykepleier")
    assessment.save_assessment(team["second"], done.id, scores(), session=db)
    ids = lambda rows: [r.item.id for r in rows]  # noqa: E731
    show = assessment.QueueFilter
    assert ids(assessment.queue(team["lead"], session=db)) == [done.id, waiting.id]
    assert ids(assessment.queue(team["lead"], show.ASSESSED, session=db)) == [done.id]
    assert ids(assessment.queue(team["lead"], show.NOT_ASSESSED, session=db)) == [waiting.id]
    assert ids(assessment.queue(team["lead"], show.MINE, session=db)) == []
    assert ids(assessment.queue(team["second"], show.MINE, session=db)) == [done.id]
    assert assessment.queue(team["outsider"], session=db) == []
    assert ids(assessment.queue(team["observer"], session=db)) == [done.id, waiting.id]
    assessment.add_note(team["lead"], done.id, NoteIn(body="Sjekk med NHN"), session=db)
    assert [n.body for n in assessment.my_notes(team["lead"], done.id, session=db)] == [
        "Sjekk med NHN"
    ]
    assert assessment.my_notes(team["second"], done.id, session=db) == []


def test_only_decision_members_change_the_weights(db: Session, team: Team) -> None:
    new = WeightsIn(
        clinical_benefit=3, relief=3, severity=1, reuse=1, time_criticality=1, need_coverage=1
    )
    with pytest.raises(Forbidden):
        assessment.set_weights(team["observer"], new, session=db)
    with pytest.raises(Forbidden):
        assessment.set_weights(team["office"], new, session=db)
    assert assessment.current_weights(session=db).version == 1
    weights = assessment.set_weights(team["decider"], new, session=db)
    assert weights.version == 2 and assessment.current_weights(session=db).relief == 3
    zero = WeightsIn(
        clinical_benefit=0, relief=0, severity=0, reuse=0, time_criticality=0, need_coverage=0
    )
    with pytest.raises(InvalidInput):
        assessment.set_weights(team["decider"], zero, session=db)


def test_proposal_ranks_only_gate_passers_and_a_draft_keeps_its_parts(
    db: Session, team: Team
) -> None:
    assessment.update_settings(
        team["office"],
        SettingsIn(
            horizon_months=3,
            size_min=2,
            size_max=3,
            budget_hospitals=20,
            budget_municipalities=20,
            concentration=50,
            draws=50,
        ),
        session=db,
    )
    items = [sent(db, team, f"Tiltak nummer {n}") for n in range(5)]
    for n, item in enumerate(items):
        assessment.save_assessment(team["lead"], item.id, scores(4 - n % 4), session=db)
    # A failed gate (delivery beyond the horizon) always excludes.
    assessment.save_assessment(
        team["second"], items[0].id, scores(4, delivery_months=12), session=db
    )
    assessment.record_agreed(
        team["lead"], items[0].id, scores(4, delivery_months=12, reason="Tar et år"), session=db
    )
    prioritisation.set_pin(
        team["office"], items[4].id, PinIn(pin=Pin.IN, reason="Avtalt med KS"), session=db
    )
    with pytest.raises(InvalidInput):
        prioritisation.set_pin(team["office"], items[3].id, PinIn(pin=Pin.OUT), session=db)
    proposal = prioritisation.propose(session=db)
    assert proposal.status is Status.OPTIMAL and proposal.gap == 0
    assert [c.input_id for c in proposal.gate_failed] == [items[0].id]
    assert items[0].id not in proposal.chosen and items[4].id in proposal.chosen
    assert len(proposal.chosen) == 3 and proposal.draws == 50
    pinned = next(i for i in proposal.items if i.candidate.input_id == items[4].id)
    assert pinned.probability == 1.0
    version = create_draft(team["office"], proposal, session=db)
    assert version.status is NetlistStatus.DRAFT and version.number == 1
    assert [i.input_id for i in version.items] == list(proposal.chosen)
    assert [i.position for i in version.items] == [1, 2, 3]
    first = version.items[0]
    assert first.parts["weights_version"] == 1
    assert {p["criterion"] for p in first.parts["criteria"]} >= {"need_coverage", "relief"}
    assert sum(p["contribution"] for p in first.parts["criteria"]) == pytest.approx(
        first.parts["value"]
    )
    pinned_item = next(i for i in version.items if i.input_id == items[4].id)
    assert (pinned_item.pin, pinned_item.pin_reason) == (Pin.IN, "Avtalt med KS")
    assert create_draft(team["office"], proposal, session=db).number == 2


def test_an_infeasible_proposal_cannot_become_a_draft(db: Session, team: Team) -> None:
    item = sent(db, team, "Eneste kandidat")
    assessment.save_assessment(team["lead"], item.id, scores(), session=db)
    proposal = prioritisation.propose(session=db, draws=0)
    assert proposal.status is Status.INFEASIBLE and proposal.infeasible_reason
    with pytest.raises(Conflict):
        create_draft(team["office"], proposal, session=db)


def test_the_migration_turns_free_text_groups_into_working_groups(database_url: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from korona.migrations import alembic_config, upgrade

    command.downgrade(alembic_config(database_url), "0005_match")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for n, group in enumerate(("Smittesporing", " Smittesporing ", "Video", None), start=1):
            connection.execute(
                text(
                    "INSERT INTO proposal_input (id, reference, kind, title, description, "
                    "organisation_name, is_public, commercial, categories, effort_hospitals, "
                    "effort_municipalities, contact_name, contact_email, language, token_salt, "
                    "status, working_group, received_at, updated_at) VALUES (:id, :ref, 'idea', "
                    "'T', 'D', 'O', true, false, '[]', 'unknown', 'unknown', 'P', 'p@x.no', "
                    "'nb', 's', 'in_assessment', :group, '2020-03-01', '2020-03-01')"
                ),
                {"id": n, "ref": f"INN-2020-{n:04d}", "group": group},
            )
    upgrade(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT proposal_input.id, working_group.name FROM proposal_input LEFT JOIN "
                "working_group ON working_group.id = proposal_input.working_group_id "
                "ORDER BY proposal_input.id"
            )
        ).all()
        groups = connection.execute(select(text("count(*)")).select_from(text("working_group")))
        assert groups.scalar_one() == 2
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, "Smittesporing"),
        (2, "Smittesporing"),
        (3, "Video"),
        (4, None),
    ]


def test_sending_needs_an_existing_group(db: Session, team: Team) -> None:
    item = new_input(db, "Uten gruppe")
    with pytest.raises(InvalidInput):
        workflow.send_to_working_group(team["office"], item.id, None, LINKS, session=db)
    workflow.send_to_working_group(team["office"], item.id, team.group_id, LINKS, session=db)
    assert item.status is InputStatus.IN_ASSESSMENT
    assert item.working_group == "Video og avstandsoppfølging"
