"""How the web app reaches the surveillance store: one reader per app, built from its settings."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from korona.surveillance.location_view import SurveillanceReader
from korona.surveillance.store import SurveillanceStore
from korona.web.deps import get_settings

__all__ = ["Reader", "get_reader"]

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
