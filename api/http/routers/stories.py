"""Stories the store has grouped: the list, one story, its attributed summary, its claims across outlets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from api.http.deps import AllConflicts, FiltersDep, NewsroomDep, WriteLockDep, date_bound, not_found, require_key
from api.http.models import ClaimsOut, ErrorOut, MergeIn, MoveIn, RenameIn, SplitIn, StoriesOut, StoryOut, SummaryOut
from engine import report as reports
from engine.analysis import compare, paginate, summarize
from engine.records import Article
from index.newsroom import Newsroom

router = APIRouter(prefix="/stories", tags=["stories"])

StoryId = Annotated[int, Path(ge=0, le=2**53, description="the story's id")]
Limit = Annotated[int | None, Query(ge=1, le=10_000, description="at most this many (paging)")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="skip this many (paging)")]
NOT_FOUND = {404: {"model": ErrorOut, "description": "no such story"}}
WRITE = {**NOT_FOUND, 401: {"model": ErrorOut, "description": "missing or wrong API key"},
         413: {"model": ErrorOut, "description": "body over its limit"}}


def story_articles(newsroom: Newsroom, story_id: int) -> list[Article]:
    articles = newsroom.story_articles(story_id)
    if not articles:
        raise not_found(f"story {story_id}")
    return articles


@router.get("", response_model=StoriesOut)
def list_stories(
    newsroom: NewsroomDep,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many stories")] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9, description="skip this many stories (paging)")] = 0,
) -> dict:
    """Stories, largest first, with `total` for paging; the filters pick the articles shown."""
    return newsroom.stories(filters, limit=limit, offset=offset)


@router.get("/{story_id}", response_model=StoryOut, responses=NOT_FOUND)
def get_story(story_id: StoryId, newsroom: NewsroomDep, limit: Limit = None, offset: Offset = 0) -> dict:
    """One story and its articles in time order (paged with limit/offset; `articles_total` counts all)."""
    found = newsroom.story(story_id)
    if found is None:
        raise not_found(f"story {story_id}")
    return paginate(found, "articles", limit, offset)


@router.get("/{story_id}/summary", response_model=SummaryOut, responses=NOT_FOUND)
def story_summary(
    story_id: StoryId,
    newsroom: NewsroomDep,
    words: Annotated[int | None, Query(ge=1, le=5000, description="word budget (whole sentences)")] = None,
    sentences: Annotated[int | None, Query(ge=1, le=200, description="number of sentences instead")] = None,
    query: Annotated[str | None, Query(max_length=2000, description="focus on this question or topic")] = None,
    truncate: Annotated[bool, Query(description="fill the word budget exactly, cutting the last sentence")] = False,
) -> dict:
    """Extractive summary in which every sentence names its article and the outlets that carry its claim."""
    articles = story_articles(newsroom, story_id)
    if words is None and sentences is None:
        words = newsroom.settings.summary_words
    qvec = newsroom.encode_query(query) if query else None
    return summarize(articles, newsroom.settings.model, words=words, sentences=sentences, query_vector=qvec,
                     truncate=truncate)


@router.get("/{story_id}/claims", response_model=ClaimsOut, responses=NOT_FOUND)
def story_claims(story_id: StoryId, newsroom: NewsroomDep, limit: Limit = None, offset: Offset = 0,
                 all_conflicts: AllConflicts = False) -> dict:
    """What each outlet says: shared claims with their support, conflicts, claims only one outlet makes.

    Claims page with limit/offset (`claims_total` counts all); conflicts always come whole, those below the
    confidence threshold only with `all_conflicts=true`."""
    return paginate(compare(story_articles(newsroom, story_id), newsroom.settings.model, all_conflicts), "claims",
                    limit, offset)


def curate(newsroom: Newsroom, lock, action) -> dict:
    """An editor's correction, serialised with other writes; unknown ids are 404."""
    with lock:
        try:
            return action(newsroom)
        except KeyError as exc:
            raise not_found(str(exc.args[0]).removeprefix("no ")) from exc


@router.get("/{story_id}/changes", responses=NOT_FOUND)
def story_changes(
    story_id: StoryId,
    newsroom: NewsroomDep,
    since: Annotated[str, Query(min_length=4, max_length=64, description="ISO date or time: what changed since then")],
) -> dict:
    """New articles and outlets, new claims, facts that now differ, corrected articles since a time."""
    bound = date_bound("since", since)
    if newsroom.story(story_id) is None:
        raise not_found(f"story {story_id}")
    return newsroom.story_changes(story_id, bound)


@router.post("/{story_id}/merge", response_model=StoryOut, responses=WRITE, dependencies=[Depends(require_key)])
def merge(story_id: StoryId, body: MergeIn, newsroom: NewsroomDep, lock: WriteLockDep) -> dict:
    """An editor's merge: the other story's articles join this one (later ingests keep it)."""
    return curate(newsroom, lock, lambda n: n.merge_stories(story_id, body.other))


@router.post("/{story_id}/split", response_model=StoryOut, responses=WRITE, dependencies=[Depends(require_key)])
def split(story_id: StoryId, body: SplitIn, newsroom: NewsroomDep, lock: WriteLockDep) -> dict:
    """An editor's split: the given articles form a new story, which is returned."""
    return curate(newsroom, lock, lambda n: n.split_story(story_id, body.articles))


@router.post("/{story_id}/rename", response_model=StoryOut, responses=WRITE, dependencies=[Depends(require_key)])
def rename(story_id: StoryId, body: RenameIn, newsroom: NewsroomDep, lock: WriteLockDep) -> dict:
    """An editor's label for the story; reclusters and ingests keep it."""
    return curate(newsroom, lock, lambda n: n.rename_story(story_id, body.label))


@router.post("/move", response_model=StoryOut, responses=WRITE, dependencies=[Depends(require_key)])
def move(body: MoveIn, newsroom: NewsroomDep, lock: WriteLockDep) -> dict:
    """An editor moves one article to another story."""
    return curate(newsroom, lock, lambda n: n.move_article(body.article, body.to))


REPORT_RESPONSES = {
    200: {"description": "the report", "content": {"text/html": {}, "text/markdown": {}, "application/json": {}}},
    404: {"model": ErrorOut, "description": "no such story", "content": {"application/json": {}}},
}


@router.get("/{story_id}/report", responses=REPORT_RESPONSES)
def story_report(
    story_id: StoryId,
    newsroom: NewsroomDep,
    format: Annotated[str, Query(pattern="^(html|md|json)$", description="html (default), md or json")] = "html",
    all_conflicts: AllConflicts = False,
) -> Response:
    """The editor's similarity report: one self-contained page (no scripts, nothing from the network)."""
    found = newsroom.story(story_id)
    if found is None:
        raise not_found(f"story {story_id}")
    data = reports.story_report(story_articles(newsroom, story_id), newsroom.settings.model, newsroom.embedder,
                                label=found["label"], story_id=story_id, all_conflicts=all_conflicts)
    if format == "json":
        return JSONResponse(data)
    if format == "md":
        return PlainTextResponse(reports.to_markdown(data), media_type="text/markdown; charset=utf-8")
    return HTMLResponse(reports.to_html(data), headers={"Content-Security-Policy": reports.CSP})
