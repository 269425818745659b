"""Prioritisation pages (prioritering): ranking, the exact proposal, pins, sensitivity, drafts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from korona.errors import N_, InvalidInput
from korona.portfolio import scoring
from korona.portfolio.assessment import prioritisation
from korona.portfolio.assessment.schemas import PinIn, Proposal
from korona.portfolio.netlist import drafts
from korona.validation import RowId, parse_row_id, row_id_or_none
from korona.web import i18n
from korona.web.access import CanAssessmentRead, CanPrioritisationManage
from korona.web.charts import probability_bar_svg, svg_response
from korona.web.deps import DbSession
from korona.web.forms import NO_ERRORS, Form, Rejected, text
from korona.web.handlers import form_page, submit
from korona.web.labels import label
from korona.web.pages.assessment_setup import weights_table
from korona.web.templating import render

router = APIRouter(prefix="/prioritisation", include_in_schema=False)

#: The sensitivity charts' colours: in the proposal, left out of it.
CHOSEN_COLOUR, LEFT_OUT_COLOUR = "#1e7a46", "#6b7785"

#: A candidate chosen in at least this share of the weight draws is shown as stable.
STABLE = 0.9


def _context(proposal: Proposal) -> dict[str, Any]:
    return {
        "proposal": proposal,
        **weights_table(proposal.weights),
        "ranked": sorted(
            proposal.items, key=lambda i: (-i.candidate.breakdown.priority, i.candidate.input_id)
        ),
        "chosen_items": proposal.chosen_items(),
        "stable": STABLE,
    }


def _page(
    request: Request,
    session: Session,
    rejected: Rejected = NO_ERRORS,
    failed: int | None = None,
) -> Response:
    context = _context(prioritisation.propose(session=session)) | {"failed": failed}
    return form_page(request, "assessment/prioritisation.html", context, rejected)


@router.get("")
def prioritisation_page(
    request: Request, session: DbSession, principal: CanAssessmentRead
) -> Response:
    """Show the ranking with the weights beside it and the proposal solved exactly."""
    return _page(request, session)


@router.get("/sensitivity.svg")
def sensitivity_chart(session: DbSession, principal: CanAssessmentRead) -> Response:
    """Draw each candidate's probability of being in the proposed list under weight draws."""
    proposal = prioritisation.propose(session=session)
    chosen, left_out = i18n.gettext("In the proposal"), i18n.gettext("Not in the proposal")
    rows = [
        _bar(
            f"{item.candidate.reference} {item.candidate.title[:28]}",
            item.probability,
            chosen if item.chosen else left_out,
        )
        for item in sorted(proposal.items, key=lambda i: -(i.probability or 0.0))
    ]
    return _probability_chart(rows, {chosen: CHOSEN_COLOUR, left_out: LEFT_OUT_COLOUR})


def _bar(name: str, probability: float | None, status: str) -> dict[str, Any]:
    """One input's bar: its name, its probability of being in the list, in or out."""
    return {"input": name, "probability": round(probability or 0.0, 3), "status": status}


def _probability_chart(
    rows: list[dict[str, Any]], colours: dict[str, str], *, sort: bool = True
) -> Response:
    """Draw each input's probability of being in the list, coloured by in or out, as SVG."""
    svg = probability_bar_svg(
        rows,
        category="input",
        value="probability",
        colour="status",
        category_title=i18n.gettext("Input"),
        value_title=i18n.gettext("Probability of being in the list"),
        colour_title=i18n.gettext("Proposal"),
        colours=colours,
        sort=sort,
    )
    return svg_response(svg)


@router.post("/pins")
def pin(
    request: Request, session: DbSession, form: Form, principal: CanPrioritisationManage
) -> Response:
    """Pin an input into or out of the proposal with a reason (or clear the pin); re-solve."""
    values = {"pin": text(form, "pin") or None, "reason": text(form, "reason")}
    raw_id = text(form, "input_id")

    def act() -> int:
        data = PinIn.model_validate(values)
        if not raw_id:
            raise InvalidInput(N_("Choose the input"), field="input_id")
        input_id = parse_row_id(raw_id, field="input_id")
        prioritisation.set_pin(principal, input_id, data, session=session)
        return input_id

    failed = row_id_or_none(raw_id)
    return submit(
        act,
        session=session,
        redraw=lambda rejected: _page(request, session, rejected, failed),
        done=lambda input_id: f"/prioritisation?pinned={input_id}#candidate-{input_id}",
    )


@router.post("/drafts")
def create_draft(
    request: Request, session: DbSession, principal: CanPrioritisationManage
) -> Response:
    """Create a draft net list from the proposal as it is solved now."""
    return submit(
        lambda: drafts.create_draft(
            principal, prioritisation.propose(session=session), session=session
        ),
        session=session,
        redraw=lambda rejected: _page(request, session, rejected),
        done=lambda version: f"/prioritisation/drafts/{version.id}",
    )


@router.get("/drafts")
def draft_list(request: Request, session: DbSession, principal: CanAssessmentRead) -> Response:
    """List the net-list versions drafted from proposals."""
    return render(
        request, "assessment/drafts.html", {"versions": drafts.list_versions(session=session)}
    )


@router.get("/drafts/{version_id}")
def draft_page(
    version_id: RowId, request: Request, session: DbSession, principal: CanAssessmentRead
) -> Response:
    """Show a draft net list: the chosen inputs in order with P, its parts and stability."""
    version = drafts.get_version(version_id, session=session)
    return render(
        request,
        "assessment/draft.html",
        {
            "version": version,
            "stable": STABLE,
            "criterion_labels": {c.value: label(c) for c in scoring.CRITERIA},
        },
    )


@router.get("/drafts/{version_id}/sensitivity.svg")
def draft_chart(version_id: RowId, session: DbSession, principal: CanAssessmentRead) -> Response:
    """Draw the stored probability of each input of a draft net list."""
    version = drafts.get_version(version_id, session=session)
    chosen = i18n.gettext("In the proposal")
    rows = [
        _bar(f"{i.position}. {i.input.reference} {i.input.title[:28]}", i.probability, chosen)
        for i in version.items
    ]
    return _probability_chart(rows, {chosen: CHOSEN_COLOUR}, sort=False)
