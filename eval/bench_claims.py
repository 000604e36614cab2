"""Speed of claim alignment (engine/claims.align) as a story grows from 10 to 300 articles.

    python -m eval.bench_claims [--data FILE] [--sizes 10,30,100,200,300] [--repeat 3]

Stories are real news bodies: the FNC-1 story clusters (../shared/data/stories), largest first and
concatenated until a story has the size asked for, each article given an outlet and a time. Sentences are
split and embedded once and cached under /tmp, because alignment is timed on embedded sentences, as the
engine runs it. Each size is timed cold (fact and token caches cleared), in wall-clock and in CPU seconds of
this process (the wall clock also counts time lost to other processes on a shared machine; the load average
is printed), and the best of `--repeat` warm runs beside it; the CPU model is printed because machines here
differ by 4x.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from newsprism.engine import facts, sameclaim
from newsprism.engine.claims import align
from newsprism.engine.records import Article, Sentence
from newsprism.engine.sentences import split_sentences

from eval.machine import cpu_model

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "stories" / "fnc1_story_clusters.jsonl"
CACHE_DIR = Path("/tmp")




def load_articles(path: Path, count: int) -> list[Article]:
    """`count` articles of the largest clusters, in cluster order, with outlets and times assigned."""
    clusters: dict[str, list[dict]] = defaultdict(list)
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                clusters[row["cluster"]].append(row)
    rows = [r for _, members in sorted(clusters.items(), key=lambda kv: (-len(kv[1]), kv[0])) for r in members]
    start = datetime(2025, 3, 1, 6, 0)
    articles = []
    for k, row in enumerate(rows[:count]):
        body = [Sentence(s.text, i, s.paragraph, s.start, s.end) for i, s in enumerate(split_sentences(row["text"]))]
        articles.append(Article(id=str(row["id"]), text=row["text"], outlet=f"outlet-{k % 25:02d}",
                                published=(start + timedelta(minutes=37 * k)).isoformat() + "Z", sentences=body))
    return articles


def embed(articles: list[Article]) -> None:
    """Fill sentence vectors, encoding each distinct sentence once and caching the vectors in /tmp."""
    texts = sorted({s.text for a in articles for s in a.sentences})
    key = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:16]
    cache = CACHE_DIR / f"newsprism_bench_claims_{key}.npy"
    if cache.exists():
        vectors = np.load(cache)
    else:
        from newsprism.engine.embed import get_embedder

        started = time.perf_counter()
        vectors = get_embedder().encode(texts)
        print(f"embedded {len(texts)} sentences in {time.perf_counter() - started:.0f}s (cached in {cache})")
        np.save(cache, vectors)
    index = {t: i for i, t in enumerate(texts)}
    for article in articles:
        for s in article.sentences:
            s.vector = vectors[index[s.text]]


def clear_caches() -> None:
    facts.extract.cache_clear()
    sameclaim.token_info.cache_clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="story clusters (JSON lines)")
    parser.add_argument("--sizes", default="10,30,100,200,300", help="articles per story, comma separated")
    parser.add_argument("--repeat", type=int, default=3, help="warm runs per size (best is reported)")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    articles = load_articles(args.data, max(sizes))
    embed(articles)
    align(articles[:5])  # imports, outside the timings
    sameclaim.shipped_reader()  # loaded once per process (~1 s), like the embedding model
    print(f"CPU: {cpu_model()} x{os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; "
          f"stories from {args.data.name}")
    print(f"{'articles':>8} {'sentences':>9} {'claims':>7} {'shared':>7} {'conflicts':>9} {'cold s':>8} "
          f"{'cold cpu':>8} {'warm s':>8} {'ms/sent':>8}")
    for size in sizes:
        story = articles[:size]
        sentences = sum(len(a.body()) for a in story)
        clear_caches()
        started, cpu = time.perf_counter(), time.process_time()
        result = align(story)
        cold, cpu = time.perf_counter() - started, time.process_time() - cpu
        warm = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            align(story)
            warm.append(time.perf_counter() - started)
        shared = sum(c.support >= 2 for c in result.claims)
        print(f"{size:>8} {sentences:>9} {len(result.claims):>7} {shared:>7} {len(result.conflicts):>9} "
              f"{cold:>8.2f} {cpu:>8.2f} {min(warm):>8.2f} {1000 * cold / max(1, sentences):>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
