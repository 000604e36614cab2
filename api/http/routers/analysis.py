"""Analyses of articles given in the body, answered without storing them (reads: no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.http.deps import AllConflicts, HeavyRead, NewsroomDep, check_articles, raw_items
from api.http.models import ArticleBatch, ClaimsOut, SummarizeRequest, SummaryOut, answers
from engine.analysis import compare, summarize
from engine.pipeline import prepare
from engine.records import Article
from index.newsroom import Newsroom

router = APIRouter(tags=["analysis"])

BODY_ERRORS = answers(400, 413, 422, 503)


def prepared(body: ArticleBatch, newsroom: Newsroom) -> tuple[list[Article], list[dict]]:
    """The body's articles cleaned, split and embedded in memory, and what was left out with why."""
    settings = newsroom.settings
    check_articles(body.articles, settings)
    dates = settings.date_range()
    articles, rejected = prepare(raw_items(body.articles, dates), newsroom.embedder.encode,
                                 settings.max_article_chars, settings.near_copy_jaccard, settings.canonical_outlet,
                                 dates)
    rejections = [{"origin": r.origin, "reason": r.reason} for r in rejected]
    if not articles:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {
            "error": "no article in the body could be read", "detail": [
                {"field": r["origin"], "message": r["reason"], "type": "rejected"} for r in rejections]})
    return articles, rejections


@router.post("/summarize", response_model=SummaryOut, operation_id="summarize", responses=BODY_ERRORS,
             dependencies=[HeavyRead])
def summarize_body(body: SummarizeRequest, newsroom: NewsroomDep) -> dict:
    """Attributed extractive summary of the articles in the body; nothing is stored."""
    articles, rejections = prepared(body, newsroom)
    words = body.words
    if words is None and body.sentences is None:
        words = newsroom.settings.summary_words
    qvec = newsroom.encode_query(body.query) if body.query else None
    result = summarize(articles, newsroom.settings.model, words=words, sentences=body.sentences,
                       query_vector=qvec, truncate=body.truncate)
    return {**result, "rejections": rejections}


@router.post("/compare", response_model=ClaimsOut, operation_id="compare", responses=BODY_ERRORS,
             dependencies=[HeavyRead])
def compare_body(body: ArticleBatch, newsroom: NewsroomDep, all_conflicts: AllConflicts = False) -> dict:
    """The claims table of the articles in the body; nothing is stored. Conflicts below the confidence
    threshold are counted (`possible_conflicts_total`) and listed with `all_conflicts=true`."""
    articles, rejections = prepared(body, newsroom)
    return {**compare(articles, newsroom.settings.model, all_conflicts), "rejections": rejections}
