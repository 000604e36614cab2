"""Request and response bodies of the HTTP API: the OpenAPI schema and the checks on input in one place.

Responses mirror the dicts the engine returns (the CLI's --json shapes), so both faces show the same facts.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

# -- errors ---------------------------------------------------------------------------------------


class ErrorItem(BaseModel):
    """One thing wrong with a request: where (`field`, e.g. `articles[3].text`) and what."""

    field: str
    message: str
    type: str


class ErrorOut(BaseModel):
    """Every error answer: a sentence for people, and the fields at fault when there are several."""

    error: str
    detail: list[ErrorItem] = Field(default_factory=list)


# -- articles in ----------------------------------------------------------------------------------

Scalar = str | int | float


def check_unicode(value: Any) -> None:
    """JSON may carry lone surrogates (`"\\ud800"`) that no store or tokenizer can take: refuse them up front."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PydanticCustomError("unicode", "text holds a lone surrogate at character {at}, not valid Unicode",
                                      {"at": exc.start}) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            check_unicode(key)
            check_unicode(item)
    elif isinstance(value, list):
        for item in value:
            check_unicode(item)


class ArticleIn(BaseModel):
    """An article as ingest reads it; other field names ingest knows (body, headline, link...) pass through."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "id": "ferry-01", "title": "Ferry capsizes off Kellhaven", "text": "The passenger ferry Aurora capsized...",
        "source": "Continental Press", "published": "2025-03-03T18:40:00Z", "url": "https://example.com/ferry"}})

    id: Scalar | None = Field(None, description="kept as the article's id; default: a stable hash of url or text")
    title: str | None = None
    text: str | None = Field(None, description="the article body (or `body` / `content`)")
    source: str | None = Field(None, description="the outlet (or `outlet` / `publisher`; default: URL domain)")
    outlet: str | None = None
    published: Scalar | None = Field(None, description="publication date, ISO-8601 or a common date form")
    date: Scalar | None = None
    url: str | None = None

    @model_validator(mode="after")
    def valid_unicode(self) -> ArticleIn:
        check_unicode(self.model_dump())
        return self

    def fields(self) -> dict[str, Any]:
        """The raw fields for the ingest stages, unset ones left out."""
        return self.model_dump(exclude_none=True)


class ArticleBatch(BaseModel):
    """`{"articles": [...]}`; a bare JSON list of articles is accepted as well."""

    articles: list[ArticleIn]

    @model_validator(mode="before")
    @classmethod
    def bare_list(cls, data: Any) -> Any:
        return {"articles": data} if isinstance(data, list) else data


class SummarizeRequest(ArticleBatch):
    """Articles to summarize without storing them, with the summary options."""

    words: int | None = Field(None, ge=1, le=5000, description="word budget (default: summary_words setting)")
    sentences: int | None = Field(None, ge=1, le=200, description="number of sentences instead of a word budget")
    query: str | None = Field(None, max_length=2000, description="focus the summary on this question or topic")
    truncate: bool = Field(False, description="fill the word budget exactly, cutting the last sentence")

    @model_validator(mode="after")
    def valid_query(self) -> SummarizeRequest:
        check_unicode(self.query)
        return self


# -- ingest report --------------------------------------------------------------------------------


class RejectionOut(BaseModel):
    origin: str = Field(description="where the input was, e.g. `articles[3]`")
    reason: str


class IngestOut(BaseModel):
    new: int
    duplicate: int
    near_copy: int
    updated: int
    rejected: int
    sentences: int
    embedded: int
    ids: list[str]
    rejections: list[RejectionOut]


class DeletedOut(BaseModel):
    id: str
    deleted: bool


# -- stored articles ------------------------------------------------------------------------------


class SentenceOut(BaseModel):
    position: int
    paragraph: int
    start: int
    end: int
    text: str


class VersionOut(BaseModel):
    version: int
    title: str | None
    ingested: str | None
    published: str | None


class TokenChange(BaseModel):
    kind: Literal["number", "name", "wording"]
    before: str
    after: str


class ChangedSentence(BaseModel):
    before: str
    after: str
    changes: list[TokenChange]


class VersionDiff(BaseModel):
    """What a correction changed: sentences removed, added, and changed (numbers and names marked)."""

    from_version: int
    to_version: int
    removed: list[str]
    added: list[str]
    changed: list[ChangedSentence]
    unchanged: int


class ArticleRef(BaseModel):
    """What every list shows of an article, its URL included so an editor can click through."""

    id: str
    title: str | None
    outlet: str
    published: str | None
    url: str | None
    lang: str | None


class ArticleOut(ArticleRef):
    story_id: int | None
    version: int
    ingested: str | None
    copy_of: str | None
    copies: list[str]
    text: str
    sentences: list[SentenceOut]
    versions: list[VersionOut]
    diffs: list[VersionDiff] | None = Field(None, description="with `diff=true`: version to version changes")


# -- search ---------------------------------------------------------------------------------------


class Snippet(BaseModel):
    text: str
    score: float
    position: int


class CopyRef(BaseModel):
    id: str
    outlet: str
    url: str | None


class ArticleHit(BaseModel):
    """An article ranked by its best matching sentences; copies that re-ran it are in `also_in`."""

    id: str
    title: str | None
    outlet: str
    published: str | None
    url: str | None
    score: float
    story_id: int | None
    sentences: list[Snippet]
    also_in: list[CopyRef]


class SentenceHit(BaseModel):
    """One matching sentence, shown once with every outlet that carries it."""

    text: str
    score: float
    article_id: str
    title: str | None
    outlet: str
    published: str | None
    url: str | None
    position: int
    outlets: list[str]


class SearchOut(BaseModel):
    """The CLI's `search --json` shape: articles, or sentences with `level=sentences`.

    The query is not echoed: a client has it, and echoed untrusted text only invites misuse."""

    mode: Literal["hybrid", "semantic", "keyword"]
    total: int = Field(description="matches found (bounded), for paging")
    offset: int
    results: list[ArticleHit] | list[SentenceHit]


# -- stories --------------------------------------------------------------------------------------


class StoryArticle(ArticleRef):
    copy_of: str | None


class StoryOut(BaseModel):
    id: int
    label: str | None
    keywords: list[str]
    first_seen: str | None
    last_seen: str | None
    article_count: int
    outlet_count: int
    outlets: list[str]
    curated: bool
    articles: list[StoryArticle]
    articles_total: int | None = Field(None, description="articles in the story (the list pages with limit/offset)")
    offset: int | None = None


class MergeIn(BaseModel):
    """Merge story `other` into the story in the path."""

    other: int = Field(ge=0, le=2**53)


class SplitIn(BaseModel):
    """These articles of the story leave it and form a new story."""

    articles: list[str] = Field(min_length=1, max_length=10_000)


class MoveIn(BaseModel):
    """The story an article belongs to."""

    article: str = Field(min_length=1, max_length=1000)
    to: int = Field(ge=0, le=2**53)


class RenameIn(BaseModel):
    label: str = Field(min_length=1, max_length=500)


class StoriesOut(BaseModel):
    total: int
    offset: int
    stories: list[StoryOut]


# -- analysis -------------------------------------------------------------------------------------


class SummarySentenceOut(BaseModel):
    """A summary sentence, its article, and every outlet that carries its claim (`support` of them)."""

    text: str
    article_id: str
    outlet: str
    published: str | None
    url: str | None
    sources: list[str]
    support: int
    position: int


class SummaryOut(BaseModel):
    summary: list[SummarySentenceOut]
    words: int
    articles: int
    outlets: list[str]
    warnings: list[str]
    rejections: list[RejectionOut] = Field(default_factory=list, description="inputs left out (body input only)")


class ClaimMember(BaseModel):
    """One article's sentence carrying a claim."""

    model_config = ConfigDict(extra="allow")

    article_id: str
    outlet: str
    sentence: str
    position: int
    published: str | None
    url: str | None


class ClaimOut(BaseModel):
    """A statement carried by one or more articles; `support` counts independent reports (copies fold)."""

    model_config = ConfigDict(extra="allow")

    id: str
    kind: str = Field(description="consensus | corroborated | single-source")
    text: str
    support: int
    sources: list[str]
    first: dict[str, str | None] = Field(description="outlet, published and article_id of the earliest report")
    members: list[ClaimMember]


class ConflictSide(BaseModel):
    model_config = ConfigDict(extra="allow")

    value: str
    outlets: list[str]
    articles: list[str]
    sentence: str = Field(description="the sentence that states this side's value")
    value_span: list[int] | None = Field(None, description="[start, end) of the value in the sentence")
    published: str | None
    claim_id: str


class ConflictOut(BaseModel):
    """Aligned sentences whose facts differ (number, money, date, name, negation, attribution): who says what."""

    model_config = ConfigDict(extra="allow")

    kind: str
    sides: list[ConflictSide]
    description: str
    confidence: float = Field(description="that both sides state one measure of one thing, 0..1")
    status: str = Field(description="conflict (at or above conflict_threshold) | possible")
    doubts: list[str] = Field(default_factory=list, description="what lowered the confidence")


class ClaimsOut(BaseModel):
    """The claims table: shared claims with support, conflicts, and what only one outlet says."""

    model_config = ConfigDict(extra="allow")

    articles: int
    outlets: list[str]
    claims: list[ClaimOut]
    conflicts: list[ConflictOut]
    conflict_threshold: float = Field(description="confidence from which a conflict is shown by default")
    possible_conflicts_total: int = Field(description="conflicts below the threshold")
    possible_conflicts: list[ConflictOut] | None = Field(None, description="those, with all_conflicts=true")
    revisions: list[ConflictOut] = Field(description="figures a later report revised (earliest side first)")
    single_source: dict[str, list[ClaimOut]]
    warnings: list[str]
    claims_total: int | None = Field(None, description="claims in all (the list pages with limit/offset)")
    offset: int | None = None
    rejections: list[RejectionOut] = Field(default_factory=list, description="inputs left out (body input only)")


# -- system ---------------------------------------------------------------------------------------


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    store: str
    model: str
    model_loaded: bool
    articles: int | None
    stories: int | None
    message: str | None = None


class IndexInfo(BaseModel):
    layout: str
    vectors: int


class StatsOut(BaseModel):
    store: str
    model: str | None
    dim: int | None
    articles: int
    copies: int
    sentences: int
    distinct_sentence_vectors: int
    outlets: int
    by_outlet: dict[str, int]
    by_language: dict[str, int]
    stories: int
    index: dict[str, IndexInfo]
    size_bytes: int
    generation: int
