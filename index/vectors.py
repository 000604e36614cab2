"""FAISS indexes as a cache of SQLite's vectors: loaded, checked, caught up and saved.

Each saved index file records the store generation it reflects (in `faiss.json`). When SQLite has
moved on (a crash after a commit, another process writing) the cache catches up by id difference,
so it never needs a full rebuild for a small lag, and `rebuild` can always start from SQLite.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from index import ann
from index.store import Store

TABLES = {"sentences": "vectors", "articles": "articles"}
STATE_FILE = "faiss.json"


class VectorCache:
    """The sentence and article indexes of one store, kept in line with its SQLite generation."""

    def __init__(self, store: Store, params: dict | None = None) -> None:
        self.store = store
        self.params = dict(params or {})
        self.lock = threading.RLock()
        self.indexes: dict[str, ann.ANN] = {}
        self.generation = -1

    def path(self, name: str) -> Path:
        return self.store.folder / f"{name}.faiss"

    def _saved_state(self) -> dict:
        try:
            return json.loads((self.store.folder / STATE_FILE).read_text())
        except (OSError, ValueError):
            return {}

    def ensure(self) -> None:
        """Loaded and current: load from disk, then catch up with whatever SQLite committed since."""
        current = self.store.generation()
        if self.indexes and current == self.generation:
            return
        with self.lock:
            if not self.indexes:
                self._load()
            if self.store.generation() != self.generation:
                self.catch_up()

    def _load(self) -> None:
        dim = self.store.dim
        for name in TABLES:
            try:
                self.indexes[name] = ann.load(self.path(name), self.params)
            except (OSError, ValueError, RuntimeError):
                self.indexes[name] = ann.create(dim or 1, 0, self.params)
            if dim and self.indexes[name].dim != dim:
                self.indexes[name] = ann.create(dim, 0, self.params)
        self.generation = int(self._saved_state().get("generation", -1))

    def catch_up(self) -> dict[str, tuple[int, int]]:
        """Add what SQLite has and FAISS lacks, drop what FAISS has and SQLite lost; (added, removed)."""
        changes = {}
        with self.lock:
            generation = self.store.generation()
            for name, table in TABLES.items():
                index = self.indexes[name]
                truth = self.store.all_ids(table)
                held = np.sort(index.ids())
                extra = np.setdiff1d(held, truth, assume_unique=True)
                missing = np.setdiff1d(truth, held, assume_unique=True)
                if len(extra):
                    index.delete(extra)
                for start in range(0, len(missing), 50_000):
                    ids, vecs = self.store.vectors_by_id(missing[start:start + 50_000].tolist(), table)
                    if len(ids):
                        index.append(ids, vecs)
                changes[name] = (len(missing), len(extra))
                if self._wants_other_layout(index) or getattr(index, "needs_rebuild", lambda: False)():
                    self._rebuild_one(name)
            self.generation = generation
        return changes

    def _wants_other_layout(self, index: ann.ANN) -> bool:
        return ann.create(index.dim, index.count(), self.params).layout != index.layout

    def _rebuild_one(self, name: str) -> None:
        table = TABLES[name]
        count = self.store.count(table, "vec IS NOT NULL")
        fresh = ann.create(self.store.dim or 1, count, self.params)
        parts = list(self.store.iter_vectors(table))
        if parts:
            fresh.index(np.concatenate([p[0] for p in parts]), np.vstack([p[1] for p in parts]))
        self.indexes[name] = fresh

    def rebuild(self) -> None:
        """Start over from SQLite: the cure for a lost, corrupt or foreign index file."""
        with self.lock:
            generation = self.store.generation()
            for name in TABLES:
                self._rebuild_one(name)
            self.generation = generation
            self.save()

    def add(self, name: str, ids: np.ndarray, vectors: np.ndarray, generation: int) -> None:
        """Add vectors a writer just committed; keeps the cache current without a SQLite scan."""
        with self.lock:
            if not self.indexes:
                self._load()
            behind = self.generation
            if len(ids):
                self.indexes[name].append(ids, vectors)
            if behind == generation - 1 or behind == generation:
                self.generation = generation
            else:
                self.catch_up()

    def remove(self, name: str, ids: np.ndarray) -> None:
        with self.lock:
            if self.indexes and len(ids):
                self.indexes[name].delete(np.asarray(ids, dtype=np.int64))

    def save(self) -> None:
        """Write both indexes, then the generation they reflect (atomically, in that order)."""
        with self.lock:
            if not self.indexes:
                return
            for name, index in self.indexes.items():
                index.save(self.path(name))
            state = {"generation": self.generation,
                     "layouts": {n: i.layout for n, i in self.indexes.items()},
                     "counts": {n: i.count() for n, i in self.indexes.items()}}
            fd, tmp = tempfile.mkstemp(dir=self.store.folder, prefix=".faiss.", suffix=".tmp")
            with os.fdopen(fd, "w") as handle:
                json.dump(state, handle)
            os.replace(tmp, self.store.folder / STATE_FILE)

    def search(self, name: str, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self.ensure()
        with self.lock:
            index = self.indexes[name]
            if index.count() == 0:
                q = 1 if queries.ndim == 1 else len(queries)
                return np.full((q, k), -np.inf, np.float32), np.full((q, k), -1, np.int64)
            return index.search(queries, min(k, index.count()))

    def describe(self) -> dict:
        self.ensure()
        return {name: {"layout": index.layout, "vectors": index.count()} for name, index in self.indexes.items()}
