"""The HiGHS plumbing: a silent model of a 0-1 program, and the solver's name."""

from __future__ import annotations

import functools
import os
import sys
from importlib.metadata import version

import highspy
import numpy as np


@functools.cache
def silence_banner() -> None:
    """Build the first HiGHS instance with stdout sent to null, so its banner is never seen."""
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


def build_model(
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
