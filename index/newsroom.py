"""The one object both faces (CLI and HTTP) use: a store, its FAISS cache and the engine together.

The model loads on first need only, so `stats` or `stories` answer without the seconds a model
load costs, and a server loads it once for all requests.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

import numpy as np
from newsprism.engine import search as ranking
from newsprism.engine.analysis import compare
from newsprism.engine.clean import clean_field
from newsprism.engine.config import Settings
from newsprism.engine.diff import diff_versions
from newsprism.engine.embed import Embedder, get_embedder
from newsprism.engine.limits import MAX_NEIGHBOURS, MAX_SEARCH_DEPTH, MAX_SENTENCES_PER_REQUEST, OverLimit
from newsprism.engine.records import Article, RawItem, Rejection, Sentence
from newsprism.engine.stories import Story, StoryParams, TermStats, story_features
from newsprism.index.ingest import Ingestor, IngestReport
from newsprism.index.store import Filters, Store, from_blob
from newsprism.index.stories import StoryKeeper, iso
from newsprism.index.vectors import VectorCache

EXACT_FILTERED_MAX = 50_000  # a filter this selective is searched exactly over its own vectors
ANALYSES_CACHED = 64  # story analyses (claims, summaries, reports) kept for the current store generation
UNRELATED_COSINE = 0.3


# A story listing's aggregate fields, in the order the API shows them.
_COUNTS = ("first_seen", "last_seen", "article_count", "outlet_count", "outlets")
_ID_CHUNK = 500


class Newsroom:
    def __init__(self, settings: Settings, create: bool = True) -> None:
        self.settings = settings
        self.store = Store(settings.store, create=create)
        self.cache = VectorCache(self.store, {"exact_max": settings.exact_max,
                                              "hnsw_ef_search": settings.hnsw_ef_search,
                                              "ivfpq_min": settings.ivfpq_min})
        self._analyses: OrderedDict[tuple, Any] = OrderedDict()
        self._analyses_generation = -1
        self._analyses_lock = threading.Lock()

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
        keeper = StoryKeeper(StoryParams.from_settings(self.settings))
        ingestor = Ingestor(self.store, self.cache, self.embedder, self.settings, stories=keeper)
        before = self.last_aid()
        report = ingestor.run(items, progress=progress, report=report)
        if report.stored and self.settings.story_settle:
            self.settle_stories(after=before)
        return report

    def last_aid(self) -> int:
        """The newest article's row id: what an ingest run stores comes after it."""
        return int(self.store.conn.execute("SELECT coalesce(max(aid), 0) FROM articles").fetchone()[0])

    def settle_stories(self, after: int | None = None) -> dict:
        """Regroup the articles of the run just in (row ids past `after`) and of the recent window,
        once an ingest run is in, with stable ids.

        Arrival order makes online grouping greedy (an early article can seed a story that later
        ones would have split or joined differently, and a run that loads months of back issues is
        all arrival order); those articles, at most `story_settle_max` of the newest, leave their
        stories and are placed again in one batch pass by the rule ingest follows (live and dormant
        stories as candidates), which corrects that at a cost that does not grow with the archive.
        """
        clock = self.store.meta("story_clock")
        since = iso(float(clock) - self.settings.story_window_days) if clock else None
        where = "(a.published IS NULL OR a.published >= ?)" if since else "1"
        if since and after is not None:
            where = f"({where} OR a.aid > {int(after)})"
        newest = self.store.conn.execute(
            f"SELECT aid FROM articles a WHERE {where} ORDER BY aid DESC LIMIT 1 OFFSET ?",
            [*([since] if since else []), self.settings.story_settle_max - 1]).fetchone()
        if newest is not None:
            where += f" AND a.aid >= {int(newest[0])}"
        return self._recluster(where, [since] if since else [])

    def recluster(self, since: str | None = None) -> dict:
        """Regroup stored articles (all, or published since a date) in one batch pass, by the rule
        ingest follows, against the stories of every other article.

        Story ids stay stable: a story that keeps other articles keeps its id, and a new group takes
        the id of the emptied story holding most of its articles; only groups with no such story get
        new ids. Emptied stories are removed. Articles of stories an editor curated (merged, split,
        moved into, renamed) keep their story; new articles may still join a curated story.
        """
        return self._recluster(*(("a.published >= ?", [since]) if since else ("1", [])))

    def _recluster(self, where: str, args: list) -> dict:
        """Take the chosen articles out of their stories and place them again as one batch, by the
        rule ingest follows (engine.stories: live and dormant stories, the bar rising with the gap)."""
        where += " AND (a.story_id IS NULL OR a.story_id NOT IN (SELECT story_id FROM stories WHERE curated = 1))"
        with self.store.transaction() as conn:  # read under the write lock: another writer cannot interleave
            rows = conn.execute(f"SELECT a.aid, a.story_id FROM articles a WHERE {where}", args).fetchall()
            articles = self.load_articles([r["aid"] for r in rows])
            old = {a.id: a.story_id for a in articles}
            grouping = StoryKeeper(StoryParams.from_settings(self.settings)).regroup(conn, articles)
            before = {sid for sid in old.values() if sid is not None}
            left = {r[0] for r in conn.execute("SELECT story_id FROM stories")}
            self.store.bump_generation(conn)
        changed = sum(1 for i, g in grouping.items() if old.get(i) != g)
        return {"articles": len(grouping), "stories": len(set(grouping.values())), "moved": changed,
                "removed": len(before - left)}

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
                return self._exact_hits(qvec, filters, min(want * 20, MAX_NEIGHBOURS))
        k = min(max(64, want * 10), MAX_NEIGHBOURS)
        while True:
            scores, vids = self.cache.search("sentences", qvec[None, :], k)
            pairs = [(int(v), float(s)) for v, s in zip(vids[0], scores[0], strict=True) if v >= 0]
            hits = self._hits_for_vectors(pairs, filters)
            exhausted = len(pairs) < k
            if exhausted or k >= MAX_NEIGHBOURS or len({h.copy_of or h.article_id for h in hits}) >= want:
                return hits
            k = min(k * 4, MAX_NEIGHBOURS)

    def _exact_hits(self, qvec: np.ndarray, filters: Filters, limit: int) -> list[ranking.SentenceHit]:
        where, args = filters.sql()
        rows = self.store.conn.execute(
            f"SELECT DISTINCT s.vid, v.vec FROM sentences s JOIN articles a ON a.aid = s.aid "
            f"JOIN vectors v ON v.vid = s.vid WHERE {where}", args).fetchall()
        if not rows:
            return []
        matrix = np.vstack([from_blob(r[1]) for r in rows])
        scores = matrix @ qvec
        order = np.argsort(-scores)[:limit]
        pairs = [(int(rows[i][0]), float(scores[i])) for i in order]
        return self._hits_for_vectors(pairs, filters)

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

    def keyword_hits(self, query: str, want: int, filters: Filters) -> list[ranking.SentenceHit]:
        """Sentences matching the query's words (BM25 over the store's FTS5 index), best first."""
        match = ranking.fts_query(query)
        if match is None:
            return []
        where, args = filters.sql()
        rows = self.store.conn.execute(
            f"SELECT s.text, s.position, a.ext_id, a.title, a.outlet, a.published, a.url, a.story_id, "
            f"o.ext_id AS original, bm25(sentences_fts) AS rank FROM sentences_fts "
            f"JOIN sentences s ON s.sid = sentences_fts.rowid JOIN articles a ON a.aid = s.aid "
            f"LEFT JOIN articles o ON o.aid = a.copy_of WHERE sentences_fts MATCH ? AND {where} "
            f"ORDER BY rank LIMIT ?", [match, *args, min(max(200, want * 20), MAX_NEIGHBOURS)]).fetchall()
        return [ranking.SentenceHit(
            article_id=r["ext_id"], title=r["title"], outlet=r["outlet"], published=r["published"], url=r["url"],
            text=r["text"], position=r["position"], score=-float(r["rank"]), copy_of=r["original"],
            story_id=r["story_id"]) for r in rows]

    def search(self, query: str, k: int = 10, filters: Filters | None = None, level: str = "articles",
               mode: str = "hybrid") -> list[dict]:
        """The top-k results (see `search_page` for paging and totals)."""
        return self.search_page(query, k, filters, level, mode)["results"]

    def search_page(self, query: str, k: int = 10, filters: Filters | None = None, level: str = "articles",
                    mode: str = "hybrid", offset: int = 0) -> dict:
        """Search in one of three modes; quoted phrases must match exactly in keyword and hybrid modes.

        Returns {"results", "total", "offset", "mode"}; `total` counts the matches found (bounded).
        Raises OverLimit past MAX_SEARCH_DEPTH results (offset + k): deep pages cost FAISS and SQL work.
        """
        if mode not in {"semantic", "keyword", "hybrid"}:
            raise ValueError(f"mode must be semantic, keyword or hybrid, not {mode!r}")
        if k + offset > MAX_SEARCH_DEPTH:
            raise OverLimit(f"offset + k is {offset + k}, past the {MAX_SEARCH_DEPTH} results a search pages through; "
                            f"narrow the query or the filters instead")
        filters = filters or Filters()
        want = k + offset
        phrases = ranking.quoted_phrases(query) if mode != "semantic" else []
        runs = []
        if mode in {"semantic", "hybrid"}:
            hits = self.sentence_hits(query, want * (4 if phrases else 1), filters)
            if phrases:
                allowed = {h.copy_of or h.article_id for h in self.keyword_hits(query, want * 10, filters)}
                hits = [h for h in hits if (h.copy_of or h.article_id) in allowed]
            runs.append(hits)
        if mode in {"keyword", "hybrid"}:
            hits = self.keyword_hits(query, want, filters)
            runs.append([h for h in hits if not phrases or ranking.has_phrases(h.text, phrases)])
        if level == "sentences":
            if len(runs) == 1:
                found = ranking.rank_sentences(runs[0], 10_000)
            else:
                semantic_top = max((h.score for h in runs[0][:1]), default=0.0)
                fused = ranking.fuse([{h.text: h.score for h in reversed(run)} for run in runs],
                                     weights=[semantic_weight(semantic_top), 1.0])
                by_text = {h.text: h for run in runs for h in run}
                merged = [by_text[t] for t in sorted(fused, key=lambda t: -fused[t])]
                found = ranking.rank_sentences_in_order(merged, fused)
        else:
            ranked = [ranking.rank_articles(run, 10_000) for run in runs]
            semantic = ranked[0] if mode != "keyword" else None
            keyword = ranked[-1] if mode != "semantic" else None
            # the semantic run weighs by how well the embedding matched at all: a query of rare
            # names and numbers matches no sentence closely, and then the keyword evidence should lead
            weight = semantic_weight(max((r.score for r in semantic[:1]), default=0.0)) if semantic else 0.0
            scores = ranking.article_scores(keyword, runs[-1] if keyword is not None else [], query, semantic,
                                            weight)
            best: dict[str, ranking.ArticleResult] = {}
            for run in ranked:
                for r in run:
                    kept = best.setdefault(r.id, r)
                    if kept is not r:  # each run saw the copies its own hits came from: list them all
                        known = {c["id"] for c in kept.also_in}
                        kept.also_in = kept.also_in + [c for c in r.also_in if c["id"] not in known]
            found = []
            for article_id in sorted(scores, key=lambda i: (-scores[i], i)):
                result = best[article_id].as_dict()
                result["score"] = round(scores[article_id], 6)
                found.append(result)
        return {"results": found[offset:offset + k], "total": len(found), "offset": offset, "mode": mode}

    def delete_article(self, ext_id: str) -> bool:
        """Remove an article with its sentences, versions and unshared vectors; False if unknown."""
        with self.store.transaction() as conn:
            row = conn.execute("SELECT aid, story_id FROM articles WHERE ext_id = ?", (ext_id,)).fetchone()
            if row is None:
                return False
            aid = row["aid"]
            vids = [r[0] for r in conn.execute("SELECT vid FROM sentences WHERE aid = ?", (aid,))]
            conn.execute("DELETE FROM copy_bands WHERE aid = ?", (aid,))
            conn.execute("DELETE FROM articles WHERE aid = ?", (aid,))
            if row["story_id"] is not None:
                self._rebuild_story(conn, row["story_id"], curated=False)
            orphans = Ingestor.drop_orphan_vectors(conn, vids)
            self.store.bump_generation(conn)
        self.cache.remove("sentences", np.asarray(orphans, dtype=np.int64))
        self.cache.remove("articles", np.asarray([aid], dtype=np.int64))
        self.cache.ensure()
        self.cache.save()
        return True

    def prune(self, before: str) -> dict:
        """Remove articles published before a date with everything hanging off them, in one transaction;
        then give the space back (VACUUM). A kill mid-way rolls back; FAISS catches up on next open."""
        with self.store.transaction() as conn:
            aids = [r[0] for r in conn.execute("SELECT aid FROM articles WHERE published < ?", (before,))]
            vids = [r[0] for aid in aids for r in conn.execute("SELECT vid FROM sentences WHERE aid = ?", (aid,))]
            conn.executemany("DELETE FROM copy_bands WHERE aid = ?", [(a,) for a in aids])
            conn.executemany("DELETE FROM articles WHERE aid = ?", [(a,) for a in aids])
            orphans = Ingestor.drop_orphan_vectors(conn, vids)
            conn.execute("UPDATE stories SET n_articles = (SELECT count(*) FROM articles a "
                         "WHERE a.story_id = stories.story_id)")
            emptied = conn.execute("DELETE FROM stories WHERE n_articles = 0").rowcount
            self.store.bump_generation(conn)
        self.cache.remove("sentences", np.asarray(orphans, dtype=np.int64))
        self.cache.remove("articles", np.asarray(aids, dtype=np.int64))
        self.cache.ensure()
        self.cache.save()
        before_bytes = self.store.size_on_disk()
        with self.store.write_lock:
            self.store.conn.execute("VACUUM")
            self.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {"articles": len(aids), "vectors": len(orphans), "stories": emptied,
                "bytes_before": before_bytes, "bytes_after": self.store.size_on_disk()}

    # -- story analyses, cached per store generation ----------------------------------------------
    def analysis(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """`compute()` once per key and store generation: a repeated GET is cheap, a GET after any write fresh.

        The generation is read from SQLite on every call, so a write by another process (a CLI ingest
        beside the server) is seen too. Results are shared: callers must not change them.
        """
        generation = self.store.generation()
        with self._analyses_lock:
            if generation != self._analyses_generation:
                self._analyses.clear()
                self._analyses_generation = generation
            if key in self._analyses:
                self._analyses.move_to_end(key)
                return self._analyses[key]
        value = compute()
        with self._analyses_lock:
            if generation == self._analyses_generation:
                self._analyses[key] = value
                while len(self._analyses) > ANALYSES_CACHED:
                    self._analyses.popitem(last=False)
        return value

    def analysable(self, articles: list[Article]) -> tuple[list[Article], list[str]]:
        """The newest articles whose sentences fit MAX_SENTENCES_PER_REQUEST, and a warning when some were left out."""
        kept, total = [], 0
        for article in sorted(articles, key=lambda a: (a.published or "", a.id), reverse=True):
            total += len(article.sentences)
            if total > MAX_SENTENCES_PER_REQUEST and kept:
                break
            kept.append(article)
        if len(kept) == len(articles):
            return articles, []
        kept.sort(key=lambda a: (a.published or "", a.id))
        return kept, [f"analysed the newest {len(kept)} of {len(articles)} articles: the story holds more than "
                      f"the {MAX_SENTENCES_PER_REQUEST} sentences one analysis reads"]

    # -- editor curation: decisions that later ingests and reclusters keep ---------------------------
    def _story_exists(self, conn, story_id: int) -> None:
        if conn.execute("SELECT 1 FROM articles WHERE story_id = ? LIMIT 1", (story_id,)).fetchone() is None:
            raise KeyError(f"no story {story_id}")

    def _rebuild_story(self, conn, story_id: int, curated: bool = True) -> None:
        """Recompute a story's running sums from its articles after an editor changed it."""
        aids = [r[0] for r in conn.execute("SELECT aid FROM articles WHERE story_id = ?", (story_id,))]
        articles = self.load_articles(aids, conn)
        if not articles:
            conn.execute("DELETE FROM stories WHERE story_id = ?", (story_id,))
            return
        docs = conn.execute("SELECT value FROM meta WHERE key = 'story_docs'").fetchone()
        terms = TermStats(int(docs[0]) if docs else 0, dict(conn.execute("SELECT term, df FROM terms").fetchall()))
        params = StoryParams.from_settings(self.settings)
        features = [story_features(a) for a in articles]
        story = Story.of(features[0], story_id, features[0].time, terms)
        for f in features[1:]:
            single = Story.of(f, story_id, f.time, terms)
            # running sums of unit TF-IDF vectors: the summed similarity is one dot product
            cross = sum(weight * story.terms.get(term, 0.0) for term, weight in single.terms.items())
            story.merge(single, cross, params.max_terms)
        story.refresh()
        label = conn.execute("SELECT label, curated FROM stories WHERE story_id = ?", (story_id,)).fetchone()
        StoryKeeper.save_story(conn, story)
        conn.execute("UPDATE stories SET curated = max(curated, ?) WHERE story_id = ?", (int(curated), story_id))
        if label is not None and label["curated"]:
            conn.execute("UPDATE stories SET label = ? WHERE story_id = ?", (label["label"], story_id))

    def merge_stories(self, target: int, other: int) -> dict:
        with self.store.transaction() as conn:
            self._story_exists(conn, target)
            self._story_exists(conn, other)
            conn.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (target, other))
            conn.execute("DELETE FROM stories WHERE story_id = ?", (other,))
            self._rebuild_story(conn, target)
            self.store.bump_generation(conn)
        return self.story(target)

    def split_story(self, story_id: int, article_ids: list[str]) -> dict:
        with self.store.transaction() as conn:
            self._story_exists(conn, story_id)
            aids = self._aids_in(conn, article_ids, story_id)
            new_id = int(conn.execute("SELECT coalesce(max(story_id), 0) FROM stories").fetchone()[0]) + 1
            conn.executemany("UPDATE articles SET story_id = ? WHERE aid = ?", [(new_id, a) for a in aids])
            self._rebuild_story(conn, new_id)
            self._rebuild_story(conn, story_id)
            self.store.bump_generation(conn)
        return self.story(new_id)

    def move_article(self, article_id: str, story_id: int) -> dict:
        with self.store.transaction() as conn:
            self._story_exists(conn, story_id)
            row = conn.execute("SELECT aid, story_id FROM articles WHERE ext_id = ?", (article_id,)).fetchone()
            if row is None:
                raise KeyError(f"no article {article_id!r}")
            conn.execute("UPDATE articles SET story_id = ? WHERE aid = ?", (story_id, row["aid"]))
            self._rebuild_story(conn, story_id)
            if row["story_id"] is not None and row["story_id"] != story_id:
                self._rebuild_story(conn, row["story_id"])
            self.store.bump_generation(conn)
        return self.story(story_id)

    def rename_story(self, story_id: int, label: str) -> dict:
        with self.store.transaction() as conn:
            self._story_exists(conn, story_id)
            conn.execute("UPDATE stories SET label = ?, curated = 1 WHERE story_id = ?", (clean_field(label), story_id))
            self.store.bump_generation(conn)
        return self.story(story_id)

    @staticmethod
    def _aids_in(conn, article_ids: list[str], story_id: int) -> list[int]:
        aids = []
        for ext in article_ids:
            row = conn.execute("SELECT aid, story_id FROM articles WHERE ext_id = ?", (ext,)).fetchone()
            if row is None or row["story_id"] != story_id:
                raise KeyError(f"article {ext!r} is not in story {story_id}")
            aids.append(row["aid"])
        return aids

    # -- reading ----------------------------------------------------------------------------------
    def article(self, ext_id: str, diff: bool = False) -> dict | None:
        """An article as every face shows it: fields, sentences, versions, copies (and diffs)."""
        found = self._article(ext_id)
        if found is not None and diff:
            texts = [r[0] for r in self.store.conn.execute(
                "SELECT v.text FROM article_versions v JOIN articles a ON a.aid = v.aid WHERE a.ext_id = ? "
                "ORDER BY v.version", (ext_id,))]
            found["diffs"] = [{"from_version": i + 1, "to_version": i + 2, **diff_versions(texts[i], texts[i + 1])}
                              for i in range(len(texts) - 1)]
        return found

    def _article(self, ext_id: str) -> dict | None:
        row = self.store.article_row(ext_id)
        if row is None:
            return None
        conn = self.store.conn
        original = conn.execute("SELECT ext_id FROM articles WHERE aid = ?", (row["copy_of"],)).fetchone() \
            if row["copy_of"] else None
        copies = [r[0] for r in conn.execute("SELECT ext_id FROM articles WHERE copy_of = ?", (row["aid"],))]
        versions = conn.execute("SELECT version, title, ingested, published FROM article_versions WHERE aid = ? "
                                "ORDER BY version", (row["aid"],)).fetchall()
        return {
            "id": row["ext_id"], "title": row["title"], "outlet": row["outlet"], "published": row["published"],
            "url": row["url"], "lang": row["lang"], "story_id": row["story_id"], "version": row["version"],
            "ingested": row["ingested"], "copy_of": original[0] if original else None, "copies": copies,
            "text": row["text"],
            "sentences": [{"position": s["position"], "paragraph": s["paragraph"], "start": s["start"],
                           "end": s["end"], "text": s["text"]} for s in self.store.sentences_of(row["aid"])],
            "versions": [dict(v) for v in versions],
        }

    def story_index(self, filters: Filters | None = None, story_id: int | None = None) -> list[dict]:
        """Every story the filters leave an article in (or only `story_id`), as one aggregate row each
        (no articles, no state).

        Counting in SQL keeps a listing page's cost to one pass over the article index: the full
        records (`story_details`) are read only for the stories a page shows.
        """
        where, args = (filters or Filters()).sql()
        if story_id is not None:
            where, args = f"a.story_id = ? AND {where}", [story_id, *args]
        rows = self.store.conn.execute(
            f"SELECT a.story_id, count(*) AS n, min(a.published) AS first, max(a.published) AS last, "
            f"json_group_array(DISTINCT a.outlet) AS outlets FROM articles a "
            f"WHERE a.story_id IS NOT NULL AND {where} GROUP BY a.story_id", args).fetchall()
        out = []
        for r in rows:
            outlets = sorted(json.loads(r["outlets"]))
            out.append({"id": r["story_id"], "first_seen": r["first"], "last_seen": r["last"],
                        "article_count": r["n"], "outlet_count": len(outlets), "outlets": outlets})
        out.sort(key=lambda s: (-s["article_count"], -s["outlet_count"], s["first_seen"] or "", s["id"]))
        return out

    def story_details(self, listed: list[dict], filters: Filters | None = None) -> list[dict]:
        """`story_index` rows completed with label, keywords, curation and their articles in time order."""
        if len(listed) > _ID_CHUNK:  # SQLite caps the parameters of one statement
            return [s for lo in range(0, len(listed), _ID_CHUNK)
                    for s in self.story_details(listed[lo:lo + _ID_CHUNK], filters)]
        if not listed:
            return []
        where, args = (filters or Filters()).sql()
        ids = [s["id"] for s in listed]
        marks = ",".join("?" * len(ids))
        members: dict[int, list[dict]] = {i: [] for i in ids}
        for r in self.store.conn.execute(
                f"SELECT a.ext_id, a.title, a.outlet, a.published, a.url, a.story_id, a.lang, o.ext_id AS original "
                f"FROM articles a LEFT JOIN articles o ON o.aid = a.copy_of "
                f"WHERE a.story_id IN ({marks}) AND {where} ORDER BY a.published, a.ext_id", [*ids, *args]):
            members[r["story_id"]].append(
                {"id": r["ext_id"], "title": r["title"], "outlet": r["outlet"], "published": r["published"],
                 "url": r["url"], "lang": r["lang"], "copy_of": r["original"]})
        meta = {r["story_id"]: r for r in self.store.conn.execute(
            f"SELECT story_id, label, curated, state FROM stories WHERE story_id IN ({marks})", ids)}
        out = []
        for entry in listed:
            articles, row = members[entry["id"]], meta.get(entry["id"])
            state = json.loads(row["state"]) if row is not None else {}
            out.append({"id": entry["id"], "label": row["label"] if row is not None else articles[0]["title"],
                        "keywords": state.get("keywords", []), **{k: entry[k] for k in _COUNTS},
                        "curated": bool(row["curated"]) if row is not None else False, "articles": articles})
        return out

    def stories(self, filters: Filters | None = None, limit: int | None = None, offset: int = 0) -> dict:
        """Stories, largest first, each with every article (the filters pick the articles shown)."""
        listed = self.story_index(filters)
        end = None if limit is None else offset + limit
        return {"total": len(listed), "offset": offset, "stories": self.story_details(listed[offset:end], filters)}

    def story(self, story_id: int) -> dict | None:
        """One story with its articles in time order."""
        found = self.story_details(self.story_index(story_id=story_id))
        return found[0] if found else None

    def story_changes(self, story_id: int, since: str) -> dict:
        """What an editor checks each morning: what changed in a story since a time.

        New articles and outlets, new claims (first carried by an article taken in since then),
        conflicts a new article brought in (numbers, dates, names differing from earlier reports), figures a
        new article revised (a toll that rose: `revised_facts`, both times kept), and corrected articles with
        their changed sentences.
        """
        conn = self.store.conn
        rows = conn.execute("SELECT aid, ext_id, title, outlet, published, url, ingested, version FROM articles "
                            "WHERE story_id = ? ORDER BY published, ext_id", (story_id,)).fetchall()
        fresh = {r["ext_id"] for r in rows if r["ingested"] >= since}
        old_outlets = {r["outlet"] for r in rows if r["ext_id"] not in fresh}
        corrected = []
        for r in rows:
            versions = conn.execute("SELECT version, text, ingested FROM article_versions WHERE aid = ? "
                                    "ORDER BY version", (r["aid"],)).fetchall()
            for before, after in zip(versions, versions[1:], strict=False):
                if after["ingested"] >= since:
                    corrected.append({"id": r["ext_id"], "outlet": r["outlet"], "url": r["url"],
                                      "from_version": before["version"], "to_version": after["version"],
                                      **diff_versions(before["text"], after["text"])})
        table = compare(self.story_articles(story_id), self.settings.model)
        new_claims = [c for c in table["claims"]
                      if all(m["article_id"] in fresh for m in c["members"]) and c["members"]]
        def brought_in(c: dict) -> bool:
            return any(a in fresh for side in c["sides"] for a in side["articles"]) and \
                any(a not in fresh for side in c["sides"] for a in side["articles"])

        changed_facts = [c for c in table["conflicts"] if brought_in(c)]
        revised_facts = [c for c in table["revisions"] if brought_in(c)]
        return {
            "story_id": story_id, "since": since,
            "new_articles": [{"id": r["ext_id"], "title": r["title"], "outlet": r["outlet"],
                              "published": r["published"], "url": r["url"]} for r in rows if r["ext_id"] in fresh],
            "new_outlets": sorted({r["outlet"] for r in rows if r["ext_id"] in fresh} - old_outlets),
            "new_claims": new_claims, "changed_facts": changed_facts, "revised_facts": revised_facts,
            "corrected_articles": corrected,
        }

    def story_articles(self, story_id: int) -> list[Article]:
        aids = [r[0] for r in self.store.conn.execute("SELECT aid FROM articles WHERE story_id = ?", (story_id,))]
        return self.load_articles(aids)

    def load_articles(self, aids: list[int], conn=None) -> list[Article]:
        """Stored articles as engine records, sentences and vectors filled, in publication order."""
        conn = conn or self.store.conn
        out = []
        for aid in aids:
            row = conn.execute(
                "SELECT a.*, o.ext_id AS original FROM articles a LEFT JOIN articles o ON o.aid = a.copy_of "
                "WHERE a.aid = ?", (aid,)).fetchone()
            if row is None:
                continue
            sentences = conn.execute(
                'SELECT s.position, s.paragraph, s.start, s."end", s.text, s.sid, v.vec FROM sentences s '
                "JOIN vectors v ON v.vid = s.vid WHERE s.aid = ? ORDER BY s.position", (aid,)).fetchall()
            out.append(Article(
                id=row["ext_id"], text=row["text"], title=row["title"], outlet=row["outlet"],
                published=row["published"], url=row["url"], lang=row["lang"], copy_of=row["original"],
                story_id=row["story_id"], version=row["version"],
                sentences=[Sentence(r["text"], r["position"], r["paragraph"], r["start"], r["end"],
                                    from_blob(r["vec"]).copy(), r["sid"]) for r in sentences]))
        out.sort(key=lambda a: (a.published or "", a.id))
        return out

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


def semantic_weight(top_cosine: float) -> float:
    """How far the best semantic match stands above what unrelated sentences score (~0.3 for MiniLM)."""
    return min(1.0, max(0.0, (top_cosine - UNRELATED_COSINE) / (1.0 - UNRELATED_COSINE)))

