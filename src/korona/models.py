"""Import every ORM model so that Base.metadata knows all tables (Alembic, tests)."""

from korona.audit import AuditEntry
from korona.auth.models import ApiToken, LoginSession, Organisation, User, UserRole
from korona.portfolio.category import Category
from korona.portfolio.need.models import Need

__all__ = [
    "ApiToken", "AuditEntry", "Category", "LoginSession", "Need", "Organisation", "User",
    "UserRole",
]
