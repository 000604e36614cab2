"""Liveness and store statistics, for operators and load balancers."""

from __future__ import annotations

import sqlite3

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from newsprism.api.http.deps import NewsroomDep
from newsprism.api.http.models import HealthOut, StatsOut, answers

router = APIRouter(tags=["system"])


@router.get("/health", response_model=HealthOut, operation_id="health", responses={
    **answers(413), 503: {"model": HealthOut, "description": "the store cannot be read", "content": {
        "application/json": {"example": {"status": "unavailable", "store": "/srv/newsprism/store",
                                         "model": "all-MiniLM-L6-v2", "model_loaded": True, "articles": None,
                                         "stories": None, "message": "unable to open database file"}}}}})
def health(newsroom: NewsroomDep) -> dict | JSONResponse:
    """200 when the store answers; 503 (same body, with a message) when it does not."""
    base = {"store": str(newsroom.store.folder), "model": newsroom.settings.model,
            "model_loaded": "embedder" in vars(newsroom)}
    try:
        counts = {"articles": newsroom.store.count("articles"), "stories": newsroom.store.count("stories",
                                                                                                "n_articles > 0")}
    except sqlite3.Error as exc:
        body = HealthOut(status="unavailable", articles=None, stories=None, message=str(exc), **base)
        return JSONResponse(body.model_dump(), status_code=503)
    return {"status": "ok", **base, **counts}


@router.get("/stats", response_model=StatsOut, operation_id="stats", responses=answers(413, 503))
def stats(newsroom: NewsroomDep) -> dict:
    """Counts, index layout and size of the store (as `newsprism stats --json`)."""
    return newsroom.stats()
