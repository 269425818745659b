"""Tests for the quick-feedback matcher: Norwegian analysis, BM25F ranking, incremental index."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import korona
from korona.portfolio.matching import (
    Document,
    DocumentKind,
    Match,
    MatchIndex,
    MatchSettings,
    Query,
)

DEMO_DIR = Path(korona.__file__).resolve().parent / "demo"
EVAL_FILE = Path(__file__).resolve().parents[2] / "data" / "matching_eval.json"

SOL, NEED, INP = DocumentKind.SOLUTION, DocumentKind.NEED, DocumentKind.INPUT


def make_index(*documents: Document, settings: MatchSettings | None = None) -> MatchIndex:
    index = MatchIndex(settings)
    for document in documents:
        index.add(document)
    return index


def doc(
    kind: DocumentKind,
    id_: int,
    title: str,
    description: str = "",
    categories: tuple[str, ...] = (),
) -> Document:
    return Document(kind, id_, title, description, categories)


def keys(matches: list[Match]) -> list[tuple[DocumentKind, int]]:
    return [(m.kind, m.id) for m in matches]


# Filler documents keep the corpus big enough for IDF to tell rare from common words.
FILLER = (
    doc(SOL, 90, "Kjernejournal", "Legemidler og kritisk informasjon for leger på legevakt."),
    doc(SOL, 91, "E-resept", "Resepten sendes elektronisk til apoteket."),
    doc(
        NEED, 92, "Oversikt over intensivplasser", "Daglig oversikt over ledige senger i regionen."
    ),
    doc(NEED, 93, "Opplæring i smittevern", "Nettkurs om verneutstyr for vikarer i sykehjem."),
)


# -- Norwegian analysis -------------------------------------------------------


def test_inflected_forms_match_by_stem() -> None:
    index = make_index(doc(NEED, 1, "Pasienten trenger oppfølging"), *FILLER)
    assert keys(index.search("pasientene"))[0] == (NEED, 1)


def test_compound_query_finds_its_parts() -> None:
    index = make_index(doc(NEED, 1, "Konsultasjon på video med fastlegen"), *FILLER)
    assert keys(index.search("videokonsultasjon"))[0] == (NEED, 1)


def test_parts_query_finds_the_compound() -> None:
    index = make_index(doc(SOL, 1, "Nasjonalt verktøy for smittesporing"), *FILLER)
    assert keys(index.search("sporing av smitte i kommunen"))[0] == (SOL, 1)


def test_compound_splitting_is_what_finds_the_parts() -> None:
    # Without decompounding and n-grams, "videokonsultasjon" shares no term with the document.
    plain = MatchSettings(split_compounds=False, ngram_weight=0.0, synonym_weight=0.0)
    document = doc(NEED, 1, "Konsultasjon på video med fastlegen")
    assert make_index(document, *FILLER, settings=plain).search("videokonsultasjon") == []
    assert keys(make_index(document, *FILLER).search("videokonsultasjon")) == [(NEED, 1)]


def test_typo_is_caught_by_character_ngrams() -> None:
    index = make_index(
        doc(SOL, 1, "Videokonsultasjon fra Norsk helsenett"),
        doc(SOL, 2, "Prøvesvar på helsenorge"),
        *FILLER,
    )
    assert keys(index.search("videokonsultasjn"))[0] == (SOL, 1)


def test_ngrams_serve_only_unknown_query_words() -> None:
    documents = (doc(NEED, 1, "Pasientsikkerhet"), doc(NEED, 2, "Pasifisering"), *FILLER)
    known_only = make_index(*documents, settings=MatchSettings(ngram_max_df=1.0))
    everywhere = make_index(
        *documents, settings=MatchSettings(ngram_max_df=1.0, ngrams_for_unknown_only=False)
    )
    # "pasientsikkerhet" is indexed, so look-alike n-grams ("_pas", "pasi") are not used.
    assert keys(known_only.search("pasientsikkerhet")) == [(NEED, 1)]
    assert (NEED, 2) in keys(everywhere.search("pasientsikkerhet"))


def test_accents_and_case_are_folded_but_norwegian_letters_kept() -> None:
    index = make_index(doc(INP, 1, "Idé om PÅRØRENDE og besøk"), *FILLER)
    assert keys(index.search("ide om pårørende"))[0] == (INP, 1)
    index.add(doc(INP, 2, "Ide om tannhelse"))
    assert keys(index.search("idé tannhelse"))[0] == (INP, 2)


def test_english_loanword_finds_norwegian_synonym() -> None:
    index = make_index(doc(NEED, 1, "Oversikt over respiratorer i regionen"), *FILLER)
    assert keys(index.search("ventilatorer"))[0] == (NEED, 1)


def test_hyphenated_word_matches_the_joined_form() -> None:
    index = make_index(doc(SOL, 1, "Ekonsultasjon hos fastlegen"), *FILLER)
    assert keys(index.search("e-konsultasjon"))[0] == (SOL, 1)


# -- ranking ------------------------------------------------------------------


def test_title_outweighs_description() -> None:
    index = make_index(
        doc(SOL, 1, "Nasjonal løsning", "Tilbyr videokonsultasjon til kommunene."),
        doc(SOL, 2, "Videokonsultasjon", "Nasjonal løsning for kommunene."),
        *FILLER,
    )
    assert keys(index.search("videokonsultasjon"))[:2] == [(SOL, 2), (SOL, 1)]


def test_query_categories_lift_documents_in_that_category() -> None:
    index = make_index(
        doc(NEED, 1, "Digital løsning for kommunen", categories=("collaboration",)),
        doc(NEED, 2, "Digital løsning for kommunen", categories=("mass_alert",)),
        *FILLER,
    )
    assert keys(index.search("digital løsning", ["mass_alert"]))[0] == (NEED, 2)
    assert keys(index.search("digital løsning", ["collaboration"]))[0] == (NEED, 1)


def test_category_words_are_searchable() -> None:
    index = make_index(doc(NEED, 1, "Behov i bydelene", categories=("contact_tracing",)), *FILLER)
    assert keys(index.search("smittesporing"))[0] == (NEED, 1)


def test_results_are_sorted_and_limited() -> None:
    index = make_index(
        *(doc(INP, i, f"Videokonsultasjon nummer {i}", "video " * i) for i in range(1, 8))
    )
    matches = index.search("videokonsultasjon video", limit=3)
    assert len(matches) == 3
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_empty_and_stop_word_queries_return_nothing() -> None:
    index = make_index(*FILLER)
    assert index.search("") == []
    assert index.search("   \n ") == []
    assert index.search("og i det som er på") == []
    assert index.search("legemidler", limit=0) == []
    # Categories alone are no query, even when documents carry them.
    index.add(doc(SOL, 1, "Videokonsultasjon", categories=("video",)))
    assert index.search("", ["video"]) == []


def test_search_on_empty_index_returns_nothing() -> None:
    assert MatchIndex().search("videokonsultasjon") == []


# -- incremental index ----------------------------------------------------------


def test_added_document_is_found_at_once() -> None:
    index = make_index(*FILLER)
    assert (INP, 7) not in keys(index.search("hurtigtest på legekontoret"))
    index.add(doc(INP, 7, "Hurtigtest på legekontoret"))
    assert keys(index.search("hurtigtest på legekontoret"))[0] == (INP, 7)
    assert len(index) == len(FILLER) + 1


def test_add_with_same_kind_and_id_replaces() -> None:
    index = make_index(doc(INP, 1, "Chatbot for koronatelefonen"), *FILLER)
    index.add(doc(INP, 1, "Pulsoksymeter til hjemmeboende"))
    assert len(index) == len(FILLER) + 1
    assert (INP, 1) not in keys(index.search("chatbot koronatelefonen"))
    hit = index.search("pulsoksymeter")[0]
    assert (hit.kind, hit.id, hit.title) == (INP, 1, "Pulsoksymeter til hjemmeboende")


def test_same_id_in_another_kind_is_another_document() -> None:
    index = make_index(doc(SOL, 1, "Videokonsultasjon"), doc(NEED, 1, "Videokonsultasjon"))
    assert len(index) == 2
    assert set(keys(index.search("videokonsultasjon"))) == {(SOL, 1), (NEED, 1)}


def test_remove_forgets_the_document() -> None:
    index = make_index(doc(NEED, 1, "Tolketjeneste på video"), *FILLER)
    index.remove(NEED, 1)
    index.remove(NEED, 1)  # removing twice is harmless
    assert len(index) == len(FILLER)
    assert (NEED, 1) not in keys(index.search("tolketjeneste video"))


def test_edit_and_revert_restores_scores() -> None:
    original = doc(NEED, 1, "Digital hjemmeoppfølging", "Måling av oksygenmetning hjemme.")
    index = make_index(original, *FILLER)
    before = {(m.kind, m.id): m.score for m in index.search("hjemmeoppfølging oksygenmetning")}
    # Many edits exercise the compaction of postings that are half dead.
    for round_ in range(20):
        index.add(doc(NEED, 1, f"Utkast {round_}", "Noe helt annet om sykehjem."))
    index.add(original)
    after = {(m.kind, m.id): m.score for m in index.search("hjemmeoppfølging oksygenmetning")}
    assert after == pytest.approx(before)


def test_removed_words_no_longer_split_compounds() -> None:
    words_only = MatchSettings(ngram_weight=0.0, synonym_weight=0.0)
    index = make_index(
        doc(NEED, 1, "Ernæring på sykehjem"),
        doc(INP, 2, "Veiledning for kjøkkenet"),
        settings=words_only,
    )
    # "ernæring" is known from need 1, so the compound splits and "veiledning" finds input 2.
    assert (INP, 2) in keys(index.search("ernæringsveiledning"))
    index.remove(NEED, 1)
    assert keys(index.search("ernæringsveiledning")) == []


def test_removing_everything_empties_the_index() -> None:
    index = make_index(*FILLER)
    for document in FILLER:
        index.remove(document.kind, document.id)
    assert len(index) == 0
    assert index.search("kjernejournal legemidler") == []
    index.add(FILLER[0])
    assert keys(index.search("kjernejournal")) == [(FILLER[0].kind, FILLER[0].id)]


WORD_POOL = [
    "videokonsultasjon",
    "fastlege",
    "smittesporing",
    "sykehjem",
    "pårørende",
    "prøvesvar",
    "laboratorium",
    "respirator",
    "kapasitet",
    "varsling",
    "innbyggere",
    "kommune",
    "hjemmeoppfølging",
    "nettbrett",
    "chat",
]

operations = st.lists(
    st.tuples(
        st.sampled_from([SOL, NEED, INP]),
        st.integers(1, 4),
        st.lists(st.sampled_from(WORD_POOL), min_size=0, max_size=6),
        st.booleans(),  # True: remove instead of add
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(operations, st.lists(st.sampled_from(WORD_POOL), min_size=1, max_size=3))
def test_incremental_index_scores_like_a_fresh_one(ops, query_words) -> None:
    # Without decompounding, analysis does not depend on what was indexed before,
    # so any history of adds, replacements and removals must score like a rebuild.
    no_split = MatchSettings(split_compounds=False)
    incremental = MatchIndex(no_split)
    live: dict[tuple[DocumentKind, int], Document] = {}
    for kind, id_, words, removal in ops:
        if removal:
            incremental.remove(kind, id_)
            live.pop((kind, id_), None)
        else:
            document = doc(kind, id_, " ".join(words[:2]), " ".join(words[2:]))
            incremental.add(document)
            live[(kind, id_)] = document
    fresh = make_index(*live.values(), settings=no_split)
    query = " ".join(query_words)
    got = {(m.kind, m.id): m.score for m in incremental.search(query, limit=20)}
    want = {(m.kind, m.id): m.score for m in fresh.search(query, limit=20)}
    assert len(incremental) == len(live)
    assert got.keys() == want.keys()
    for key, score in want.items():
        assert got[key] == pytest.approx(score, rel=1e-5)


def test_kinds_filter() -> None:
    index = make_index(
        doc(SOL, 1, "Videokonsultasjon"),
        doc(NEED, 2, "Videokonsultasjon"),
        doc(INP, 3, "Videokonsultasjon"),
    )
    assert keys(index.search("videokonsultasjon", kinds={SOL})) == [(SOL, 1)]
    assert set(keys(index.search("videokonsultasjon", kinds=[NEED, INP]))) == {(NEED, 2), (INP, 3)}
    assert index.search("videokonsultasjon", kinds=()) == []


def test_exclude_leaves_out_the_document_itself() -> None:
    index = make_index(doc(INP, 1, "Videokonsultasjon"), doc(SOL, 2, "Videokonsultasjon"))
    assert keys(index.search("videokonsultasjon", exclude=(INP, 1))) == [(SOL, 2)]
    # Excluding an unknown document changes nothing.
    assert len(index.search("videokonsultasjon", exclude=(INP, 99))) == 2


def test_concurrent_searches_and_writes() -> None:
    index = make_index(*FILLER)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(200):
                index.add(doc(INP, i % 20, f"Innspill {i} om videokonsultasjon"))
        except BaseException as error:
            errors.append(error)

    def reader() -> None:
        try:
            for _ in range(200):
                for match in index.search("videokonsultasjon innspill"):
                    assert match.kind in (SOL, NEED, INP)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(index) == len(FILLER) + 20
    assert len(index.search("videokonsultasjon innspill", kinds={INP}, limit=50)) == 20


# -- evaluation set -------------------------------------------------------------


def _ref_key(ref: str) -> tuple[DocumentKind, int]:
    prefix, number = ref.split("-")
    return (SOL if prefix == "sol" else NEED), int(number)


def _demo_index() -> MatchIndex:
    index = MatchIndex()
    for row in json.loads((DEMO_DIR / "solutions.json").read_text(encoding="utf-8")):
        kind, id_ = _ref_key(row["ref"])
        index.add(Document(kind, id_, row["name"], row["description"], tuple(row["categories"])))
    for row in json.loads((DEMO_DIR / "needs.json").read_text(encoding="utf-8")):
        kind, id_ = _ref_key(row["ref"])
        index.add(Document(kind, id_, row["title"], row["description"], (row["category"],)))
    return index


def test_eval_set_recall_at_3() -> None:
    items = json.loads(EVAL_FILE.read_text(encoding="utf-8"))["items"]
    assert len(items) >= 60
    index = _demo_index()
    recall = 0.0
    for item in items:
        relevant = {_ref_key(ref) for ref in item["refs"]}
        text = f"{item['title']}\n{item['description']}"
        top3 = set(keys(index.search(text, item["categories"], limit=3)))
        recall += len(relevant & top3) / min(3, len(relevant))
    assert recall / len(items) >= 0.9


def test_search_many_equals_each_query_alone() -> None:
    """Queries that share the weights of their common terms score as each would alone."""
    index = _demo_index()
    items = json.loads(EVAL_FILE.read_text(encoding="utf-8"))["items"][:40]
    queries = [
        Query(f"{item['title']}\n{item['description']}", item["categories"], exclude=(INP, 1))
        for item in items
    ]
    groups = [{SOL}, {NEED}, {INP}]
    together = index.search_many(queries, groups, limit=3)
    assert together == [index.search_many([query], groups, limit=3)[0] for query in queries]
    assert sum(len(group) for groups in together for group in groups) > 100
    assert index.search_many(queries[:2], groups, limit=0) == [[[], [], []], [[], [], []]]


def test_search_groups_equals_one_search_a_group() -> None:
    """Scoring once for several groups of kinds gives what one search a group gives."""
    index = make_index(
        *FILLER,
        doc(SOL, 1, "Videokonsultasjon", "Video mellom lege og pasient.", ("video",)),
        doc(NEED, 2, "Video for fastleger", "Fastleger trenger videokonsultasjon."),
        doc(INP, 3, "Videomøter i kommunen", "Video for sykehjem og legevakt."),
        doc(INP, 4, "Videokonsultasjon hjemme", "Pasienter hjemme snakker med legen på video."),
    )
    groups = [{SOL}, {NEED}, {INP}, {SOL, INP}, None]
    for text, categories in (("videokonsultasjon lege", ["video"]), ("sykehjem", []), ("", [])):
        found = index.search_groups(text, categories, groups, limit=2, exclude=(INP, 3))
        assert found == [
            index.search(text, categories, limit=2, kinds=kinds, exclude=(INP, 3))
            for kinds in groups
        ]
    assert index.search_groups("video", [], groups, limit=0) == [[] for _ in groups]
    assert keys(index.search_groups("video", [], [{INP}], limit=5, exclude=(INP, 3))[0]) == [
        (INP, 4)
    ]
