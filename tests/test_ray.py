"""Ingest and backfill on a local Ray cluster (2 CPUs): the store must equal a local ingest of the same files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from newsprism.engine.config import load_settings
from newsprism.index import rayjob
from newsprism.index.newsroom import Newsroom

from tests.conftest import DEMO, ROOT, cli_json

try:
    import ray
except ImportError:  # the extra is optional: only the first test runs without it
    ray = None

BATCH = "16"  # several ingest batches on the 45 demo articles, so regrouping across Ray rows is exercised
CHUNK = 8  # several Ray rows per batch, spread over both workers


def test_the_default_ingest_imports_no_ray():
    code = ("import sys; import api.cli, index.newsroom, index.ingest, engine.pipeline; "
            "from api.cli import cli; print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture(scope="module")
def cluster():
    if ray is None:
        pytest.skip("Ray is not installed (pip install 'newsprism[ray]')")
    rayjob.connect(num_cpus=2)
    yield
    ray.shutdown()


@pytest.fixture
def small_batches(cluster, monkeypatch):
    monkeypatch.setenv("NEWSPRISM_INGEST_BATCH", BATCH)
    monkeypatch.setattr(rayjob, "CHUNK", CHUNK)


@pytest.fixture(scope="module")
def local_store(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("local") / "store"
    os.environ["NEWSPRISM_INGEST_BATCH"] = BATCH
    try:
        cli_json("ingest", str(DEMO / "corpus.jsonl"), "--db", str(db))
    finally:
        del os.environ["NEWSPRISM_INGEST_BATCH"]
    return db


def snapshot(db: Path) -> dict:
    """What a reader sees: articles, their sentences and vectors, copies, versions, stories, boilerplate counts."""
    with sqlite3.connect(db / "newsprism.sqlite") as conn:
        articles = conn.execute(
            "SELECT a.ext_id, a.title, a.outlet, a.published, a.lang, a.text, a.text_hash, a.version, o.ext_id "
            "FROM articles a LEFT JOIN articles o ON o.aid = a.copy_of ORDER BY a.ext_id").fetchall()
        sentences = conn.execute(
            "SELECT a.ext_id, s.position, s.paragraph, s.start, s.\"end\", s.text FROM sentences s "
            "JOIN articles a ON a.aid = s.aid ORDER BY a.ext_id, s.position").fetchall()
        vectors = dict(conn.execute("SELECT key, vec FROM vectors").fetchall())
        stories: dict[int, set[str]] = {}
        for ext_id, story in conn.execute("SELECT ext_id, story_id FROM articles"):
            stories.setdefault(story, set()).add(ext_id)
        lines = conn.execute("SELECT outlet, line, articles FROM outlet_lines ORDER BY outlet, line").fetchall()
        versions = conn.execute("SELECT a.ext_id, v.version, v.text_hash FROM article_versions v "
                                "JOIN articles a ON a.aid = v.aid ORDER BY 1, 2").fetchall()
    return {"articles": articles, "sentences": sentences, "vectors": vectors, "lines": lines, "versions": versions,
            "stories": sorted(sorted(m) for m in stories.values())}


def assert_same_store(got: Path, want: Path) -> None:
    a, b = snapshot(got), snapshot(want)
    assert a["articles"] == b["articles"]  # same texts, titles, languages, versions and copy originals
    assert a["sentences"] == b["sentences"]
    assert a["versions"] == b["versions"]
    assert a["lines"] == b["lines"]
    assert a["stories"] == b["stories"]
    assert a["vectors"].keys() == b["vectors"].keys()
    for key, blob in a["vectors"].items():  # encoded in other batches: equal up to float rounding
        assert np.allclose(np.frombuffer(blob, np.float32), np.frombuffer(b["vectors"][key], np.float32), atol=1e-5)


def test_ray_ingest_equals_local_ingest(small_batches, tmp_path, local_store, demo_truth):
    db = tmp_path / "store"
    report = cli_json("ingest", str(DEMO / "corpus.jsonl"), "--db", str(db), "--engine", "ray", "--workers", "2")
    assert report["new"] + report["near_copy"] == 45 and report["near_copy"] == len(demo_truth["copies"])
    assert_same_store(db, local_store)
    again = cli_json("ingest", str(DEMO / "corpus.jsonl"), "--db", str(db), "--engine", "ray")
    assert again["duplicate"] == 45 and again["new"] == 0 and again["embedded"] == 0  # skipped before the model
    with sqlite3.connect(db / "newsprism.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 45


def embed_workers() -> list[int]:
    """The embedding actors of this test's cluster (its raylet is our child), never another cluster's (Linux /proc)."""
    parents, titles = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            titles[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
    ours, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - ours
        ours |= frontier
    return [pid for pid in sorted(ours) if "MapWorker" in titles.get(pid, "") and "EmbedStage" in titles[pid]]


def test_a_killed_worker_loses_and_doubles_nothing(small_batches, tmp_path, local_store):
    newsroom = Newsroom(load_settings({"store": str(tmp_path / "store")}))
    killed: list[int] = []

    def kill_one(_: int) -> None:
        if not killed:
            victims = embed_workers()
            assert victims, "no embedding actor to kill"
            os.kill(victims[0], signal.SIGKILL)
            killed.append(victims[0])

    report = rayjob.ingest(newsroom, [str(DEMO / "corpus.jsonl")], workers=2, progress=kill_one)
    newsroom.close()
    assert killed and report.new + report.near_copy == 45 and report.duplicate == 0
    assert_same_store(tmp_path / "store", local_store)


def test_backfill_writes_shards_resumes_and_loads_like_an_ingest(small_batches, tmp_path, local_store):
    out, db = tmp_path / "shards", tmp_path / "store"
    first = cli_json("backfill", str(DEMO / "corpus.jsonl"), "--out", str(out), "--db", str(db))
    shards = sorted((out / "shards").glob("part-*.parquet"))
    assert first["shards"]["written"] == len(shards) == 6  # 45 items in rows of 8
    assert_same_store(db, local_store)
    rerun = cli_json("backfill", str(DEMO / "corpus.jsonl"), "--out", str(out), "--db", str(db))
    assert rerun["shards"]["written"] == 0 and rerun["load"]["new"] == 0  # nothing embedded or loaded twice
    # a crash that lost one shard: the rerun writes only that shard; a fresh store loads every shard
    shards[2].unlink()
    again = cli_json("backfill", str(DEMO / "corpus.jsonl"), "--out", str(out), "--db", str(tmp_path / "fresh"))
    assert (again["shards"]["skipped"], again["shards"]["written"], again["shards"]["articles"]) == (5, 1, 8)
    assert_same_store(tmp_path / "fresh", local_store)
