"""Ingest: the engine's stages over batches, then one SQLite transaction per batch, then FAISS.

Order of a batch: normalise, learn/drop boilerplate, split, embed only unseen sentence texts
(outside any lock), then in one transaction: duplicates, versions, copies, rows, stories. FAISS
is updated after the commit and saved at the end; a kill in between is caught up on next open.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from newsprism.engine import pipeline
from newsprism.engine.config import Settings
from newsprism.engine.dedupe import band_keys, resemblance, sentence_key, shingles
from newsprism.engine.embed import Embedder
from newsprism.engine.limits import MAX_VERSIONS_PER_ARTICLE
from newsprism.engine.records import Article, RawItem, Rejection
from newsprism.index.store import Store, to_blob
from newsprism.index.vectors import VectorCache


@dataclass
class IngestReport:
    """What happened to every input: the closing line of an ingest and its JSON."""

    new: int = 0
    duplicate: int = 0
    near_copy: int = 0
    updated: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    sentences: int = 0
    embedded: int = 0
    ids: list[str] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return self.new + self.near_copy + self.updated

    def as_dict(self) -> dict:
        return {"new": self.new, "duplicate": self.duplicate, "near_copy": self.near_copy,
                "updated": self.updated, "rejected": len(self.rejected), "sentences": self.sentences,
                "embedded": self.embedded, "ids": self.ids,
                "rejections": [{"origin": r.origin, "reason": r.reason} for r in self.rejected]}


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Ingestor:
    """Runs batches of raw items into one store; owns no global state, so tests can run several."""

    def __init__(self, store: Store, cache: VectorCache, embedder: Embedder, settings: Settings,
                 stories: Callable[[sqlite3.Connection, list[tuple[int, Article]]], None] | None = None) -> None:
        self.store, self.cache, self.embedder, self.settings = store, cache, embedder, settings
        self.assign_stories = stories
        self.new_vids: list[int] = []
        store.check_model(embedder.name, embedder.dim)

    def run(self, items: Iterable[RawItem | Rejection], progress: Callable[[int], None] | None = None,
            report: IngestReport | None = None) -> IngestReport:
        report = report or IngestReport()
        self.cache.ensure()
        try:
            for batch in pipeline.batched(items, self.settings.ingest_batch):
                raw = [i for i in batch if isinstance(i, RawItem)]
                report.rejected.extend(i for i in batch if isinstance(i, Rejection))
                self.ingest_batch(raw, report)
                if progress:
                    progress(len(batch))
        finally:
            self.cache.save()
        return report

    def ingest_batch(self, raw: list[RawItem], report: IngestReport) -> None:
        articles, rejected = pipeline.normalize(raw, self.settings.max_article_chars, self.settings.canonical_outlet,
                                                self.settings.date_range())
        report.rejected.extend(rejected)
        articles = self.drop_known_duplicates(articles, report)
        line_counts = pipeline.outlet_line_counts(articles)
        articles, rejected = pipeline.clean(articles, self.recurring_lines(line_counts))
        report.rejected.extend(rejected)
        articles, rejected = pipeline.within_limits(pipeline.split(articles))
        report.rejected.extend(rejected)
        articles = pipeline.detect_language(articles)
        if not articles:
            return
        articles, encoded = pipeline.embed(articles, self.embedder.encode, self.store.known_vectors)
        report.embedded += encoded
        self.write(articles, line_counts, report)

    def recurring_lines(self, batch_counts: dict[str, dict[str, int]]) -> dict[str, set[str]]:
        """Per outlet, the short lines that recur in enough of its articles (stored + this batch)."""
        threshold = self.settings.boilerplate_repeats
        recurring: dict[str, set[str]] = {}
        for outlet, counts in batch_counts.items():
            keys = list(counts)
            stored: Counter[str] = Counter()
            for start in range(0, len(keys), 900):
                chunk = keys[start:start + 900]
                marks = ",".join("?" * len(chunk))
                stored.update(dict(self.store.conn.execute(
                    f"SELECT line, articles FROM outlet_lines WHERE outlet = ? AND line IN ({marks})",
                    [outlet, *chunk]).fetchall()))
            recurring[outlet] = {k for k, n in counts.items() if n + stored[k] >= threshold}
        return recurring

    def drop_known_duplicates(self, articles: list[Article], report: IngestReport) -> list[Article]:
        """Skip, before embedding, articles whose id/URL already holds this very text."""
        kept = []
        for article in articles:
            row = self.existing(self.store.conn, article)
            if row is not None and row["text_hash"] == article.digest:
                report.duplicate += 1
            else:
                kept.append(article)
        return kept

    @staticmethod
    def existing(conn: sqlite3.Connection, article: Article) -> sqlite3.Row | None:
        row = conn.execute("SELECT aid, text_hash, version FROM articles WHERE ext_id = ?", (article.id,)).fetchone()
        if row is None and article.url:
            row = conn.execute("SELECT aid, text_hash, version FROM articles WHERE url = ? ORDER BY aid LIMIT 1",
                               (article.url,)).fetchone()
        return row

    def write(self, articles: list[Article], line_counts: dict[str, dict[str, int]], report: IngestReport) -> None:
        articles.sort(key=lambda a: (a.published or "9999", a.id))
        added: list[tuple[int, Article]] = []
        placed: list[tuple[int, Article]] = []
        removed_vids: list[int] = []
        self.new_vids = []
        with self.store.transaction() as conn:
            for article in articles:
                outcome = self.write_one(conn, article, removed_vids)
                if isinstance(outcome, Rejection):
                    report.rejected.append(outcome)
                    continue
                if outcome is None:
                    report.duplicate += 1
                    continue
                aid, kind = outcome
                setattr(report, kind, getattr(report, kind) + 1)
                report.sentences += len(article.body())
                report.ids.append(article.id)
                added.append((aid, article))
                if kind != "updated":  # a corrected article keeps its story
                    placed.append((aid, article))
            for outlet, counts in line_counts.items():
                conn.executemany("INSERT INTO outlet_lines(outlet, line, articles) VALUES (?, ?, ?) "
                                 "ON CONFLICT(outlet, line) DO UPDATE SET articles = articles + excluded.articles",
                                 [(outlet, k, n) for k, n in counts.items()])
            orphans = self.drop_orphan_vectors(conn, removed_vids)
            if self.assign_stories and placed:
                self.assign_stories(conn, placed)
            self.store.bump_generation(conn)
            generation = int(conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
        self.cache.remove("sentences", np.asarray(orphans, dtype=np.int64))
        self.cache.remove("articles", np.asarray([aid for aid, _ in added], dtype=np.int64))
        fresh = sorted(set(self.new_vids) - set(orphans))
        ids, vecs = self.store.vectors_by_id(fresh)
        self.cache.add("sentences", ids, vecs, generation)
        latest = dict(added)  # an article corrected twice in one batch is indexed once, as it stands now
        art_ids = np.asarray([aid for aid, a in latest.items() if pipeline.article_vector(a) is not None],
                             dtype=np.int64)
        art_vecs = [pipeline.article_vector(a) for a in latest.values()]
        art_vecs = [v for v in art_vecs if v is not None]
        self.cache.add("articles", art_ids, np.vstack(art_vecs) if art_vecs else
                       np.zeros((0, self.embedder.dim), np.float32), generation)

    def write_one(self, conn: sqlite3.Connection, article: Article,
                  removed_vids: list[int]) -> tuple[int, str] | Rejection | None:
        """Store one article; None when it is a duplicate, a Rejection past a ceiling. Returns (aid, report field)."""
        digest = article.digest
        previous = self.existing(conn, article)
        if previous is not None:
            if previous["text_hash"] == digest:
                return None
            if previous["version"] >= MAX_VERSIONS_PER_ARTICLE:
                return Rejection(article.origin, f"article {article.id!r} already has {previous['version']} versions, "
                                                 f"the most one article keeps ({MAX_VERSIONS_PER_ARTICLE})")
            return self.new_version(conn, previous, article, digest, removed_vids), "updated"
        same = conn.execute("SELECT aid, outlet, copy_of FROM articles WHERE text_hash = ? ORDER BY aid LIMIT 1",
                            (digest,)).fetchone()
        if same is not None and same["outlet"].lower() == article.outlet.lower():
            return None
        sh = shingles(article.text)
        keys = band_keys(sh)
        original = (same["copy_of"] or same["aid"]) if same is not None else self.near_copy_of(conn, sh, keys)
        aid = self.insert_article(conn, article, digest, original)
        conn.executemany("INSERT INTO copy_bands(key, aid) VALUES (?, ?)", [(k, aid) for k in keys])
        return aid, ("near_copy" if original else "new")

    def near_copy_of(self, conn: sqlite3.Connection, sh: set[int], keys: list[int]) -> int | None:
        """The original this text re-runs with small edits, if any (resolved to the first original)."""
        marks = ",".join("?" * len(keys))
        candidates = [r[0] for r in conn.execute(
            f"SELECT aid FROM copy_bands WHERE key IN ({marks}) GROUP BY aid ORDER BY count(*) DESC LIMIT 20", keys)]
        best, best_score = None, self.settings.near_copy_jaccard
        for aid in candidates:
            row = conn.execute("SELECT text, copy_of FROM articles WHERE aid = ?", (aid,)).fetchone()
            if row is None:
                continue
            score = resemblance(sh, shingles(row["text"]))
            if score >= best_score:
                best, best_score = (row["copy_of"] or aid), score
        return best

    def insert_article(self, conn: sqlite3.Connection, article: Article, digest: str, original: int | None) -> int:
        stamp = now_iso()
        vec = pipeline.article_vector(article)
        cursor = conn.execute(
            "INSERT INTO articles(ext_id, url, title, outlet, published, ingested, lang, text, text_hash, "
            "copy_of, vec) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (article.id, article.url, article.title, article.outlet, article.published, stamp, article.lang,
             article.text, digest, original, to_blob(vec) if vec is not None else None))
        aid = int(cursor.lastrowid)
        conn.execute("INSERT INTO article_versions(aid, version, title, text, text_hash, published, ingested) "
                     "VALUES (?, 1, ?, ?, ?, ?, ?)",
                     (aid, article.title, article.text, digest, article.published, stamp))
        self.insert_sentences(conn, aid, article)
        if original is not None:
            article.copy_of = conn.execute("SELECT ext_id FROM articles WHERE aid = ?", (original,)).fetchone()[0]
        return aid

    def new_version(self, conn: sqlite3.Connection, previous: sqlite3.Row, article: Article, digest: str,
                    removed_vids: list[int]) -> int:
        """A correction: the new text becomes current, the old one stays in the article's history."""
        aid, version = int(previous["aid"]), int(previous["version"]) + 1
        stamp = now_iso()
        vec = pipeline.article_vector(article)
        removed_vids.extend(r[0] for r in conn.execute("SELECT vid FROM sentences WHERE aid = ?", (aid,)))
        conn.execute("DELETE FROM sentences WHERE aid = ?", (aid,))
        conn.execute("DELETE FROM copy_bands WHERE aid = ?", (aid,))
        conn.executemany("INSERT INTO copy_bands(key, aid) VALUES (?, ?)",
                         [(k, aid) for k in band_keys(shingles(article.text))])
        conn.execute("UPDATE articles SET title = ?, text = ?, text_hash = ?, version = ?, ingested = ?, lang = ?, "
                     "published = coalesce(?, published), url = coalesce(?, url), vec = ? WHERE aid = ?",
                     (article.title, article.text, digest, version, stamp, article.lang, article.published,
                      article.url, to_blob(vec) if vec is not None else None, aid))
        conn.execute("INSERT INTO article_versions(aid, version, title, text, text_hash, published, ingested) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", (aid, version, article.title, article.text, digest,
                                                       article.published, stamp))
        self.insert_sentences(conn, aid, article)
        article.version = version
        return aid

    def insert_sentences(self, conn: sqlite3.Connection, aid: int, article: Article) -> None:
        rows = []
        for sentence in article.sentences:
            key = sentence_key(sentence.text)
            cursor = conn.execute("INSERT OR IGNORE INTO vectors(key, vec) VALUES (?, ?)",
                                  (key, to_blob(sentence.vector)))
            if cursor.rowcount == 1:
                vid = int(cursor.lastrowid)
                self.new_vids.append(vid)
            else:
                vid = conn.execute("SELECT vid FROM vectors WHERE key = ?", (key,)).fetchone()[0]
            rows.append((aid, sentence.position, sentence.paragraph, sentence.start, sentence.end, sentence.text, vid))
        conn.executemany('INSERT INTO sentences(aid, position, paragraph, start, "end", text, vid) '
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    @staticmethod
    def drop_orphan_vectors(conn: sqlite3.Connection, vids: list[int]) -> list[int]:
        """Vectors no sentence uses any more leave SQLite (and so FAISS)."""
        orphans = [v for v in set(vids)
                   if conn.execute("SELECT 1 FROM sentences WHERE vid = ? LIMIT 1", (v,)).fetchone() is None]
        conn.executemany("DELETE FROM vectors WHERE vid = ?", [(v,) for v in orphans])
        return orphans
