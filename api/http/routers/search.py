"""Search over the store, in the CLI's `search --json` shape (mode, total, offset, results)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.http.deps import FiltersDep, ServiceDep
from api.http.models import SearchOut

router = APIRouter(tags=["search"])


@router.get("/search", response_model=SearchOut)
def search(
    q: Annotated[str, Query(min_length=1, max_length=2000,
                            description='what to look for; "quoted phrases" must match exactly (keyword, hybrid)')],
    service: ServiceDep,
    filters: FiltersDep,
    k: Annotated[int, Query(ge=1, le=100, description="how many results")] = 10,
    offset: Annotated[int, Query(ge=0, le=1000, description="skip this many results (paging)")] = 0,
    level: Annotated[Literal["articles", "sentences"], Query(description="rank articles or single sentences")]
    = "articles",
    mode: Annotated[Literal["hybrid", "semantic", "keyword"],
                    Query(description="embeddings, BM25 full text, or both fused")] = "hybrid",
) -> dict:
    """Articles ranked by their best matching sentences (copies fold into their original), or sentences."""
    return service.search(q, k=k, filters=filters, level=level, mode=mode, offset=offset).to_dict()
