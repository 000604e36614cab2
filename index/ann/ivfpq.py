"""Compressed search past RAM: an inverted file (IVF) over product-quantised codes (PQ), re-ranked by fp16 codes.

Why: flat and HNSW keep every float (1,536 bytes a 384-d vector, HNSW ~1.8 KB with its graph), so 100M
sentences need ~180 GB. Here a vector costs its PQ code (``ivfpq_m`` bytes, default 48), a half-precision
copy used to re-rank the PQ shortlist (2 x dim bytes) and its ids: 834 bytes a vector at 384-d measured
(eval/bench_ivfpq.py, real sentence vectors plus noise: recall@10 0.998 against exact at 1M, p50 0.8 ms, and at
5M, p50 1.9 ms, peak RSS 5.6 GB);
8-bit re-ranking codes (``ivfpq_refine = "sq8"``) cost 450 bytes but capped recall@10 at 0.90 there.

The layout is trained once on a sample (k-means for the IVF lists, per-sub-vector codebooks for PQ); IVF
cannot be retrained as data grows (FAISS #1789), so a rebuild from SQLite re-trains. Building parallelises
through ``faiss.IndexShards``: copies of the trained, empty index take disjoint slices of the vectors at
once (one thread each), then merge into one index, which is what is searched and saved; shards built in
other processes from ``empty_copy()`` (one per Parquet range, say) merge the same way. Deletes are
tombstones on internal positions, as for HNSW (the re-ranker stores by position).

Params: ``ivfpq_nlist`` (IVF lists; default ~sqrt(n), a power of two), ``ivfpq_m`` (PQ bytes per vector),
``ivfpq_nprobe`` (lists scanned per query: the recall/latency knob), ``ivfpq_k_factor`` (PQ shortlist size
as a multiple of k, re-ranked), ``ivfpq_refine`` (the re-ranking codes: ``sq8``, dim bytes, or ``fp16``, 2 x dim
bytes, for collections so dense that 8-bit codes cannot order near-ties).
"""

from __future__ import annotations

import faiss
import numpy as np
from newsprism.index.ann.hnsw import HNSWANN

DEFAULT_M = 48
REFINE_CODES = {"sq8": faiss.ScalarQuantizer.QT_8bit, "fp16": faiss.ScalarQuantizer.QT_fp16}
DEFAULT_REFINE = "fp16"  # 8-bit codes capped recall@10 at 0.90 at 1M: they cannot order near-ties
DEFAULT_NPROBE = 64
DEFAULT_K_FACTOR = 64  # recall@10 at 1M: 0.92 with 8, 0.998 with 32; at 5M: 0.972 with 32, 0.998 with 64 (same p50)
TRAIN_PER_LIST = 64  # k-means wants ~40-256 points per centroid; 64 keeps training minutes at 5M
MIN_TRAIN = 1024  # PQ codebooks need 256 points per sub-quantiser; below this use flat
MAX_TRAIN = 262_144


def lists_for(count: int) -> int:
    """IVF lists for ``count`` vectors: ~sqrt(n) as a power of two, with enough training points per list.

    sqrt(n) balances the two costs of a query (comparing to every centroid, scanning nprobe lists) and keeps
    k-means training to minutes on two cores at 5M vectors (eval/bench_ivfpq.py).
    """
    nlist = 1 << max(0, int(round(np.log2(np.sqrt(max(count, 1))))))
    return max(1, min(nlist, count // 39, 65_536))


def training_size(nlist: int, available: int) -> int:
    """Points to train on: TRAIN_PER_LIST per list, at least enough for the PQ codebooks, at most MAX_TRAIN."""
    return min(available, MAX_TRAIN, max(nlist * TRAIN_PER_LIST, 65_536))


class IVFPQANN(HNSWANN):
    """``IndexIDMap2(IndexRefine(IndexIVFPQ, IndexScalarQuantizer fp16))``, inner product, tombstone deletes.

    Shares HNSW's position/tombstone bookkeeping (both layouts cannot remove in place); only the faiss
    structure, training and search parameters differ.
    """

    layout = "ivfpq"

    def _new_index(self) -> faiss.IndexIDMap2:
        return faiss.IndexIDMap2(self._layout(int(self.params.get("ivfpq_nlist", 1))))

    def _layout(self, nlist: int) -> faiss.Index:
        m = int(self.params.get("ivfpq_m", DEFAULT_M))
        if self.dim % m:
            raise ValueError(f"ivfpq_m={m} must divide the dimension {self.dim}")
        quantizer = faiss.IndexFlatIP(self.dim)
        base = faiss.IndexIVFPQ(quantizer, self.dim, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
        base.own_fields = True
        quantizer.this.disown()
        kind = REFINE_CODES[self.params.get("ivfpq_refine", DEFAULT_REFINE)]
        refine = faiss.IndexScalarQuantizer(self.dim, kind, faiss.METRIC_INNER_PRODUCT)
        index = faiss.IndexRefine(base, refine)
        index.own_fields = True
        base.this.disown()
        refine.this.disown()
        return index

    def _refresh_params(self) -> None:
        dead = np.flatnonzero(self._dead).astype(np.int64)
        self._selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(dead)) if len(dead) else None
        self._ivf_params = faiss.SearchParametersIVF(nprobe=int(self.params.get("ivfpq_nprobe", DEFAULT_NPROBE)))
        if self._selector is not None:
            self._ivf_params.sel = self._selector
        self._search_params = faiss.IndexRefineSearchParameters(
            k_factor=float(self.params.get("ivfpq_k_factor", DEFAULT_K_FACTOR)), base_index_params=self._ivf_params)

    def train(self, sample: np.ndarray, count: int | None = None) -> None:
        """Train the empty index on ``sample`` (a random slice of the data), sized for ``count`` vectors."""
        sample = np.ascontiguousarray(sample, dtype=np.float32)
        if len(sample) < MIN_TRAIN:
            raise ValueError(f"IVF-PQ needs at least {MIN_TRAIN} vectors to train, got {len(sample)}")
        nlist = int(self.params.get("ivfpq_nlist") or lists_for(count or len(sample)))
        self.params["ivfpq_nlist"] = nlist
        self._restore(faiss.IndexIDMap2(self._layout(nlist)), np.empty(0, dtype=np.int64))
        self._index.train(sample[: training_size(nlist, len(sample))])
        self._template = faiss.clone_index(self._index.index)  # trained and empty: the seed of every shard
        if count:
            self._reserve(count)

    def _reserve(self, count: int) -> None:
        """Size the re-ranking codes for ``count`` vectors up front.

        Why: they are one growing std::vector (768 bytes a vector at fp16); growing it by chunks reallocates,
        briefly holding the old and the new copy, ~2x the index at 5M (3.8 GB each). A resize up and back
        keeps the capacity (what a reserve would do; the SWIG vector has no reserve).
        """
        refine = faiss.downcast_index(faiss.downcast_index(self._index.index).refine_index)
        refine.codes.resize(count * refine.code_size)
        refine.codes.resize(refine.ntotal * refine.code_size)

    def _add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if not self._index.is_trained:
            if len(self._labels):
                raise RuntimeError("an untrained IVF-PQ index cannot hold vectors")
            rng = np.random.default_rng(0)
            take = rng.permutation(len(vectors))[: min(len(vectors), MAX_TRAIN)]
            self.train(vectors[np.sort(take)], count=len(vectors))
        super()._add(ids, vectors)

    def empty_copy(self) -> IVFPQANN:
        """A trained index without vectors: the starting point of one shard of a parallel build."""
        if not self._index.is_trained:
            raise RuntimeError("train the index before copying it")
        template = getattr(self, "_template", None)
        if template is None:  # trained in an earlier process: clone once, without the vectors
            template = faiss.clone_index(self._index.index)
            template.reset()
            self._template = template
        copy = IVFPQANN(self.dim, self.params)
        copy._restore(faiss.IndexIDMap2(faiss.clone_index(template)), np.empty(0, dtype=np.int64))
        return copy

    def build_shards(self, ids: np.ndarray, vectors: np.ndarray, shards: int) -> None:
        """Add vectors through ``shards`` trained copies filled at once (``faiss.IndexShards``), then merge."""
        ids, vectors = self._check(ids, vectors)
        self.delete(ids)
        parts = [self.empty_copy() for _ in range(max(1, shards))]
        group = faiss.IndexShards(self.dim, True, True)  # threaded, successive ids: slice i goes to shard i
        for part in parts:
            group.add_shard(part._index.index)
        group.add(vectors)
        bounds = np.cumsum([0] + [p._index.index.ntotal for p in parts])
        for part, lo, hi in zip(parts, bounds[:-1], bounds[1:], strict=True):
            part._labels = ids[lo:hi].copy()
            part._dead = np.zeros(hi - lo, dtype=bool)
        self.merge(parts)

    def merge(self, parts: list[IVFPQANN]) -> None:
        """Append shards built from ``empty_copy()`` (in threads, processes or Ray tasks), in order."""
        mine = faiss.downcast_index(self._index.index)
        base, refine = faiss.downcast_index(mine.base_index), faiss.downcast_index(mine.refine_index)
        for part in parts:
            theirs = faiss.downcast_index(part._index.index)
            offset = int(mine.ntotal)
            base.merge_from(faiss.downcast_index(theirs.base_index), offset)  # positions continue after ours
            refine.merge_from(faiss.downcast_index(theirs.refine_index))
            mine.ntotal = base.ntotal
            id_map = self._index.id_map
            faiss.copy_array_to_vector(np.concatenate([faiss.vector_to_array(id_map), part._labels]), id_map)
            self._index.ntotal = mine.ntotal
            self._labels = np.concatenate([self._labels, part._labels])
            self._dead = np.concatenate([self._dead, part._dead])
            self._ndead += int(part._dead.sum())
        self._index.construct_rev_map()
        self._refresh_params()


def build_parallel(dim: int, ids: np.ndarray, vectors: np.ndarray, shards: int,
                   params: dict | None = None) -> IVFPQANN:
    """Train on a sample, then fill ``shards`` copies in parallel and merge: the index for a large rebuild."""
    index = IVFPQANN(dim, params)
    rng = np.random.default_rng(0)
    sample = vectors[np.sort(rng.permutation(len(vectors))[:MAX_TRAIN])]
    index.train(sample, count=len(vectors))
    index.build_shards(ids, vectors, shards)
    return index


__all__ = ["IVFPQANN", "build_parallel", "lists_for", "training_size"]
