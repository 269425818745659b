"""The match index: BM25F over words plus character n-grams, kept in memory, thread-safe."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from korona.portfolio.matching.documents import (
    Document,
    DocumentKind,
    Field,
    Match,
    MatchSettings,
    Query,
)
from korona.portfolio.matching.locks import RWLock
from korona.portfolio.matching.postings import Posting, add_slot, drop_slot, forget
from korona.portfolio.matching.text import (
    SEED_PARTS,
    SYNONYMS,
    Analysis,
    analyse_categories,
    category_token,
    ngrams_of,
    split_compound,
    split_words,
    stem_of,
)

_KIND_CODES: dict[DocumentKind, int] = {kind: code for code, kind in enumerate(DocumentKind)}


class MatchIndex:
    """An incremental BM25F index over solutions, needs and inputs.

    Word stems are scored with BM25F over title, categories and description;
    Norwegian compounds are split against the known vocabulary, and a
    character n-gram field catches the rest (unseen compounds, typos).
    Postings are kept per term, so a search touches only the documents that
    share a term with the query.
    """

    def __init__(self, settings: MatchSettings | None = None) -> None:
        self.settings = settings or MatchSettings()
        self._lock = RWLock()
        self._words: dict[str, Posting] = {}
        self._ngrams: dict[str, Posting] = {}
        self._word_df: Counter[str] = Counter()
        self._ngram_df: Counter[str] = Counter()
        # The vocabulary compounds are split against: surface word -> count.
        self._vocabulary: Counter[str] = Counter(SEED_PARTS)
        self._known_stems: Counter[str] = Counter(stem_of(w) for w in SEED_PARTS)
        self._slot_of: dict[tuple[DocumentKind, int], int] = {}
        self._docs: list[Document | None] = []
        self._terms: list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = []
        capacity = 64
        self._lengths = np.zeros((4, capacity))  # title, categories, description, n-grams
        self._kind = np.zeros(capacity, dtype=np.int8)
        self._alive = np.zeros(capacity, dtype=bool)
        self._length_sum = np.zeros(4)

    def unchanging(self) -> AbstractContextManager[None]:
        """Hold off every change while the caller reads the whole index (to pickle it)."""
        return self._lock.read()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]  # a lock cannot be pickled; the copy gets a fresh one
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = RWLock()

    def __len__(self) -> int:
        with self._lock.read():
            return len(self._slot_of)

    def add(self, doc: Document) -> None:
        """Insert a document, or replace the one with the same kind and id."""
        with self._lock.write():
            key = (doc.kind, doc.id)
            if key in self._slot_of:
                self._remove_slot(self._slot_of.pop(key))
            # Learn the words first so the document's own compounds can be split.
            title, description = split_words(doc.title), split_words(doc.description)
            surface = title + description
            self._vocabulary.update(surface)
            self._known_stems.update(stem_of(w) for w in surface)
            fields = (
                self._analyse_words(title),
                analyse_categories(doc.categories),
                self._analyse_words(description),
            )
            self._insert(doc, fields, surface)

    def remove(self, kind: DocumentKind, id: int) -> None:
        """Remove a document; removing an unknown one does nothing."""
        with self._lock.write():
            slot = self._slot_of.pop((DocumentKind(kind), id), None)
            if slot is not None:
                self._remove_slot(slot)

    def search(
        self,
        text: str,
        categories: Sequence[str] = (),
        *,
        limit: int = 10,
        kinds: Collection[DocumentKind] | None = None,
        exclude: tuple[DocumentKind, int] | None = None,
    ) -> list[Match]:
        """Return the documents most similar to the text, best first."""
        return self.search_groups(text, categories, [kinds], limit=limit, exclude=exclude)[0]

    def search_groups(
        self,
        text: str,
        categories: Sequence[str],
        groups: Sequence[Collection[DocumentKind] | None],
        *,
        limit: int,
        exclude: tuple[DocumentKind, int] | None = None,
    ) -> list[list[Match]]:
        """Return, for each group of kinds (None: every kind), its best ``limit`` documents.

        The same as one :meth:`search` a group, but the text is analysed and scored once.
        """
        return self.search_many([Query(text, categories, exclude)], groups, limit=limit)[0]

    def search_many(
        self,
        queries: Sequence[Query],
        groups: Sequence[Collection[DocumentKind] | None],
        *,
        limit: int,
    ) -> list[list[list[Match]]]:
        """Return :meth:`search_groups` of each query, all against the same state of the index.

        A term's weight in every document that holds it depends on the index, not on the
        query, so a term that several queries share (a page of suggestions) is weighed once.
        """
        if limit <= 0:
            return [[[] for _ in groups] for _ in queries]
        with self._lock.read():
            averages = np.maximum(self._length_sum / max(len(self._slot_of), 1), 1e-9)
            weighed = _Weighed(averages)
            return [self._search_groups(query, groups, limit, weighed) for query in queries]

    def _search_groups(
        self,
        query: Query,
        groups: Sequence[Collection[DocumentKind] | None],
        limit: int,
        weighed: _Weighed,
    ) -> list[list[Match]]:
        analysis = self._analyse_words(split_words(query.text), query=True)
        # Categories re-rank what the text finds; on their own they are no query.
        if not analysis.words and not analysis.ngrams:
            return [[] for _ in groups]
        for code in query.categories:
            analysis.words[category_token(code)] += self.settings.category_query_weight
        slots, scores = self._score(analysis, weighed)
        keep = self._alive[slots]
        if query.exclude is not None:
            excluded = self._slot_of.get((DocumentKind(query.exclude[0]), query.exclude[1]))
            if excluded is not None:
                keep &= slots != excluded
        return [self._best(slots, scores, keep, kinds, limit) for kinds in groups]

    def _best(
        self,
        slots: np.ndarray,
        scores: np.ndarray,
        keep: np.ndarray,
        kinds: Collection[DocumentKind] | None,
        limit: int,
    ) -> list[Match]:
        """Return the best ``limit`` of the scored slots that are kept and of the given kinds."""
        if kinds is not None:
            codes = np.array([_KIND_CODES[DocumentKind(k)] for k in kinds], dtype=np.int8)
            keep = keep & np.isin(self._kind[slots], codes)
        slots, scores = slots[keep], scores[keep]
        if limit < slots.size:
            top = np.argpartition(-scores, limit - 1)[:limit]
            slots, scores = slots[top], scores[top]
        order = np.lexsort((slots, -scores))
        matches = []
        for slot, score in zip(slots[order], scores[order], strict=True):
            doc = self._docs[int(slot)]
            assert doc is not None
            matches.append(Match(doc.kind, doc.id, doc.title, round(float(score), 6)))
        return matches

    # -- analysis -------------------------------------------------------------

    def _analyse_words(self, words: list[str], *, query: bool = False) -> Analysis:
        """Turn words into weighted stems (with compound parts) and n-grams."""
        settings = self.settings
        result = Analysis()
        for word in words:
            stem = stem_of(word)
            result.words[stem] += 1.0
            parts = self._split_compound(word) if settings.split_compounds else []
            for part in parts:
                part_stem = stem_of(part)
                if part_stem != stem:
                    result.words[part_stem] += settings.compound_part_weight
            # A query word the index knows is matched exactly; its n-grams would
            # only add noise from look-alike words, so they serve unknown words.
            if query and settings.ngrams_for_unknown_only and stem in self._word_df:
                continue
            grams = ngrams_of(stem, settings.ngram_size)
            # Each word's n-grams together weigh as much as one word.
            for gram in grams:
                result.ngrams[gram] += 1.0 / len(grams)
        return result

    def _split_compound(self, word: str) -> list[str]:
        return split_compound(word, self._vocabulary, self._known_stems)

    # -- postings -------------------------------------------------------------

    def _insert(self, doc: Document, fields: tuple[Analysis, ...], surface: list[str]) -> None:
        slot = len(self._docs)
        self._grow(slot + 1)
        self._docs.append(doc)
        self._slot_of[(doc.kind, doc.id)] = slot
        self._kind[slot] = _KIND_CODES[doc.kind]
        self._alive[slot] = True

        word_tf: dict[str, list[float]] = {}
        for index, analysis in enumerate(fields):
            for term, weight in analysis.words.items():
                word_tf.setdefault(term, [0.0, 0.0, 0.0])[index] += weight
        for term, tfs in word_tf.items():
            add_slot(self._words, term, slot, tfs)
        self._word_df.update(word_tf.keys())

        # The title's n-grams count double, as a cheap stand-in for field weights.
        ngram_tf: defaultdict[str, float] = defaultdict(float)
        for factor, analysis in ((2.0, fields[Field.TITLE]), (1.0, fields[Field.DESCRIPTION])):
            for gram, weight in analysis.ngrams.items():
                ngram_tf[gram] += factor * weight
        for gram, weight in ngram_tf.items():
            add_slot(self._ngrams, gram, slot, (weight,))
        self._ngram_df.update(ngram_tf.keys())

        lengths = [sum(analysis.words.values()) for analysis in fields]
        lengths.append(sum(ngram_tf.values()))
        self._lengths[:, slot] = lengths
        self._length_sum += lengths
        self._terms.append((tuple(word_tf), tuple(ngram_tf), tuple(surface)))

    def _remove_slot(self, slot: int) -> None:
        words, ngrams, surface = self._terms[slot]
        self._terms[slot] = ((), (), ())
        self._alive[slot] = False
        self._docs[slot] = None
        self._length_sum -= self._lengths[:, slot]
        forget(self._word_df, words)
        forget(self._ngram_df, ngrams)
        forget(self._vocabulary, surface)
        forget(self._known_stems, [stem_of(w) for w in surface])
        drop_slot(self._words, words, self._alive)
        drop_slot(self._ngrams, ngrams, self._alive)

    def _grow(self, size: int) -> None:
        capacity = self._alive.size
        if size <= capacity:
            return
        while capacity < size:
            capacity *= 2
        extra = capacity - self._alive.size
        self._lengths = np.concatenate([self._lengths, np.zeros((4, extra))], axis=1)
        self._kind = np.concatenate([self._kind, np.zeros(extra, dtype=np.int8)])
        self._alive = np.concatenate([self._alive, np.zeros(extra, dtype=bool)])

    # -- scoring --------------------------------------------------------------

    def _expand(self, query: Analysis) -> dict[str, float]:
        """Add synonyms of the query stems at reduced weight."""
        weights: dict[str, float] = dict(query.words)
        for term, weight in query.words.items():
            if self.settings.synonym_weight <= 0:
                break
            for synonym in SYNONYMS.get(term, ()):
                extra = weight * self.settings.synonym_weight
                weights[synonym] = max(weights.get(synonym, 0.0), extra)
        return weights

    def _score(self, query: Analysis, weighed: _Weighed) -> tuple[np.ndarray, np.ndarray]:
        """Return the slots sharing a term with the query and their BM25F scores.

        ``weighed`` keeps each term's weights for the other queries of a :meth:`search_many`
        (the index does not change under its read lock).
        """
        settings = self.settings
        if not self._slot_of:
            return np.empty(0, dtype=np.int32), np.empty(0)
        k1 = settings.k1
        slot_parts: list[np.ndarray] = []
        score_parts: list[np.ndarray] = []

        # (term, weight in the query, is an n-gram): stems and synonyms, then weighed n-grams.
        terms = [(term, weight, False) for term, weight in self._expand(query).items()]
        if settings.ngram_weight > 0:
            terms += [
                (gram, settings.ngram_weight * weight, True)
                for gram, weight in query.ngrams.items()
            ]
        for term, query_weight, ngram in terms:
            found = self._weights(weighed, term, ngram=ngram)
            if found is not None:
                slot_parts.append(found.slots)
                pseudo_tf = found.pseudo_tf
                score_parts.append(
                    query_weight * found.idf * pseudo_tf * (k1 + 1.0) / (k1 + pseudo_tf)
                )

        if not slot_parts:
            return np.empty(0, dtype=np.int32), np.empty(0)
        # One dense pass over the slot range is cheaper than sorting the postings.
        totals = np.bincount(
            np.concatenate(slot_parts),
            weights=np.concatenate(score_parts),
            minlength=len(self._docs),
        )
        slots = np.flatnonzero(totals).astype(np.int32)
        return slots, totals[slots]

    def _weights(self, weighed: _Weighed, term: str, *, ngram: bool) -> _TermWeights | None:
        """Return a term's weights, from ``weighed`` if another query needed them already."""
        key = (ngram, term)
        if key not in weighed.terms:
            weigh = self._ngram_weights if ngram else self._word_weights
            weighed.terms[key] = weigh(term, weighed.averages)
        return weighed.terms[key]

    def _word_weights(self, term: str, averages: np.ndarray) -> _TermWeights | None:
        """Return a word stem's BM25F pseudo-frequency in each document holding it."""
        posting = self._words.get(term)
        df = self._word_df.get(term, 0)
        if posting is None or df <= 0:
            return None
        settings = self.settings
        slots = np.frombuffer(posting.slots, dtype=np.int32)
        pseudo_tf = np.zeros(slots.size)
        for column, weight, b, average, lengths in zip(
            posting.tf,
            settings.field_weights,
            settings.field_b,
            averages[:3],
            self._lengths[:3],
            strict=True,
        ):
            tf = np.frombuffer(column, dtype=np.float32)
            norm = 1.0 - b + b * lengths[slots] / average
            pseudo_tf += weight * tf / norm
        return _TermWeights(slots.copy(), pseudo_tf, self._idf(df))

    def _ngram_weights(self, gram: str, averages: np.ndarray) -> _TermWeights | None:
        """Return an n-gram's pseudo-frequency in each document (None: absent or too common)."""
        posting = self._ngrams.get(gram)
        df = self._ngram_df.get(gram, 0)
        if posting is None or df <= 0 or df > self.settings.ngram_max_df * len(self._slot_of):
            return None
        b = self.settings.ngram_b
        slots = np.frombuffer(posting.slots, dtype=np.int32)
        tf = np.frombuffer(posting.tf[0], dtype=np.float32)
        norm = 1.0 - b + b * self._lengths[3][slots] / averages[3]
        return _TermWeights(slots.copy(), tf / norm, self._idf(df))

    def _idf(self, df: int) -> float:
        live = len(self._slot_of)
        return math.log(1.0 + (live - df + 0.5) / (df + 0.5))


@dataclass(frozen=True)
class _TermWeights:
    """A term's documents, its BM25F pseudo-frequency in each, and its idf."""

    slots: np.ndarray
    pseudo_tf: np.ndarray
    idf: float


@dataclass
class _Weighed:
    """The terms weighed so far against one state of the index (one :meth:`search_many`)."""

    averages: np.ndarray  # the mean length of each field
    terms: dict[tuple[bool, str], _TermWeights | None] = field(default_factory=dict)
