"""What the faces ask of a set of articles: its attributed summary, its claims, as JSON-ready dicts.

The same calls serve a stored story and articles given on the command line or in an HTTP body,
so every face shows the same facts.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
from newsprism.engine.config import DEFAULT_MODEL
from newsprism.engine.records import Article
from newsprism.engine.summarize import Summarizer, SummaryParams

# Models that only understand English; with any other model every language takes part.
ENGLISH_ONLY_MODELS = {DEFAULT_MODEL}


def language_split(articles: list[Article], model: str) -> tuple[list[Article], list[str]]:
    """Articles the model can compare, and a warning for each language left out (never mixed silently)."""
    if model not in ENGLISH_ONLY_MODELS:
        return articles, []
    kept = [a for a in articles if a.lang == "en"]
    left_out: dict[str, list[str]] = {}
    for article in articles:
        if article.lang != "en":
            left_out.setdefault(article.lang, []).append(article.id)
    warnings = [f"{len(ids)} article(s) in '{lang}' left out (the model {model} is English-only): "
                f"{', '.join(ids[:5])}" for lang, ids in left_out.items()]
    if not kept:  # a set with no English at all is still analysed rather than left empty
        return articles, warnings
    return kept, warnings


def summarize(articles: list[Article], model: str, words: int | None = None, sentences: int | None = None,
              query_vector: np.ndarray | None = None, truncate: bool = False, claims: dict | None = None,
              params: SummaryParams | dict | None = None) -> dict:
    """`{"summary": [{text, article_id, outlet, published, url, sources, support}], "words": n}`.

    A summary sentence that belongs to a claim takes that claim's sources and support, so the
    summary, `compare` and the report count outlets the same way; `claims` is an alignment already
    made for these articles (made here when not given); `params` override the summarizer's defaults.
    """
    usable, warnings = language_split(articles, model)
    carried: dict = {}
    if len({a.outlet for a in usable}) > 1:
        from newsprism.engine.claims import align

        claims = claims if claims is not None else align(usable).to_dict()
        carried = {(m["article_id"], m["position"]): c for c in claims["claims"] for m in c["members"]}
    # A claim several sentences restate gets one of them: the selection itself enforces it, so the
    # words a restatement would take go to another claim (also under --truncate).
    claim_of = {key: str(c["id"]) for key, c in carried.items() if len(c["members"]) > 1}
    summary = [asdict(s) for s in Summarizer(params)(usable, words=words, sentences=sentences,
                                                      query_vector=query_vector, truncate=truncate,
                                                      claim_of=claim_of)]
    for sentence in summary:
        claim = carried.get((sentence["article_id"], sentence["position"]))
        if claim is not None:
            sentence["sources"], sentence["support"] = list(claim["sources"]), claim["support"]
    return {"summary": summary, "words": sum(len(s["text"].split()) for s in summary),
            "articles": len(usable), "outlets": sorted({a.outlet for a in usable}), "warnings": warnings}


def compare(articles: list[Article], model: str, all_conflicts: bool = False) -> dict:
    """The claims table of a set of articles: claims with support, conflicts (with `all_conflicts` also the
    possible ones below the confidence threshold), revisions, single-outlet claims."""
    from newsprism.engine.claims import align

    usable, warnings = language_split(articles, model)
    return {**align(usable).to_dict(all_conflicts), "warnings": warnings}


def paginate(data: dict, key: str, limit: int | None, offset: int = 0) -> dict:
    """One page of the list under `key`, with `<key>_total` and `offset` so a client can page on."""
    items = data[key]
    end = None if limit is None else offset + limit
    return {**data, key: items[offset:end], f"{key}_total": len(items), "offset": offset}


def format_summary(result: dict) -> str:
    """A readable block: each sentence, then its outlet, date and the outlets that carry it."""
    lines = []
    for s in result["summary"]:
        others = [o for o in s["sources"] if o != s["outlet"]]
        carried = f"; also {', '.join(others)}" if others else ""
        lines.append(f"• {s['text']}")
        lines.append(f"    [{s['outlet']}, {(s['published'] or 'undated')[:10]}{carried}; support {s['support']}]")
    lines.extend(f"warning: {w}" for w in result.get("warnings", []))
    return "\n".join(lines) if lines else "(nothing to summarize)"
