"""IVF-PQ past RAM: recall@10 against exact search, single-query latency, bytes per vector, build time.

    nice -n 10 python -m eval.bench_ivfpq [--sizes 1000000,2000000,5000000] [--queries 200] [--shards 2] [--json]

Data: real sentences from the story corpus embedded with the packaged MiniLM (eval/bench_search.py's
anchors, cached) plus noise (its `synthesize`: each vector a random anchor at cosine 0.75-0.95), generated
in chunks from a seeded generator so no more than one chunk of floats is ever held: at 5M the floats alone
would take 7.7 GB. The index is trained on the first chunk (a random sample: chunks are i.i.d.), then each
chunk is added through `build_shards` (trained copies filled in parallel threads, then merged).

Exact top-10 comes from a chunked brute-force scan over the same regenerated chunks; its time per query is
the baseline the IVF-PQ latency is quoted against (same run, same machine). Memory: the index file size
over N (faiss keeps in memory what it writes) and the process peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from newsprism.index.ann.ivfpq import IVFPQANN, lists_for, training_size

from eval.bench_search import DEFAULT_DATA, anchors, recall, synthesize
from eval.machine import cpu_model

K = 10
SEED = 7


def chunks(anchor: np.ndarray, n: int, size: int):
    """(start, vectors) chunks of the n-vector collection; chunk i always comes out the same."""
    for number, start in enumerate(range(0, n, size)):
        rng = np.random.default_rng([SEED, number])
        yield start, synthesize(anchor, min(size, n - start), rng)


def exact_top(anchor: np.ndarray, n: int, size: int, queries: np.ndarray) -> tuple[np.ndarray, float]:
    """Exact top-K ids by a chunked scan, and the scan's seconds per query (the baseline)."""
    best_s = np.full((len(queries), K), -np.inf, np.float32)
    best_i = np.zeros((len(queries), K), np.int64)
    spent = 0.0
    for start, block in chunks(anchor, n, size):
        t = time.perf_counter()
        scores = queries @ block.T
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        s = np.concatenate([best_s, np.take_along_axis(scores, top, 1)], 1)
        i = np.concatenate([best_i, top + start], 1)
        keep = np.argsort(-s, axis=1)[:, :K]
        best_s, best_i = np.take_along_axis(s, keep, 1), np.take_along_axis(i, keep, 1)
        spent += time.perf_counter() - t
    return best_i, spent / len(queries)


def run(n: int, anchor: np.ndarray, queries: np.ndarray, nprobes: list[int], chunk: int, shards: int,
        k_factors: list[int], refine: str) -> dict:
    truth, exact_s = exact_top(anchor, n, chunk, queries)
    nlist = lists_for(n)
    index = IVFPQANN(anchor.shape[1], {"ivfpq_refine": refine})
    started = time.perf_counter()
    sample = next(chunks(anchor, n, chunk))[1]
    index.train(sample[: training_size(nlist, len(sample))], count=n)
    trained = time.perf_counter() - started
    del sample
    for start, block in chunks(anchor, n, chunk):
        index.build_shards(np.arange(start, start + len(block), dtype=np.int64), block, shards)
        print(f"  {n}: added {start + len(block)} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    built = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ivfpq.ann"
        index.save(path)
        size = path.stat().st_size
    rows = []
    for nprobe, k_factor in ((p, f) for p in nprobes for f in k_factors):
        index.params.update(ivfpq_nprobe=nprobe, ivfpq_k_factor=k_factor)
        index._refresh_params()
        for q in queries[:10]:
            index.search(q[None, :], K)
        times, found = [], []
        for q in queries:
            t = time.perf_counter()
            _, ids = index.search(q[None, :], K)
            times.append(time.perf_counter() - t)
            found.append(ids[0])
        p50 = float(np.median(times)) * 1e3
        rows.append({"nprobe": nprobe, "k_factor": k_factor, "recall@10": round(recall(np.array(found), truth), 4),
                     "p50_ms": round(p50, 2), "p95_ms": round(float(np.percentile(times, 95)) * 1e3, 2),
                     "p99_ms": round(float(np.percentile(times, 99)) * 1e3, 2),
                     "speedup_vs_exact": round(exact_s * 1e3 / p50, 1)})
    return {"n": n, "nlist": nlist, "refine": refine, "m": int(index.params.get("ivfpq_m", 48)), "shards": shards,
            "train_s": round(trained, 1), "build_s": round(built, 1), "bytes_per_vector": round(size / n, 1),
            "exact_ms_per_query": round(exact_s * 1e3, 2), "peak_rss_gb": round(peak_rss_gb(), 2), "probes": rows}


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sizes", default="1000000,2000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--anchors", type=int, default=2_000)
    parser.add_argument("--nprobe", default="16,32,64,128")
    parser.add_argument("--k-factor", default="32,64", help="PQ shortlist sizes (x k) re-ranked by the refine codes")
    parser.add_argument("--refine", default="fp16", choices=["sq8", "fp16"], help="re-ranking codes")
    parser.add_argument("--chunk", type=int, default=250_000)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    anchor = anchors(args.data, args.anchors, 0)
    queries = synthesize(anchor, args.queries, np.random.default_rng(SEED + 1))
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        results.append(run(n, anchor, queries, [int(p) for p in args.nprobe.split(",")], args.chunk, args.shards,
                           [int(f) for f in args.k_factor.split(",")], args.refine))
        print(json.dumps(results[-1]), file=sys.stderr)
    if args.json:
        print(json.dumps({"cpu": cpu_model(), "results": results}, indent=2))
        return
    print(f"CPU: {cpu_model()}; {args.anchors} real sentence anchors + noise; {args.queries} queries, k={K}; "
          f"re-ranked by {args.refine} codes; {args.shards} shards built in parallel per chunk")
    print("| N | nlist | build s (train s) | bytes/vector | peak RSS GB | nprobe | k_factor | recall@10 | p50 ms "
          "| p95 ms | p99 ms | exact scan ms/query | speed-up vs exact |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for p in r["probes"]:
            print(f"| {r['n']:,} | {r['nlist']} | {r['build_s']} ({r['train_s']}) | {r['bytes_per_vector']} "
                  f"| {r['peak_rss_gb']} | {p['nprobe']} | {p['k_factor']} | {p['recall@10']} | {p['p50_ms']} "
                  f"| {p['p95_ms']} | {p['p99_ms']} | {r['exact_ms_per_query']} | {p['speedup_vs_exact']}x |")


if __name__ == "__main__":
    main()
