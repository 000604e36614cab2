"""Analyses of articles given in the body, answered without storing them (reads: no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from newsprism.api.http.deps import AllConflicts, HeavyRead, NewsroomDep, check_articles, raw_items
from newsprism.api.http.models import ArticleBatch, ClaimsOut, SummarizeRequest, SummaryOut, answers
from newsprism.api.service import Inputs, prepare_items, summarize_inputs
from newsprism.engine.analysis import compare
from newsprism.index.newsroom import Newsroom

router = APIRouter(tags=["analysis"])

BODY_ERRORS = answers(400, 413, 422, 503)


def prepared(body: ArticleBatch, newsroom: Newsroom) -> tuple[Inputs, list[dict]]:
    """The body's articles cleaned, split and embedded in memory (api/service.py), and what was left out with why."""
    settings = newsroom.settings
    check_articles(body.articles, settings)
    inputs = prepare_items(raw_items(body.articles, settings.date_range()), settings, newsroom.embedder)
    rejections = [{"origin": r.origin, "reason": r.reason} for r in inputs.rejected]
    if not inputs.articles:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {
            "error": "no article in the body could be read", "detail": [
                {"field": r["origin"], "message": r["reason"], "type": "rejected"} for r in rejections]})
    return inputs, rejections


@router.post("/summarize", response_model=SummaryOut, operation_id="summarize", responses=BODY_ERRORS,
             dependencies=[HeavyRead])
def summarize_body(body: SummarizeRequest, newsroom: NewsroomDep) -> dict:
    """Attributed extractive summary of the articles in the body; nothing is stored."""
    inputs, rejections = prepared(body, newsroom)
    result = summarize_inputs(inputs, newsroom.settings, body.words, body.sentences, body.query, body.truncate)
    return {**result, "rejections": rejections}


@router.post("/compare", response_model=ClaimsOut, operation_id="compare", responses=BODY_ERRORS,
             dependencies=[HeavyRead])
def compare_body(body: ArticleBatch, newsroom: NewsroomDep, all_conflicts: AllConflicts = False) -> dict:
    """The claims table of the articles in the body; nothing is stored. Conflicts below the confidence
    threshold are counted (`possible_conflicts_total`) and listed with `all_conflicts=true`."""
    inputs, rejections = prepared(body, newsroom)
    return {**compare(inputs.articles, inputs.model, all_conflicts), "rejections": rejections}
