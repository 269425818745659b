"""Input pages (innspill): public submit form with live matches, receipt/status page, lists."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from korona.auth.permissions import Permission, Principal
from korona.errors import N_, NotFound
from korona.portfolio.assessment import groups as working_groups
from korona.portfolio.category import list_categories
from korona.portfolio.intake import attachments, triage_queue, workflow
from korona.portfolio.intake import service as intake
from korona.portfolio.intake.models import Effort, Input, InputKind, InputStatus
from korona.portfolio.intake.schemas import MAX_MATCH_TEXT, InputCreate
from korona.portfolio.matching import DocumentKind, Match
from korona.portfolio.need import service as need_service
from korona.portfolio.need.service import NeedFilter
from korona.portfolio.solution import service as solution_service
from korona.tabular import Audience
from korona.validation import RowId, row_id_or_none
from korona.web import i18n
from korona.web.access import CanInputRead, CanNeedRead, CanProfile, CanPublic
from korona.web.deps import (
    DbSession,
    get_runtime,
    get_settings,
    public_base_url,
    status_links,
)
from korona.web.exports import AudienceQuery, export_response
from korona.web.forms import (
    NO_ERRORS,
    Form,
    InputQuery,
    ListQuery,
    Page,
    Rejected,
    check_all,
    row_ids,
    text,
    texts,
)
from korona.web.handlers import form_page, submit
from korona.web.history import history_lines
from korona.web.templating import render

router = APIRouter(prefix="/inputs", include_in_schema=False)

TEXT_FIELDS = (
    "kind",
    "title",
    "description",
    "organisation_name",
    "effort_hospitals",
    "effort_municipalities",
    "contact_name",
    "contact_email",
)
#: A solution must score at least this (BM25F) to be shown as "seems covered" while typing;
#: below it a shared common word is the likely reason for the hit.
MIN_PREVIEW_SCORE = 8.0
PREVIEW_LIMIT = 3
RELATIVE_CUT = 0.5


def links(request: Request) -> intake.StatusLinks:
    """Return the status-link maker of this app."""
    return status_links(request)


def match_index(request: Request) -> Any:
    """Return the app's match index (built on first use)."""
    return get_runtime(request).match_index.get()


def preview_matches(
    request: Request, principal: Principal, text: str, categories: list[str]
) -> list[Match]:
    """Return what the proposer sees while typing: solutions, and needs if they may read them."""
    if len(text.split()) < 3:
        return []
    kinds = {DocumentKind.SOLUTION}
    if principal.can(Permission.NEED_READ):
        kinds.add(DocumentKind.NEED)
    found = match_index(request).search(text, categories, limit=PREVIEW_LIMIT, kinds=kinds)
    if not found or found[0].score < MIN_PREVIEW_SCORE:
        return []
    # Scores compare only within one query: keep what is close to the best hit.
    return [match for match in found if match.score >= found[0].score * RELATIVE_CUT]


def _choices(principal: Principal, *, session: Session) -> dict[str, Any]:
    return {
        "categories": list_categories(session=session, active_only=True),
        "kinds": list(InputKind),
        "efforts": list(Effort),
        "picks_needs": principal.can(Permission.NEED_READ),
    }


def _form_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {key: text(form, key) for key in TEXT_FIELDS}
    values["categories"] = texts(form, "categories")
    values["need_ids"] = row_ids(form, "need_ids")
    values["need_q"] = text(form, "need_q")
    values["is_public"] = form.get("is_public") or ""
    values["commercial"] = form.get("commercial") == "1"
    return values


def _payload(values: dict[str, Any], principal: Principal) -> dict[str, Any]:
    payload = {key: value for key, value in values.items() if value != "" and key != "need_q"}
    payload["is_public"] = {"1": True, "0": False}.get(values["is_public"])
    payload["need_ids"] = list(values["need_ids"])  # RowId parses and bounds them
    payload["language"] = i18n.current_language.get()
    if principal.organisation_id is not None:
        payload.pop("organisation_name", None)
        payload.pop("is_public", None)
    return payload


def _uploads(form: Any) -> list[attachments.Upload]:
    uploads = []
    for item in form.getlist("attachments"):
        if isinstance(item, UploadFile) and item.filename:
            # Read one byte past the limit so an oversized file is refused, not truncated.
            item.file.seek(0)
            content = item.file.read(attachments.MAX_BYTES + 1)
            uploads.append(attachments.Upload(item.filename, content))
    return uploads


#: How many characters of a needs search are used (a title is at most 200).
MAX_NEED_QUERY = 100
#: How many needs the picker lists at once; a search finds the others.
PICKER_LIMIT = 100


def need_options(query: str, selected: list[str], *, session: Session) -> dict[str, Any]:
    """Return the needs picker's list: the ticked needs first, then those matching the query
    (the most urgent :data:`PICKER_LIMIT` of them)."""
    query = query.strip()[:MAX_NEED_QUERY]
    ticked_ids = {row for row in map(row_id_or_none, selected) if row is not None}
    ticked = need_service.need_titles(ids=ticked_ids, session=session) if ticked_ids else []
    matching = need_service.need_titles(text=query, limit=PICKER_LIMIT, session=session)
    return {
        "need_options": [*ticked, *(need for need in matching if need.id not in ticked_ids)],
        "selected_needs": {str(need.id) for need in ticked},
        "need_query": query,
        "matching_count": need_service.count_needs(NeedFilter(text=query), session=session),
        "picker_limit": PICKER_LIMIT,
    }


def _form_page(
    request: Request,
    session: Session,
    principal: Principal,
    values: dict[str, Any],
    rejected: Rejected = NO_ERRORS,
) -> Response:
    context = {"values": values, **_choices(principal, session=session)}
    if context["picks_needs"]:
        selected = values.get("need_ids", [])
        context |= need_options(values.get("need_q", ""), selected, session=session)
    return form_page(request, "inputs/form.html", context, rejected)


@router.get("/new")
def new_input_form(request: Request, session: DbSession, principal: CanPublic) -> Response:
    """Show the submit form: open to everyone, logged in or not."""
    values: dict[str, Any] = {
        "kind": InputKind.IDEA.value,
        "categories": [],
        "need_ids": [],
        "effort_hospitals": Effort.UNKNOWN.value,
        "effort_municipalities": Effort.UNKNOWN.value,
        "contact_name": principal.name,
        "is_public": "",
        "contact_email": principal.email if principal.is_authenticated else "",
    }
    return _form_page(request, session, principal, values)


@router.get("/match-preview")
def match_preview(request: Request, principal: CanPublic) -> Response:
    """Return the "seems covered by" hint for the text typed so far (htmx fragment)."""
    params = request.query_params
    text = f"{params.get('title', '')}\n{params.get('description', '')}"[:MAX_MATCH_TEXT]
    categories = params.getlist("categories")[:20]
    matches = preview_matches(request, principal, text, categories)
    return render(request, "inputs/_matches.html", {"matches": matches})


@router.get("/need-options")
def need_picker_options(request: Request, session: DbSession, principal: CanNeedRead) -> Response:
    """Return the needs picker's list for the search typed so far (htmx fragment)."""
    params = request.query_params
    selected = params.getlist("need_ids")[:500]
    context = need_options(params.get("need_q", ""), selected, session=session)
    return render(request, "inputs/_need_options.html", context)


@router.post("")
def submit_input(
    request: Request, session: DbSession, form: Form, principal: CanPublic
) -> Response:
    """Register an input from the form and show the receipt; on bad input show the form again."""
    values = _form_values(form)
    if form.get("search_needs") and principal.can(Permission.NEED_READ):
        # The picker's search button (or Enter in a field) without JavaScript: show the form
        # again with the needs filtered; nothing is submitted.
        return _form_page(request, session, principal, values)
    settings = get_settings(request)

    def act() -> Input:
        payload = _payload(values, principal)
        checks: list[Callable[[], object]] = [
            lambda: intake.check_categories(values["categories"], session=session),
            # An id out of range is left to the model to refuse: PostgreSQL cannot even
            # compare it with the id column.
            lambda: intake.check_needs(
                [row for row in map(row_id_or_none, values["need_ids"]) if row is not None],
                session=session,
            ),
        ]
        if principal.organisation_id is None:
            checks.append(lambda: intake.check_organisation_name(values["organisation_name"]))
            checks.append(lambda: intake.check_public_or_private(payload.get("is_public")))
        data = check_all(InputCreate, payload, checks)
        submission = intake.Submission(
            attachments=_uploads(form), attachment_dir=settings.data_dir / "attachments"
        )
        return intake.submit_input(principal, data, links(request), submission, session=session)

    return submit(
        act,
        session=session,
        redraw=lambda rejected: _form_page(request, session, principal, values, rejected),
        done=lambda item: f"/inputs/status/{links(request).token(item)}?submitted=1",
    )


@router.get("/status/{token}")
def status_page(token: str, request: Request, session: DbSession, principal: CanPublic) -> Response:
    """Show the submitter the receipt, current status and every message sent to them."""
    item = intake.find_by_token(links(request), token, session=session)
    context = {
        "item": item,
        "messages": intake.messages(item.id, session=session),
        "attachments": intake.attachments_of(item.id, session=session),
        "kept": item.duplicate_of,
        "categories": list_categories(session=session),
    }
    return render(request, "inputs/status.html", context)


@router.get("/mine")
def my_inputs(
    request: Request,
    session: DbSession,
    query: Annotated[ListQuery, Query()],
    principal: CanProfile,
) -> Response:
    """List the inputs the logged-in user submitted, each with its status link, by pages."""
    assert principal.user_id is not None
    page = Page.of(intake.inputs_of_user(principal.user_id, session=session), query)
    maker = links(request)
    tokens = {item.id: maker.token(item) for item in page.items}
    context = {"items": page.items, "page": page, "tokens": tokens}
    return render(request, "inputs/mine.html", context)


@router.get("")
def inputs_list(
    request: Request,
    session: DbSession,
    query: Annotated[InputQuery, Query()],
    principal: CanInputRead,
) -> Response:
    """List every input with filters and export links, a page at a time."""
    filters = query.to_filter()
    page = Page.fetch(query, partial(intake.page_inputs, filters, session=session))
    context = {
        "items": page.items,
        "page": page,
        "filters": filters,
        "categories": list_categories(session=session),
        "statuses": list(InputStatus),
        "kinds": list(InputKind),
    }
    return render(request, "inputs/list.html", context)


@router.get("/export.{fmt}")
def inputs_export(
    fmt: str,
    request: Request,
    session: DbSession,
    query: Annotated[InputQuery, Query()],
    principal: CanInputRead,
    audience: AudienceQuery = Audience.PEOPLE,
) -> Response:
    """Download the filtered inputs with status and links as CSV or XLSX (people or machines)."""
    items = intake.list_inputs(query.to_filter(), session=session)
    rows = intake.export_rows(items, public_base_url(request))
    return export_response(fmt, intake.EXPORT_COLUMNS, rows, name="innspill", audience=audience)


def detail_context(
    request: Request, session: Session, principal: Principal, item: Input
) -> dict[str, Any]:
    """Return what the input page shows: matches, messages, merges, history, triage choices."""
    merged = intake.merged_into(item.id, session=session)
    context: dict[str, Any] = {
        "item": item,
        "carried_attachments": [
            (other, file)
            for other in merged
            for file in intake.attachments_of(other.id, session=session)
        ],
        "carried_messages": [
            (other, message)
            for other in merged
            for message in intake.messages(other.id, session=session)
        ],
        "suggestions": triage_queue.suggestions(match_index(request), [item], per_kind=3)[item.id],
        "messages": intake.messages(item.id, session=session),
        "merged": merged,
        "attachments": intake.attachments_of(item.id, session=session),
        "history": history_lines(intake.input_history(item.id, session=session), session=session),
        "linked_needs": intake.needs_of(item, session=session),
        "categories": list_categories(session=session),
        "next_statuses": workflow.INPUT_TRANSITIONS[item.status],
        "errors": {},
        "values": {},
    }
    if principal.can(Permission.INPUT_TRIAGE):
        context["solutions"] = solution_service.list_solutions(session=session)
        context["needs"] = need_service.need_titles(session=session)
        context["working_groups"] = working_groups.list_groups(session=session)
    return context


@router.get("/{input_id}")
def input_page(
    input_id: RowId, request: Request, session: DbSession, principal: CanInputRead
) -> Response:
    """Show one input with its match suggestions, messages and history."""
    item = intake.get_input(input_id, session=session)
    return render(request, "inputs/detail.html", detail_context(request, session, principal, item))


@router.get("/{input_id}/attachments/{attachment_id}")
def download_attachment(
    input_id: RowId,
    attachment_id: RowId,
    request: Request,
    session: DbSession,
    principal: CanInputRead,
) -> Response:
    """Download an attachment of an input."""
    attachment = intake.get_attachment(input_id, attachment_id, session=session)
    path = get_settings(request).data_dir / "attachments" / attachment.storage_name
    if not path.is_file():
        raise NotFound(N_("Attachment {id} does not exist"), id=attachment_id)
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.filename)}",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(path.read_bytes(), media_type=attachment.media_type, headers=headers)
