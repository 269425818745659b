"""Portfolio dashboard (outcomes, inputs per week, need coverage, time to first feedback) and
the import page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from korona.portfolio import importer
from korona.portfolio.category import list_categories
from korona.portfolio.intake import service as intake
from korona.portfolio.intake import stats
from korona.portfolio.intake.models import InputKind
from korona.portfolio.need import trend
from korona.portfolio.need.models import NeedStatus
from korona.web import i18n
from korona.web.access import CanInputRead, CanPortfolioImport
from korona.web.charts import DEFAULT_WIDTH, ChartWidth, svg_response, weekly_bars_svg
from korona.web.deps import DbSession
from korona.web.forms import Form, Rejected, attempt, row_errors, uploaded
from korona.web.labels import label
from korona.web.pages.inputs import links
from korona.web.pages.needs import status_colours
from korona.web.templating import category_names, render

router = APIRouter(prefix="/portfolio", include_in_schema=False)

#: The dimensions inputs per week can be stacked by.
CHART_DIMENSIONS = ("kind", "category", "sector")


def _chosen_dimension(request: Request) -> str:
    """Return the dimension ``?by=`` asks to stack inputs per week by (kind if none or unknown)."""
    by = request.query_params.get("by")
    return by if by in CHART_DIMENSIONS else "kind"


def _weeks(items: Sequence[Any], today: date) -> list[str]:
    """Return every week from the first input received to this week."""
    if not items:
        return []
    first = min(item.received_at for item in items).astimezone(UTC).date()
    return stats.week_span(first, today)


@router.get("/dashboard")
def dashboard(request: Request, session: DbSession, principal: CanInputRead) -> Response:
    """Show outcomes, inputs per week, need coverage over time and time to first feedback."""
    items = intake.list_inputs(session=session)
    dimension = _chosen_dimension(request)
    today = date.today()
    context = {
        "weeks": stats.time_to_first_feedback(items),
        "total": len(items),
        "outcomes": stats.outcome_counts(items),
        "received": _received_table(items, dimension, today, session=session),
        "coverage": trend.coverage_by_week(session=session, today=today),
        "need_statuses": list(NeedStatus),
        "by": dimension,
        "dimensions": CHART_DIMENSIONS,
    }
    return render(request, "portfolio/dashboard.html", context)


def _dimension_label(dimension: str, value: str, names: dict[str, str]) -> str:
    if dimension == "kind":
        return label(InputKind(value))
    if dimension == "category":
        return names.get(value, value)
    return i18n.gettext("Public") if value == "public" else i18n.gettext("Private")


def _received_rows(
    items: Sequence[Any], dimension: str, *, session: Session
) -> list[dict[str, Any]]:
    counts = stats.received_counts(items)
    table = {"kind": counts.by_kind, "category": counts.by_category, "sector": counts.by_sector}
    names = category_names(list_categories(session=session))
    return [
        {"week": week, "group": _dimension_label(dimension, value, names), "n": n}
        for (week, value), n in sorted(table[dimension].items())
    ]


def _received_table(
    items: Sequence[Any], dimension: str, today: date, *, session: Session
) -> dict[str, Any]:
    """Return the chart's numbers as a table: groups as columns, one row per week."""
    rows = _received_rows(items, dimension, session=session)
    groups = sorted({row["group"] for row in rows})
    cells = {(row["week"], row["group"]): row["n"] for row in rows}
    weeks = _weeks(items, today)
    return {
        "groups": groups,
        "rows": [(week, [cells.get((week, group), 0) for group in groups]) for week in weeks],
    }


@router.get("/dashboard/chart.svg")
def dashboard_chart(
    request: Request, session: DbSession, principal: CanInputRead, width: ChartWidth = DEFAULT_WIDTH
) -> Response:
    """Draw inputs received per week, stacked by kind, category or sector, as SVG."""
    dimension = _chosen_dimension(request)
    items = intake.list_inputs(session=session)
    short = {week: i18n.format_week(week, short=True) for week in _weeks(items, date.today())}
    rows = [
        {**row, "week": short.get(row["week"], row["week"])}
        for row in _received_rows(items, dimension, session=session)
    ]
    titles = {
        "kind": i18n.gettext("Kind of input"),
        "category": i18n.gettext("Category"),
        "sector": i18n.gettext("Sector"),
    }
    svg = weekly_bars_svg(
        rows,
        weeks=list(short.values()),
        week_title=i18n.gettext("Week received"),
        value_title=i18n.gettext("Number of inputs"),
        stack_title=titles[dimension],
        width=width,
    )
    return svg_response(svg)


@router.get("/dashboard/coverage.svg")
def coverage_chart(
    session: DbSession, principal: CanInputRead, width: ChartWidth = DEFAULT_WIDTH
) -> Response:
    """Draw the needs by status at the end of every week, as SVG."""
    weeks = trend.coverage_by_week(session=session, today=date.today())
    short = [i18n.format_week(week.week, short=True) for week in weeks]
    rows = [
        {"week": name, "group": label(status), "n": n}
        for name, week in zip(short, weeks, strict=True)
        for status, n in week.by_status.items()
        if n
    ]
    svg = weekly_bars_svg(
        rows,
        weeks=short,
        week_title=i18n.gettext("End of week"),
        value_title=i18n.gettext("Number of needs"),
        stack_title=i18n.gettext("Status"),
        colors=status_colours(),
        width=width,
    )
    return svg_response(svg)


def _import_page(
    request: Request, report: Any = None, error: str | None = None, status_code: int = 200
) -> Response:
    errors = row_errors(getattr(report, "errors", []))
    context = {
        "entities": list(importer.ImportEntity),
        "columns": importer.COLUMNS,
        "report": report,
        "errors": errors,
        "error": error,
    }
    return render(request, "portfolio/import.html", context, status_code=status_code)


@router.get("/import")
def import_form(request: Request, principal: CanPortfolioImport) -> Response:
    """Show the import form with the documented columns."""
    return _import_page(request)


@router.post("/import")
def import_upload(
    request: Request, session: DbSession, form: Form, principal: CanPortfolioImport
) -> Response:
    """Import an uploaded file; any bad row imports nothing and is reported row by row."""
    entity, sent = form.get("entity"), uploaded(form)
    if entity not in set(importer.ImportEntity) or sent is None:
        return _import_page(
            request, error=i18n.gettext("Choose what to import and a file"), status_code=422
        )
    filename, content = sent
    if len(content) > importer.MAX_FILE_BYTES:
        return _import_page(
            request, error=i18n.gettext("The file is larger than 20 MB"), status_code=413
        )

    def run_import() -> importer.ImportReport:
        try:
            return importer.import_file(
                principal,
                importer.ImportEntity(str(entity)),
                filename,
                content,
                session=session,
                links=links(request),
                send_receipts=form.get("send_receipts") == "1",
            )
        except importer.ImportRejected as rejected:
            return rejected.report  # attempt() rolls back a report that is not ok

    outcome = attempt(run_import, session=session, keep=lambda report: report.ok)
    if isinstance(outcome, Rejected):
        return _import_page(request, error=outcome.message, status_code=outcome.status_code)
    if not outcome.ok:
        return _import_page(request, report=outcome, status_code=422)
    return _import_page(request, report=outcome)
