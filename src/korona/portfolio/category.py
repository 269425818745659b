"""The managed list of need categories, shared by needs, solutions and inputs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Boolean, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from korona import audit
from korona.audit import AuditAction
from korona.auth.permissions import Principal
from korona.db import Base
from korona.errors import N_, Conflict, InvalidInput
from korona.portfolio.read_cache import remembered


class Category(Base):
    """A need category (behovskategori); retired categories stay for old records."""

    __tablename__ = "category"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_nb: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def name(self, language: str) -> str:
        """Return the category's name in the given language."""
        return self.name_en if language == "en" else self.name_nb


def list_categories(*, session: Session, active_only: bool = False) -> Sequence[Category]:
    """Return the categories in list order."""
    statement = select(Category).order_by(Category.name_nb)
    if active_only:
        statement = statement.where(Category.active.is_(True))
    return session.scalars(statement).all()


def category_codes(*, session: Session) -> set[str]:
    """Return every known category code (asked once inside ``read_cache.cached_reads``)."""
    return remembered(
        "category_codes", lambda: set(session.scalars(select(Category.code))), session=session
    )


def add_category(
    principal: Principal, *, session: Session, code: str, name_nb: str, name_en: str
) -> Category:
    """Add a category to the managed list."""
    code = code.strip().lower()
    if not code.replace("_", "").isalnum() or len(code) > 40:
        raise InvalidInput(
            N_("A category code uses letters, digits and underscores only (at most 40)"),
            field="code",
        )
    if not name_nb.strip() or not name_en.strip():
        raise InvalidInput(N_("A category needs a Norwegian and an English name"), field="name_nb")
    if session.get(Category, code) is not None:
        raise Conflict(N_("Category '{code}' exists already"), field="code", code=code)
    category = Category(code=code, name_nb=name_nb.strip(), name_en=name_en.strip(), active=True)
    session.add(category)
    session.flush()
    audit.record(
        principal,
        AuditAction.CREATE,
        "category",
        code,
        session=session,
        after=audit.snapshot(category),
    )
    return category
