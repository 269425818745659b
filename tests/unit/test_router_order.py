"""The app's routers are ordered by traffic; that is safe only while no two claim one path."""

from __future__ import annotations

import re

from starlette.routing import Match

from korona.app import ROUTERS


def test_no_path_is_claimed_by_two_routers() -> None:
    """Every route's path (with sample values) is matched by routes of its own router only."""
    shared = []
    for router in ROUTERS:
        for route in router.routes:
            for sample in ("1", "abc"):
                path = re.sub(r"\{[^}]+\}", sample, route.path)  # type: ignore[attr-defined]
                for method in route.methods:  # type: ignore[attr-defined]
                    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
                    claimants = {
                        index
                        for index, other_router in enumerate(ROUTERS)
                        for other in other_router.routes
                        if other.matches(scope)[0] == Match.FULL
                    }
                    if claimants != {ROUTERS.index(router)}:
                        shared.append(f"{method} {path}")
    assert shared == []
