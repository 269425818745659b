"""A location's view as the public may see it: every count checked against the national
masks (:class:`korona.surveillance.disclosure.PublicMasks`), hidden counts labelled, and no
rate, share or signal detail computed from a hidden count."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import polars as pl

from korona.surveillance.disclosure import COMPLEMENTARY_LABEL, LABEL_SUFFIX, PublicMasks
from korona.surveillance.location_model import LocationView
from korona.surveillance.metrics import SMALL_CELL_LIMIT, SUPPRESSED_LABEL

__all__ = ["public_view"]


def _hide(frame: pl.DataFrame, column: str, hidden: str, label: pl.Expr) -> pl.DataFrame:
    """Null a count where ``hidden`` and put its label beside it."""
    return frame.with_columns(
        pl.when(pl.col(hidden)).then(None).otherwise(pl.col(column)).alias(column),
        pl.when(pl.col(hidden)).then(label).alias(f"{column}{LABEL_SUFFIX}"),
    )


def _blank(frame: pl.DataFrame, columns: Sequence[str], when: pl.Expr) -> pl.DataFrame:
    """Null derived columns (rates, shares, signal details) where ``when`` holds."""
    return frame.with_columns(
        pl.when(when.fill_null(False)).then(None).otherwise(pl.col(c)).alias(c) for c in columns
    )


def _primary_only(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Hide a national count below 5 (no published total contains it)."""
    frame = frame.with_columns(pl.col(column).cast(pl.Int64))
    small = pl.col(column).is_between(1, SMALL_CELL_LIMIT - 1).fill_null(False)
    return (
        frame.with_columns(small.alias("_small"))
        .pipe(_hide, column, "_small", pl.lit(SUPPRESSED_LABEL))
        .drop("_small")
    )


def public_view(view: LocationView, masks: PublicMasks) -> LocationView:
    """Return the view as the public may see it (every count checked against ``masks``)."""
    code = view.location.code
    # Weeks oldest first: the 14-day rule below looks at the previous row.
    covid = view.covid.sort("date")
    # Cases: this location's weekly masks; the cumulative count only for the latest week.
    mine = masks.of("cases", [code])
    weekly = mine.filter(pl.col("date").is_not_null())
    total = mine.filter(pl.col("date").is_null())
    covid = covid.join(
        weekly.drop("location_code"), on="date", how="left", maintain_order="left"
    ).with_columns(pl.col("n_hidden").fill_null(False))
    covid = _hide(covid, "n", "n_hidden", pl.col(f"n{LABEL_SUFFIX}"))
    previous_hidden = pl.col("n_hidden").shift(1).fill_null(False)
    covid = _blank(covid, ["per_100k"], pl.col("n_hidden"))
    covid = _blank(covid, ["n_14d", "per_100k_14d"], pl.col("n_hidden") | previous_hidden)
    latest = (
        covid.filter(pl.col("n").is_not_null() | pl.col("n_hidden"))
        .select(pl.col("date").max())
        .item()
    )
    total_hidden = bool(total["n_hidden"].any()) if total.height else True
    covid = _blank(
        covid,
        ["cumulative_n", "share_infected_percent"],
        (pl.col("date") != pl.lit(latest)) | pl.lit(total_hidden),
    )
    covid = _blank(
        covid,
        [
            "cases_signal",
            "cases_expected",
            "cases_threshold",
            "consultation_expected",
            "consultation_threshold",
        ],
        pl.lit(True),
    )
    # Consultations: covid and all consultations hidden by the national masks.
    if masks.consultations is not None:
        mine = masks.of("consultations", [code]).drop("location_code")
        covid = covid.join(mine, on="date", how="left", maintain_order="left").with_columns(
            pl.col("covid_n_hidden", "all_n_hidden").fill_null(False)
        )
    else:
        covid = covid.with_columns(
            pl.lit(False).alias("covid_n_hidden"),
            pl.lit(False).alias("all_n_hidden"),
            pl.lit(None, pl.String).alias(f"covid_n{LABEL_SUFFIX}"),
            pl.lit(None, pl.String).alias(f"all_n{LABEL_SUFFIX}"),
        )
    covid = _hide(
        covid, "consultations_covid_n", "covid_n_hidden", pl.col(f"covid_n{LABEL_SUFFIX}")
    )
    covid = _hide(covid, "consultations_all_n", "all_n_hidden", pl.col(f"all_n{LABEL_SUFFIX}"))
    either = pl.col("covid_n_hidden") | pl.col("all_n_hidden")
    covid = _blank(covid, ["consultation_share_percent", "consultation_signal"], either)
    # National lab tests and hospital admissions are in no published total.
    for column in ("tests_positive_n", "tests_negative_n", "hospital_admissions_n"):
        covid = _primary_only(covid, column)
    covid = _blank(
        covid,
        ["positivity_percent"],
        pl.col(f"tests_positive_n{LABEL_SUFFIX}").is_not_null()
        | pl.col(f"tests_negative_n{LABEL_SUFFIX}").is_not_null(),
    )
    covid = covid.drop(
        "n_hidden",
        "covid_n_hidden",
        "all_n_hidden",
        f"covid_n{LABEL_SUFFIX}",
        f"all_n{LABEL_SUFFIX}",
        strict=False,
    )
    return replace(
        view,
        covid=covid,
        signals=_public_signals(view.signals, masks, code),
        comparison=_public_comparison(view.comparison, masks),
    )


def _public_signals(signals: pl.DataFrame, masks: PublicMasks, code: str) -> pl.DataFrame:
    if masks.signals is None or signals.height == 0:
        out = signals.with_columns(pl.lit(True).alias("_hidden"))
    else:
        mine = masks.of("signals", [code]).drop("location_code")
        out = signals.join(
            mine, on=["age", "syndrome", "date"], how="left", maintain_order="left"
        ).with_columns(pl.col("n_hidden").fill_null(True).alias("_hidden"))
    label = (
        pl.col(f"n{LABEL_SUFFIX}").fill_null(pl.lit(COMPLEMENTARY_LABEL))
        if f"n{LABEL_SUFFIX}" in out.columns
        else pl.lit(COMPLEMENTARY_LABEL)
    )
    out = out.with_columns(label.alias("_label")).drop(f"n{LABEL_SUFFIX}", "n_hidden", strict=False)
    out = _hide(out, "n", "_hidden", pl.col("_label"))
    out = _blank(out, ["zscore", "status", "excess"], pl.col("_hidden"))
    # The excess is a count of consultations too; 1–4 are hidden like any other count.
    out = _primary_only(out, "excess")
    out = out.with_columns(pl.lit(None, pl.Int64).alias("denominator"))
    return out.drop("_hidden", "_label")


def _public_comparison(comparison: pl.DataFrame, masks: PublicMasks) -> pl.DataFrame:
    codes = comparison["location_code"].unique(maintain_order=True).to_list()
    weekly = masks.of("cases", codes).filter(pl.col("date").is_not_null())
    out = comparison.join(
        weekly, on=["location_code", "date"], how="left", maintain_order="left"
    ).with_columns(pl.col("n_hidden").fill_null(False))
    previous = pl.col("n_hidden").shift(1).over("location_code", order_by="date").fill_null(False)
    out = _hide(out, "n", "n_hidden", pl.col(f"n{LABEL_SUFFIX}"))
    out = _blank(out, ["per_100k"], pl.col("n_hidden"))
    out = _blank(out, ["n_14d", "per_100k_14d"], pl.col("n_hidden") | previous)
    return out.drop("n_hidden")
