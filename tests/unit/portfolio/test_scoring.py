"""Laws of the prioritisation maths and of the exact net-list proposal, brute force as reference."""

import itertools
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from korona.auth.models import Sector
from korona.portfolio import scoring as sc
from korona.portfolio.gates import BenefitGroup, Gate, GateFacts, check_gates
from korona.portfolio.netlist.solver.proposal import propose
from korona.portfolio.netlist.solver.sensitivity import inclusion_probabilities
from korona.portfolio.netlist.solver.vocabulary import Candidate, Limits, Pin, Reason, Status

SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

score_values = st.integers(0, 4)
criterion_scores = st.builds(
    sc.CriterionScores,
    clinical_benefit=score_values,
    relief=score_values,
    severity=score_values,
    reuse=score_values,
    time_criticality=score_values,
    need_coverage=st.floats(0, 4),
    effort_hospitals=st.sampled_from(sc.EFFORT_STEPS),
    effort_municipalities=st.sampled_from(sc.EFFORT_STEPS),
    confidence=st.sampled_from(sc.CONFIDENCE_STEPS),
)
weights = st.builds(
    sc.Weights,
    version=st.integers(1, 9),
    **{c.value: st.floats(0.01, 1) for c in sc.CRITERIA},
)
needs = st.lists(
    st.tuples(st.integers(1, 4), st.sampled_from([s.value for s in Sector])), max_size=6
)


# --- scales, weights and need coverage -------------------------------------------------------


def test_every_scored_criterion_has_five_anchors_in_both_languages():
    assert set(sc.ANCHORS) == set(sc.SCORED_CRITERIA)
    for anchors in sc.ANCHORS.values():
        assert [a.step for a in anchors] == [0, 1, 2, 3, 4]
        assert all(a.nb and a.en and a.nb != a.en for a in anchors)
    assert tuple(a.step for a in sc.EFFORT_ANCHORS) == sc.EFFORT_STEPS
    assert tuple(a.step for a in sc.CONFIDENCE_ANCHORS) == sc.CONFIDENCE_STEPS


def test_sector_strings_match_the_orm_enum():
    assert (sc.HOSPITAL_SECTOR, sc.MUNICIPAL_SECTOR) == (Sector.SPECIALIST, Sector.MUNICIPAL)


def test_default_weights_are_version_1_and_sum_to_one():
    w = sc.DEFAULT_WEIGHTS
    assert w.version == 1
    assert w.as_array().sum() == pytest.approx(1)
    assert w.as_array()[0] == max(w.as_array())  # clinical benefit weighs most


@pytest.mark.parametrize(
    "kwargs",
    [
        {"version": 0},
        {"relief": -0.1},
        {"severity": float("nan")},
        {c.value: 0.0 for c in sc.CRITERIA},
    ],
)
def test_invalid_weights_are_refused(kwargs):
    with pytest.raises(ValueError):
        sc.Weights(**kwargs)


def test_weights_from_mapping_normalise_and_refuse_unknown_criteria():
    w = sc.Weights.from_mapping(3, {"clinical_benefit": 2, "relief": 2})
    assert w.version == 3
    np.testing.assert_allclose(w.as_array(), [0.5, 0.5, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="unknown criteria: beauty"):
        sc.Weights.from_mapping(1, {"beauty": 1})


def test_need_coverage_anchor_points():
    critical_h = (4, sc.HOSPITAL_SECTOR)
    critical_m = (4, sc.MUNICIPAL_SECTOR)
    assert sc.need_coverage([]) == 0
    assert sc.need_coverage([critical_h]) == pytest.approx(1.5)
    assert sc.need_coverage([critical_h, critical_h]) == pytest.approx(2.25)
    assert sc.need_coverage([critical_h, critical_m]) == pytest.approx(3.25)
    with pytest.raises(ValueError):
        sc.need_coverage([(5, sc.HOSPITAL_SECTOR)])


@given(needs, st.tuples(st.integers(1, 4), st.sampled_from([s.value for s in Sector])))
def test_adding_a_need_never_lowers_need_coverage(linked, extra):
    before = sc.need_coverage(linked)
    assert 0 <= before < 4
    assert sc.need_coverage([*linked, extra]) >= before


@given(needs.filter(bool), st.data())
def test_raising_an_urgency_never_lowers_need_coverage(linked, data):
    i = data.draw(st.integers(0, len(linked) - 1))
    urgency, sector = linked[i]
    raised = [*linked]
    raised[i] = (min(urgency + 1, 4), sector)
    assert sc.need_coverage(raised) >= sc.need_coverage(linked)


# --- value and priority ----------------------------------------------------------------------


@given(criterion_scores, weights, st.sampled_from(sc.CRITERIA), st.floats(0, 4))
def test_raising_a_criterion_score_never_lowers_priority(scores, w, criterion, new):
    current = getattr(scores, criterion.value)
    assume(new >= current)
    fields = {f: getattr(scores, f) for f in scores.__dataclass_fields__}
    raised = sc.CriterionScores(**{**fields, criterion.value: new})
    assert sc.score(raised, w).priority >= sc.score(scores, w).priority


@given(criterion_scores, weights, st.sampled_from(["effort_hospitals", "effort_municipalities"]))
def test_raising_an_effort_never_raises_priority(scores, w, side):
    fields = {f: getattr(scores, f) for f in scores.__dataclass_fields__}
    higher = [e for e in sc.EFFORT_STEPS if e >= fields[side]]
    for effort in higher:
        more = sc.CriterionScores(**{**fields, side: effort})
        assert sc.score(more, w).priority <= sc.score(scores, w).priority


@given(criterion_scores, weights)
def test_breakdown_adds_up(scores, w):
    b = sc.score(scores, w)
    assert b.value == pytest.approx(sum(p.contribution for p in b.parts))
    assert [p.criterion for p in b.parts] == list(sc.CRITERIA)
    assert b.effort == max(scores.effort_hospitals, scores.effort_municipalities)
    assert b.priority == pytest.approx(b.value * scores.confidence / b.effort)
    assert 0 <= b.value <= 1
    assert b.weights_version == w.version


@given(st.lists(criterion_scores, min_size=1, max_size=8), weights)
def test_vectorised_priorities_equal_the_one_at_a_time_score(items, w):
    unit = sc.unit_priorities(items)
    np.testing.assert_allclose(
        sc.priorities(unit, w.as_array()), [sc.score(i, w).priority for i in items], atol=1e-12
    )


@pytest.mark.parametrize(
    "field,value", [("relief", 5), ("effort_hospitals", 4), ("confidence", 0.7)]
)
def test_out_of_scale_scores_are_refused(field, value):
    fields = dict(
        clinical_benefit=1,
        relief=1,
        severity=1,
        reuse=1,
        time_criticality=1,
        need_coverage=1.0,
        effort_hospitals=1,
        effort_municipalities=1,
        confidence=1.0,
    )
    with pytest.raises(ValueError, match=field):
        sc.CriterionScores(**{**fields, field: value})


def test_weight_draws_are_seeded_centred_and_keep_zero_weights():
    w = sc.Weights.from_mapping(2, {"clinical_benefit": 0.5, "relief": 0.3, "reuse": 0.2})
    draws = sc.draw_weights(w, concentration=50, draws=1000, seed=4)
    assert draws.shape == (1000, len(sc.CRITERIA))
    np.testing.assert_allclose(draws.sum(axis=1), 1)
    assert (draws[:, w.as_array() == 0] == 0).all()
    np.testing.assert_allclose(draws.mean(axis=0), w.as_array(), atol=0.01)
    np.testing.assert_array_equal(draws, sc.draw_weights(w, 50, 1000, seed=4))
    wider = sc.draw_weights(w, concentration=5, draws=1000, seed=4)
    assert wider.std(axis=0)[0] > draws.std(axis=0)[0]
    with pytest.raises(ValueError):
        sc.draw_weights(w, concentration=0, draws=10, seed=1)


# --- gates and ranking -----------------------------------------------------------------------

gate_facts = st.builds(
    GateFacts,
    benefit_groups=st.frozensets(st.sampled_from(BenefitGroup)),
    delivery_months=st.one_of(st.none(), st.floats(0, 12)),
    overlaps=st.lists(st.text(min_size=1, max_size=5), max_size=2).map(tuple),
    dpia_needed=st.booleans(),
    privacy_minimum_met=st.booleans(),
    clinical_safety_minimum_met=st.booleans(),
)


def test_each_gate_fails_with_its_reason():
    good = GateFacts(frozenset({BenefitGroup.CITIZENS}), delivery_months=2)
    assert check_gates(good).passed
    cases = {
        Gate.BENEFIT_GROUP: GateFacts(frozenset(), 2),
        Gate.HORIZON: GateFacts(frozenset({BenefitGroup.AUTHORITIES}), 4),
        Gate.OVERLAP: GateFacts(frozenset({BenefitGroup.AUTHORITIES}), 1, overlaps=("NHN video",)),
        Gate.SAFETY: GateFacts(frozenset({BenefitGroup.AUTHORITIES}), 1, privacy_minimum_met=False),
    }
    for gate, facts in cases.items():
        result = check_gates(facts)
        assert not result.passed
        assert [o.gate for o in result.outcomes if not o.passed] == [gate]
        assert all(o.reason and o.reason_nb for o in result.outcomes)
    assert "beyond the 3-month" in check_gates(cases[Gate.HORIZON]).failures[0]
    assert check_gates(cases[Gate.HORIZON], horizon_months=6).passed
    flagged = check_gates(GateFacts(good.benefit_groups, 1, dpia_needed=True))
    assert flagged.passed and flagged.dpia_flagged and "DPIA" in flagged.outcomes[-1].reason


@given(st.lists(st.tuples(criterion_scores, gate_facts), max_size=8), weights)
def test_a_failed_gate_always_excludes_from_the_ranking(rows, w):
    checked = [(i, s, check_gates(f)) for i, (s, f) in enumerate(rows)]
    ranked = sc.rank(checked, w)
    assert {r.id for r in ranked} == {i for i, _, g in checked if g.passed}
    assert [r.breakdown.priority for r in ranked] == sorted(
        (r.breakdown.priority for r in ranked), reverse=True
    )


# --- the exact proposal against brute force -------------------------------------------------


@st.composite
def instances(draw, min_n=1, max_n=10):
    n = draw(st.integers(min_n, max_n))
    n_needs = draw(st.integers(0, 3))
    candidates = [
        Candidate(
            id=f"c{j}",
            # Priorities on a 1e-4 grid: HiGHS compares objectives to about 1e-7.
            priority=draw(st.integers(0, 10_000)) / 10_000,
            effort_hospitals=draw(st.sampled_from(sc.EFFORT_STEPS)),
            effort_municipalities=draw(st.sampled_from(sc.EFFORT_STEPS)),
            covers_urgent_needs=tuple(
                draw(
                    st.lists(
                        st.sampled_from([f"n{u}" for u in range(n_needs)]), max_size=2, unique=True
                    )
                )
                if n_needs
                else ()
            ),
            pinned=draw(st.sampled_from([None, None, None, Pin.IN, Pin.OUT])),
            gate_failures=draw(st.sampled_from([(), (), (), ("no benefit group",)])),
        )
        for j in range(n)
    ]
    size_min = draw(st.integers(0, 4))
    size_max = draw(st.integers(max(size_min, 1), 6))
    limits = Limits(
        float(draw(st.integers(0, 20))), float(draw(st.integers(0, 20))), size_min, size_max
    )
    return candidates, limits


def brute_force(candidates, limits):
    """Every feasible list: (urgent needs covered, sum of priorities, ids)."""
    eligible = [c for c in candidates if c.pinned is not Pin.OUT and not c.gate_failures]
    pinned = [c for c in eligible if c.pinned is Pin.IN]
    free = [c for c in eligible if c.pinned is not Pin.IN]
    out = []
    for r in range(len(free) + 1):
        for extra in itertools.combinations(free, r):
            chosen = pinned + list(extra)
            if not limits.size_min <= len(chosen) <= limits.size_max:
                continue
            if sum(c.effort_hospitals for c in chosen) > limits.budget_hospitals:
                continue
            if sum(c.effort_municipalities for c in chosen) > limits.budget_municipalities:
                continue
            covered = {u for c in chosen for u in c.covers_urgent_needs}
            out.append((len(covered), sum(c.priority for c in chosen), {c.id for c in chosen}))
    return out


def check_against_brute_force(candidates, limits):
    proposal = propose(candidates, limits)
    feasible = brute_force(candidates, limits)
    if not feasible:
        assert proposal.status is Status.INFEASIBLE
        assert proposal.chosen == () and proposal.infeasible_reason
        return proposal
    assert proposal.status is Status.OPTIMAL
    assert proposal.gap == 0
    most = max(f[0] for f in feasible)
    by_id = {c.id: c for c in candidates}
    chosen = [by_id[i] for i in proposal.chosen]
    covered = {u for c in chosen for u in c.covers_urgent_needs}
    # Urgent needs first: as many covered as any feasible list covers ...
    assert len(covered) == most
    # ... and no feasible list covering as many has a higher sum of priorities.
    assert all(proposal.objective >= value - 1e-7 for n, value, _ in feasible if n == most)
    # The list itself is feasible: size, budgets, pins, gates.
    assert limits.size_min <= len(chosen) <= limits.size_max
    assert sum(c.effort_hospitals for c in chosen) <= limits.budget_hospitals
    assert sum(c.effort_municipalities for c in chosen) <= limits.budget_municipalities
    assert all(c.pinned is not Pin.OUT and not c.gate_failures for c in chosen)
    pinned_in = {c.id for c in candidates if c.pinned is Pin.IN and not c.gate_failures}
    assert pinned_in <= set(proposal.chosen)
    assert proposal.objective == pytest.approx(sum(c.priority for c in chosen))
    return proposal


@SLOW
@given(instances())
def test_exact_proposal_matches_brute_force(instance):
    check_against_brute_force(*instance)


@settings(max_examples=8, deadline=None)
@given(instances(min_n=12, max_n=14))
def test_exact_proposal_matches_brute_force_on_14_candidates(instance):
    check_against_brute_force(*instance)


@SLOW
@given(instances())
def test_every_candidate_gets_one_honest_reason(instance):
    candidates, limits = instance
    proposal = propose(candidates, limits)
    assert [e.id for e in proposal.explanations] == [c.id for c in candidates]
    for c, e in zip(candidates, proposal.explanations, strict=True):
        assert e.chosen == (c.id in proposal.chosen)
        assert e.text.startswith("in: " if e.chosen else "out: ")
        if c.gate_failures:
            assert e.reason is Reason.GATE_FAILED
        elif c.pinned is Pin.OUT:
            assert e.reason is Reason.PINNED_OUT
        elif c.pinned is Pin.IN and proposal.status is Status.OPTIMAL:
            assert e.reason is Reason.PINNED_IN
    if proposal.status is Status.OPTIMAL:
        listed = {u.need for u in proposal.uncovered}
        chosen = [c for c in candidates if c.id in proposal.chosen]
        covered = {u for c in chosen for u in c.covers_urgent_needs}
        assert listed == {u for c in candidates for u in c.covers_urgent_needs} - covered
        assert all(u.reason for u in proposal.uncovered)


def candidate(cid, p, eh=1, em=1, covers=(), pinned=None):
    return Candidate(cid, p, eh, em, covers, pinned)


def test_budget_binding_and_dominated_reasons():
    candidates = [
        candidate("big", 0.9, eh=5),
        candidate("a", 0.5),
        candidate("b", 0.4),
        candidate("low", 0.1),
    ]
    proposal = propose(candidates, Limits(4, 4, size_min=1, size_max=2))
    assert proposal.chosen == ("a", "b")
    reasons = {e.id: e for e in proposal.explanations}
    assert reasons["big"].reason is Reason.BUDGET_BINDING
    assert "hospital budget" in reasons["big"].text
    assert reasons["low"].reason is Reason.DOMINATED
    assert reasons["a"].reason is Reason.TOP_PRIORITY


def test_urgent_need_is_covered_even_at_a_lower_sum_of_priorities():
    candidates = [
        candidate("a", 0.9),
        candidate("b", 0.8),
        candidate("urgent", 0.1, covers=("N1",)),
    ]
    proposal = propose(candidates, Limits(10, 10, size_min=1, size_max=2))
    assert set(proposal.chosen) == {"a", "urgent"}
    assert proposal.uncovered == ()
    reasons = {e.id: e.reason for e in proposal.explanations}
    assert reasons["urgent"] is Reason.URGENT_NEED


def test_uncovered_urgent_needs_say_why():
    candidates = [
        candidate("a", 0.9),
        candidate("huge", 0.1, eh=8, covers=("N1",)),
        candidate("gone", 0.1, covers=("N2",), pinned=Pin.OUT),
    ]
    proposal = propose(candidates, Limits(5, 5, size_min=1, size_max=2))
    assert proposal.chosen == ("a",)
    reasons = {u.need: u.reason for u in proposal.uncovered}
    assert "more effort than the budgets leave" in reasons["N1"]
    assert "pinned out or failed a gate" in reasons["N2"]


@pytest.mark.parametrize(
    "candidates,limits,why",
    [
        (
            [candidate(i, 0.5, pinned=Pin.IN) for i in "abc"],
            Limits(10, 10, 1, 2),
            "pinned in but the list holds at most 2",
        ),
        ([candidate("a", 0.5, eh=8, pinned=Pin.IN)], Limits(5, 5, 1, 2), "hospital budget"),
        ([candidate("a", 0.5)], Limits(5, 5, 2, 3), "only 1 candidates are eligible"),
        ([candidate(i, 0.5, em=3) for i in "abc"], Limits(9, 5, 2, 3), "municipal budget"),
    ],
)
def test_infeasible_proposals_say_why(candidates, limits, why):
    proposal = propose(candidates, limits)
    assert proposal.status is Status.INFEASIBLE
    assert why in proposal.infeasible_reason
    assert all(e.reason is Reason.INFEASIBLE for e in proposal.explanations)


def test_bad_candidates_and_limits_are_refused():
    with pytest.raises(ValueError, match="effort_hospitals"):
        candidate("a", 0.5, eh=-1)
    with pytest.raises(ValueError, match="min"):
        Limits(1, 1, size_min=3, size_max=2)
    with pytest.raises(ValueError, match="unique"):
        propose([candidate("a", 0.1), candidate("a", 0.2)], Limits(1, 1, 0, 1))


# --- sensitivity -----------------------------------------------------------------------------


def random_scored(n, n_needs, seed):
    rng = np.random.default_rng(seed)
    items = [
        sc.CriterionScores(
            *(int(v) for v in rng.integers(0, 5, 5)),
            need_coverage=float(rng.uniform(0, 4)),
            effort_hospitals=int(rng.choice(sc.EFFORT_STEPS)),
            effort_municipalities=int(rng.choice(sc.EFFORT_STEPS)),
            confidence=float(rng.choice(sc.CONFIDENCE_STEPS)),
        )
        for _ in range(n)
    ]
    candidates = [
        Candidate(
            j,
            sc.score(item).priority,
            item.effort_hospitals,
            item.effort_municipalities,
            tuple(f"n{u}" for u in rng.choice(n_needs, int(rng.random() < 0.3))) if n_needs else (),
            Pin.IN if j == 0 else Pin.OUT if j == 1 else None,
        )
        for j, item in enumerate(items)
    ]
    return items, candidates


@pytest.mark.parametrize(
    "n,n_needs,hospitals,municipalities,size_min,seed,path",
    [
        (40, 0, 100, 100, 3, 1, "by_relaxation"),  # the top six fit everything
        (30, 3, 10, 10, 3, 6, "by_lp"),  # the LP relaxation is integral
        (40, 0, 5, 7, 1, 12, "by_lp"),  # fractional LP: reduced-cost fixing and enumeration
        (40, 4, 14, 14, 3, 2, "by_solver"),  # an urgent need no list can cover
    ],
)
def test_sensitivity_equals_solving_every_draw_on_its_own(
    n, n_needs, hospitals, municipalities, size_min, seed, path
):
    items, candidates = random_scored(n, n_needs, seed)
    limits = Limits(hospitals, municipalities, size_min=size_min, size_max=6)
    unit = sc.unit_priorities(items)
    draws = sc.draw_weights(sc.DEFAULT_WEIGHTS, concentration=20, draws=60, seed=seed)
    result = inclusion_probabilities(candidates, unit, draws, limits)
    assert result.status is Status.OPTIMAL
    assert result.by_relaxation + result.by_lp + result.by_solver == 60
    assert getattr(result, path) == 60
    counts = np.zeros(n)
    for w in draws:
        p = unit @ w
        one = propose([replace(c, priority=float(p[j])) for j, c in enumerate(candidates)], limits)
        counts[list(one.chosen)] += 1
    np.testing.assert_allclose(result.probabilities, counts / 60)
    assert result.probabilities[0] == 1 and result.probabilities[1] == 0  # pinned in, out


def test_sensitivity_of_an_infeasible_proposal_is_all_zero():
    items, candidates = random_scored(25, 5, 5)
    limits = Limits(6, 6, size_min=3, size_max=6)
    draws = sc.draw_weights(sc.DEFAULT_WEIGHTS, concentration=20, draws=10, seed=5)
    result = inclusion_probabilities(candidates, sc.unit_priorities(items), draws, limits)
    assert result.status is Status.INFEASIBLE
    assert propose(candidates, limits).status is Status.INFEASIBLE
    assert not result.probabilities.any()


def test_highs_banner_never_reaches_stdout():
    code = (
        "from korona.portfolio.netlist.solver.proposal import propose\n"
        "from korona.portfolio.netlist.solver.vocabulary import Candidate, Limits\n"
        "propose([Candidate('a', 1.0, 1, 1)], Limits(1, 1, 1, 1))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout == ""
