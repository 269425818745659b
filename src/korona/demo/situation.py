"""Demo situation reports: a dozen municipalities over the last six weeks, two turned into needs."""

from __future__ import annotations

import random
from datetime import date, timedelta
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.auth.models import Organisation, OrganisationKind, Role
from korona.auth.permissions import Principal
from korona.portfolio.need.models import Need, NeedStatus
from korona.portfolio.need.schemas import NeedCreate
from korona.portfolio.need.service import record_need
from korona.portfolio.situation import service
from korona.portfolio.situation.models import SituationReportNeed
from korona.portfolio.situation.places import Places
from korona.portfolio.situation.schemas import SituationReportCreate
from korona.surveillance.calendar import iso_week_label

#: The demo reports in the audit log are made by the demo itself, acting as the office would.
DEMO_REPORTER = Principal(email="demo", name="Demo", roles=frozenset({Role.PORTFOLIO_OFFICE}))
#: Municipality number → name (2020 borders), with its size: beds and capacity scale with it.
MUNICIPALITIES: dict[str, tuple[str, float]] = {
    "0301": ("Oslo", 10.0),
    "4601": ("Bergen", 4.0),
    "5001": ("Trondheim", 3.0),
    "1103": ("Stavanger", 2.0),
    "5401": ("Tromsø", 1.2),
    "4204": ("Kristiansand", 1.6),
    "3005": ("Drammen", 1.5),
    "1804": ("Bodø", 0.8),
    "1507": ("Ålesund", 0.9),
    "3004": ("Fredrikstad", 1.2),
    "3030": ("Lillestrøm", 1.2),
    "4627": ("Askøy", 0.4),
}
WEEKS = 6
NEEDS_TEXTS = (
    "Trenger flere smittesporere i helgene. Teamet rekker ikke å ringe nærkontakter samme dag.",
    "Mangler testpersonell til drive-in-stasjonen. Ventetiden er over to timer.",
    "Hjemmetjenesten har høyt fravær og trenger vikarer med sykepleierkompetanse.",
    "Behov for en felles løsning for å varsle nærkontakter på SMS.",
    "Trenger smittevernutstyr (munnbind og frakker) til sykehjemmene.",
)
#: (municipality, weeks ago) of the two reports whose needs the demo registers, and the need.
REGISTERED: tuple[tuple[str, int, str, str], ...] = (
    ("0301", 1, "Flere smittesporere i helgene", "contact_tracing"),
    ("5401", 1, "Testpersonell til drive-in-stasjonen", "capacity"),
)


def _places() -> Places:
    names = {number: name for number, (name, _size) in MUNICIPALITIES.items()}
    return Places(MappingProxyType(names), MappingProxyType({}))


def _figures(number: str, weeks_ago: int) -> dict[str, object]:
    """Return plausible figures: the load rises towards the latest week, the same every run."""
    _name, size = MUNICIPALITIES[number]
    rng = random.Random(f"{number}-{weeks_ago}")
    pressure = (WEEKS - weeks_ago) / WEEKS  # 0 six weeks ago … ~1 last week
    text = ""
    if rng.random() < 0.3 + 0.4 * pressure:
        text = NEEDS_TEXTS[rng.randrange(len(NEEDS_TEXTS))]
    return {
        "nursing_home_beds_free": max(0, round(size * rng.uniform(2, 8) * (1.2 - pressure))),
        "acute_beds_free": max(0, round(size * rng.uniform(0.5, 2.5) * (1.1 - pressure))),
        "test_capacity_per_day": round(size * rng.uniform(150, 260)),
        "staff_absence_percent": round(rng.uniform(4, 7) + 6 * pressure * rng.random(), 1),
        "home_care_load": min(5, max(1, round(1 + 3.5 * pressure + rng.uniform(-0.8, 0.8)))),
        "tracing_capacity_per_day": round(size * rng.uniform(15, 30)),
        "needs_text": text,
    }


def load_situation(*, session: Session, today: date) -> int:
    """Add the demo reports of the last six weeks (not the current one) and register two of
    them as needs; return how many reports were new. Running it again adds nothing twice."""
    places = _places()
    added = 0
    for weeks_ago in range(WEEKS, 0, -1):
        week = iso_week_label(today - timedelta(weeks=weeks_ago))
        for number in MUNICIPALITIES:
            if service.find_report(number, week, session=session) is not None:
                continue
            figures = _figures(number, weeks_ago)
            for registered, ago, _title, _category in REGISTERED:
                if (registered, ago) == (number, weeks_ago):
                    figures["needs_text"] = NEEDS_TEXTS[0 if number == "0301" else 1]
            data = SituationReportCreate.model_validate(
                {"municipality_number": number, "week": week, **figures}
            )
            service.submit_report(DEMO_REPORTER, data, session=session, places=places)
            added += 1
    for number, ago, title, category in REGISTERED:
        _register(
            number, iso_week_label(today - timedelta(weeks=ago)), title, category, session=session
        )
    return added


def _register(number: str, week: str, title: str, category: str, *, session: Session) -> None:
    report = service.find_report(number, week, session=session)
    ref = f"demo-situation-{number}-{week}"
    if report is None or session.scalar(select(Need.id).where(Need.external_ref == ref)):
        return
    organisation = session.scalars(
        select(Organisation).where(
            Organisation.municipality_number == number,
            Organisation.kind == OrganisationKind.MUNICIPALITY,
        )
    ).first()
    if organisation is None:
        return
    data = NeedCreate(
        external_ref=ref,
        title=title,
        description=report.needs_text,
        category=category,
        municipality_number=number,
        urgency=3,
        affected_groups=["health_personnel", "citizens"],
    )
    need = record_need(
        DEMO_REPORTER,
        data,
        session=session,
        organisation=organisation,
        status=NeedStatus.REGISTERED,
    )
    session.add(SituationReportNeed(report_id=report.id, need_id=need.id))
    session.flush()
