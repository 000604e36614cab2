"""Store costs of the newsroom workflow at archive size: a correction, and a prune of 10%.

    python -m eval.bench_workflow [--sentences 100000] [--json]

Builds a store of about N sentences (real news sentences from the FNC-1 bodies, made distinct),
with a stand-in embedder that hashes text to unit vectors: the figures are what the store adds
beyond embedding (SQLite, FTS5, FAISS, stories), which is what these targets are about.
Then times (1) taking in a corrected 40-sentence article (3 sentences changed) and (2) `prune`
of the oldest 10% of articles, with the disk space before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from newsprism.engine.config import load_settings
from newsprism.engine.records import RawItem
from newsprism.engine.stories import StoryParams
from newsprism.index.ingest import Ingestor
from newsprism.index.newsroom import Newsroom
from newsprism.index.stories import StoryKeeper

from eval.bench_ingest import DEFAULT_DATA
from eval.machine import cpu_model

DIM = 384
PER_ARTICLE = 20


class HashEmbedder:
    """Unit vectors from text hashes: deterministic, instant, and honest about being a stand-in."""

    name = "bench-hash-embedder"
    dim = DIM

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            vec = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
            out[i] = vec / np.linalg.norm(vec)
        return out


def sentences(data: Path) -> list[str]:
    found = []
    for line in data.read_text().splitlines():
        found += [s.strip() for s in re.split(r"(?<=[.!?])\s+", json.loads(line)["text"]) if len(s.split()) >= 6]
    return found


def article(i: int, pool: list[str], n: int, day: int) -> dict:
    body = [f"{pool[(i * n + j) % len(pool)]} (report {i}, line {j})" for j in range(n)]
    return {"id": f"b{i}", "title": f"Report {i}: {pool[i % len(pool)][:60]}", "source": f"outlet{i % 25}",
            "published": f"2025-{1 + day // 28:02d}-{1 + day % 28:02d}T{i % 24:02d}:00:00Z",
            "text": "\n\n".join(" ".join(body[k:k + 4]) for k in range(0, n, 4))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pool = sentences(args.data)
    n_articles = args.sentences // PER_ARTICLE
    work = Path(tempfile.mkdtemp(prefix="bench-workflow-"))
    try:
        settings = load_settings({"store": str(work / "store")})
        newsroom = Newsroom(settings)
        embedder = HashEmbedder()
        keeper = StoryKeeper(StoryParams.from_settings(settings))
        ingestor = Ingestor(newsroom.store, newsroom.cache, embedder, settings, stories=keeper)
        started = time.perf_counter()
        items = [RawItem(article(i, pool, PER_ARTICLE, i * 300 // n_articles), f"b{i}") for i in range(n_articles)]
        ingestor.run(iter(items))
        build = time.perf_counter() - started
        stats = newsroom.stats()

        long_one = article(n_articles, pool, 40, 299)
        ingestor.run(iter([RawItem(long_one, "long")]))
        corrected = dict(long_one, text=long_one["text"].replace("line 3)", "line 3, corrected)")
                         .replace("line 17)", "line 17, corrected)").replace("line 30)", "line 30, corrected)"))
        assert corrected["text"] != long_one["text"]
        started = time.perf_counter()
        report = ingestor.run(iter([RawItem(corrected, "long-v2")]))
        correction = time.perf_counter() - started

        cutoff = newsroom.store.conn.execute(
            "SELECT published FROM articles ORDER BY published LIMIT 1 OFFSET ?", (n_articles // 10,)).fetchone()[0]
        started = time.perf_counter()
        pruned = newsroom.prune(cutoff)
        prune_seconds = time.perf_counter() - started
        after = newsroom.stats()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "cpu": cpu_model(), "articles": stats["articles"], "sentences": stats["sentences"],
        "index": stats["index"]["sentences"]["layout"], "build_seconds_without_embedding": round(build, 1),
        "correction_seconds": round(correction, 3), "correction_updated": report.updated,
        "correction_texts_embedded": report.embedded,
        "prune_articles": pruned["articles"], "prune_seconds": round(prune_seconds, 2),
        "prune_mb_before": round(pruned["bytes_before"] / 1e6, 1),
        "prune_mb_after": round(pruned["bytes_after"] / 1e6, 1),
        "sentences_after_prune": after["sentences"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"workflow benchmark on {result['cpu']}: store of {result['articles']} articles, "
          f"{result['sentences']} sentences ({result['index']} index), built in "
          f"{result['build_seconds_without_embedding']} s without embedding")
    print(f"correction of a 40-sentence article (3 sentences changed): {result['correction_seconds']} s, "
          f"{result['correction_texts_embedded']} texts embedded")
    print(f"prune of the oldest 10% ({result['prune_articles']} articles): {result['prune_seconds']} s, "
          f"{result['prune_mb_before']} MB -> {result['prune_mb_after']} MB on disk; "
          f"{result['sentences_after_prune']} sentences left")


if __name__ == "__main__":
    main()
