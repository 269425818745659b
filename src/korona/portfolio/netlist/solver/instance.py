"""One proposal problem as arrays, solved exactly: dominance reduction, urgent needs first."""

from __future__ import annotations

import math
from collections.abc import Sequence

import highspy
import numpy as np

from korona.portfolio.netlist.solver.highs import build_model, silence_banner
from korona.portfolio.netlist.solver.vocabulary import Candidate, Limits, Pin

#: Slack for comparing sums of efforts and priorities computed in floating point.
TOL = 1e-9

#: Instance.target before the first solve, and once the problem is known to be infeasible.
_UNKNOWN, _INFEASIBLE = -2, -1


class Instance:
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
        silence_banner()
        fixed_in = np.concatenate([self.pinned[idx], np.zeros(len(cost) - m, dtype=bool)])
        integer = np.arange(len(cost)) < m
        h = build_model(cost, dense, lower, upper, fixed_in, integer)
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
