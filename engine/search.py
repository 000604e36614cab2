"""Ranking for search: sentence hits in, articles (or sentences) out.

Articles rank by their best matching sentence, with a little credit for further matches, so an
article that discusses the query at length beats one that mentions it once. Copies of a wire
story fold into their original, which lists the outlets that re-ran it. For keyword matches an
article also earns credit for how many of the query's words it contains across its sentences
(coordination): BM25 scores sentences one by one, and a name and a number in two sentences of one
article are stronger evidence than either alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SNIPPETS = 3
EXTRA_MATCH_WEIGHT = 0.05
COVERAGE_WEIGHT = 1.0  # an article with every query word gains as much as the best BM25 sentence scores
SEMANTIC_SHARE = 0.5  # the semantic run's weight in hybrid, beside keyword's BM25 + coverage (each up to 1)
# Words that say nothing about which article is meant; left out of coverage (BM25 already discounts them).
QUERY_STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "has", "had", "have", "in",
    "into", "is", "it", "its", "not", "of", "on", "or", "over", "said", "says", "that", "the", "their", "this",
    "to", "was", "were", "which", "who", "will", "with", "would",
})


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


def query_terms(query: str) -> frozenset[str]:
    """The query's words that identify what is sought (lower case, stopwords and single letters out)."""
    return frozenset(w.lower() for w in _WORD.findall(query)
                     if (len(w) > 1 or w.isdigit()) and w.lower() not in QUERY_STOPWORDS)


def term_coverage(hits: list[SentenceHit], terms: frozenset[str]) -> dict[str, float]:
    """Per article (copies folded into their original), the share of `terms` its matching sentences hold."""
    found: dict[str, set[str]] = {}
    for hit in hits:
        found.setdefault(hit.copy_of or hit.article_id, set()).update(
            terms & {w.lower() for w in _WORD.findall(hit.text)})
    return {key: len(words) / len(terms) for key, words in found.items()} if terms else {}


def article_scores(keyword: list[ArticleResult] | None, keyword_hits: list[SentenceHit], query: str,
                   semantic: list[ArticleResult] | None = None, semantic_weight: float = 1.0) -> dict[str, float]:
    """Article scores for keyword mode (semantic None) and hybrid mode.

    Keyword evidence is the best sentence's BM25 relative to the top article's, plus COVERAGE_WEIGHT times
    the share of query words the article holds. Hybrid adds the semantic run, scaled to [0, 1] over its top
    FUSION_DEPTH and weighted by SEMANTIC_SHARE x `semantic_weight` (how well the embedding matched at
    all). When some articles hold every query word, the semantic run only orders those: the lexical
    evidence is complete there, and a topical neighbour lacking a name the user typed is not what was asked.
    """
    if keyword is None:
        return {r.id: r.score for r in semantic or []}
    coverage = term_coverage(keyword_hits, query_terms(query))
    top = keyword[0].score if keyword and keyword[0].score > 0 else 1.0
    scores = {r.id: r.score / top + COVERAGE_WEIGHT * coverage.get(r.id, 0.0) for r in keyword}
    if semantic is None:
        return scores
    complete = {key for key, share in coverage.items() if share >= 1.0}
    weight = SEMANTIC_SHARE * semantic_weight
    for key, scaled in fuse([{r.id: r.score for r in semantic}]).items():
        if not complete or key in complete:
            scores[key] = scores.get(key, 0.0) + weight * scaled
    return scores


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
