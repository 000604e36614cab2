"""Safe storage and a safe command line: two writers, damaged caches, bad records, prune, secrets.

Everything runs on real components: real SQLite files, real FAISS files, the CLI as a real
subprocess where processes matter (two writers, a terminal, a served API).
"""

from __future__ import annotations

import json
import logging
import os
import pty
import select
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest
from newsprism.engine.config import load_settings
from newsprism.engine.parse import read_paths
from newsprism.engine.records import Rejection
from newsprism.index import ann
from newsprism.index.newsroom import Newsroom
from newsprism.index.store import Store

from tests.conftest import DEMO, ROOT, cli_json, free_port, run_cli, wait_until_up

SECRET = "np-9f3c1e7a-do-not-print"


def rows(db: Path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(db / "newsprism.sqlite") as conn:
        return conn.execute(sql, args).fetchall()


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSPRISM_")}
    return {**env, "HF_HUB_OFFLINE": "1", **extra}


def cli_proc(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "newsprism.api.cli", *args], cwd=ROOT, env=env or cli_env(),
                            **kwargs)


def write_jsonl(path: Path, articles: list[dict]) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in articles))
    return path


def truth_of(demo_truth: dict) -> dict[str, str]:
    return {aid: story["key"] for story in demo_truth["stories"] for aid in story["articles"]}


def assert_stories_consistent(db: Path, truth: dict[str, str], check_state: bool = True) -> None:
    """Every article in exactly one existing story; each story's counts match its articles; no story
    holds articles of two different true stories (what colliding ids between writers would cause)."""
    articles = rows(db, "SELECT ext_id, story_id FROM articles")
    assert articles and all(sid is not None for _, sid in articles), "an article without a story"
    stories = {sid: (n, json.loads(state)) for sid, n, state in
               rows(db, "SELECT story_id, n_articles, state FROM stories WHERE n_articles > 0")}
    members = Counter(sid for _, sid in articles)
    assert set(members) == set(stories), (set(members) ^ set(stories))
    for sid, count in members.items():
        n, state = stories[sid]
        assert n == count, f"story {sid}: n_articles {n}, articles {count}"
        if check_state:
            assert state["count"] == count and sum(state["outlets"].values()) == count, (sid, state["count"], count)
        keys = {truth[e] for e, s in articles if s == sid and e in truth}
        assert len(keys) == 1, f"story {sid} mixes {sorted(keys)}"


def found_ids(results: list[dict]) -> set[str]:
    """Ids a search result list shows: each hit and the copies listed under it (a copy ranks as its original)."""
    return {r["id"] for r in results} | {c["id"] for r in results for c in r.get("also_in", [])}


def assert_faiss_files_match_sqlite(db: Path) -> None:
    """The FAISS files on disk (not a cache caught up in memory) hold exactly SQLite's ids."""
    manifest = json.loads((db / "faiss.json").read_text())
    generation = int(rows(db, "SELECT value FROM meta WHERE key = 'generation'")[0][0])
    # a settling pass regroups stories after the last save: a newer generation, not one new vector
    assert manifest["generation"] <= generation
    for name, sql in (("sentences", "SELECT vid FROM vectors"), ("articles", "SELECT aid FROM articles "
                                                                               "WHERE vec IS NOT NULL")):
        held = np.sort(ann.load(db / f"{name}.faiss").ids())
        truth = np.sort(np.array([r[0] for r in rows(db, sql)], dtype=np.int64))
        assert np.array_equal(held, truth), f"{name}.faiss: {len(held)} ids, SQLite {len(truth)}"


# -- 3. prune ---------------------------------------------------------------------------------------------

def test_prune_without_yes_refuses_off_a_terminal_and_asks_on_one(tmp_path, demo_articles):
    db = tmp_path / "store"
    run_cli("ingest", str(DEMO / "corpus.jsonl"), "--db", str(db))
    total = len(demo_articles)
    old = rows(db, "SELECT count(*) FROM articles WHERE published < '2025-03-05'")[0][0]
    assert 0 < old < total
    prune = ("prune", "--before", "2025-03-05", "--db", str(db))
    # a script or cron line: stdin is a pipe (even one that says yes) -> refused, nothing removed
    piped = subprocess.run([sys.executable, "-m", "newsprism.api.cli", *prune], cwd=ROOT, env=cli_env(), input="y\n",
                           capture_output=True, text=True, timeout=120)
    assert piped.returncode != 0 and "--yes" in piped.stderr and "not a terminal" in piped.stderr, piped.stderr
    assert f"{old} articles" in piped.stderr
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == total
    # a person at a terminal: asked; "n" keeps everything, "y" removes the old articles
    for answer, expected in ((b"n\n", total), (b"y\n", total - old)):
        output, code = answer_on_a_terminal(prune, answer)
        assert f"remove {old} articles published before" in output, output
        assert rows(db, "SELECT count(*) FROM articles")[0][0] == expected, output
        assert (code == 0) == (answer == b"y\n"), (code, output)


def answer_on_a_terminal(args: tuple[str, ...], answer: bytes) -> tuple[str, int]:
    """Run the CLI with a pseudo-terminal as stdin/stdout; type `answer` once it asks."""
    leader, follower = pty.openpty()
    proc = cli_proc(*args, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    output, answered, deadline = b"", False, time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
                if not answered and b"[y/N]" in output:
                    os.write(leader, answer)
                    answered = True
            elif proc.poll() is not None:
                break
        return output.decode(errors="replace"), proc.wait(timeout=60)
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()


# -- 4. secrets -------------------------------------------------------------------------------------------

def test_the_api_key_is_masked_in_config_repr_and_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSPRISM_API_KEY", SECRET)
    settings = load_settings({"store": str(tmp_path / "s")})
    assert settings.api_key == SECRET  # still there for the code that checks it
    for shown in (repr(settings), str(settings), f"{settings}", json.dumps(settings.describe())):
        assert SECRET not in shown and "(set)" in shown
    text = run_cli("config", "--db", str(tmp_path / "s")).output
    as_json = run_cli("config", "--db", str(tmp_path / "s"), "--json").output
    for out in (text, as_json):
        assert SECRET not in out
    row = next(r for r in json.loads(as_json)["settings"] if r["name"] == "api_key")
    assert row == {**row, "value": "(set)", "source": "env NEWSPRISM_API_KEY"}
    # from a settings file, next to a setting that fails: the error names the setting, not the secret
    monkeypatch.delenv("NEWSPRISM_API_KEY")
    (tmp_path / "newsprism.toml").write_text(f'api_key = "{SECRET}"\nbatch_size = "many"\n')
    bad = run_cli("config", ok=False)
    assert bad.exit_code != 0 and "batch_size" in bad.output and SECRET not in bad.output
    (tmp_path / "newsprism.toml").write_text(f'api_key = "{SECRET}"\n')
    assert SECRET not in run_cli("config", "--json").output


# -- 7. two writers ---------------------------------------------------------------------------------------

def test_a_writer_rereads_story_state_another_writer_changed(tmp_path, demo_articles, demo_truth):
    """Writer A places a batch, writer B (another connection) adds stories, then A's next batch:
    A must re-read story state and next_id inside its transaction instead of reusing B's ids."""
    settings = load_settings({"store": str(tmp_path / "store"), "story_settle": False, "ingest_batch": 4})
    first, second = Newsroom(settings), Newsroom(settings)
    by_story = {k: [a for a in demo_articles if a["id"].startswith(k)] for k in ("ferry", "rates", "wildfire",
                                                                                   "breach")}

    def writer_a():
        from newsprism.engine.records import RawItem

        for a in by_story["ferry"][:4]:  # A's first batch: one story
            yield RawItem(a, a["id"])
        # before A reads its next item, B ingests two other stories in full
        second.ingest(RawItem(a, a["id"]) for a in by_story["wildfire"] + by_story["breach"])
        for a in by_story["rates"]:  # A's next batches: a new story id, which B's stories already took
            yield RawItem(a, a["id"])

    first.ingest(writer_a())
    first.close()
    second.close()
    assert_stories_consistent(tmp_path / "store", truth_of(demo_truth))
    ids = [r[0] for r in rows(tmp_path / "store", "SELECT story_id FROM stories")]
    assert len(ids) == len(set(ids)) >= 4


def _open_store_at(folder: str, start: float) -> str:
    while time.time() < start:  # all openers reach SQLite in the same few milliseconds
        pass
    try:
        Store(folder).close()
        return "ok"
    except Exception as err:  # noqa: BLE001 - the test reports whatever an opener met
        return f"{type(err).__name__}: {err}"


def test_processes_opening_a_new_store_at_the_same_moment_all_get_it(tmp_path):
    """Two `ingest` runs on a store that does not exist yet both switch the new file to WAL; SQLite
    refuses one of them at once ("database is locked", its busy timeout unused) unless the store
    waits. Before the fix about half of these rounds lost an opener; CI met it once."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(6) as pool:
        for round_ in range(10):
            folder = str(tmp_path / f"s{round_}")
            start = time.time() + 0.3
            outcomes = pool.starmap(_open_store_at, [(folder, start)] * 6)
            assert outcomes == ["ok"] * 6, (round_, outcomes)
            assert rows(Path(folder), "PRAGMA journal_mode")[0][0] == "wal"


@pytest.mark.parametrize("settle", ["0", "1"])
def test_two_concurrent_ingest_processes_share_one_store_safely(tmp_path, demo_articles, demo_truth, settle):
    """Two `newsprism ingest` processes at once, different files, one store (the issue's target)."""
    db = tmp_path / "store"
    halves = [[a for i, a in enumerate(demo_articles) if i % 2 == side] for side in (0, 1)]
    files = [write_jsonl(tmp_path / f"half{side}.jsonl", half) for side, half in enumerate(halves)]
    env = cli_env(NEWSPRISM_INGEST_BATCH="2", NEWSPRISM_STORY_SETTLE=settle)
    procs = [cli_proc("ingest", str(f), "--db", str(db), "--json", env=env, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True) for f in files]
    outs = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err[-3000:]
    reports = [json.loads(out) for out, _ in outs]
    assert sum(r["new"] + r["near_copy"] for r in reports) == len(demo_articles), reports
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == len(demo_articles)
    assert_stories_consistent(db, truth_of(demo_truth), check_state=settle == "0")
    assert_faiss_files_match_sqlite(db)
    for half in halves:  # search finds both runs' articles
        target = next(a for a in half if a["id"].endswith("-02"))
        found = cli_json("search", target["title"], "--db", str(db), "-k", "5", "--mode", "semantic")
        assert target["id"] in found_ids(found["results"]), (target["id"], found["results"][:2])


def test_cli_ingest_while_the_server_writes_and_no_secret_leaks(tmp_path, demo_articles, demo_truth):
    """`serve` takes POSTs while a CLI `ingest` writes the same store; the served API key never shows."""
    db = tmp_path / "store"
    port = free_port()
    log_path = tmp_path / "server.log"
    env = cli_env(NEWSPRISM_API_KEY=SECRET, NEWSPRISM_INGEST_BATCH="2", NEWSPRISM_STORY_SETTLE="0")
    with log_path.open("w") as log:
        server = cli_proc("serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port), env=env,
                          stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(server, base, log_path)
            by_cli = [a for i, a in enumerate(demo_articles) if i % 2]
            by_http = [a for i, a in enumerate(demo_articles) if not i % 2]
            ingest = cli_proc("ingest", str(write_jsonl(tmp_path / "cli.jsonl", by_cli)), "--db", str(db), "--json",
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            bodies = []
            with httpx.Client(base_url=base, timeout=300) as http:
                for start in range(0, len(by_http), 3):
                    answer = http.post("/articles", json={"articles": by_http[start:start + 3]},
                                       headers={"Authorization": f"Bearer {SECRET}"})
                    assert answer.status_code == 200, answer.text
                    bodies.append(answer.text + str(answer.headers))
                out, err = ingest.communicate(timeout=600)
                assert ingest.returncode == 0, err[-3000:]
                for method, path, kwargs in (("GET", "/health", {}), ("GET", "/stats", {}),
                                             ("POST", "/articles", {"json": {"articles": []}}),
                                             ("POST", "/articles", {"json": {"articles": by_http[:1]},
                                                                    "headers": {"Authorization": "Bearer wrong"}}),
                                             ("GET", "/openapi.json", {})):
                    answer = http.request(method, path, **kwargs)
                    bodies.append(answer.text + str(answer.headers))
                search = http.get("/search", params={"q": by_cli[0]["title"], "k": 5, "mode": "semantic"}).json()
                assert by_cli[0]["id"] in found_ids(search["results"]), search["results"][:2]
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == len(demo_articles)
    assert_stories_consistent(db, truth_of(demo_truth))
    assert_faiss_files_match_sqlite(db)
    for text in (*bodies, out, err, log_path.read_text(), run_cli("stats", "--db", str(db), "--json").output):
        assert SECRET not in text


# -- 8. damaged caches and failed commits ------------------------------------------------------------------

def test_a_failed_commit_is_rolled_back_and_the_store_keeps_working(tmp_path):
    store = Store(tmp_path / "store")
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as conn:
        store.set_meta("marker", "lost", conn=conn)
        conn.execute("PRAGMA defer_foreign_keys = ON")  # the violation surfaces only at COMMIT
        conn.execute('INSERT INTO sentences(aid, position, paragraph, start, "end", text, vid) '
                     "VALUES (999, 0, 0, 0, 1, 'orphan', 999)")
    assert not store.conn.in_transaction
    assert store.meta("marker") is None
    with store.transaction() as conn:  # the next write works on the same connection
        store.set_meta("marker", "kept", conn=conn)
    assert Store(tmp_path / "store").meta("marker") == "kept"


def flip_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 16] = b"\x7f" * 16  # huge floats: that vector would top every search
    path.write_bytes(bytes(data))


def huge_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[8:16] = b"\xff" * 8
    path.write_bytes(bytes(data))


def garbled_header(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"dim"', b'"dix"', 1))


DAMAGE = {
    "header claims a huge size": ("sentences.faiss", huge_header),
    "header fields garbled": ("articles.faiss", garbled_header),
    "bytes damaged mid-file": ("sentences.faiss", flip_middle),
    "truncated": ("sentences.faiss", lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])),
    "not an index": ("sentences.faiss", lambda p: p.write_bytes(b"<html>proxy error</html>")),
    "manifest not JSON": ("faiss.json", lambda p: p.write_text("{not json")),
    "manifest a list": ("faiss.json", lambda p: p.write_text("[1, 2]")),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_faiss_file_or_manifest_is_rebuilt_from_sqlite(tmp_path, demo_store, case, caplog):
    db = tmp_path / "store"
    shutil.copytree(demo_store, db)
    expected = cli_json("search", "wildfire evacuation", "--db", str(db))["results"]
    name, damage = DAMAGE[case]
    damage(db / name)
    with caplog.at_level(logging.WARNING, logger="newsprism.index"):
        got = cli_json("search", "wildfire evacuation", "--db", str(db))["results"]
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    assert [round(r["score"], 4) for r in got] == [round(r["score"], 4) for r in expected]
    assert any(name in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    stats = cli_json("stats", "--db", str(db))
    assert stats["index"]["sentences"]["vectors"] == stats["distinct_sentence_vectors"]
    assert stats["index"]["articles"]["vectors"] == stats["articles"]
    cli_json("reindex", "--db", str(db))
    assert_faiss_files_match_sqlite(db)


def test_an_index_file_behind_its_manifest_is_caught_up_by_id(tmp_path, demo_store):
    """The issue's interleaving: faiss.json names a generation its index file does not hold."""
    db = tmp_path / "store"
    shutil.copytree(demo_store, db)
    stale = {n: (db / n).read_bytes() for n in ("sentences.faiss", "articles.faiss")}
    late = {"id": "late-01", "source": "Harbour Radio", "published": "2025-03-11T10:00:00Z",
            "title": "Lighthouse keeper rescues seal pups after storm",
            "text": "A lighthouse keeper on Skarvo island rescued eleven seal pups stranded by Tuesday's storm. "
                    "The pups were taken to the marine centre in Kellhaven, where vets said all would recover."}
    run_cli("ingest", "-", "--db", str(db), input=json.dumps(late))
    for n, data in stale.items():  # index files of the earlier save, manifest of the later one
        (db / n).write_bytes(data)
    assert json.loads((db / "faiss.json").read_text())["generation"] == cli_json("stats", "--db", str(demo_store))[
        "generation"] + 1
    found = cli_json("search", "seal pups rescued by a lighthouse keeper", "--db", str(db), "--mode", "semantic")
    assert found["results"][0]["id"] == "late-01"


# -- 9, 10. bad records cost only themselves; feeds never open what they name -----------------------------

GOOD = ("The harbour authority in {place} reopened berth {n} on Tuesday after repairs to the quay wall, "
        "and the first grain ship docked there within hours, officials said.")
DEEP = "[" * 100_000 + "]" * 100_000


def good(n: int, place: str = "Kellhaven") -> dict:
    return {"id": f"good-{place.lower()}-{n}", "text": GOOD.format(place=place, n=n), "source": f"Port News {n}"}


def test_one_bad_record_costs_only_itself_in_every_format(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jsonl").write_text("\n".join([json.dumps(good(1)), DEEP, '{"id": "deep-obj", "text": ' + DEEP + "}",
                                            '{"id": "sur", "text": "The \\ud800 ferry sank on Monday.", '
                                            '"source": "X"}', json.dumps(good(2))]) + "\n")
    (src / "b.json").write_text("[" + json.dumps(good(3)) + ", " + DEEP + ", " + json.dumps(good(4)) + "]")
    (src / "c.json").write_text('{"articles": [' + json.dumps(good(5)) + ', {"text": ' + DEEP + "}]}")
    (src / "d.csv").write_bytes(
        b"id,text,source\n" + f"good-kellhaven-6,\"{GOOD.format(place='Kellhaven', n=6)}\",Dock Daily\n".encode()
        + b"bad-byte,\"caf\xe9 au lait on the quay\",Dock Daily\n" + b"extra,a,b,c,d\n"
        + f"good-kellhaven-7,\"{GOOD.format(place='Kellhaven', n=7)}\",Dock Weekly\n".encode())
    (src / "e.txt").write_text("date 2025-03-04\n\n" + GOOD.format(place="Brennick", n=8))
    (src / "f.txt").write_bytes(b"date 2025-03-04\n\nThe caf\xe9 closed.")  # not UTF-8: this file only
    (src / "g.md").write_text("# Berth reopens\n\n" + GOOD.format(place="Torvik", n=9))
    (src / "h.html").write_text("<html><head><title>Berth reopens</title></head><body><article><p>"
                                + GOOD.format(place="Valemont", n=10) + "</p><p>"
                                + GOOD.format(place="Valemont", n=11) + "</p></article></body></html>")
    (src / "i.html").write_text("<html><head><title>x</title></head><body><script>var a = 1;</script></body></html>")
    (src / "j.rss").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Port Feed</title>'
        f"<item><title>Berth reopens</title><guid>feed-1</guid><description>{GOOD.format(place='Sorvik', n=12)}"
        "</description></item><item><title>Empty</title><guid>feed-2</guid></item>"
        f"<item><title>Another</title><guid>feed-3</guid><description>{GOOD.format(place='Ravnsund', n=13)}"
        "</description></item></channel></rss>")
    db = tmp_path / "store"
    report = cli_json("ingest", str(src), "--db", str(db))
    stored = {r[0] for r in rows(db, "SELECT ext_id FROM articles")}
    assert {"good-kellhaven-1", "good-kellhaven-2", "good-kellhaven-3", "good-kellhaven-4", "good-kellhaven-5",
            "good-kellhaven-6", "good-kellhaven-7", "feed-1", "feed-3", "sur"} <= stored, stored
    assert len(stored) == report["new"] + report["near_copy"] == 13, (stored, report)
    # a lone surrogate is no text: it is stripped with the other unsafe code points, the rest is kept
    assert rows(db, "SELECT text FROM articles WHERE ext_id = 'sur'")[0][0] == "The ferry sank on Monday."
    reasons = {r["origin"]: r["reason"] for r in report["rejections"]}
    assert reasons[f"{src / 'a.jsonl'}:2"] == reasons[f"{src / 'a.jsonl'}:3"] == "malformed JSON: nested too deeply"
    assert reasons[f"{src / 'b.json'}[1]"] == "malformed JSON: nested too deeply"
    assert reasons[f"{src / 'c.json'}[1]"] == "malformed JSON: nested too deeply"
    assert reasons[f"{src / 'd.csv'}:3"] == "not UTF-8 (bad byte 0xe9)"
    assert "more cells" in reasons[f"{src / 'd.csv'}:4"]
    assert "UTF-8" in reasons[str(src / "f.txt")] and "no article text" in reasons[str(src / "i.html")]
    assert f"{src / 'j.rss'}#entry2" in reasons
    piped = cli_json("ingest", "-", "--db", str(db),
                     input="\n".join([json.dumps(good(14, "Dorran")), DEEP, json.dumps(good(15, "Dorran"))]) + "\n")
    assert sorted(piped["ids"]) == ["good-dorran-14", "good-dorran-15"]
    assert [r["reason"] for r in piped["rejections"]] == ["malformed JSON: nested too deeply"]


def test_feed_content_that_names_a_file_or_url_is_never_opened(tmp_path):
    private = tmp_path / "private.rss"
    private.write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>Private</title><item>'
                       "<title>Board minutes</title><guid>private-1</guid><description>The board agreed in private "
                       "to sell the northern depot before the end of the year.</description></item></channel></rss>")
    decoys = {"path.xml": str(private).encode(), "url.rss": f"file://{private}".encode(),
              "path.atom": f"  {private}\n".encode()}
    for name, content in decoys.items():
        (tmp_path / name).write_bytes(content)
        items = list(read_paths([str(tmp_path / name)]))
        assert items and all(isinstance(i, Rejection) for i in items), (name, items)
        assert "Board minutes" not in repr(items)
    result = run_cli("ingest", *(str(tmp_path / n) for n in decoys), "--db", str(tmp_path / "store"), "--json",
                     ok=False)
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and report["new"] == 0 and report["rejected"] == len(decoys), report


# -- 12. several files after one --input -----------------------------------------------------------------

def test_summarize_and_compare_take_several_files_after_one_input(tmp_path, demo_articles):
    ferry = [a for a in demo_articles if a["id"].startswith("ferry-0")][:4]
    first = write_jsonl(tmp_path / "a.jsonl", ferry[:2])
    second = tmp_path / "b.txt"
    second.write_text(f"date {ferry[2]['published'][:10]}\n\n{ferry[2]['text']}")
    third = write_jsonl(tmp_path / "c.jsonl", ferry[3:])
    summary = cli_json("summarize", "--input", str(first), str(second), str(third), "--sentences", "3")
    compared = cli_json("compare", "--input", str(first), str(second), str(third))
    members = {m["article_id"] for c in compared["claims"] for m in c["members"]}
    assert {"ferry-01", "ferry-02", "ferry-04"} <= members and len(members) == 4, members
    repeated = cli_json("summarize", "--input", str(first), "--input", str(second), "--input", str(third),
                        "--sentences", "3")
    assert summary["summary"] and summary == repeated
    both = run_cli("summarize", "3", "--input", str(first), ok=False)
    assert both.exit_code == 2 and "not both" in both.output
    two_ids = run_cli("compare", "3", "4", "--db", str(tmp_path / "s"), ok=False)
    assert two_ids.exit_code == 2 and "--input" in two_ids.output
