"""Stories the store has grouped: the list, one story, its attributed summary, its claims across outlets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from api import render
from api.http.deps import FiltersDep, ServiceDep, WriteLockDep, date_bound, require_key
from api.http.models import ClaimsOut, ErrorOut, MergeIn, MoveIn, RenameIn, SplitIn, StoriesOut, StoryOut, SummaryOut
from engine import report as reports
from engine.analysis import paginate

router = APIRouter(prefix="/stories", tags=["stories"])

StoryId = Annotated[int, Path(ge=0, le=2**53, description="the story's id")]
Limit = Annotated[int | None, Query(ge=1, le=10_000, description="at most this many (paging)")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="skip this many (paging)")]
NOT_FOUND = {404: {"model": ErrorOut, "description": "no such story"}}
WRITE = {**NOT_FOUND, 401: {"model": ErrorOut, "description": "missing or wrong API key"},
         413: {"model": ErrorOut, "description": "body over its limit"}}


@router.get("", response_model=StoriesOut)
def list_stories(
    service: ServiceDep,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many stories")] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9, description="skip this many stories (paging)")] = 0,
) -> dict:
    """Stories, largest first, with `total` for paging; the filters pick the articles shown."""
    return service.stories(filters, limit=limit, offset=offset).to_dict()


@router.get("/{story_id}", response_model=StoryOut, responses=NOT_FOUND)
def get_story(story_id: StoryId, service: ServiceDep, limit: Limit = None, offset: Offset = 0) -> dict:
    """One story and its articles in time order (paged with limit/offset; `articles_total` counts all)."""
    return service.story(story_id, limit, offset)


@router.get("/{story_id}/summary", response_model=SummaryOut, responses=NOT_FOUND)
def story_summary(
    story_id: StoryId,
    service: ServiceDep,
    words: Annotated[int | None, Query(ge=1, le=5000, description="word budget (whole sentences)")] = None,
    sentences: Annotated[int | None, Query(ge=1, le=200, description="number of sentences instead")] = None,
    query: Annotated[str | None, Query(max_length=2000, description="focus on this question or topic")] = None,
    truncate: Annotated[bool, Query(description="fill the word budget exactly, cutting the last sentence")] = False,
) -> dict:
    """Extractive summary in which every sentence names its article and the outlets that carry its claim."""
    return service.summary(story_id, words, sentences, query, truncate)


@router.get("/{story_id}/claims", response_model=ClaimsOut, responses=NOT_FOUND)
def story_claims(story_id: StoryId, service: ServiceDep, limit: Limit = None, offset: Offset = 0) -> dict:
    """What each outlet says: shared claims with their support, conflicts, claims only one outlet makes.

    Claims page with limit/offset (`claims_total` counts all); conflicts always come whole."""
    return paginate(service.claims(story_id), "claims", limit, offset)


@router.get("/{story_id}/changes", responses=NOT_FOUND)
def story_changes(
    story_id: StoryId,
    service: ServiceDep,
    since: Annotated[str, Query(min_length=4, max_length=64, description="ISO date or time: what changed since then")],
) -> dict:
    """New articles and outlets, new claims, facts that now differ, corrected articles since a time."""
    return service.changes(story_id, date_bound("since", since))


@router.post("/{story_id}/merge", response_model=StoryOut, responses=WRITE, dependencies=[Depends(require_key)])
def merge(story_id: StoryId, body: MergeIn, service: ServiceDep, lock: WriteLockDep) -> dict:
    """An editor's merge: the other story's articles join this one (later ingests keep it)."""
    with lock:
        return service.merge(story_id, body.other)


@router.post("/{story_id}/split", response_model=StoryOut, responses=WRITE, dependencies=[Depends(require_key)])
def split(story_id: StoryId, body: SplitIn, service: ServiceDep, lock: WriteLockDep) -> dict:
    """An editor's split: the given articles form a new story, which is returned."""
    with lock:
        return service.split(story_id, body.articles)


@router.post("/{story_id}/rename", response_model=StoryOut, responses=WRITE, dependencies=[Depends(require_key)])
def rename(story_id: StoryId, body: RenameIn, service: ServiceDep, lock: WriteLockDep) -> dict:
    """An editor's label for the story; reclusters and ingests keep it."""
    with lock:
        return service.rename(story_id, body.label)


@router.post("/move", response_model=StoryOut, responses=WRITE, dependencies=[Depends(require_key)])
def move(body: MoveIn, service: ServiceDep, lock: WriteLockDep) -> dict:
    """An editor moves one article to another story."""
    with lock:
        return service.move(body.article, body.to)


REPORT_RESPONSES = {
    200: {"description": "the report", "content": {"text/html": {}, "text/markdown": {}, "application/json": {}}},
    404: {"model": ErrorOut, "description": "no such story", "content": {"application/json": {}}},
}


@router.get("/{story_id}/report", responses=REPORT_RESPONSES)
def story_report(
    story_id: StoryId,
    service: ServiceDep,
    format: Annotated[str, Query(pattern="^(html|md|json)$", description="html (default), md or json")] = "html",
) -> Response:
    """The editor's similarity report: one self-contained page (no scripts, nothing from the network)."""
    data = service.report(story_id)
    if format == "json":
        return JSONResponse(data)
    if format == "md":
        return PlainTextResponse(reports.to_markdown(data), media_type="text/markdown; charset=utf-8")
    return HTMLResponse(render.report_html(data), headers={"Content-Security-Policy": str(render.REPORT_CSP)})
