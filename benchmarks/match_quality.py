"""Measure how well the quick-feedback matcher finds the labelled solutions and needs."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import korona
from korona.portfolio.matching import Document, DocumentKind, MatchIndex, MatchSettings

REPO = Path(__file__).resolve().parents[1]
DEMO_DIR = Path(korona.__file__).resolve().parent / "demo"
EVAL_FILE = REPO / "tests" / "data" / "matching_eval.json"

#: Engine variants for the ablation table: each switches one feature off.
VARIANTS: dict[str, MatchSettings] = {
    "full": MatchSettings(),
    "no_synonyms": MatchSettings(synonym_weight=0.0),
    "no_ngrams": MatchSettings(ngram_weight=0.0),
    "no_compounds": MatchSettings(split_compounds=False),
    "plain_bm25f": MatchSettings(synonym_weight=0.0, ngram_weight=0.0, split_compounds=False),
}


def ref_key(ref: str) -> tuple[DocumentKind, int]:
    """Map a demo ref ("sol-003", "need-012") to the document's kind and id."""
    prefix, number = ref.split("-")
    kind = DocumentKind.SOLUTION if prefix == "sol" else DocumentKind.NEED
    return kind, int(number)


def demo_documents(demo_dir: Path = DEMO_DIR) -> list[Document]:
    """Load the demo solutions and needs as matcher documents."""
    solutions = json.loads((demo_dir / "solutions.json").read_text(encoding="utf-8"))
    needs = json.loads((demo_dir / "needs.json").read_text(encoding="utf-8"))
    documents = []
    for row in solutions:
        kind, id_ = ref_key(row["ref"])
        documents.append(
            Document(kind, id_, row["name"], row["description"], tuple(row["categories"]))
        )
    for row in needs:
        kind, id_ = ref_key(row["ref"])
        documents.append(Document(kind, id_, row["title"], row["description"], (row["category"],)))
    return documents


def evaluate(settings: MatchSettings, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Return recall@1, recall@3, hit@3 and MRR of one engine variant on the labelled items.

    recall@k is capped: the share of an item's labelled refs in the top k,
    divided by min(k, number of refs), so a perfect ranking scores 1.
    """
    index = MatchIndex(settings)
    for document in demo_documents():
        index.add(document)
    recall1 = recall3 = hit3 = reciprocal = 0.0
    misses = []
    for item in items:
        relevant = {ref_key(ref) for ref in item["refs"]}
        text = f"{item['title']}\n{item['description']}"
        ranked = [(m.kind, m.id) for m in index.search(text, item["categories"], limit=10)]
        recall1 += len(relevant & set(ranked[:1])) / min(1, len(relevant))
        recall3 += len(relevant & set(ranked[:3])) / min(3, len(relevant))
        hit3 += bool(relevant & set(ranked[:3]))
        rank = next((i for i, key in enumerate(ranked, 1) if key in relevant), None)
        reciprocal += 1.0 / rank if rank else 0.0
        if not relevant & set(ranked[:3]):
            misses.append({"id": item["id"], "title": item["title"], "top3": ranked[:3]})
    n = len(items)
    return {
        "items": n,
        "recall@1": round(recall1 / n, 4),
        "recall@3": round(recall3 / n, 4),
        "hit@3": round(hit3 / n, 4),
        "mrr": round(reciprocal / n, 4),
        "misses": misses,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.add_argument("--ablation", action="store_true", help="also score reduced engines")
    parser.add_argument("--misses", action="store_true", help="list items with no hit in top 3")
    args = parser.parse_args(argv)

    items = json.loads(EVAL_FILE.read_text(encoding="utf-8"))["items"]
    splits = {"all": items}
    for item in items:
        splits.setdefault(item.get("split", "dev"), []).append(item)
    names = list(VARIANTS) if args.ablation else ["full"]
    results = {
        name: {split: evaluate(replace(VARIANTS[name]), rows) for split, rows in splits.items()}
        for name in names
    }
    if args.json:
        if not args.misses:
            for by_split in results.values():
                for result in by_split.values():
                    result.pop("misses")
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return 0
    print(f"{len(items)} labelled inputs, corpus = demo solutions + needs")
    header = ("variant", "split", "items", "recall@1", "recall@3", "hit@3", "MRR")
    print(f"{header[0]:<14} {header[1]:<8} " + " ".join(f"{h:>9}" for h in header[2:]))
    for name, by_split in results.items():
        for split, r in by_split.items():
            figures = (r["recall@1"], r["recall@3"], r["hit@3"], r["mrr"])
            print(
                f"{name:<14} {split:<8} {r['items']:>9} " + " ".join(f"{v:>9.3f}" for v in figures)
            )
    if args.misses:
        for miss in results["full"]["all"]["misses"]:
            print(f"  miss {miss['id']} {miss['title']!r}: {miss['top3']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
