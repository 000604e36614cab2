"""Exact search: brute-force inner product over every stored vector.

Best for small collections: no build cost, perfect recall, real deletes. Latency grows linearly with the
collection (see eval/bench_search.py), which is why large collections switch to HNSW.
"""

from __future__ import annotations

import faiss
import numpy as np
from newsprism.index.ann.base import ANN, MISSING_ID, search_threads


class FlatANN(ANN):
    """``IndexIDMap2(IndexFlatIP)``; deletes are physical via ``remove_ids``."""

    layout = "flat"

    def _new_index(self) -> faiss.IndexIDMap2:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def _restore(self, index: faiss.IndexIDMap2, tombstones: np.ndarray) -> None:
        self._index = index

    def _add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._index.add_with_ids(vectors, ids)

    def delete(self, ids: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) and self._index.ntotal:
            self._index.remove_ids(faiss.IDSelectorBatch(ids))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = self._queries(queries, k)
        if not self._index.ntotal:
            return self._empty(len(queries), k)
        with search_threads(len(queries)):
            scores, ids = self._index.search(queries, k)
        scores[ids == MISSING_ID] = -np.inf
        return scores, ids

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64, copy=False)

    def count(self) -> int:
        return int(self._index.ntotal)
