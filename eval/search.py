"""Known-item search quality of the three modes: semantic, keyword (BM25) and hybrid (fused).

    python -m eval.search --data FILE.jsonl [--limit N] [--db DIR] [--json]

Ingests the story file into a fresh store (or reuses --db), then asks two kinds of known-item
queries per article: its title (where it has one) and three of its rarest words (names, numbers:
what embeddings blur). Prints MRR@10 and hit@10 per mode and query kind.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from newsprism.engine.config import load_settings
from newsprism.engine.parse import read_paths
from newsprism.index.newsroom import Newsroom

MODES = ("semantic", "keyword", "hybrid")
_WORD = re.compile(r"[A-Za-z][\w'-]+|\d[\d.,]*\d|\d")


def rare_words(text: str, df: Counter, docs: int, n: int = 3) -> list[str]:
    """The article's n rarest words across the corpus, names and numbers first among equally rare ones."""
    words = {w for w in _WORD.findall(text) if len(w) > 2 or w.isdigit()}
    ranked = sorted(words, key=lambda w: (df[w.lower()], not (w[:1].isupper() or w[:1].isdigit()), -len(w), w))
    return ranked[:n] if docs else []


def rank_of(target: str, results: list[dict]) -> int | None:
    for rank, result in enumerate(results, 1):
        if result["id"] == target or any(c["id"] == target for c in result.get("also_in", [])):
            return rank
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--limit", type=int, help="only the first N articles of the file")
    parser.add_argument("--db", help="reuse this store (ingested before) instead of a fresh one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    articles = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    articles = articles[:args.limit] if args.limit else articles
    db = args.db or tempfile.mkdtemp(prefix="eval-search-")
    newsroom = Newsroom(load_settings({"store": db}))
    if not args.db:
        subset = Path(db) / "subset.jsonl"
        subset.write_text("".join(json.dumps(a) + "\n" for a in articles))
        print(f"ingesting {len(articles)} articles into {db} ...", file=sys.stderr)
        newsroom.ingest(read_paths([str(subset)]))
    stored = {r[0] for r in newsroom.store.conn.execute("SELECT ext_id FROM articles")}
    df: Counter = Counter()
    for a in articles:
        df.update({w.lower() for w in _WORD.findall(a["text"])})
    queries = []
    for a in articles:
        if str(a["id"]) not in stored:
            continue
        if a.get("title"):
            queries.append(("title", a["title"], str(a["id"])))
        words = rare_words(a["text"], df, len(articles))
        if words:
            queries.append(("rare words", " ".join(words), str(a["id"])))
    table: dict[tuple[str, str], list[int | None]] = {}
    for kind, query, target in queries:
        for mode in MODES:
            results = newsroom.search(query, k=10, mode=mode)
            table.setdefault((kind, mode), []).append(rank_of(target, results))
    rows = []
    for (kind, mode), ranks in sorted(table.items()):
        mrr = sum(1 / r for r in ranks if r) / len(ranks)
        hit = sum(1 for r in ranks if r) / len(ranks)
        rows.append({"queries": kind, "mode": mode, "n": len(ranks), "mrr@10": round(mrr, 4),
                     "hit@10": round(hit, 4)})
    if args.json:
        print(json.dumps({"data": str(args.data), "rows": rows}, indent=2))
        return
    print(f"known-item search on {args.data.name} ({len(stored)} articles)")
    print(f"{'queries':<12}{'mode':<10}{'n':>6}{'MRR@10':>9}{'hit@10':>9}")
    for r in rows:
        print(f"{r['queries']:<12}{r['mode']:<10}{r['n']:>6}{r['mrr@10']:>9.3f}{r['hit@10']:>9.3f}")
    best = {}
    for r in rows:
        best.setdefault(r["queries"], {})[r["mode"]] = r["mrr@10"]
    for kind, scores in best.items():
        ok = scores["hybrid"] >= max(scores["semantic"], scores["keyword"]) - 1e-9
        print(f"{kind}: hybrid {'>=' if ok else '<'} best single mode "
              f"({scores['hybrid']:.3f} vs {max(scores['semantic'], scores['keyword']):.3f})"
)


if __name__ == "__main__":
    main()
