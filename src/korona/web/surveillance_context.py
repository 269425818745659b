"""How the web app reaches the surveillance store: one reader per app, built from its settings."""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request

from korona.auth.permissions import Permission, Principal
from korona.errors import N_, NotFound
from korona.surveillance.geo import LocationLevel
from korona.surveillance.location_view import (
    Location,
    LocationView,
    SurveillanceReader,
    UnknownLocation,
)
from korona.surveillance.store import SurveillanceStore
from korona.web.deps import get_settings

__all__ = ["UNKNOWN_LOCATION", "Detail", "Reader", "detail_for", "get_reader", "view_for"]

_LOCK = threading.Lock()


def get_reader(request: Request) -> SurveillanceReader:
    """Return the app's surveillance reader (store at ``Settings.surveillance_dir``, reference
    data at ``Settings.reference_dir``), built on first use and kept on the app: it caches
    location views per store generation, so every request shares one cache."""
    state = request.app.state
    reader: SurveillanceReader | None = getattr(state, "surveillance_reader", None)
    if reader is None:
        with _LOCK:
            reader = getattr(state, "surveillance_reader", None)
            if reader is None:
                settings = get_settings(request)
                reader = SurveillanceReader(
                    SurveillanceStore(settings.surveillance_dir), settings.reference_dir
                )
                state.surveillance_reader = reader
    return reader


Reader = Annotated[SurveillanceReader, Depends(get_reader)]


class Detail(StrEnum):
    """How much of a location's figures a principal may see."""

    FULL = "full"  # every count
    PUBLIC = "public"  # counts 1–4 hidden, and what would give them back


def detail_for(reader: SurveillanceReader, principal: Principal, location: Location) -> Detail:
    """Return what ``principal`` may see of ``location``.

    The public sees suppressed figures only. Every logged-in user sees the nation and the
    counties in full. Municipalities in full: municipal doctors, for their own municipality
    and its neighbours; everyone else sees them as the public does.
    """
    if not principal.is_authenticated:
        return Detail.PUBLIC
    if location.level is not LocationLevel.MUNICIPALITY:
        return Detail.FULL
    own = principal.municipality_number
    if own is None or not principal.can(Permission.SURVEILLANCE_DETAIL):
        return Detail.PUBLIC
    near = {n.number for n in reader.neighbours_of(location)}
    return Detail.FULL if own == location.number or own in near else Detail.PUBLIC


def view_for(
    reader: SurveillanceReader, principal: Principal, code: str
) -> tuple[LocationView, Detail]:
    """Return the view of ``code`` that ``principal`` may see; NotFound for unknown codes."""
    try:
        location = reader.location(code)
    except UnknownLocation:
        raise NotFound(UNKNOWN_LOCATION, code=code) from None
    detail = detail_for(reader, principal, location)
    view = reader.view(code) if detail is Detail.FULL else reader.public_view(code)
    return view, detail


#: The message of a bad location code (the UI shows it translated).
UNKNOWN_LOCATION = N_(
    "Unknown location {code}: use norge, a county (county46) or a municipality "
    "(municip4601), at 2020 borders"
)
