"""How often each candidate is proposed under weight draws, each draw settled exactly."""

from __future__ import annotations

import math
from collections.abc import Sequence

import highspy
import numpy as np

from korona.portfolio.netlist.solver.highs import build_model, silence_banner
from korona.portfolio.netlist.solver.instance import TOL, Instance
from korona.portfolio.netlist.solver.vocabulary import Candidate, Limits, Sensitivity, Status


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
    inst = Instance(candidates, limits)
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


def _never_chosen(inst: Instance, unit: np.ndarray, positive: np.ndarray) -> np.ndarray:
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

    def __init__(self, inst: Instance, never: np.ndarray) -> None:
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
        silence_banner()
        self.highs = build_model(
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
        return ((sums >= self.lower - TOL) & (sums <= self.upper + TOL)).all(axis=1)

    def _mask(self, chosen: np.ndarray) -> np.ndarray:
        mask = np.zeros(len(self.inst.candidates), dtype=bool)
        mask[self.idx[chosen]] = True
        return mask


def _relaxation(inst: Instance, pmat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
        & (eh <= limits.budget_hospitals + TOL)
        & (em <= limits.budget_municipalities + TOL)
        & (n_covered >= inst.target)
    )
    return ok, chosen
