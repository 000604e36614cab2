"""The one object both faces (CLI and HTTP) use: a store, its FAISS cache and the engine together.

The model loads on first need only, so `stats` or `stories` answer without the seconds a model
load costs, and a server loads it once for all requests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property

import numpy as np

from engine import search as ranking
from engine.config import Settings
from engine.embed import Embedder, get_embedder
from engine.records import RawItem, Rejection
from index.ingest import Ingestor, IngestReport
from index.store import Filters, Store, from_blob
from index.vectors import VectorCache

EXACT_FILTERED_MAX = 50_000  # a filter this selective is searched exactly over its own vectors
MAX_CANDIDATES = 4096


class Newsroom:
    def __init__(self, settings: Settings, create: bool = True) -> None:
        self.settings = settings
        self.store = Store(settings.store, create=create)
        self.cache = VectorCache(self.store, {"exact_max": settings.exact_max,
                                              "hnsw_ef_search": settings.hnsw_ef_search})

    @cached_property
    def embedder(self) -> Embedder:
        embedder = get_embedder(self.settings.model, self.settings.batch_size)
        self.store.check_model(embedder.name, embedder.dim)
        return embedder

    def close(self) -> None:
        self.store.close()

    # -- writing ----------------------------------------------------------------------------------
    def ingest(self, items: Iterable[RawItem | Rejection], progress: Callable[[int], None] | None = None,
               report: IngestReport | None = None) -> IngestReport:
        ingestor = Ingestor(self.store, self.cache, self.embedder, self.settings)
        return ingestor.run(items, progress=progress, report=report)

    def reindex(self) -> dict:
        """Rebuild every FAISS index from SQLite."""
        self.cache.rebuild()
        return self.cache.describe()

    # -- search -----------------------------------------------------------------------------------
    def encode_query(self, query: str) -> np.ndarray:
        return self.embedder.encode([query])[0]

    def sentence_hits(self, query: str, want: int, filters: Filters) -> list[ranking.SentenceHit]:
        """Sentences near the query that pass the filters, best first, enough for `want` articles."""
        qvec = self.encode_query(query)
        if filters.active:
            where, args = filters.sql()
            n = self.store.count("sentences s JOIN articles a ON a.aid = s.aid", where, args)
            if n <= EXACT_FILTERED_MAX:
                return self._exact_hits(qvec, where, args, want * 20)
        k = max(64, want * 10)
        while True:
            scores, vids = self.cache.search("sentences", qvec[None, :], k)
            pairs = [(int(v), float(s)) for v, s in zip(vids[0], scores[0], strict=True) if v >= 0]
            hits = self._hits_for_vectors(pairs, filters)
            exhausted = len(pairs) < k
            if exhausted or k >= MAX_CANDIDATES or len({h.copy_of or h.article_id for h in hits}) >= want:
                return hits
            k *= 4

    def _exact_hits(self, qvec: np.ndarray, where: str, args: list, limit: int) -> list[ranking.SentenceHit]:
        rows = self.store.conn.execute(
            f"SELECT DISTINCT s.vid, v.vec FROM sentences s JOIN articles a ON a.aid = s.aid "
            f"JOIN vectors v ON v.vid = s.vid WHERE {where}", args).fetchall()
        if not rows:
            return []
        matrix = np.vstack([from_blob(r[1]) for r in rows])
        scores = matrix @ qvec
        order = np.argsort(-scores)[:limit]
        pairs = [(int(rows[i][0]), float(scores[i])) for i in order]
        return self._hits_for_vectors(pairs, Filters(*args_to_filters(where, args)))

    def _hits_for_vectors(self, pairs: list[tuple[int, float]], filters: Filters) -> list[ranking.SentenceHit]:
        if not pairs:
            return []
        score_of = dict(pairs)
        where, args = filters.sql()
        hits = []
        vids = list(score_of)
        for start in range(0, len(vids), 900):
            chunk = vids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            rows = self.store.conn.execute(
                f"SELECT s.vid, s.text, s.position, a.ext_id, a.title, a.outlet, a.published, a.url, a.story_id, "
                f"o.ext_id AS original FROM sentences s JOIN articles a ON a.aid = s.aid "
                f"LEFT JOIN articles o ON o.aid = a.copy_of WHERE s.vid IN ({marks}) AND {where}",
                [*chunk, *args]).fetchall()
            hits.extend(ranking.SentenceHit(
                article_id=r["ext_id"], title=r["title"], outlet=r["outlet"], published=r["published"],
                url=r["url"], text=r["text"], position=r["position"], score=score_of[r["vid"]],
                copy_of=r["original"], story_id=r["story_id"]) for r in rows)
        hits.sort(key=lambda h: -h.score)
        return hits

    def search(self, query: str, k: int = 10, filters: Filters | None = None, level: str = "articles") -> list[dict]:
        filters = filters or Filters()
        hits = self.sentence_hits(query, k, filters)
        if level == "sentences":
            return ranking.rank_sentences(hits, k)
        return [r.as_dict() for r in ranking.rank_articles(hits, k)]

    # -- reading ----------------------------------------------------------------------------------
    def stats(self) -> dict:
        s = self.store
        outlets = s.conn.execute("SELECT outlet, count(*) AS n FROM articles GROUP BY outlet "
                                 "ORDER BY n DESC").fetchall()
        langs = s.conn.execute("SELECT lang, count(*) AS n FROM articles GROUP BY lang ORDER BY n DESC").fetchall()
        return {
            "store": str(s.folder),
            "model": s.model, "dim": s.dim,
            "articles": s.count("articles"),
            "copies": s.count("articles", "copy_of IS NOT NULL"),
            "sentences": s.count("sentences", "position >= 0"),
            "distinct_sentence_vectors": s.count("vectors"),
            "outlets": len(outlets),
            "by_outlet": {r["outlet"]: r["n"] for r in outlets},
            "by_language": {r["lang"]: r["n"] for r in langs},
            "stories": s.count("stories", "n_articles > 0"),
            "index": self.cache.describe(),
            "size_bytes": s.size_on_disk(),
            "generation": s.generation(),
        }


def args_to_filters(where: str, args: list) -> tuple:
    """Filters rebuilt from their own SQL, for the exact path that already applied them."""
    names = [("outlet", "lower(a.outlet)"), ("since", "a.published >="), ("until", "a.published <="),
             ("lang", "a.lang =")]
    values, it = [], iter(args)
    for _, marker in names:
        values.append(next(it) if marker in where else None)
    return tuple(values)
