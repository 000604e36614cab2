"""Ingest through the CLI into real stores: formats, bad input, duplicates, copies, search, safety."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import DEMO, ROOT, cli_json, run_cli

FERRY = ("The passenger ferry Aurora capsized near Kellhaven on Monday evening, killing at least 14 people.\n"
         "Rescue teams pulled 40 survivors from the cold water overnight, the coast guard said.")
BANK = ("The central bank raised its main interest rate to 4.25% on Wednesday.\n"
        "Officials said inflation was easing but remained well above the 2% target.")


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


def rows(db: Path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(db / "newsprism.sqlite") as conn:
        return conn.execute(sql, args).fetchall()


def test_every_format_and_field_alias_lands(tmp_path):
    src = tmp_path / "in"
    write(src / "a.jsonl", json.dumps({"id": "j1", "headline": "Ferry capsizes", "body": FERRY,
                                       "outlet": "Wire One", "pubDate": "Tue, 04 Mar 2025 08:00:00 GMT"}) + "\n")
    write(src / "b.json", json.dumps({"articles": [{"id": "j2", "title": "Rates up", "content": BANK,
                                                    "link": "https://www.bankwatch.example/rates",
                                                    "datetime": "2025-03-05T10:00:00+02:00"}]}))
    write(src / "c.csv", "id,title,text,publisher,date\nc1,Ferry toll rises,\"Divers recovered two more bodies "
          "from the wreck of the Aurora on Wednesday, raising the toll to 16.\",Coast Daily,2025-03-04\n")
    write(src / "d.txt", "date 2025-03-06 This audio is created with AI assistance\n\nMortgage lenders "
          "passed the rate rise on to borrowers within hours, and markets fell on Thursday.")
    write(src / "nested" / "e.md", "# Wildfire forces evacuations\n\nA wildfire forced **3,000** people from "
          "their homes in the Dorran Valley on Sunday. Firefighters worked through the night.")
    write(src / "f.html", "<html><head><title>Hackers hit Lumora</title></head><body><nav>Home | News</nav>"
          "<article><h1>Hackers hit Lumora</h1><p>Lumora Systems said hackers stole the data of 1.2 million "
          "customers in an attack discovered last week, and the company has informed the regulator.</p>"
          "<p>The firm said that no passwords were taken, but names and addresses were exposed, and customers "
          "were advised to watch for phishing emails in the coming weeks.</p></article></body></html>")
    write(src / "g.rss", """<?xml version="1.0"?><rss version="2.0"><channel><title>Valemont Gazette</title>
      <item><title>Minister resigns</title><link>https://gazette.example/minister</link>
      <guid>g-1</guid><pubDate>Fri, 07 Mar 2025 09:00:00 GMT</pubDate>
      <description>&lt;p&gt;The finance minister resigned on Friday after a row over the budget.&lt;/p&gt;
      &lt;p&gt;Her deputy will take over until an election.&lt;/p&gt;</description></item></channel></rss>""")
    db = tmp_path / "store"
    report = cli_json("ingest", str(src), "--db", str(db))
    assert report["new"] == 7 and report["rejected"] == 0, report
    stdin_report = cli_json("ingest", "-", "--db", str(db), input=json.dumps(
        {"id": "s1", "text": "A stdin article about a bridge closure in Brennick on Monday.", "source": "Pipe"}))
    assert stdin_report["new"] == 1
    got = {r[0]: r[1:] for r in rows(db, "SELECT ext_id, title, outlet, published, url FROM articles")}
    assert got["j1"] == ("Ferry capsizes", "Wire One", "2025-03-04T08:00:00Z", None)
    assert got["j2"] == ("Rates up", "bankwatch.example", "2025-03-05T08:00:00Z", "https://www.bankwatch.example/rates")
    assert got["c1"][1:3] == ("Coast Daily", "2025-03-04T00:00:00Z")
    assert got["g-1"][:2] == ("Minister resigns", "Valemont Gazette") or got["g-1"][0] == "Minister resigns"
    titles = {r[1] for r in got.values()} | {r[0] for r in got.values()}
    assert "Wildfire forces evacuations" in titles and "Hackers hit Lumora" in titles
    texts = " ".join(r[0] for r in rows(db, "SELECT text FROM articles"))
    assert "**" not in texts and "audio is created" not in texts and "Home | News" not in texts
    dated = [r for r in got.values() if r[2] == "2025-03-06T00:00:00Z"]
    assert len(dated) == 1  # the text file's leading date line


def test_bad_input_is_reported_and_the_rest_lands(tmp_path):
    lines = [json.dumps({"id": "ok1", "text": FERRY, "source": "A"}), "{not json",
             json.dumps({"id": "empty", "text": "   ", "source": "A"}), json.dumps({"id": "notext", "title": "x"}),
             json.dumps({"id": "ok2", "text": BANK, "source": "B"})]
    data = ("\n".join(lines[:2]) + "\n").encode() + b'{"id": "bad", "text": "caf\xe9 au lait"}\n' + \
        ("\n".join(lines[2:]) + "\n").encode()
    jsonl = write(tmp_path / "mixed.jsonl", data)
    binary = write(tmp_path / "blob.json", b"\x00\x01\x02binary\x00" * 100)
    huge = write(tmp_path / "huge.txt", ("word " * 10_000_000).encode())  # 50 MB in one article
    csv_missing = write(tmp_path / "nocol.csv", "id,headline\nx1,Only a headline\n")
    db = tmp_path / "store"
    result = run_cli("ingest", str(jsonl), str(binary), str(huge), str(csv_missing), "--db", str(db), "--json")
    report = json.loads(result.stdout)
    assert report["new"] == 2 and sorted(report["ids"]) == ["ok1", "ok2"]
    reasons = {r["origin"]: r["reason"] for r in report["rejections"]}
    assert "malformed JSON" in reasons[f"{jsonl}:2"]
    assert "UTF-8" in reasons[f"{jsonl}:3"]
    assert reasons[f"{jsonl}:4"] == "empty text"
    assert "no article text" in reasons[f"{jsonl}:5"]
    assert "binary" in reasons[str(binary)]
    assert "over the" in reasons[str(huge)]
    assert "no article text" in reasons[f"{csv_missing}:2"]
    # nothing ingestible at all: non-zero exit, and the store still holds what it had
    only_bad = run_cli("ingest", str(binary), "--db", str(db), ok=False)
    assert only_bad.exit_code == 1 and "binary" in only_bad.output
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == 2


def test_duplicates_copies_and_sentence_vectors_reused(tmp_path, demo_articles, demo_truth):
    db = tmp_path / "store"
    first = cli_json("ingest", str(DEMO / "corpus.jsonl"), "--db", str(db))
    copies = {c["copy"]: c["original"] for c in demo_truth["copies"]}
    assert first["new"] == len(demo_articles) - len(copies) and first["near_copy"] == len(copies)
    flagged = dict(rows(db, "SELECT a.ext_id, o.ext_id FROM articles a JOIN articles o ON o.aid = a.copy_of"))
    assert flagged == copies
    again = cli_json("ingest", str(DEMO / "corpus.jsonl"), "--db", str(db))
    assert again["duplicate"] == len(demo_articles) and again["new"] == 0 and again["embedded"] == 0
    # the same text from another outlet is a copy, stored without embedding anything again
    original = next(a for a in demo_articles if a["id"] == "ferry-01")
    rerun = dict(original, id="ferry-rerun", source="Another Outlet", url="https://another.example/ferry")
    report = cli_json("ingest", "-", "--db", str(db), input=json.dumps(rerun))
    assert report["near_copy"] == 1 and report["embedded"] == 0
    # the same text again from the same outlet under a new id is a duplicate
    same_outlet = dict(original, id="ferry-again", url=None)
    assert cli_json("ingest", "-", "--db", str(db), input=json.dumps(same_outlet))["duplicate"] == 1


def test_demo_boilerplate_never_reaches_sentences(demo_store, demo_truth):
    stored = "\n".join(r[0] for r in rows(demo_store, "SELECT text FROM sentences"))
    for line in demo_truth["boilerplate"]:
        assert line not in stored, line


def test_search_json_shape_filters_and_sentences(demo_store):
    out = cli_json("search", "ferry capsized and people died", "--db", str(demo_store), "-k", "5")
    results = out["results"]
    assert len(results) == 5
    top = results[0]
    assert {"id", "title", "outlet", "published", "score", "sentences"} <= set(top)
    assert top["id"].startswith("ferry-") and all("text" in s and "score" in s for s in top["sentences"])
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert len({r["id"] for r in results}) == 5
    outlet = cli_json("search", "ferry capsized", "--db", str(demo_store), "--outlet", "The Daily Clarion")
    assert outlet["results"] and all(r["outlet"] == "The Daily Clarion" for r in outlet["results"])
    late = cli_json("search", "ferry capsized", "--db", str(demo_store), "--since", "2025-03-07")
    assert late["results"] and all(r["published"] >= "2025-03-07" for r in late["results"])
    early = cli_json("search", "ferry capsized", "--db", str(demo_store), "--until", "2025-03-03")
    assert all(r["published"] <= "2025-03-03T23:59:59Z" for r in early["results"])
    sents = cli_json("search", "interest rate raised", "--db", str(demo_store), "--sentences", "-k", "4")
    assert len(sents["results"]) == 4 and all("rate" in s["text"].lower() for s in sents["results"][:2])
    human = run_cli("search", "ferry capsized", "--db", str(demo_store), "-k", "2").output
    assert "ferry" in human.lower() and "> " in human


def test_stats_counts(demo_store, demo_articles):
    stats = cli_json("stats", "--db", str(demo_store))
    assert stats["articles"] == len(demo_articles)
    assert stats["outlets"] == len({a["source"] for a in demo_articles})
    assert stats["index"]["sentences"]["layout"] == "flat"
    assert stats["index"]["sentences"]["vectors"] == stats["distinct_sentence_vectors"]


def test_other_model_is_refused_clearly(tmp_path):
    db = tmp_path / "store"
    run_cli("ingest", "-", "--db", str(db), input=json.dumps({"text": FERRY, "source": "A"}))
    with sqlite3.connect(db / "newsprism.sqlite") as conn:
        conn.execute("UPDATE meta SET value = 'some-other-model' WHERE key = 'model'")
    result = run_cli("search", "ferry", "--db", str(db), ok=False)
    assert result.exit_code != 0 and "some-other-model" in result.output and "all-MiniLM-L6-v2" in result.output


def test_faiss_files_are_a_cache(tmp_path):
    db = tmp_path / "store"
    run_cli("ingest", str(DEMO / "corpus.jsonl"), "--db", str(db))
    before = cli_json("search", "wildfire evacuation", "--db", str(db))["results"]
    for name in ("sentences.faiss", "articles.faiss", "faiss.json"):
        (db / name).unlink()
    after = cli_json("search", "wildfire evacuation", "--db", str(db))["results"]
    assert [r["id"] for r in after] == [r["id"] for r in before]
    rebuilt = cli_json("reindex", "--db", str(db))
    assert rebuilt["index"]["sentences"]["vectors"] == rows(db, "SELECT count(*) FROM vectors")[0][0]


def test_kill_mid_ingest_loses_nothing_committed(tmp_path, demo_articles):
    many = tmp_path / "many.jsonl"
    with many.open("w") as out:
        for i in range(30):
            for a in demo_articles:
                out.write(json.dumps(dict(a, id=f"{a['id']}-{i}", url=None, source=f"{a['source']} {i}",
                                          text=f"Edition {i} of this report, number {i * 7 + 3}.\n\n{a['text']}"))
                          + "\n")
    db = tmp_path / "store"
    env = dict(os.environ, NEWSPRISM_INGEST_BATCH="10", HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "newsprism.api.cli", "ingest", str(many), "--db", str(db)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    count = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            count = rows(db, "SELECT count(*) FROM articles")[0][0]
        except sqlite3.Error:
            continue
        if count >= 30:
            break
    assert proc.poll() is None, "ingest finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert rows(db, "PRAGMA integrity_check")[0][0] == "ok"
    committed = rows(db, "SELECT count(*) FROM articles")[0][0]
    assert 30 <= committed < 30 * len(demo_articles)
    assert rows(db, "SELECT count(*) FROM articles a WHERE NOT EXISTS "
                    "(SELECT 1 FROM sentences s WHERE s.aid = a.aid)") == [(0,)]
    stats = cli_json("stats", "--db", str(db))  # opening catches FAISS up with SQLite by itself
    assert stats["articles"] == committed
    assert stats["index"]["sentences"]["vectors"] == rows(db, "SELECT count(*) FROM vectors")[0][0]
    assert stats["index"]["articles"]["vectors"] == committed
    state = json.loads((db / "faiss.json").read_text()) if (db / "faiss.json").exists() else {}
    assert state.get("generation", -1) <= stats["generation"]
    resumed = cli_json("ingest", str(many), "--db", str(db))
    assert resumed["duplicate"] == committed
    assert resumed["new"] + resumed["near_copy"] == 30 * len(demo_articles) - committed


def test_config_layers_and_sources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "newsprism.toml").write_text("story_window_days = 3\nbatch_size = 32\n")
    monkeypatch.setenv("NEWSPRISM_BATCH_SIZE", "16")
    out = cli_json("config", "--db", str(tmp_path / "s"))
    got = {r["name"]: (r["value"], r["source"]) for r in out["settings"]}
    assert got["story_window_days"][0] == 3.0 and got["story_window_days"][1].startswith("file")
    assert got["batch_size"] == (16, "env NEWSPRISM_BATCH_SIZE")
    assert got["store"] == (str(tmp_path / "s"), "flag")
    assert got["model"] == ("all-MiniLM-L6-v2", "default")
    (tmp_path / "newsprism.toml").write_text("no_such_setting = 1\n")
    bad = run_cli("config", ok=False)
    assert bad.exit_code != 0 and "no_such_setting" in bad.output
