"""FAISS indexes as a cache of SQLite's vectors: loaded, checked, caught up and saved.

Each saved index file records the store generation it reflects (in `faiss.json`). Every open
compares the ids FAISS holds with the ids SQLite holds and adds what is missing and drops what is
extra, so a lagging, foreign or half-saved cache never makes search miss vectors; a file that cannot
be read (damaged, truncated, another format) is rebuilt from SQLite with a warning. Saves from any
number of processes are serialised by an exclusive lock on `faiss.lock`; each save catches up with
SQLite first, writes both index files (each atomically, fsynced) and only then the manifest naming
them, so `faiss.json` is never ahead of an index file. Loads take the same lock shared.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from newsprism.index import ann
from newsprism.index.ann.base import fsync_dir
from newsprism.index.store import Store

TABLES = {"sentences": "vectors", "articles": "articles"}
STATE_FILE = "faiss.json"
LOCK_FILE = "faiss.lock"

log = logging.getLogger("newsprism.index")


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

    @contextmanager
    def file_lock(self, exclusive: bool) -> Iterator[None]:
        """The cross-process lock on the FAISS files: exclusive to save, shared to load."""
        fd = os.open(self.store.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _saved_state(self) -> dict:
        path = self.store.folder / STATE_FILE
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as exc:
            log.warning("%s cannot be read (%s); FAISS is checked against SQLite instead", path, exc)
            return {}
        if not isinstance(state, dict) or not isinstance(state.get("generation", -1), int):
            log.warning("%s is not a FAISS manifest; FAISS is checked against SQLite instead", path)
            return {}
        return state

    def ensure(self) -> None:
        """Loaded and current: load from disk, then catch up with whatever SQLite committed since."""
        current = self.store.generation()
        if self.indexes and current == self.generation:
            return
        with self.lock:
            if not self.indexes:
                self._load()
                self.catch_up()  # on every open: by id, whatever the manifest claims
            elif self.store.generation() != self.generation:
                self.catch_up()

    def _load(self) -> None:
        dim = self.store.dim
        broken = []
        with self.file_lock(exclusive=False):  # both files and the manifest of one save, not of two
            for name in TABLES:
                path = self.path(name)
                try:
                    self.indexes[name] = ann.load(path, self.params)
                except FileNotFoundError:
                    self.indexes[name] = ann.create(dim or 1, 0, self.params)
                except Exception as exc:  # noqa: BLE001 - any unreadable cache is rebuilt, never fatal
                    log.warning("%s cannot be read (%s); rebuilding it from SQLite", path, exc)
                    self.indexes[name] = ann.create(dim or 1, 0, self.params)
                    broken.append(name)
                if dim and self.indexes[name].dim != dim:
                    self.indexes[name] = ann.create(dim, 0, self.params)
            self.generation = int(self._saved_state().get("generation", -1))
        for name in broken:
            self._rebuild_one(name)

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
        """Write both indexes, then the manifest naming the generation they reflect.

        Under the exclusive file lock: catch up with SQLite first (another process may have
        committed since), so the files written are never older than what an earlier save left.
        Each file is written to a temp file, fsynced and renamed; the manifest goes last.
        """
        with self.lock:
            if not self.indexes:
                return
            with self.file_lock(exclusive=True):
                self.catch_up()
                for name, index in self.indexes.items():
                    index.save(self.path(name))
                state = {"generation": self.generation,
                         "layouts": {n: i.layout for n, i in self.indexes.items()},
                         "counts": {n: i.count() for n, i in self.indexes.items()}}
                fd, tmp = tempfile.mkstemp(dir=self.store.folder, prefix=".faiss.", suffix=".tmp")
                try:
                    with os.fdopen(fd, "w") as handle:
                        json.dump(state, handle)
                        handle.flush()
                        os.fsync(handle.fileno())
                    os.replace(tmp, self.store.folder / STATE_FILE)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
                fsync_dir(self.store.folder)

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
