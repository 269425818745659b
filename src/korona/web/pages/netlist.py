"""The public net list (nettoliste): newest published version, any published version, downloads."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from korona import tabular
from korona.errors import NotFound
from korona.portfolio.netlist import documents, publication
from korona.validation import RowId
from korona.web import i18n
from korona.web.access import CanPublic
from korona.web.deps import DbSession
from korona.web.exports import download
from korona.web.templating import render

router = APIRouter(prefix="/netlist", include_in_schema=False)

MEDIA_TYPES = {
    "csv": tabular.CSV_MEDIA_TYPE,
    "xlsx": tabular.XLSX_MEDIA_TYPE,
    "pdf": "application/pdf",
}


@router.get("")
def newest_netlist(request: Request, session: DbSession, principal: CanPublic) -> Response:
    """Show the newest published net list (or say that none is published yet)."""
    try:
        version = publication.latest_published(session=session)
    except NotFound:
        return render(request, "netlist/public.html", {"view": None, "numbers": []})
    return _page(request, session, version.number)


def _page(request: Request, session: DbSession, number: int) -> Response:
    version = publication.get_by_number(number, session=session, published_only=True)
    context = {
        "view": publication.public_view(version, session=session),
        "numbers": publication.published_numbers(session=session),
    }
    return render(request, "netlist/public.html", context)


@router.get("/versions/{number}.{fmt}")
def download_netlist(
    number: RowId, fmt: Literal["pdf", "csv", "xlsx"], session: DbSession, principal: CanPublic
) -> Response:
    """Download a published version as PDF, CSV or XLSX, in the reader's language."""
    version = publication.get_by_number(number, session=session, published_only=True)
    view = publication.public_view(version, session=session)
    language = i18n.current_language.get()
    render_as = {"pdf": documents.to_pdf, "csv": documents.to_csv, "xlsx": documents.to_xlsx}
    return download(render_as[fmt](view, language), MEDIA_TYPES[fmt], f"nettoliste-v{number}.{fmt}")


@router.get("/versions/{number}")
def netlist_version(
    number: RowId, request: Request, session: DbSession, principal: CanPublic
) -> Response:
    """Show one published version with what changed from the one before."""
    return _page(request, session, number)
