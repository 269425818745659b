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
from korona.notify.models import OutboxMessage
from korona.portfolio.category import Category
from korona.portfolio.intake.models import (
    Input,
    InputAttachment,
    InputMessage,
    InputNeed,
    LetterTemplate,
)
from korona.portfolio.matching.changes import MatchChange
from korona.portfolio.need.models import Need
from korona.portfolio.solution.models import Solution

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Category",
    "Input",
    "InputAttachment",
    "InputMessage",
    "InputNeed",
    "LetterTemplate",
    "LoginFailure",
    "LoginSession",
    "MatchChange",
    "Need",
    "Organisation",
    "OutboxMessage",
    "PasswordLink",
    "Solution",
    "User",
    "UserRole",
]
