"""Conflicts on real multi-outlet coverage: precision of the conflicts shown by default, recall of the real
ones found by reading, and a breakdown by kind and by error pattern.

    python -m eval.conflicts [--duc-dir DIR] [--judged eval/data/conflicts_dev.jsonl] [--dump FILE]

Stories are real news others wrote: the FNC-1 story clusters (Emergent bodies from many outlets; no outlet
names, so each article is its own outlet, as eval/bench_claims.py does) and the MultiLing 2011 WikiNews
topics, both under ../shared/data/stories; and DUC 2006 and DUC 2007 topics (AP, NYT and Xinhua wire,
1996-2000, real outlets), converted from the NIST folders by eval/duc.py into duc2006.jsonl and
duc2007.jsonl in --duc-dir (or $NEWSPRISM_DUC_DIR):

    python -m eval.duc --docs duc2007_testdocs/main --out DIR/duc2007.jsonl

A source whose file is missing is left out with a note, and so are its judgments.

Every story is aligned with engine/claims.align and every conflict it flags (shown by default or only as
"possible") is a candidate. The judgments in
eval/data/conflicts_dev.jsonl were made by reading the two sentences and their articles: `real` (the
reports disagree on one measure of one thing), `revision` (a later figure replaces an earlier one) or
`false`, with the error pattern and a one-line why; rows with `"found": "reading"` are real discrepancies
found by reading that the engine did not flag when they were judged. No article text is kept there (FNC's
licence): story and article ids, the values as written, labels.

A candidate matches a judgment when it is about the same story, each side's value is the same as written
(or one of the side's `also` forms) and each side shares an article with the judged side. Candidates no
judgment matches are counted as "unjudged" and written to --dump with their sentences for reading: no
figure counts until they are judged.
Sentences are embedded once and cached under --cache.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from newsprism.engine import claims
from newsprism.engine.claims import align
from newsprism.engine.clean import normalize_date
from newsprism.engine.records import Article, Sentence
from newsprism.engine.sentences import split_sentences

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "stories"
SHARED = {"fnc": DATA / "fnc1_story_clusters.jsonl", "multiling": DATA / "multiling2011_en_story_clusters.jsonl"}
DUC_FILES = {"duc2006": "duc2006.jsonl", "duc2007": "duc2007.jsonl"}
# Articles per story: DUC 2007 topics as the held-out judge reads them (the first 10 by date); the others as
# they were judged first (6).
PER_STORY = {"duc2007": 10}
JUDGED = Path(__file__).resolve().parent / "data" / "conflicts_dev.jsonl"
CACHE = Path(os.environ.get("NEWSPRISM_EVAL_CACHE", Path.home() / ".cache" / "newsprism" / "eval"))


def _article(row: dict, text: str, outlet: str | None = None) -> Article:
    body = [Sentence(s.text, i, s.paragraph, s.start, s.end) for i, s in enumerate(split_sentences(text))]
    return Article(id=str(row["id"]), text=text, title=row.get("title") or "", outlet=outlet or str(row["id"]),
                   published=normalize_date(row.get("date")), sentences=body)


def load_source(name: str, path: Path, per_story: int, max_stories: int = 0) -> dict[str, list[Article]]:
    """Story id -> articles of one source: `duc` (DUC 2006 topics, AP/NYT/Xinhua 1996-2000, real outlets,
    documents sorted by date: the first `per_story`), `fnc` (FNC-1 clusters in file order, each article its
    own outlet) or `multiling` (MultiLing 2011 WikiNews topics, likewise)."""
    stories: dict[str, list[Article]] = defaultdict(list)
    for line in path.open(encoding="utf-8"):
        if not line.strip():
            continue
        row = json.loads(line)
        if name.startswith("duc"):
            docs = row["documents"]
            docs = ast.literal_eval(docs) if isinstance(docs, str) else docs
            docs = sorted(docs, key=lambda d: (d.get("date") or "", d["id"]))[:per_story]
            stories[f"duc:{row['id']}"] = [_article(d, d["text"], d.get("source")) for d in docs]
        elif len(stories[f"{name}:{row['cluster']}"]) < per_story:
            stories[f"{name}:{row['cluster']}"].append(_article(row, row["text"]))
    kept = {k: v for k, v in stories.items() if len(v) >= 3}
    return dict(list(kept.items())[:max_stories]) if max_stories else kept


def embed(articles: list[Article], cache: Path, label: str) -> None:
    """Fill sentence vectors, each distinct sentence encoded once and cached per source."""
    texts = sorted({s.text for a in articles for s in a.sentences})
    key = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:16]
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{label}_{key}.npy"
    if path.exists():
        vectors = np.load(path)
    else:
        from newsprism.engine.embed import get_embedder

        started, done = time.perf_counter(), [0]

        def progress(n: int) -> None:
            done[0] += n
            print(f"  {label}: embedded {done[0]}/{len(texts)}", flush=True)

        vectors = get_embedder().encode(texts, progress=progress)
        print(f"embedded {len(texts)} sentences in {time.perf_counter() - started:.0f}s (cached in {path})")
        np.save(path, vectors)
    index = {t: i for i, t in enumerate(texts)}
    for article in articles:
        for s in article.sentences:
            s.vector = vectors[index[s.text]]


def _norm(value: str) -> str:
    return " ".join(value.lower().split())


# An engine from before confidences and revisions (the baseline of issue 14) shows every conflict it finds;
# the getattr defaults below let this script measure it too, for before/after figures.
THRESHOLD = getattr(claims, "CONFIDENCE_THRESHOLD", 0.0)


def candidates(stories: dict[str, list[Article]]) -> list[dict]:
    """Every conflict and revision the engine flags, shown by default or not, one row per disagreement."""
    out = []
    for story_id, articles in stories.items():
        result = align(articles)
        revisions = getattr(result, "revisions", [])
        for item in result.conflicts + getattr(result, "possible", []) + revisions:
            confidence = getattr(item, "confidence", 1.0)
            out.append({"story": story_id, "kind": item.kind, "revision": any(item is r for r in revisions),
                        "confidence": round(confidence, 3), "shown": confidence >= THRESHOLD,
                        "doubts": list(getattr(item, "doubts", ())), "link": getattr(item, "link", None),
                        "sides": [{"value": s.value, "articles": s.articles, "published": s.published,
                                   "sentence": s.marked() if hasattr(s, "marked") else s.sentence}
                                  for s in item.sides]})
    return out


def _forms(side: dict) -> set[str]:
    """A judged side's value as written, and the other ways its reports write it (`also`: "13", "Thirteen")."""
    return {_norm(v) for v in [side["value"], *side.get("also", [])]}


def _matches(cand: dict, judged: dict) -> bool:
    if cand["story"] != judged["story"]:
        return False
    sides = judged["sides"]
    for order in ((0, 1), (1, 0)):
        if all(_norm(cand["sides"][k]["value"]) in _forms(sides[m])
               and set(cand["sides"][k]["articles"]) & set(sides[m]["articles"])
               for k, m in zip((0, 1), order, strict=True)):
            return True
    return False


def score(cands: list[dict], judged: list[dict]) -> dict:
    """Precision of the conflicts shown by default, recall of the real ones, and breakdowns."""
    shown_tp = shown = unjudged = 0
    by_kind: dict[str, Counter] = defaultdict(Counter)
    by_pattern: dict[str, Counter] = defaultdict(Counter)
    found: set[int] = set()
    revisions_right = revisions_shown = 0
    for cand in cands:
        hits = [k for k, j in enumerate(judged) if _matches(cand, j)]
        if not hits:
            unjudged += 1
            cand["unjudged"] = True
            continue
        j = judged[hits[0]]
        cand["label"], cand["pattern"] = j["label"], j.get("pattern", "")
        if cand["revision"]:
            revisions_shown += 1
            revisions_right += j["label"] == "revision"
            if j["label"] == "revision":
                found.update(hits)
            by_pattern[j.get("pattern") or j["label"]]["revision"] += 1
            continue
        view = "shown" if cand["shown"] else "possible"
        by_kind[cand["kind"]][f"{view}:{j['label']}"] += 1
        by_pattern[j.get("pattern") or j["label"]][view] += 1
        if cand["shown"]:
            shown += 1
            shown_tp += j["label"] == "real"
            if j["label"] == "real":
                found.update(hits)
    real = [k for k, j in enumerate(judged) if j["label"] == "real"]
    revised = [k for k, j in enumerate(judged) if j["label"] == "revision"]
    return {"candidates": len(cands), "unjudged": unjudged, "shown": shown, "shown_real": shown_tp,
            "precision": shown_tp / shown if shown else 0.0, "real": len(real),
            "recall": sum(k in found for k in real) / len(real) if real else 0.0,
            "revisions": revisions_shown, "revisions_right": revisions_right, "revised": len(revised),
            "revisions_found": sum(k in found for k in revised),
            "by_kind": by_kind, "by_pattern": by_pattern}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", action="append", metavar="NAME=FILE",
                        help="a story source (duc2006, duc2007, fnc, multiling) and its file; default: all four")
    parser.add_argument("--duc-dir", type=Path, default=os.environ.get("NEWSPRISM_DUC_DIR"),
                        help="folder holding duc2006.jsonl and duc2007.jsonl (default: $NEWSPRISM_DUC_DIR)")
    parser.add_argument("--per-story", type=int, default=6, help="articles per story (DUC 2007: 10)")
    parser.add_argument("--fnc-stories", type=int, default=45, help="FNC-1 stories (the first N; 0: all)")
    parser.add_argument("--judged", type=Path, default=JUDGED, help="judgments (JSON lines)")
    parser.add_argument("--dump", type=Path, help="write every candidate, with its sentences and label, here")
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="folder for cached sentence vectors (default: $NEWSPRISM_EVAL_CACHE or ~/.cache)")
    args = parser.parse_args(argv)
    if args.source:
        sources = {name: Path(path) for name, path in (x.split("=", 1) for x in args.source)}
    else:
        duc = {name: Path(args.duc_dir) / file for name, file in DUC_FILES.items()} if args.duc_dir else {}
        sources = {**duc, **SHARED}
        if not args.duc_dir:
            print("note: no --duc-dir (or $NEWSPRISM_DUC_DIR): the DUC 2006/2007 stories and their judgments are "
                  "left out; convert them with `python -m eval.duc --docs FOLDER --out DIR/duc2007.jsonl`")
    stories: dict[str, list[Article]] = {}
    origin: dict[str, str] = {}
    for name, path in sources.items():
        if not path.exists():
            print(f"note: {name} left out, no file {path}")
            continue
        loaded = load_source(name, path, PER_STORY.get(name, args.per_story),
                             args.fnc_stories if name == "fnc" else 0)
        embed([a for arts in loaded.values() for a in arts], args.cache, name)
        stories.update(loaded)
        origin.update(dict.fromkeys(loaded, name))
    if not stories:
        parser.error("no story sources found (see the notes above)")
    judged = [json.loads(line) for line in args.judged.open(encoding="utf-8") if line.strip()] \
        if args.judged.exists() else []
    judged = [j for j in judged if j["story"] in stories]  # judgments of a source left out do not count
    started = time.perf_counter()
    cands = candidates(stories)
    elapsed = time.perf_counter() - started
    result = score(cands, judged)
    print(f"{len(stories)} stories, {sum(map(len, stories.values()))} articles, aligned in {elapsed:.1f}s; "
          f"{len(judged)} judgments ({result['real']} real)")
    print(f"candidates {result['candidates']}  unjudged {result['unjudged']}"
          + ("  (judge them before the figures count)" if result["unjudged"] else ""))
    print(f"shown by default (confidence >= {THRESHOLD}): {result['shown']}, real {result['shown_real']}, "
          f"precision {result['precision']:.3f}; recall of real ones {result['recall']:.3f}; "
          f"revisions shown {result['revisions']} (judged revision {result['revisions_right']}; "
          f"{result['revisions_found']} of {result['revised']} judged revisions found)")
    print("\n| kind | shown real | shown revision | shown false | possible real | possible false |")
    print("|---|---|---|---|---|---|")
    for kind, c in sorted(result["by_kind"].items()):
        print(f"| {kind} | {c['shown:real']} | {c['shown:revision']} | {c['shown:false']} | {c['possible:real']} | "
              f"{c['possible:false'] + c['possible:revision']} |")
    print("\n| pattern (judged label) | shown as conflict | possible | shown as revision |")
    print("|---|---|---|---|")
    for pattern, c in sorted(result["by_pattern"].items(), key=lambda kv: -sum(kv[1].values())):
        print(f"| {pattern} | {c['shown']} | {c['possible']} | {c['revision']} |")
    print("\n| source | stories | articles | candidates | shown | shown real | precision | real | recall |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in dict.fromkeys(origin.values()):
        part = score([c for c in cands if origin[c["story"]] == name],
                     [j for j in judged if origin[j["story"]] == name])
        mine = [k for k, v in origin.items() if v == name]
        print(f"| {name} | {len(mine)} | {sum(len(stories[k]) for k in mine)} | {part['candidates']} | "
              f"{part['shown']} | {part['shown_real']} | {part['precision']:.2f} | {part['real']} | "
              f"{part['recall']:.2f} |")
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as fh:
            for cand in cands:
                fh.write(json.dumps(cand, ensure_ascii=False) + "\n")
        print(f"\ncandidates written to {args.dump}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
