"""The store: one folder with a SQLite file (the truth) and FAISS files (a cache of its vectors).

SQLite runs in WAL mode: readers never wait for a writer, a killed writer loses only its open
transaction, and every write transaction bumps `generation` so FAISS can tell it is behind.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from newsprism.index.schema import SCHEMA, SCHEMA_VERSION

DB_FILE = "newsprism.sqlite"


class StoreError(RuntimeError):
    """A store that cannot be used as asked (other model, newer schema, missing folder)."""


@dataclass(frozen=True)
class Filters:
    """Which articles a read may see."""

    outlet: str | None = None
    since: str | None = None
    until: str | None = None
    lang: str | None = None

    def sql(self, alias: str = "a") -> tuple[str, list]:
        clauses, args = [], []
        if self.outlet:
            clauses.append(f"lower({alias}.outlet) = lower(?)")
            args.append(self.outlet)
        if self.since:
            clauses.append(f"{alias}.published >= ?")
            args.append(self.since)
        if self.until:
            clauses.append(f"{alias}.published <= ?")
            args.append(self.until)
        if self.lang:
            clauses.append(f"{alias}.lang = ?")
            args.append(self.lang)
        return (" AND ".join(clauses) or "1"), args

    @property
    def active(self) -> bool:
        return any((self.outlet, self.since, self.until, self.lang))


def to_blob(vec: np.ndarray) -> bytes:
    return np.ascontiguousarray(vec, dtype=np.float32).tobytes()


def from_blob(blob: bytes, dim: int | None = None) -> np.ndarray:
    vec = np.frombuffer(blob, dtype=np.float32)
    return vec if dim is None else vec.reshape(-1, dim)


def _switch_to_wal(conn: sqlite3.Connection, patience: float = 60.0) -> None:
    """Put the file in WAL mode, waiting out other processes that open the same new store.

    SQLite answers "database is locked" at once, without its busy handler, to a connection that
    changes the journal mode while another one is changing it too (two `ingest` processes on a new
    store); so wait here, as the busy timeout would for any other statement.
    """
    deadline, pause = time.monotonic() + patience, 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)


class Store:
    """SQLite access for every room of the engine; one connection per thread, one writer at a time."""

    def __init__(self, folder: str | Path, create: bool = True) -> None:
        self.folder = Path(folder).expanduser()
        if not create and not (self.folder / DB_FILE).exists():
            raise StoreError(f"no store at {self.folder} (ingest something first, or pass --db)")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / DB_FILE
        self._local = threading.local()
        self.write_lock = threading.RLock()
        with self.write_lock:
            self.conn.executescript(SCHEMA)  # idempotent DDL; executescript manages its own transaction
        with self.transaction() as conn:
            version = self.meta("schema_version", conn=conn)
            if version is None:
                self.set_meta("schema_version", str(SCHEMA_VERSION), conn=conn)
                self.set_meta("generation", "0", conn=conn)
            elif int(version) > SCHEMA_VERSION:
                raise StoreError(f"store {self.folder} has schema {version}; this newsprism knows {SCHEMA_VERSION}")

    # -- connections ------------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            _switch_to_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=60000")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: all of it lands or none of it (a kill mid-way rolls it back).

        BEGIN IMMEDIATE takes SQLite's write lock up front, so whatever the block reads (story state,
        next ids) is what it writes over, whichever process writes too. A COMMIT that fails (a
        deferred constraint, a full disk) is rolled back too, so the connection is never left inside
        a dead transaction that would make every later write fail.
        """
        with self.write_lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    # -- meta -------------------------------------------------------------------------------------
    def meta(self, key: str, conn: sqlite3.Connection | None = None) -> str | None:
        row = (conn or self.conn).execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str, conn: sqlite3.Connection | None = None) -> None:
        (conn or self.conn).execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def generation(self) -> int:
        return int(self.meta("generation") or 0)

    def bump_generation(self, conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    def check_model(self, name: str, dim: int) -> None:
        """Vectors of two models cannot share an index: refuse clearly instead of mixing them."""
        stored, stored_dim = self.meta("model"), self.meta("dim")
        if stored is None:
            with self.transaction() as conn:
                self.set_meta("model", name, conn=conn)
                self.set_meta("dim", str(dim), conn=conn)
            return
        if stored != name or int(stored_dim or 0) != dim:
            raise StoreError(
                f"store {self.folder} was built with model {stored!r} ({stored_dim}-d); settings name {name!r} "
                f"({dim}-d). Use the store's model (model = {stored!r}) or a new --db folder."
            )

    @property
    def model(self) -> str | None:
        return self.meta("model")

    @property
    def dim(self) -> int | None:
        value = self.meta("dim")
        return int(value) if value else None

    # -- vectors ----------------------------------------------------------------------------------
    def known_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        """Vectors already stored for these sentence keys (so they are never embedded twice)."""
        found: dict[str, np.ndarray] = {}
        for chunk in _chunks(keys, 900):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", chunk):
                found[row[0]] = from_blob(row[1]).copy()
        return found

    def vectors_by_id(self, vids: Iterable[int], table: str = "vectors") -> tuple[np.ndarray, np.ndarray]:
        """(ids, matrix) for the given vector ids (table 'vectors') or article ids (table 'articles')."""
        key = "vid" if table == "vectors" else "aid"
        ids, vecs = [], []
        for chunk in _chunks(list(vids), 900):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(f"SELECT {key}, vec FROM {table} WHERE {key} IN ({marks}) "
                                         "AND vec IS NOT NULL", chunk):
                ids.append(row[0])
                vecs.append(from_blob(row[1]))
        return _as_matrix(ids, vecs, self.dim or 0)

    def all_ids(self, table: str = "vectors") -> np.ndarray:
        """Sorted ids that have a vector. Read from covering indexes (the vectors' key index, the
        partial index on articles with a vector), not the tables, so every open can afford it."""
        sql = "SELECT vid FROM vectors" if table == "vectors" else "SELECT aid FROM articles WHERE vec IS NOT NULL"
        rows = self.conn.execute(sql).fetchall()
        return np.sort(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))

    def iter_vectors(self, table: str = "vectors", chunk: int = 50_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """All vectors of a table in id order, a chunk at a time (a rebuild never holds SQL rows twice)."""
        key = "vid" if table == "vectors" else "aid"
        last = -1
        while True:
            rows = self.conn.execute(f"SELECT {key}, vec FROM {table} WHERE {key} > ? AND vec IS NOT NULL "
                                     f"ORDER BY {key} LIMIT ?", (last, chunk)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield _as_matrix([r[0] for r in rows], [from_blob(r[1]) for r in rows], self.dim or 0)

    # -- reads ------------------------------------------------------------------------------------
    def article_row(self, ext_id: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM articles WHERE ext_id = ?", (ext_id,)).fetchone()

    def sentences_of(self, aid: int, with_title: bool = False) -> list[sqlite3.Row]:
        floor = -1 if with_title else 0
        return self.conn.execute("SELECT * FROM sentences WHERE aid = ? AND position >= ? ORDER BY position",
                                 (aid, floor)).fetchall()

    def count(self, table: str, where: str = "1", args: Iterable = ()) -> int:
        return int(self.conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", list(args)).fetchone()[0])

    def size_on_disk(self) -> int:
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _as_matrix(ids: list[int], vecs: list[np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32)
    return np.asarray(ids, dtype=np.int64), np.vstack(vecs).astype(np.float32, copy=False)
