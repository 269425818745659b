"""The one shape of a page's form handler: run the service, redraw the form or redirect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from korona.auth.permissions import Principal
from korona.web.deps import SESSION_COOKIE
from korona.web.forms import NO_ERRORS, Rejected, attempt
from korona.web.templating import render

T = TypeVar("T")

#: Draws the page again with the refused form's errors and status.
Redraw = Callable[[Rejected], Response]
#: Draws one entity's page: ``draw(request, session, principal, entity_id, rejected)``.
EntityPage = Callable[[Request, Session, Principal, int, Rejected], Response]


class EntityCall(Protocol):
    """A service call on one entity: ``call(principal, entity_id, data, session=session)``."""

    def __call__(
        self, principal: Principal, entity_id: int, data: Any, /, *, session: Session
    ) -> object: ...


def form_page(
    request: Request, template: str, context: dict[str, Any], rejected: Rejected = NO_ERRORS
) -> Response:
    """Draw a page that holds forms, with the refused form's errors and status (none and 200
    when it is drawn for a plain GET)."""
    context = {**context, "errors": rejected.errors}
    return render(request, template, context, status_code=rejected.status_code)


def see_other(url: str) -> RedirectResponse:
    """Return the redirect after a successful post (303, so a reload does not post again)."""
    return RedirectResponse(url, status_code=303)


def signed_out(url: str) -> RedirectResponse:
    """Return the redirect after a post that ended the browser's session (logging out, a new
    password): the session cookie is deleted with it."""
    response = see_other(url)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def submit(
    action: Callable[[], T],
    *,
    session: Session,
    redraw: Redraw,
    done: str | Callable[[T], str],
    field: str = "form",
) -> Response:
    """Run a form's service call: redraw the page if it was refused, else redirect.

    ``done`` is where to go afterwards, or builds that address from the service's result
    (the new entity's page). A refusal has already been undone by :func:`attempt`.
    """
    outcome = attempt(action, session=session, field=field)
    if isinstance(outcome, Rejected):
        return redraw(outcome)
    return see_other(done(outcome) if callable(done) else done)


@dataclass(frozen=True)
class EntityForms:
    """The forms on one entity's page (a meeting, a measure): each posts, and a refusal draws
    that page again with the errors; success goes back to it (or to ``done``)."""

    session: Session
    principal: Principal
    entity_id: int
    redraw: Redraw
    back: str

    @classmethod
    def on_page(
        cls,
        request: Request,
        session: Session,
        principal: Principal,
        entity_id: int,
        *,
        draw: EntityPage,
        back: str,
    ) -> EntityForms:
        """Return the forms on the page ``draw`` draws for this entity: a refusal draws it
        again with the errors."""
        return cls(
            session,
            principal,
            entity_id,
            redraw=lambda rejected: draw(request, session, principal, entity_id, rejected),
            back=back,
        )

    def post(self, field: str, action: Callable[[], object], done: str | None = None) -> Response:
        """Run one form's service call; ``field`` names where errors without a field go."""
        return submit(
            action, session=self.session, field=field, redraw=self.redraw, done=done or self.back
        )

    def save(
        self,
        field: str,
        call: EntityCall,
        model: type[BaseModel],
        values: dict[str, Any],
    ) -> Response:
        """Validate the form's values as ``model`` and hand them to ``call`` for this entity,
        as ``call(principal, entity_id, data, session=session)``."""
        return self.post(
            field,
            lambda: call(
                self.principal, self.entity_id, model.model_validate(values), session=self.session
            ),
        )
