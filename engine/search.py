"""Ranking for semantic search: sentence hits in, articles (or sentences) out.

Articles rank by their best matching sentence, with a little credit for further matches, so an
article that discusses the query at length beats one that mentions it once. Copies of a wire
story fold into their original, which lists the outlets that re-ran it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SNIPPETS = 3
EXTRA_MATCH_WEIGHT = 0.05


@dataclass(slots=True)
class SentenceHit:
    """One sentence that matched, with what a result needs to show about its article."""

    article_id: str
    title: str
    outlet: str
    published: str | None
    url: str | None
    text: str
    position: int
    score: float
    copy_of: str | None = None
    story_id: int | None = None


@dataclass(slots=True)
class ArticleResult:
    id: str
    title: str
    outlet: str
    published: str | None
    url: str | None
    score: float
    sentences: list[dict] = field(default_factory=list)
    also_in: list[dict] = field(default_factory=list)
    story_id: int | None = None

    def as_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "outlet": self.outlet, "published": self.published,
                "url": self.url, "score": round(self.score, 4), "story_id": self.story_id,
                "sentences": self.sentences, "also_in": self.also_in}


def rank_articles(hits: list[SentenceHit], k: int) -> list[ArticleResult]:
    """Top-k articles from sentence hits; copies fold into the original they re-run."""
    by_article: dict[str, list[SentenceHit]] = {}
    for hit in hits:
        by_article.setdefault(hit.copy_of or hit.article_id, []).append(hit)
    results = []
    for key, group in by_article.items():
        own = [h for h in group if h.article_id == key] or group
        head = own[0]
        body = sorted({(h.position, h.text): h for h in own if h.position >= 0}.values(), key=lambda h: -h.score)
        scores = sorted((h.score for h in own), reverse=True)
        score = scores[0] + EXTRA_MATCH_WEIGHT * sum(scores[1:3])
        snippets = body[:SNIPPETS] or own[:1]
        copies = {h.article_id: h for h in group if h.article_id != key}
        results.append(ArticleResult(
            id=head.article_id, title=head.title, outlet=head.outlet, published=head.published, url=head.url,
            score=score, story_id=head.story_id,
            sentences=[{"text": h.text, "score": round(h.score, 4), "position": h.position} for h in snippets],
            also_in=[{"id": c.article_id, "outlet": c.outlet, "url": c.url} for c in copies.values()],
        ))
    results.sort(key=lambda r: (-r.score, r.published or "", r.id))
    return results[:k]


def rank_sentences(hits: list[SentenceHit], k: int) -> list[dict]:
    """Top-k distinct body sentences; the same text carried by copies is shown once with its outlets."""
    seen: dict[str, dict] = {}
    for hit in sorted(hits, key=lambda h: -h.score):
        if hit.position < 0:
            continue
        entry = seen.get(hit.text)
        if entry is None:
            seen[hit.text] = {"text": hit.text, "score": round(hit.score, 4), "article_id": hit.article_id,
                              "title": hit.title, "outlet": hit.outlet, "published": hit.published,
                              "url": hit.url, "position": hit.position, "outlets": [hit.outlet]}
        elif hit.outlet not in entry["outlets"]:
            entry["outlets"].append(hit.outlet)
    return list(seen.values())[:k]


def rank_sentences_in_order(hits: list[SentenceHit], scores: dict[str, float]) -> list[dict]:
    """Sentences already in fused order, shown with their fused score."""
    found = rank_sentences(hits, len(hits))
    for entry in found:
        entry["score"] = round(scores[entry["text"]], 6)
    return sorted(found, key=lambda e: -e["score"])


_PHRASE = re.compile(r'"([^"]+)"')
_WORD = re.compile(r"\w+", re.UNICODE)
FUSION_DEPTH = 20


def quoted_phrases(query: str) -> list[str]:
    """Phrases the user put in double quotes: they must match exactly."""
    return [p.strip() for p in _PHRASE.findall(query) if p.strip()]


def fts_query(query: str) -> str | None:
    """An FTS5 MATCH expression: quoted phrases required (AND), other words optional (OR, BM25-ranked)."""
    phrases = quoted_phrases(query)
    rest = _PHRASE.sub(" ", query)
    words = [w for w in _WORD.findall(rest) if len(w) > 1 or w.isdigit()]
    required = " AND ".join('"' + " ".join(_WORD.findall(p)) + '"' for p in phrases if _WORD.findall(p))
    optional = " OR ".join(f'"{w}"' for w in dict.fromkeys(words))
    if required:  # phrases filter; the other words only rank (semantic side) to keep recall
        return required
    return optional or None


def has_phrases(text: str, phrases: list[str]) -> bool:
    folded = " ".join(_WORD.findall(text.lower()))
    return all(" ".join(_WORD.findall(p.lower())) in folded for p in phrases)


def fuse(runs: list[dict[str, float]], weights: list[float] | None = None,
         depth: int = FUSION_DEPTH) -> dict[str, float]:
    """Relative score fusion: each run's top `depth` scores scaled to [0, 1], then summed.

    Unlike rank fusion it keeps how confident each run is: a keyword match standing far above the
    other candidates outweighs a semantic run whose top candidates are all alike, and the other way
    round. Scaling over the same depth in every run keeps the runs comparable; `weights` scale
    each run (CombSUM).
    """
    fused: dict[str, float] = {}
    for run, weight in zip(runs, weights or [1.0] * len(runs), strict=True):
        top = sorted(run.items(), key=lambda kv: -kv[1])[:depth]
        if not top:
            continue
        high, low = top[0][1], top[-1][1]
        span = high - low
        for key, score in top:
            fused[key] = fused.get(key, 0.0) + weight * ((score - low) / span if span > 0 else 1.0)
    return fused
