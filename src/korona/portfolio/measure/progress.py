"""The progress overview (fremdriftstatus) per national programme and the needs coverage view."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.portfolio.intake.models import Input, InputNeed, InputStatus
from korona.portfolio.measure.models import (
    Measure,
    MeasureNeed,
    MeasureStatus,
    Milestone,
    Programme,
    ProgressReport,
    Rag,
)
from korona.portfolio.need.models import Need, NeedStatus, Urgency
from korona.portfolio.solution.models import Solution

#: Needs this urgent or more stand out when nothing covers them.
URGENT = Urgency.WITHIN_MONTH


@dataclass(frozen=True)
class ProgrammeProgress:
    """The measures of one national programme (or of none) and their latest RAG."""

    programme: Programme | None
    measures: list[Measure]
    by_status: dict[MeasureStatus, int]
    by_rag: dict[Rag | None, int]

    @property
    def name(self) -> str:
        """Return the programme's name ("" for measures without one)."""
        return self.programme.name if self.programme else ""


@dataclass(frozen=True)
class ProgressOverview:
    """The whole portfolio's progress: per programme, and totals."""

    programmes: list[ProgrammeProgress]
    by_status: dict[MeasureStatus, int]
    by_rag: dict[Rag | None, int]
    milestones: list[tuple[Measure, Milestone]]
    reports: list[tuple[Measure, ProgressReport]]


def _latest_rag(measure: Measure) -> Rag | None:
    report = measure.latest_report
    return report.rag if report else None


def _counts(measures: Sequence[Measure]) -> tuple[dict[MeasureStatus, int], dict[Rag | None, int]]:
    by_status = Counter(measure.status for measure in measures)
    by_rag = Counter(
        _latest_rag(measure) for measure in measures if measure.status != MeasureStatus.STOPPED
    )
    return (
        {status: by_status.get(status, 0) for status in MeasureStatus},
        {rag: by_rag.get(rag, 0) for rag in [*Rag, None]},
    )


def progress_overview(*, session: Session, programme_id: int | None = None) -> ProgressOverview:
    """Return the progress overview of every programme, or of one."""
    statement = select(Measure).order_by(Measure.title, Measure.id)
    if programme_id is not None:
        statement = statement.where(Measure.programme_id == programme_id)
    measures = list(session.scalars(statement).all())
    groups: dict[int | None, list[Measure]] = {}
    for measure in measures:
        groups.setdefault(measure.programme_id, []).append(measure)
    programmes = {programme.id: programme for programme in session.scalars(select(Programme))}
    rows = []
    for key in sorted(groups, key=lambda k: (k is None, programmes[k].name if k else "")):
        by_status, by_rag = _counts(groups[key])
        rows.append(
            ProgrammeProgress(programmes.get(key) if key else None, groups[key], by_status, by_rag)
        )
    by_status, by_rag = _counts(measures)
    milestones = sorted(
        ((measure, milestone) for measure in measures for milestone in measure.milestones),
        key=lambda pair: (pair[1].planned_date, pair[0].title),
    )
    reports = sorted(
        ((measure, report) for measure in measures for report in measure.reports),
        key=lambda pair: (pair[1].reported_at, pair[0].title),
    )
    return ProgressOverview(rows, by_status, by_rag, milestones, reports)


@dataclass
class NeedCoverage:
    """What covers one need: measures and existing solutions, with their status."""

    need: Need
    measures: list[Measure] = field(default_factory=list)
    solutions: list[Solution] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        """Return whether anything (not stopped) covers the need."""
        return bool(self.solutions) or any(
            measure.status != MeasureStatus.STOPPED for measure in self.measures
        )

    @property
    def urgent_uncovered(self) -> bool:
        """Return whether an urgent need has nothing covering it (it must stand out)."""
        return self.need.urgency >= URGENT and not self.covered


def needs_coverage(*, session: Session) -> list[NeedCoverage]:
    """Return every need still in play with what covers it; urgent uncovered needs first."""
    needs = session.scalars(
        select(Need).where(Need.status != NeedStatus.EXPIRED).order_by(Need.id)
    ).all()
    rows = {need.id: NeedCoverage(need) for need in needs}
    links = session.execute(
        select(MeasureNeed.need_id, Measure)
        .join(Measure, Measure.id == MeasureNeed.measure_id)
        .order_by(Measure.title)
    ).all()
    for need_id, measure in links:
        if need_id in rows:
            rows[need_id].measures.append(measure)
    covered_by = session.execute(
        select(InputNeed.need_id, Solution)
        .join(Input, Input.id == InputNeed.input_id)
        .join(Solution, Solution.id == Input.covered_by_id)
        .where(Input.status == InputStatus.COVERED)
        .order_by(Solution.name)
    ).all()
    for need_id, solution in covered_by:
        if need_id in rows and solution not in rows[need_id].solutions:
            rows[need_id].solutions.append(solution)
    return sorted(
        rows.values(),
        key=lambda row: (not row.urgent_uncovered, -row.need.urgency, row.need.id),
    )
