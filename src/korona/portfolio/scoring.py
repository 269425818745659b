"""Prioritisation maths (prioritering): criteria, weights, value, priority, rank, weight draws."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum

import numpy as np

from korona.portfolio.gates import GateResult


class Criterion(StrEnum):
    """A criterion an input is valued on; all but need coverage are scored by assessors."""

    CLINICAL_BENEFIT = "clinical_benefit"  # klinisk nytte
    RELIEF = "relief"  # avlastning av helsepersonell
    SEVERITY = "severity"  # alvorlighet
    REUSE = "reuse"  # gjenbruk av eksisterende nasjonale løsninger
    TIME_CRITICALITY = "time_criticality"  # tidskritikalitet
    NEED_COVERAGE = "need_coverage"  # behovsdekning: computed from the linked needs


#: Every criterion in the fixed order used by arrays (columns of score matrices, weight vectors).
CRITERIA: tuple[Criterion, ...] = tuple(Criterion)
_NAMES = tuple(c.value for c in CRITERIA)
#: The criteria assessors score by hand; need coverage is computed by `need_coverage`.
SCORED_CRITERIA: tuple[Criterion, ...] = CRITERIA[:-1]
#: The top of every criterion scale; scores are divided by it to normalise them to [0, 1].
SCALE_MAX = 4

#: Implementation effort (innføringsinnsats) steps, for hospitals and for municipalities alike.
EFFORT_STEPS: tuple[int, ...] = (1, 2, 3, 5, 8)
#: How sure the assessors are of their scores (konfidens).
CONFIDENCE_STEPS: tuple[float, ...] = (0.5, 0.8, 1.0)

#: Values of `korona.auth.models.Sector` that count as hospitals and as municipalities, repeated
#: as plain strings so this module stays free of the ORM (a unit test keeps them equal).
HOSPITAL_SECTOR = "specialist"
MUNICIPAL_SECTOR = "municipal"


@dataclass(frozen=True)
class Anchor:
    """The text shown beside one step of a scale, in Norwegian bokmål and English."""

    step: float
    nb: str
    en: str


def _scale(*texts: tuple[str, str]) -> tuple[Anchor, ...]:
    return tuple(Anchor(step, nb, en) for step, (nb, en) in enumerate(texts))


#: Anchored 0–4 scale of every scored criterion.
ANCHORS: dict[Criterion, tuple[Anchor, ...]] = {
    Criterion.CLINICAL_BENEFIT: _scale(
        ("Ingen påvist klinisk nytte", "No clinical benefit shown"),
        ("Liten nytte for få pasienter", "Small benefit for few patients"),
        (
            "Moderat nytte for en avgrenset pasientgruppe",
            "Moderate benefit for a defined patient group",
        ),
        ("Tydelig nytte for mange pasienter", "Clear benefit for many patients"),
        (
            "Stor nytte: bedre utfall eller færre alvorlige forløp for mange",
            "Large benefit: better outcomes or fewer severe courses for many",
        ),
    ),
    Criterion.RELIEF: _scale(
        ("Ingen avlastning, eller mer arbeid", "No relief, or more work"),
        ("Sparer noen minutter i uka for få", "Saves a few minutes a week for a few staff"),
        ("Merkbar avlastning for én yrkesgruppe", "Noticeable relief for one professional group"),
        (
            "Tydelig avlastning for flere yrkesgrupper eller tjenester",
            "Clear relief for several professional groups or services",
        ),
        (
            "Frigjør betydelig kapasitet der presset er størst",
            "Frees substantial capacity where the pressure is greatest",
        ),
    ),
    Criterion.SEVERITY: _scale(
        ("Ingen helsemessig konsekvens", "No health consequence"),
        ("Milde plager", "Mild discomfort"),
        (
            "Moderat helsetap eller forsinket behandling",
            "Moderate health loss or delayed treatment",
        ),
        ("Alvorlig helsetap for noen", "Severe health loss for some"),
        ("Livstruende eller varig helsetap", "Life-threatening or permanent health loss"),
    ),
    Criterion.REUSE: _scale(
        ("Ny løsning bygget fra grunnen", "New solution built from scratch"),
        (
            "Ny løsning som følger nasjonale standarder",
            "New solution that follows national standards",
        ),
        (
            "Bygger delvis på eksisterende nasjonale komponenter",
            "Partly built on existing national components",
        ),
        ("Tilpasning av en eksisterende nasjonal løsning", "Adapts an existing national solution"),
        (
            "Tas i bruk som den er (helsenorge.no, NHNs video)",
            "Used as it is (helsenorge.no, NHN's video)",
        ),
    ),
    Criterion.TIME_CRITICALITY: _scale(
        ("Ingen tidsfrist", "No deadline"),
        ("Nyttig innen et år", "Useful within a year"),
        ("Bør være på plass innen tre måneder", "Should be in place within three months"),
        ("Må være på plass innen fire uker", "Must be in place within four weeks"),
        ("Må være på plass innen en uke", "Must be in place within a week"),
    ),
}

#: Anchor text of each effort step (the same scale for hospitals and municipalities).
EFFORT_ANCHORS: tuple[Anchor, ...] = (
    Anchor(
        1, "Minimal: innstillinger eller opplæring, dager", "Minimal: settings or training, days"
    ),
    Anchor(2, "Liten: noen uker, ett team", "Small: a few weeks, one team"),
    Anchor(
        3, "Middels: en til to måneder, flere enheter", "Medium: one to two months, several units"
    ),
    Anchor(
        5,
        "Stor: flere måneder, integrasjon eller anskaffelse",
        "Large: several months, integration or procurement",
    ),
    Anchor(
        8,
        "Svært stor: ny infrastruktur eller endret organisering",
        "Very large: new infrastructure or reorganisation",
    ),
)

#: Anchor text of each confidence step.
CONFIDENCE_ANCHORS: tuple[Anchor, ...] = (
    Anchor(0.5, "Lav: bygger på antakelser", "Low: rests on assumptions"),
    Anchor(0.8, "Middels: noe dokumentasjon eller erfaring", "Medium: some evidence or experience"),
    Anchor(1.0, "Høy: dokumentert effekt og innsats", "High: documented effect and effort"),
)


@dataclass(frozen=True)
class Weights:
    """One version of the decision group's criterion weights (vekter), normalised when used.

    The defaults (version 1) put needs first: clinical benefit 0.25, relief of health personnel
    0.20, severity 0.15, need coverage 0.15, reuse of national solutions 0.15, time criticality
    0.10. Weights need not sum to 1; `as_array` divides by their sum.
    """

    version: int = 1
    clinical_benefit: float = 0.25
    relief: float = 0.20
    severity: float = 0.15
    reuse: float = 0.15
    time_criticality: float = 0.10
    need_coverage: float = 0.15

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ValueError("the weights' version must be 1 or more")
        values = [getattr(self, c.value) for c in CRITERIA]
        if any(not math.isfinite(v) or v < 0 for v in values):
            raise ValueError("every weight must be a finite number of at least 0")
        if sum(values) <= 0:
            raise ValueError("at least one weight must be above 0")

    @classmethod
    def from_mapping(cls, version: int, weights: Mapping[str, float]) -> Weights:
        """Build weights from a criterion → weight mapping; missing criteria weigh 0."""
        unknown = set(weights) - {c.value for c in CRITERIA}
        if unknown:
            raise ValueError(f"unknown criteria: {', '.join(sorted(unknown))}")
        return cls(version=version, **{c.value: float(weights.get(c.value, 0.0)) for c in CRITERIA})

    def as_dict(self) -> dict[str, float]:
        """Return criterion → weight as given (not normalised)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "version"}

    def as_array(self) -> np.ndarray:
        """Return the weights in `CRITERIA` order, normalised to sum to 1."""
        return self._normalised.copy()

    @functools.cached_property
    def _normalised(self) -> np.ndarray:
        raw = np.array([getattr(self, name) for name in _NAMES], dtype=float)
        return raw / raw.sum()


DEFAULT_WEIGHTS = Weights()


def need_coverage(needs: Iterable[tuple[int, str]]) -> float:
    """Compute the need-coverage score (0–4) from the linked needs' (urgency, sector) pairs.

    Each need adds urgency/4 to a mass m (a critical need adds 1, one that can wait 0.25); the
    score is 3·(1 − 2^(−m)), which rises with every need but saturates below 3 so that many small
    needs cannot outweigh a few critical ones, plus 1 when the needs come from both hospitals
    (specialist) and municipalities. One critical need scores 1.5, two 2.25, one critical hospital
    need and one critical municipal need 3.25, no needs 0.

    Parameters: needs — (urgency 1–4, sector value) per linked need.
    Returns: a score in [0, 4); adding a need or raising an urgency never lowers it.
    """
    mass = 0.0
    sectors: set[str] = set()
    for urgency, sector in needs:
        if urgency not in (1, 2, 3, 4):
            raise ValueError(f"urgency must be 1–4, not {urgency}")
        mass += urgency / 4
        sectors.add(sector)
    both = HOSPITAL_SECTOR in sectors and MUNICIPAL_SECTOR in sectors
    return 3.0 * (1.0 - 2.0**-mass) + (1.0 if both else 0.0)


@dataclass(frozen=True)
class CriterionScores:
    """One input's scores: five criteria 0–4, computed need coverage, efforts and confidence."""

    clinical_benefit: float
    relief: float
    severity: float
    reuse: float
    time_criticality: float
    need_coverage: float
    effort_hospitals: int
    effort_municipalities: int
    confidence: float

    def __post_init__(self) -> None:
        for criterion in CRITERIA:
            value = getattr(self, criterion.value)
            if not (0 <= value <= SCALE_MAX):
                raise ValueError(
                    f"{criterion.value} must be between 0 and {SCALE_MAX}, not {value}"
                )
        for name in ("effort_hospitals", "effort_municipalities"):
            if getattr(self, name) not in EFFORT_STEPS:
                raise ValueError(f"{name} must be one of {EFFORT_STEPS}, not {getattr(self, name)}")
        if self.confidence not in CONFIDENCE_STEPS:
            raise ValueError(f"confidence must be one of {CONFIDENCE_STEPS}, not {self.confidence}")

    def criterion_vector(self) -> np.ndarray:
        """Return the six criterion scores in `CRITERIA` order, normalised to [0, 1]."""
        return np.array([getattr(self, name) for name in _NAMES], dtype=float) / SCALE_MAX


def combined_effort(
    effort_hospitals: np.ndarray | float, effort_municipalities: np.ndarray | float
):
    """Return the effort that divides value: the larger of the hospital and municipal efforts.

    An input is as hard to carry out as its hardest side; each side's total is bounded
    separately by the budgets of the proposal, so the smaller side is not lost.
    """
    return np.maximum(effort_hospitals, effort_municipalities)


@dataclass(frozen=True)
class Part:
    """One criterion's share of a value: w·s/4."""

    criterion: Criterion
    score: float
    normalised: float
    weight: float
    contribution: float


@dataclass(frozen=True)
class ScoreBreakdown:
    """A priority broken into its parts: P = V·confidence / effort with V = Σ wᵢ·sᵢ/4."""

    parts: tuple[Part, ...]
    value: float
    confidence: float
    effort_hospitals: int
    effort_municipalities: int
    effort: int
    priority: float
    weights_version: int


def score(scores: CriterionScores, weights: Weights = DEFAULT_WEIGHTS) -> ScoreBreakdown:
    """Value and prioritise one input, keeping every part of the sum."""
    w = weights.as_array()
    s = scores.criterion_vector()
    parts = tuple(
        Part(c, getattr(scores, c.value), float(s[i]), float(w[i]), float(w[i] * s[i]))
        for i, c in enumerate(CRITERIA)
    )
    value = float(sum(p.contribution for p in parts))
    effort = int(combined_effort(scores.effort_hospitals, scores.effort_municipalities))
    return ScoreBreakdown(
        parts=parts,
        value=value,
        confidence=scores.confidence,
        effort_hospitals=scores.effort_hospitals,
        effort_municipalities=scores.effort_municipalities,
        effort=effort,
        priority=value * scores.confidence / effort,
        weights_version=weights.version,
    )


def unit_priorities(items: Sequence[CriterionScores]) -> np.ndarray:
    """Return A with A[j, i] = sᵢⱼ/4 · confidenceⱼ / effortⱼ, so that priorities are A @ w.

    Because P is linear in the weights, one matrix product gives every candidate's priority
    under every weight draw.
    """
    if not items:
        return np.zeros((0, len(CRITERIA)))
    s = np.stack([item.criterion_vector() for item in items])
    confidence = np.array([item.confidence for item in items])
    effort = combined_effort(
        np.array([item.effort_hospitals for item in items], dtype=float),
        np.array([item.effort_municipalities for item in items], dtype=float),
    )
    return s * (confidence / effort)[:, None]


def priorities(unit: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return priorities for weights of shape (k,) → (n,) or for draws of shape (d, k) → (d, n)."""
    return weights @ unit.T


def draw_weights(weights: Weights, concentration: float, draws: int, seed: int) -> np.ndarray:
    """Draw weight vectors from a Dirichlet distribution centred on the chosen weights.

    Parameters: concentration — α₀ in Dir(α₀·w); each drawn wᵢ has mean wᵢ and variance
    wᵢ(1 − wᵢ)/(α₀ + 1), so 100 gives a standard deviation of about 0.04 around a weight of
    0.25. Criteria weighted 0 stay 0. draws — how many vectors; seed — for reproducible draws.
    Returns: (draws, len(CRITERIA)) array, each row summing to 1.
    """
    if concentration <= 0 or not math.isfinite(concentration):
        raise ValueError("the concentration must be a finite number above 0")
    if draws < 1:
        raise ValueError("draw at least one weight vector")
    w = weights.as_array()
    positive = w > 0
    out = np.zeros((draws, len(w)))
    out[:, positive] = np.random.default_rng(seed).dirichlet(concentration * w[positive], draws)
    return out


@dataclass(frozen=True)
class Ranked:
    """A candidate that passed every gate, with its score broken into parts."""

    id: str | int
    breakdown: ScoreBreakdown


def rank(
    candidates: Iterable[tuple[str | int, CriterionScores, GateResult]],
    weights: Weights = DEFAULT_WEIGHTS,
) -> list[Ranked]:
    """Rank the candidates that pass every gate by priority, highest first (ties by id)."""
    ranked = [Ranked(cid, score(s, weights)) for cid, s, gates in candidates if gates.passed]
    return sorted(ranked, key=lambda r: (-r.breakdown.priority, str(r.id)))
