"""ORM models of the decision group's meetings and of decisions on net-list versions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from korona.auth.models import User, enum_column
from korona.db import Base, UTCDateTime
from korona.portfolio.columns import owner_key, timestamp_column


class Capacity(StrEnum):
    """In what capacity someone attends a meeting of the decision group (beslutningsgruppe)."""

    MEMBER = "member"  # medlem: decides
    OBSERVER = "observer"  # observatør: reads and comments, decides nothing


class Meeting(Base):
    """A meeting (møte) of the decision group, with attendees, agenda and minutes."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    minutes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = timestamp_column()

    # Loaded when used (the meeting page), not with every decision that names the meeting.
    attendees: Mapped[list[MeetingAttendee]] = relationship(
        lazy="select", cascade="all, delete-orphan", order_by="MeetingAttendee.id"
    )
    agenda: Mapped[list[AgendaItem]] = relationship(
        lazy="select", cascade="all, delete-orphan", order_by="AgendaItem.position"
    )
    comments: Mapped[list[MeetingComment]] = relationship(
        lazy="select", cascade="all, delete-orphan", order_by="MeetingComment.id"
    )


class MeetingAttendee(Base):
    """Someone present at a meeting, as member or observer."""

    __tablename__ = "meeting_attendee"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = owner_key("meeting.id")
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    capacity: Mapped[Capacity] = mapped_column(enum_column(Capacity))

    user: Mapped[User] = relationship(lazy="joined")


class AgendaItem(Base):
    """One item on a meeting's agenda; its decision (vedtak) is the minutes' text for it."""

    __tablename__ = "agenda_item"
    __table_args__ = (UniqueConstraint("meeting_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = owner_key("meeting.id")
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(Text, default="")
    netlist_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("netlist_version.id", ondelete="SET NULL")
    )


class MeetingComment(Base):
    """A comment on a meeting by a member, an observer or the office."""

    __tablename__ = "meeting_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = owner_key("meeting.id")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp_column()

    user: Mapped[User | None] = relationship(lazy="joined")


class NetlistDecision(Base):
    """Who approved a net-list version in which meeting, and who published it when.

    Once the version is published a database trigger refuses any change to this row.
    """

    __tablename__ = "netlist_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("netlist_version.id", ondelete="CASCADE"), unique=True
    )
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    approved_at: Mapped[datetime] = timestamp_column()
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    meeting: Mapped[Meeting] = relationship(lazy="joined")
    approved_by: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[approved_by_id])


class NetlistChangeReason(Base):
    """The recorded reason why an input came in, went out or moved in a version."""

    __tablename__ = "netlist_change_reason"
    __table_args__ = (UniqueConstraint("version_id", "input_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = owner_key("netlist_version.id")
    input_id: Mapped[int] = mapped_column(ForeignKey("proposal_input.id"))
    reason: Mapped[str] = mapped_column(Text)
