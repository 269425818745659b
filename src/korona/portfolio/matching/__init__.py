"""Rank solutions, needs and earlier inputs by text similarity: engine, word lists, index."""

from korona.portfolio.matching.engine import (
    Document,
    DocumentKind,
    Match,
    MatchIndex,
    MatchSettings,
)

__all__ = ["Document", "DocumentKind", "Match", "MatchIndex", "MatchSettings"]
