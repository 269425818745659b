"""Human labels of the enumerations (English message ids, translated) and translated errors."""

from __future__ import annotations

from enum import Enum

from korona.audit import AuditAction
from korona.auth.models import OrganisationKind, Role, Sector
from korona.errors import N_, DomainError
from korona.portfolio.assessment.agreement import Agreement
from korona.portfolio.assessment.service import QueueFilter
from korona.portfolio.gates import BenefitGroup, Gate
from korona.portfolio.intake.models import Effort, InputKind, InputStatus, LetterKind
from korona.portfolio.measure.models import MeasureStatus, NoticeKind, Rag
from korona.portfolio.need.models import AffectedGroup, NeedStatus
from korona.portfolio.netlist.decision_models import Capacity
from korona.portfolio.netlist.diff import Change
from korona.portfolio.netlist.models import NetlistStatus
from korona.portfolio.netlist.solver.vocabulary import Pin
from korona.portfolio.scoring import Criterion
from korona.portfolio.solution.models import SolutionStatus
from korona.web import i18n

#: (member, English label) pairs. StrEnum members of different enums with the same value are
#: equal as dict keys ("covered"), so the lookup below is keyed by (enum class, value).
_LABELLED: tuple[tuple[Enum, str], ...] = (
    (NeedStatus.REGISTERED, N_("Registered")),
    (NeedStatus.VALIDATED, N_("Validated")),
    (NeedStatus.COVERED, N_("Covered")),
    (NeedStatus.PARTLY_COVERED, N_("Partly covered")),
    (NeedStatus.UNCOVERED, N_("Not covered")),
    (NeedStatus.EXPIRED, N_("Expired")),
    (Sector.SPECIALIST, N_("Specialist health service")),
    (Sector.MUNICIPAL, N_("Municipal health service")),
    (Sector.STATE, N_("Central government")),
    (Sector.BUSINESS, N_("Business")),
    (Sector.OTHER, N_("Other")),
    (AffectedGroup.CITIZENS, N_("Citizens")),
    (AffectedGroup.HEALTH_PERSONNEL, N_("Health personnel")),
    (AffectedGroup.AUTHORITIES, N_("Authorities")),
    (OrganisationKind.HEALTH_TRUST, N_("Health trust / RHF")),
    (OrganisationKind.MUNICIPALITY, N_("Municipality")),
    (OrganisationKind.KS, N_("KS")),
    (OrganisationKind.HELSEDIREKTORATET, N_("Norwegian Directorate of Health")),
    (OrganisationKind.FHI, N_("Norwegian Institute of Public Health")),
    (OrganisationKind.NHN, N_("Norsk helsenett")),
    (OrganisationKind.EHEALTH_DIRECTORATE, N_("Norwegian Directorate of eHealth")),
    (OrganisationKind.VENDOR, N_("Vendor")),
    (OrganisationKind.OTHER, N_("Other")),
    (Role.PORTFOLIO_OFFICE, N_("Portfolio office")),
    (Role.ASSESSOR, N_("Working group (assessor)")),
    (Role.DECISION_MEMBER, N_("Decision group")),
    (Role.OBSERVER, N_("Observer")),
    (Role.NEEDS_REPORTER, N_("Needs reporter")),
    (Role.SUBMITTER, N_("Submitter")),
    (Role.MUNICIPAL_DOCTOR, N_("Municipal doctor")),
    (AuditAction.CREATE, N_("Created")),
    (AuditAction.UPDATE, N_("Changed")),
    (AuditAction.DELETE, N_("Deleted")),
    (AuditAction.STATUS, N_("Status changed")),
    (AuditAction.LOGIN, N_("Logged in")),
    (AuditAction.LOGOUT, N_("Logged out")),
    (AuditAction.PASSWORD, N_("Password changed")),
    (AuditAction.TOKEN, N_("API token")),
    (SolutionStatus.IN_OPERATION, N_("In operation")),
    (SolutionStatus.PILOT, N_("Pilot")),
    (SolutionStatus.PLANNED, N_("Planned")),
    (InputKind.IDEA, N_("Idea")),
    (InputKind.PROPOSAL, N_("Proposal")),
    (InputKind.OFFER, N_("Offer")),
    (InputStatus.RECEIVED, N_("Received")),
    (InputStatus.IN_ASSESSMENT, N_("Sent for assessment")),
    (InputStatus.COVERED, N_("Covered by existing solution")),
    (InputStatus.DUPLICATE, N_("Merged as duplicate")),
    (InputStatus.DECLINED, N_("Declined")),
    (Effort.LOW, N_("Low")),
    (Effort.MEDIUM, N_("Medium")),
    (Effort.HIGH, N_("High")),
    (Effort.UNKNOWN, N_("Don't know")),
    (LetterKind.RECEIPT, N_("Receipt")),
    (LetterKind.COVERED, N_("Covered by existing solution")),
    (LetterKind.DUPLICATE, N_("Merged as duplicate")),
    (LetterKind.IN_ASSESSMENT, N_("Sent for assessment")),
    (LetterKind.DECLINED, N_("Declined")),
    # assessment (#11)
    (Criterion.CLINICAL_BENEFIT, N_("Clinical benefit")),
    (Criterion.RELIEF, N_("Relief of health personnel")),
    (Criterion.SEVERITY, N_("Severity")),
    (Criterion.REUSE, N_("Reuse of national solutions")),
    (Criterion.TIME_CRITICALITY, N_("Time criticality")),
    (Criterion.NEED_COVERAGE, N_("Need coverage")),
    (Gate.BENEFIT_GROUP, N_("Benefit to at least one group")),
    (Gate.HORIZON, N_("Deliverable within the crisis horizon")),
    (Gate.OVERLAP, N_("No overlap with a measure or an existing solution")),
    (Gate.SAFETY, N_("Data protection and clinical safety minimum")),
    (BenefitGroup.CITIZENS, N_("Citizens")),
    (BenefitGroup.HEALTH_PERSONNEL, N_("Health personnel")),
    (BenefitGroup.AUTHORITIES, N_("Authorities")),
    (Agreement.NONE, N_("Not scored")),
    (Agreement.SINGLE, N_("One assessor")),
    (Agreement.UNANIMOUS, N_("Assessors agree")),
    (Agreement.DIFFER, N_("Assessors differ: the lead must agree a score")),
    (Agreement.AGREED, N_("Agreed score recorded")),
    (QueueFilter.ALL, N_("All")),
    (QueueFilter.NOT_ASSESSED, N_("Not assessed")),
    (QueueFilter.ASSESSED, N_("Assessed")),
    (QueueFilter.MINE, N_("Scored by me")),
    (Pin.IN, N_("Pinned in")),
    (Pin.OUT, N_("Pinned out")),
    # decisions and measures (#12)
    (MeasureStatus.PLANNED, N_("Planned")),
    (MeasureStatus.IN_PROGRESS, N_("In progress")),
    (MeasureStatus.DELIVERED, N_("Delivered")),
    (MeasureStatus.STOPPED, N_("Stopped")),
    (Rag.GREEN, N_("Green")),
    (Rag.AMBER, N_("Amber")),
    (Rag.RED, N_("Red")),
    (NoticeKind.DELIVERED, N_("Measure delivered")),
    (NoticeKind.REVIEW_DUE, N_("Need past its review date")),
    (Change.IN, N_("In")),
    (Change.OUT, N_("Out")),
    (Change.MOVED, N_("Moved")),
    (Change.SAME, N_("Unchanged")),
    (Capacity.MEMBER, N_("Member")),
    (Capacity.OBSERVER, N_("Observer")),
    (NetlistStatus.DRAFT, N_("Draft")),
    (NetlistStatus.APPROVED, N_("Approved")),
    (NetlistStatus.PUBLISHED, N_("Published")),
)

LABELS: dict[tuple[type[Enum], str], str] = {
    (type(member), str(member.value)): text for member, text in _LABELLED
}


def label(member: Enum | str, enum: type[Enum] | None = None) -> str:
    """Return the translated label of an enum member (or of a raw value with its enum)."""
    if isinstance(member, Enum):
        text = LABELS.get((type(member), str(member.value)), str(member.value))
    else:
        text = LABELS.get((enum, member), member) if enum else member
    return i18n.gettext(text)


def translate_error(error: DomainError) -> str:
    """Return a domain error's message in the current language; enum values become labels."""
    values = {
        key: label(value) if isinstance(value, Enum) else value
        for key, value in error.params.items()
    }
    return i18n.gettext(error.message).format(**values)
