"""Stored articles: ingest a batch, read one, delete one. Writes need the key when one is set."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from newsprism.api.http.deps import (
    NewsroomDep,
    ServiceDep,
    WriteLockDep,
    check_articles,
    not_found,
    raw_items,
    require_key,
)
from newsprism.api.http.models import ArticleBatch, ArticleOut, DeletedOut, IngestOut, answers
from newsprism.engine.limits import MAX_ID_CHARS

router = APIRouter(prefix="/articles", tags=["articles"])

ArticleId = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS, description="the article's id",
                                examples=["ferry-01"])]
THE_ARTICLE = {"article_id": "$response.body#/id"}
INGESTED = {
    "getArticle": {"operationId": "getArticle", "parameters": {"article_id": "$response.body#/ids/0"},
                   "description": "the first article of the batch"},
    "deleteArticle": {"operationId": "deleteArticle", "parameters": {"article_id": "$response.body#/ids/0"}},
}
READ = {
    "getStory": {"operationId": "getStory", "parameters": {"story_id": "$response.body#/story_id"},
                 "description": "the article's story"},
    "moveArticle": {"operationId": "moveArticle",
                    "requestBody": {"article": "$response.body#/id", "to": "$response.body#/story_id"}},
    "deleteArticle": {"operationId": "deleteArticle", "parameters": THE_ARTICLE},
}


@router.post("", response_model=IngestOut, dependencies=[Depends(require_key)], operation_id="ingestArticles",
             responses={200: {"links": INGESTED}, **answers(400, 401, 413, 422, 503)})
def ingest_articles(batch: ArticleBatch, newsroom: NewsroomDep, write_lock: WriteLockDep) -> dict:
    """Ingest a batch: `{"articles": [...]}` or a bare list.

    Every article is accounted for: new, duplicate, near_copy, updated, or rejected with its
    origin (`articles[3]`) and the reason. A batch in which nothing could be stored is a 422 naming
    each article and why. One batch at a time is written (searches go on meanwhile), so story
    assignment never works from a stale picture of the store.
    """
    check_articles(batch.articles, newsroom.settings)
    items = raw_items(batch.articles, newsroom.settings.date_range())
    with write_lock:
        report = newsroom.ingest(items).as_dict()
    if len(report["rejections"]) == len(batch.articles):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {
            "error": "nothing in the batch could be stored", "detail": [
                {"field": r["origin"], "message": r["reason"], "type": "rejected"} for r in report["rejections"]]})
    return report


@router.get("/{article_id:path}", response_model=ArticleOut, operation_id="getArticle",
            responses={200: {"links": READ}, **answers(404, 413, 422, 503)})
def get_article(article_id: ArticleId, service: ServiceDep,
                diff: Annotated[bool, Query(description="add what each correction changed")] = False) -> dict:
    """One article: fields, text verbatim, sentences with offsets, versions, copies (and diffs)."""
    return service.article(article_id, diff=diff)


@router.delete("/{article_id:path}", response_model=DeletedOut, dependencies=[Depends(require_key)],
               operation_id="deleteArticle", responses=answers(401, 404, 413, 422, 503))
def delete_article(article_id: ArticleId, newsroom: NewsroomDep, write_lock: WriteLockDep) -> dict:
    """Remove an article with its sentences, versions and unshared vectors."""
    with write_lock:
        deleted = newsroom.delete_article(article_id)
    if not deleted:
        raise not_found(f"article {article_id!r}")
    return {"id": article_id, "deleted": True}
