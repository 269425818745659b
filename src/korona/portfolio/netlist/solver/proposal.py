"""Propose the net list exactly and explain why each candidate is in or out of it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from korona.portfolio.netlist.solver.highs import solver_name
from korona.portfolio.netlist.solver.instance import TOL, Instance
from korona.portfolio.netlist.solver.vocabulary import (
    Candidate,
    Explanation,
    Limits,
    Pin,
    Proposal,
    Reason,
    Status,
    UncoveredNeed,
)


def propose(candidates: Sequence[Candidate], limits: Limits) -> Proposal:
    """Choose the list that maximises Σ priority within the limits, exactly, with reasons.

    Hard constraints: size in [min, max], Σ hospital effort ≤ H, Σ municipal effort ≤ M, pins.
    Urgent needs come first: if every urgent need some eligible candidate covers can be covered
    within the limits, all are; otherwise the most that can be, and the proposal says which
    stay uncovered and why (a two-phase solve: the most coverable, then the best priority).
    """
    inst = Instance(candidates, limits)
    priority = np.array([c.priority for c in candidates], dtype=float)
    x, gap = inst.solve(priority)
    if x is None:
        why = _infeasible_reason(inst)
        explanations = tuple(_explain_out_fixed(c) or _infeasible(c, why) for c in candidates)
        return Proposal(Status.INFEASIBLE, (), None, None, (), explanations, solver_name(), why)
    order = sorted(np.flatnonzero(x), key=lambda j: (-priority[j], j))
    return Proposal(
        status=Status.OPTIMAL,
        chosen=tuple(candidates[int(j)].id for j in order),
        objective=float(priority[x].sum()),
        gap=gap,
        uncovered=_uncovered(inst, x),
        explanations=_explain(inst, priority, x),
        solver=solver_name(),
    )


def _uncovered(inst: Instance, x: np.ndarray) -> tuple[UncoveredNeed, ...]:
    covered = inst.cover[x].any(axis=0)
    out = []
    base_h = inst.eh[inst.pinned].sum()
    base_m = inst.em[inst.pinned].sum()
    n_required = int(inst.required.sum())
    for u, need in enumerate(inst.needs):
        if covered[u]:
            continue
        if not inst.required[u]:
            reason = "every candidate covering it is pinned out or failed a gate"
        else:
            coverers = np.flatnonzero(inst.cover[:, u] & inst.free)
            fits = (base_h + inst.eh[coverers] <= inst.limits.budget_hospitals + TOL) & (
                base_m + inst.em[coverers] <= inst.limits.budget_municipalities + TOL
            )
            if not fits.any():
                reason = (
                    "every candidate covering it needs more effort than the budgets leave "
                    "after the pinned-in candidates"
                )
            else:
                reason = (
                    f"the budgets and list size allow covering at most {inst.target} of the "
                    f"{n_required} urgent needs at once; covering this one instead of another "
                    "gives a lower total priority"
                )
        out.append(UncoveredNeed(need, reason))
    return tuple(out)


def _explain_out_fixed(c: Candidate) -> Explanation | None:
    if c.gate_failures:
        text = "out: gate failed — " + "; ".join(c.gate_failures)
        return Explanation(c.id, False, Reason.GATE_FAILED, text)
    if c.pinned is Pin.OUT:
        return Explanation(c.id, False, Reason.PINNED_OUT, "out: pinned out")
    return None


def _infeasible(c: Candidate, why: str) -> Explanation:
    return Explanation(c.id, False, Reason.INFEASIBLE, f"out: no list is feasible — {why}")


def _infeasible_reason(inst: Instance) -> str:
    limits = inst.limits
    pin = inst.pinned
    if pin.sum() > limits.size_max:
        return (
            f"{int(pin.sum())} candidates are pinned in but the list holds at most "
            f"{limits.size_max}"
        )
    for name, effort, budget in (
        ("hospital", inst.eh, limits.budget_hospitals),
        ("municipal", inst.em, limits.budget_municipalities),
    ):
        if effort[pin].sum() > budget + TOL:
            return f"the pinned-in candidates alone exceed the {name} budget ({budget:g})"
    if inst.eligible.sum() < limits.size_min:
        return (
            f"only {int(inst.eligible.sum())} candidates are eligible but the list needs at "
            f"least {limits.size_min}"
        )
    need = limits.size_min - int(pin.sum())
    for name, effort, budget in (
        ("hospital", inst.eh, limits.budget_hospitals),
        ("municipal", inst.em, limits.budget_municipalities),
    ):
        cheapest = np.sort(effort[inst.free])[: max(need, 0)].sum() + effort[pin].sum()
        if cheapest > budget + TOL:
            return (
                f"even the {limits.size_min} cheapest candidates exceed the {name} budget "
                f"({cheapest:g} > {budget:g})"
            )
    return f"no {limits.size_min} candidates fit both budgets together with the pinned-in ones"


def _explain(inst: Instance, priority: np.ndarray, x: np.ndarray) -> tuple[Explanation, ...]:
    limits = inst.limits
    used_h, used_m = inst.eh[x].sum(), inst.em[x].sum()
    full = x.sum() >= limits.size_max
    chosen_free = np.flatnonzero(x & inst.free)
    lowest = int(min(chosen_free, key=lambda j: (priority[j], -j))) if len(chosen_free) else None
    ranking = sorted(np.flatnonzero(inst.free), key=lambda j: (-priority[j], j))
    top = set(ranking[: max(inst.slots, 0)])
    covering = inst.cover[x].sum(axis=0)
    out = []
    for j, c in enumerate(inst.candidates):
        fixed = _explain_out_fixed(c)
        p = f"P {priority[j]:.4g}"
        if fixed is not None:
            out.append(fixed)
        elif x[j] and inst.pinned[j]:
            out.append(Explanation(c.id, True, Reason.PINNED_IN, "in: pinned in"))
        elif x[j] and (
            sole := [inst.needs[u] for u in np.flatnonzero(inst.cover[j] & (covering == 1))]
        ):
            needs = ", ".join(str(u) for u in sole)
            text = f"in: the only chosen candidate covering urgent need {needs}"
            out.append(Explanation(c.id, True, Reason.URGENT_NEED, text))
        elif x[j] and j in top:
            text = f"in: {p} is among the {inst.slots} highest priorities and fits the budgets"
            out.append(Explanation(c.id, True, Reason.TOP_PRIORITY, text))
        elif x[j]:
            text = (
                f"in: {p}; higher-priority candidates left out would not fit the budgets "
                "together with the rest of the list"
            )
            out.append(Explanation(c.id, True, Reason.FITS_BUDGET, text))
        elif priority[j] <= 0:
            out.append(Explanation(c.id, False, Reason.ZERO_PRIORITY, "out: its priority is 0"))
        elif not full:
            over = _over_budget(inst, used_h + inst.eh[j], used_m + inst.em[j])
            if over:
                text = f"out: adding it would exceed the {over}; " + _versus(priority, j, lowest)
                out.append(Explanation(c.id, False, Reason.BUDGET_BINDING, text))
            else:
                text = f"out: adding it would not raise the total ({p})"
                out.append(Explanation(c.id, False, Reason.DOMINATED, text))
        elif lowest is None or priority[j] <= priority[lowest]:
            floor = f" ({priority[lowest]:.4g})" if lowest is not None else ""
            text = (
                f"out: the list is full ({limits.size_max}) and its {p} is at most the lowest "
                f"priority chosen without a pin{floor}"
            )
            out.append(Explanation(c.id, False, Reason.DOMINATED, text))
        else:
            swapped = x.copy()
            swapped[lowest], swapped[j] = False, True
            over = _over_budget(inst, inst.eh[swapped].sum(), inst.em[swapped].sum())
            lost = (inst.cover[x].any(axis=0) & ~inst.cover[swapped].any(axis=0)).any()
            if over:
                what = f"exceed the {over}"
            elif lost:
                what = "leave an urgent need uncovered"
            else:
                what = "not raise the total"
            text = (
                f"out: the list is full and swapping it ({p}) for the lowest-priority chosen "
                f"candidate {inst.candidates[lowest].id} would {what}"
            )
            out.append(Explanation(c.id, False, Reason.BUDGET_BINDING, text))
    return tuple(out)


def _over_budget(inst: Instance, hospitals: float, municipalities: float) -> str:
    over = []
    if hospitals > inst.limits.budget_hospitals + TOL:
        over.append(f"hospital budget ({hospitals:g} > {inst.limits.budget_hospitals:g})")
    if municipalities > inst.limits.budget_municipalities + TOL:
        over.append(
            f"municipal budget ({municipalities:g} > {inst.limits.budget_municipalities:g})"
        )
    return " and the ".join(over)


def _versus(priority: np.ndarray, j: int, lowest: int | None) -> str:
    if lowest is None:
        return "no unpinned candidate was chosen"
    relation = "above" if priority[j] > priority[lowest] else "at most"
    return f"its P {priority[j]:.4g} is {relation} the lowest chosen P {priority[lowest]:.4g}"
