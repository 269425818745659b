"""ORM models of an input (innspill), its links, attachments, messages and letter templates."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from korona.auth.models import Organisation, enum_column
from korona.db import Base, UTCDateTime, utcnow
from korona.portfolio.assessment.models import WorkingGroup
from korona.portfolio.columns import TemplateText, owner_key, timestamp_column
from korona.portfolio.solution.models import Solution


class InputKind(StrEnum):
    """What an actor submits."""

    IDEA = "idea"  # idé
    PROPOSAL = "proposal"  # forslag
    OFFER = "offer"  # tilbud


class InputStatus(StrEnum):
    """Where an input is: received, then one triage outcome."""

    RECEIVED = "received"  # mottatt
    IN_ASSESSMENT = "in_assessment"  # sendt til arbeidsgruppe
    COVERED = "covered"  # dekket av eksisterende løsning
    DUPLICATE = "duplicate"  # slått sammen med et annet innspill
    DECLINED = "declined"  # avslått


class Effort(StrEnum):
    """Self-reported implementation effort (innføringsinnsats)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    UNKNOWN = "unknown"


def _effort_column(name: str) -> Enum:
    """Return the Effort column type under its own name (its CHECK constraint is named after it)."""
    return Enum(
        Effort,
        values_callable=lambda members: [member.value for member in members],
        native_enum=False,
        create_constraint=True,
        length=40,
        name=name,
        validate_strings=True,
    )


class LetterKind(StrEnum):
    """The letters (brev) the submitter gets; each has an editable template per language."""

    RECEIPT = "receipt"  # kvittering
    COVERED = "covered"
    DUPLICATE = "duplicate"
    IN_ASSESSMENT = "in_assessment"
    DECLINED = "declined"


class Input(Base):
    """An input (innspill) – an idea, proposal or offer – with its triage outcome."""

    __tablename__ = "proposal_input"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    kind: Mapped[InputKind] = mapped_column(enum_column(InputKind))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    organisation_name: Mapped[str] = mapped_column(String(200))
    is_public: Mapped[bool] = mapped_column(Boolean)
    commercial: Mapped[bool] = mapped_column(Boolean, default=False)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    effort_hospitals: Mapped[Effort] = mapped_column(
        _effort_column("effort_hospitals"), default=Effort.UNKNOWN
    )
    effort_municipalities: Mapped[Effort] = mapped_column(
        _effort_column("effort_municipalities"), default=Effort.UNKNOWN
    )
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(5), default="nb")
    submitted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    token_salt: Mapped[str] = mapped_column(String(32))
    status: Mapped[InputStatus] = mapped_column(
        enum_column(InputStatus), default=InputStatus.RECEIVED, index=True
    )
    covered_by_id: Mapped[int | None] = mapped_column(ForeignKey("solution.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("proposal_input.id"))
    working_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("working_group.id", ondelete="SET NULL"), index=True
    )
    outcome_note: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    first_feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the office dealt with an input whose status stays "received" (linked to needs):
    #: it has left the triage queue.
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = timestamp_column()

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    covered_by: Mapped[Solution | None] = relationship(lazy="joined")
    duplicate_of: Mapped[Input | None] = relationship(remote_side=[id], lazy="select")
    need_links: Mapped[list[InputNeed]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", foreign_keys="InputNeed.input_id"
    )
    group: Mapped[WorkingGroup | None] = relationship(lazy="joined")

    @property
    def working_group(self) -> str | None:
        """Return the name of the working group assessing this input, if any."""
        return self.group.name if self.group else None

    @property
    def need_ids(self) -> list[int]:
        """Return the ids of the needs this input is linked to."""
        return sorted(link.need_id for link in self.need_links)


class InputNeed(Base):
    """A link from an input to a need it addresses."""

    __tablename__ = "input_need"
    __table_args__ = (UniqueConstraint("input_id", "need_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    input_id: Mapped[int] = owner_key("proposal_input.id")
    need_id: Mapped[int] = owner_key("need.id")
    #: The merged input this link was carried over from (undoing the merge removes it).
    merged_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposal_input.id", ondelete="CASCADE")
    )


class InputAttachment(Base):
    """A file sent with an input; stored under data_dir/attachments by its storage name."""

    __tablename__ = "input_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    input_id: Mapped[int] = owner_key("proposal_input.id")
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = timestamp_column()


class InputMessage(Base):
    """A message sent to the submitter; they see every one on their status page."""

    __tablename__ = "input_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    input_id: Mapped[int] = owner_key("proposal_input.id")
    letter: Mapped[LetterKind] = mapped_column(enum_column(LetterKind))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = timestamp_column()


class LetterTemplate(TemplateText, Base):
    """An editable letter template (brevmal) in one language; ``{name}`` fields are filled in."""

    __tablename__ = "letter_template"
    __table_args__ = (UniqueConstraint("letter", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter: Mapped[LetterKind] = mapped_column(enum_column(LetterKind))
