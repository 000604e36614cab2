"""Stories in the store: the clusterer's state loaded from SQLite, decisions written back per batch.

Stories still live in the time window are loaded in full, plus the document frequencies; every
other story only as its key vector, in the clusterer's dormant index, and in full when an article
comes near it (`_fetch`), so the cost of placing an article does not grow with the archive. The
clusterer stays in memory across the batches of one ingest run while no other writer touches stories
(meta 'stories_version', moved by triggers on every story change, says so); otherwise, and after a
failed transaction, the next batch re-reads the truth inside its own write transaction, so two
writers never collide on ids.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import numpy as np
from newsprism.engine.records import Article
from newsprism.engine.stories import (
    DAY,
    Story,
    StoryClusterer,
    StoryParams,
    StoryState,
    TermStats,
    epoch_days,
    key_vector,
    story_features,
)
from newsprism.index.store import from_blob, to_blob


def stories_version(conn: sqlite3.Connection) -> int:
    """The counter every story change moves (schema triggers); created at 0 where a store lacks it."""
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('stories_version', '0')")
    return int(conn.execute("SELECT value FROM meta WHERE key = 'stories_version'").fetchone()[0])


def iso(days: float | None) -> str | None:
    if days is None:
        return None
    return datetime.fromtimestamp(days * DAY, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StoryKeeper:
    """Assigns stories inside the ingest transaction and persists what changed."""

    def __init__(self, params: StoryParams) -> None:
        self.params = params
        self.clusterer: StoryClusterer | None = None
        self.version = -1  # meta 'stories_version' after this keeper's last write

    def load(self, conn: sqlite3.Connection) -> StoryClusterer:
        clock_raw = conn.execute("SELECT value FROM meta WHERE key = 'story_clock'").fetchone()
        clock = float(clock_raw[0]) if clock_raw else None
        lead_raw = conn.execute("SELECT value FROM meta WHERE key = 'story_lead'").fetchone()
        horizon = None if clock is None else clock - self.params.live_days
        stories, dormant_ids, dormant_keys = {}, [], []
        for row in conn.execute("SELECT story_id, state, centroid FROM stories WHERE n_articles > 0"):
            data = json.loads(row["state"])
            if not data or row["centroid"] is None:
                continue
            last = data.get("last_seen")
            vectors = from_blob(row["centroid"]).reshape(2, -1)
            if horizon is not None and last is not None and last < horizon:
                centroid = vectors[0] / max(float(np.linalg.norm(vectors[0])), 1e-12)
                dormant_ids.append(row["story_id"])
                dormant_keys.append(key_vector(centroid, data["terms"], self.params.key_term_weight))
                continue
            data["id"] = row["story_id"]
            stories[row["story_id"]] = Story.from_dict(data, vectors)
        docs = conn.execute("SELECT value FROM meta WHERE key = 'story_docs'").fetchone()
        terms = TermStats(int(docs[0]) if docs else 0, dict(conn.execute("SELECT term, df FROM terms").fetchall()))
        top = conn.execute("SELECT coalesce(max(story_id), 0) FROM stories").fetchone()[0]
        seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'stories'").fetchone()
        next_id = max(int(top), int(seq[0]) if seq else 0) + 1
        state = StoryState(stories=stories, terms=terms, next_id=next_id, clock=clock,
                           lead=float(lead_raw[0]) if lead_raw else clock)
        self._conn = conn
        dormant = (dormant_ids, np.stack(dormant_keys)) if dormant_ids else None
        return StoryClusterer(self.params, state, dormant=dormant, loader=self._fetch)

    def _fetch(self, story_ids: list[int]) -> dict[int, Story]:
        """Dormant stories in full, for the clusterer, read in the transaction it works in."""
        found = {}
        for story_id in story_ids:
            row = self._conn.execute("SELECT state, centroid FROM stories WHERE story_id = ? AND n_articles > 0",
                                     (story_id,)).fetchone()
            if row is None or row["centroid"] is None:
                continue
            data = json.loads(row["state"])
            if not data:
                continue
            data["id"] = story_id
            found[story_id] = Story.from_dict(data, from_blob(row["centroid"]).reshape(2, -1))
        return found

    def __call__(self, conn: sqlite3.Connection, added: list[tuple[int, Article]]) -> None:
        """Place the batch's articles (copies with their originals) and write stories back."""
        try:
            self._assign(conn, added)
        except BaseException:
            self.clusterer = None  # the transaction rolls back: in-memory state must not outlive it
            raise

    def _assign(self, conn: sqlite3.Connection, added: list[tuple[int, Article]]) -> None:
        version = stories_version(conn)
        if self.clusterer is None or version != self.version:  # another writer changed stories: re-read
            self.clusterer = self.load(conn)
        self._conn = conn
        clusterer = self.clusterer
        state = clusterer.state
        for _, article in added:
            if article.copy_of and article.copy_of not in state.article_story:
                row = conn.execute("SELECT story_id FROM articles WHERE ext_id = ?", (article.copy_of,)).fetchone()
                if row and row[0] is not None:
                    self._ensure_loaded(conn, int(row[0]))
                    state.article_story[article.copy_of] = int(row[0])
        features = [story_features(a) for _, a in added if any(s.vector is not None for s in a.sentences)]
        before_docs = state.terms.docs
        mapping = clusterer.add_many(features)
        aid_of = {a.id: aid for aid, a in added}
        conn.executemany("UPDATE articles SET story_id = ? WHERE aid = ?",
                         [(story_id, aid_of[article_id]) for article_id, story_id in mapping.items()])
        for article_id, story_id in mapping.items():
            for _, article in added:
                if article.id == article_id:
                    article.story_id = story_id
        for story_id in set(mapping.values()):
            self.save_story(conn, state.stories[story_id])
        delta: dict[str, int] = {}
        for f in features:
            for term in f.terms:
                delta[term] = delta.get(term, 0) + 1
        conn.executemany("INSERT INTO terms(term, df) VALUES (?, ?) "
                         "ON CONFLICT(term) DO UPDATE SET df = df + excluded.df", list(delta.items()))
        conn.execute("INSERT INTO meta(key, value) VALUES ('story_docs', ?) ON CONFLICT(key) DO UPDATE SET "
                     "value = CAST(value AS INTEGER) + ?", (str(state.terms.docs - before_docs),
                                                            state.terms.docs - before_docs))
        for key, value in (("story_clock", state.clock), ("story_lead", state.lead)):
            if value is not None:
                conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, repr(value)))
        # article_story only needs the batch's originals; forget the rest so memory stays flat
        state.article_story = {k: v for k, v in state.article_story.items() if k in mapping}
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'stories_version'")
        self.version = stories_version(conn)  # a rollback restores an older value, so state reloads

    def _ensure_loaded(self, conn: sqlite3.Connection, story_id: int) -> None:
        """A dormant story comes back into memory (a copy of one of its articles arrived, or a regroup)."""
        state = self.clusterer.state
        if story_id not in state.stories:
            self._conn = conn
            state.stories.update(self._fetch([story_id]))

    def regroup(self, conn: sqlite3.Connection, articles: list[Article]) -> dict[str, int]:
        """Place stored articles again as one batch against every other article's stories (the same
        rule as ingest), and write the result: stories keep their ids, emptied ones are removed."""
        self.clusterer = self.load(conn)
        state = self.clusterer.state
        current = {a.id: a.story_id for a in articles if a.story_id is not None}
        touched = set(current.values())
        for story_id in touched:
            self._ensure_loaded(conn, story_id)
        remaining: dict[int, tuple[float | None, float | None]] = {story_id: (None, None) for story_id in touched}
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS regrouping(ext_id TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM regrouping")
        conn.executemany("INSERT OR IGNORE INTO regrouping(ext_id) VALUES (?)", [(a.id,) for a in articles])
        for story_id, first, last in conn.execute(
                "SELECT story_id, min(published), max(published) FROM articles WHERE story_id IN "
                "(SELECT a.story_id FROM articles a JOIN regrouping r ON r.ext_id = a.ext_id) "
                "AND ext_id NOT IN (SELECT ext_id FROM regrouping) GROUP BY story_id"):
            remaining[story_id] = (epoch_days(first), epoch_days(last))
        aid_of = dict(conn.execute("SELECT a.ext_id, a.aid FROM articles a JOIN regrouping r ON r.ext_id = a.ext_id"))
        conn.execute("DELETE FROM regrouping")
        features = [story_features(a) for a in articles if any(s.vector is not None for s in a.sentences)]
        grouping = self.clusterer.regroup(features, current, remaining)
        conn.executemany("UPDATE articles SET story_id = ? WHERE aid = ?",
                         [(story_id, aid_of[i]) for i, story_id in grouping.items()])
        for story_id in touched | set(grouping.values()):
            story = state.stories.get(story_id)
            if story is not None:
                story.refresh()
                self.save_story(conn, story)
            else:
                conn.execute("DELETE FROM stories WHERE story_id = ? AND curated = 0", (story_id,))
        self.clusterer = None  # the next ingest loads what was written
        return grouping

    @staticmethod
    def save_story(conn: sqlite3.Connection, story: Story) -> None:
        data = story.to_dict(vectors=False)
        conn.execute(
            "INSERT INTO stories(story_id, label, first_seen, last_seen, n_articles, state, centroid) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(story_id) DO UPDATE SET "
            "label = CASE WHEN stories.curated THEN stories.label ELSE excluded.label END, "
            "first_seen = excluded.first_seen, last_seen = excluded.last_seen, n_articles = excluded.n_articles, "
            "state = excluded.state, centroid = excluded.centroid",
            (story.id, story.label, iso(story.first_seen), iso(story.last_seen), story.count,
             json.dumps(data), to_blob(story.vectors())))


def story_centroid(blob: bytes | None) -> np.ndarray | None:
    """The unit centroid of a stored story (its blob holds the vector sum and the label vector)."""
    if blob is None:
        return None
    vector_sum = from_blob(blob).reshape(2, -1)[0]
    return vector_sum / max(float(np.linalg.norm(vector_sum)), 1e-12)
