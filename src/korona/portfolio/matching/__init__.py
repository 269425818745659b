"""Rank solutions, needs and earlier inputs by text similarity: engine, word lists, index."""

from korona.portfolio.matching.documents import (
    Document,
    DocumentKind,
    Match,
    MatchSettings,
    Query,
)
from korona.portfolio.matching.engine import MatchIndex

__all__ = ["Document", "DocumentKind", "Match", "MatchIndex", "MatchSettings", "Query"]
