"""Search over the store, in the CLI's `search --json` shape (mode, total, offset, results)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from newsprism.api.http.deps import FiltersDep, HeavyRead, ServiceDep
from newsprism.api.http.models import SearchOut, answers
from newsprism.engine.limits import MAX_QUERY_CHARS, MAX_SEARCH_DEPTH

router = APIRouter(tags=["search"])

MAX_K = 100
FOUND = {"getArticle": {"operationId": "getArticle", "parameters": {"article_id": "$response.body#/results/0/id"},
                        "description": "the best article (level=articles)"}}


@router.get("/search", response_model=SearchOut, operation_id="search", dependencies=[HeavyRead],
            responses={200: {"links": FOUND}, **answers(413, 422, 503)})
def search(
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, examples=["ferry capsized near Kellhaven"],
                            description='what to look for; "quoted phrases" must match exactly (keyword, hybrid)')],
    service: ServiceDep,
    filters: FiltersDep,
    k: Annotated[int, Query(ge=1, le=MAX_K, description="how many results")] = 10,
    offset: Annotated[int, Query(ge=0, le=MAX_SEARCH_DEPTH - MAX_K,
                                 description=f"skip this many results (paging; offset + k stays within the search "
                                             f"depth of {MAX_SEARCH_DEPTH})")] = 0,
    level: Annotated[Literal["articles", "sentences"], Query(description="rank articles or single sentences")]
    = "articles",
    mode: Annotated[Literal["hybrid", "semantic", "keyword"],
                    Query(description="embeddings, BM25 full text, or both fused")] = "hybrid",
) -> dict:
    """Articles ranked by their best matching sentences (copies fold into their original), or sentences."""
    if k + offset > MAX_SEARCH_DEPTH:
        raise RequestValidationError([{"loc": ("query", "offset"), "type": "less_than_equal",
                                       "msg": f"offset + k is {offset + k}; a search pages through at most "
                                              f"{MAX_SEARCH_DEPTH} results"}])
    return service.search(q, k=k, filters=filters, level=level, mode=mode, offset=offset).to_dict()
