"""The account vocabulary: roles, organisation kinds and sectors (plain enums, no ORM)."""

from __future__ import annotations

from enum import StrEnum


class OrganisationKind(StrEnum):
    """The kinds of organisation (virksomhetstype) that take part in the portfolio."""

    HEALTH_TRUST = "health_trust"  # helseforetak / RHF
    MUNICIPALITY = "municipality"  # kommune
    KS = "ks"
    HELSEDIREKTORATET = "helsedirektoratet"
    FHI = "fhi"
    NHN = "nhn"
    EHEALTH_DIRECTORATE = "ehealth_directorate"  # Direktoratet for e-helse
    VENDOR = "vendor"  # leverandør
    OTHER = "other"  # annen

    @property
    def is_public(self) -> bool:
        """Return whether organisations of this kind are public bodies."""
        return self not in (OrganisationKind.VENDOR, OrganisationKind.OTHER)


class Sector(StrEnum):
    """The part of the health sector an organisation or need belongs to."""

    SPECIALIST = "specialist"  # spesialisthelsetjenesten
    MUNICIPAL = "municipal"  # kommunehelsetjenesten
    STATE = "state"  # statlig
    BUSINESS = "business"  # næringsliv
    OTHER = "other"  # annet


class Role(StrEnum):
    """What a user may do; a user may hold several roles."""

    PORTFOLIO_OFFICE = "portfolio_office"  # porteføljekontor
    ASSESSOR = "assessor"  # arbeidsgruppe
    DECISION_MEMBER = "decision_member"  # beslutningsgruppe
    OBSERVER = "observer"  # observatør
    NEEDS_REPORTER = "needs_reporter"  # faglinje / kommune
    SUBMITTER = "submitter"  # innsender
    MUNICIPAL_DOCTOR = "municipal_doctor"  # kommunelege
