"""Portfolio dashboard (time to first feedback, inputs per week) and the import page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import vl_convert as vlc
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from korona.auth.permissions import Permission, Principal
from korona.errors import DomainError
from korona.portfolio import importer
from korona.portfolio.category import list_categories
from korona.portfolio.intake import service as intake
from korona.portfolio.intake import stats
from korona.portfolio.intake.models import InputKind
from korona.web import i18n
from korona.web.charts import PALETTE
from korona.web.deps import DbSession, require
from korona.web.forms import Form, Rejected, attempt
from korona.web.labels import label, translate_error
from korona.web.pages.inputs import links
from korona.web.templating import render

router = APIRouter(prefix="/portfolio", include_in_schema=False)

#: The dimensions inputs per week can be stacked by.
CHART_DIMENSIONS = ("kind", "category", "sector")


@router.get("/dashboard")
def dashboard(
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.INPUT_READ)),
) -> Response:
    """Show time to first feedback by week and inputs received per week."""
    items = intake.list_inputs(session)
    by = request.query_params.get("by")
    context = {
        "weeks": stats.time_to_first_feedback(items),
        "total": len(items),
        "by": by if by in CHART_DIMENSIONS else "kind",
        "dimensions": CHART_DIMENSIONS,
    }
    return render(request, "portfolio/dashboard.html", context)


def _dimension_label(dimension: str, value: str, names: dict[str, str]) -> str:
    if dimension == "kind":
        return label(InputKind(value))
    if dimension == "category":
        return names.get(value, value)
    return i18n.gettext("Public") if value == "public" else i18n.gettext("Private")


@router.get("/dashboard/chart.svg")
def dashboard_chart(
    request: Request,
    session: DbSession,
    principal: Principal = Depends(require(Permission.INPUT_READ)),
) -> Response:
    """Draw inputs received per week, stacked by kind, category or sector, as SVG."""
    by = request.query_params.get("by")
    dimension = by if by in CHART_DIMENSIONS else "kind"
    counts = stats.received_counts(intake.list_inputs(session))
    table = {"kind": counts.by_kind, "category": counts.by_category, "sector": counts.by_sector}
    language = i18n.current_language.get()
    names = {category.code: category.name(language) for category in list_categories(session)}
    rows = [
        {"week": week, "group": _dimension_label(dimension, value, names), "n": n}
        for (week, value), n in sorted(table[dimension].items())
    ]
    titles = {
        "kind": i18n.gettext("Kind of input"),
        "category": i18n.gettext("Category"),
        "sector": i18n.gettext("Sector"),
    }
    svg = weekly_bars_svg(rows, stack_title=titles[dimension])
    return Response(svg, media_type="image/svg+xml")


def weekly_bars_svg(rows: Sequence[dict[str, Any]], *, stack_title: str) -> str:
    """Return vertical stacked bars per ISO week, weeks in time order (not by size), as SVG."""
    chart = (
        alt.Chart(alt.Data(values=list(rows)))
        .mark_bar()
        .encode(
            x=alt.X("week:O", title=i18n.gettext("Week received"), sort="ascending"),
            y=alt.Y(
                "sum(n):Q", title=i18n.gettext("Number of inputs"), axis=alt.Axis(tickMinStep=1)
            ),
            color=alt.Color(
                "group:N",
                title=stack_title,
                scale=alt.Scale(range=PALETTE),
                legend=alt.Legend(orient="bottom", columns=3),
            ),
            tooltip=["week:O", "group:N", "sum(n):Q"],
        )
        .properties(width=alt.Step(28), height=260)
        .configure_axis(labelFontSize=12, titleFontSize=13, labelLimit=260)
        .configure_legend(labelFontSize=12, titleFontSize=13, labelLimit=260)
        .configure_view(strokeWidth=0)
    )
    return str(vlc.vegalite_to_svg(chart.to_dict()))


def _import_page(
    request: Request, report: Any = None, error: str | None = None, status_code: int = 200
) -> Response:
    errors = [
        (item.row or "–", item.column, _row_error_text(item))
        for item in getattr(report, "errors", [])
    ]
    context = {
        "entities": list(importer.ImportEntity),
        "columns": importer.COLUMNS,
        "report": report,
        "errors": errors,
        "error": error,
    }
    return render(request, "portfolio/import.html", context, status_code=status_code)


def _row_error_text(item: importer.RowError) -> str:
    if item.detail is not None:
        return i18n.translate_validation_error(item.detail)
    return translate_error(DomainError(item.message, **item.params))


@router.get("/import")
def import_form(
    request: Request,
    principal: Principal = Depends(require(Permission.PORTFOLIO_IMPORT)),
) -> Response:
    """Show the import form with the documented columns."""
    return _import_page(request)


@router.post("/import")
def import_upload(
    request: Request,
    session: DbSession,
    form: Form,
    principal: Principal = Depends(require(Permission.PORTFOLIO_IMPORT)),
) -> Response:
    """Import an uploaded file; any bad row imports nothing and is reported row by row."""
    entity, upload = form.get("entity"), form.get("file")
    if entity not in set(importer.ImportEntity) or not isinstance(upload, UploadFile):
        return _import_page(
            request, error=i18n.gettext("Choose what to import and a file"), status_code=422
        )
    upload.file.seek(0)
    content = upload.file.read(importer.MAX_FILE_BYTES + 1)
    if len(content) > importer.MAX_FILE_BYTES:
        return _import_page(
            request, error=i18n.gettext("The file is larger than 20 MB"), status_code=413
        )

    def run_import() -> importer.ImportReport:
        try:
            return importer.import_file(
                session,
                principal,
                importer.ImportEntity(str(entity)),
                upload.filename or "",
                content,
                links=links(request),
                send_receipts=form.get("send_receipts") == "1",
            )
        except importer.ImportRejected as rejected:
            return rejected.report  # attempt() rolls back a report that is not ok

    outcome = attempt(session, run_import, keep=lambda report: report.ok)
    if isinstance(outcome, Rejected):
        return _import_page(request, error=outcome.message, status_code=outcome.status_code)
    if not outcome.ok:
        return _import_page(request, report=outcome, status_code=422)
    return _import_page(request, report=outcome)
