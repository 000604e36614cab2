"""Vector-index backends (one per module, txtai-style) and the factory that picks one by data size.

Params (all optional):
    exact_max             largest collection served by exact ``flat`` search (default 100_000); above it
                          ``hnsw`` is used because flat latency grows linearly: single-query p50 is about
                          10 ms at 100k vectors and 300 ms at 1M on the 2-core host (eval/bench_search.py).
    hnsw_m                HNSW graph degree (default 32).
    hnsw_ef_construction  HNSW build beam width (default 64).
    hnsw_ef_search        HNSW query beam width, the recall/latency knob (default 128: recall@10 0.984 at
                          1M clustered sentence vectors with p50 under 1 ms; 64 gives only 0.961).
    ivfpq_min             above this many vectors ``ivfpq`` replaces ``hnsw`` (default 5_000_000): ~830 bytes a
                          vector instead of ~1.8 KB, trained on a sample (index/ann/ivfpq.py, eval/bench_ivfpq.py).
    ivfpq_nlist, ivfpq_m, ivfpq_nprobe, ivfpq_k_factor, ivfpq_refine   IVF-PQ shape and depth (ivfpq.py).

faiss' global OpenMP thread count is left to the caller (it defaults to the core count, which helps builds
and batch searches); only single-query searches drop to one thread, in the calling thread, for the call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from newsprism.index.ann.base import ANN
from newsprism.index.ann.flat import FlatANN
from newsprism.index.ann.hnsw import HNSWANN
from newsprism.index.ann.ivfpq import IVFPQANN

__all__ = ["ANN", "FlatANN", "HNSWANN", "IVFPQANN", "create", "load"]

DEFAULT_EXACT_MAX = 100_000
DEFAULT_IVFPQ_MIN = 5_000_000
PARAMS = {"exact_max", "hnsw_m", "hnsw_ef_construction", "hnsw_ef_search",
          "ivfpq_min", "ivfpq_nlist", "ivfpq_m", "ivfpq_nprobe", "ivfpq_k_factor", "ivfpq_refine"}


def create(dim: int, count: int, params: dict[str, Any] | None = None) -> ANN:
    """An empty index suited to ``count`` vectors: exact ``flat`` up to ``exact_max``, ``hnsw`` up to
    ``ivfpq_min``, compressed ``ivfpq`` above."""
    params = _checked(params)
    if count <= int(params.get("exact_max", DEFAULT_EXACT_MAX)):
        return FlatANN(dim, params)
    return (HNSWANN if count <= int(params.get("ivfpq_min", DEFAULT_IVFPQ_MIN)) else IVFPQANN)(dim, params)


def load(path: Path | str, params: dict[str, Any] | None = None) -> ANN:
    """Load a saved index of any layout; ``params`` (same keys as ``create``) override the saved ones."""
    return ANN.load(path, _checked(params))


def _checked(params: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of ``params``; unknown keys raise, since a misspelt key would silently keep a default."""
    params = dict(params or {})
    unknown = set(params) - PARAMS
    if unknown:
        raise ValueError(f"unknown ANN params: {sorted(unknown)}")
    return params
