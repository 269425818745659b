"""Progress status (fremdriftstatus) per national programme, its charts, and needs coverage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from korona.portfolio.measure import charts, progress, service
from korona.portfolio.measure.models import MeasureStatus, Rag
from korona.validation import RowId
from korona.web import i18n
from korona.web.access import CanMeasureRead
from korona.web.charts import svg_response
from korona.web.deps import DbSession
from korona.web.labels import label
from korona.web.templating import render

router = APIRouter(include_in_schema=False)
#: The programme to narrow to (all when absent).
Programme = Annotated[RowId | None, Query()]


@router.get("/progress")
def progress_page(
    request: Request,
    session: DbSession,
    principal: CanMeasureRead,
    programme: Programme = None,
) -> Response:
    """Show the progress status for the whole portfolio, or for one national programme."""
    overview = progress.progress_overview(session=session, programme_id=programme)
    context = {
        "overview": overview,
        "programmes": service.list_programmes(session=session),
        "chosen": programme,
        "statuses": list(MeasureStatus),
        "rags": list(Rag),
    }
    return render(request, "measures/progress.html", context)


@router.get("/progress/milestones.svg")
def milestones_chart(
    session: DbSession, principal: CanMeasureRead, programme: Programme = None
) -> Response:
    """Return the milestone timeline (planned vs. done) as SVG."""
    milestones = progress.progress_overview(session=session, programme_id=programme).milestones
    chart = charts.milestone_timeline(
        milestones,
        planned_label=i18n.gettext("Planned"),
        done_label=i18n.gettext("Done"),
        measure_title=i18n.gettext("Measure"),
        date_title=i18n.gettext("Date"),
        kind_title=i18n.gettext("Milestone"),
    )
    return svg_response(charts.to_svg(chart))


@router.get("/progress/rag.svg")
def rag_chart(
    session: DbSession, principal: CanMeasureRead, programme: Programme = None
) -> Response:
    """Return the RAG history of the progress reports as SVG."""
    reports = progress.progress_overview(session=session, programme_id=programme).reports
    chart = charts.rag_history(
        reports,
        rag_labels={rag: label(rag) for rag in Rag},
        measure_title=i18n.gettext("Measure"),
        date_title=i18n.gettext("Date"),
        rag_title=i18n.gettext("Status (RAG)"),
    )
    return svg_response(charts.to_svg(chart))


@router.get("/coverage")
def coverage_page(request: Request, session: DbSession, principal: CanMeasureRead) -> Response:
    """Show, for every need, the measures and existing solutions that cover it."""
    rows = progress.needs_coverage(session=session)
    context = {"rows": rows, "urgent_count": sum(row.urgent_uncovered for row in rows)}
    return render(request, "measures/coverage.html", context)
