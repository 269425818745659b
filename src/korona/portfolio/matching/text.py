"""Text analysis for matching: folding, words, Snowball stems, synonyms, n-grams, word lists."""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import snowballstemmer

WORDS_DIR = Path(__file__).with_name("words")


def word_list(name: str) -> tuple[str, ...]:
    """Return the whitespace-separated words of a word-list file, skipping # comment lines."""
    return tuple(word for line in _lines(name) for word in line.split())


def _lines(name: str) -> list[str]:
    text = (WORDS_DIR / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


STOP_WORDS = frozenset(word_list("stop_words.txt"))
#: Word parts that compounds are split against before any document is indexed.
SEED_PARTS = word_list("compound_parts.txt")
#: Groups of words searched as one concept at reduced weight ("ventilator" finds "respirator").
SYNONYM_GROUPS = tuple(_lines("synonyms.txt"))
#: Norwegian words each default category code is searched by.
CATEGORY_WORDS: dict[str, str] = json.loads(
    (WORDS_DIR / "category_words.json").read_text(encoding="utf-8")
)

_TOKEN = re.compile(r"[a-z0-9æøå]+")
_NEEDS_FOLDING = re.compile(r"[^\x00-\x7fæøå]")


def fold(text: str) -> str:
    """Lower-case and strip accents, but keep æ, ø and å (and fold Swedish ä, ö)."""
    text = text.lower().replace("ä", "æ").replace("ö", "ø")
    if not _NEEDS_FOLDING.search(text):
        return text  # the common case: plain Norwegian, nothing to strip
    decomposed = unicodedata.normalize("NFD", text)
    # U+030A is the ring of å; every other combining mark (é, ü, …) is dropped.
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch) or ch == "\u030a")
    return unicodedata.normalize("NFC", kept)


def split_words(text: str) -> list[str]:
    """Split text into folded words; hyphenated forms also yield the joined word."""
    words: list[str] = []
    for chunk in fold(text).split():
        parts = [p for p in _TOKEN.findall(chunk) if p]
        words.extend(p for p in parts if len(p) > 1 and p not in STOP_WORDS)
        # "e-konsultasjon" and "covid-19" are also written as one word.
        if len(parts) > 1:
            joined = "".join(parts)
            if len(joined) > 3:
                words.append(joined)
    return [w for w in words if not (w.isdigit() and len(w) < 3)]


# A Snowball stemmer keeps its cursor in the object, so concurrent searches
# each need their own.
_STEMMERS = threading.local()


@lru_cache(maxsize=200_000)
def stem_of(word: str) -> str:
    """Return the Snowball Norwegian stem of a folded word."""
    stemmer = getattr(_STEMMERS, "norwegian", None)
    if stemmer is None:
        stemmer = _STEMMERS.norwegian = snowballstemmer.stemmer("norwegian")
    return str(stemmer.stemWord(word))


def _synonym_table() -> dict[str, frozenset[str]]:
    """Map each stem in a synonym group to the other stems of its groups."""
    table: dict[str, set[str]] = {}
    for group in SYNONYM_GROUPS:
        stems = {stem_of(w) for w in group.split()}
        for stem in stems:
            table.setdefault(stem, set()).update(stems - {stem})
    return {stem: frozenset(others) for stem, others in table.items()}


SYNONYMS = _synonym_table()


def category_token(code: str) -> str:
    # The colon cannot come out of tokenisation, so this never clashes with a word.
    return f"cat:{code.strip().lower()}"


def ngrams_of(stem: str, size: int) -> list[str]:
    padded = f"_{stem}_"
    if len(padded) <= size:
        return [padded]
    return [padded[i : i + size] for i in range(len(padded) - size + 1)]


@dataclass
class Analysis:
    """Weighted terms of one text: word stems and character n-grams."""

    words: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    ngrams: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))


def analyse_categories(categories: Iterable[str]) -> Analysis:
    """Return the terms of category codes: a token per code plus its Norwegian words."""
    result = Analysis()
    for code in categories:
        result.words[category_token(code)] += 1.0
        for word in split_words(CATEGORY_WORDS.get(code, code.replace("_", " "))):
            result.words[stem_of(word)] += 1.0
    return result


def split_compound(
    word: str,
    vocabulary: Collection[str],
    known_stems: Collection[str],
    depth: int = 0,
    *,
    partial: bool = True,
) -> list[str]:
    """Split a compound into known parts, longest head first ([] if it is not one).

    Norwegian joins parts directly or with a linking -s- or -e-
    ("smitte+sporing", "sykehjem+s+plass"). A split where every part is a
    known word wins; failing that, a long known head with a long unknown
    tail ("kommune+overlegen") still yields the head, so the word is
    findable by its first part.
    """
    if len(word) < 7 or depth > 3:
        return []

    def known(part: str) -> bool:
        return len(part) >= 3 and (part in vocabulary or stem_of(part) in known_stems)

    fallback: list[str] = []
    for cut in range(len(word) - 3, 2, -1):
        head, rest = word[:cut], word[cut:]
        if not known(head):
            continue
        tails = [rest]
        if rest[0] in "se" and len(rest) > 4:
            tails.append(rest[1:])
        for tail in tails:
            if known(tail):
                return [head, tail]
            deeper = split_compound(tail, vocabulary, known_stems, depth + 1, partial=False)
            if deeper:
                return [head, *deeper]
        # Only a head seen as a word of its own, not a stem look-alike
        # ("kommun" in "kommunikasjon"), is trusted without its tail.
        if partial and not fallback and len(rest) >= 4 and head in vocabulary:
            fallback = [head]
    return fallback
