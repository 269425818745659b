"""Demo of surveillance e-mail: the demo doctor's subscriptions and the latest week's report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.auth.models import User
from korona.auth.permissions import principal_for
from korona.config import Settings
from korona.surveillance.calendar import Frequency, iso_week_label
from korona.surveillance.geo import load_geography
from korona.surveillance.store import SurveillanceStore
from korona.surveillance_mail import service
from korona.surveillance_mail.models import SubscriptionKind
from korona.surveillance_mail.sending import queue_report, report_request, weekly_renderer

DEMO_DOCTOR = "kommunelege@demo.korona.no"
#: Besides Bergen (followed automatically): the neighbour Askøy, and Vestland county.
DEMO_FOLLOWS = (
    ("municip4627", (SubscriptionKind.WEEKLY_REPORT,)),
    ("county46", (SubscriptionKind.WEEKLY_REPORT, SubscriptionKind.ALERTS)),
)


@dataclass(frozen=True)
class ReportDemo:
    """What the report demo did: the week reported, whether the store had figures for it."""

    week: str
    from_store: bool
    queued: bool


def latest_week(store: SurveillanceStore, today: dt.date) -> tuple[str, bool]:
    """Return the latest week with results or cases in the store (True), or last week (False)."""
    for frame in (store.results("sykdomspulsen", Frequency.WEEKLY), store.cases(Frequency.WEEKLY)):
        if frame.collect_schema().len() and "date" in frame.collect_schema().names():
            latest = frame.select(pl.col("date").max()).collect().item()
            if latest is not None:
                return iso_week_label(latest), True
    return iso_week_label(today - dt.timedelta(weeks=1)), False


def load_report_demo(settings: Settings, *, session: Session, today: dt.date) -> ReportDemo | None:
    """Subscribe the demo doctor and queue their report for the latest week in the store.

    Idempotent: following is a no-op when already followed, and the report is queued once per
    week by its unique key. With an empty store the report shows dashes; the surveillance demo
    store, when loaded first, fills it.
    """
    doctor = session.scalar(select(User).where(User.email == DEMO_DOCTOR))
    if doctor is None:
        return None
    # As if the doctor chose them on the account page (the audit log names the doctor).
    chooser = principal_for(doctor)
    known = set(load_geography(settings.reference_dir).location_codes)
    for code, kinds in DEMO_FOLLOWS:
        if {(f.location_code, f.kind) for f in service.followed(doctor, session=session)} >= {
            (code, kind) for kind in kinds
        }:
            continue
        service.follow(chooser, doctor.id, code, kinds, session=session, known=known)
    week, from_store = latest_week(SurveillanceStore(settings.surveillance_dir), today)
    (subscriber,) = [s for s in service.subscribers(session=session) if s.user_id == doctor.id]
    request = report_request(settings, subscriber)
    # The store is read only when the week's report is new (the unique key was free).
    queued = queue_report(
        subscriber,
        week,
        request,
        lambda r: weekly_renderer(settings, week).render(r),
        session=session,
    )
    return ReportDemo(week=week, from_store=from_store, queued=queued)
