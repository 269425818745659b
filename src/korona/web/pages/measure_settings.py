"""What the office keeps for measures: the list of national programmes and the letter templates."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from korona.portfolio.measure import notices, service
from korona.portfolio.measure.models import NoticeKind
from korona.portfolio.measure.schemas import NoticeUpdate, ProgrammeCreate
from korona.validation import RowId
from korona.web.access import CanMeasureManage
from korona.web.deps import DbSession
from korona.web.forms import NO_ERRORS, Form, Rejected, text
from korona.web.handlers import form_page, see_other, submit

router = APIRouter(include_in_schema=False)


@router.get("/programmes")
def programmes_page(request: Request, session: DbSession, principal: CanMeasureManage) -> Response:
    """Show the managed list of national programmes."""
    return _programmes(request, session)


def _programmes(request: Request, session: Session, rejected: Rejected = NO_ERRORS) -> Response:
    context = {"programmes": service.list_programmes(session=session)}
    return form_page(request, "measures/programmes.html", context, rejected)


@router.post("/programmes")
def create_programme(
    request: Request, session: DbSession, form: Form, principal: CanMeasureManage
) -> Response:
    """Add a national programme."""
    values = {"name": text(form, "name")}
    return submit(
        lambda: service.create_programme(
            principal, ProgrammeCreate.model_validate(values), session=session
        ),
        session=session,
        field="name",
        redraw=lambda rejected: _programmes(request, session, rejected),
        done="/programmes?saved=1",
    )


@router.post("/programmes/{programme_id}/active")
def set_programme_active(
    programme_id: RowId, session: DbSession, form: Form, principal: CanMeasureManage
) -> Response:
    """Retire a programme from the choices, or bring it back."""
    service.set_programme_active(
        principal, programme_id, form.get("active") == "1", session=session
    )
    return see_other("/programmes?saved=1")


@router.get("/letters/measures")
def notice_templates(request: Request, session: DbSession, principal: CanMeasureManage) -> Response:
    """Show the editable "delivered" and review reminder letters, nb and en."""
    return _notices(request, session)


def _notices(request: Request, session: Session, rejected: Rejected = NO_ERRORS) -> Response:
    templates = {
        (kind, language): notices.get_template(kind, language, session=session)
        for kind in NoticeKind
        for language in notices.LANGUAGES
    }
    context = {"templates": templates, "fields": notices.FIELDS}
    return form_page(request, "measures/letters.html", context, rejected)


@router.post("/letters/measures/{notice_kind}/{language}")
def save_notice_template(
    notice_kind: NoticeKind,
    language: str,
    request: Request,
    session: DbSession,
    form: Form,
    principal: CanMeasureManage,
) -> Response:
    """Save an edited letter template."""
    values = {key: text(form, key) for key in ("subject", "body")}

    def save() -> object:
        data = NoticeUpdate.model_validate(values)
        return notices.save_template(
            principal, notice_kind, language, data.subject, data.body, session=session
        )

    return submit(
        save,
        session=session,
        field="body",
        redraw=lambda rejected: _notices(request, session, rejected),
        done="/letters/measures?saved=1",
    )
