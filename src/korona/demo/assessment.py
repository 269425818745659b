"""The assessment demo: working groups, 40+ assessed inputs, weights and a draft net list."""

from __future__ import annotations

import random
import zlib
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.auth import service as auth_service
from korona.auth.models import User
from korona.auth.permissions import Principal, principal_for
from korona.portfolio.assessment import groups as working_groups
from korona.portfolio.assessment import prioritisation
from korona.portfolio.assessment import service as assessment
from korona.portfolio.assessment.models import WorkingGroup
from korona.portfolio.assessment.schemas import (
    DEFAULT_SETTINGS,
    AssessmentIn,
    GroupIn,
    MemberIn,
    PinIn,
    WeightsIn,
)
from korona.portfolio.intake.models import Input, InputKind, InputNeed, InputStatus
from korona.portfolio.intake.schemas import InputCreate
from korona.portfolio.intake.service import StatusLinks, Submission, submit_input
from korona.portfolio.need.models import Need
from korona.portfolio.netlist.drafts import create_draft
from korona.portfolio.netlist.models import NetlistVersion
from korona.portfolio.netlist.solver.vocabulary import Pin
from korona.portfolio.scoring import CONFIDENCE_STEPS, DEFAULT_WEIGHTS, EFFORT_STEPS

SYSTEM = Principal()
NO_LINKS = StatusLinks(base_url="", secret="")

OFFICE = "kontor@demo.korona.no"
ASSESSOR = "vurderer@demo.korona.no"
SECOND_ASSESSOR = "vurderer2@demo.korona.no"
LEAD = "gruppeleder@demo.korona.no"
DECIDER = "beslutter@demo.korona.no"

#: (name, theme, need categories whose needs this group's inputs address).
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Smittevern og overvåking",
        "Smittesporing, testing, varsling og overvåking av utbrudd.",
        ("contact_tracing", "mass_alert", "lab_results"),
    ),
    (
        "Video og avstandsoppfølging",
        "Videokonsultasjon, hjemmeoppfølging og digitalt tilsyn.",
        ("video", "remote_monitoring"),
    ),
    (
        "Innbyggertjenester",
        "Digitale tjenester for innbyggerne: svar, råd, timebestilling og selvbetjening.",
        ("triage", "other"),
    ),
    (
        "Samhandling",
        "Informasjonsflyt mellom kommuner, fastleger og sykehus.",
        ("collaboration", "lab_results"),
    ),
    (
        "Kapasitet og logistikk",
        "Senger, utstyr, bemanning og forsyninger.",
        ("capacity", "other"),
    ),
)

#: The demo inputs (inputs.json) sent to assessment, by the group they go to; the newer ones
#: stay in the triage queue.
SENT: dict[str, int] = {
    "inp-001": 1, "inp-002": 1, "inp-003": 1, "inp-004": 1, "inp-005": 0, "inp-006": 0,
    "inp-007": 2, "inp-008": 0, "inp-009": 2, "inp-010": 2, "inp-011": 4, "inp-012": 1,
    "inp-013": 1, "inp-014": 3, "inp-015": 0, "inp-016": 0, "inp-017": 4, "inp-018": 4,
    "inp-019": 4, "inp-020": 3, "inp-021": 3, "inp-022": 2,
}  # fmt: skip

#: More inputs that arrived earlier and are already in assessment: (title, description, group).
MORE: tuple[tuple[str, str, int], ...] = (
    (
        "Selvtest-veiledning på video",
        "Helsepersonell veileder innbyggere i selvtest over video.",
        1,
    ),
    ("Digitalt hjemmesykehus for kolspasienter", "Sensorer og video for kols hjemme.", 1),
    ("Videotilsyn på sykehjem om natten", "Kamera og varsling som avlaster nattevakter.", 1),
    (
        "Felles chat for hjemmesykepleien",
        "Sikker meldingstjeneste mellom hjemmesykepleie og lege.",
        3,
    ),
    ("Teststasjoner med drive-in", "Drive-in teststasjoner med digital timebestilling.", 0),
    ("Prøvesvar i kjernejournal", "Prøvesvar på covid-19 gjøres tilgjengelig i kjernejournal.", 3),
    ("Smittesporingsteam på tvers av kommuner", "Felles verktøy for interkommunale team.", 0),
    ("Automatisk uttrekk til MSIS", "Laboratoriene melder positive prøver automatisk.", 0),
    ("Avløserpool for intensivsykepleiere", "Oversikt over sykepleiere som kan flyttes.", 4),
    ("Ventilatorlager på tvers av regionene", "Deling av respiratorer mellom helseregionene.", 4),
    ("Timebestilling for koronavaksine", "Innbyggere bestiller vaksinetime på helsenorge.no.", 2),
    ("Symptomsjekker i helsenorge-appen", "Innbyggere sjekker symptomer og får råd.", 2),
    ("Digitale besøk på sykehus", "Pårørende besøker innlagte pasienter på video.", 1),
    ("Elektronisk henvisning til testing", "Fastlegen henviser til test elektronisk.", 3),
    ("Kapasitetskart for legevakt", "Ventetid og kapasitet på legevaktene i sanntid.", 4),
    ("Karantenevarsel på SMS", "Kommunen sender karantenevarsel og råd på SMS.", 0),
    ("Oppfølging av smittede via helsenorge", "Daglig egenrapportering av symptomer.", 2),
    ("Utstyrsbestilling for kommunene", "Felles bestillingsløsning for smittevernutstyr.", 4),
    ("Delt kalender for vaksinasjonsteam", "Planlegging av vaksinasjonsteam på tvers.", 4),
    ("Tolketjeneste for smittesporing", "Tolk på telefon og video i smittesporingen.", 0),
    ("Meldingsutveksling sykehjem–sykehus", "Pleie- og omsorgsmeldinger ved innleggelse.", 3),
    (
        "Fjernoppfølging etter utskrivning",
        "Pasienter følges opp hjemme etter covid-innleggelse.",
        1,
    ),
    ("Kriseinformasjon på klarspråk", "Felles nettside med råd på klart språk og flere språk.", 2),
    ("Digital opplæring i bruk av smittevernutstyr", "Korte videoer og kursbevis.", 4),
)


def _rng(key: str) -> random.Random:
    # A stable seed per input, so the demo looks the same every time it is loaded.
    return random.Random(zlib.crc32(key.encode()))


def _scores(key: str, *, shift: int = 0) -> AssessmentIn:
    rng = _rng(key + str(shift))
    level = rng.randint(1, 4)

    def step() -> int:
        return max(0, min(4, level + rng.choice((-1, 0, 0, 1)) + shift))

    failing = zlib.crc32(key.encode()) % 11 == 0  # a few fail the horizon gate
    return AssessmentIn(
        benefit_groups=rng.sample(
            ["citizens", "health_personnel", "authorities"], rng.randint(1, 2)
        ),
        delivery_months=rng.choice((0.5, 1, 1.5, 2, 3)) if not failing else 9,
        dpia_needed=rng.random() < 0.2,
        clinical_benefit=step(),
        relief=step(),
        severity=step(),
        reuse=step(),
        time_criticality=step(),
        effort_hospitals=rng.choice(EFFORT_STEPS[:4]),
        effort_municipalities=rng.choice(EFFORT_STEPS[:4]),
        confidence=rng.choice(CONFIDENCE_STEPS),
    )


def _user(email: str, *, session: Session) -> User:
    user = auth_service.get_user_by_email(email, session=session)
    if user is None:  # load_demo creates every demo user before this runs
        raise LookupError(email)
    return user


def load_assessment(*, session: Session, today: date) -> int:
    """Add working groups, send and assess demo inputs, set weights and draft a net list.

    Returns how many inputs were assessed now (0 when the demo was loaded before).
    """
    if session.scalar(select(WorkingGroup.id).limit(1)) is not None:
        return 0
    office = principal_for(_user(OFFICE, session=session))
    assessor = principal_for(_user(ASSESSOR, session=session))
    second = principal_for(_user(SECOND_ASSESSOR, session=session))
    lead = principal_for(_user(LEAD, session=session))
    groups: list[WorkingGroup] = []
    for name, theme, _categories in GROUPS:
        group = working_groups.create_group(
            office, GroupIn(name=name, theme=theme), session=session
        )
        working_groups.add_member(
            office, group.id, MemberIn(user_id=lead.user_id, is_lead=True), session=session
        )
        working_groups.add_member(
            office, group.id, MemberIn(user_id=assessor.user_id), session=session
        )
        if len(groups) < 3:
            working_groups.add_member(
                office, group.id, MemberIn(user_id=second.user_id), session=session
            )
        groups.append(group)
    needs_by_category: dict[str, list[Need]] = {}
    for need in session.scalars(select(Need).order_by(Need.id)):
        needs_by_category.setdefault(need.category_code, []).append(need)

    sent: list[tuple[str, Input, int]] = []
    for ref, group_index in SENT.items():
        item = session.scalar(select(Input).where(Input.external_ref == f"demo-{ref}"))
        if item is not None and item.status == InputStatus.RECEIVED:
            sent.append((ref, item, group_index))
    for n, (title, description, group_index) in enumerate(MORE, start=1):
        ref = f"asm-{n:03d}"
        data = InputCreate(
            external_ref=f"demo-{ref}",
            kind=InputKind.PROPOSAL if n % 3 else InputKind.OFFER,
            title=title,
            description=description,
            organisation_name="Helse- og omsorgstjenesten",
            is_public=True,
            contact_name="Demo Kontakt",
            contact_email=f"kontakt{n}@demo.korona.no",
        )
        received = datetime.combine(today - timedelta(days=45 + n), time(10, 0), tzinfo=UTC)
        submission = Submission(imported=True, received_at=received, send_receipt=False)
        sent.append(
            (ref, submit_input(SYSTEM, data, NO_LINKS, submission, session=session), group_index)
        )

    assessed = 0
    for position, (ref, item, group_index) in enumerate(sent):
        # Demo inputs were triaged elsewhere: set the outcome without queueing letters.
        item.status, item.working_group_id = InputStatus.IN_ASSESSMENT, groups[group_index].id
        categories = GROUPS[group_index][2]
        candidates = [n for c in categories for n in needs_by_category.get(c, [])]
        rng = _rng(ref)
        for need in rng.sample(candidates, min(len(candidates), rng.randint(1, 3))):
            session.add(InputNeed(input_id=item.id, need_id=need.id))
        session.flush()
        if position >= len(sent) - 2:
            continue  # the newest two wait for their first assessment
        first = assessor if position % 2 else lead
        assessment.save_assessment(first, item.id, _scores(ref), session=session)
        assessed += 1
        if group_index < 3 and position % 4 == 0:
            # A second assessor: the same score on some, a different one on others.
            differs = position % 8 == 0
            assessment.save_assessment(
                second, item.id, _scores(ref, shift=-1 if differs else 0), session=session
            )
            if differs and position % 16 == 0:
                agreed = _scores(ref).model_copy(update={"reason": "Enige etter gruppemøtet."})
                assessment.record_agreed(lead, item.id, agreed, session=session)
    # The decision group's new weights: relief as heavy as clinical benefit, time criticality less.
    weights = DEFAULT_WEIGHTS.as_dict() | {"relief": 0.25, "time_criticality": 0.05}
    assessment.set_weights(
        principal_for(_user(DECIDER, session=session)),
        WeightsIn(
            **weights, reason="Avlastning av helsepersonell veier like tungt som klinisk nytte nå."
        ),
        session=session,
    )
    assessment.update_settings(
        office,
        DEFAULT_SETTINGS.model_copy(
            update={"budget_hospitals": 50.0, "budget_municipalities": 50.0}
        ),
        session=session,
    )
    ranked = prioritisation.ranking(session=session)[1]
    if len(ranked) > 20:
        prioritisation.set_pin(
            office,
            ranked[20].input_id,
            PinIn(pin=Pin.IN, reason="Avtalt med KS: kommunene har bedt om dette."),
            session=session,
        )
    if session.scalar(select(NetlistVersion.id).limit(1)) is None:
        create_draft(office, prioritisation.propose(session=session), session=session)
    session.flush()
    return assessed
