"""The exact net-list proposal (forslag til nettoliste): an integer program solved by HiGHS."""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import version

import highspy
import numpy as np

#: Slack for comparing sums of efforts and priorities computed in floating point.
_TOL = 1e-9


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


@functools.cache
def _silence_banner() -> None:
    # HiGHS prints its banner from C++ to file descriptor 1 the first time a solver is built;
    # that would corrupt `--json` output, so the first one is built with stdout sent to null.
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def solver_name() -> str:
    """Return the solver and its version, shown beside every proposal."""
    return f"HiGHS {version('highspy')} (mixed-integer programming, proven optimal)"


_UNKNOWN, _INFEASIBLE = -2, -1


class _Instance:
    """The priority-independent arrays of one proposal problem, shared by every solve."""

    def __init__(self, candidates: Sequence[Candidate], limits: Limits) -> None:
        if len({c.id for c in candidates}) != len(candidates):
            raise ValueError("candidate ids must be unique")
        self.candidates = list(candidates)
        self.limits = limits
        n = len(candidates)
        self.eh = np.array([c.effort_hospitals for c in candidates], dtype=float)
        self.em = np.array([c.effort_municipalities for c in candidates], dtype=float)
        self.eligible = np.array(
            [c.pinned is not Pin.OUT and not c.gate_failures for c in candidates], dtype=bool
        )
        self.pinned = self.eligible & np.array([c.pinned is Pin.IN for c in candidates], bool)
        self.free = self.eligible & ~self.pinned
        self.needs: list[str | int] = list(
            dict.fromkeys(u for c in candidates for u in c.covers_urgent_needs)
        )
        column = {u: i for i, u in enumerate(self.needs)}
        self.cover = np.zeros((n, len(self.needs)), dtype=bool)
        for j, c in enumerate(candidates):
            self.cover[j, [column[u] for u in c.covers_urgent_needs]] = True
        #: Needs some eligible candidate covers: the ones the proposal must try to cover.
        self.required = (self.cover & self.eligible[:, None]).any(axis=0)
        self.slots = limits.size_max - int(self.pinned.sum())
        # k dominates j when it costs no more on either side and covers every urgent need j does:
        # swapping j for k keeps any list feasible, so only priority decides between them.
        covers = self.cover.astype(np.int32)
        misses = (1 - covers) @ covers.T  # [k, j]: needs j covers that k does not
        self.dominates = (
            (self.eh[:, None] <= self.eh[None, :])
            & (self.em[:, None] <= self.em[None, :])
            & (misses == 0)
            & self.free[:, None]
            & self.free[None, :]
        )
        np.fill_diagonal(self.dominates, False)
        self.target = _UNKNOWN

    def reduce(self, priority: np.ndarray) -> np.ndarray:
        """Return the candidates the solver needs: drop those with ≥ `slots` better dominators.

        If j has at least as many dominators of strictly higher priority as there are free
        places, any list holding j misses one of them, and swapping it in never loses; so an
        optimal list without j exists and j can be left out before solving.
        """
        better = self.dominates & (priority[:, None] > priority[None, :])
        return self.pinned | (self.free & (better.sum(axis=0) < max(self.slots, 0)))

    def solve(self, priority: np.ndarray) -> tuple[np.ndarray | None, float | None]:
        """Solve exactly for these priorities: (chosen mask, proven gap) or (None, None)."""
        keep = self.reduce(priority)
        n_required = int(self.required.sum())
        if self.target == _UNKNOWN:
            x, gap = self._run(priority, keep, mode="hard")
            if x is not None:
                self.target = n_required
                return x, gap
            x, _ = self._run(priority, keep, mode="maximise_coverage")
            if x is None:
                self.target = _INFEASIBLE
                return None, None
            self.target = int((self.cover[x].any(axis=0) & self.required).sum())
        if self.target == _INFEASIBLE:
            return None, None
        mode = "hard" if self.target == n_required else "count"
        return self._run(priority, keep, mode=mode)

    def _run(
        self, priority: np.ndarray, keep: np.ndarray, mode: str
    ) -> tuple[np.ndarray | None, float | None]:
        idx = np.flatnonzero(keep)
        m = len(idx)
        needs = np.flatnonzero(self.required)
        if m == 0:  # nothing to choose: HiGHS calls an empty model neither feasible nor not
            nothing = np.zeros(len(self.candidates), dtype=bool)
            uncovered_ok = (
                mode == "maximise_coverage"
                or (mode == "hard" and len(needs) == 0)
                or (mode == "count" and self.target <= 0)
            )
            return (nothing, 0.0) if self.limits.size_min == 0 and uncovered_ok else (None, None)
        cover = self.cover[np.ix_(idx, needs)].T.astype(float)  # (needs, m)
        limits = self.limits
        rows = [np.ones(m), self.eh[idx], self.em[idx]]
        lower = [float(limits.size_min), -math.inf, -math.inf]
        upper = [float(limits.size_max), limits.budget_hospitals, limits.budget_municipalities]
        n_y = 0 if mode == "hard" else len(needs)
        if mode == "hard":
            rows.extend(cover)
            lower.extend([1.0] * len(needs))
            upper.extend([math.inf] * len(needs))
        else:
            # y_u ≤ Σ_{j covers u} x_j: y_u can be 1 only if a chosen candidate covers u.
            rows = [np.concatenate([r, np.zeros(n_y)]) for r in rows]
            for u in range(n_y):
                row = np.concatenate([cover[u], np.zeros(n_y)])
                row[m + u] = -1.0
                rows.append(row)
            lower.extend([0.0] * n_y)
            upper.extend([math.inf] * n_y)
            if mode == "count":
                rows.append(np.concatenate([np.zeros(m), np.ones(n_y)]))
                lower.append(self.target - 0.5)
                upper.append(math.inf)
        dense = np.vstack(rows)
        if mode == "maximise_coverage":
            cost = np.concatenate([np.zeros(m), np.ones(n_y)])
        else:
            cost = np.concatenate([priority[idx], np.zeros(n_y)])
        x = self._highs(cost, dense, np.array(lower), np.array(upper), m, idx)
        if x is None:
            return None, None
        chosen = np.zeros(len(self.candidates), dtype=bool)
        chosen[idx[x[0]]] = True
        return chosen, x[1]

    def _highs(self, cost, dense, lower, upper, m, idx):
        _silence_banner()
        fixed_in = np.concatenate([self.pinned[idx], np.zeros(len(cost) - m, dtype=bool)])
        integer = np.arange(len(cost)) < m
        h = _model(cost, dense, lower, upper, fixed_in, integer)
        # Exact: the solver stops only when the bound meets the incumbent.
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 0.0)
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return None
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"HiGHS stopped without a proof: {h.modelStatusToString(status)}")
        values = np.asarray(h.getSolution().col_value[:m])
        return values > 0.5, float(h.getInfo().mip_gap)


def _model(
    cost: np.ndarray,
    dense: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    fixed_in: np.ndarray,
    integer: np.ndarray,
) -> highspy.Highs:
    """Return a silent HiGHS instance holding max cost·x s.t. lower ≤ dense·x ≤ upper, 0 ≤ x ≤ 1."""
    n_col = len(cost)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, dense.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = fixed_in.astype(float)
    lp.col_upper_ = np.ones(n_col)
    lp.row_lower_, lp.row_upper_ = np.asarray(lower, float), np.asarray(upper, float)
    rows, cols = np.nonzero(dense)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.searchsorted(rows, np.arange(dense.shape[0] + 1)).astype(np.int32)
    lp.a_matrix_.index_ = cols.astype(np.int32)
    lp.a_matrix_.value_ = dense[rows, cols]
    if integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in integer
        ]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    return h


def propose(candidates: Sequence[Candidate], limits: Limits) -> Proposal:
    """Choose the list that maximises Σ priority within the limits, exactly, with reasons.

    Hard constraints: size in [min, max], Σ hospital effort ≤ H, Σ municipal effort ≤ M, pins.
    Urgent needs come first: if every urgent need some eligible candidate covers can be covered
    within the limits, all are; otherwise the most that can be, and the proposal says which
    stay uncovered and why (a two-phase solve: the most coverable, then the best priority).
    """
    inst = _Instance(candidates, limits)
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


def inclusion_probabilities(
    candidates: Sequence[Candidate], unit: np.ndarray, weight_draws: np.ndarray, limits: Limits
) -> Sensitivity:
    """Solve the proposal exactly under every weight draw; return how often each is chosen.

    Parameters: unit — (n, k) priority per unit weight (`scoring.unit_priorities`);
    weight_draws — (d, k) weight vectors (`scoring.draw_weights`). The candidates' own
    priorities are ignored. All draws' priorities are one matrix product. Each draw is then
    settled by the cheapest exact argument that holds:

    1. relaxation — the pinned plus the top `size_max` free candidates by priority already
       satisfy every constraint (checked for all draws at once);
    2. LP certificate — the LP relaxation, re-solved from the previous draw's basis, is
       integral; or the best list found so far reaches its bound; or reduced-cost fixing
       leaves at most `_ENUMERATE` candidates open and enumerating them settles the draw;
    3. solver — otherwise HiGHS solves the draw's integer program after the dominance reduction.
    """
    inst = _Instance(candidates, limits)
    n, d = len(candidates), len(weight_draws)
    pmat = weight_draws @ unit.T  # (d, n)
    x0, _ = inst.solve(pmat.mean(axis=0))
    if x0 is None:
        return Sensitivity(Status.INFEASIBLE, np.zeros(n), d, 0, 0, 0)
    counts = np.zeros(n)
    ok, chosen = _relaxation(inst, pmat)
    if chosen.size:
        counts += np.bincount(chosen[ok].ravel(), minlength=n)
    counts += inst.pinned * ok.sum()
    pool = _Pool(x0)
    by_lp = by_solver = 0
    undecided = np.flatnonzero(~ok)
    lp = None
    # The LP certificate needs every required urgent need as a hard row; when some cannot be
    # covered (a count constraint with helper variables) every open draw goes to the solver.
    if len(undecided) and inst.target == int(inst.required.sum()):
        lp = _LpRelaxation(inst, _never_chosen(inst, unit, weight_draws.max(axis=0) > 0))
    for i in undecided:
        x = lp.certify(pmat[i], pool) if lp is not None else None
        if x is None:
            x, _ = inst.solve(pmat[i])
            if x is None:  # feasibility does not depend on the priorities, and x0 was feasible
                raise RuntimeError("a draw of a feasible proposal came out infeasible")
            by_solver += 1
        else:
            by_lp += 1
        counts += x
        pool.add(x)
    return Sensitivity(Status.OPTIMAL, counts / d, d, int(ok.sum()), by_lp, by_solver)


class _Pool:
    """The distinct optimal lists found so far: lower bounds for the next draws."""

    def __init__(self, first: np.ndarray) -> None:
        self.lists = first[None, :].astype(float)
        self.seen = {first.tobytes()}

    def add(self, x: np.ndarray) -> None:
        if x.tobytes() not in self.seen:
            self.seen.add(x.tobytes())
            self.lists = np.vstack([self.lists, x[None, :].astype(float)])

    def best(self, pmat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return, per row of priorities, the best pooled list and its value."""
        values = pmat @ self.lists.T
        best = values.argmax(axis=1)
        return self.lists[best] > 0.5, values[np.arange(len(pmat)), best]


def _never_chosen(inst: _Instance, unit: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Return the free candidates that no weight vector can bring into an optimal list.

    j is out of every optimal list if at least `slots` candidates dominate it (no more effort,
    every urgent need it covers) and have a priority per unit weight at least as high on every
    weighted criterion and higher on one (ties between identical rows broken by position): then
    their priority is higher than j's under every weight vector with those criteria positive.
    """
    a = unit[:, positive]
    n = len(a)
    at_least = np.ones((n, n), dtype=bool)
    above = np.zeros((n, n), dtype=bool)
    for column in a.T:
        at_least &= column[:, None] >= column[None, :]
        above |= column[:, None] > column[None, :]
    position = np.arange(n)
    earlier_twin = at_least & at_least.T & (position[:, None] < position[None, :])
    better = inst.dominates & at_least & (above | earlier_twin)
    return inst.free & (better.sum(axis=0) >= max(inst.slots, 0))


#: Reduced-cost fixing may leave at most this many candidates open for enumeration (2^16 lists).
_ENUMERATE = 16


class _LpRelaxation:
    """The LP relaxation, kept in one HiGHS instance between draws.

    Its columns are the eligible candidates that some weight vector could bring into an optimal
    list; the others cannot change its optimum, and fewer columns make each solve cheaper.
    """

    def __init__(self, inst: _Instance, never: np.ndarray) -> None:
        self.inst = inst
        self.idx = np.flatnonzero(inst.eligible & ~never)
        m = len(self.idx)
        needs = np.flatnonzero(inst.required)
        limits = inst.limits
        self.rows = np.vstack(
            [
                np.ones(m),
                inst.eh[self.idx],
                inst.em[self.idx],
                *inst.cover[np.ix_(self.idx, needs)].T.astype(float),
            ]
        )
        self.lower = np.array([limits.size_min, -math.inf, -math.inf] + [1.0] * len(needs))
        self.upper = np.array(
            [limits.size_max, limits.budget_hospitals, limits.budget_municipalities]
            + [math.inf] * len(needs)
        )
        self.pinned = inst.pinned[self.idx]
        _silence_banner()
        self.highs = _model(
            np.zeros(m), self.rows, self.lower, self.upper, self.pinned, np.zeros(m, dtype=bool)
        )
        self.columns = np.arange(m, dtype=np.int32)

    def certify(self, priority: np.ndarray, pool: _Pool) -> np.ndarray | None:
        """Return an optimal list for these priorities if the LP proves one, else None."""
        p = priority[self.idx]
        h = self.highs
        h.changeColsCost(len(p), self.columns, p)  # the LP keeps its basis: a warm start
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        solution = h.getSolution()
        x = np.asarray(solution.col_value)
        rounded = np.round(x)
        if np.abs(x - rounded).max() <= 1e-7 and self._feasible(rounded[None, :]).all():
            return self._mask(rounded > 0.5)
        z = h.getInfo().objective_function_value
        best, bound = pool.best(priority[None, :])
        incumbent, gap = best[0], z - float(bound[0])
        if gap <= 1e-9 * max(1.0, abs(z)):
            return incumbent
        return self._enumerate(p, np.asarray(solution.col_dual), rounded, gap, incumbent)

    def _enumerate(
        self, p: np.ndarray, reduced: np.ndarray, rounded: np.ndarray, gap: float, incumbent
    ) -> np.ndarray | None:
        # A column at a bound whose reduced cost exceeds the gap cannot change side in any list
        # better than the incumbent; only the others are left open and enumerated.
        open_ = (np.abs(reduced) <= gap + 1e-9) & ~self.pinned
        k = int(open_.sum())
        if k > _ENUMERATE:
            return None
        combos = (np.arange(2**k)[:, None] >> np.arange(k)) & 1
        lists = np.repeat(np.where(open_, 0.0, rounded)[None, :], len(combos), axis=0)
        lists[:, open_] = combos
        feasible = self._feasible(lists)
        values = np.where(feasible, lists @ p, -math.inf)
        best = int(values.argmax())
        if values[best] <= incumbent.astype(float)[self.idx] @ p + 1e-12:
            return incumbent
        return self._mask(lists[best] > 0.5)

    def _feasible(self, lists: np.ndarray) -> np.ndarray:
        sums = lists @ self.rows.T
        return ((sums >= self.lower - _TOL) & (sums <= self.upper + _TOL)).all(axis=1)

    def _mask(self, chosen: np.ndarray) -> np.ndarray:
        mask = np.zeros(len(self.inst.candidates), dtype=bool)
        mask[self.idx[chosen]] = True
        return mask


def _relaxation(inst: _Instance, pmat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per draw: the pinned plus the top free candidates, and whether that is feasible (optimal).

    Dropping the budgets, the minimum size and the coverage rows leaves a problem whose optimum
    is the top `slots` free candidates by priority (priorities are ≥ 0); when that set meets the
    dropped constraints too it is optimal for the full problem.
    """
    free = np.flatnonzero(inst.free)
    k = min(max(inst.slots, 0), len(free))
    d = len(pmat)
    if k == 0:
        chosen = np.zeros((d, 0), dtype=np.intp)
    else:
        top = np.argpartition(-pmat[:, free], k - 1, axis=1)[:, :k]
        chosen = free[top]
    limits = inst.limits
    pin = inst.pinned
    size_ok = pin.sum() + k >= limits.size_min
    eh = inst.eh[pin].sum() + inst.eh[chosen].sum(axis=1)
    em = inst.em[pin].sum() + inst.em[chosen].sum(axis=1)
    covered = inst.cover[pin].any(axis=0) | inst.cover[chosen].any(axis=1)
    n_covered = (covered & inst.required).sum(axis=1)
    ok = (
        size_ok
        & (eh <= limits.budget_hospitals + _TOL)
        & (em <= limits.budget_municipalities + _TOL)
        & (n_covered >= inst.target)
    )
    return ok, chosen


def _uncovered(inst: _Instance, x: np.ndarray) -> tuple[UncoveredNeed, ...]:
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
            fits = (base_h + inst.eh[coverers] <= inst.limits.budget_hospitals + _TOL) & (
                base_m + inst.em[coverers] <= inst.limits.budget_municipalities + _TOL
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


def _infeasible_reason(inst: _Instance) -> str:
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
        if effort[pin].sum() > budget + _TOL:
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
        if cheapest > budget + _TOL:
            return (
                f"even the {limits.size_min} cheapest candidates exceed the {name} budget "
                f"({cheapest:g} > {budget:g})"
            )
    return f"no {limits.size_min} candidates fit both budgets together with the pinned-in ones"


def _explain(inst: _Instance, priority: np.ndarray, x: np.ndarray) -> tuple[Explanation, ...]:
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


def _over_budget(inst: _Instance, hospitals: float, municipalities: float) -> str:
    over = []
    if hospitals > inst.limits.budget_hospitals + _TOL:
        over.append(f"hospital budget ({hospitals:g} > {inst.limits.budget_hospitals:g})")
    if municipalities > inst.limits.budget_municipalities + _TOL:
        over.append(
            f"municipal budget ({municipalities:g} > {inst.limits.budget_municipalities:g})"
        )
    return " and the ".join(over)


def _versus(priority: np.ndarray, j: int, lowest: int | None) -> str:
    if lowest is None:
        return "no unpinned candidate was chosen"
    relation = "above" if priority[j] > priority[lowest] else "at most"
    return f"its P {priority[j]:.4g} is {relation} the lowest chosen P {priority[lowest]:.4g}"
