"""Analyses of articles given in the body, answered without storing them (reads: no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.http.deps import NewsroomDep, check_batch, raw_items
from api.http.models import ArticleBatch, ClaimsOut, ErrorOut, SummarizeRequest, SummaryOut
from api.service import Inputs, prepare_items, summarize_inputs
from engine.analysis import compare
from index.newsroom import Newsroom

router = APIRouter(tags=["analysis"])

BODY_ERRORS = {413: {"model": ErrorOut, "description": "body or batch over its limit"}}


def prepared(body: ArticleBatch, newsroom: Newsroom) -> tuple[Inputs, list[dict]]:
    """The body's articles cleaned, split and embedded in memory (api/service.py), and what was left out with why."""
    check_batch(len(body.articles), newsroom.settings)
    inputs = prepare_items(raw_items(body.articles), newsroom.settings, newsroom.embedder)
    rejections = [{"origin": r.origin, "reason": r.reason} for r in inputs.rejected]
    if not inputs.articles:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {
            "error": "no article in the body could be read", "detail": [
                {"field": r["origin"], "message": r["reason"], "type": "rejected"} for r in rejections]})
    return inputs, rejections


@router.post("/summarize", response_model=SummaryOut, responses=BODY_ERRORS)
def summarize_body(body: SummarizeRequest, newsroom: NewsroomDep) -> dict:
    """Attributed extractive summary of the articles in the body; nothing is stored."""
    inputs, rejections = prepared(body, newsroom)
    result = summarize_inputs(inputs, newsroom.settings, body.words, body.sentences, body.query, body.truncate)
    return {**result, "rejections": rejections}


@router.post("/compare", response_model=ClaimsOut, responses=BODY_ERRORS)
def compare_body(body: ArticleBatch, newsroom: NewsroomDep) -> dict:
    """The claims table of the articles in the body; nothing is stored."""
    inputs, rejections = prepared(body, newsroom)
    return {**compare(inputs.articles, inputs.model), "rejections": rejections}
