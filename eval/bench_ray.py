"""The cost of Ray itself: the same articles ingested locally and through Ray Data at 1 and 2 workers.

    nice -n 10 python -m eval.bench_ray [--data FILE.jsonl] [--articles 500] [--workers 1,2] [--repeat 2] [--json]

Every run is a full ingest into a fresh store (read, clean, split, language, embed, SQLite, FAISS,
stories), model loads included (the local run loads one model, each Ray actor its own). The local
run is the baseline: Ray throughput is quoted as a ratio to it, measured in the same process on the
same machine. Runs are interleaved (local, ray 1, ray 2, local, ...) so a shared machine's load falls
on all of them alike; the table gives each run and the median per kind. On a shared machine wall time
favours the run with more busy threads (the kernel shares the cores per thread), so throughput per CPU
second is printed too: the cost of the engine itself, whatever the neighbours do. The Ray cluster is
started once before timing (a deployment keeps one running) and is up, idle, during the local runs too. CPU seconds are
those of this process and all its descendants (the local cluster's raylet, GCS and workers), from /proc,
sampled twice a second (a worker that exits between samples loses at most half a second).
Articles are the first N bodies of the story corpus (../shared), written to a temporary file for the readers.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
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


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds (user + system) of `root` and each live descendant, by pid (Linux /proc; empty elsewhere)."""
    parents, spent = {}, {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return {}
    for entry in entries:
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        parents[int(entry)] = int(fields[1])
        spent[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    ours, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - ours
        ours |= frontier
    return {pid: spent[pid] for pid in ours if pid in spent}


class CpuMeter:
    """CPU seconds this process tree spends during a run, sampled twice a second so that workers which exit
    before the end (Ray Data's actors do) still count up to their last sample."""

    def __init__(self) -> None:
        self.start = tree_cpu(os.getpid())
        self.last = dict(self.start)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        while not self.stop.wait(0.5):
            self.last.update(tree_cpu(os.getpid()))

    def seconds(self) -> float:
        self.stop.set()
        self.thread.join()
        self.last.update(tree_cpu(os.getpid()))
        return sum(s - self.start.get(pid, 0.0) for pid, s in self.last.items())


def timed(label: str, run) -> dict:
    load = os.getloadavg()[0]
    meter = CpuMeter()
    started = time.perf_counter()
    newsroom, embedded = run()
    seconds = time.perf_counter() - started
    cpu = meter.seconds()
    articles, sentences = counts(newsroom)
    newsroom.close()
    row = {"run": label, "seconds": round(seconds, 1), "articles": articles, "sentences": sentences,
           "embedded": embedded, "sentences_per_s": round(sentences / seconds, 2), "cpu_s": round(cpu, 1),
           "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1)}
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved rounds of every kind of run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from newsprism.index import rayjob

    rows = []
    kinds = ["local", *(f"ray, {w} worker{'s' * (int(w) > 1)}" for w in args.workers.split(","))]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = sample(args.data, args.articles, folder)
        rayjob.connect()
        for round_ in range(args.repeat):
            def local(name: str = f"local{round_}") -> tuple[Newsroom, int]:
                newsroom = fresh(folder, name)
                return newsroom, newsroom.ingest(read_paths([str(data)])).embedded

            rows.append(timed("local", local) | {"round": round_})
            for workers in (int(w) for w in args.workers.split(",")):
                def on_ray(workers: int = workers, name: str = f"ray{workers}-{round_}") -> tuple[Newsroom, int]:
                    newsroom = fresh(folder, name)
                    return newsroom, rayjob.ingest(newsroom, [str(data)], workers=workers).embedded

                rows.append(timed(f"ray, {workers} worker{'s' * (workers > 1)}", on_ray) | {"round": round_})
    for row in rows:
        base = next(r for r in rows if r["run"] == "local" and r["round"] == row["round"])
        row["vs_local"] = round(row["sentences_per_s"] / base["sentences_per_s"], 2)
    local = [r for r in rows if r["run"] == "local"]
    local_seconds = statistics.median(r["seconds"] for r in local)
    local_cpu = statistics.median(r["cpu_s"] for r in local)
    medians = []
    for kind in kinds:
        mine = [r for r in rows if r["run"] == kind]
        seconds = round(statistics.median(r["seconds"] for r in mine), 1)
        cpu = round(statistics.median(r["cpu_s"] for r in mine), 1)
        sentences = mine[0]["sentences"]
        medians.append({"run": kind, "runs": len(mine), "seconds": seconds, "articles": mine[0]["articles"],
                        "sentences": sentences, "sentences_per_s": round(sentences / seconds, 2), "cpu_s": cpu,
                        "sentences_per_cpu_s": round(sentences / cpu, 2) if cpu else None,
                        "vs_local": round(local_seconds / seconds, 2),
                        "cpu_vs_local": round(local_cpu / cpu, 2) if cpu else None})
    machine = {"cpu": cpu_model(), "cores": os.cpu_count()}
    if args.json:
        print(json.dumps(machine | {"rows": rows, "medians": medians}, indent=2))
        return
    print(f"CPU: {machine['cpu']} ({machine['cores']} cores); {args.articles} articles of {args.data.name}; "
          f"{args.repeat} interleaved rounds")
    print("| round | run | seconds | articles | sentences | encoded | sentences/s | CPU s "
          "| load avg (1 min) before/after | vs local (same round) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['round']} | {r['run']} | {r['seconds']} | {r['articles']} | {r['sentences']} | {r['embedded']} "
              f"| {r['sentences_per_s']} | {r['cpu_s']} | {r['load_before']}/{r['load_after']} | {r['vs_local']}x |")
    print()
    print("| run (median) | runs | seconds | articles | sentences | sentences/s | vs local | CPU s "
          "| sentences per CPU s | vs local, per CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m in medians:
        print(f"| {m['run']} | {m['runs']} | {m['seconds']} | {m['articles']} | {m['sentences']} "
              f"| {m['sentences_per_s']} | {m['vs_local']}x | {m['cpu_s']} | {m['sentences_per_cpu_s']} "
              f"| {m['cpu_vs_local']}x |")

if __name__ == "__main__":
    main()
