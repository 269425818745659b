"""Triage pages for the portfolio office: queue with matches, single and bulk actions, letters."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from korona.auth.permissions import Principal
from korona.errors import N_, InvalidInput
from korona.portfolio.assessment import groups as working_groups
from korona.portfolio.intake import letters, workflow
from korona.portfolio.intake import service as intake
from korona.portfolio.intake import triage_queue as queue
from korona.portfolio.intake.models import Input, LetterKind
from korona.portfolio.need import service as need_service
from korona.portfolio.solution import service as solution_service
from korona.validation import RowId, parse_row_id, row_id_or_none
from korona.web.access import CanInputTriage
from korona.web.deps import DbSession
from korona.web.forms import NO_ERRORS, Form, ListQuery, Page, Rejected, row_ids, text
from korona.web.handlers import form_page, see_other, submit
from korona.web.pages.inputs import detail_context, links, match_index

router = APIRouter(prefix="/triage", include_in_schema=False)

SUGGESTIONS_PER_KIND = 1


def _form_values(form: FormData) -> dict[str, Any]:
    return {
        "action": text(form, "action"),
        "solution_id": text(form, "solution_id"),
        "duplicate_of": text(form, "duplicate_of"),
        "working_group_id": text(form, "working_group_id"),
        "reason": text(form, "reason"),
        "need_ids": row_ids(form, "need_ids"),
        "input_ids": row_ids(form, "input_ids"),
    }


def _request(values: dict[str, Any], *, session: Session) -> workflow.TriageRequest:
    """Turn the action form into a triage request, or raise with the field at fault."""
    if values["action"] not in set(workflow.TriageAction):
        raise InvalidInput(N_("Choose an action"), field="action")
    action = workflow.TriageAction(values["action"])
    duplicate_of_id = None
    if action == workflow.TriageAction.DUPLICATE:
        if not values["duplicate_of"]:
            raise InvalidInput(N_("Choose the input to keep"), field="duplicate_of_id")
        duplicate_of_id = intake.find_by_reference(values["duplicate_of"], session=session).id
    solution, group = values["solution_id"], values["working_group_id"]
    return workflow.TriageRequest(
        action=action,
        need_ids=tuple(parse_row_id(v, field="need_ids") for v in values["need_ids"]),
        solution_id=parse_row_id(solution, field="solution_id") if solution else None,
        duplicate_of_id=duplicate_of_id,
        working_group_id=parse_row_id(group, field="working_group_id") if group else None,
        reason=values["reason"],
    )


def _apply(
    request: Request,
    principal: Principal,
    input_ids: list[int],
    values: dict[str, Any],
    *,
    session: Session,
) -> list[Input]:
    """Apply the action form's triage request to the inputs; the submitters get the letters."""
    triage = _request(values, session=session)
    return workflow.apply(principal, input_ids, triage, links(request), session=session)


def _merge_done(request: Request, *, session: Session) -> tuple[Any, list[Any]] | None:
    """Return (kept, merged inputs) named in the query after a merge, to say what happened."""
    kept_id = request.query_params.get("kept", "")
    merged_ids = request.query_params.get("merged", "").split(",")
    kept_row = row_id_or_none(kept_id)
    if kept_row is None:
        return None
    wanted = [row for row in map(row_id_or_none, merged_ids[:500]) if row is not None]
    kept = session.get(Input, kept_row)
    merged = [item for item in (session.get(Input, v) for v in wanted) if item is not None]
    return (kept, merged) if kept is not None and merged else None


def _queue_page(
    request: Request,
    session: Session,
    query: ListQuery,
    values: dict[str, Any],
    rejected: Rejected = NO_ERRORS,
) -> Response:
    index = match_index(request)
    page = Page.fetch(query, partial(queue.page_queue, session=session))
    context = {
        "items": page.items,
        "page": page,
        "suggestions": queue.suggestions(index, page.items, per_kind=SUGGESTIONS_PER_KIND),
        "solutions": solution_service.list_solutions(session=session),
        "needs": need_service.need_titles(session=session),
        "working_groups": working_groups.list_groups(session=session),
        "values": values,
        "selected": set(values.get("input_ids", [])),
        "merge_done": _merge_done(request, session=session),
        "keep_choices": queue.queue_choices(session=session),
    }
    return form_page(request, "triage/queue.html", context, rejected)


@router.get("")
def triage_queue(
    request: Request,
    session: DbSession,
    query: Annotated[ListQuery, Query()],
    principal: CanInputTriage,
) -> Response:
    """Show a page of the queue of new inputs, their best matches and the bulk action form."""
    return _queue_page(request, session, query, values={})


@router.post("/bulk")
def triage_bulk(
    request: Request, session: DbSession, form: Form, principal: CanInputTriage
) -> Response:
    """Apply one action to every ticked input; all or nothing."""
    values = _form_values(form)

    def done(changed: list[Input]) -> str:
        target = f"/triage?done={len(changed)}"
        if values["action"] == workflow.TriageAction.DUPLICATE and changed:
            merged = ",".join(str(item.id) for item in changed)
            target += f"&kept={changed[0].duplicate_of_id}&merged={merged}"
        return target

    return submit(
        lambda: _apply(
            request,
            principal,
            [parse_row_id(v, field="input_ids") for v in values["input_ids"]],
            values,
            session=session,
        ),
        session=session,
        redraw=lambda rejected: _queue_page(request, session, ListQuery(), values, rejected),
        done=done,
    )


@router.get("/templates")
def letter_templates(request: Request, session: DbSession, principal: CanInputTriage) -> Response:
    """Show the letter templates (Norwegian and English) for editing."""
    return _templates_page(request, session)


def _templates_page(
    request: Request,
    session: Session,
    rejected: Rejected = NO_ERRORS,
    failed: tuple[str, str] | None = None,
) -> Response:
    """Draw the letter templates; a refused one shows its message (at the form) by it."""
    context = {
        "templates": letters.list_templates(session=session),
        "fields": letters.FIELDS,
        "failed": failed,
    }
    if rejected.errors:  # one message, shown at the refused template's form
        rejected = Rejected({"form": rejected.message}, rejected.status_code)
    return form_page(request, "triage/templates.html", context, rejected)


@router.post("/templates")
def save_letter_template(
    request: Request, session: DbSession, form: Form, principal: CanInputTriage
) -> Response:
    """Save one letter template; refuse unknown fields."""
    letter, language = str(form.get("letter", "")), str(form.get("language", ""))

    def save() -> None:
        if letter not in set(LetterKind):
            raise InvalidInput(N_("Unknown letter"), field="letter")
        letters.update_template(
            principal,
            LetterKind(letter),
            language,
            str(form.get("subject", "")),
            str(form.get("body", "")),
            session=session,
        )

    return submit(
        save,
        session=session,
        redraw=lambda rejected: _templates_page(request, session, rejected, (letter, language)),
        done=f"/triage/templates?saved={letter}-{language}",
    )


@router.post("/{input_id}")
def triage_one(
    input_id: RowId, request: Request, session: DbSession, form: Form, principal: CanInputTriage
) -> Response:
    """Apply one action to one input from its page."""
    intake.get_input(input_id, session=session)
    values = _form_values(form)

    def redraw(rejected: Rejected) -> Response:
        item = intake.get_input(input_id, session=session)
        context = detail_context(request, session, principal, item) | {"values": values}
        return form_page(request, "inputs/detail.html", context, rejected)

    return submit(
        lambda: _apply(request, principal, [input_id], values, session=session),
        session=session,
        redraw=redraw,
        done=f"/inputs/{input_id}?saved=1",
    )


@router.post("/{input_id}/undo-merge")
def undo_merge(input_id: RowId, session: DbSession, principal: CanInputTriage) -> Response:
    """Take a merged input out of the input it was merged into (portfolio office)."""
    workflow.undo_merge(principal, input_id, session=session)
    return see_other(f"/inputs/{input_id}?unmerged=1")
