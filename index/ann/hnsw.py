"""Approximate search with an HNSW graph: sub-linear latency for large collections.

HNSW cannot remove nodes, so deletes are tombstones: the internal positions of deleted entries are
excluded at search time through a faiss ``IDSelector`` (exact top-k over live entries, no oversampling).
Tombstones are positions, not ids, so an id deleted and appended again is live again while its old
vector stays hidden. Once tombstones exceed ``REBUILD_RATIO`` of the stored entries, searches waste work
on dead nodes and ``needs_rebuild()`` asks the owner to rebuild from its source of truth (SQLite).
"""

from __future__ import annotations

import faiss
import numpy as np
from newsprism.index.ann.base import ANN, MISSING_ID, search_threads

# Measured with eval/bench_search.py on 1M clustered sentence vectors (2-core host): M=32/efC=64 builds in
# ~4 min; efSearch 64/128/256 give recall@10 0.961/0.984/0.994 at p50 below 1 ms, so 128 keeps a margin over
# the 0.95 target while staying far under the 10 ms budget.
DEFAULT_M = 32
DEFAULT_EF_CONSTRUCTION = 64
DEFAULT_EF_SEARCH = 128
REBUILD_RATIO = 0.10


class HNSWANN(ANN):
    """``IndexIDMap2(IndexHNSWFlat(METRIC_INNER_PRODUCT))`` with tombstone deletes.

    Params: ``hnsw_m`` (graph degree), ``hnsw_ef_construction`` (build beam), ``hnsw_ef_search``
    (query beam, the recall/latency knob; also settable later via ``ef_search``).
    """

    layout = "hnsw"

    def _new_index(self) -> faiss.IndexIDMap2:
        m = int(self.params.get("hnsw_m", DEFAULT_M))
        inner = faiss.IndexHNSWFlat(self.dim, m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = int(self.params.get("hnsw_ef_construction", DEFAULT_EF_CONSTRUCTION))
        return faiss.IndexIDMap2(inner)

    def _clear(self) -> None:
        self._restore(self._new_index(), np.empty(0, dtype=np.int64))

    def _restore(self, index: faiss.IndexIDMap2, tombstones: np.ndarray) -> None:
        # Position -> id table and tombstone mask mirror the faiss index in numpy, so deletes and result
        # translation are vectorized instead of crossing into faiss per id.
        self._index = index
        self._labels = faiss.vector_to_array(index.id_map).astype(np.int64, copy=False)
        self._dead = np.zeros(len(self._labels), dtype=bool)
        self._dead[tombstones] = True
        self._ndead = len(tombstones)  # cached: count() runs on every search
        self._refresh_params()

    def _tombstones(self) -> np.ndarray:
        return np.flatnonzero(self._dead).astype(np.int64)

    @property
    def ef_search(self) -> int:
        return int(self.params.get("hnsw_ef_search", DEFAULT_EF_SEARCH))

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        self.params["hnsw_ef_search"] = int(value)
        self._refresh_params()

    def _refresh_params(self) -> None:
        """Cache the search parameters; the selector objects must outlive every search that uses them."""
        dead = np.flatnonzero(self._dead).astype(np.int64)
        if len(dead):
            self._selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(dead))
            self._search_params = faiss.SearchParametersHNSW(sel=self._selector, efSearch=self.ef_search)
        else:
            self._selector = None
            self._search_params = faiss.SearchParametersHNSW(efSearch=self.ef_search)

    def _add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._index.add_with_ids(vectors, ids)
        self._labels = np.concatenate([self._labels, ids])
        self._dead = np.concatenate([self._dead, np.zeros(len(ids), dtype=bool)])

    def delete(self, ids: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        hit = np.isin(self._labels, ids) & ~self._dead
        if hit.any():
            self._dead |= hit
            self._ndead += int(hit.sum())
            self._refresh_params()

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = self._queries(queries, k)
        if not self.count():
            return self._empty(len(queries), k)
        with search_threads(len(queries)):
            scores, pos = self._index.index.search(queries, k, params=self._search_params)
        missing = pos < 0
        ids = self._labels[np.where(missing, 0, pos)]
        ids[missing] = MISSING_ID
        scores[missing] = -np.inf
        return scores, ids

    def ids(self) -> np.ndarray:
        return self._labels[~self._dead]

    def count(self) -> int:
        return len(self._labels) - self._ndead

    def needs_rebuild(self) -> bool:
        """True when tombstones exceed ``REBUILD_RATIO`` of stored entries (they still cost graph hops)."""
        return self._ndead > REBUILD_RATIO * len(self._dead)
