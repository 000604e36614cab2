"""How fast the editor's pages answer: `newsprism serve` on loopback over a store with a 300-article story.

The store is built once (cached in --work): real article bodies from FNC-1's story clusters (largest
clusters first), spread over outlets and three days so claims are aligned across outlets, then every
story merged into one by curation, as an editor would, to get one story of --articles articles. The
server runs in a subprocess; timings are wall-clock HTTP requests from this process (median of --repeat).

Targets (issue 17): the story page of a 300-article story under 1 s when warm (analyses cached), the
stories page under 300 ms. Figures are quoted as ratios against baselines measured in the same run: a
bare GET /health on the same server, and a fixed numpy workload in this process.

    python -m eval.bench_pages --data ../shared/data/stories/fnc1_story_clusters.jsonl --work /tmp/bench-pages
    python -m eval.bench_pages --archive 100000   # the same pages over a 100k-article archive

`--archive N` pads a copy of the store with N older articles in N/4 stories (rows copied from the real
ones, as SQL, no embedding: listings read rows, not vectors), so the listing and story requests show
whether their cost grows with the archive; the conflicts inbox is left out there (it would analyse the
padding).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

from eval.machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "stories" / "fnc1_story_clusters.jsonl"
OUTLETS = 12
TARGETS = {"story page (warm)": 1.0, "stories page": 0.3}


def corpus(path: Path, n: int) -> list[dict]:
    """`n` bodies, largest clusters first, each given one of OUTLETS outlets and a time over three days."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    size = Counter(r["cluster"] for r in rows)
    rows.sort(key=lambda r: (-size[r["cluster"]], r["cluster"], r["id"]))
    out = []
    for k, r in enumerate(rows[:n]):
        minutes = k * (3 * 24 * 60 // max(1, n))
        day, hour, minute = 1 + minutes // 1440, minutes % 1440 // 60, minutes % 60
        out.append({"id": r["id"], "title": r.get("title") or r["text"].split(".")[0][:120], "text": r["text"],
                    "source": f"Outlet {k % OUTLETS + 1:02d}",
                    "published": f"2025-03-{day:02d}T{hour:02d}:{minute:02d}:00Z"})
    return out


def build_store(folder: Path, articles: list[dict]) -> int:
    """Ingest the articles and merge every story into the largest one; returns that story's id."""
    from newsprism.api.service import Service
    from newsprism.engine.config import load_settings
    from newsprism.engine.parse import read_paths
    from newsprism.index.newsroom import Newsroom

    source = folder.parent / f"{folder.name}-input.jsonl"
    source.write_text("\n".join(json.dumps(a) for a in articles))
    newsroom = Newsroom(load_settings({"store": str(folder)}))
    started = time.perf_counter()
    report = newsroom.ingest(read_paths([str(source)]))
    print(f"ingested {report.stored} articles ({report.sentences} sentences) in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    service = Service(newsroom)
    stories = service.stories().stories
    target = stories[0]["id"]
    for story in stories[1:]:
        service.merge(target, story["id"])
    newsroom.close()
    return target


def pad_store(folder: Path, padded: Path, n: int) -> None:
    """A copy of the store with `n` older articles in n/4 stories, each a copy of a real row and story."""
    import shutil
    import sqlite3

    shutil.copytree(folder, padded)
    conn = sqlite3.connect(padded / "newsprism.sqlite")
    stories = max(1, n // 4)
    with conn:
        first = conn.execute("SELECT coalesce(max(story_id), 0) + 1 FROM stories").fetchone()[0]
        conn.execute(
            "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < ? - 1) "
            "INSERT INTO stories(story_id, label, first_seen, last_seen, n_articles, state, centroid) "
            "SELECT ? + i, 'archived story ' || i, '1999-01-01', '1999-01-02', 4, s.state, s.centroid "
            "FROM k, (SELECT state, centroid FROM stories LIMIT 1) s", (stories, first))
        conn.execute(
            "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < ? - 1) "
            "INSERT INTO articles(ext_id, title, outlet, published, ingested, text, text_hash, story_id) "
            "SELECT 'archived-' || i, a.title, a.outlet, '1999-01-0' || (1 + i % 9) || 'T00:00:00Z', a.ingested, "
            "a.text, 'archived-' || i, ? + i % ? FROM k, (SELECT * FROM articles LIMIT 1) a", (n, first, stories))
    conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(http: httpx.Client, path: str, repeat: int) -> tuple[float, int]:
    """Median seconds of `repeat` GETs, and the size of the page."""
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = http.get(path)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
        size = len(response.content)
    return statistics.median(times), size


def numpy_baseline(repeat: int) -> float:
    """A fixed workload: a 384x384 float32 matrix product, 20 times (median of `repeat`)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((384, 384), dtype=np.float32)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(20):
            a @ a
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="FNC-1 story clusters (JSONL)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/newsprism-bench-pages"), help="store cache folder")
    parser.add_argument("--articles", type=int, default=300, help="articles in the one big story")
    parser.add_argument("--repeat", type=int, default=7, help="requests per warm figure (median)")
    parser.add_argument("--archive", type=int, default=0, help="older articles padded in (N/4 stories)")
    args = parser.parse_args()

    folder = args.work / f"store-{args.articles}"
    meta = args.work / f"store-{args.articles}.json"
    if not meta.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        story = build_store(folder, corpus(args.data, args.articles))
        meta.write_text(json.dumps({"story": story}))
    story = json.loads(meta.read_text())["story"]
    if args.archive:
        padded = args.work / f"store-{args.articles}-archive{args.archive}"
        if not padded.exists():
            pad_store(folder, padded, args.archive)
        folder = padded

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSPRISM_")}
    env["HF_HUB_OFFLINE"] = "1"
    log = (args.work / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "newsprism.api.cli", "serve", "--db", str(folder),
                               "--port", str(port)],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=1800) as http:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if http.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start: {(args.work / 'server.log').read_text()[-2000:]}")
                time.sleep(0.3)
            listed = http.get(f"/stories/{story}").json()["articles"]
            size, first = len(listed), listed[0]["id"]
            health, _ = timed(http, "/health", args.repeat * 3)
            cold, page_bytes = timed(http, f"/ui/stories/{story}", 1)
            rows = [("GET /health (baseline)", health, 0), ("story page (cold: analysis)", cold, page_bytes)]
            pages = [("story page (warm)", f"/ui/stories/{story}"), ("stories page", "/ui/stories"),
                     ("conflicts inbox (warm)", "/ui/conflicts"), ("article page", f"/ui/articles/{first}"),
                     ("search page (hybrid)", "/ui/search?q=gunman+killed+in+attack"),
                     ("GET /stories?limit=20", "/stories?limit=20"), ("GET /stories/{id}", f"/stories/{story}")]
            for name, path in pages:
                if args.archive and "inbox" in name:
                    continue
                seconds, nbytes = timed(http, path, args.repeat)
                rows.append((name, seconds, nbytes))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    work = numpy_baseline(args.repeat)

    print(f"\nCPU: {cpu_model()} ({os.cpu_count()} cores); story {story}: {size} articles; median of {args.repeat}; "
          f"archive padding: {args.archive} articles")
    print(f"numpy baseline (20 x 384x384 matmul): {work * 1000:.1f} ms\n")
    print("| request | ms | x /health | x numpy | KB | target | met |")
    print("|---|---:|---:|---:|---:|---|---|")
    for name, seconds, nbytes in rows:
        target = TARGETS.get(name)
        met = "" if target is None else ("yes" if seconds < target else "NO")
        print(f"| {name} | {seconds * 1000:.1f} | {seconds / health:.1f} | {seconds / work:.2f} | "
              f"{nbytes / 1024:.0f} | {'' if target is None else f'< {target * 1000:.0f} ms'} | {met} |")


if __name__ == "__main__":
    main()
