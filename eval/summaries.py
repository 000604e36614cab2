"""ROUGE of newsprism's summarizer against standard baselines on a multi-document benchmark.

    python -m eval.summaries --data /work/shared/data/summaries/multiling2011_en.jsonl --words 250 [--json]
    python -m eval.summaries --data FILE.jsonl --words 100 --systems product,newsprism --speed

Every system is scored in the same run with the same scorer (rouge-score, stemmed), each summary cut
to N words, recall and F1 averaged over the references of a topic and then over topics. `product` is
the CLI's path (`summarize --input F --words N --truncate`: claims alignment, one sentence per claim);
`newsprism` is the summarizer alone. A document's `source` is its outlet (DUC clusters mix AP, NYT and
Xinhua; `python -m eval.duc` converts them). Embeddings are cached under NEWSPRISM_EVAL_CACHE
(default /work/cache/summaries) so reruns only pay for the systems.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nltk
import numpy as np
from newsprism.engine.analysis import summarize as product_summary
from newsprism.engine.config import DEFAULT_MODEL, Settings
from newsprism.engine.embed import get_embedder
from newsprism.engine.pipeline import mark_copies
from newsprism.engine.records import Article, Sentence
from newsprism.engine.sentences import split_sentences, write_punkt_tab
from newsprism.engine.summarize import CentroidSummarizer, Summarizer, SummaryParams, clear_caches

from eval.machine import cpu_model

CACHE = Path(os.environ.get("NEWSPRISM_EVAL_CACHE", "/work/cache/summaries"))
METRICS = ("rouge1", "rouge2", "rougeL")
BASE_TIME = datetime(2000, 1, 1, tzinfo=UTC)

System = Callable[[list[Article], str, int], str]


def load_topics(path: Path) -> list[dict]:
    """Topics as {id, documents: [{title, text}], summaries: [str]}; documents may be plain strings."""
    topics = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            docs = [d if isinstance(d, dict) else {"text": d} for d in row["documents"]]
            topics.append({"id": row["id"], "documents": docs, "summaries": row["summaries"]})
    return topics


def embed_cached(texts: list[str]) -> np.ndarray:
    """Vectors for texts, read from /tmp when this exact list was embedded before."""
    embedder = get_embedder()
    digest = hashlib.sha1("\n\x00".join([embedder.name, *texts]).encode()).hexdigest()
    path = CACHE / f"{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = embedder.encode(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def build_articles(docs: list[dict], outlets: list[str] | None = None) -> list[Article]:
    """Article records with embedded sentences; document order stands in for publication time.

    The benchmark's documents break paragraphs with single newlines, so each line is a paragraph.
    Outlets: as given, else each document's `source` (the wire: the judge's clusters hold two), else
    one per document.
    """
    articles = []
    if outlets is None:
        outlets = [d.get("source") or f"doc-{i}" for i, d in enumerate(docs)]
    for i, doc in enumerate(docs):
        text = "\n\n".join(line for line in doc["text"].splitlines() if line.strip())
        title = (doc.get("title") or "").strip()
        sentences = [Sentence(title, -1, -1, 0, 0)] if title else []
        sentences += [Sentence(s.text, pos, s.paragraph, s.start, s.end)
                      for pos, s in enumerate(split_sentences(text))]
        articles.append(Article(id=f"doc-{i}", text=text, title=title,
                                outlet=outlets[i], lang="en",
                                published=(BASE_TIME + timedelta(hours=i)).isoformat(), sentences=sentences))
    flat = [s for a in articles for s in a.sentences]
    for s, v in zip(flat, embed_cached([s.text for s in flat]), strict=True):
        s.vector = v
    return mark_copies(articles, Settings().near_copy_jaccard)


def cut(text: str, words: int) -> str:
    return " ".join(text.split()[:words])


def fill(sentences: list[str], words: int) -> str:
    """Sentences taken in the given order until the budget is reached, cut to exactly the budget."""
    out, used = [], 0
    for s in sentences:
        if used >= words:
            break
        out.append(s)
        used += len(s.split())
    return cut(" ".join(out), words)


def sumy_summarizer(kind: str):
    """sumy's LexRank or TextRank with its English stemmer and stop words, as its README sets them up."""
    from sumy.nlp.stemmers import Stemmer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer
    from sumy.utils import get_stop_words

    summarizer = (LexRankSummarizer if kind == "lexrank" else TextRankSummarizer)(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    return summarizer


def until_budget(words: int) -> Callable[[list], list]:
    """A sumy sentence count that takes best-rated sentences until they hold `words` words."""
    def take(infos: list) -> list:
        taken, used = [], 0
        for info in infos:
            if used >= words:
                break
            taken.append(info)
            used += len(str(info.sentence).split())
        return taken

    return take


def parse(joined: str):
    """All documents as one sumy document (sumy's PlaintextParser + Tokenizer("english"), Punkt)."""
    from sumy.nlp.tokenizers import Tokenizer
    from sumy.parsers.plaintext import PlaintextParser

    return PlaintextParser.from_string(joined, Tokenizer("english")).document


def sumy_system(kind: str) -> System:
    """sumy over all documents: best-rated sentences until the budget, in document order, cut to N."""
    summarizer = sumy_summarizer(kind)

    def run(articles: list[Article], joined: str, words: int) -> str:
        return cut(" ".join(str(s) for s in summarizer(parse(joined), until_budget(words))), words)

    return run


def systems(params: SummaryParams, seed: int) -> dict[str, System]:
    newsprism, centroid = Summarizer(params), CentroidSummarizer(params)

    def ours(summarizer: Callable) -> System:
        return lambda articles, _, words: " ".join(
            s.text for s in summarizer(articles, words=words, truncate=True))

    def lead(articles: list[Article], _: str, words: int) -> str:
        latest = max(articles, key=lambda a: a.published or "")
        return fill([s.text for s in latest.body()], words)

    def rand(articles: list[Article], _: str, words: int) -> str:
        pool = [s.text for a in articles for s in a.body()]
        random.Random(f"{seed}:{articles[0].text[:200]}").shuffle(pool)
        return fill(pool, words)

    def product(articles: list[Article], _: str, words: int) -> str:
        """The CLI's path (`summarize --input F --words N --truncate`): claims alignment included."""
        result = product_summary(articles, DEFAULT_MODEL, words=words, truncate=True, params=params)
        return " ".join(s["text"] for s in result["summary"])

    return {"product": product, "newsprism": ours(newsprism), "centroid": ours(centroid),
            "lexrank": sumy_system("lexrank"), "textrank": sumy_system("textrank"), "lead": lead, "random": rand}


def evaluate(topics: list[dict], words: int, params: SummaryParams, seed: int,
             only: list[str] | None = None) -> dict:
    """Mean ROUGE recall and F1 per system; each topic's score is the mean over its references."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    runs = {k: v for k, v in systems(params, seed).items() if not only or k in only}
    totals = {name: {f"{m}_{k}": [] for m in METRICS for k in ("r", "f")} for name in runs}
    seconds = dict.fromkeys(runs, 0.0)
    for topic in topics:
        articles = build_articles(topic["documents"])
        joined = "\n\n".join(a.text for a in articles)
        for name, run in runs.items():
            start = time.perf_counter()
            summary = run(articles, joined, words)
            seconds[name] += time.perf_counter() - start
            scores = [scorer.score(ref, summary) for ref in topic["summaries"]]
            for m in METRICS:
                totals[name][f"{m}_r"].append(statistics.mean(s[m].recall for s in scores))
                totals[name][f"{m}_f"].append(statistics.mean(s[m].fmeasure for s in scores))
    table = {name: {k: statistics.mean(v) for k, v in cols.items()} | {"seconds": seconds[name]}
             for name, cols in totals.items()}
    graphs = [table[k]["rouge2_r"] for k in ("lexrank", "textrank") if k in table]
    best_graph = max(graphs, default=0.0)
    ours = table.get("product", table.get("newsprism"))
    return {"words": words, "topics": len(topics), "systems": table,
            "newsprism_r2_vs_best_graph": ours["rouge2_r"] / best_graph if best_graph and ours else None}


def speed_story(topics: list[dict], n_articles: int = 100) -> list[Article]:
    """One large story built from the benchmark's documents, for timing.

    Article k joins two documents of one topic, so 100 articles hold about 3,000 sentences; 25
    placeholder outlets share them.
    """
    docs = [(t, d) for t in topics for d in t["documents"]]
    merged = []
    for k in range(n_articles):
        topic, doc = docs[k % len(docs)]
        partner = topic["documents"][(topic["documents"].index(doc) + 5) % len(topic["documents"])]
        merged.append({"title": doc.get("title", ""), "text": doc["text"] + "\n" + partner["text"]})
    return build_articles(merged, outlets=[f"outlet-{k % 25}" for k in range(n_articles)])


def speed(topics: list[dict], words: int, params: SummaryParams, n_articles: int = 100) -> dict:
    """Time the product path (claims alignment + summary) with the exact and the greedy selection, the
    summarizer alone, and sumy LexRank, on the same large story; embedding and parsing are not timed."""
    from dataclasses import replace

    from newsprism.engine.claims import align

    articles = speed_story(topics, n_articles)
    n_sentences = sum(len(a.body()) for a in articles)
    greedy = replace(params, solver="greedy")

    def timed(run: Callable[[], object]) -> tuple[float, float]:
        """Median wall and CPU seconds of 3 cold runs (tokens and stems forgotten before each)."""
        walls, cpus = [], []
        for _ in range(3):
            clear_caches()
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - start_cpu)
        return statistics.median(walls), statistics.median(cpus)

    rows = {
        "product, exact (align + summary)": timed(lambda: product_summary(articles, DEFAULT_MODEL, words=words,
                                                                            params=params)),
        "product, greedy (align + summary)": timed(lambda: product_summary(articles, DEFAULT_MODEL, words=words,
                                                                             params=greedy)),
        "claims alignment alone": timed(lambda: align(articles)),
        "summarizer alone, exact": timed(lambda: Summarizer(params)(articles, words=words)),
        "summarizer alone, greedy": timed(lambda: Summarizer(greedy)(articles, words=words)),
    }
    document = parse("\n\n".join(a.text for a in articles))
    start = time.perf_counter()
    sumy_summarizer("lexrank")(document, until_budget(words))
    lex_seconds = time.perf_counter() - start
    ours = rows["product, exact (align + summary)"][0]
    return {"articles": n_articles, "sentences": n_sentences, "sumy_sentences": len(document.sentences),
            "rows": {k: {"seconds": w, "cpu_seconds": c} for k, (w, c) in rows.items()},
            "newsprism_seconds": ours, "lexrank_seconds": lex_seconds, "speedup": lex_seconds / ours,
            "cpu": cpu_model(), "cores": os.cpu_count(), "load_average": os.getloadavg()[0]}


def published_reference(path: Path) -> list[tuple[str, float, float, float]]:
    """(system, ROUGE-1 R, ROUGE-2 R, ROUGE-SU4 R) from the official English evaluation, best first."""
    data = json.loads(path.read_text())
    rows = [(data["system_ids"].get(k, k), v["ROUGE-1"]["recall"], v["ROUGE-2"]["recall"],
             v["ROUGE-SU4"]["recall"]) for k, v in data["english"].items()]
    return sorted(rows, key=lambda r: -r[2])


def print_table(result: dict) -> None:
    print(f"\nROUGE at {result['words']} words, {result['topics']} topics "
          "(rouge-score, Porter stemming; mean over references, then topics)")
    head = f"{'system':<10}" + "".join(f"{m.upper().replace('ROUGE', 'R-'):>8}{k:>2}" for m in METRICS
                                         for k in ("R", "F"))
    print(head + f"{'sec':>8}")
    for name, row in sorted(result["systems"].items(), key=lambda p: -p[1]["rouge2_r"]):
        cells = "".join(f"{row[f'{m}_{k}'] * 100:>10.2f}" for m in METRICS for k in ("r", "f"))
        print(f"{name:<10}{cells}{row['seconds']:>8.2f}")
    ratio = result["newsprism_r2_vs_best_graph"]
    print(f"product R-2 recall / best of LexRank, TextRank: {ratio:.3f}" if ratio else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--words", type=int, default=250)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--speed", action="store_true",
                        help="also time newsprism vs LexRank on a 100-article story")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--systems", default="", help="comma-separated systems to run (default: all)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="override a SummaryParams field, for sweeps")
    parser.add_argument("--published", type=Path, default=None,
                        help="published ROUGE JSON (default: *_published_rouge.json next to --data)")
    args = parser.parse_args(argv)

    overrides = {}
    defaults = SummaryParams()
    for item in args.param:
        name, _, value = item.partition("=")
        if not hasattr(defaults, name):
            parser.error(f"--param {name}: not a SummaryParams field")
        overrides[name] = type(getattr(defaults, name))(value)
    params = SummaryParams.build(overrides)
    punkt_home = write_punkt_tab(CACHE / "nltk_data").parents[2]
    if str(punkt_home) not in nltk.data.path:
        nltk.data.path.insert(0, str(punkt_home))

    topics = load_topics(args.data)
    result = evaluate(topics, args.words, params, args.seed, [s for s in args.systems.split(",") if s])
    if args.speed:
        result["speed"] = speed(topics, args.words, params)
    published = args.published or args.data.with_name(args.data.stem + "_published_rouge.json")
    if published.exists():
        result["published"] = [dict(zip(("system", "rouge1_r", "rouge2_r", "rougeSU4_r"), r, strict=True))
                               for r in published_reference(published)]
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
        return 0
    print_table(result)
    if "speed" in result:
        s = result["speed"]
        print(f"\nspeed: {s['articles']} articles, {s['sentences']} sentences, "
              f"{s['cpu']} ({s['cores']} cores, load average {s['load_average']:.1f})")
        for name, row in s["rows"].items():
            print(f"  {name:<36} {row['seconds']:6.3f} s wall {row['cpu_seconds']:6.3f} s CPU (median of 3)")
        print(f"  sumy LexRank {s['lexrank_seconds']:.1f} s "
              f"({s['sumy_sentences']} sentences, parsed beforehand)")
        print(f"  LexRank / product (exact): {s['speedup']:.1f}x")
    if "published" in result:
        print("\npublished MultiLing 2011 English results (ROUGE-1.5.5, no stemming: not comparable "
              "to the table above)")
        for row in result["published"]:
            print(f"  {row['system']:<46} R-1 {row['rouge1_r'] * 100:6.2f}  R-2 {row['rouge2_r'] * 100:6.2f}"
                  f"  SU4 {row['rougeSU4_r'] * 100:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
