"""Behaviour of the ANN backends (index/ann): neighbours, ids, deletes, persistence, layout choice, recall."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pytest
from newsprism.index.ann import ANN, HNSWANN, FlatANN, create, load

DIM = 64
BACKENDS = [FlatANN, HNSWANN]


@pytest.fixture(autouse=True, scope="module")
def one_omp_thread() -> Iterator[None]:
    """These builds are tiny, so threads gain nothing, while on a busy host each OpenMP join can stall for
    a scheduler slice (this file: 8 s on one thread vs 27 s on two at load average 8)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(rng: np.random.Generator, n: int, dim: int = DIM, centers: int = 40) -> np.ndarray:
    """Noisy copies of a few centres: the near-duplicate structure of news embeddings."""
    anchors = unit(rng.standard_normal((centers, dim)))
    noise = rng.standard_normal((n, dim)) * rng.uniform(0.3, 0.9, size=(n, 1)) / np.sqrt(dim)
    return unit(anchors[rng.integers(centers, size=n)] + noise)


def sparse_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Large, non-contiguous int64 ids, including the extremes of the positive range."""
    ids = rng.choice(2**62, size=n, replace=False).astype(np.int64)
    ids[:2] = [np.iinfo(np.int64).max, 0]
    return ids


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return sparse_ids(rng, 2000), clustered(rng, 2000)


def build(backend: type[ANN], data: tuple[np.ndarray, np.ndarray]) -> ANN:
    ann = backend(DIM)
    ann.index(*data)
    return ann


@pytest.mark.parametrize("backend", BACKENDS)
def test_indexed_vectors_find_themselves_first(backend: type[ANN], data) -> None:
    ids, vectors = data
    ann = build(backend, data)
    scores, found = ann.search(vectors[:300], 5)
    assert found.dtype == np.int64 and scores.dtype == np.float32
    assert (found[:, 0] == ids[:300]).all()
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_keeps_arbitrary_int64_ids(backend: type[ANN], data) -> None:
    ids, _ = data
    ann = build(backend, data)
    assert ann.count() == len(ids)
    assert sorted(ann.ids().tolist()) == sorted(ids.tolist())


@pytest.mark.parametrize("backend", BACKENDS)
def test_deleted_ids_are_never_returned(backend: type[ANN], data) -> None:
    ids, vectors = data
    ann = build(backend, data)
    gone = ids[::7]
    ann.delete(np.concatenate([gone, [12345]]))  # unknown ids are ignored
    _, found = ann.search(vectors[:500], 10)
    assert not np.isin(found, gone).any()
    assert (found[:, 0][~np.isin(ids[:500], gone)] == ids[:500][~np.isin(ids[:500], gone)]).all()
    assert ann.count() == len(ids) - len(gone)
    assert not np.isin(ann.ids(), gone).any()


@pytest.mark.parametrize("backend", BACKENDS)
def test_deleted_then_appended_id_is_live_again(backend: type[ANN], data, tmp_path: Path) -> None:
    ids, vectors = data
    ann = build(backend, data)
    ann.delete(ids[:1])
    ann.append(ids[:1], vectors[1:2])  # same id, another vector
    ann.save(tmp_path / "a.ann")
    for index in (ann, load(tmp_path / "a.ann")):
        _, found = index.search(vectors[1:2], 2)
        assert set(found[0]) == {ids[0], ids[1]}
        _, found = index.search(vectors[:1], 1)
        assert found[0, 0] != ids[0]  # the old vector stays hidden
        assert index.count() == len(ids)


@pytest.mark.parametrize("backend", BACKENDS)
def test_append_replaces_a_live_id(backend: type[ANN], data) -> None:
    ids, vectors = data
    ann = build(backend, data)
    ann.append(ids[:1], vectors[1:2])
    assert ann.count() == len(ids)
    _, found = ann.search(vectors[:1], 1)
    assert found[0, 0] != ids[0]


def test_hnsw_tombstones_survive_save_load(data, tmp_path: Path) -> None:
    ids, vectors = data
    ann = build(HNSWANN, data)
    gone = ids[:300]
    ann.delete(gone)
    assert ann.needs_rebuild()  # 15% tombstones
    ann.save(tmp_path / "h.ann")
    loaded = load(tmp_path / "h.ann")
    assert isinstance(loaded, HNSWANN)
    _, found = loaded.search(vectors[:400], 10)
    assert not np.isin(found, gone).any()
    assert loaded.count() == ann.count()
    assert loaded.needs_rebuild() == ann.needs_rebuild()


def test_needs_rebuild_after_ten_percent_tombstones(data) -> None:
    ids, vectors = data
    ann, flat = build(HNSWANN, data), build(FlatANN, data)
    ann.delete(ids[:200])
    flat.delete(ids[:1000])
    assert not ann.needs_rebuild() and not flat.needs_rebuild()  # flat deletes physically
    ann.delete(ids[200:201])
    assert ann.needs_rebuild()
    ann.index(ids[201:], vectors[201:])  # the owner's cure: rebuild from the source of truth
    assert not ann.needs_rebuild() and ann.count() == len(ids) - 201


@pytest.mark.parametrize("backend", BACKENDS)
def test_save_load_round_trip_and_append(backend: type[ANN], data, tmp_path: Path) -> None:
    ids, vectors = data
    ann = backend(DIM)
    ann.index(ids[:1500], vectors[:1500])
    path = tmp_path / "index.ann"
    ann.save(path)
    ann.save(path)  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["index.ann"]  # no temp files left behind

    loaded = load(path)
    assert type(loaded) is backend and loaded.layout == backend.layout and loaded.dim == DIM
    for a, b in zip(ann.search(vectors, 10), loaded.search(vectors, 10), strict=True):
        np.testing.assert_array_equal(a, b)

    loaded.append(ids[1500:], vectors[1500:])
    assert loaded.count() == len(ids)
    _, found = loaded.search(vectors[1500:], 1)
    assert (found[:, 0] == ids[1500:]).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_slots_are_minus_one(backend: type[ANN], data) -> None:
    ids, vectors = data
    ann = backend(DIM)
    scores, found = ann.search(vectors[:2], 3)
    assert (found == -1).all() and np.isneginf(scores).all()
    ann.index(ids[:3], vectors[:3])
    ann.delete(ids[:1])
    scores, found = ann.search(vectors[:1], 5)
    assert sorted(found[0, :2]) == sorted(ids[1:3]) and (found[0, 2:] == -1).all()
    assert np.isneginf(scores[0, 2:]).all()


def test_load_rejects_foreign_and_truncated_files(data, tmp_path: Path) -> None:
    (tmp_path / "other.faiss").write_bytes(b"not an index at all")
    with pytest.raises(ValueError, match="not a newsprism"):
        load(tmp_path / "other.faiss")
    build(HNSWANN, data).save(tmp_path / "h.ann")
    (tmp_path / "cut.ann").write_bytes((tmp_path / "h.ann").read_bytes()[:20])
    with pytest.raises(ValueError, match="truncated"):
        load(tmp_path / "cut.ann")


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_query_search_keeps_callers_thread_setting(backend: type[ANN], data) -> None:
    ann = build(backend, data)
    faiss.omp_set_num_threads(3)
    try:
        ann.search(data[1][0], 3)
        assert faiss.omp_get_max_threads() == 3
    finally:
        faiss.omp_set_num_threads(1)


def test_rejects_bad_input(data) -> None:
    ids, vectors = data
    ann = FlatANN(DIM)
    with pytest.raises(ValueError, match="duplicate"):
        ann.index(np.array([1, 1]), vectors[:2])
    with pytest.raises(ValueError, match="shape"):
        ann.index(ids[:2], vectors[:2, :10])
    with pytest.raises(ValueError, match="reserved"):
        ann.index(np.array([-1]), vectors[:1])


def test_create_picks_layout_by_size(tmp_path: Path) -> None:
    params = {"exact_max": 100, "hnsw_ef_search": 40}
    assert isinstance(create(DIM, 100, params), FlatANN)
    big = create(DIM, 101, params)
    assert isinstance(big, HNSWANN) and big.ef_search == 40
    assert create(DIM, 100_000).layout == "flat"
    assert create(DIM, 100_001).layout == "hnsw"
    with pytest.raises(ValueError, match="unknown"):
        create(DIM, 10, {"hnsw_efsearch": 10})

    big.index(np.array([5, 9]), unit(np.eye(2, DIM)))
    big.save(tmp_path / "big.ann")
    assert load(tmp_path / "big.ann").ef_search == 40
    assert load(tmp_path / "big.ann", {"hnsw_ef_search": 90}).ef_search == 90  # config change, no rebuild
    with pytest.raises(ValueError, match="layout"):
        FlatANN.load(tmp_path / "big.ann")


def test_hnsw_recall_at_10_against_exact() -> None:
    rng = np.random.default_rng(3)
    dim, n = 384, 5000
    anchors = clustered(rng, 200, dim=dim, centers=50)  # related topics, like stories
    vectors = unit(anchors[rng.integers(200, size=n)] + rng.standard_normal((n, dim)) * 0.04)
    queries = unit(anchors[rng.integers(200, size=300)] + rng.standard_normal((300, dim)) * 0.04)
    ids = sparse_ids(rng, n)
    exact, approx = FlatANN(dim), HNSWANN(dim)
    exact.index(ids, vectors)
    approx.index(ids, vectors)
    _, truth = exact.search(queries, 10)
    _, found = approx.search(queries, 10)
    recall = np.mean([len(np.intersect1d(f, t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95, recall
