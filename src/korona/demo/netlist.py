"""Demo of decisions and measures: two meetings, net list v1 published, v2 in draft, progress."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.auth.models import Organisation, User
from korona.auth.permissions import Principal, principal_for
from korona.portfolio.intake.models import Input
from korona.portfolio.measure import service as measures
from korona.portfolio.measure.models import (
    ExperienceNote,
    Measure,
    MeasureNeed,
    MeasureStatus,
    Milestone,
    Programme,
    ProgressReport,
    Rag,
)
from korona.portfolio.measure.schemas import ProgrammeCreate, StatusChange
from korona.portfolio.need.models import Need
from korona.portfolio.netlist import meetings, publication
from korona.portfolio.netlist.decision_models import Capacity, Meeting, NetlistChangeReason
from korona.portfolio.netlist.meetings import AgendaAdd, AttendeeAdd, CommentCreate, MeetingCreate
from korona.portfolio.netlist.models import NetlistItem, NetlistStatus, NetlistVersion
from korona.portfolio.solution.models import Solution

SYSTEM = Principal(email="demo")
PROGRAMMES = (
    "Digital hjemmeoppfølging",
    "Smittesporing og varsling",
    "Kapasitet og beredskap",
    "Digitale innbyggertjenester",
)
#: The demo inputs on v1, in order (18 measures), unless the assessment demo drafted one.
V1 = [
    f"demo-inp-{n:03d}" for n in (1, 4, 5, 8, 10, 11, 3, 14, 16, 23, 27, 12, 15, 19, 24, 25, 29, 30)
]
#: Why version 2 lets two inputs go and takes two new ones in.
OUT_REASONS = (
    "Dekket av en eksisterende nasjonal løsning etter ny vurdering.",
    "Lav nytte sammenlignet med de nye innspillene.",
)
IN_REASONS = (
    "Haster etter utbruddene i nord.",
    "Økt pågang; lav innsats for kommunene.",
)
REPORT_TEXT = {
    Rag.GREEN: "I rute.",
    Rag.AMBER: "Noe forsinket: venter på leverandør.",
    Rag.RED: "Alvorlig forsinket: mangler finansiering.",
}
OWNERS = ("nhn", "fhi", "hdir", "ehelse", "ous", "bergen")
MEETINGS = (
    ("Beslutningsgruppen – møte 1", 40),
    ("Beslutningsgruppen – møte 2", 5),
)


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(10, 0), tzinfo=UTC)


def _user(email: str, *, session: Session) -> User | None:
    return session.scalar(select(User).where(User.email == email))


def _add_experience(notes: tuple[tuple[str, str], ...], *, session: Session, **target: int) -> None:
    """Add experience notes (organisation key, text) on one measure or solution."""
    for org_key, note in notes:
        org = _organisation(org_key, session=session)
        if org is not None:
            session.add(ExperienceNote(organisation_id=org.id, note=note, **target))


def _organisation(key: str, *, session: Session) -> Organisation | None:
    return session.scalar(
        select(Organisation).where(Organisation.external_ref == f"demo-org-{key}")
    )


def _inputs(refs: list[str], *, session: Session) -> list[Input]:
    found = {
        i.external_ref: i
        for i in session.scalars(select(Input).where(Input.external_ref.in_(refs)))
    }
    return [found[ref] for ref in refs if ref in found]


def _version(
    number: int, inputs: list[Input], creator: User | None, *, session: Session
) -> NetlistVersion:
    version = NetlistVersion(
        number=number,
        status=NetlistStatus.DRAFT,
        weights_version=1,
        solver="demo",
        note="",
        created_by_id=creator.id if creator else None,
    )
    count = len(inputs)
    for position, item in enumerate(inputs, start=1):
        value = round(4.5 - 2.5 * (position - 1) / max(count - 1, 1), 2)
        version.items.append(
            NetlistItem(
                input_id=item.id,
                position=position,
                priority=round(value * 0.8, 3),
                parts={"value": value, "confidence": 0.8, "effort": 1.0, "criteria": []},
                probability=None,
            )
        )
    session.add(version)
    session.flush()
    return version


def load_decisions(*, session: Session, today: date) -> None:
    """Add the decision-group demo; running it again adds nothing twice."""
    if session.scalar(select(Meeting.id).limit(1)) is not None:
        return
    office_user = _user("kontor@demo.korona.no", session=session)
    member_user = _user("beslutter@demo.korona.no", session=session)
    observer_user = _user("observator@demo.korona.no", session=session)
    if office_user is None or member_user is None or observer_user is None:
        return
    office, member, observer = (
        principal_for(office_user),
        principal_for(member_user),
        principal_for(observer_user),
    )
    _reporters(session=session)
    programmes = [
        session.scalar(select(Programme).where(Programme.name == name))
        or measures.create_programme(office, ProgrammeCreate(name=name), session=session)
        for name in PROGRAMMES
    ]
    first, second = (
        meetings.create_meeting(
            office,
            MeetingCreate(title=title, held_on=today - timedelta(days=days_ago)),
            session=session,
        )
        for title, days_ago in MEETINGS
    )
    for meeting in (first, second):
        meetings.add_attendee(
            office,
            meeting.id,
            AttendeeAdd(user_id=member_user.id, capacity=Capacity.MEMBER),
            session=session,
        )
        meetings.add_attendee(
            office,
            meeting.id,
            AttendeeAdd(user_id=observer_user.id, capacity=Capacity.OBSERVER),
            session=session,
        )
    v1_inputs = _inputs(V1, session=session)
    versions = publication.list_versions(session=session)
    draft = next((v for v in versions if v.status == NetlistStatus.DRAFT), None)
    v1 = draft if draft is not None else _version(1, v1_inputs, office_user, session=session)
    meetings.add_agenda_item(
        office,
        first.id,
        AgendaAdd(title="Første nettoliste", netlist_version_id=v1.id),
        session=session,
    )
    publication.approve(member, v1.number, first.id, session=session)
    publication.publish(office, v1.number, session=session)
    meetings.write_minutes(
        office,
        first.id,
        meetings.MinutesText(
            minutes="Beslutningsgruppen vedtok første nettoliste. KS deltok som observatør."
        ),
        session=session,
    )
    meetings.comment(
        observer,
        first.id,
        CommentCreate(
            text="KS ber om at kommunenes innføringsinnsats vektes tyngre i neste versjon."
        ),
        session=session,
    )
    _measures(office, v1, programmes, today, session=session)
    on_v1 = [item.input for item in v1.items]
    gone = on_v1[-2:]  # the two lowest-ranked leave the list
    kept = on_v1[:-2]
    if len(kept) > 4:
        kept[2], kept[4] = kept[4], kept[2]  # one measure moves up, another down
    listed = {item.id for item in on_v1}
    waiting = session.scalars(
        select(Input).where(Input.external_ref.is_not(None)).order_by(Input.external_ref)
    ).all()
    coming = [item for item in waiting if item.id not in listed][:2]
    v2 = _version(v1.number + 1, kept[:3] + coming + kept[3:], office_user, session=session)
    reasons = list(zip(gone, OUT_REASONS, strict=False)) + list(
        zip(coming, IN_REASONS, strict=False)
    )
    for item, reason in reasons:
        session.add(NetlistChangeReason(version_id=v2.id, input_id=item.id, reason=reason))
    meetings.add_agenda_item(
        office,
        second.id,
        AgendaAdd(title="Utkast til nettoliste versjon 2", netlist_version_id=v2.id),
        session=session,
    )
    meetings.add_agenda_item(
        office, second.id, AgendaAdd(title="Fremdriftstatus for tiltakene"), session=session
    )
    session.flush()


def _reporters(*, session: Session) -> None:
    """Let the demo reporters stand as the reporters of their organisations' needs.

    Then "delivered" letters and review reminders have someone to go to.
    """
    for email in ("sykehus@demo.korona.no", "kommune@demo.korona.no"):
        user = _user(email, session=session)
        if user is None:
            continue
        for need in session.scalars(
            select(Need).where(
                Need.organisation_id == user.organisation_id, Need.created_by_id.is_(None)
            )
        ):
            need.created_by_id = user.id


def _measures(
    office: Principal,
    v1: NetlistVersion,
    programmes: list[Programme],
    today: date,
    *,
    session: Session,
) -> None:
    needs = list(session.scalars(select(Need).order_by(Need.id)))
    owners = [org for key in OWNERS if (org := _organisation(key, session=session)) is not None]
    solution = session.scalar(select(Solution).order_by(Solution.id).limit(1))
    rags = (Rag.GREEN, Rag.AMBER, Rag.RED, Rag.GREEN, Rag.GREEN, Rag.AMBER)
    for index, item in enumerate(v1.items):
        measure = session.scalar(select(Measure).where(Measure.input_id == item.input_id))
        if measure is None:
            continue
        measure.programme_id = programmes[index % len(programmes)].id
        if owners:
            measure.owner_organisation_id = owners[index % len(owners)].id
        measure.responsible_name = ("Anne Berg", "Jonas Lie", "Mona Dahl", "Per Holm")[index % 4]
        if not measure.need_links:  # an input linked to needs brought them along
            related = [n for n in needs if n.category_code in (item.input.categories or [])]
            chosen = (related or needs[index % len(needs) : index % len(needs) + 1])[:2]
            measure.need_links = [MeasureNeed(need_id=need.id) for need in chosen]
        start = today - timedelta(days=35)
        for step, title in enumerate(("Oppstart", "Pilot i to kommuner", "Nasjonal utrulling")):
            planned = start + timedelta(days=14 * step + index)
            done = (
                planned + timedelta(days=(index + step) % 5)
                if planned + timedelta(days=4) < today
                else None
            )
            measure.milestones.append(Milestone(title=title, planned_date=planned, done_date=done))
        session.flush()
        if index % 7 != 6:
            measures.change_status(
                office, measure.id, StatusChange(status=MeasureStatus.IN_PROGRESS), session=session
            )
        for week in range(3):
            rag = rags[(index + week) % len(rags)]
            session.add(
                ProgressReport(
                    measure_id=measure.id,
                    rag=rag,
                    text=REPORT_TEXT[rag],
                    next_milestone="Nasjonal utrulling",
                    reported_at=_moment(today - timedelta(days=21 - 7 * week)),
                )
            )
        session.flush()
        session.refresh(measure)
        if index in (0, 3):
            measures.change_status(
                office, measure.id, StatusChange(status=MeasureStatus.DELIVERED), session=session
            )
            notes = (
                ("oslo", "Brukt på legevakten siden mars; god erfaring."),
                ("tromso", "Tatt i bruk i hjemmetjenesten."),
            )
            _add_experience(notes, session=session, measure_id=measure.id)
        if index == 8:
            measures.change_status(
                office,
                measure.id,
                StatusChange(status=MeasureStatus.STOPPED, reason="Dekkes av nasjonal løsning."),
                session=session,
            )
    if solution is not None:
        notes = (
            ("bergen", "Alle fastleger i Bergen bruker løsningen."),
            ("ahus", "Brukes i poliklinikken."),
        )
        _add_experience(notes, session=session, solution_id=solution.id)
    session.flush()
