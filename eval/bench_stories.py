"""Story clustering speed on a synthetic stream: does the cost per article stay flat as the archive grows?

Articles come at a steady rate (default 1,000 a day) from stories of heavy-tailed sizes that run
for a few days; a story's articles are noisy copies of its own direction, near its topic's, and
draw words from the story's vocabulary, its topic's and a Zipf background. Vectors and terms are
made up front, so only clustering is timed: ingest batches in time order, as the store feeds them.
Every article that no live story takes firmly is also matched against the dormant stories (the
HNSW index over story keys), whose number grows with the archive; the cost per article should not.

The cost per article is quoted as a ratio to a baseline measured in the same run: the work of
comparing one article with 1,000 stories exactly (a 384-d matrix-vector product against 1,000
centroids and a TF-IDF weighing of its terms), so machines of different speed read the same.

    python -m eval.bench_stories [--sizes 10000,30000,100000] [--per-day 1000] [--batch 256]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import Counter

import numpy as np
from newsprism.engine.stories import StoryClusterer, StoryFeatures, StoryParams

from eval.machine import cpu_model
from eval.stories import scores

DIM = 384
TOPICS = 200
BACKGROUND = 50_000




def synthetic_stream(n: int, per_day: float, seed: int = 7) -> tuple[list[StoryFeatures], list[int]]:
    """n articles in time order, and the story each was generated from."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((TOPICS, DIM)).astype(np.float32)
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    topic_words = [[f"t{t}_{i}" for i in range(40)] for t in range(TOPICS)]
    zipf = 1.0 / np.arange(1, BACKGROUND + 1)
    zipf /= zipf.sum()
    days = n / per_day
    # heavy-tailed story sizes until the stream is full
    sizes = []
    while sum(sizes) < n:
        sizes.append(int(min(rng.pareto(1.2) + 1, 400)))
    starts = np.sort(rng.uniform(0, days, len(sizes)))
    items = []
    for story, (size, start) in enumerate(zip(sizes, starts, strict=True)):
        topic = int(rng.integers(TOPICS))
        direction = topics[topic] + 0.8 * rng.standard_normal(DIM).astype(np.float32) / np.sqrt(DIM)
        own_words = [f"s{story}_{i}" for i in range(30)]
        span = rng.exponential(1.5)
        for _ in range(size):
            items.append((start + rng.uniform(0, span), story, topic, direction, own_words))
    items.sort(key=lambda item: item[0])
    items = items[:n]
    features, truth = [], []
    for i, (day, story, topic, direction, own_words) in enumerate(items):
        vector = direction + 0.9 * rng.standard_normal(DIM).astype(np.float32) / np.sqrt(DIM)
        vector /= np.linalg.norm(vector)
        count = int(rng.integers(40, 120))
        words = ([own_words[j] for j in rng.integers(0, len(own_words), count // 2)]
                 + [topic_words[topic][j] for j in rng.integers(0, 40, count // 5)]
                 + [f"w{j}" for j in rng.choice(BACKGROUND, count - count // 2 - count // 5, p=zipf)])
        counts = Counter(words)
        norm = float(np.sqrt(sum(c * c for c in counts.values())))
        features.append(StoryFeatures(id=f"a{i:07d}", vector=vector.astype(np.float32),
                                      terms={w: c / norm for w, c in counts.items()},
                                      time=20_000.0 + day, outlet=f"o{int(rng.integers(50))}",
                                      label=f"story {story}", has_title=True))
        truth.append(story)
    return features, truth


def baseline_ms(features: list[StoryFeatures], repeats: int = 2000) -> float:
    """Milliseconds for the reference unit of work per article (see the module docstring)."""
    from newsprism.engine.stories import TermStats

    rng = np.random.default_rng(3)
    centroids = rng.standard_normal((1000, DIM)).astype(np.float32)
    stats = TermStats()
    for f in features[:2000]:
        stats.add(f.terms)
    best = math.inf
    for _ in range(3):
        start = time.process_time()  # CPU time, as the clustering's cost is quoted
        for f in features[:repeats]:
            _ = centroids @ f.vector
            stats.weigh(f.terms)
        best = min(best, (time.process_time() - start) / min(repeats, len(features)))
    return 1000 * best


def run(n: int, per_day: float, batch: int) -> dict:
    features, truth = synthetic_stream(n, per_day)
    clusterer = StoryClusterer(StoryParams())
    placed: dict[str, int] = {}
    most_live = 0
    start, cpu = time.perf_counter(), time.process_time()
    for at in range(0, n, batch):
        placed |= clusterer.add_many(features[at:at + batch])
        most_live = max(most_live, len(clusterer._live.ids))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    quality = scores([str(t) for t in truth], [placed[f.id] for f in features])
    unit = baseline_ms(features)
    return {"articles": n, "seconds": seconds, "cpu_seconds": cpu, "ms_per_article": 1000 * seconds / n,
            "baseline_ms": unit, "x_baseline": 1000 * cpu / n / unit,
            "stories": len(clusterer.state.stories), "true_stories": len(set(truth)), "most_live": most_live,
            "dormant": len(clusterer._dormant), "bcubed_f1": quality["bcubed_f1"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--per-day", type=float, default=1000.0, help="articles a day in the stream")
    parser.add_argument("--batch", type=int, default=256, help="articles per add_many call (ingest batch)")
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start "
          f"(other work slows wall time; CPU seconds are this process's); "
          f"{args.per_day:.0f} articles/day, batches of {args.batch}")
    cols = ["articles", "seconds", "cpu_seconds", "ms_per_article", "baseline_ms", "x_baseline", "stories",
            "true_stories", "most_live", "dormant", "bcubed_f1"]
    print("x_baseline: CPU ms per article / baseline ms (the same for every size means linear growth)")
    print("".join(f"{c:>15}" for c in cols))
    for size in (int(s) for s in args.sizes.split(",")):
        row = run(size, args.per_day, args.batch)
        print("".join(f"{row[c]:>15.3f}" if isinstance(row[c], float) else f"{row[c]:>15}" for c in cols),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
