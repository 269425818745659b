"""Checking import rows: cell values, one lookup for all rows, and a check per entity."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.auth.models import Organisation, OrganisationKind, Sector
from korona.errors import N_, DomainError, InvalidInput
from korona.portfolio.import_files import ImportEntity, RowError, SourceRow
from korona.portfolio.intake.models import Input
from korona.portfolio.intake.schemas import InputCreate
from korona.portfolio.need import service as need_service
from korona.portfolio.need.models import AffectedGroup, Need, NeedStatus
from korona.portfolio.need.schemas import NeedCreate
from korona.portfolio.solution.models import Solution
from korona.portfolio.solution.schemas import SolutionCreate

#: The documented columns of each entity (docs/portfolio.md); external_ref is always required.
COLUMNS: dict[ImportEntity, tuple[str, ...]] = {
    ImportEntity.ORGANISATIONS: ("external_ref", "name", "kind", "sector", "municipality_number"),
    ImportEntity.SOLUTIONS: (
        "external_ref",
        "name",
        "owner",
        "description",
        "categories",
        "status",
        "quality_assured",
        "url",
        "contact",
    ),
    ImportEntity.NEEDS: (
        "external_ref",
        "title",
        "description",
        "category",
        "organisation_ref",
        "clinical_line",
        "municipality_number",
        "urgency",
        "affected_groups",
        "status",
        "review_by_date",
    ),
    ImportEntity.INPUTS: (
        "external_ref",
        "kind",
        "title",
        "description",
        "organisation_name",
        "is_public",
        "commercial",
        "categories",
        "need_refs",
        "effort_hospitals",
        "effort_municipalities",
        "contact_name",
        "contact_email",
        "language",
        "received_at",
    ),
}

# -- cell values -----------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def cell_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [cell_text(item) for item in value if cell_text(item)]
    return [part.strip() for part in re.split(r"[;,|]", cell_text(value)) if part.strip()]


def cell_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = cell_text(value).lower()
    if text in {"yes", "ja", "true", "1", "y", "j"}:
        return True
    if text in {"no", "nei", "false", "0", "n"}:
        return False
    return None


def cell_optional(value: Any) -> str | None:
    return cell_text(value) or None


# -- checking rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """One checked row, ready to write."""

    row: int
    ref: str
    payload: Any


@dataclass
class Context:
    """What the row checks look up once per import, and what earlier rows claimed."""

    session: Session
    codes: set[str]
    names: dict[str, int] = field(default_factory=dict)
    #: Looked up for all rows at once before the checks (``prefetch``).
    organisations_by_ref: dict[str, Organisation] = field(default_factory=dict)
    organisations_by_name: dict[str, Organisation] = field(default_factory=dict)
    needs_by_ref: dict[str, int] = field(default_factory=dict)


#: Values per IN (...) query: well below SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500


def in_chunks(values: Sequence[str]) -> Iterator[list[str]]:
    distinct = sorted(set(values))
    for start in range(0, len(distinct), _CHUNK):
        yield distinct[start : start + _CHUNK]


def prefetch(context: Context, entity: ImportEntity, rows: Sequence[SourceRow]) -> None:
    """Look up what the row checks need with one query per 500 values, not one per row."""
    session = context.session
    if entity is ImportEntity.ORGANISATIONS:
        names = [cell_text(row.values.get("name")) for row in rows]
        for chunk in in_chunks(names):
            found = session.scalars(select(Organisation).where(Organisation.name.in_(chunk)))
            context.organisations_by_name.update((item.name, item) for item in found)
    elif entity is ImportEntity.NEEDS:
        refs = [cell_text(row.values.get("organisation_ref")) for row in rows]
        for chunk in in_chunks(refs):
            found = session.scalars(
                select(Organisation).where(Organisation.external_ref.in_(chunk))
            )
            context.organisations_by_ref.update((item.external_ref or "", item) for item in found)
    elif entity is ImportEntity.INPUTS:
        refs = [ref for row in rows for ref in cell_list(row.values.get("need_refs"))]
        for chunk in in_chunks(refs):
            statement = select(Need.external_ref, Need.id).where(Need.external_ref.in_(chunk))
            context.needs_by_ref.update(
                (ref or "", need_id) for ref, need_id in session.execute(statement)
            )


_MODELS: dict[ImportEntity, type[Organisation] | type[Solution] | type[Need] | type[Input]] = {
    ImportEntity.ORGANISATIONS: Organisation,
    ImportEntity.SOLUTIONS: Solution,
    ImportEntity.NEEDS: Need,
    ImportEntity.INPUTS: Input,
}


def existing_by_ref(
    entity: ImportEntity, refs: Sequence[str], *, session: Session
) -> dict[str, Any]:
    """Return the rows of this entity that already have one of the references, by reference."""
    model: Any = _MODELS[entity]
    found: dict[str, Any] = {}
    for chunk in in_chunks(refs):
        items = session.scalars(select(model).where(model.external_ref.in_(chunk)))
        found.update((item.external_ref, item) for item in items)
    return found


Check = Callable[[Context, int, dict[str, Any]], Any]


def _pydantic_errors(row: int, error: ValidationError) -> list[RowError]:
    return [
        RowError(
            row,
            ".".join(str(part) for part in item["loc"]) or "row",
            str(item["msg"]),
            detail=dict(item),
        )
        for item in error.errors()
    ]


def check_columns(entity: ImportEntity, columns: Sequence[str]) -> list[RowError]:
    unknown = [name for name in columns if name not in COLUMNS[entity]]
    errors = [RowError(1, name, N_("Unknown column")) for name in unknown]
    if "external_ref" not in columns:
        errors.append(RowError(1, "external_ref", N_("The column is missing")))
    return errors


def check_rows(
    rows: Sequence[SourceRow], context: Context, check: Check
) -> tuple[list[Prepared], list[RowError]]:
    prepared: list[Prepared] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for source in rows:
        number, row = source.number, source.values
        ref = cell_text(row.get("external_ref"))
        if not ref:
            errors.append(RowError(number, "external_ref", N_("This field is required")))
            continue
        if ref in seen:
            errors.append(
                RowError(
                    number, "external_ref", N_("Same reference as row {row}"), {"row": seen[ref]}
                )
            )
            continue
        seen[ref] = number
        try:
            prepared.append(Prepared(number, ref, check(context, number, row)))
        except ValidationError as error:
            errors.extend(_pydantic_errors(number, error))
        except DomainError as error:
            errors.append(RowError(number, error.field or "row", error.message, error.params))
    return prepared, errors


def _check_codes(codes: Sequence[str], known: set[str], column: str) -> None:
    for code in codes:
        if code not in known:
            raise InvalidInput(N_("Unknown category '{code}'"), field=column, code=code)


class OrganisationRow(BaseModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    kind: OrganisationKind
    sector: Sector
    municipality_number: str | None = None


def _check_organisation(context: Context, number: int, row: dict[str, Any]) -> OrganisationRow:
    data = OrganisationRow(
        name=cell_text(row.get("name")),
        kind=cell_text(row.get("kind")),
        sector=cell_text(row.get("sector")),
        municipality_number=cell_optional(row.get("municipality_number")),
    )
    if data.municipality_number and re.fullmatch("[0-9]{4}", data.municipality_number):
        # Malformed numbers are refused when the organisation is written (auth service).
        need_service.known_municipalities().check(data.municipality_number)
    ref = cell_text(row.get("external_ref"))
    # Organisations are unique by name: a second row or an existing organisation with the
    # same name would not be created, so say so instead of counting it as new.
    if data.name in context.names:
        raise InvalidInput(N_("Same name as row {row}"), field="name", row=context.names[data.name])
    context.names[data.name] = number
    existing = context.organisations_by_name.get(data.name)
    if existing is not None and existing.external_ref != ref:
        raise InvalidInput(
            N_("An organisation named {name} exists already with another external_ref"),
            field="name",
            name=data.name,
        )
    return data


def _check_solution(context: Context, number: int, row: dict[str, Any]) -> SolutionCreate:
    categories = cell_list(row.get("categories"))
    _check_codes(categories, context.codes, "categories")
    return SolutionCreate.model_validate(
        {
            "name": cell_text(row.get("name")),
            "owner": cell_text(row.get("owner")),
            "description": cell_text(row.get("description")),
            "categories": categories,
            "status": cell_text(row.get("status")) or "in_operation",
            "quality_assured": bool(cell_bool(row.get("quality_assured"))),
            "url": cell_text(row.get("url")),
            "contact": cell_text(row.get("contact")),
            "external_ref": cell_text(row.get("external_ref")),
        }
    )


def _check_need(
    context: Context, number: int, row: dict[str, Any]
) -> tuple[NeedCreate, int, NeedStatus]:
    ref = cell_text(row.get("organisation_ref"))
    owner = context.organisations_by_ref.get(ref) if ref else None
    if owner is None:
        raise InvalidInput(N_("Unknown organisation {id}"), field="organisation_ref", id=ref or "–")
    category = cell_text(row.get("category"))
    _check_codes([category], context.codes, "category")
    data = NeedCreate.model_validate(
        {
            "title": cell_text(row.get("title")),
            "description": cell_text(row.get("description")),
            "category": category,
            "clinical_line": cell_text(row.get("clinical_line")),
            "municipality_number": cell_optional(row.get("municipality_number")),
            "urgency": cell_text(row.get("urgency")) or "2",
            "affected_groups": cell_list(row.get("affected_groups")) or [AffectedGroup.CITIZENS],
            "review_by_date": cell_optional(row.get("review_by_date")),
            "organisation_id": owner.id,
            "external_ref": cell_text(row.get("external_ref")),
        }
    )
    need_service.known_municipalities().check(data.municipality_number)
    return data, owner.id, NeedStatus(cell_text(row.get("status")) or "registered")


def _received_at(value: Any) -> datetime | None:
    if isinstance(value, datetime):  # an XLSX date cell
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    received = cell_optional(value)
    if not received:
        return None
    try:
        parsed = datetime.fromisoformat(received)
    except ValueError as error:
        raise InvalidInput(N_("Must be a date (YYYY-MM-DD)"), field="received_at") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _check_input(
    context: Context, number: int, row: dict[str, Any]
) -> tuple[InputCreate, datetime | None]:
    need_ids = []
    for ref in cell_list(row.get("need_refs")):
        need_id = context.needs_by_ref.get(ref)
        if need_id is None:
            raise InvalidInput(N_("Unknown need {ref}"), field="need_refs", ref=ref)
        need_ids.append(need_id)
    categories = cell_list(row.get("categories"))
    _check_codes(categories, context.codes, "categories")
    received_at = _received_at(row.get("received_at"))
    data = InputCreate.model_validate(
        {
            "kind": cell_text(row.get("kind")),
            "title": cell_text(row.get("title")),
            "description": cell_text(row.get("description")),
            "organisation_name": cell_optional(row.get("organisation_name")),
            "is_public": cell_bool(row.get("is_public")),
            "commercial": bool(cell_bool(row.get("commercial"))),
            "categories": categories,
            "need_ids": need_ids,
            "effort_hospitals": cell_text(row.get("effort_hospitals")) or "unknown",
            "effort_municipalities": cell_text(row.get("effort_municipalities")) or "unknown",
            "contact_name": cell_text(row.get("contact_name")),
            "contact_email": cell_text(row.get("contact_email")),
            "language": cell_text(row.get("language")) or "nb",
            "external_ref": cell_text(row.get("external_ref")),
        }
    )
    if data.organisation_name is None or data.is_public is None:
        raise InvalidInput(N_("Name the submitting organisation"), field="organisation_name")
    return data, received_at


#: The check of each entity's rows.
CHECKS: dict[ImportEntity, Check] = {
    ImportEntity.ORGANISATIONS: _check_organisation,
    ImportEntity.SOLUTIONS: _check_solution,
    ImportEntity.NEEDS: _check_need,
    ImportEntity.INPUTS: _check_input,
}
