"""Shapes of assessment requests (pydantic) and of the computed ranking and proposal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from korona.portfolio.gates import BenefitGroup, GateResult
from korona.portfolio.netlist.solver.vocabulary import Pin, Reason, Status, UncoveredNeed
from korona.portfolio.scoring import (
    CONFIDENCE_STEPS,
    CriterionScores,
    ScoreBreakdown,
    Weights,
)
from korona.validation import CLEAN_LINE, CLEAN_TEXT, RowId


def _confidence(value: float) -> float:
    if value not in CONFIDENCE_STEPS:
        raise ValueError("Input should be 0.5, 0.8 or 1.0")
    return value


Score = Annotated[int, Field(ge=0, le=4)]
EffortStep = Literal[1, 2, 3, 5, 8]
ConfidenceStep = Annotated[float, AfterValidator(_confidence)]
Reason_ = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), CLEAN_TEXT]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200), CLEAN_LINE
]


class GroupIn(BaseModel):
    """A new or changed working group."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    theme: Reason_ = ""


class MemberIn(BaseModel):
    """A user added to a working group, as assessor or as lead."""

    model_config = ConfigDict(extra="forbid")

    user_id: RowId
    is_lead: bool = False


class AssessmentIn(BaseModel):
    """One assessor's gates and scores of one input (or the lead's agreed score)."""

    model_config = ConfigDict(extra="forbid")

    benefit_groups: list[BenefitGroup] = []
    delivery_months: Annotated[float, Field(ge=0, le=120)] | None = None
    dpia_needed: bool = False
    privacy_minimum_met: bool = True
    clinical_safety_minimum_met: bool = True
    clinical_benefit: Score
    relief: Score
    severity: Score
    reuse: Score
    time_criticality: Score
    effort_hospitals: EffortStep
    effort_municipalities: EffortStep
    confidence: ConfidenceStep
    reason: Reason_ = ""


class OverlapIn(BaseModel):
    """The overlap gate failed: the input is linked to the solution and becomes covered."""

    model_config = ConfigDict(extra="forbid")

    solution_id: RowId
    reason: Reason_


class NoteIn(BaseModel):
    """A private note."""

    model_config = ConfigDict(extra="forbid")

    body: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), CLEAN_TEXT
    ]


#: A criterion's weight as the decision group enters it, 0 to 100.
Weight = Annotated[float, Field(ge=0, le=100)]


class WeightsIn(BaseModel):
    """A new version of the decision group's weights, with the reason for the change."""

    model_config = ConfigDict(extra="forbid")

    clinical_benefit: Weight
    relief: Weight
    severity: Weight
    reuse: Weight
    time_criticality: Weight
    need_coverage: Weight
    reason: Reason_ = ""


class SettingsIn(BaseModel):
    """The prioritisation settings."""

    model_config = ConfigDict(extra="forbid")

    horizon_months: Annotated[float, Field(gt=0, le=60)]
    size_min: Annotated[int, Field(ge=1, le=200)]
    size_max: Annotated[int, Field(ge=1, le=200)]
    budget_hospitals: Annotated[float, Field(ge=0, le=10_000)]
    budget_municipalities: Annotated[float, Field(ge=0, le=10_000)]
    concentration: Annotated[float, Field(gt=0, le=10_000)]
    draws: Annotated[int, Field(ge=10, le=5000)] = 1000


#: The prioritisation settings until the office saves its own.
DEFAULT_SETTINGS = SettingsIn(
    horizon_months=3.0,
    size_min=15,
    size_max=20,
    budget_hospitals=60.0,
    budget_municipalities=60.0,
    concentration=100.0,
)


class PinIn(BaseModel):
    """Pin an input into or out of the proposal (or clear the pin), with a reason."""

    model_config = ConfigDict(extra="forbid")

    pin: Pin | None
    reason: Reason_ = ""


@dataclass(frozen=True)
class Candidate:
    """An assessed input with its effective scores, gate verdicts and pin."""

    input_id: int
    reference: str
    title: str
    group: str | None
    gates: GateResult
    breakdown: ScoreBreakdown
    scores: CriterionScores
    urgent_needs: tuple[int, ...]
    pin: Pin | None
    pin_reason: str | None


@dataclass(frozen=True)
class ProposalItem:
    """One candidate's place in the proposal: in or out, why, and how stable."""

    candidate: Candidate
    chosen: bool
    reason: Reason
    explanation: str
    probability: float | None


@dataclass(frozen=True)
class Proposal:
    """A solved net-list proposal over every assessed input that passes every gate."""

    status: Status
    weights: Weights
    items: tuple[ProposalItem, ...]
    chosen: tuple[int, ...]
    objective: float | None
    gap: float | None
    solver: str
    uncovered: tuple[UncoveredNeed, ...]
    infeasible_reason: str | None
    gate_failed: tuple[Candidate, ...]
    draws: int
    size: tuple[int, int]
    budgets: tuple[float, float]

    def chosen_items(self) -> list[ProposalItem]:
        """Return the chosen items in the proposal's order (highest priority first)."""
        by_id = {item.candidate.input_id: item for item in self.items}
        return [by_id[input_id] for input_id in self.chosen]


class AssessmentRead(BaseModel):
    """One assessment as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    input_id: int
    assessor_id: int
    agreed: bool
    clinical_benefit: int
    relief: int
    severity: int
    reuse: int
    time_criticality: int
    effort_hospitals: int
    effort_municipalities: int
    confidence: float
    benefit_groups: list[str]
    delivery_months: float | None
    dpia_needed: bool
    privacy_minimum_met: bool
    clinical_safety_minimum_met: bool
    reason: str


class QueueRead(BaseModel):
    """One input of the assessor's queue."""

    input_id: int
    reference: str
    title: str
    working_group: str | None
    agreement: str
    assessors: int
    scored_by_me: bool


class WeightsRead(BaseModel):
    """The current weights (as given, not normalised) and their version."""

    version: int
    weights: dict[str, float]


class ProposalItemRead(BaseModel):
    """One candidate of the proposal."""

    input_id: int
    reference: str
    title: str
    priority: float
    value: float
    parts: dict[str, float]
    chosen: bool
    reason: str
    explanation: str
    probability: float | None
    pin: Pin | None
    pin_reason: str | None


class ProposalRead(BaseModel):
    """The solved proposal."""

    status: Status
    solver: str
    gap: float | None
    objective: float | None
    weights_version: int
    chosen: list[int]
    uncovered_urgent_needs: list[dict[str, str]]
    infeasible_reason: str | None
    draws: int
    items: list[ProposalItemRead]
    gate_failed: list[dict[str, object]]


class DraftRead(BaseModel):
    """A draft net-list version."""

    id: int
    number: int
    status: str
    weights_version: int
    input_ids: list[int]
