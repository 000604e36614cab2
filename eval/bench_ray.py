"""The cost of Ray itself: the same articles ingested locally and through Ray Data at 1 and 2 workers.

    nice -n 10 python -m eval.bench_ray [--data FILE.jsonl] [--articles 500] [--workers 1,2] [--json]

Every run is a full ingest into a fresh store (read, clean, split, language, embed, SQLite, FAISS,
stories), model loads included (the local run loads one model, each Ray actor its own). The local
run is the baseline: Ray throughput is quoted as a ratio to it, measured in the same process on the
same machine. The Ray cluster is started once before timing (a deployment keeps one running). Articles
are the first N bodies of the story corpus (../shared), written to a temporary file for the readers.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from newsprism.engine.config import load_settings
from newsprism.engine.parse import read_paths
from newsprism.index.newsroom import Newsroom

from eval.bench_ingest import DEFAULT_DATA, sample
from eval.machine import cpu_model


def fresh(folder: Path, name: str) -> Newsroom:
    return Newsroom(load_settings({"store": str(folder / name)}))


def counts(newsroom: Newsroom) -> tuple[int, int]:
    conn: sqlite3.Connection = newsroom.store.conn
    return (conn.execute("SELECT count(*) FROM articles").fetchone()[0],
            conn.execute("SELECT count(*) FROM sentences").fetchone()[0])


def timed(label: str, run) -> dict:
    started = time.perf_counter()
    newsroom = run()
    seconds = time.perf_counter() - started
    articles, sentences = counts(newsroom)
    newsroom.close()
    row = {"run": label, "seconds": round(seconds, 1), "articles": articles, "sentences": sentences,
           "sentences_per_s": round(sentences / seconds, 1)}
    print(json.dumps(row), file=sys.stderr)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from newsprism.index import rayjob

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = sample(args.data, args.articles, folder)

        def local() -> Newsroom:
            newsroom = fresh(folder, "local")
            newsroom.ingest(read_paths([str(data)]))
            return newsroom

        rows.append(timed("local", local))
        rayjob.connect()
        for workers in (int(w) for w in args.workers.split(",")):
            def on_ray(workers: int = workers) -> Newsroom:
                newsroom = fresh(folder, f"ray{workers}")
                rayjob.ingest(newsroom, [str(data)], workers=workers)
                return newsroom

            rows.append(timed(f"ray, {workers} worker{'s' * (workers > 1)}", on_ray))
    base = rows[0]["sentences_per_s"]
    for row in rows:
        row["vs_local"] = round(row["sentences_per_s"] / base, 2)
    if args.json:
        print(json.dumps({"cpu": cpu_model(), "cores": os.cpu_count(), "rows": rows}, indent=2))
        return
    print(f"CPU: {cpu_model()} ({os.cpu_count()} cores); {args.articles} articles of {args.data.name}")
    print("| run | seconds | articles | sentences | sentences/s | vs local |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['seconds']} | {r['articles']} | {r['sentences']} | {r['sentences_per_s']} "
              f"| {r['vs_local']}x |")


if __name__ == "__main__":
    main()
