"""Syndrome definitions (ICPC-2 code sets and denominator rules) read from a data table."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path

from korona.surveillance.consultation import ContactType
from korona.surveillance.sources import IngestError

__all__ = ["DenominatorRule", "Syndrome", "load_syndromes", "syndromes_from_rows"]


class DenominatorRule(StrEnum):
    """Which consultations a syndrome's denominator counts (spec §1)."""

    ALL = "all"
    ALL_MINUS_INFLUENSA = "all_minus_influensa"


@dataclass(frozen=True)
class Syndrome:
    """A syndrome: a set of ICPC-2 codes and the rule for its denominator."""

    name: str
    codes: tuple[str, ...]
    denominator: DenominatorRule
    signal_contact_types: tuple[ContactType, ...]
    description: str = ""

    def as_row(self) -> dict[str, str]:
        """Return the syndrome as a row of the syndrome table (what the store records)."""
        return {
            "syndrome": self.name,
            "icpc2_codes": " ".join(self.codes),
            "denominator": self.denominator.value,
            "signal_contact_types": " ".join(c.value for c in self.signal_contact_types),
            "description": self.description,
        }


def load_syndromes(path: Path | None = None) -> list[Syndrome]:
    """Read syndrome definitions from a CSV (default: ``syndromes.csv`` shipped with korona).

    Columns: syndrome, icpc2_codes (space-separated), denominator (all | all_minus_influensa),
    signal_contact_types (space-separated ContactType values), description. Operators extend
    the table to add syndromes; no code changes are needed.
    """
    if path is None:
        text = (
            resources.files("korona.surveillance.sources")
            .joinpath("syndromes.csv")
            .read_text(encoding="utf-8")
        )
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise IngestError(f"cannot read the syndrome definitions {path}: {error}") from None
    return syndromes_from_rows(csv.DictReader(io.StringIO(text)))


def syndromes_from_rows(rows: Iterable[Mapping[str, str]]) -> list[Syndrome]:
    """Build syndromes from rows of the syndrome table (see :func:`load_syndromes`)."""
    syndromes = []
    for row in rows:
        try:
            syndromes.append(
                Syndrome(
                    name=row["syndrome"].strip(),
                    codes=tuple(row["icpc2_codes"].upper().split()),
                    denominator=DenominatorRule(row["denominator"].strip()),
                    signal_contact_types=tuple(
                        ContactType(c) for c in row["signal_contact_types"].split()
                    ),
                    description=row.get("description", "") or "",
                )
            )
        except (KeyError, ValueError) as error:
            raise IngestError(f"syndrome definitions: bad row {row}: {error}") from error
    return syndromes
