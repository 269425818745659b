"""Whether an input's assessments agree: their spread and the score that counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from korona.portfolio.assessment.models import Assessment
from korona.portfolio.scoring import SCORED_CRITERIA

#: The fields of an assessment that assessors score or record; equal fields mean equal scores.
SCORE_FIELDS: tuple[str, ...] = (
    *(c.value for c in SCORED_CRITERIA),
    "effort_hospitals",
    "effort_municipalities",
    "confidence",
)
GATE_FIELDS: tuple[str, ...] = (
    "benefit_groups",
    "delivery_months",
    "dpia_needed",
    "privacy_minimum_met",
    "clinical_safety_minimum_met",
)


class Agreement(StrEnum):
    """Whether an input's scores are settled: the state shown beside its spread."""

    NONE = "none"  # not scored yet
    SINGLE = "single"  # one assessor
    UNANIMOUS = "unanimous"  # several assessors, equal scores
    DIFFER = "differ"  # several assessors disagree: the lead must record the agreed score
    AGREED = "agreed"  # the lead recorded the agreed score


@dataclass(frozen=True)
class Spread:
    """The individual scores of one field, their lowest and highest."""

    field: str
    values: tuple[float, ...]
    low: float
    high: float

    @property
    def differs(self) -> bool:
        """Whether the assessors gave different values."""
        return self.low != self.high


@dataclass(frozen=True)
class InputAssessments:
    """Every assessment of one input and what follows from them."""

    individual: tuple[Assessment, ...]
    agreed: Assessment | None
    agreement: Agreement
    effective: Assessment | None
    spread: tuple[Spread, ...]


def _key(a: Assessment) -> tuple[object, ...]:
    return (
        *(getattr(a, f) for f in SCORE_FIELDS),
        tuple(sorted(a.benefit_groups)),
        *(getattr(a, f) for f in GATE_FIELDS[1:]),
    )


def summarise(rows: Sequence[Assessment]) -> InputAssessments:
    """Return the individual and agreed assessments of one input, their spread and agreement.

    The effective assessment is the agreed one if recorded; otherwise the only one, or the one
    all assessors share; when assessors differ there is none until the lead records it.
    """
    individual = tuple(sorted((a for a in rows if not a.agreed), key=lambda a: a.id))
    agreed = next((a for a in rows if a.agreed), None)
    spread = tuple(
        Spread(f, vals, min(vals), max(vals))
        for f in SCORE_FIELDS
        if (vals := tuple(float(getattr(a, f)) for a in individual))
    )
    if agreed is not None:
        return InputAssessments(individual, agreed, Agreement.AGREED, agreed, spread)
    if not individual:
        return InputAssessments(individual, None, Agreement.NONE, None, spread)
    if len(individual) == 1:
        return InputAssessments(individual, None, Agreement.SINGLE, individual[0], spread)
    if len({_key(a) for a in individual}) == 1:
        return InputAssessments(individual, None, Agreement.UNANIMOUS, individual[0], spread)
    return InputAssessments(individual, None, Agreement.DIFFER, None, spread)
