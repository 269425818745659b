"""Measure quick-feedback search latency on a generated corpus of 10,000 documents."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

import korona
from korona.portfolio.matching import Document, DocumentKind, MatchIndex

DEMO_DIR = Path(korona.__file__).resolve().parent / "demo"
EVAL_FILE = Path(__file__).resolve().parents[1] / "tests" / "data" / "matching_eval.json"

_OPENERS = (
    "Vi foreslår at",
    "Kommunen ønsker at",
    "Som fastlege mener jeg at",
    "Vi kan tilby en løsning der",
    "Sykehuset trenger at",
    "Hjemmetjenesten ser behov for at",
    "Idé:",
    "Tilbud:",
)
_PLACES = ("i distriktet", "i bydelene", "på sykehjemmet", "på legevakten", "i regionen", "hjemme")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def generate_corpus(size: int, seed: int) -> tuple[list[Document], list[str]]:
    """Recombine demo content into a varied corpus; return it with a pool of query texts."""
    rng = random.Random(seed)
    solutions = json.loads((DEMO_DIR / "solutions.json").read_text(encoding="utf-8"))
    needs = json.loads((DEMO_DIR / "needs.json").read_text(encoding="utf-8"))
    items = json.loads(EVAL_FILE.read_text(encoding="utf-8"))["items"]
    texts = [(s["name"], s["description"], tuple(s["categories"])) for s in solutions]
    texts += [(n["title"], n["description"], (n["category"],)) for n in needs]
    texts += [(i["title"], i["description"], tuple(i["categories"])) for i in items]
    sentences = [s for _, description, _ in texts for s in _sentences(description)]
    title_words = sorted({w for title, _, _ in texts for w in title.split() if len(w) > 3})
    categories = sorted({c for _, _, cats in texts for c in cats})

    kinds = [DocumentKind.SOLUTION] * 1 + [DocumentKind.NEED] * 3 + [DocumentKind.INPUT] * 6
    documents = []
    for number in range(size):
        base_title, _, base_categories = rng.choice(texts)
        words = base_title.split()
        # Swap one or two title words so titles are not all copies of 130 originals.
        for _ in range(rng.randint(1, 2)):
            words[rng.randrange(len(words))] = rng.choice(title_words)
        title = " ".join(words)
        body = [rng.choice(_OPENERS), *rng.sample(sentences, rng.randint(2, 5))]
        body.append(rng.choice(_PLACES) + ".")
        cats = tuple(rng.sample(categories, 1)) if rng.random() < 0.3 else base_categories
        documents.append(Document(kinds[number % len(kinds)], number, title, " ".join(body), cats))

    queries = [f"{t}\n{d}" for t, d, _ in texts]
    while len(queries) < 1000:
        title, _, _ = rng.choice(texts)
        queries.append(f"{title}\n" + " ".join(rng.sample(sentences, rng.randint(1, 3))))
    rng.shuffle(queries)
    return documents, queries


def _misspell(word: str, rng: random.Random) -> str:
    """Drop one letter from about a third of the longer words."""
    if len(word) < 6 or rng.random() > 0.3:
        return word
    cut = rng.randrange(1, len(word) - 1)
    return word[:cut] + word[cut + 1 :]


def _machine() -> str:
    """Describe the CPU as /proc/cpuinfo names it, with the core count."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, {platform.system()}"


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    values = np.asarray(samples_ms)
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "mean_ms": round(statistics.fmean(values), 2),
    }


def run(size: int, queries: int, seed: int) -> dict[str, object]:
    """Build the index, then time searches and incremental replacements."""
    documents, pool = generate_corpus(size, seed)
    index = MatchIndex()
    started = time.perf_counter()
    for document in documents:
        index.add(document)
    build_s = time.perf_counter() - started

    # Warm the stemmer cache and NumPy paths once, as a running server would be.
    for text in pool[:20]:
        index.search(text)
    search_ms = []
    for text in pool[:queries]:
        started = time.perf_counter()
        index.search(text, limit=10)
        search_ms.append((time.perf_counter() - started) * 1000)

    # Misspelled queries take the n-gram path for their unknown words: the slow case.
    rng = random.Random(seed + 1)
    typo_ms = []
    for text in pool[:queries]:
        typo = " ".join(_misspell(word, rng) for word in text.split())
        started = time.perf_counter()
        index.search(typo, limit=10)
        typo_ms.append((time.perf_counter() - started) * 1000)

    add_ms = []
    for _ in range(200):
        old = documents[rng.randrange(size)]
        edited = Document(
            old.kind, old.id, old.title + " (revidert)", old.description, old.categories
        )
        started = time.perf_counter()
        index.add(edited)
        add_ms.append((time.perf_counter() - started) * 1000)

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "python": platform.python_version(),
        "documents": len(index),
        "queries": len(search_ms),
        "build_s": round(build_s, 2),
        "search": _percentiles(search_ms),
        "search_misspelled": _percentiles(typo_ms),
        "replace": _percentiles(add_ms),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args(argv)
    result = run(args.documents, args.queries, args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    search, typo, replace = result["search"], result["search_misspelled"], result["replace"]
    assert isinstance(search, dict) and isinstance(typo, dict) and isinstance(replace, dict)
    print(f"{result['documents']} documents indexed in {result['build_s']} s")
    for label, figures in (("search", search), ("misspelled", typo)):
        print(
            f"{label} over {result['queries']} queries: p50 {figures['p50_ms']} ms, "
            f"p95 {figures['p95_ms']} ms, p99 {figures['p99_ms']} ms"
        )
    print(f"replace (incremental add): p50 {replace['p50_ms']} ms, p95 {replace['p95_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
