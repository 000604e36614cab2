"""The API as deployed: `newsprism serve` in a subprocess on 127.0.0.1 with a key, then schemathesis on it.

The server has a store of its own (two demo stories), so fuzzed writes and deletes never touch the
stores other tests read. Schemathesis runs as its command line does for any user, over every
operation in all its phases (examples, coverage, fuzzing, stateful) with every check, bounded by
a small example count and a fixed seed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, stop_server, wait_until_up

KEY = "server-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
FUZZ_EXAMPLES = int(os.environ.get("NEWSPRISM_FUZZ_EXAMPLES", "4"))  # raise for a deeper run
FUZZ_SEED = os.environ.get("NEWSPRISM_FUZZ_SEED", "20261201")
FUZZ_SECONDS = 600
PHASES = ("Examples", "Coverage", "Fuzzing", "Stateful")


@dataclass(frozen=True)
class Served:
    """The running server: where it listens and where it logs."""

    base: str
    log: Path
    folder: Path

    def assert_no_tracebacks(self) -> None:
        """Nothing a client sent made the server log an unexpected error."""
        text = self.log.read_text()
        assert "Traceback" not in text, text[-3000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_articles: list[dict]) -> Iterator[Served]:
    """A real `newsprism serve` on a free loopback port over two demo stories; stopped (SIGTERM) after the module."""
    folder = tmp_path_factory.mktemp("server")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSPRISM_")}
    env.update(NEWSPRISM_API_KEY=KEY, NEWSPRISM_MAX_BATCH="20", HF_HUB_OFFLINE="1")
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "newsprism.api.cli", "serve", "--db", str(folder / "store"),
                             "--host", "127.0.0.1", "--port", str(port)], cwd=Path(__file__).parents[1], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, base, folder / "server.log")
        seed = [a for a in demo_articles if a["id"].split("-")[0] in {"ferry", "rates"}]
        seeded = httpx.post(f"{base}/articles", json={"articles": seed}, headers=AUTH, timeout=300)
        assert seeded.status_code == 200, seeded.text
        yield Served(base, folder / "server.log", folder)
    finally:
        stop_server(proc)
        log.close()


def test_served_api(server: Served, demo_articles: list[dict]) -> None:
    with httpx.Client(base_url=server.base, timeout=120) as http:
        health = http.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        batch = {"articles": demo_articles[-6:]}
        unauthorized = http.post("/articles", json=batch)
        assert unauthorized.status_code == 401 and "key" in unauthorized.json()["error"]
        assert http.post("/articles", json=batch, headers={"Authorization": "Bearer nope"}).status_code == 401
        written = http.post("/articles", json=batch, headers=AUTH)
        assert written.status_code == 200, written.text
        assert written.json()["ids"] and written.json()["rejected"] == 0
        missing = http.get("/articles/not-there")
        assert missing.status_code == 404 and "not-there" in missing.json()["error"]
        found = http.get("/search", params={"q": "ferry capsized near Kellhaven", "k": 3}).json()
        assert found["results"] and found["results"][0]["id"].startswith("ferry")
        too_many = http.post("/articles", json=[{"text": "a b c"}] * 21, headers=AUTH)
        assert too_many.status_code == 422 and "20" in too_many.json()["error"]
        assert http.get("/openapi.json").json()["components"]["schemas"]["ArticleBatch"]["oneOf"][1]["maxItems"] == 20
        options = http.options("/articles/ferry-01")
        assert options.status_code == 204 and options.headers["allow"] == "DELETE, GET, OPTIONS"
    server.assert_no_tracebacks()


def test_schemathesis_every_phase_every_check(server: Served) -> None:
    """`st run --checks all` as a user runs it, all four phases over every operation: not one failure.

    Positive cases must be accepted, negative ones refused, every answer as documented (status,
    content type, body, Allow), links followed to the curation routes, auth not ignored.
    """
    work = server.folder / "schemathesis"
    work.mkdir()
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.base}/openapi.json", "--checks", "all",
               "--phases", ",".join(p.lower() for p in PHASES), "--max-examples", str(FUZZ_EXAMPLES),
               "--seed", FUZZ_SEED, "--generation-database", "none", "--no-color", "--request-timeout", "120",
               "-H", f"Authorization: Bearer {KEY}", "--report", "junit", "--report-dir", str(work)]
    run = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=FUZZ_SECONDS,
                         env={**os.environ, "COLUMNS": "120"})
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-12000:]
    for phase in PHASES:
        assert f"✅  {phase}" in output, output[-6000:]
    assert "18 selected / 18 total" in output
    server.assert_no_tracebacks()
