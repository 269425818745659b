"""What the matcher indexes and returns: documents, matches, fields and the scoring settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class DocumentKind(StrEnum):
    """What a matchable document is in the portfolio."""

    SOLUTION = "solution"  # eksisterende løsning
    NEED = "need"  # behov
    INPUT = "input"  # innspill (idé, forslag, tilbud)


@dataclass(frozen=True)
class Document:
    """A solution, need or input as the matcher sees it."""

    kind: DocumentKind
    id: int
    title: str
    description: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    """One ranked hit; a higher score is more similar."""

    kind: DocumentKind
    id: int
    title: str
    score: float


class Field(IntEnum):
    """The word fields of a document, in BM25F order."""

    TITLE = 0
    CATEGORIES = 1
    DESCRIPTION = 2


@dataclass(frozen=True)
class MatchSettings:
    """Weights of the BM25F word fields and of the character n-gram field.

    The defaults follow Robertson & Zaragoza, "The Probabilistic Relevance
    Framework: BM25 and Beyond" (2009): a title counts more than categories,
    which count more than the free-text description; the title and categories
    are short, so length normalisation (b) is weak there.

    ``field_weights`` and ``field_b`` are ordered title, categories,
    description. ``ngram_max_df`` is the share of documents above which a
    query n-gram is skipped. ``compound_part_weight``, ``synonym_weight`` and
    ``category_query_weight`` scale the query terms that decompounding,
    the thesaurus and the proposer's ticked categories add.
    """

    k1: float = 1.2
    field_weights: tuple[float, float, float] = (3.0, 2.0, 1.0)
    field_b: tuple[float, float, float] = (0.3, 0.0, 0.75)
    ngram_weight: float = 0.5
    ngram_b: float = 0.75
    ngram_size: int = 4
    ngram_max_df: float = 0.1
    ngrams_for_unknown_only: bool = True
    split_compounds: bool = True
    compound_part_weight: float = 0.7
    synonym_weight: float = 0.6
    category_query_weight: float = 1.5


@dataclass(frozen=True)
class Query:
    """One text to match, with its categories and a document to leave out (itself)."""

    text: str
    categories: Sequence[str] = ()
    exclude: tuple[DocumentKind, int] | None = None
