"""Ingest speed: the whole pipeline against a bare `model.encode` of the same sentences, same run.

    python -m eval.bench_ingest [--data FILE.jsonl] [--articles N] [--repeat R] [--json]

The bare run encodes exactly the distinct sentence texts the pipeline encodes (titles included),
with the same model and batch size; the pipeline run is a full `ingest` into a fresh store
(parse, clean, split, language, dedupe, embed, SQLite, FAISS), model load excluded from both.
Also reports what one stored sentence costs on disk and in memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from newsprism.engine.config import load_settings
from newsprism.engine.dedupe import sentence_key
from newsprism.engine.embed import get_embedder
from newsprism.engine.parse import read_paths
from newsprism.engine.pipeline import clean, normalize, split
from newsprism.index.newsroom import Newsroom

from eval.machine import cpu_model

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "stories" / "fnc1_story_clusters.jsonl"




def sample(data: Path, n: int, folder: Path) -> Path:
    """The first n articles of the data file (distinct ids), as a JSONL the pipeline reads."""
    out = folder / "sample.jsonl"
    with data.open() as src, out.open("w") as dst:
        for i, line in enumerate(src):
            if i >= n:
                break
            dst.write(line)
    return out


def distinct_texts(path: Path) -> list[str]:
    articles, _ = normalize([i for i in read_paths([str(path)]) if hasattr(i, "fields")], 200_000)
    articles, _ = clean(articles, {})
    keys = {}
    for article in split(articles):
        for sentence in article.sentences:
            keys.setdefault(sentence_key(sentence.text), sentence.text)
    return list(keys.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2, help="alternating runs of each; the best is kept")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        path = sample(args.data, args.articles, work)
        settings = load_settings()
        embedder = get_embedder(settings.model, settings.batch_size)
        texts = distinct_texts(path)
        embedder.encode(texts[:64])  # warm-up: first-call costs belong to neither side
        bare, pipe = [], []
        for round_ in range(args.repeat):
            started = time.perf_counter()
            embedder.encode(texts)
            bare.append(time.perf_counter() - started)
            store = work / f"store{round_}"
            newsroom = Newsroom(load_settings({"store": str(store)}))
            newsroom.embedder  # noqa: B018  (model load outside the timing)
            started = time.perf_counter()
            report = newsroom.ingest(read_paths([str(path)]))
            pipe.append(time.perf_counter() - started)
            stats = newsroom.stats()
            newsroom.close()
        bare_rate, pipe_rate = len(texts) / min(bare), report.embedded / min(pipe)
        faiss_bytes = sum((store / f).stat().st_size for f in ("sentences.faiss", "articles.faiss"))
        sqlite_bytes = sum(p.stat().st_size for p in store.iterdir() if p.name.startswith("newsprism.sqlite"))
        result = {
            "cpu": cpu_model(), "articles": report.stored, "sentences_stored": report.sentences,
            "texts_encoded": report.embedded, "distinct_texts": len(texts),
            "bare_seconds": round(min(bare), 2), "pipeline_seconds": round(min(pipe), 2),
            "bare_sentences_per_s": round(bare_rate, 1), "pipeline_sentences_per_s": round(pipe_rate, 1),
            "pipeline_vs_bare": round(pipe_rate / bare_rate, 3),
            "stored_sentences_per_s": round(report.sentences / min(pipe), 1),
            "sqlite_bytes_per_sentence": round(sqlite_bytes / max(1, stats["sentences"])),
            "faiss_bytes_per_vector": round(faiss_bytes / max(1, stats["distinct_sentence_vectors"])),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"ingest benchmark on {result['cpu']} ({args.articles} articles of {args.data.name})")
    print(f"{'':28}{'seconds':>10}{'texts':>8}{'texts/s':>10}")
    print(f"{'bare model.encode':28}{result['bare_seconds']:>10}{len(texts):>8}{result['bare_sentences_per_s']:>10}")
    print(f"{'newsprism ingest (all)':28}{result['pipeline_seconds']:>10}{report.embedded:>8}"
          f"{result['pipeline_sentences_per_s']:>10}")
    print(f"pipeline at {result['pipeline_vs_bare']:.1%} of bare encode speed "
          f"({result['stored_sentences_per_s']} stored sentences/s incl. reused vectors)")
    print(f"per stored sentence: SQLite {result['sqlite_bytes_per_sentence']} B, FAISS "
          f"{result['faiss_bytes_per_vector']} B per vector; peak RSS {result['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
