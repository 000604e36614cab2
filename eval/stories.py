"""Story clustering quality on a labelled JSONL file: B-cubed, pairwise F1, ARI, NMI.

The articles go through the ingest stages (normalize, clean, split, embed, near-copy marking) and
reach the clusterer in date order (undated ones in file order) in ingest batches of
`ingest_batch`, as the store hands them over ("incremental"); the same stream one article at a
time ("one-by-one") shows what small batches cost; then the same features are regrouped by
`recluster`. Sentence vectors are cached (NEWSPRISM_STORIES_CACHE, default /work/cache/stories where
that folder exists, else /tmp), keyed by text, for every pass including the store's.

    python -m eval.stories --data FILE.jsonl [FILE.jsonl ...] [--store] [--json]

With --store each file also goes through the real `ingest` into a fresh store ("store" row: what a
user of newsprism gets, the settling pass after the ingest run included). Several files print as
one table, a row per file and pass.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from newsprism.engine.config import load_settings
from newsprism.engine.dedupe import band_keys, resemblance, sentence_key, shingles
from newsprism.engine.parse import read_paths
from newsprism.engine.pipeline import clean, embed, normalize, outlet_line_counts, split
from newsprism.engine.records import Article, RawItem
from newsprism.engine.stories import StoryClusterer, StoryParams, story_features

CACHE = Path(os.environ.get("NEWSPRISM_STORIES_CACHE") or (
    "/work/cache/stories" if Path("/work/cache").is_dir() else "/tmp/newsprism-stories-cache"))


# ---- metrics (numpy only) ----

def _contingency(gold: list[str], pred: list) -> np.ndarray:
    _, g = np.unique(np.asarray(gold, dtype=object).astype(str), return_inverse=True)
    _, p = np.unique(np.asarray([str(x) for x in pred], dtype=object).astype(str), return_inverse=True)
    table = np.zeros((g.max() + 1, p.max() + 1), dtype=np.int64)
    np.add.at(table, (g, p), 1)
    return table


def scores(gold: list[str], pred: list) -> dict[str, float]:
    """B-cubed precision/recall/F1, pairwise precision/recall/F1, ARI and NMI of a flat clustering."""
    table = _contingency(gold, pred)
    n = table.sum()
    gold_sizes, pred_sizes = table.sum(axis=1), table.sum(axis=0)
    # B-cubed: per item, the share of its predicted cluster that shares its gold class, and vice versa
    bp = float((table ** 2 / pred_sizes[None, :]).sum() / n)
    br = float((table ** 2 / gold_sizes[:, None]).sum() / n)
    pairs = lambda x: (x * (x - 1) / 2).sum()  # noqa: E731
    same_both, same_pred, same_gold = pairs(table), pairs(pred_sizes), pairs(gold_sizes)
    pp = same_both / same_pred if same_pred else 1.0
    pr = same_both / same_gold if same_gold else 1.0
    total = n * (n - 1) / 2
    expected = same_pred * same_gold / total if total else 0.0
    spread = (same_pred + same_gold) / 2 - expected
    ari = (same_both - expected) / spread if spread else 1.0
    joint = table[table > 0] / n
    pg, pp_ = gold_sizes / n, pred_sizes / n
    mutual = float((joint * np.log(joint / np.outer(pg, pp_)[table > 0])).sum())
    hg, hp = -float((pg * np.log(pg)).sum()), -float((pp_ * np.log(pp_)).sum())
    nmi = mutual / ((hg + hp) / 2) if hg + hp > 0 else 1.0
    f = lambda p, r: 2 * p * r / (p + r) if p + r else 0.0  # noqa: E731
    return {"bcubed_p": bp, "bcubed_r": br, "bcubed_f1": f(bp, br), "pair_p": float(pp), "pair_r": float(pr),
            "pair_f1": f(pp, pr), "ari": float(ari), "nmi": nmi,
            "clusters": int(len(pred_sizes)), "gold_clusters": int(len(gold_sizes))}


# ---- ingest, as the store runs it ----

class VectorCache:
    """Sentence vectors by text key, kept in one .npz per model so reruns skip the encoder."""

    def __init__(self, model: str) -> None:
        self.path = CACHE / f"{model.replace('/', '_')}.npz"
        self.vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            data = np.load(self.path)
            self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        self.model = model

    def known(self, keys: list[str]) -> dict[str, np.ndarray]:
        return {k: self.vectors[k] for k in keys if k in self.vectors}

    def encode(self, texts: list[str], progress=None) -> np.ndarray:
        """Vectors of the texts: cached ones looked up, the rest encoded and saved."""
        from newsprism.engine.embed import get_embedder

        keys = [sentence_key(t) for t in texts]
        missing = list({k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}.items())
        if missing:
            encoded = get_embedder(self.model).encode([t for _, t in missing])
            self.vectors.update(zip((k for k, _ in missing), encoded, strict=True))
            CACHE.mkdir(parents=True, exist_ok=True)
            every = list(self.vectors)
            np.savez(self.path, keys=np.array(every), vectors=np.stack([self.vectors[k] for k in every]))
        dim = next(iter(self.vectors.values())).shape[0] if self.vectors else 384
        return np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, dim), np.float32)


class CachedEmbedder:
    """The store's embedder with the eval cache in front, so the store path re-encodes nothing known."""

    def __init__(self, model: str) -> None:
        self.cache = VectorCache(model)
        self.name = model
        self.dim = 384 if not self.cache.vectors else next(iter(self.cache.vectors.values())).shape[0]

    def encode(self, texts, progress=None) -> np.ndarray:
        vectors = self.cache.encode(list(texts))
        if progress:
            progress(len(texts))
        return vectors


def mark_copies(articles: list[Article], threshold: float) -> int:
    """Name each near-copy's original (MinHash bands, confirmed by resemblance), as ingest does."""
    by_band: dict[int, list[int]] = defaultdict(list)
    sets = [shingles(a.text) for a in articles]
    marked = 0
    for i, article in enumerate(articles):
        keys = band_keys(sets[i])
        seen = sorted({j for k in keys for j in by_band[k]})
        for j in seen:
            if resemblance(sets[i], sets[j]) >= threshold:
                article.copy_of = articles[j].copy_of or articles[j].id
                marked += 1
                break
        for k in keys:
            by_band[k].append(i)
    return marked


def ingest(path: str) -> tuple[list[Article], dict[str, str]]:
    """Articles in the order ingest hands them over, and each article's gold story."""
    settings = load_settings()
    items = [item for item in read_paths([path]) if isinstance(item, RawItem)]
    gold = {}
    for item in items:
        gold[str(item.fields["id"])] = str(item.fields["cluster"])
    articles, _ = normalize(items, settings.max_article_chars)
    recurring = {outlet: {k for k, c in keys.items() if c >= settings.boilerplate_repeats}
                 for outlet, keys in outlet_line_counts(articles).items()}
    articles, _ = clean(articles, recurring)
    articles = split(articles)
    cache = VectorCache(settings.model)
    articles, _ = embed(articles, cache.encode, cache.known)
    order = sorted(range(len(articles)), key=lambda i: (articles[i].published or "", i))
    articles = [articles[i] for i in order]
    mark_copies(articles, settings.near_copy_jaccard)
    return articles, gold


def evaluate(path: str, params: StoryParams | None = None) -> dict:
    """Scores of the incremental pass (in ingest batches, and one article at a time) and of recluster."""
    settings = load_settings()
    articles, gold = ingest(path)
    params = params or StoryParams.from_settings(settings)
    features = [story_features(a) for a in articles]
    truth = [gold[f.id] for f in features]
    result = {"data": path, "articles": len(features), "copies": sum(f.copy_of is not None for f in features),
              "params": params.to_dict()}
    for name, size in (("incremental", settings.ingest_batch), ("one-by-one", 1)):
        clusterer = StoryClusterer(params)
        start = time.perf_counter()
        placed: dict[str, int] = {}
        for at in range(0, len(features), size):
            placed |= clusterer.add_many(features[at:at + size])
        seconds = time.perf_counter() - start
        result[name] = scores(truth, [placed[f.id] for f in features]) | {"seconds": round(seconds, 3)}
    start = time.perf_counter()
    batch = StoryClusterer(params).recluster(features)
    result["recluster"] = scores(truth, [batch[f.id] for f in features]) | {
        "seconds": round(time.perf_counter() - start, 3)}
    return result


def evaluate_store(path: str, gold: dict[str, str]) -> dict:
    """The product's own path: `ingest` into a fresh store in date order (undated: file order), in
    ingest batches, story assignment and the settling pass included; then the stored grouping."""
    import shutil
    import tempfile

    from newsprism.index.newsroom import Newsroom

    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    order = sorted(range(len(rows)), key=lambda i: (rows[i].get("date") or rows[i].get("published") or "", i))
    folder = Path(tempfile.mkdtemp(prefix="eval-stories-"))
    try:
        settings = load_settings({"store": str(folder / "store")})
        newsroom = Newsroom(settings)
        newsroom.embedder = CachedEmbedder(settings.model)
        items = [RawItem({k: v for k, v in rows[i].items() if k != "cluster"}, f"{path}:{i + 1}") for i in order]
        start = time.perf_counter()
        newsroom.ingest(iter(items))
        seconds = time.perf_counter() - start
        stored = dict(newsroom.store.conn.execute("SELECT ext_id, story_id FROM articles").fetchall())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ids = [i for i in gold if i in stored]
    return scores([gold[i] for i in ids], [stored[i] for i in ids]) | {"seconds": round(seconds, 1)}


def table(results: list[dict]) -> str:
    """One table for every file: a row per file and pass."""
    cols = ["bcubed_p", "bcubed_r", "bcubed_f1", "pair_f1", "ari", "nmi", "clusters", "gold_clusters", "seconds"]
    lines = [f"{'file':<28}{'articles':>9}{'pass':>13}" + "".join(f"{c:>14}" for c in cols)]
    for result in results:
        name = Path(result["data"]).stem.removesuffix("_story_clusters")[:27]
        for run in ("incremental", "one-by-one", "recluster", "store"):
            if run not in result:
                continue
            row = result[run]
            lines.append(f"{name:<28}{result['articles']:>9}{run:>13}" + "".join(
                f"{row[c]:>14}" if isinstance(row[c], int) else f"{row[c]:>14.3f}" for c in cols))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, nargs="+",
                        help="JSONL files with id, title, text, date, source, cluster")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--store", action="store_true",
                        help="also ingest into a real store (the product path; seconds include embedding)")
    args = parser.parse_args(argv)
    results = []
    for path in args.data:
        result = evaluate(path)
        if args.store:
            _, gold = ingest(path)
            result["store"] = evaluate_store(path, gold)
        results.append(result)
        print(f"done {path}", file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
