"""Shared contract and on-disk format for the vector-index backends.

Each backend wraps a faiss index inside an ``IndexIDMap2`` so callers work with their own int64 ids
(SQLite rowids) rather than faiss' insertion positions. Vectors are expected to be L2-normalized float32,
so inner product equals cosine similarity.

Files hold one index each: ``MAGIC | u64 header length | JSON header | int64 tombstones | faiss index |
TRAILER_MAGIC | u64 length | u32 crc32``; the trailer's checksum covers every byte before it, so a file
damaged anywhere is refused before faiss reads a byte of it (faiss trusts the counts it reads). A single
file (instead of index + sidecar) lets ``save`` be atomic with one ``os.replace``.
"""

from __future__ import annotations

import abc
import json
import os
import struct
import tempfile
import zlib
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import faiss
import numpy as np
from newsprism.engine.threads import faiss_one_thread

MAGIC = b"NPANN001"
TRAILER_MAGIC = b"NPANNCRC"
TRAILER = struct.Struct("<8sQI")  # magic, bytes before the trailer, crc32 of those bytes
MAX_HEADER_BYTES = 1 << 20
MISSING_ID = -1


class ANN(abc.ABC):
    """Nearest-neighbour index over ``(id, vector)`` pairs; similarity is inner product.

    Mutations are not thread-safe: callers that search from several threads while writing must lock.
    """

    layout: ClassVar[str]
    _registry: ClassVar[dict[str, type[ANN]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "layout" in cls.__dict__:  # variants that inherit a layout (experiments) must not replace it
            ANN._registry[cls.layout] = cls

    def __init__(self, dim: int, params: dict[str, Any] | None = None) -> None:
        self.dim = int(dim)
        self.params = dict(params or {})
        self._clear()

    # ---- backend hooks -------------------------------------------------------------------------------

    @abc.abstractmethod
    def _new_index(self) -> faiss.IndexIDMap2:
        """An empty faiss index for this layout."""

    def _clear(self) -> None:
        """Start over with an empty index."""
        self._index = self._new_index()

    @abc.abstractmethod
    def _restore(self, index: faiss.IndexIDMap2, tombstones: np.ndarray) -> None:
        """Adopt a loaded faiss index and the tombstoned positions saved with it."""

    def _tombstones(self) -> np.ndarray:
        """Internal positions that are deleted but still stored; none unless the backend cannot remove."""
        return np.empty(0, dtype=np.int64)

    # ---- public API ----------------------------------------------------------------------------------

    def index(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Build from scratch, replacing everything held."""
        ids, vectors = self._check(ids, vectors)
        self._clear()
        self._add(ids, vectors)

    def append(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors; an id that is already live is replaced (upsert), so ids stay unique."""
        ids, vectors = self._check(ids, vectors)
        self.delete(ids)
        self._add(ids, vectors)

    @abc.abstractmethod
    def _add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add validated, unique, not-live ids."""

    @abc.abstractmethod
    def delete(self, ids: np.ndarray) -> None:
        """Remove ids; unknown ids are ignored."""

    @abc.abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k ``(scores float32 (q, k), ids int64 (q, k))``, best first.

        Slots without a result hold id ``-1`` and score ``-inf``.
        """

    @abc.abstractmethod
    def ids(self) -> np.ndarray:
        """The live ids (int64), in storage order."""

    @abc.abstractmethod
    def count(self) -> int:
        """Number of live ids."""

    def needs_rebuild(self) -> bool:
        """Whether deleted entries still cost search time enough that a rebuild from the source pays off."""
        return False

    def save(self, path: Path | str) -> None:
        """Write atomically: a temp file in the same folder, fsynced, then ``os.replace``."""
        path = Path(path)
        tombstones = self._tombstones().astype("<i8")
        header = json.dumps(
            {"layout": self.layout, "dim": self.dim, "params": self.params, "tombstones": len(tombstones),
             "checksum": "crc32-trailer"}
        ).encode()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                summed = _Summed(f)
                summed.write(MAGIC + struct.pack("<Q", len(header)) + header + tombstones.tobytes())
                faiss.write_index(self._index, faiss.PyCallbackIOWriter(summed.write))
                f.write(TRAILER.pack(TRAILER_MAGIC, summed.size, summed.crc))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            fsync_dir(path.parent)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path | str, params: dict[str, Any] | None = None) -> ANN:
        """Read a saved index; the backend is chosen by the layout recorded in the file.

        ``params`` override the saved ones, so a changed ``hnsw_ef_search`` applies without a rebuild;
        build-time params (``hnsw_m``, ``hnsw_ef_construction``) only shape the next ``index()``.

        Raises ``ValueError`` for foreign, truncated or inconsistent files and faiss' ``RuntimeError`` for a
        corrupt index body, so callers can fall back to rebuilding from their source of truth.
        """
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                raise ValueError(f"{path}: not a newsprism ANN file")
            (size,) = struct.unpack("<Q", _read_exact(f, 8))
            if size > MAX_HEADER_BYTES:
                raise ValueError(f"{path}: corrupt header (claims {size} bytes)")
            header = _checked_header(_read_exact(f, size), path)
            layout = header["layout"]
            backend = ANN._registry.get(layout)
            if backend is None or not issubclass(backend, cls):
                raise ValueError(f"{path}: layout {layout!r} cannot be loaded as {cls.__name__}")
            if header.get("checksum") == "crc32-trailer":
                _verify_trailer(f, path)  # leaves f where it was
            if 8 * header["tombstones"] > os.fstat(f.fileno()).st_size:
                raise ValueError(f"{path}: truncated ANN file")
            tombstones = np.frombuffer(_read_exact(f, 8 * header["tombstones"]), dtype="<i8").astype(np.int64)
            index = faiss.read_index(faiss.PyCallbackIOReader(f.read))  # RuntimeError if corrupt
        if index.d != header["dim"] or len(tombstones) and (tombstones.max() >= index.ntotal or tombstones.min() < 0):
            raise ValueError(f"{path}: header does not match the stored index")
        ann = backend.__new__(backend)
        ann.dim = int(header["dim"])
        ann.params = {**header["params"], **(params or {})}
        ann._restore(index, tombstones)
        return ann

    # ---- helpers -------------------------------------------------------------------------------------

    def _check(self, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Contiguous int64/float32 copies faiss accepts; rejects shapes, duplicates and the -1 sentinel."""
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape != (len(ids), self.dim):
            raise ValueError(f"expected vectors of shape ({len(ids)}, {self.dim}), got {vectors.shape}")
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate ids in one batch")
        if (ids == MISSING_ID).any():
            raise ValueError("id -1 is reserved for missing results")
        return ids, vectors

    def _queries(self, queries: np.ndarray, k: int) -> np.ndarray:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[None, :]
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"expected queries of shape (q, {self.dim}), got {queries.shape}")
        if k < 1:
            raise ValueError("k must be >= 1")
        return queries

    @staticmethod
    def _empty(q: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        return np.full((q, k), -np.inf, dtype=np.float32), np.full((q, k), MISSING_ID, dtype=np.int64)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, count={self.count()})"


def search_threads(queries: int) -> AbstractContextManager[None]:
    """A single-query search on one OpenMP thread; batches keep every thread (faiss splits them by query)."""
    return faiss_one_thread(queries <= 1)


class _Summed:
    """A writer that counts and checksums what passes through it (the trailer of a saved file)."""

    def __init__(self, f: BinaryIO) -> None:
        self.f, self.size, self.crc = f, 0, 0

    def write(self, data: bytes) -> int:
        self.f.write(data)
        self.size += len(data)
        self.crc = zlib.crc32(data, self.crc)
        return len(data)


def _verify_trailer(f: BinaryIO, path: Path | str) -> None:
    """Refuse a file whose bytes do not match the checksum written with them (torn, truncated, damaged)."""
    here = f.tell()
    total = os.fstat(f.fileno()).st_size
    if total < TRAILER.size:
        raise ValueError(f"{path}: truncated ANN file")
    f.seek(total - TRAILER.size)
    magic, size, crc = TRAILER.unpack(f.read(TRAILER.size))
    if magic != TRAILER_MAGIC or size != total - TRAILER.size:
        raise ValueError(f"{path}: truncated ANN file (no checksum trailer where it belongs)")
    f.seek(0)
    running, left = 0, size
    while left:
        chunk = f.read(min(left, 1 << 24))
        if not chunk:
            raise ValueError(f"{path}: truncated ANN file")
        running = zlib.crc32(chunk, running)
        left -= len(chunk)
    if running != crc:
        raise ValueError(f"{path}: corrupt ANN file (checksum mismatch)")
    f.seek(here)


def _checked_header(raw: bytes, path: Path | str) -> dict[str, Any]:
    """The JSON header, with the fields load relies on present and of the right kind."""
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{path}: corrupt header") from exc
    ok = (isinstance(header, dict) and isinstance(header.get("layout"), str)
          and isinstance(header.get("dim"), int) and header["dim"] > 0
          and isinstance(header.get("tombstones"), int) and header["tombstones"] >= 0
          and isinstance(header.get("params"), dict))
    if not ok:
        raise ValueError(f"{path}: corrupt header")
    return header


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (the directory entry itself is data)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError(f"{f.name}: truncated ANN file")
    return data
