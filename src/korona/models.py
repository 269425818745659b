"""Import every ORM model so that Base.metadata knows all tables (Alembic, tests)."""

from korona.audit import AuditEntry
from korona.auth.models import (
    ApiToken,
    LoginFailure,
    LoginSession,
    Organisation,
    PasswordLink,
    User,
    UserRole,
)
from korona.notify.models import OutboxAttachment, OutboxMessage
from korona.portfolio.assessment.models import (
    Assessment,
    AssessmentNote,
    AssessmentSetting,
    ProposalPin,
    WeightsVersion,
    WorkingGroup,
    WorkingGroupMember,
)
from korona.portfolio.category import Category
from korona.portfolio.intake.models import (
    Input,
    InputAttachment,
    InputMessage,
    InputNeed,
    LetterTemplate,
)
from korona.portfolio.matching.changes import MatchChange
from korona.portfolio.measure.models import (
    ExperienceNote,
    Measure,
    MeasureNeed,
    Milestone,
    NoticeTemplate,
    Programme,
    ProgressReport,
    ReviewReminder,
)
from korona.portfolio.need.models import Need
from korona.portfolio.netlist.decision_models import (
    AgendaItem,
    Meeting,
    MeetingAttendee,
    MeetingComment,
    NetlistChangeReason,
    NetlistDecision,
)
from korona.portfolio.netlist.models import NetlistItem, NetlistVersion
from korona.portfolio.situation.models import SituationReport, SituationReportNeed
from korona.portfolio.solution.models import Solution
from korona.surveillance_mail.models import AlertDelivery, ReportDelivery, Subscription

__all__ = [
    "AgendaItem",
    "AlertDelivery",
    "ApiToken",
    "Assessment",
    "AssessmentNote",
    "AssessmentSetting",
    "AuditEntry",
    "Category",
    "ExperienceNote",
    "Input",
    "InputAttachment",
    "InputMessage",
    "InputNeed",
    "LetterTemplate",
    "LoginFailure",
    "LoginSession",
    "MatchChange",
    "Measure",
    "MeasureNeed",
    "Meeting",
    "MeetingAttendee",
    "MeetingComment",
    "Milestone",
    "Need",
    "NetlistChangeReason",
    "NetlistDecision",
    "NetlistItem",
    "NetlistVersion",
    "NoticeTemplate",
    "Organisation",
    "OutboxAttachment",
    "OutboxMessage",
    "PasswordLink",
    "Programme",
    "ProgressReport",
    "ProposalPin",
    "ReportDelivery",
    "ReviewReminder",
    "SituationReport",
    "SituationReportNeed",
    "Solution",
    "Subscription",
    "User",
    "UserRole",
    "WeightsVersion",
    "WorkingGroup",
    "WorkingGroupMember",
]
