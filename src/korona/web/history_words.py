"""The words of the history: field labels, value vocabularies and a sentence per action."""

from __future__ import annotations

from enum import Enum

from korona.audit import AuditAction
from korona.auth.models import Sector
from korona.errors import N_
from korona.portfolio.intake.models import Effort, InputKind, InputStatus
from korona.portfolio.need.models import AffectedGroup, NeedStatus
from korona.portfolio.solution.models import SolutionStatus

#: How the audit log names the public (Principal().label) and the command line (console.CLI).
PUBLIC_ACTOR = "anonymous"
CLI_ACTOR = "korona-cli"

#: Fields that change as a side effect of every action; they stay in the raw diff only.
QUIET_FIELDS = frozenset({"updated_at", "first_feedback_at", "token_salt", "id", "reference"})

FIELD_LABELS: dict[str, str] = {
    "title": N_("Title"),
    "description": N_("Description"),
    "status": N_("Status"),
    "kind": N_("Kind of input"),
    "covered_by_id": N_("Covered by"),
    "duplicate_of_id": N_("Merged into"),
    "working_group": N_("Working group"),
    "outcome_note": N_("Reason"),
    "need_ids": N_("Needs"),
    "merged": N_("Merged into this input"),
    "category_code": N_("Category"),
    "categories": N_("Categories"),
    "clinical_line": N_("Clinical line (faglinje)"),
    "municipality_number": N_("Municipality number"),
    "urgency": N_("Urgency"),
    "review_by_date": N_("Review by"),
    "organisation_id": N_("Organisation"),
    "organisation_name": N_("Submitting organisation"),
    "is_public": N_("Public organisation"),
    "commercial": N_("Commercial offer"),
    "affected_groups": N_("Who is affected"),
    "sector": N_("Sector"),
    "effort_hospitals": N_("Expected implementation effort for hospitals"),
    "effort_municipalities": N_("Expected implementation effort for municipalities"),
    "contact_name": N_("Contact person"),
    "contact_email": N_("E-mail"),
    "name": N_("Name"),
    "url": N_("Web address"),
    "external_ref": N_("External reference"),
    "language": N_("Language"),
}

#: The status vocabulary of each entity type.
STATUS_ENUMS: dict[str, type[Enum]] = {
    "input": InputStatus,
    "need": NeedStatus,
    "solution": SolutionStatus,
}
#: Fields whose values are codes of a vocabulary.
ENUM_FIELDS: dict[str, type[Enum]] = {
    "kind": InputKind,
    "sector": Sector,
    "effort_hospitals": Effort,
    "effort_municipalities": Effort,
    "affected_groups": AffectedGroup,
}
#: What creating each entity type is called.
CREATED: dict[str, str] = {
    "input": N_("%(actor)s submitted the input."),
    "need": N_("%(actor)s registered the need."),
    "solution": N_("%(actor)s added the solution."),
    "category": N_("%(actor)s added the category."),
    "user": N_("%(actor)s created the user account."),
    "organisation": N_("%(actor)s added the organisation."),
}
#: Actions told in one sentence without details.
SIMPLE: dict[str, str] = {
    AuditAction.LOGIN: N_("%(actor)s logged in."),
    AuditAction.LOGOUT: N_("%(actor)s logged out."),
    AuditAction.PASSWORD: N_("%(actor)s changed the password."),
    AuditAction.TOKEN: N_("%(actor)s created or revoked an API token."),
    AuditAction.DELETE: N_("%(actor)s deleted it."),
}
#: What each entity type is called.
ENTITY_NAMES: dict[str, str] = {
    "input": N_("Input"),
    "need": N_("Need"),
    "solution": N_("Existing solution"),
    "user": N_("User"),
    "category": N_("Category"),
    "organisation": N_("Organisation"),
    "letter_template": N_("Letter template"),
    "api_token": N_("API token"),
}
