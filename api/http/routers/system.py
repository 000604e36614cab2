"""Liveness and store statistics, for operators and load balancers."""

from __future__ import annotations

import sqlite3

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.http.deps import NewsroomDep
from api.http.models import ErrorOut, HealthOut, StatsOut

router = APIRouter(tags=["system"])


@router.get("/health", response_model=HealthOut,
            responses={503: {"model": HealthOut, "description": "the store cannot be read"}})
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


@router.get("/stats", response_model=StatsOut, responses={503: {"model": ErrorOut}})
def stats(newsroom: NewsroomDep) -> dict:
    """Counts, index layout and size of the store (as `newsprism stats --json`)."""
    return newsroom.stats()
