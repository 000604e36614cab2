"""Stories the store has grouped: the list, one story, its attributed summary, its claims across outlets."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from newsprism.api import render
from newsprism.api.http.deps import (
    AllConflicts,
    FiltersDep,
    HeavyRead,
    ServiceDep,
    WriteLockDep,
    date_bound,
    date_query,
    require_key,
)
from newsprism.api.http.models import (
    ChangesOut,
    ClaimsOut,
    MergeIn,
    MoveIn,
    RenameIn,
    SplitIn,
    StoriesOut,
    StoryOut,
    SummaryOut,
    answers,
)
from newsprism.engine.analysis import paginate
from newsprism.engine.limits import MAX_QUERY_CHARS
from starlette.convertors import Convertor, register_url_convertor


class StoryIdConvertor(Convertor):
    """A story id in a path is a number (negative ones reach validation, which names the field): so
    `/stories/move` is the move route for every method, and a GET there is a 405, not a bad story id."""

    regex = "-?[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("story_id", StoryIdConvertor())
router = APIRouter(prefix="/stories", tags=["stories"])

StoryId = Annotated[int, Path(ge=0, le=2**53, description="the story's id", examples=[1])]
Limit = Annotated[int | None, Query(ge=1, le=10_000, description="at most this many (paging)")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="skip this many (paging)")]
READ = answers(404, 413, 422, 503)
WRITE = answers(400, 401, 404, 413, 422, 503)
THIS = {"story_id": "$response.body#/id"}


def story_links(prefix: str) -> dict[str, dict]:
    """Links from an answer holding a story at `prefix` (`/stories/0` in the list, `` in one story) to what
    can be done with it, so a client (or a stateful test) reaches the curation routes with real ids."""
    story, article = f"$response.body#{prefix}/id", f"$response.body#{prefix}/articles/0/id"
    links = {name: {"operationId": name, "parameters": {"story_id": story}}
             for name in ("getStory", "storySummary", "storyClaims", "storyReport", "renameStory")}
    links["splitStory"] = {"operationId": "splitStory", "parameters": {"story_id": story},
                           "requestBody": {"articles": [article]}, "description": "its first article leaves it"}
    links["getArticle"] = {"operationId": "getArticle", "parameters": {"article_id": article}}
    return links


ONE_STORY = {**story_links(""), "moveArticle": {
    "operationId": "moveArticle",
    "requestBody": {"article": "$response.body#/articles/0/id", "to": "$response.body#/id"}}}
LIST = {**story_links("/stories/0"), "mergeStories": {
    "operationId": "mergeStories", "parameters": {"story_id": "$response.body#/stories/0/id"},
    "requestBody": {"other": "$response.body#/stories/1/id"}, "description": "the second story joins the first"},
    "moveArticle": {"operationId": "moveArticle", "description": "the first story's first article joins the second",
                    "requestBody": {"article": "$response.body#/stories/0/articles/0/id",
                                    "to": "$response.body#/stories/1/id"}}}


@router.get("", response_model=StoriesOut, operation_id="listStories",
            responses={200: {"links": LIST}, **answers(413, 422, 503)})
def list_stories(
    service: ServiceDep,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many stories")] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9, description="skip this many stories (paging)")] = 0,
) -> dict:
    """Stories, largest first, with `total` for paging; the filters pick the articles shown."""
    return service.stories(filters, limit=limit, offset=offset).to_dict()


@router.get("/{story_id:story_id}", response_model=StoryOut, operation_id="getStory",
            responses={200: {"links": ONE_STORY}, **READ})
def get_story(story_id: StoryId, service: ServiceDep, limit: Limit = None, offset: Offset = 0) -> dict:
    """One story and its articles in time order (paged with limit/offset; `articles_total` counts all)."""
    return service.story(story_id, limit, offset)


@router.get("/{story_id:story_id}/summary", response_model=SummaryOut, operation_id="storySummary", responses=READ,
            dependencies=[HeavyRead])
def story_summary(
    story_id: StoryId,
    service: ServiceDep,
    words: Annotated[int | None, Query(ge=1, le=5000, description="word budget (whole sentences)")] = None,
    sentences: Annotated[int | None, Query(ge=1, le=200, description="number of sentences instead")] = None,
    query: Annotated[str | None, Query(max_length=MAX_QUERY_CHARS, description="focus on this question or topic")]
    = None,
    truncate: Annotated[bool, Query(description="fill the word budget exactly, cutting the last sentence")] = False,
) -> dict:
    """Extractive summary in which every sentence names its article and the outlets that carry its claim."""
    return service.summary(story_id, words, sentences, query, truncate)


@router.get("/{story_id:story_id}/claims", response_model=ClaimsOut, operation_id="storyClaims", responses=READ,
            dependencies=[HeavyRead])
def story_claims(story_id: StoryId, service: ServiceDep, limit: Limit = None, offset: Offset = 0,
                 all_conflicts: AllConflicts = False) -> dict:
    """What each outlet says: shared claims with their support, conflicts, claims only one outlet makes.

    Claims page with limit/offset (`claims_total` counts all); conflicts always come whole, those below the
    confidence threshold only with `all_conflicts=true`."""
    return paginate(service.claims(story_id, all_conflicts), "claims", limit, offset)


AFTER = {"getStory": {"operationId": "getStory", "parameters": THIS, "description": "the story as it is now"}}


@router.get("/{story_id:story_id}/changes", response_model=ChangesOut, operation_id="storyChanges", responses=READ,
            dependencies=[HeavyRead])
def story_changes(
    story_id: StoryId,
    service: ServiceDep,
    since: Annotated[str, date_query("what changed since then", examples=["2025-03-04T00:00:00Z"])],
) -> dict:
    """New articles and outlets, new claims, facts that now differ, corrected articles since a time."""
    return service.changes(story_id, date_bound("since", since))


@router.post("/{story_id:story_id}/merge", response_model=StoryOut, operation_id="mergeStories",
             dependencies=[Depends(require_key)], responses={200: {"links": AFTER}, **WRITE, **answers(409)})
def merge(story_id: StoryId, body: MergeIn, service: ServiceDep, lock: WriteLockDep) -> dict:
    """An editor's merge: the other story's articles join this one (later ingests keep it)."""
    with lock:
        return service.merge(story_id, body.other)


@router.post("/{story_id:story_id}/split", response_model=StoryOut, operation_id="splitStory",
             dependencies=[Depends(require_key)], responses={200: {"links": AFTER}, **WRITE})
def split(story_id: StoryId, body: SplitIn, service: ServiceDep, lock: WriteLockDep) -> dict:
    """An editor's split: the given articles form a new story, which is returned."""
    with lock:
        return service.split(story_id, body.articles)


@router.post("/{story_id:story_id}/rename", response_model=StoryOut, operation_id="renameStory",
             dependencies=[Depends(require_key)], responses={200: {"links": AFTER}, **WRITE})
def rename(story_id: StoryId, body: RenameIn, service: ServiceDep, lock: WriteLockDep) -> dict:
    """An editor's label for the story; reclusters and ingests keep it."""
    with lock:
        return service.rename(story_id, body.label)


@router.post("/move", response_model=StoryOut, operation_id="moveArticle", dependencies=[Depends(require_key)],
             responses={200: {"links": AFTER}, **WRITE})
def move(body: MoveIn, service: ServiceDep, lock: WriteLockDep) -> dict:
    """An editor moves one article to another story."""
    with lock:
        return service.move(body.article, body.to)


REPORT_RESPONSES = {
    200: {"description": "the report: an HTML page, Markdown, or its data as JSON (`format`)", "content": {
        "text/html": {"schema": {"type": "string"}, "example": "<!doctype html><html>...</html>"},
        "text/markdown": {"schema": {"type": "string"}, "example": "# Kellhaven ferry disaster\n..."},
        "application/json": {"schema": {"type": "object"}, "example": {"story_id": 1, "summary": []}}}},
    **READ,
}


@router.get("/{story_id:story_id}/report", operation_id="storyReport", responses=REPORT_RESPONSES,
            dependencies=[HeavyRead])
def story_report(
    story_id: StoryId,
    service: ServiceDep,
    format: Annotated[Literal["html", "md", "json"], Query(description="html (default), md or json")] = "html",
    all_conflicts: AllConflicts = False,
) -> Response:
    """The editor's similarity report: one self-contained page (no scripts, nothing from the network)."""
    if format == "json":
        return JSONResponse(service.report(story_id, all_conflicts=all_conflicts))
    page = service.report_text(story_id, format, all_conflicts)
    if format == "md":
        return PlainTextResponse(page, media_type="text/markdown; charset=utf-8")
    return HTMLResponse(page, headers={"Content-Security-Policy": str(render.REPORT_CSP)})
