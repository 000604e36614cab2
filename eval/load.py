"""Bounded load run against a real server: searches with ingest batches mixed in, then a latency table.

Starts `newsprism serve` on 127.0.0.1 over its own store (a temp folder seeded with the demo corpus,
or --db), runs N client threads for a fixed time, stops everything by itself and prints requests/s,
p50/p99 latency per endpoint and every error. Only loopback traffic.

    python -m eval.load --seconds 30 --clients 8
    python -m eval.load --seconds 10 --clients 4 --ingest-share 0 --json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from eval.machine import cpu_model

DEMO = Path(__file__).resolve().parents[1] / "engine" / "demo" / "corpus.jsonl"
QUERIES = [
    "ferry capsized near Kellhaven", "how many passengers survived", "cause of the ferry accident",
    "central bank raises interest rates", "inflation outlook", "mortgage costs for households",
    "wildfire evacuation order", "firefighters water-bombing aircraft", "homes destroyed by the blaze",
    "data breach customer records", "hackers stole passwords", "minister resigns", "cup final result",
    "penalty shootout", "product recall safety defect", "refund for customers", '"Coast Guard" rescue',
    "storm winds and high waves", "government statement on the investigation", "emergency hotline for relatives",
]
STARTUP_SECONDS = 240


@dataclass
class Tally:
    """Latencies and failures of one endpoint."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_endpoint: dict[str, Tally] = defaultdict(Tally)

    def record(self, endpoint: str, seconds: float, error: str | None) -> None:
        with self.lock:
            tally = self.by_endpoint[endpoint]
            tally.latencies.append(seconds)
            if error:
                tally.errors[error] += 1


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]




def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(store: str, port: int, key: str, log_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSPRISM_")}
    env.update(NEWSPRISM_API_KEY=key, HF_HUB_OFFLINE="1")
    log = log_path.open("w")
    return subprocess.Popen([sys.executable, "-m", "newsprism.api.cli", "serve", "--db", store, "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(base: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"server not ready after {STARTUP_SECONDS} s")


def fresh_variants(corpus: list[dict], rng: random.Random, count: int, tag: str) -> list[dict]:
    """New articles (unseen ids and text) from demo ones, so every ingest batch really writes."""
    out = []
    for i in range(count):
        base = rng.choice(corpus)
        extra = " ".join(rng.choice(["officials", "residents", "investigators", "analysts", "witnesses"])
                         + f" said on day {rng.randint(1, 28)} that {rng.randint(2, 999)} people were affected."
                         for _ in range(2))
        out.append({**base, "id": f"{base['id']}-load-{tag}-{i}", "url": None, "text": f"{base['text']}\n\n{extra}"})
    return out


def next_request(rng: random.Random, corpus: list[dict], key: str, share: float, batch: int,
                 tag: str) -> tuple[str, str, str, dict]:
    """(label, method, path, request arguments) of a client's next request: mostly searches, some ingests."""
    if rng.random() < share:
        body = {"articles": fresh_variants(corpus, rng, batch, tag)}
        return "POST /articles", "POST", "/articles", {"json": body, "headers": {"Authorization": f"Bearer {key}"}}
    params: dict = {"q": rng.choice(QUERIES), "k": 10}
    if rng.random() < 0.25:
        params["level"] = "sentences"
    if rng.random() < 0.2:
        params["since"] = "2025-03-05"
    return "GET /search" + (" (sentences)" if "level" in params else ""), "GET", "/search", {"params": params}


def client_loop(base: str, key: str, corpus: list[dict], stop_at: float, share: float, batch: int, seed: int,
                recorder: Recorder) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=120) as http:
        for n in itertools.count():
            if time.monotonic() >= stop_at:
                return
            label, method, path, kwargs = next_request(rng, corpus, key, share, batch, f"{seed}-{n}")
            started = time.perf_counter()
            try:
                response = http.request(method, path, **kwargs)
                error = None if response.status_code < 400 else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            recorder.record(label, time.perf_counter() - started, error)


def run(seconds: float, clients: int, db: str | None, share: float, batch: int) -> dict:
    corpus = [json.loads(line) for line in DEMO.read_text().splitlines() if line.strip()]
    key = secrets.token_urlsafe(16)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="newsprism-load-") as tmp:
        store = db or str(Path(tmp) / "store")
        log_path = Path(tmp) / "server.log"
        proc = start_server(store, port, key, log_path)
        try:
            wait_ready(base, proc, log_path)
            seeded = httpx.post(f"{base}/articles", json={"articles": corpus}, timeout=600,
                                headers={"Authorization": f"Bearer {key}"})
            seeded.raise_for_status()
            for query in QUERIES[:4]:  # warm caches before the clock starts
                httpx.get(f"{base}/search", params={"q": query}, timeout=120).raise_for_status()
            recorder = Recorder()
            started = time.monotonic()
            stop_at = started + seconds
            threads = [threading.Thread(target=client_loop, args=(base, key, corpus, stop_at, share, batch, n,
                                                                  recorder)) for n in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - started
            stats = httpx.get(f"{base}/stats", timeout=60).json()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            server_log = log_path.read_text()
    rows = []
    for endpoint, tally in sorted(recorder.by_endpoint.items()):
        lat = tally.latencies
        rows.append({"endpoint": endpoint, "requests": len(lat), "per_second": round(len(lat) / elapsed, 2),
                     "p50_ms": round(percentile(lat, 50) * 1000, 1), "p99_ms": round(percentile(lat, 99) * 1000, 1),
                     "max_ms": round(max(lat) * 1000, 1), "errors": dict(tally.errors)})
    total = sum(r["requests"] for r in rows)
    return {"seconds": round(elapsed, 1), "clients": clients, "ingest_share": share, "ingest_batch": batch,
            "requests": total, "per_second": round(total / elapsed, 2),
            "errors": sum(sum(r["errors"].values()) for r in rows), "endpoints": rows,
            "articles_after": stats.get("articles"), "server_tracebacks": server_log.count("Traceback"),
            "cpu": cpu_model(), "cores": os.cpu_count()}


def print_table(result: dict) -> None:
    print(f"{result['clients']} clients, {result['seconds']} s on {result['cpu']} ({result['cores']} cores); "
          f"ingest share {result['ingest_share']}, {result['ingest_batch']} articles a batch")
    print(f"{'endpoint':<26}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  errors")
    for r in result["endpoints"]:
        errors = ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "none"
        print(f"{r['endpoint']:<26}{r['requests']:>9}{r['per_second']:>9}{r['p50_ms']:>9}{r['p99_ms']:>9}"
              f"{r['max_ms']:>9}  {errors}")
    print(f"{'all':<26}{result['requests']:>9}{result['per_second']:>9}")
    print(f"errors: {result['errors']}; server tracebacks: {result['server_tracebacks']}; "
          f"articles in store after: {result['articles_after']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the clients run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--db", help="store folder for the server (default: a temp store, removed after)")
    parser.add_argument("--ingest-share", type=float, default=0.05, help="share of requests that are ingest batches")
    parser.add_argument("--batch", type=int, default=5, help="articles per ingest batch")
    parser.add_argument("--json", action="store_true", help="the result as JSON")
    args = parser.parse_args()
    result = run(args.seconds, args.clients, args.db, args.ingest_share, args.batch)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    if result["errors"] or result["server_tracebacks"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
