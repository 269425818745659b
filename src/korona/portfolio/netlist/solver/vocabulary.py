"""What goes into and comes out of a net-list proposal: pins, candidates, limits, reasons."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class Pin(StrEnum):
    """A planner's decision that overrides the solver for one candidate."""

    IN = "in"
    OUT = "out"


class Status(StrEnum):
    """Whether a list satisfying every hard constraint exists."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"


class Reason(StrEnum):
    """Why a candidate is in or out of the proposal."""

    PINNED_IN = "pinned_in"
    URGENT_NEED = "urgent_need"
    TOP_PRIORITY = "top_priority"
    FITS_BUDGET = "fits_budget"
    PINNED_OUT = "pinned_out"
    GATE_FAILED = "gate_failed"
    BUDGET_BINDING = "budget_binding"
    DOMINATED = "dominated"
    ZERO_PRIORITY = "zero_priority"
    INFEASIBLE = "infeasible"


@dataclass(frozen=True)
class Candidate:
    """An input that may enter the net list, with what the proposal needs to know about it."""

    id: str | int
    priority: float
    effort_hospitals: float
    effort_municipalities: float
    covers_urgent_needs: tuple[str | int, ...] = ()
    pinned: Pin | None = None
    gate_failures: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("priority", "effort_hospitals", "effort_municipalities"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"candidate {self.id!r}: {name} must be a finite number ≥ 0")


@dataclass(frozen=True)
class Limits:
    """The proposal's hard limits: list size and each sector's effort budget."""

    budget_hospitals: float
    budget_municipalities: float
    size_min: int = 15
    size_max: int = 20

    def __post_init__(self) -> None:
        if not (0 <= self.size_min <= self.size_max) or self.size_max < 1:
            raise ValueError("the list size must satisfy 0 ≤ min ≤ max and max ≥ 1")
        for name in ("budget_hospitals", "budget_municipalities"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number ≥ 0")


@dataclass(frozen=True)
class Explanation:
    """Why one candidate is in or out, derived from the solution."""

    id: str | int
    chosen: bool
    reason: Reason
    text: str


@dataclass(frozen=True)
class UncoveredNeed:
    """An urgent need (urgency 4) that the proposal leaves uncovered, and why."""

    need: str | int
    reason: str


@dataclass(frozen=True)
class Proposal:
    """The solved proposal: the chosen ids by priority, the objective, its proof and reasons."""

    status: Status
    chosen: tuple[str | int, ...]
    objective: float | None
    gap: float | None
    uncovered: tuple[UncoveredNeed, ...]
    explanations: tuple[Explanation, ...]
    solver: str
    infeasible_reason: str | None = None


@dataclass(frozen=True)
class Sensitivity:
    """Each candidate's probability of being in the proposed list under weight draws."""

    status: Status
    probabilities: np.ndarray
    draws: int
    by_relaxation: int
    by_lp: int
    by_solver: int
