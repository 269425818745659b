"""The vocabulary of a consultation: how patient and doctor met, and where."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ContactType", "PracticeType"]


class ContactType(StrEnum):
    """How patient and doctor met, derived from the fee code (takst)."""

    IN_PERSON = "in_person"
    TELEPHONE = "telephone"
    E_CONSULTATION = "e_consultation"


class PracticeType(StrEnum):
    """GP office (legekontor) or out-of-hours clinic (legevakt)."""

    GP = "gp"
    OUT_OF_HOURS = "out_of_hours"
