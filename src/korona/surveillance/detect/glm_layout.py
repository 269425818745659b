"""What the batched IRLS reuses between steps: the design's distinct column products, and a
Gauss–Jordan solve of many small systems at once (see ``glm.fit_poisson``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Group:
    """Distinct design-column products that are zero outside the same time points."""

    rows: slice | np.ndarray  # those time points (slice(None): all of them)
    columns: np.ndarray  # (k, number of those points)
    start: int  # the group's statistics are rows start … start + k − 1


@dataclass(frozen=True)
class Layout:
    """How the sufficient statistics of one IRLS step come out of a few matrix products.

    Every entry of XᵀWX is Σᵢ wᵢ·xᵢⱼ·xᵢₖ, and Xᵀw is Σᵢ wᵢ·xᵢⱼ; with a shared design they
    are all dot products of w with *columns* xⱼ·xₖ (and xⱼ). Many of those columns repeat
    (intercept × x = x, a 0/1 dummy squared is itself) or are zero (two day-of-week dummies
    never overlap), so only the u distinct nonzero ones are multiplied, and those that are
    zero at most time points (a day-of-week dummy and its products, the holiday column) only
    over the points where they are not: ``(k, m) @ (m, B)`` per group of columns gives the u
    statistics of B fits; row u of the result is kept 0.

    Attributes:
        groups: the column groups, densest first.
        size: u, the number of statistics.
        gram: (p·p,) the statistic of each entry of XᵀWX, row-major.
        xw: (p,) the statistic of each entry of Xᵀw.
    """

    groups: tuple[Group, ...]
    size: int
    gram: np.ndarray
    xw: np.ndarray

    #: A group of columns zero at more than this share of the time points gets its own product.
    SPARSE = 0.5

    @classmethod
    def of(cls, design: np.ndarray) -> Layout:
        """Return the layout of a shared (n, p) design (cached: a detector fits the same
        training window's design for block after block of series)."""
        return _layout(design.shape, design.tobytes())

    @classmethod
    def build(cls, design: np.ndarray) -> Layout:
        """Return the layout of a shared (n, p) design."""
        n, p = design.shape
        rows, cols = np.triu_indices(p)
        candidates = np.concatenate([design[:, rows] * design[:, cols], design], axis=1).T
        candidates = np.ascontiguousarray(candidates)
        first: dict[bytes, int] = {}  # each distinct nonzero column → its number
        which = np.empty(candidates.shape[0], dtype=np.intp)
        for i, column in enumerate(candidates):
            which[i] = first.setdefault(column.tobytes(), len(first)) if column.any() else -1
        distinct = np.array([np.frombuffer(key) for key in first]).reshape(len(first), n)
        # Group the distinct columns by the time points where they are nonzero; a group whose
        # points lie within another sparse group's joins it (a day-of-week dummy times the
        # holiday column joins that day's group) unless that would more than double its work.
        support: dict[bytes, list[int]] = {}
        for i, column in enumerate(distinct):
            mask = column != 0
            key = b"" if mask.mean() > cls.SPARSE else np.packbits(mask).tobytes()
            support.setdefault(key, []).append(i)
        masks = {key: np.unpackbits(np.frombuffer(key, np.uint8))[:n] != 0 for key in support}
        for key in sorted((k for k in support if k), key=lambda k: masks[k].sum()):
            within = [
                other
                for other in support
                if other and other != key and not np.any(masks[key] & ~masks[other])
            ]
            if within:
                into = min(within, key=lambda k: masks[k].sum())
                if masks[into].sum() <= 2 * masks[key].sum() or masks[key].sum() < 32:
                    support[into] += support.pop(key)
        groups: list[Group] = []
        order: list[int] = []
        for key in sorted(support, key=lambda k: (k != b"", k)):
            members = support[key]
            points = np.flatnonzero(masks[key]) if key else np.arange(n)
            gaps = np.diff(points)
            if points.size == n:
                chosen: slice | np.ndarray = slice(None)
            elif points.size > 1 and np.all(gaps == gaps[0]):
                chosen = slice(int(points[0]), int(points[-1]) + 1, int(gaps[0]))
            else:
                chosen = points
            columns = np.ascontiguousarray(distinct[members][:, chosen])
            groups.append(Group(chosen, columns, len(order)))
            order += members
        number = np.empty(len(first) + 1, dtype=np.intp)
        number[order] = np.arange(len(order))
        number[-1] = len(order)  # a zero column: the statistics' last row stays 0
        which = number[which]  # -1 (zero) → the last row
        position = np.empty((p, p), dtype=np.intp)
        position[rows, cols] = position[cols, rows] = np.arange(rows.size)
        return cls(
            groups=tuple(groups),
            size=len(order),
            gram=which[position.ravel()],
            xw=which[rows.size :],
        )

    def statistics(self, w: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write the statistics of weights w (B, n) into ``out`` (u + 1, B); return it."""
        for group in self.groups:
            if isinstance(group.rows, np.ndarray):
                part = np.take(w, group.rows, axis=1)
            else:
                part = w[:, group.rows]
            k = group.columns.shape[0]
            np.matmul(group.columns, part.T, out=out[group.start : group.start + k])
        return out


@functools.lru_cache(maxsize=32)
def _layout(shape: tuple[int, int], data: bytes) -> Layout:
    """:meth:`Layout.build` of the design with this shape and content."""
    return Layout.build(np.frombuffer(data, dtype=np.float64).reshape(shape))


def gauss_jordan(system: np.ndarray) -> None:
    """Solve symmetric positive definite systems in place, batched along the last axis.

    ``system`` is (p + k, p, B): system[c, r, b] is row r, column c of fit b's augmented
    matrix [A | R] (A symmetric, so stored as its transpose). Afterwards system[p:] holds
    A⁻¹R, column by column. Gauss–Jordan elimination without pivoting, which is stable for
    positive definite A (every pivot is a Schur complement's diagonal, positive). Each of the
    p steps is a few whole-batch operations, so small systems cost far less than a LAPACK
    call per fit; a singular or non-finite A leaves non-finite numbers, checked by the caller.
    """
    p = system.shape[1]
    for j in range(p):
        # Row j right of the pivot, divided by it; column j itself is never read again.
        pivot_row = system[j + 1 :, j] / system[j, j]
        system[j + 1 :] -= pivot_row[:, None, :] * system[j][None, :, :]
        system[j + 1 :, j] = pivot_row
