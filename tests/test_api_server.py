"""The API as deployed: `newsprism serve` in a subprocess on 127.0.0.1 with a key, then schemathesis on it.

The server has a store of its own (a few demo articles), so fuzzed writes and deletes never touch
the stores other tests read.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

KEY = "server-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
STARTUP_SECONDS = 180
FUZZ_EXAMPLES = int(os.environ.get("NEWSPRISM_FUZZ_EXAMPLES", "12"))  # raise for a deeper run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Served:
    """The running server: where it listens and where it logs."""

    base: str
    log: Path

    def assert_no_tracebacks(self) -> None:
        """Nothing a client sent made the server log an unexpected error."""
        text = self.log.read_text()
        assert "Traceback" not in text, text[-3000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Served]:
    """A real `newsprism serve` on a free loopback port; stopped (SIGTERM) after the module."""
    folder = tmp_path_factory.mktemp("server")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSPRISM_")}
    env.update(NEWSPRISM_API_KEY=KEY, NEWSPRISM_MAX_BATCH="20", HF_HUB_OFFLINE="1")
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--db", str(folder / "store"),
                             "--host", "127.0.0.1", "--port", str(port)], cwd=folder, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{(folder / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not up after {STARTUP_SECONDS} s")
            time.sleep(0.3)
        yield Served(base, folder / "server.log")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_served_api(server: Served, demo_articles: list[dict]) -> None:
    with httpx.Client(base_url=server.base, timeout=120) as http:
        health = http.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        batch = {"articles": demo_articles[:6]}
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
        assert too_many.status_code == 413 and "20" in too_many.json()["error"]
    server.assert_no_tracebacks()


@pytest.fixture(scope="module")
def api_schema(server: Served):
    config = schemathesis.Config.from_dict({"generation": {"max-examples": FUZZ_EXAMPLES, "deterministic": True}})
    return schemathesis.openapi.from_url(f"{server.base}/openapi.json", config=config)


def test_fuzz_no_server_errors_and_schema_conformance(api_schema, server: Served) -> None:
    """Generated requests, valid and invalid, on every operation: never a 5xx, every answer as documented.

    Runs each operation's hypothesis strategy directly (the lazy pytest fixture loader of schemathesis
    does not work with this pytest), so one test covers the whole schema.
    """
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:
        strategy = st.one_of(operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                             operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

        @given(case=strategy)
        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case) -> None:
            case.call_and_validate(headers=AUTH, timeout=120, checks=checks)

        call()
    server.assert_no_tracebacks()

