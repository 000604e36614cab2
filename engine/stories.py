"""Story clustering: every article joins the best story, live or dormant, or starts a new one.

An article is described by what it is about (a TF-IDF vector over its words, the title and lead
weighing more than the tail, and a sentence-embedding vector weighted the same way) and by when it
appeared. Groups are compared by average linkage over TF-IDF cosines, kept as running sums so the
cost does not grow with a story's size. A group joins another when their average similarity reaches
`threshold` times the geometric mean of the two groups' own cohesions, damped by the time between
them. Why relative: on the development files no single absolute threshold served both a corpus of
broad topic stories and one of narrow claims on shared topics, while this rule did (eval/stories.py).

Candidates come from two places, so the cost per article does not grow with the archive: stories
seen within `live_days` (live: their centroids in one matrix, searched exactly; a week, so the
matrix holds a week of news however long the gaps the rule allows), and every other story
(dormant: an HNSW index over story keys, the centroid joined with the story's distinctive terms
hashed into a vector; an article that a live story already takes at `settled` times the bar is not
looked up there). Of the candidates, only stories some article could join on its own go into the
merging, which keeps a batch's cost to the stories that matter. Which index finds a story does
not change the rule: the similarity is
damped by the gap in `window_days`, and past one window it keeps falling by `resume_rise` per
window of silence, so the bar rises with the silence and a follow-up that
repeats the story's names and places resumes it after weeks while news on the same broad topic
starts its own story (eval/sparse_stories.py builds the development sets of that shape).
Within an ingest batch the most similar pair merges first; `recluster` replays the archive in
time-ordered chunks and `regroup` re-places a set of articles against everything else, both through
the same `_place`, so batch and article-by-article ingest follow one rule.
"""

from __future__ import annotations

import heapq
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from newsprism.engine.config import Settings
from newsprism.engine.records import Article
from newsprism.engine.summarize import strip_dateline
from newsprism.engine.threads import blas_one_thread, faiss_one_thread

DAY = 86400.0
LABEL_CLIP = 110
LABEL_MIN_WORDS = 4  # shorter titles ('Wounded?') say too little to name a story
LABEL_WORDS = 12  # a label made from a lead: a short phrase, cut at a clause break where one comes
KEYWORDS = 8
KEY_TERMS = 30  # distinctive terms of a story (or article) that go into its key vector
HASH_DIM = 256  # the hashed-terms half of a key vector
# Names (people, places, organisations: words capitalised inside a sentence) weigh this much more
# in an article's terms: two stories on one broad subject (home schooling, school shootings) share
# its common words, while the names say which event an article is about. With the threshold at
# 0.57 (0.57-0.59 alike) this lifted B-cubed F1 through the store on four sparse resamples of DUC
# 2006 (eval/sparse_stories.py, seeds 15-18) by 0.013-0.020, to 0.894-0.915, and MultiLing to 0.976;
# DUC 2007 moved by 0 to -0.014, FNC-1 by -0.002 to -0.004 (eval/stories.py).
NAME_WEIGHT = 1.5

# Function words and news filler that say nothing about which event an article covers.
STOPWORDS = frozenset({
    "a", "about", "above", "after", "again", "against", "all", "almost", "also", "although", "always", "am",
    "among", "an", "and", "another", "any", "are", "around", "as", "at", "be", "became", "because",
    "become", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did",
    "do", "does", "doing", "done", "down", "during", "each", "either", "else", "even", "ever", "every",
    "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself",
    "him", "himself", "his", "how", "however", "i", "if", "in", "into", "is", "it", "its", "itself", "just",
    "least", "less", "like", "made", "make", "many", "may", "me", "might", "more", "most", "much", "must",
    "my", "myself", "near", "neither", "never", "no", "nor", "not", "now", "of", "off", "often", "on",
    "once", "one", "only", "or", "other", "others", "our", "ours", "ourselves", "out", "over", "own", "per",
    "perhaps", "quite", "rather", "said", "same", "say", "says", "several", "she", "should", "since", "so",
    "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there",
    "these", "they", "this", "those", "though", "through", "thus", "to", "too", "toward", "towards",
    "under", "until", "up", "upon", "us", "very", "via", "was", "we", "were", "what", "whatever", "when",
    "where", "whether", "which", "while", "who", "whom", "whose", "why", "will", "with", "within",
    "without", "would", "yet", "you", "your", "yours", "yourself", "yourselves", "according", "added",
    "adding", "told", "tell", "tells", "telling", "reported", "reports", "reporting", "report", "news",
    "statement", "week", "weeks", "today", "yesterday", "tomorrow", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday", "mr", "mrs", "ms", "dr", "new", "two", "three", "four",
    "five", "first", "last", "year", "years", "time", "times", "people", "including",
})

_WORD = re.compile(r"[^\W\d_][\w'’-]*|\d+(?:[.,]\d+)*", re.UNICODE)
# A capitalised word after a lower-case word or a comma, semicolon or colon: inside a sentence, so a name
_NAME = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z][\w'’-]*")


def epoch_days(published: str | None) -> float | None:
    """ISO-8601 timestamp as days since the epoch (None stays None: the time is unknown)."""
    if not published:
        return None
    moment = datetime.fromisoformat(published.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() / DAY


def _term(word: str) -> str:
    return word.lower().replace("’", "'").removesuffix("'s").strip("'-")


def _terms(text: str) -> list[str]:
    words = (_term(w) for w in _WORD.findall(text))
    return [w for w in words if len(w) > 1 and w not in STOPWORDS]


def _names(text: str) -> set[str]:
    """Terms the text writes capitalised inside a sentence: names of people, places, organisations."""
    return {_term(w) for w in _NAME.findall(text)}


def _unit(weights: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in weights.values()))
    return {k: v / norm for k, v in weights.items()} if norm > 0 else {}


@dataclass(slots=True)
class StoryFeatures:
    """What the clusterer needs of one article; built once at ingest by `story_features`."""

    id: str
    vector: np.ndarray  # unit float32: weighted mean of sentence vectors
    terms: dict[str, float]  # unit term weights before IDF (IDF changes as the archive grows)
    time: float | None = None  # days since the epoch; None when the article has no date
    outlet: str = ""
    label: str = ""  # the title, or the lead clipped
    has_title: bool = False
    copy_of: str | None = None  # the original's article id when ingest found a (near-)copy


def derived_title(title: str, body: list) -> bool:
    """Whether the title is ingest's stand-in for a missing one: the lead, clipped (engine.pipeline.split)."""
    if not title or not body:
        return False
    lead = body[0].text
    return title == lead or (title.endswith("…") and lead.startswith(title[:-1]))


def position_weight(position: int) -> float:
    """Title 2, then the lead 1.5 .. tail 1: news puts what the article is about first."""
    if position < 0:
        return 2.0
    return 1.0 + 0.5 / (1.0 + position / 3.0)


def story_features(article: Article) -> StoryFeatures:
    """Features from an ingested Article (sentences with vectors; the title is position -1)."""
    weighted: list[np.ndarray] = []
    counts: Counter[str] = Counter()
    names: set[str] = set()
    body = article.body()
    derived = derived_title(article.title, body)
    for sentence in article.sentences:
        weight = position_weight(sentence.position)
        if sentence.vector is not None:
            weighted.append(weight * np.asarray(sentence.vector, dtype=np.float32))
        for term in _terms(sentence.text):
            counts[term] += weight
        names |= _names(sentence.text)
    if not weighted:
        raise ValueError(f"article {article.id!r} has no sentence vectors")
    vector = np.sum(weighted, axis=0)
    vector /= max(float(np.linalg.norm(vector)), 1e-12)
    terms = _unit({t: (1.0 + math.log(c) if c >= 1 else c) * (NAME_WEIGHT if t in names else 1.0)
                   for t, c in counts.items()})
    if article.title and not derived:
        label, has_title = article.title, True
    else:
        label, has_title = lead_label(body[0].text if body else article.text), False
    return StoryFeatures(id=article.id, vector=vector.astype(np.float32), terms=terms,
                         time=epoch_days(article.published), outlet=article.outlet, label=label,
                         has_title=has_title, copy_of=article.copy_of)


_BYLINE_LEAD = re.compile(r"^(?:By\s+[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,4}\s+|\(For use by [^)]*\)\s*|"
                          r"c\.\s?\d{4}\s+(?:[A-Z][\w.'&-]*\s+){1,6}?(?=[A-Z]{2,}\b)|\(?(?:AP|AFP|Reuters|Xinhua)\)?\s*[_—–-]+\s*)")
_CLAUSE_BREAK = re.compile(r"[,;:(]|\s(?:_|--|—|–)\s|\s(?:who|which|that|after|when|while|as|because|but|"
                           r"according|said|says|on (?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday))\b")
_LOOSE_END = frozenset({"a", "an", "the", "of", "to", "in", "on", "at", "for", "and", "or", "by", "with", "from",
                        "its", "his", "her", "their", "is", "was", "are", "were", "has", "have", "had", "be"})


def lead_label(lead: str) -> str:
    """A short phrase naming the event, from a lead when there is no title.

    The dateline, wire credit and byline go ("MUNICH, Germany (AP) _", "By PAT KOSSAN"); what is
    left is cut at the first clause break after a few words, or at LABEL_WORDS words, and loose
    words at the cut ("of", "the") are dropped, so the label reads as a phrase, not a clipped line.
    """
    text = " ".join(lead.split())
    for _ in range(3):  # a byline, then the dateline, in either order
        text = _BYLINE_LEAD.sub("", strip_dateline(text)).strip()
    words = text.split()
    if not words:
        return lead[:LABEL_CLIP]
    cut = len(words)
    for match in _CLAUSE_BREAK.finditer(text):
        at = len(text[:match.start()].split())
        if at >= LABEL_MIN_WORDS:
            cut = at
            break
    cut = min(cut, LABEL_WORDS)
    kept = words[:cut]
    while len(kept) > LABEL_MIN_WORDS and kept[-1].lower().strip(",.;:") in _LOOSE_END:
        kept.pop()
    phrase = " ".join(kept).rstrip(",;:._-—–")
    if len(phrase) > LABEL_CLIP:
        phrase = phrase[:LABEL_CLIP].rsplit(" ", 1)[0]
    return phrase + ("…" if cut < len(words) else "")


@dataclass(frozen=True, slots=True)
class StoryParams:
    """The clusterer's knobs; the threshold and the window come from Settings."""

    threshold: float = 0.57  # a group joins a story at this share of the story's own cohesion
    window_days: float = 60.0  # time scale of the gap penalty: past it, the bar keeps rising
    live_days: float = 7.0  # a story without a new article for this long is dormant (found by its key)
    prior_cohesion: float = 0.1  # cohesion assumed for a story too young to show its own
    candidates: int = 5  # nearest live stories (by embedding) each article is compared with in full
    dormant_candidates: int = 5  # nearest dormant stories (by key vector) each article is compared with
    settled: float = 3.0  # an article a live story takes at this multiple of the bar skips the dormant index
    resume_rise: float = 0.05  # past the window, the bar rises by this share per window of silence
    key_term_weight: float = 0.5  # share of the distinctive terms (vs the centroid) in a story's key
    max_terms: int = 300  # terms kept per story, so comparing with a story costs the same at any size

    @classmethod
    def from_settings(cls, settings: Settings) -> StoryParams:
        return cls(threshold=settings.story_threshold, window_days=settings.story_window_days,
                   live_days=settings.story_live_days)

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


def _heaviest(item: tuple[str, float]) -> tuple[float, str]:
    """Sort key of a (term, weight) pair: heaviest first, ties by term, so the choice never varies."""
    return item[1], item[0]


def _hashed(terms: dict[str, float]) -> np.ndarray:
    """The heaviest KEY_TERMS terms in HASH_DIM signed buckets (crc32: the same in every process), unit."""
    out = np.zeros(HASH_DIM, dtype=np.float32)
    items = terms.items()
    if len(terms) > KEY_TERMS:  # a sort beats heapq.nlargest at these sizes (same order, same result)
        items = sorted(items, key=_heaviest, reverse=True)[:KEY_TERMS]
    for term, weight in items:
        code = zlib.crc32(term.encode())
        out[code % HASH_DIM] += weight if code & 0x80000000 else -weight
    norm = float(np.linalg.norm(out))
    return out / norm if norm > 0 else out


def key_vector(centroid: np.ndarray, tfidf: dict[str, float], term_weight: float) -> np.ndarray:
    """What a story (or an article looking for one) is about, for the dormant index: the unit centroid
    and the distinctive terms (names, places, the event's own words), so the inner product of two
    keys mixes embedding and term cosines."""
    return np.concatenate([math.sqrt(1.0 - term_weight) * centroid.astype(np.float32),
                           math.sqrt(term_weight) * _hashed(tfidf)]).astype(np.float32)


class TermStats:
    """Document frequencies counted as articles arrive, so IDF follows the archive with no batch pass."""

    def __init__(self, docs: int = 0, df: dict[str, int] | None = None) -> None:
        self.docs = docs
        self.df: dict[str, int] = df if df is not None else {}

    def add(self, terms: Iterable[str]) -> None:
        self.docs += 1
        df = self.df
        for term in terms:
            df[term] = df.get(term, 0) + 1

    def weigh(self, terms: dict[str, float]) -> dict[str, float]:
        """Unit TF-IDF vector from term weights (smoothed IDF, as scikit-learn's)."""
        log_docs, df = math.log(1 + self.docs), self.df
        return _unit({t: w * (log_docs - math.log(1 + df.get(t, 0)) + 1.0) for t, w in terms.items()})

    def to_dict(self) -> dict:
        return {"docs": self.docs, "df": self.df}

    @classmethod
    def from_dict(cls, data: dict) -> TermStats:
        return cls(int(data["docs"]), {str(k): int(v) for k, v in data["df"].items()})


@dataclass(slots=True)
class Story:
    """A group of articles kept as running sums, so comparing or merging costs the same at any size.

    Average-linkage similarity between two groups is the dot product of their sums divided by both
    sizes, and `within` (the summed similarity over the group's pairs) gives its cohesion.
    """

    id: int
    vector_sum: np.ndarray  # sum of the articles' unit vectors; its direction is the centroid
    terms: dict[str, float]  # sum of the articles' unit TF-IDF vectors, heaviest terms kept
    count: int = 1
    within: float = 0.0  # sum of the pairwise similarities of its articles
    first_seen: float | None = None  # days since the epoch
    last_seen: float | None = None
    outlets: dict[str, int] = field(default_factory=dict)
    label: str = ""
    label_vector: np.ndarray | None = None  # vector of the article that gave the label
    label_is_title: bool = False
    keywords: list[str] = field(default_factory=list)
    _row: tuple | None = field(default=None, repr=False, compare=False)  # term ids, while unchanged

    @classmethod
    def of(cls, features: StoryFeatures, story_id: int, time: float | None, stats: TermStats) -> Story:
        """A one-article group, TF-IDF weighted with the document frequencies as they are now."""
        return cls(id=story_id, vector_sum=features.vector.astype(np.float32), terms=stats.weigh(features.terms),
                   first_seen=time, last_seen=time, outlets={features.outlet: 1} if features.outlet else {},
                   label=features.label, label_vector=features.vector, label_is_title=features.has_title)

    @property
    def centroid(self) -> np.ndarray:
        return self.vector_sum / max(float(np.linalg.norm(self.vector_sum)), 1e-12)

    def merge(self, other: Story, cross: float, max_terms: int) -> None:
        """Take in another group; `cross` is the summed similarity between their articles."""
        self.within += other.within + cross
        self._row = None
        self.vector_sum = self.vector_sum + other.vector_sum
        terms = self.terms
        for term, weight in other.terms.items():
            terms[term] = terms.get(term, 0.0) + weight
        if len(terms) > 2 * max_terms:
            self.terms = dict(heapq.nlargest(max_terms, terms.items(), key=_heaviest))
        self.count += other.count
        self.first_seen = _min(self.first_seen, other.first_seen)
        self.last_seen = _max(self.last_seen, other.last_seen)
        for outlet, n in other.outlets.items():
            self.outlets[outlet] = self.outlets.get(outlet, 0) + n
        centroid = self.centroid
        if other._label_rank(centroid) > self._label_rank(centroid):
            self.label, self.label_vector, self.label_is_title = \
                other.label, other.label_vector, other.label_is_title

    def remove(self, single: Story) -> None:
        """Take one article (as a one-article group) back out, so it can be placed again.

        Running sums make this a subtraction; the summed similarity it had with the rest is its
        dot product with the rest's term sum. Term weights come from the document frequencies as
        they are now, not as when the article joined, so the sums are close, not exact; weights
        that fall to about zero are dropped. The caller sets first_seen / last_seen afterwards.
        """
        terms = self.terms
        cross = 0.0
        for term, weight in single.terms.items():
            left = terms.get(term, 0.0) - weight
            cross += weight * left
            if left > 1e-6:
                terms[term] = left
            else:
                terms.pop(term, None)
        self.within = max(0.0, self.within - max(cross, 0.0))
        self._row = None
        self.vector_sum = self.vector_sum - single.vector_sum
        self.count -= single.count
        for outlet, n in single.outlets.items():
            left = self.outlets.get(outlet, 0) - n
            if left > 0:
                self.outlets[outlet] = left
            else:
                self.outlets.pop(outlet, None)

    def key(self, term_weight: float) -> np.ndarray:
        return key_vector(self.centroid, self.terms, term_weight)

    def _label_rank(self, centroid: np.ndarray) -> tuple[bool, bool, float]:
        """A title beats a clipped lead, a headline of a few words beats a stub, then the most central."""
        return (self.label_is_title, len(self.label.split()) >= LABEL_MIN_WORDS,
                float(self.label_vector @ centroid))

    def refresh(self) -> None:
        """Keywords: the story's heaviest TF-IDF terms (once per batch, not per merge)."""
        self.keywords = [t for t, _ in heapq.nlargest(KEYWORDS, self.terms.items(), key=_heaviest)]

    def to_dict(self, vectors: bool = True) -> dict:
        """JSON-ready fields; with vectors=False the two vectors are left to `vectors()` (a blob)."""
        data = {"id": self.id, "label": self.label, "label_is_title": self.label_is_title,
                "keywords": self.keywords, "first_seen": self.first_seen, "last_seen": self.last_seen,
                "count": self.count, "within": self.within, "outlets": self.outlets, "terms": self.terms}
        if vectors:
            data["vector_sum"] = self.vector_sum.tolist()
            data["label_vector"] = self.label_vector.tolist()
        return data

    def vectors(self) -> np.ndarray:
        """(2, dim) float32: the vector sum and the label's vector, for the store's blob."""
        return np.stack([self.vector_sum, self.label_vector]).astype(np.float32)

    @classmethod
    def from_dict(cls, data: dict, vectors: np.ndarray | None = None) -> Story:
        if vectors is None:
            vectors = np.array([data["vector_sum"], data["label_vector"]], dtype=np.float32)
        return cls(id=int(data["id"]), vector_sum=np.asarray(vectors[0], dtype=np.float32),
                   terms={str(k): float(v) for k, v in data["terms"].items()}, count=int(data["count"]),
                   within=float(data["within"]), first_seen=data["first_seen"], last_seen=data["last_seen"],
                   outlets={str(k): int(v) for k, v in data["outlets"].items()}, label=data["label"],
                   label_vector=np.asarray(vectors[1], dtype=np.float32),
                   label_is_title=bool(data["label_is_title"]), keywords=list(data["keywords"]))


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass
class StoryState:
    """Everything the clusterer remembers; the store saves it and hands it back."""

    stories: dict[int, Story] = field(default_factory=dict)
    terms: TermStats = field(default_factory=TermStats)
    article_story: dict[str, int] = field(default_factory=dict)  # for placing copies with originals
    next_id: int = 1
    # The clock that sends stories cold is the second-newest publication time seen (days); the
    # newest is kept as `lead`. One article dated far ahead (a typo, a forgery) then moves only
    # `lead`, and every story stays as live as the rest of the stream says it is.
    clock: float | None = None
    lead: float | None = None

    def to_dict(self) -> dict:
        return {"next_id": self.next_id, "clock": self.clock, "lead": self.lead, "terms": self.terms.to_dict(),
                "article_story": self.article_story,
                "stories": [story.to_dict() for story in self.stories.values()]}

    @classmethod
    def from_dict(cls, data: dict) -> StoryState:
        stories = [Story.from_dict(s) for s in data["stories"]]
        return cls(stories={s.id: s for s in stories}, terms=TermStats.from_dict(data["terms"]),
                   article_story={str(k): int(v) for k, v in data["article_story"].items()},
                   next_id=int(data["next_id"]), clock=data["clock"], lead=data.get("lead"))


class _LiveIndex:
    """Unit centroids of the live stories in one matrix: finding candidates is one matrix product.

    Centroids move with every article, so a plain array updated in place beats a FAISS index here.
    """

    def __init__(self) -> None:
        self.rows = np.zeros((0, 0), dtype=np.float32)
        self.ids: list[int] = []
        self.where: dict[int, int] = {}

    def put(self, story_id: int, vector: np.ndarray) -> None:
        row = self.where.get(story_id)
        if row is None:
            if len(self.ids) == len(self.rows):
                grown = np.zeros((max(64, 2 * len(self.rows)), len(vector)), dtype=np.float32)
                if self.ids:
                    grown[:len(self.ids)] = self.rows[:len(self.ids)]
                self.rows = grown
            row = len(self.ids)
            self.ids.append(story_id)
            self.where[story_id] = row
        self.rows[row] = vector

    def drop(self, story_id: int) -> None:
        row = self.where.pop(story_id, None)
        if row is None:
            return
        last = len(self.ids) - 1
        if row != last:
            self.rows[row] = self.rows[last]
            self.ids[row] = self.ids[last]
            self.where[self.ids[row]] = row
        self.ids.pop()

    def nearest(self, vectors: np.ndarray, k: int) -> list[list[int]]:
        """For each query row, the ids of the k live stories with the most similar centroids."""
        n = len(self.ids)
        if n == 0:
            return [[] for _ in range(len(vectors))]
        sims = vectors @ self.rows[:n].T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if n > k else np.tile(np.arange(n), (len(vectors), 1))
        return [[self.ids[i] for i in row] for row in top]


class _DormantIndex:
    """Key vectors of the dormant stories (float16) in a FAISS HNSW graph: candidates at a cost that
    grows slowly with the archive.

    HNSW cannot delete, so a story that is resumed (or goes dormant again with a new key) leaves a
    stale entry behind; each story's current entry is remembered and stale hits are skipped, with
    a few extra neighbours asked for to make up for them.
    """

    M, EF_CONSTRUCTION, EF_SEARCH = 16, 40, 32

    def __init__(self) -> None:
        self.index = None
        self.row_story: list[int] = []
        self.current: dict[int, int] = {}  # story id -> its live row

    def __len__(self) -> int:
        return len(self.current)

    def put(self, story_ids: list[int], keys: np.ndarray) -> None:
        if not story_ids:
            return
        if self.index is None:
            import faiss

            # keys stored as float16: half the memory the graph walk reads, the same candidates in
            # practice (recall@5 against exact search 0.868 either way on 22,765 keys) at 0.55x the time
            self.index = faiss.IndexHNSWSQ(keys.shape[1], faiss.ScalarQuantizer.QT_fp16, self.M,
                                           faiss.METRIC_INNER_PRODUCT)
            self.index.hnsw.efConstruction = self.EF_CONSTRUCTION
            self.index.hnsw.efSearch = self.EF_SEARCH
        start = len(self.row_story)
        with faiss_one_thread():
            self.index.add(np.ascontiguousarray(keys, dtype=np.float32))
        self.row_story.extend(story_ids)
        for offset, story_id in enumerate(story_ids):
            self.current[story_id] = start + offset

    def forget(self, story_id: int) -> None:
        self.current.pop(story_id, None)

    def nearest(self, keys: np.ndarray, k: int) -> list[list[int]]:
        """For each query key, up to k dormant story ids, nearest first."""
        if not self.current or k <= 0:
            return [[] for _ in range(len(keys))]
        want = min(len(self.row_story), k + 3)
        with faiss_one_thread():
            _, rows = self.index.search(np.ascontiguousarray(keys, dtype=np.float32), want)
        found = []
        for hits in rows.tolist():
            ids = []
            for row in hits:
                if row >= 0 and self.current.get(self.row_story[row]) == row:
                    ids.append(self.row_story[row])
                    if len(ids) == k:
                        break
            found.append(ids)
        return found


class _TermIds:
    """Term ids for the sparse products (this process only), and a term id -> column map kept
    between batches (-1 off the batch's terms), so finding a batch's columns costs its own terms,
    not the archive's vocabulary."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.column = np.full(0, -1, dtype=np.int64)

    def columns(self, own: np.ndarray) -> np.ndarray:
        """The map with the batch's terms (sorted ids) numbered; reset them to -1 after use."""
        if len(self.column) < len(self.ids):
            grown = np.full(max(len(self.ids), 2 * len(self.column)), -1, dtype=np.int64)
            grown[:len(self.column)] = self.column
            self.column = grown
        self.column[own] = np.arange(len(own))
        return self.column


def _row(group: Story, vocabulary: _TermIds) -> tuple[np.ndarray, np.ndarray]:
    """A story's terms as (term ids, weights), kept until the story changes: most candidates don't."""
    cached = group._row
    if cached is not None and cached[0] is vocabulary:
        return cached[1], cached[2]
    ids = vocabulary.ids
    for term in sorted(set(group.terms).difference(ids)):
        ids[term] = len(ids)
    row = np.fromiter(map(ids.__getitem__, group.terms), dtype=np.int64, count=len(group.terms))
    weights = np.fromiter(group.terms.values(), dtype=np.float32, count=len(group.terms))
    group._row = (vocabulary, row, weights)
    return row, weights


def _cross_sums(groups: list[Story], articles: int, vocabulary: _TermIds) -> np.ndarray:
    """Summed TF-IDF similarity of every group with each of the first `articles` groups (the batch's).

    The rest are existing stories, which never merge with each other, so their pairs are not needed;
    one sparse product over term ids gives the (groups x articles) matrix. Only the batch's own terms
    can add to it, so the columns are those terms alone: the product's cost does not grow with the
    vocabulary of the archive.
    """
    from scipy.sparse import csr_matrix

    rows = [_row(group, vocabulary) for group in groups]
    lengths = np.array([len(ids) for ids, _ in rows], dtype=np.int64)
    ids = np.concatenate([i for i, _ in rows])
    weights = np.concatenate([w for _, w in rows])
    own = np.unique(ids[:int(lengths[:articles].sum())])
    column = vocabulary.columns(own)[ids]
    vocabulary.column[own] = -1
    keep = column >= 0
    starts = np.r_[0, np.cumsum(keep)][np.r_[0, np.cumsum(lengths)]]  # kept entries before each row
    matrix = csr_matrix((weights[keep], column[keep], starts), shape=(len(groups), len(own)), dtype=np.float32)
    cross = (matrix @ matrix[:articles].T).toarray().astype(np.float64)
    cross[np.arange(articles), np.arange(articles)] = 0.0
    return cross


def damping(gap: np.ndarray, rise: float) -> np.ndarray:
    """How much of two groups' similarity counts, by the gap between them in windows.

    Within the window a gentle Gaussian fall (1 at once, 0.61 at a full window); past it the bar
    keeps rising by `rise` per window of silence, so a dormant story needs ever stronger evidence.
    """
    inside = np.exp(-0.5 * np.minimum(gap, 1.0) ** 2)
    return inside / (1.0 + rise * np.maximum(gap - 1.0, 0.0))


def _times(days: list[float | None]) -> np.ndarray:
    return np.array([np.nan if d is None else d for d in days], dtype=np.float64)


def _gap(first_a: np.ndarray, last_a: np.ndarray, first_b: np.ndarray, last_b: np.ndarray,
         window: float) -> np.ndarray:
    """Days between two spans, in windows; fmax ignores NaN (an unknown time), so a gap with an
    undated side is 0."""
    return np.fmax(np.fmax(first_b - last_a, first_a - last_b), 0.0) / window


def _cohesion(within: np.ndarray, size: np.ndarray, prior: float) -> np.ndarray:
    """The mean similarity of a group's pairs, shrunk towards the prior by one imaginary pair and
    never below it, so a loose group cannot lower the bar for everything after it."""
    return np.maximum((within + prior) / (size * (size - 1) / 2 + 1), prior)


def _needed(cohesion_a: np.ndarray, cohesion_b: np.ndarray | float, threshold: float) -> np.ndarray:
    """The rule: the damped average similarity two groups need to merge, a share of their cohesions."""
    return threshold * np.sqrt(cohesion_a * cohesion_b)


def _bar(stories: list[Story], params: StoryParams) -> np.ndarray:
    """The average similarity a single article (whose cohesion is the prior) needs to join each story."""
    size = np.array([s.count for s in stories], dtype=np.float64)
    within = np.array([s.within for s in stories], dtype=np.float64)
    return _needed(_cohesion(within, size, params.prior_cohesion), params.prior_cohesion, params.threshold)


def _averages(cross: np.ndarray, stories: list[Story], first: np.ndarray, last: np.ndarray,
              params: StoryParams) -> np.ndarray:
    """Damped average similarity of each story (rows of `cross`, its summed similarities) with
    groups spanning first..last (broadcast against the stories)."""
    gap = _gap(_times([s.first_seen for s in stories])[:, None], _times([s.last_seen for s in stories])[:, None],
               first, last, params.window_days)
    size = np.array([s.count for s in stories], dtype=np.float64)
    return cross / size[:, None] * damping(gap, params.resume_rise)


def _reachable(cross: np.ndarray, stories: list[Story], singles: list[Story], params: StoryParams) -> np.ndarray:
    """Which existing stories some article of the batch could join on its own (`cross`: the stories'
    summed similarities with each article).

    Nothing else can join a story that none of them could: a group's average similarity to it is
    at most its best member's, damped no less than over the smallest gap the batch allows, and the
    group's cohesion is at least the prior a single article has. Such a story never changes in the
    batch, so leaving it out changes no decision, and a batch costs what its reachable stories do:
    most candidates of an article (its nearest centroids and keys) are merely on the same topic.
    """
    if not stories:
        return np.zeros(0, dtype=bool)
    times = _times([s.first_seen for s in singles])
    if np.isnan(times).any():  # an undated article is at no distance from anything
        times = np.array([np.nan])
    best = _averages(cross.max(axis=1, keepdims=True), stories, times.min(), times.max(), params)[:, 0]
    return best >= _bar(stories, params)


def _settled(cross: np.ndarray, stories: list[Story], singles: list[Story], params: StoryParams) -> np.ndarray:
    """Which articles a live story takes at `settled` times its bar or more (`cross` as above).

    Such an article continues a running story; to take it away, a dormant story would have to be
    more similar still, i.e. a second copy of that story, and stories never merge. So it is not
    looked up in the dormant index (nor are its nearest dormant stories compared in full), which
    on a steady stream spares about half the lookups.
    """
    if not stories:
        return np.zeros(len(singles), dtype=bool)
    times = _times([s.first_seen for s in singles])[None, :]
    ratio = _averages(cross, stories, times, times, params) / _bar(stories, params)[:, None]
    return ratio.max(axis=0) >= params.settled


class _Agglomerator:
    """Best-first average-linkage merging with a cohesion-relative stopping rule.

    Two groups merge when their average similarity reaches `threshold` times the geometric mean of
    their cohesions: a story is as broad as its own articles are apart, so a loose topic story takes
    a loosely related article while a tight one (rewrites of one report) turns away a mere neighbour.
    The most similar pair goes first, so tight cores form before weak evidence is weighed. Existing
    stories (`frozen`, after the new groups) may take in new articles but never merge with each
    other. Summed cross similarities are kept in a matrix with a column per new group, so a merge
    is a row and column addition and no similarity is recomputed.
    """

    def __init__(self, singles: list[Story], existing: list[Story], cross: np.ndarray, params: StoryParams,
                 keep: Iterable[int] = ()) -> None:
        """`singles`: the batch's articles as one-article groups; `existing`: candidate stories, of
        which only those some single could join on its own are kept (and those in `keep`, story ids
        a copy must join); `cross`: `_cross_sums` of singles then existing; `slot` maps a kept
        story's id to its group index."""
        self.params = params
        self.new = len(singles)
        kept = np.flatnonzero(_reachable(cross[self.new:], existing, singles, params)
                              | np.isin([s.id for s in existing], list(keep)))
        groups = singles + [existing[k] for k in kept.tolist()]
        self.groups = groups
        self.slot = {existing[k].id: self.new + n for n, k in enumerate(kept.tolist())}
        self.cross = cross[np.r_[np.arange(self.new), self.new + kept]]
        self.frozen = np.arange(len(groups)) >= self.new
        self.alive = np.ones(len(groups), dtype=bool)
        self.size = np.array([g.count for g in groups], dtype=np.float64)
        self.within = np.array([g.within for g in groups], dtype=np.float64)
        self.first = _times([g.first_seen for g in groups])
        self.last = _times([g.last_seen for g in groups])
        self.parent = list(range(len(groups)))
        self.version = np.zeros(len(groups), dtype=np.int64)
        self.heap: list[tuple[float, int, int, int, int]] = []

    def root(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def _queue(self, rows: np.ndarray, initial: bool = False) -> None:
        """Queue every pair of the given groups that passes the rule now (one vectorised pass)."""
        params, size, frozen = self.params, self.size, self.frozen
        gap = _gap(self.first[rows, None], self.last[rows, None], self.first[None, :], self.last[None, :],
                   params.window_days)
        cross = np.zeros((len(rows), len(size)))
        cross[:, :self.new] = self.cross[rows]
        young = rows < self.new  # a new group's sums with the existing stories sit in its column
        cross[young, self.new:] = self.cross[self.new:, rows[young]].T
        average = cross / (size[rows, None] * size[None, :]) * damping(gap, params.resume_rise)
        cohesion = _cohesion(self.within, size, params.prior_cohesion)
        passes = average >= _needed(cohesion[rows, None], cohesion[None, :], params.threshold)
        passes &= self.alive[None, :] & ~(frozen[rows, None] & frozen[None, :])
        passes[np.arange(len(rows)), rows] = False
        if initial:  # each pair of new groups once
            passes &= frozen[None, :] | (np.arange(len(size))[None, :] > rows[:, None])
        r, j = np.nonzero(passes)
        i = rows[r]
        low, high = np.minimum(i, j), np.maximum(i, j)
        entries = zip((-average[r, j]).tolist(), low.tolist(), high.tolist(),
                      self.version[low].tolist(), self.version[high].tolist(), strict=True)
        if initial:
            self.heap.extend(entries)
            heapq.heapify(self.heap)
        else:
            for entry in entries:
                heapq.heappush(self.heap, entry)

    def join(self, i: int, j: int) -> None:
        """Merge two groups; an existing story keeps its identity, else the earlier one does."""
        i, j = self.root(i), self.root(j)
        if i == j:
            return
        keep, gone = (i, j) if self.frozen[i] or (not self.frozen[j] and i < j) else (j, i)
        cross = self.cross
        self.groups[keep].merge(self.groups[gone], float(cross[keep, gone]), self.params.max_terms)
        self.within[keep] += self.within[gone] + cross[keep, gone]
        self.size[keep] += self.size[gone]
        self.first[keep] = np.fmin(self.first[keep], self.first[gone])
        self.last[keep] = np.fmax(self.last[keep], self.last[gone])
        cross[keep] += cross[gone]  # gone is always a new group: it has a column
        if keep < self.new:
            cross[:, keep] += cross[:, gone]
            cross[keep, keep] = 0.0
        cross[gone] = 0.0
        cross[:, gone] = 0.0
        self.frozen[keep] |= self.frozen[gone]
        self.alive[gone] = False
        self.parent[gone] = keep
        self.version[keep] += 1
        self._queue(np.array([keep]))

    def run(self) -> None:
        self._queue(np.flatnonzero(~self.frozen & self.alive), initial=True)
        alive, version = self.alive, self.version
        while self.heap:
            _, i, j, version_i, version_j = heapq.heappop(self.heap)
            if alive[i] and alive[j] and version[i] == version_i and version[j] == version_j:
                self.join(i, j)


class StoryClusterer:
    """Story assignment as articles arrive, `recluster` and `regroup` for batches; all it knows is in
    `state`, plus (for a store) the keys of dormant stories not in memory and a loader for them."""

    chunk = 1000  # articles agglomerated at once; bounds the cross-similarity matrix

    def __init__(self, params: StoryParams | None = None, state: StoryState | None = None,
                 dormant: tuple[list[int], np.ndarray] | None = None,
                 loader: Callable[[list[int]], dict[int, Story]] | None = None) -> None:
        """`dormant`: ids and key vectors of stories kept outside `state` (a store's archive), which
        `loader` brings into memory when an article needs them; without a loader every story lives
        in `state` and dormant ones stay there."""
        self.params = params or StoryParams()
        self.state = state or StoryState()
        self.loader = loader
        self._hold: set[int] = set()  # stories a regroup changed: kept in memory for the caller to save
        self._live = _LiveIndex()
        self._dormant = _DormantIndex()
        self._expiry: list[tuple[float, int]] = []
        self._vocabulary = _TermIds()
        clock = self.state.clock
        cold = []
        for story in self.state.stories.values():
            if story.last_seen is None or clock is None or story.last_seen >= clock - self.params.live_days:
                self._activate(story)
            else:
                cold.append(story)
        self._sleep(cold)
        if dormant is not None:
            ids, keys = dormant
            keep = [i for i, sid in enumerate(ids) if sid not in self.state.stories]
            self._dormant.put([ids[i] for i in keep], keys[keep])

    def _activate(self, story: Story) -> None:
        self._live.put(story.id, story.centroid)
        self._dormant.forget(story.id)
        if story.last_seen is not None:
            heapq.heappush(self._expiry, (story.last_seen, story.id))

    def _sleep(self, stories: list[Story]) -> None:
        """Stories that went quiet join the dormant index (their key as it is now)."""
        if stories:
            weight = self.params.key_term_weight
            self._dormant.put([s.id for s in stories], np.stack([s.key(weight) for s in stories]))

    def _advance(self, time: float) -> None:
        """Take a publication time; move the clock (the second newest) and let stories that saw nothing
        within the window go dormant."""
        state = self.state
        if state.lead is None or time > state.lead:
            time, state.lead = state.lead, time  # the old lead is what the clock may move to
            if time is None:
                return
        if state.clock is not None and time <= state.clock:
            return
        self.state.clock = time
        horizon = time - self.params.live_days
        cold = []
        while self._expiry and self._expiry[0][0] < horizon:
            _, story_id = heapq.heappop(self._expiry)
            story = self.state.stories.get(story_id)
            if story_id in self._live.where and (story is None or story.last_seen is None
                                                 or story.last_seen < horizon):
                self._live.drop(story_id)
                if story is not None:
                    cold.append(story)
        self._sleep(cold)

    def _rewind(self, clock: float | None) -> None:
        """Set the clock and sort the stories in memory into live and dormant for that time."""
        self.state.clock = clock
        self._live, self._expiry = _LiveIndex(), []
        horizon = -math.inf if clock is None else clock - self.params.live_days
        cold = []
        for story in self.state.stories.values():
            if story.last_seen is None or story.last_seen >= horizon:
                self._activate(story)
            else:
                cold.append(story)
        self._sleep(cold)

    def add(self, features: StoryFeatures) -> int:
        """Place one article; returns its story id."""
        return self.add_many([features])[features.id]

    def add_many(self, batch: list[StoryFeatures]) -> dict[str, int]:
        """Place a batch (an ingest transaction); returns article id -> story id.

        The batch's articles and the stories near them (live and dormant) are merged best-first,
        so the order within the batch does not matter and a batch's articles on a new event find
        each other before weaker links to older stories are weighed. Existing stories never merge
        together, so a story id, once handed out, stays valid.
        """
        placed = {f.id: self.state.article_story[f.id] for f in batch if f.id in self.state.article_story}
        fresh = list({f.id: f for f in sorted(batch, key=_order) if f.id not in placed}.values())
        for f in fresh:
            self.state.terms.add(f.terms)
        held = set(self._hold)
        for at in range(0, len(fresh), self.chunk):
            placed |= self._place(fresh[at:at + self.chunk])
            self._hold.update(placed.values())  # the caller saves them: a later chunk must not drop them
        self._hold = held
        return placed

    def _dormant_near(self, singles: list[Story]) -> set[int]:
        """Dormant stories near the batch's articles (as one-article groups, TF-IDF weighed), brought
        into memory if a loader keeps them."""
        if not len(self._dormant) or not singles:
            return set()
        weight = self.params.key_term_weight
        keys = np.stack([key_vector(s.vector_sum, s.terms, weight) for s in singles])
        found = {sid for row in self._dormant.nearest(keys, self.params.dormant_candidates) for sid in row}
        missing = [sid for sid in sorted(found) if sid not in self.state.stories]
        if missing and self.loader is not None:
            self.state.stories.update(self.loader(missing))
        return {sid for sid in found if sid in self.state.stories}

    def _place(self, ordered: list[StoryFeatures]) -> dict[str, int]:
        with blas_one_thread():
            return self._place_chunk(ordered)

    def _place_chunk(self, ordered: list[StoryFeatures]) -> dict[str, int]:
        state, params = self.state, self.params
        for time in sorted(f.time for f in ordered if f.time is not None)[-2:]:
            self._advance(time)
        singles = [Story.of(f, 0, f.time if f.time is not None else state.clock, state.terms) for f in ordered]
        nearest = self._live.nearest(np.stack([f.vector for f in ordered]), params.candidates)
        copies = {f.id: state.article_story[f.copy_of] for f in ordered
                  if f.copy_of in state.article_story and state.article_story[f.copy_of] in state.stories}
        old = sorted({sid for row in nearest for sid in row} | set(copies.values()))
        cross = _cross_sums(singles + [state.stories[sid] for sid in old], len(singles), self._vocabulary)
        settled = _settled(cross[len(singles):], [state.stories[sid] for sid in old], singles, params)
        dormant = sorted(self._dormant_near([s for s, f, done in zip(singles, ordered, settled, strict=True)
                                             if not done and f.id not in copies]).difference(old))
        if dormant:
            more = _cross_sums(singles + [state.stories[sid] for sid in dormant], len(singles), self._vocabulary)
            cross = np.vstack([cross, more[len(singles):]])
            old += dormant
        merger = _Agglomerator(singles, [state.stories[sid] for sid in old], cross, params, keep=copies.values())
        slot = merger.slot
        position = {f.id: i for i, f in enumerate(ordered)}
        for i, f in enumerate(ordered):
            if f.id in copies:
                merger.join(i, slot[copies[f.id]])
            elif f.copy_of in position:
                merger.join(position[f.copy_of], i)
        merger.run()
        placed, touched = {}, {}
        for i, f in enumerate(ordered):
            story = merger.groups[merger.root(i)]
            if story.id == 0:
                story.id = state.next_id
                state.next_id += 1
                state.stories[story.id] = story
            touched[story.id] = story
            state.article_story[f.id] = placed[f.id] = story.id
        horizon = None if state.clock is None else state.clock - params.live_days
        for story in touched.values():
            story.refresh()
            if story.last_seen is None or horizon is None or story.last_seen >= horizon:
                self._activate(story)
            else:  # an old article joined a dormant story: it stays dormant, with its new key
                self._sleep([story])
        if self.loader is not None:  # the store keeps dormant stories; memory holds the live ones
            for sid in old:
                if sid not in touched and sid not in self._live.where and sid not in self._hold:
                    state.stories.pop(sid, None)
        return placed

    def recluster(self, features: list[StoryFeatures]) -> dict[str, int]:
        """Regroup articles from scratch and make that the state; returns article id -> story id.

        Document frequencies come from the whole set first; then the articles are placed in
        time-ordered chunks of `chunk` by the same `_place` as ingest, dormant stories included, so
        up to that many articles are grouped by exact average linkage, and larger archives cost
        linear time.
        """
        ordered = sorted(features, key=_order)
        self.__init__(self.params, StoryState())
        for f in ordered:
            self.state.terms.add(f.terms)
        for at in range(0, len(ordered), self.chunk):
            self._place(ordered[at:at + self.chunk])
        return dict(self.state.article_story)

    def regroup(self, features: list[StoryFeatures], current: dict[str, int],
                remaining: dict[int, tuple[float | None, float | None]] | None = None) -> dict[str, int]:
        """Place already-placed articles again, as one batch, against every other article's stories.

        Each article leaves its story (`current`: article id -> story id; those stories must be in
        `state`), then all are placed by `_place` as ingest would, in time-ordered chunks. Stories
        that keep other articles keep their ids; a new group takes the id of an emptied story most
        of its articles came from, so ids stay stable when nothing changed. `remaining` gives the
        publication span of what is left of each story (the caller knows its other articles).
        Their document frequencies are already counted. Returns article id -> story id.
        """
        state = self.state
        ordered = sorted(features, key=_order)
        for f in ordered:
            sid = current.get(f.id)
            story = state.stories.get(sid) if sid is not None else None
            if story is not None:
                story.remove(Story.of(f, sid, f.time, state.terms))
            state.article_story.pop(f.id, None)
        emptied = set()
        for sid in {current[f.id] for f in ordered if f.id in current}:
            story = state.stories.get(sid)
            if story is None:
                continue
            self._live.drop(sid)
            self._dormant.forget(sid)
            if story.count <= 0:
                emptied.add(sid)
                del state.stories[sid]
            else:
                if remaining is not None and sid in remaining:
                    story.first_seen, story.last_seen = remaining[sid]
                story.refresh()
        self._hold = {sid for sid in current.values() if sid in state.stories}
        first_new, clock = state.next_id, state.clock
        start = min((f.time for f in ordered if f.time is not None), default=None)
        self._rewind(start if start is not None else clock)  # replay from the first article's time
        placed: dict[str, int] = {}
        for at in range(0, len(ordered), self.chunk):
            placed |= self._place(ordered[at:at + self.chunk])
            self._hold.update(placed.values())  # unsaved: a later chunk must not drop them from memory
        if clock is not None:
            self._rewind(max(clock, state.clock))
        # stable ids: a new group takes the emptied id most of its articles had
        members: dict[int, list[str]] = {}
        for aid, sid in placed.items():
            if sid >= first_new:
                members.setdefault(sid, []).append(aid)
        renumber: dict[int, int] = {}
        for sid, aids in sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            votes = Counter(current[a] for a in aids if current.get(a) in emptied)
            if votes:
                old_id = min(votes, key=lambda k: (-votes[k], k))
                emptied.discard(old_id)
                renumber[sid] = old_id
        for sid, old_id in renumber.items():
            story = state.stories.pop(sid)
            story.id = old_id
            state.stories[old_id] = story
            if sid in self._live.where:
                self._live.drop(sid)
                self._activate(story)
            elif sid in self._dormant.current:
                self._dormant.forget(sid)
                self._sleep([story])
        self._hold = set()
        for aid, sid in placed.items():
            placed[aid] = state.article_story[aid] = renumber.get(sid, sid)
        return placed


def _order(features: StoryFeatures) -> tuple[float, str]:
    """Publication order, undated last (they are taken to be as new as the clock), then by id."""
    return (features.time if features.time is not None else math.inf, features.id)
