"""The pass/fail gates (terskelkrav) an input must meet before it is ranked, with reasons."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Gate(StrEnum):
    """A pass/fail condition an input must meet before it is ranked."""

    BENEFIT_GROUP = "benefit_group"  # nytte for minst én gruppe
    HORIZON = "horizon"  # leverbart innen krisehorisonten
    OVERLAP = "overlap"  # ingen overlapp med tiltak eller eksisterende løsning
    SAFETY = "safety"  # personvern og pasientsikkerhet, minimum


class BenefitGroup(StrEnum):
    """Who an input benefits."""

    CITIZENS = "citizens"  # innbyggere
    HEALTH_PERSONNEL = "health_personnel"  # helsepersonell
    AUTHORITIES = "authorities"  # myndigheter


#: The crisis horizon in months unless the settings say otherwise.
DEFAULT_HORIZON_MONTHS = 3.0


@dataclass(frozen=True)
class GateFacts:
    """What the gates are checked against, as recorded by the assessor."""

    benefit_groups: frozenset[BenefitGroup]
    delivery_months: float | None
    overlaps: tuple[str, ...] = ()
    dpia_needed: bool = False
    privacy_minimum_met: bool = True
    clinical_safety_minimum_met: bool = True


@dataclass(frozen=True)
class GateOutcome:
    """One gate's verdict with its reason in English and Norwegian."""

    gate: Gate
    passed: bool
    reason: str
    reason_nb: str


@dataclass(frozen=True)
class GateResult:
    """Every gate's verdict; an input passes only if all gates pass."""

    outcomes: tuple[GateOutcome, ...]
    dpia_flagged: bool

    @property
    def passed(self) -> bool:
        """Whether every gate passed."""
        return all(o.passed for o in self.outcomes)

    @property
    def failures(self) -> tuple[str, ...]:
        """The English reasons of the gates that failed."""
        return tuple(o.reason for o in self.outcomes if not o.passed)


def check_gates(facts: GateFacts, horizon_months: float = DEFAULT_HORIZON_MONTHS) -> GateResult:
    """Check the four gates and give a reason for each verdict."""
    groups = ", ".join(sorted(g.value.replace("_", " ") for g in facts.benefit_groups))
    benefit = (
        GateOutcome(Gate.BENEFIT_GROUP, True, f"benefits {groups}", f"nytte for {groups}")
        if facts.benefit_groups
        else GateOutcome(
            Gate.BENEFIT_GROUP,
            False,
            "benefits none of citizens, health personnel or authorities",
            "gir ikke nytte for innbyggere, helsepersonell eller myndigheter",
        )
    )
    if facts.delivery_months is None:
        horizon = GateOutcome(
            Gate.HORIZON, False, "no delivery estimate", "mangler anslag for leveransetid"
        )
    elif facts.delivery_months > horizon_months:
        horizon = GateOutcome(
            Gate.HORIZON,
            False,
            f"delivery in {facts.delivery_months:g} months is beyond the "
            f"{horizon_months:g}-month crisis horizon",
            f"levering om {facts.delivery_months:g} måneder er utenfor krisehorisonten på "
            f"{horizon_months:g} måneder",
        )
    else:
        horizon = GateOutcome(
            Gate.HORIZON,
            True,
            f"deliverable in {facts.delivery_months:g} of {horizon_months:g} months",
            f"kan leveres på {facts.delivery_months:g} av {horizon_months:g} måneder",
        )
    overlap = (
        GateOutcome(
            Gate.OVERLAP,
            False,
            f"overlaps with {'; '.join(facts.overlaps)}: link it and mark the input covered",
            f"overlapper med {'; '.join(facts.overlaps)}: koble til og marker innspillet dekket",
        )
        if facts.overlaps
        else GateOutcome(Gate.OVERLAP, True, "no overlap found", "ingen overlapp funnet")
    )
    missing_en = [
        text
        for met, text in (
            (facts.privacy_minimum_met, "data-protection minimum not met"),
            (facts.clinical_safety_minimum_met, "clinical-safety minimum not met"),
        )
        if not met
    ]
    missing_nb = [
        text
        for met, text in (
            (facts.privacy_minimum_met, "minimumskrav til personvern er ikke oppfylt"),
            (
                facts.clinical_safety_minimum_met,
                "minimumskrav til pasientsikkerhet er ikke oppfylt",
            ),
        )
        if not met
    ]
    dpia_en = " (DPIA needed)" if facts.dpia_needed else ""
    dpia_nb = " (DPIA nødvendig)" if facts.dpia_needed else ""
    safety = (
        GateOutcome(
            Gate.SAFETY, False, "; ".join(missing_en) + dpia_en, "; ".join(missing_nb) + dpia_nb
        )
        if missing_en
        else GateOutcome(
            Gate.SAFETY,
            True,
            "data-protection and clinical-safety minimum met" + dpia_en,
            "minimumskrav til personvern og pasientsikkerhet er oppfylt" + dpia_nb,
        )
    )
    return GateResult((benefit, horizon, overlap, safety), dpia_flagged=facts.dpia_needed)
