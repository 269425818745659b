"""What the public may see: counts 1–4 hidden as "<5", with complementary cells so that no
published total gives a hidden count back, and no rate computed from a hidden count."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from korona.surveillance.geo import NATION
from korona.surveillance.metrics import SMALL_CELL_LIMIT, SUPPRESSED_LABEL

__all__ = [
    "COMPLEMENTARY_LABEL",
    "LABEL_SUFFIX",
    "PublicMasks",
    "family_columns",
    "records",
    "suppress_linked",
]

#: A cell hidden only so that another hidden cell cannot be worked out from a total. It is at
#: least 5, so it is not labelled "<5" (that would be untrue); the symbol is SSB's ":"
#: ("not shown for reasons of confidentiality").
COMPLEMENTARY_LABEL = ":"
#: A hidden count ``c`` is null in the public frame and its label is in ``c + LABEL_SUFFIX``.
LABEL_SUFFIX = "__label"
_MAX_ROUNDS = 50


def suppress_linked(
    frame: pl.DataFrame,
    value: str,
    groups: Sequence[Sequence[str]],
    *,
    limit: int = SMALL_CELL_LIMIT,
) -> pl.DataFrame:
    """Hide counts 1 … ``limit`` − 1 and enough other cells that no linked group gives one back.

    Each entry of ``groups`` names key columns; the rows sharing those keys are one additive
    relation, its total included as one of the rows (a county and its municipalities in a
    week; a location's weeks and its cumulative count). A relation with exactly one hidden
    cell would let total − visible cells reveal it, so the smallest visible non-zero cell of
    such a relation is hidden too, repeated over all relations until none has exactly one
    hidden cell (hiding a cell for one relation can leave another with one). Rows whose key
    is null for a relation are not in it. Zeros are shown: a zero discloses nobody.

    Returns: ``frame`` plus ``<value>_hidden`` (Boolean) and ``<value>__label`` ("<5" for a
    small count, ":" for a complementary cell, null where shown).
    """
    hidden_column = f"{value}_hidden"
    values = frame.get_column(value).cast(pl.Int64).fill_null(0).to_numpy()
    primary = (values >= 1) & (values < limit)
    hidden = primary.copy()
    group_ids = []
    for group in groups:
        ids, size = _relation_ids(frame.select(group))
        group_ids.append((ids, size))
    for _ in range(_MAX_ROUNDS):
        changed = False
        for ids, size in group_ids:
            hidden_per_group = np.bincount(ids, weights=hidden, minlength=size)
            needy = hidden_per_group[ids] == 1
            candidates = np.flatnonzero(needy & ~hidden & (values > 0))
            if candidates.size == 0:
                continue
            # The smallest visible cell of each needy relation (first row on ties).
            order = candidates[np.lexsort((candidates, values[candidates], ids[candidates]))]
            _, first = np.unique(ids[order], return_index=True)
            hidden[order[first]] = True
            changed = True
        if not changed:
            break
    flags = pl.DataFrame({"_primary": primary, hidden_column: hidden})
    label = (
        pl.when(pl.col("_primary"))
        .then(pl.lit(SUPPRESSED_LABEL))
        .when(pl.col(hidden_column))
        .then(pl.lit(COMPLEMENTARY_LABEL))
        .alias(f"{value}{LABEL_SUFFIX}")
    )
    return pl.concat([frame, flags], how="horizontal").with_columns(label).drop("_primary")


def _key_codes(column: pl.Series) -> tuple[np.ndarray, int]:
    """Return exact integer codes 0 … k − 1 of a key column's values (null: −1) and k."""
    if column.dtype == pl.Date or column.dtype.is_integer():
        physical = column.to_physical().cast(pl.Int64)
        low = physical.min()
        if low is None:
            return np.full(column.len(), -1, dtype=np.int64), 1
        codes = (physical - low).fill_null(-1).to_numpy()
    else:
        # A categorical's physical codes are exact: one per distinct string.
        physical = column.cast(pl.String).cast(pl.Categorical).to_physical().cast(pl.Int64)
        codes = physical.fill_null(-1).to_numpy()
    size = int(codes.max()) + 1 if codes.size else 1
    return codes.astype(np.int64, copy=False), max(size, 1)


def _relation_ids(keys: pl.DataFrame) -> tuple[np.ndarray, int]:
    """Return an exact id per row for its relation (rows with equal keys share one) and an
    upper bound of the ids. A row with a null key is in no relation: it gets an id of its own.
    """
    height = keys.height
    combined = np.zeros(height, dtype=np.int64)
    outside = np.zeros(height, dtype=bool)
    span = 1
    for name in keys.columns:
        codes, size = _key_codes(keys.get_column(name))
        outside |= codes < 0
        if span * size >= 2**53:  # keep the mixed-radix number exact: renumber densely first
            _, combined = np.unique(combined, return_inverse=True)
            span = int(combined.max()) + 1 if height else 1
        combined = combined * size + np.maximum(codes, 0)
        span *= size
    return np.where(outside, span + np.arange(height), combined), span + height


def family_columns(codes: pl.Expr) -> list[pl.Expr]:
    """Return the keys of the two geographic relations: ``county_family`` (a county and its
    municipalities) and ``nation_family`` (the nation and its counties)."""
    county = (
        pl.when(codes.str.starts_with("municip"))
        .then(pl.concat_str(pl.lit("county"), codes.str.slice(7, 2)))
        .when(codes.str.starts_with("county"))
        .then(codes)
        .alias("county_family")
    )
    nation = (
        pl.when((codes == NATION) | codes.str.starts_with("county"))
        .then(pl.lit(NATION))
        .alias("nation_family")
    )
    return [county, nation]


class PublicMasks:
    """The national suppression of one store generation: which published counts are hidden.

    ``cases``: location_code, date (null = the cumulative count), n_hidden, n__label.
    ``consultations``: location_code, date, covid and all consultations (age total), each
    with its hidden flag and label. ``signals``: location_code, age, syndrome, date,
    n_hidden, n__label.
    """

    def __init__(
        self,
        cases: pl.DataFrame,
        consultations: pl.DataFrame | None,
        signals: pl.DataFrame | None,
    ) -> None:
        """Keep the masks as computed by :meth:`cases_mask`, :meth:`consultations_mask` and
        :meth:`signals_mask` (e.g. kept on disk for the store generation)."""
        self.cases = cases
        self.consultations = consultations
        self.signals = signals
        # Each location's rows, so that a location's view reads its own rows only.
        self._by_location = {
            name: _by_location(frame)
            for name, frame in (
                ("cases", self.cases),
                ("consultations", self.consultations),
                ("signals", self.signals),
            )
            if frame is not None
        }

    def of(self, table: str, codes: Sequence[str]) -> pl.DataFrame:
        """Return the masks of ``table`` (cases, consultations, signals) for ``codes``."""
        frame = {"cases": self.cases, "consultations": self.consultations}.get(table, self.signals)
        assert frame is not None, f"no {table} masks"
        parts = self._by_location[table]
        found = [parts[code] for code in codes if code in parts]
        return pl.concat(found) if found else frame.clear()

    @staticmethod
    def cases_mask(cases: pl.DataFrame) -> pl.DataFrame:
        """Return the masks of weekly cases (location_code, date, n) and cumulative counts."""
        cumulative = (
            cases.group_by("location_code")
            .agg(pl.col("n").sum())
            .with_columns(pl.lit(None, pl.Date).alias("date"))
        )
        cells = (
            pl.concat(
                [
                    cases.select("location_code", "date", "n"),
                    cumulative.select("location_code", "date", "n"),
                ]
            )
            .with_columns(family_columns(pl.col("location_code")))
            .with_columns(pl.col("date").fill_null(pl.date(9999, 12, 31)).alias("period"))
        )
        out = suppress_linked(
            cells,
            "n",
            [["location_code"], ["county_family", "period"], ["nation_family", "period"]],
        )
        return out.select("location_code", "date", "n_hidden", f"n{LABEL_SUFFIX}")

    @staticmethod
    def consultations_mask(frame: pl.DataFrame | None) -> pl.DataFrame | None:
        """Return the masks of covid and all consultations per location and week."""
        if frame is None:
            return None
        cells = frame.with_columns(family_columns(pl.col("location_code")))
        groups = [["county_family", "date"], ["nation_family", "date"]]
        for value in ("covid_n", "all_n"):
            cells = suppress_linked(cells, value, groups)
        return cells.select(
            "location_code",
            "date",
            "covid_n_hidden",
            f"covid_n{LABEL_SUFFIX}",
            "all_n_hidden",
            f"all_n{LABEL_SUFFIX}",
        )

    @staticmethod
    def signals_mask(frame: pl.DataFrame | None) -> pl.DataFrame | None:
        """Return the masks of the signal counts (location_code, age, syndrome, date, n)."""
        if frame is None:
            return None
        cells = frame.with_columns(family_columns(pl.col("location_code")))
        out = suppress_linked(
            cells,
            "n",
            [
                ["location_code", "syndrome", "date"],
                ["county_family", "age", "syndrome", "date"],
                ["nation_family", "age", "syndrome", "date"],
            ],
        )
        return out.select(
            "location_code", "age", "syndrome", "date", "n_hidden", f"n{LABEL_SUFFIX}"
        )


def _by_location(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return {
        str(key[0]): part for key, part in frame.partition_by("location_code", as_dict=True).items()
    }


def records(frame: pl.DataFrame) -> list[dict[str, object]]:
    """Return rows as dicts, a hidden count replaced by its label ("<5" or ":")."""
    labels = {c: c.removesuffix(LABEL_SUFFIX) for c in frame.columns if c.endswith(LABEL_SUFFIX)}
    out = []
    for row in frame.iter_rows(named=True):
        for label_column, column in labels.items():
            label = row.pop(label_column)
            if label is not None:
                row[column] = label
        out.append(row)
    return out
