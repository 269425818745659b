"""The one permission table: which role may do what, and the principal making a request."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from korona.auth.vocabulary import Role

if TYPE_CHECKING:
    from korona.auth.models import User


class Permission(StrEnum):
    """Everything a route can require. Object-level rules (own organisation) live in services."""

    PUBLIC = "public"  # pages anyone may see, the anonymous public included
    PROFILE = "profile"  # one's own account: password, API tokens, language
    NEED_READ = "need.read"
    NEED_CREATE = "need.create"
    NEED_EDIT = "need.edit"  # reporters: their organisation's needs; the office: all
    NEED_VALIDATE = "need.validate"  # status changes: validate, covered, expired
    CATEGORY_MANAGE = "category.manage"
    AUDIT_READ = "audit.read"
    USER_READ = "user.read"
    SOLUTION_MANAGE = "solution.manage"  # the catalogue of existing solutions
    INPUT_READ = "input.read"  # every input, with its matches and history
    INPUT_TRIAGE = "input.triage"  # triage actions and letter templates
    PORTFOLIO_IMPORT = "portfolio.import"  # import organisations, solutions, needs, inputs
    OUTBOX_READ = "outbox.read"  # the e-mail outbox
    # assessment (#11)
    ASSESSMENT_READ = "assessment.read"  # queues, spreads, groups, weights, ranking, proposal
    ASSESSMENT_SCORE = "assessment.score"  # score inputs of one's own groups, private notes
    WORKING_GROUP_MANAGE = "working_group.manage"  # groups and their members
    WEIGHTS_MANAGE = "weights.manage"  # the decision group's criterion weights
    PRIORITISATION_MANAGE = "prioritisation.manage"  # settings, pins, draft net lists
    # decisions and measures (#12)
    MEASURE_READ = "measure.read"  # measures, progress overview, needs coverage
    MEASURE_MANAGE = "measure.manage"  # create and edit measures, status, milestones, programmes
    MEASURE_REPORT = "measure.report"  # progress reports: the owner organisation's own measures
    EXPERIENCE_SHARE = "experience.share"  # hospitals and municipalities: "we use this"
    MEETING_READ = "meeting.read"  # decision-group meetings, drafts, minutes
    MEETING_COMMENT = "meeting.comment"  # observers and members comment on a meeting
    MEETING_MANAGE = "meeting.manage"  # the office runs meetings and writes the minutes
    NETLIST_APPROVE = "netlist.approve"  # only decision members approve a net list version
    NETLIST_PUBLISH = "netlist.publish"  # the office publishes an approved version
    # Surveillance location pages (issue 13): full detail of one's own municipality and its
    # neighbours; everyone else sees municipalities with small counts hidden.
    SURVEILLANCE_DETAIL = "surveillance.detail"
    # situation reports (#14)
    SITUATION_READ = "situation.read"  # reports, national and county dashboards
    SITUATION_REPORT = "situation.report"  # report, correct, import: own municipality; office: all
    # Surveillance e-mail (issue 14): the weekly report and alerts.
    SUBSCRIPTION_OWN = "subscription.own"  # follow locations for oneself
    SUBSCRIPTION_MANAGE = "subscription.manage"  # anyone's subscriptions (the office)
    # User administration in the browser (issue 15)
    USER_MANAGE = "user.manage"  # invite, edit, deactivate, reactivate, reset passwords


_ANYONE_LOGGED_IN = frozenset(Role)
_OFFICE = frozenset({Role.PORTFOLIO_OFFICE})
_NEED_REPORTERS = frozenset({Role.NEEDS_REPORTER, Role.PORTFOLIO_OFFICE})
#: Who reads the portfolio's inputs and assessments (not those who submit or report).
_PORTFOLIO_READERS = frozenset(
    {Role.PORTFOLIO_OFFICE, Role.ASSESSOR, Role.DECISION_MEMBER, Role.OBSERVER}
)
#: Who sits in (or runs) a decision-group meeting.
_MEETING_PARTICIPANTS = frozenset({Role.PORTFOLIO_OFFICE, Role.DECISION_MEMBER, Role.OBSERVER})
#: Hospitals and municipalities, and the office on their behalf.
_LOCAL_REPORTERS = frozenset({Role.NEEDS_REPORTER, Role.MUNICIPAL_DOCTOR, Role.PORTFOLIO_OFFICE})

#: Permission -> roles holding it. PUBLIC is also granted to anonymous visitors.
PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.PUBLIC: _ANYONE_LOGGED_IN,
    Permission.PROFILE: _ANYONE_LOGGED_IN,
    Permission.NEED_READ: _ANYONE_LOGGED_IN,
    Permission.NEED_CREATE: _NEED_REPORTERS,
    Permission.NEED_EDIT: _NEED_REPORTERS,
    Permission.NEED_VALIDATE: _OFFICE,
    Permission.CATEGORY_MANAGE: _OFFICE,
    Permission.AUDIT_READ: frozenset({Role.PORTFOLIO_OFFICE, Role.OBSERVER}),
    Permission.USER_READ: frozenset({Role.PORTFOLIO_OFFICE, Role.OBSERVER}),
    Permission.SOLUTION_MANAGE: _OFFICE,
    Permission.INPUT_READ: _PORTFOLIO_READERS,
    Permission.INPUT_TRIAGE: _OFFICE,
    Permission.PORTFOLIO_IMPORT: _OFFICE,
    Permission.OUTBOX_READ: _OFFICE,
    # assessment (#11)
    Permission.ASSESSMENT_READ: _PORTFOLIO_READERS,
    Permission.ASSESSMENT_SCORE: frozenset({Role.ASSESSOR}),
    Permission.WORKING_GROUP_MANAGE: _OFFICE,
    Permission.WEIGHTS_MANAGE: frozenset({Role.DECISION_MEMBER}),
    Permission.PRIORITISATION_MANAGE: _OFFICE,
    # decisions and measures (#12)
    Permission.MEASURE_READ: _ANYONE_LOGGED_IN,
    Permission.MEASURE_MANAGE: _OFFICE,
    Permission.MEASURE_REPORT: frozenset(
        {
            Role.PORTFOLIO_OFFICE,
            Role.DECISION_MEMBER,
            Role.NEEDS_REPORTER,
            Role.ASSESSOR,
            Role.SUBMITTER,
        }
    ),
    Permission.EXPERIENCE_SHARE: _LOCAL_REPORTERS,
    Permission.MEETING_READ: _MEETING_PARTICIPANTS,
    Permission.MEETING_COMMENT: _MEETING_PARTICIPANTS,
    Permission.MEETING_MANAGE: _OFFICE,
    Permission.NETLIST_APPROVE: frozenset({Role.DECISION_MEMBER}),
    Permission.NETLIST_PUBLISH: _OFFICE,
    Permission.SURVEILLANCE_DETAIL: frozenset({Role.MUNICIPAL_DOCTOR}),
    # situation reports (#14)
    Permission.SITUATION_READ: frozenset(
        {
            Role.PORTFOLIO_OFFICE,
            Role.ASSESSOR,
            Role.DECISION_MEMBER,
            Role.OBSERVER,
            Role.NEEDS_REPORTER,
            Role.MUNICIPAL_DOCTOR,
        }
    ),
    Permission.SITUATION_REPORT: _LOCAL_REPORTERS,
    # Surveillance e-mail (issue 14). Outbreak teams are observers or municipal doctors.
    Permission.SUBSCRIPTION_OWN: frozenset(
        {Role.MUNICIPAL_DOCTOR, Role.OBSERVER, Role.PORTFOLIO_OFFICE}
    ),
    Permission.SUBSCRIPTION_MANAGE: _OFFICE,
    # User administration in the browser (issue 15)
    Permission.USER_MANAGE: _OFFICE,
}

ANONYMOUS_PERMISSIONS = frozenset({Permission.PUBLIC})


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user with roles, or the anonymous public (``user_id is None``).

    Plain values, not the ORM user, so that it stays valid after the request's session ends.
    """

    user_id: int | None = None
    email: str = "anonymous"
    name: str = ""
    organisation_id: int | None = None
    organisation_name: str | None = None
    municipality_number: str | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    via_token: bool = False

    @property
    def is_authenticated(self) -> bool:
        """Return whether a user is logged in."""
        return self.user_id is not None

    @property
    def label(self) -> str:
        """Return how this principal is named in the audit log."""
        return self.email

    def can(self, permission: Permission) -> bool:
        """Return whether this principal holds the permission."""
        if not self.is_authenticated:
            return permission in ANONYMOUS_PERMISSIONS
        return bool(self.roles & PERMISSIONS[permission])

    def has_role(self, role: Role) -> bool:
        """Return whether the principal holds the role."""
        return role in self.roles


ANONYMOUS = Principal()


def principal_for(user: User, *, via_token: bool = False) -> Principal:
    """Return the principal of a logged-in user."""
    return Principal(
        user_id=user.id,
        email=user.email,
        name=user.name,
        organisation_id=user.organisation_id,
        organisation_name=user.organisation.name if user.organisation else None,
        municipality_number=user.municipality_number,
        roles=user.roles,
        via_token=via_token,
    )


def permission_table_markdown() -> str:
    """Return the permission table as Markdown (docs/architecture.md embeds it; a test compares)."""
    roles = list(Role)
    lines = [
        "| permission | anonymous | " + " | ".join(role.value for role in roles) + " |",
        "|---|" + "---|" * (len(roles) + 1),
    ]
    for permission in Permission:
        cells = ["✓" if permission in ANONYMOUS_PERMISSIONS else "–"]
        cells += ["✓" if role in PERMISSIONS[permission] else "–" for role in roles]
        lines.append(f"| {permission.value} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(permission_table_markdown())
