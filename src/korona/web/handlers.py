"""The one shape of a page's form handler: run the service, redraw the form or redirect."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from korona.web.forms import Rejected, attempt

T = TypeVar("T")

#: Draws the page again with the refused form's errors and status.
Redraw = Callable[[Rejected], Response]


def see_other(url: str) -> RedirectResponse:
    """Return the redirect after a successful post (303, so a reload does not post again)."""
    return RedirectResponse(url, status_code=303)


def submit(
    session: Session,
    action: Callable[[], T],
    *,
    redraw: Redraw,
    done: str | Callable[[T], str],
    field: str = "form",
) -> Response:
    """Run a form's service call: redraw the page if it was refused, else redirect.

    ``done`` is where to go afterwards, or builds that address from the service's result
    (the new entity's page). A refusal has already been undone by :func:`attempt`.
    """
    outcome = attempt(session, action, field=field)
    if isinstance(outcome, Rejected):
        return redraw(outcome)
    return see_other(done(outcome) if callable(done) else done)
