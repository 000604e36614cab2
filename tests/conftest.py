"""Shared fixtures: the seed article, the demo corpus, and CLI runs against real stores."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from newsprism.api.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"  # read-only data beside a working checkout; a user's clone has none
SEED = SHARED / "seeds" / "000_0480864b8300040a.txt"
FIXTURES = ROOT / "tests" / "fixtures"
DEMO = ROOT / "engine" / "demo"
STARTUP_SECONDS = 600  # a loaded 2-core machine can take minutes to import torch and load the model

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# hypothesis keeps its example cache out of the checkout
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "newsprism-hypothesis"))


def run_cli(*args: str, input: str | bytes | None = None, ok: bool = True):
    """Run the CLI in-process (the model loads once per test session)."""
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    return result


def cli_json(*args: str, input: str | bytes | None = None):
    result = run_cli(*args, "--json", input=input)
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def seed_like_path() -> Path:
    """The tests' own seed-shaped article (date line, site boilerplate), in every checkout."""
    return FIXTURES / "seed_like.txt"


@pytest.fixture(scope="session")
def seed_path() -> Path:
    """The real scraped seed: only where ../shared sits beside the checkout."""
    if not SEED.exists():
        pytest.skip(f"the real seed is not here ({SEED}); the tests' own fixture covers the same checks")
    return SEED


@pytest.fixture(scope="session")
def demo_truth() -> dict:
    return json.loads((DEMO / "truth.json").read_text())


@pytest.fixture(scope="session")
def demo_articles() -> list[dict]:
    return [json.loads(line) for line in (DEMO / "corpus.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> Path:
    """The demo corpus ingested once into a real store, for read-only tests."""
    db = tmp_path_factory.mktemp("demo") / "store"
    run_cli("ingest", str(DEMO / "corpus.jsonl"), "--db", str(db))
    return db


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(server: subprocess.Popen, base: str, log: Path) -> None:
    """Until a served `/health` answers; the server's log in the failure if it exits or never comes up."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if server.poll() is not None:
            pytest.fail(f"server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"server not up after {STARTUP_SECONDS} s")
        time.sleep(0.3)


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM, and a kill if it has not stopped within 20 s."""
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
