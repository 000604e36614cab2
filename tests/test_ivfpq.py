"""The IVF-PQ layout on real sentence vectors plus noise: recall against exact, a saved file, deletes, shards."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from newsprism.index import ann
from newsprism.index.ann.ivfpq import IVFPQANN, build_parallel

N, QUERIES, K = 4000, 50, 10
PARAMS = {"ivfpq_m": 16}  # 16 bytes a code keeps training to seconds in the suite


@pytest.fixture(scope="module")
def vectors(demo_store) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noisy copies of the demo corpus' sentence vectors (cosine ~0.8 to their sentence), ids, queries."""
    with sqlite3.connect(demo_store / "newsprism.sqlite") as conn:
        real = np.vstack([np.frombuffer(b, np.float32) for (b,) in conn.execute("SELECT vec FROM vectors")])
    rng = np.random.default_rng(3)

    def noisy(n: int) -> np.ndarray:
        out = real[rng.integers(len(real), size=n)] + rng.standard_normal((n, real.shape[1]), np.float32) * 0.04
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    return np.arange(N, dtype=np.int64) * 5 + 11, noisy(N), noisy(QUERIES)


def recall(index: ann.ANN, ids: np.ndarray, data: np.ndarray, queries: np.ndarray) -> float:
    truth = ids[np.argsort(-(queries @ data.T), axis=1)[:, :K]]
    _, found = index.search(queries, K)
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


def test_ivfpq_recall_round_trip_deletes_and_shards(vectors, tmp_path):
    ids, data, queries = vectors
    index = IVFPQANN(data.shape[1], PARAMS)
    index.index(ids, data)  # trains on a sample of what it is given
    assert index.count() == N and index.params["ivfpq_nlist"] > 1
    assert recall(index, ids, data, queries) >= 0.9

    path = tmp_path / "s.faiss"
    index.save(path)
    loaded = ann.load(path)
    assert loaded.layout == "ivfpq" and loaded.count() == N
    assert np.array_equal(loaded.search(queries, K)[1], index.search(queries, K)[1])

    _, before = loaded.search(queries[:1], K)
    gone = before[0][:3]
    loaded.delete(gone)
    assert loaded.count() == N - 3 and not set(loaded.search(queries[:1], K)[1][0]) & set(gone)
    loaded.append(gone, data[np.searchsorted(ids, gone)])
    assert set(gone) <= set(loaded.search(queries[:1], K)[1][0]) and loaded.count() == N

    parallel = build_parallel(data.shape[1], ids, data, shards=3, params=PARAMS)
    assert parallel.count() == N and sorted(parallel.ids()) == sorted(ids)
    assert np.array_equal(parallel.search(queries, K)[1], index.search(queries, K)[1])  # same codes, any shards
    more = ids.max() + 1 + np.arange(10)
    loaded.build_shards(more, data[:10], shards=2)  # shards of an index loaded from disk, not empty
    assert loaded.count() == N + 10 and set(more[:1]) <= set(loaded.search(data[:1], K)[1][0])


def test_the_factory_picks_ivfpq_above_its_size_setting():
    assert ann.create(384, 10, {"exact_max": 5, "ivfpq_min": 100}).layout == "hnsw"
    assert ann.create(384, 101, {"exact_max": 5, "ivfpq_min": 100}).layout == "ivfpq"
    with pytest.raises(ValueError, match="at least"):
        IVFPQANN(384, {}).train(np.zeros((10, 384), np.float32))
