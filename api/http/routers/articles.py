"""Stored articles: ingest a batch, read one, delete one. Writes need the key when one is set."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.http.deps import NewsroomDep, ServiceDep, WriteLockDep, check_batch, not_found, raw_items, require_key
from api.http.models import ArticleBatch, ArticleOut, DeletedOut, ErrorOut, IngestOut

router = APIRouter(prefix="/articles", tags=["articles"])

ArticleId = Annotated[str, Path(min_length=1, max_length=500, description="the article's id")]
WRITE_ERRORS = {401: {"model": ErrorOut, "description": "missing or wrong API key"}}


@router.post("", response_model=IngestOut, dependencies=[Depends(require_key)],
             responses={**WRITE_ERRORS, 413: {"model": ErrorOut, "description": "body or batch over its limit"}})
def ingest_articles(batch: ArticleBatch, newsroom: NewsroomDep, write_lock: WriteLockDep) -> dict:
    """Ingest a batch: `{"articles": [...]}` or a bare list, fields as in `newsprism ingest`.

    Every article is accounted for: new, duplicate, near_copy, updated, or rejected with its
    origin (`articles[3]`) and the reason. One batch at a time is written (searches go on meanwhile),
    so story assignment never works from a stale picture of the store.
    """
    check_batch(len(batch.articles), newsroom.settings)
    items = raw_items(batch.articles)
    with write_lock:
        report = newsroom.ingest(items)
    return report.as_dict()


@router.get("/{article_id:path}", response_model=ArticleOut, responses={404: {"model": ErrorOut}})
def get_article(article_id: ArticleId, service: ServiceDep,
                diff: Annotated[bool, Query(description="add what each correction changed")] = False) -> dict:
    """One article: fields, text verbatim, sentences with offsets, versions, copies (and diffs)."""
    return service.article(article_id, diff=diff)


@router.delete("/{article_id:path}", response_model=DeletedOut, dependencies=[Depends(require_key)],
               responses={**WRITE_ERRORS, 404: {"model": ErrorOut}})
def delete_article(article_id: ArticleId, newsroom: NewsroomDep, write_lock: WriteLockDep) -> dict:
    """Remove an article with its sentences, versions and unshared vectors."""
    with write_lock:
        deleted = newsroom.delete_article(article_id)
    if not deleted:
        raise not_found(f"article {article_id!r}")
    return {"id": article_id, "deleted": True}
