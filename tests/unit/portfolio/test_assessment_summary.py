"""Which score of an input counts: single, unanimous, differing and agreed assessments."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import korona.models  # noqa: F401
from korona.portfolio.assessment.agreement import Agreement, summarise
from korona.portfolio.assessment.models import Assessment


def row(
    row_id: int, assessor: int, level: int, *, agreed: bool = False, **changes: object
) -> Assessment:
    values: dict[str, object] = {
        "id": row_id,
        "input_id": 1,
        "assessor_id": assessor,
        "agreed": agreed,
        "clinical_benefit": level,
        "relief": level,
        "severity": level,
        "reuse": level,
        "time_criticality": level,
        "effort_hospitals": 2,
        "effort_municipalities": 1,
        "confidence": 0.8,
        "benefit_groups": ["citizens"],
        "delivery_months": 1.0,
        "dpia_needed": False,
        "privacy_minimum_met": True,
        "clinical_safety_minimum_met": True,
        "reason": "",
    }
    return Assessment(**(values | changes))


def test_states() -> None:
    assert summarise([]).agreement is Agreement.NONE and summarise([]).effective is None
    one = summarise([row(1, 10, 3)])
    assert one.agreement is Agreement.SINGLE and one.effective is not None
    same = summarise([row(1, 10, 3), row(2, 11, 3)])
    assert same.agreement is Agreement.UNANIMOUS and same.effective is not None
    differ = summarise([row(1, 10, 3), row(2, 11, 1)])
    assert differ.agreement is Agreement.DIFFER and differ.effective is None
    clinical = differ.spread[0]
    assert (clinical.field, clinical.low, clinical.high, clinical.differs) == (
        "clinical_benefit",
        1,
        3,
        True,
    )
    # A differing gate fact is a difference too, even with equal scores.
    gates = summarise([row(1, 10, 3), row(2, 11, 3, delivery_months=6.0)])
    assert gates.agreement is Agreement.DIFFER
    agreed = summarise([row(1, 10, 3), row(2, 11, 1), row(3, 10, 2, agreed=True)])
    assert agreed.agreement is Agreement.AGREED
    assert agreed.effective is not None and agreed.effective.clinical_benefit == 2


@given(st.lists(st.integers(0, 4), min_size=1, max_size=6), st.booleans())
def test_the_agreed_score_wins_and_only_differences_leave_none(
    levels: list[int], with_agreed: bool
) -> None:
    rows = [row(i, 100 + i, level) for i, level in enumerate(levels, start=1)]
    if with_agreed:
        rows.append(row(99, 100, 2, agreed=True))
    summary = summarise(rows)
    if with_agreed:
        assert summary.effective is rows[-1]
    else:
        assert (summary.effective is None) == (len(set(levels)) > 1)
    assert {s.field for s in summary.spread if s.differs} == (
        set()
        if len(set(levels)) == 1
        else {"clinical_benefit", "relief", "severity", "reuse", "time_criticality"}
    )
