"""What pages and the API share: posted forms, form errors, list filters and paging."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from korona import audit
from korona.audit import AuditAction
from korona.auth.models import Sector
from korona.errors import DomainError
from korona.portfolio.import_files import MAX_FILE_BYTES, RowError
from korona.portfolio.intake.models import InputKind, InputStatus
from korona.portfolio.intake.service import InputFilter
from korona.portfolio.need.models import NeedStatus
from korona.portfolio.need.service import NeedFilter
from korona.portfolio.solution.models import SolutionStatus
from korona.portfolio.solution.service import SolutionFilter
from korona.validation import CleanLine, Limit, MunicipalityNumber, RowId
from korona.web import form_input, i18n
from korona.web.labels import translate_error

T = TypeVar("T")


#: The only form fields that may carry uploaded files (an input's attachments, an import file).
FILE_FIELDS = ("attachments", "file")


async def read_form(request: Request) -> FormData:
    """Return the posted form, checked for clean text (read on the event loop, so handlers
    can stay plain ``def``); see :mod:`korona.web.form_input`."""
    return await form_input.read_form(request, files=FILE_FIELDS)


#: The posted form, for page handlers that run in the threadpool.
Form = Annotated[FormData, Depends(read_form)]


def text(form: FormData, name: str) -> str:
    """Return a form field as trimmed text ("" when missing or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    """Return the values chosen in a multiple choice (a file sent under its name is left out)."""
    return [value for value in form.getlist(name) if isinstance(value, str)]


def row_ids(form: FormData, name: str) -> list[str]:
    """Return the row ids chosen in a multiple choice, as the text sent (blank choices left
    out): the model or :func:`korona.validation.parse_row_id` parses, bounds and refuses
    them with a message. (Keeping only str.isdigit() let "²" through to int(), which raised,
    and "١٢", which int() reads as 12.)"""
    return [value for value in texts(form, name) if value.strip()]


def number_text(form: FormData, name: str) -> str | None:
    """Return a number field as trimmed text with a decimal point where a decimal comma was
    typed ("2,5" is 2.5), None when blank; the model reads it and refuses what is no number."""
    return text(form, name).replace(",", ".") or None


def filled(form: FormData, *names: str) -> dict[str, str]:
    """Return the named fields that were filled in, as trimmed text (a blank one is left out,
    so the model's default applies)."""
    return {name: value for name in names if (value := text(form, name)) != ""}


def uploaded(form: FormData, name: str = "file") -> tuple[str, bytes] | None:
    """Return an uploaded file's name and content, or None when no file was sent.

    At most one byte past the import limit is read, so that the importer can refuse the file
    as too large without holding all of it.
    """
    upload = form.get(name)
    if not isinstance(upload, UploadFile):
        return None
    upload.file.seek(0)
    return upload.filename or "", upload.file.read(MAX_FILE_BYTES + 1)


def row_errors(errors: Iterable[RowError]) -> list[tuple[int | str, str, str]]:
    """Return an import's bad rows as (row, column, translated message) for the page's table."""
    return [(item.row or "–", item.column, _row_error_text(item)) for item in errors]


def _row_error_text(item: RowError) -> str:
    if item.detail is not None:
        return i18n.translate_validation_error(item.detail)
    return translate_error(DomainError(item.message, **item.params))


def field_errors(error: ValidationError) -> dict[str, str]:
    """Return the first translated message per form field."""
    errors: dict[str, str] = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "form"
        errors.setdefault(field, i18n.translate_validation_error(item))
    return errors


@dataclass(frozen=True)
class Rejected:
    """Why a form was refused: a translated message per field and the HTTP status to answer."""

    errors: dict[str, str]
    status_code: int

    @property
    def message(self) -> str:
        """Return the first message."""
        return next(iter(self.errors.values()))

    @property
    def field(self) -> str:
        """Return the field of the first message."""
        return next(iter(self.errors))


#: What a page drawn for a plain GET shows: no errors, status 200 (never mutated).
NO_ERRORS = Rejected({}, 200)


class FormErrors(Exception):
    """Everything wrong with a form found in one round: a translated message per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


M = TypeVar("M", bound=BaseModel)


def check_all(model: type[M], payload: Any, checks: Sequence[Callable[[], object]] = ()) -> M:
    """Validate a form and run the service's checks on its raw values, reporting every failure.

    Without this a person fixes the field errors, then learns about the organisation, then
    about public/private: one round each. ``checks`` raise :class:`DomainError`; a field keeps
    its first message.
    """
    errors: dict[str, str] = {}
    data: M | None = None
    try:
        data = model.model_validate(payload)
    except ValidationError as error:
        errors = field_errors(error)
    for check in checks:
        try:
            check()
        except DomainError as error:
            errors.setdefault(error.field or "form", translate_error(error))
    if errors or data is None:
        raise FormErrors(errors)
    return data


def attempt(
    action: Callable[[], T],
    *,
    session: Session,
    field: str = "form",
    keep: Callable[[T], bool] = lambda _result: True,
) -> T | Rejected:
    """Run a form's service call; on bad input undo it and return why, to re-render the form.

    A service raises and writes nothing more; this rolls the request's unit of work back so
    no half-written state survives, and the form is then drawn from a fresh read in a new
    transaction of the same session. ``field`` names where errors without a field go;
    ``keep`` refuses a result that reports its own errors (an import's bad rows).

    (A savepoint would leave the rollback to the unit of work, but SQLite's Python driver
    starts no transaction before a savepoint, so releasing it would commit on its own.)
    """
    outcome: T | Rejected
    try:
        outcome = action()
    except (ValidationError, FormErrors, DomainError) as error:
        outcome = rejection(error, field=field)
    if isinstance(outcome, Rejected) or not keep(outcome):
        session.rollback()
    return outcome


def rejection(error: ValidationError | FormErrors | DomainError, *, field: str) -> Rejected:
    """Return why a form was refused, from the error its service call raised."""
    if isinstance(error, ValidationError):
        return Rejected(field_errors(error), 422)
    if isinstance(error, FormErrors):
        return Rejected(error.errors, 422)
    return Rejected({error.field or field: translate_error(error)}, error.status_code)


DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500


class FilterQuery(BaseModel):
    """Query-string filters; an empty value means "no filter"."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        # A filter form sends every field; "" from an "all" option must not be a value.
        if isinstance(data, Mapping):
            return {key: value for key, value in data.items() if value != ""}
        return data


class ListQuery(FilterQuery):
    """Filters plus the paging every list shares."""

    page: Annotated[RowId, Field(le=100_000, description="Which page, from 1")] = 1
    per_page: Annotated[Limit, Field(le=MAX_PER_PAGE, description="Rows per page")] = (
        DEFAULT_PER_PAGE
    )


Text = Annotated[CleanLine | None, Field(None, max_length=200, description="Words to search for")]
CategoryCode = Annotated[
    CleanLine | None, Field(None, max_length=40, description="A category code")
]


def _words(q: str | None) -> str | None:
    """Return what was typed in a list's search box, trimmed (None when nothing was)."""
    return q.strip() if q else None


class NeedQuery(ListQuery):
    """The needs list's filters (page, API and export alike)."""

    sector: Sector | None = None
    category: CategoryCode = None
    status: NeedStatus | None = None
    organisation_id: RowId | None = None
    municipality_number: MunicipalityNumber | None = None
    overdue: bool = False
    q: Text = None

    def to_filter(self) -> NeedFilter:
        """Return the service's filter."""
        return NeedFilter(
            sector=self.sector,
            category=self.category,
            status=self.status,
            organisation_id=self.organisation_id,
            municipality_number=self.municipality_number,
            overdue=self.overdue,
            text=_words(self.q),
        )


class InputQuery(ListQuery):
    """The inputs list's filters (page, API and export alike)."""

    status: InputStatus | None = None
    kind: InputKind | None = None
    category: CategoryCode = None
    q: Text = None

    def to_filter(self) -> InputFilter:
        """Return the service's filter."""
        text = _words(self.q)
        return InputFilter(status=self.status, kind=self.kind, category=self.category, text=text)


class SolutionQuery(ListQuery):
    """The catalogue's filters (page and API alike)."""

    category: CategoryCode = None
    status: SolutionStatus | None = None
    quality_assured: bool | None = None
    q: Text = None

    def to_filter(self) -> SolutionFilter:
        """Return the service's filter."""
        return SolutionFilter(
            category=self.category,
            status=self.status,
            quality_assured=self.quality_assured,
            text=_words(self.q),
        )


class AuditQuery(FilterQuery):
    """The audit log's filters (page, API and export alike); it pages by offset, newest first."""

    entity_type: Annotated[CleanLine | None, Field(max_length=50)] = None
    entity_id: Annotated[CleanLine | None, Field(max_length=50)] = None
    actor: Annotated[CleanLine | None, Field(max_length=254)] = None
    action: AuditAction | None = None
    since: date | None = None
    until: date | None = None

    def to_filter(self) -> audit.AuditFilter:
        """Return the audit log's filter; ``until`` includes the whole day (the last date
        there is, 9999-12-31, has no day after it and bounds nothing)."""
        return audit.AuditFilter(
            entity_type=self.entity_type,
            entity_id=self.entity_id,
            actor=self.actor,
            action=self.action.value if self.action else None,
            since=datetime.combine(self.since, time.min, tzinfo=UTC) if self.since else None,
            until=datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=UTC)
            if self.until and self.until < date.max
            else None,
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with what a pager needs."""

    items: Sequence[T]
    number: int
    per_page: int
    total: int

    @classmethod
    def of(cls, items: Sequence[T], query: ListQuery) -> Page[T]:
        """Return the query's page of the items (a page past the end is empty)."""
        start = (query.page - 1) * query.per_page
        return cls(items[start : start + query.per_page], query.page, query.per_page, len(items))

    @classmethod
    def fetch(cls, query: ListQuery, load: Callable[..., tuple[Sequence[T], int]]) -> Page[T]:
        """Return the query's page, loading only its rows: ``load(offset=…, limit=…)``
        returns them and how many rows there are in all."""
        rows, total = load(offset=(query.page - 1) * query.per_page, limit=query.per_page)
        return cls(rows, query.page, query.per_page, total)

    @property
    def pages(self) -> int:
        """Return how many pages there are (at least one)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def first_row(self) -> int:
        """Return the 1-based number of the page's first row (0 when empty)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_row(self) -> int:
        """Return the 1-based number of the page's last row."""
        return (self.number - 1) * self.per_page + len(self.items)


def answer_page(response: Response, page: Page[T]) -> Sequence[T]:
    """Return the page's rows for an API answer's body, telling the client in X-Total-Count
    how many rows there are in all."""
    response.headers["X-Total-Count"] = str(page.total)
    return page.items
