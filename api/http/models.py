"""Request and response bodies of the HTTP API: the OpenAPI schema and the checks on input in one place.

Responses mirror the dicts the engine returns (the CLI's --json shapes), so both faces show the same facts.
"""

from __future__ import annotations

import calendar
import itertools
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from newsprism.engine.limits import (
    MAX_DATE_CHARS,
    MAX_ID_CHARS,
    MAX_OUTLET_CHARS,
    MAX_QUERY_CHARS,
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
)
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    WithJsonSchema,
    conint,
    field_validator,
    model_validator,
)
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


ERRORS: dict[int, tuple[str, ErrorOut]] = {
    400: ("the body is not JSON text in UTF-8", ErrorOut(error="There was an error parsing the body")),
    401: ("missing or wrong API key (writes, when the server has one)",
          ErrorOut(error="writes need a valid API key in 'Authorization: Bearer <key>' (missing key)")),
    404: ("no such story or article", ErrorOut(error="no story 42")),
    409: ("the store's state forbids it (a story merged into itself)",
          ErrorOut(error="a story cannot be merged into itself")),
    413: ("the request body is over max_body_bytes",
          ErrorOut(error="request body is over the limit of 20000000 bytes (max_body_bytes)")),
    422: ("a parameter or body field is invalid, or nothing in the body could be used; `detail` names the fields",
          ErrorOut(error="invalid request: articles[0].text: Field required",
                   detail=[ErrorItem(field="articles[0].text", message="Field required", type="missing")])),
    503: ("the store cannot be read, or the server is at its limit of heavy reads: try again",
          ErrorOut(error="database is locked")),
}


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route can give, for its `responses`: each described, each with an example."""
    return {code: {"model": ErrorOut, "description": ERRORS[code][0],
                   "content": {"application/json": {"example": ERRORS[code][1].model_dump()}}} for code in codes}


# -- the rules of input, stated once for the schema and the checks ---------------------------------

EARLIEST_DATE = date(1900, 1, 2)  # on or after 1900-01-01 UTC at every offset (the store's range starts in 1900)
TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
OFFSET = r"(?:Z|[+-](?:0[0-9]|1[0-4]):[0-5][0-9])"
ISO_DATE_SYNTAX = rf"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}(?:T{TIME}{OFFSET}?)?"
DATE_HELP = ("ISO 8601 date or date-time, e.g. 2025-03-05 or 2025-03-05T14:30:00Z (offsets up to ±14:59); "
             "a time without offset is UTC")


def digits(lo: int, hi: int, width: int) -> str:
    """A regex for exactly the numbers lo..hi written with `width` digits, zero-padded."""
    if width == 1:
        return str(lo) if lo == hi else f"[{lo}-{hi}]"
    size = 10 ** (width - 1)
    (head_lo, rest_lo), (head_hi, rest_hi) = divmod(lo, size), divmod(hi, size)
    if head_lo == head_hi:
        return f"{head_lo}{digits(rest_lo, rest_hi, width - 1)}"
    parts, tail = [], None
    if rest_lo:
        parts.append(f"{head_lo}{digits(rest_lo, size - 1, width - 1)}")
        head_lo += 1
    if rest_hi != size - 1:
        tail = f"{head_hi}{digits(0, rest_hi, width - 1)}"
        head_hi -= 1
    if head_lo <= head_hi:
        parts.append(digits(head_lo, head_hi, 1) + ("[0-9]" if width == 2 else f"[0-9]{{{width - 1}}}"))
    parts += [tail] if tail else []
    return parts[0] if len(parts) == 1 else f"(?:{'|'.join(parts)})"


def month_days(start: tuple[int, int], end: tuple[int, int], leap: bool) -> str:
    """A regex for the `MM-DD` days from `start` to `end` (month, day) of one year, leap or not."""
    length = {m: calendar.monthrange(2024 if leap else 2023, m)[1] for m in range(1, 13)}
    (m1, d1), (m2, d2) = start, end
    if m1 == m2:
        return f"{m1:02}-{digits(d1, d2, 2)}"
    parts = [f"{m1:02}-{digits(d1, length[m1], 2)}"]
    by_length: dict[int, list[int]] = {}
    for month in range(m1 + 1, m2):
        by_length.setdefault(length[month], []).append(month)
    for days, months in by_length.items():
        names = "|".join(f"{m:02}" for m in months)
        parts.append(f"{names if len(months) == 1 else f'(?:{names})'}-{digits(1, days, 2)}")
    parts.append(f"{m2:02}-{digits(1, d2, 2)}")
    return f"(?:{'|'.join(parts)})"


def date_pattern(first: date, last: date) -> str:
    """The exact calendar days first..last as ISO dates, each with an optional time and offset.

    Exact so that every string a client generates from the schema is a date the server takes, and
    the range lies inside the one the server accepts (it refuses dates before 1900 or far in the future).
    """
    spans: list[str] = []

    def span(year: int, start: tuple[int, int], end: tuple[int, int]) -> None:
        spans.append(f"{year}-{month_days(start, end, calendar.isleap(year))}")

    if first.year == last.year:
        span(first.year, (first.month, first.day), (last.month, last.day))
    else:
        span(first.year, (first.month, first.day), (12, 31))
        if first.year + 1 < last.year:
            spans.append(f"{digits(first.year + 1, last.year - 1, 4)}-{month_days((1, 1), (12, 31), False)}")
            leaps = [str(y) for y in range(first.year + 1, last.year) if calendar.isleap(y)]
            spans += [f"(?:{'|'.join(leaps)})-02-29"] if leaps else []
        span(last.year, (1, 1), (last.month, last.day))
    return f"^(?:{'|'.join(spans)})(?:T{TIME}{OFFSET}?)?$"


def iso_date(value: str) -> datetime | None:
    """The UTC time a date parameter or field names, or None when it is not ISO 8601 as the schema says."""
    if len(value) > MAX_DATE_CHARS or not re.fullmatch(ISO_DATE_SYNTAX, value):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # a day no calendar has (2025-02-30), or before year 1 in UTC
        return None


def letter_pattern() -> str:
    """A regex class of the letters (`str.isalpha()`) of the Basic Multilingual Plane, spelt out as
    literal ranges: Python, ECMA-262 (with or without the u flag) and Rust read it alike, and a client
    draws from it quickly. Letters beyond U+FFFF (historic scripts, mathematical letters) alone do not count."""
    letters = [c for c in range(0x10000) if chr(c).isalpha()]
    ranges, start = [], letters[0]
    for prev, code in itertools.pairwise([*letters, -1]):
        if code != prev + 1:
            ranges.append(chr(start) if start == prev else f"{chr(start)}-{chr(prev)}")
            start = code
    return f"[{''.join(ranges)}]"


LETTER = letter_pattern()
LETTER_RE = re.compile(LETTER)


# -- articles in ----------------------------------------------------------------------------------


def check_date(value: str) -> str:
    if iso_date(value) is None:
        raise PydanticCustomError("date", "not an ISO 8601 date: '{value}' (e.g. 2025-03-05 or 2025-03-05T14:30:00Z)",
                                  {"value": value[:MAX_DATE_CHARS]})
    return value


STRICT = ConfigDict(strict=True, extra="forbid")


def whole_number(value: Any) -> Any:
    """JSON has one number type: 2.0 is the integer 2 (as JSON Schema says); 2.5, "2" and true stay refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def json_int(ge: int, le: int) -> Any:
    """An integer between ge and le; the bounds sit on the integer itself so the schema states them."""
    return Annotated[conint(strict=True, ge=ge, le=le), BeforeValidator(whole_number)]
ARTICLE_EXAMPLE = {
    "id": "bridge-01", "title": "Harbour bridge reopens in Kellhaven", "source": "Test Wire",
    "text": "The harbour bridge in Kellhaven reopened on Tuesday after three weeks of repairs, the city said.",
    "published": "2025-03-11T09:30:00Z", "url": "https://testwire.example/news/bridge-reopens"}
IsoDate = Annotated[StrictStr, AfterValidator(check_date),
                    Field(max_length=MAX_DATE_CHARS, json_schema_extra={"pattern": ISO_DATE_SYNTAX})] | None
Outlet = Annotated[StrictStr, Field(max_length=MAX_OUTLET_CHARS)] | None
ArticleIdIn = Annotated[StrictStr, Field(min_length=1, max_length=MAX_ID_CHARS)]
SAFE_INTEGER = 2**53  # the integers every JSON reader holds exactly


def number_id(value: Any) -> Any:
    """A numeric id (as many CMS exports have) is kept as its digits."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= SAFE_INTEGER:
        return str(value)
    return value


ArticleIdOrNumber = Annotated[ArticleIdIn, BeforeValidator(number_id), WithJsonSchema({"anyOf": [
    {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS},
    {"type": "integer", "minimum": -SAFE_INTEGER, "maximum": SAFE_INTEGER}]})]


class ArticleIn(BaseModel):
    """An article: `text` is required, the rest optional (null is the same as leaving a field out).

    Unknown fields are refused rather than dropped, so a misspelt field never silently loses a value."""

    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [ARTICLE_EXAMPLE]})

    id: ArticleIdOrNumber | None = Field(
        None, description="kept as the article's id; default: a stable hash of url or text")
    title: Annotated[StrictStr, Field(max_length=MAX_TITLE_CHARS)] | None = None
    text: StrictStr = Field(min_length=1, json_schema_extra={"pattern": LETTER},
                            description="the article body, with at least one letter (of the BMP, as `pattern` "
                                        "spells out); over max_article_chars is refused (maxLength: this server's)")
    source: Outlet = Field(None, description="the outlet (default: the URL's domain)")
    outlet: Outlet = Field(None, description="the same as `source` (used when `source` is not given)")
    published: IsoDate = Field(None, description=f"publication date: {DATE_HELP}")
    date: IsoDate = Field(None, description="the same as `published` (used when `published` is not given)")
    url: Annotated[StrictStr, Field(max_length=MAX_URL_CHARS)] | None = None

    @field_validator("text")
    @classmethod
    def has_letter(cls, value: str) -> str:
        if not LETTER_RE.search(value):
            raise PydanticCustomError("no_letter", "text holds no letter: nothing to read")
        return value

    def fields(self) -> dict[str, Any]:
        """The raw fields for the ingest stages, unset ones left out."""
        return self.model_dump(exclude_none=True)


class ArticleBatch(BaseModel):
    """`{"articles": [...]}`, or the bare list of articles; at most max_batch articles (the schema states it)."""

    model_config = ConfigDict(**STRICT, json_schema_extra=lambda schema, cls: bare_list_allowed(schema))

    articles: list[ArticleIn] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def bare_list(cls, data: Any) -> Any:
        return {"articles": data} if isinstance(data, list) else data


def bare_list_allowed(schema: dict[str, Any]) -> None:
    """The batch schema as sent: the object, or the bare list of its articles."""
    obj = {key: schema.pop(key) for key in list(schema) if key not in {"title", "description"}}
    schema["oneOf"] = [obj, {**obj["properties"]["articles"], "title": "bare list of articles"}]
    schema["examples"] = [{"articles": [ARTICLE_EXAMPLE]}]


class SummarizeRequest(ArticleBatch):
    """Articles to summarize without storing them, with the summary options (the object form only)."""

    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [
        {"articles": [ARTICLE_EXAMPLE], "words": 60, "query": "when did the bridge reopen?"}]})

    words: json_int(1, 5000) | None = Field(
        None, description="word budget (default: summary_words setting)")
    sentences: json_int(1, 200) | None = Field(
        None, description="number of sentences instead of a word budget")
    query: Annotated[StrictStr, Field(max_length=MAX_QUERY_CHARS)] | None = Field(
        None, description="focus the summary on this question or topic")
    truncate: StrictBool = Field(False, description="fill the word budget exactly, cutting the last sentence")

    @model_validator(mode="before")
    @classmethod
    def bare_list(cls, data: Any) -> Any:
        return data


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


StoryIdIn = json_int(0, SAFE_INTEGER)


class MergeIn(BaseModel):
    """Merge story `other` into the story in the path."""

    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [{"other": 4}]})

    other: StoryIdIn


class SplitIn(BaseModel):
    """These articles of the story leave it and form a new story."""

    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [{"articles": ["ferry-05"]}]})

    articles: list[ArticleIdIn] = Field(min_length=1, max_length=10_000)


class MoveIn(BaseModel):
    """The story an article belongs to."""

    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [{"article": "ferry-05", "to": 2}]})

    article: ArticleIdIn
    to: StoryIdIn


class RenameIn(BaseModel):
    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [{"label": "Kellhaven ferry disaster"}]})

    label: StrictStr = Field(min_length=1, max_length=MAX_TITLE_CHARS)


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


class NewArticleOut(BaseModel):
    id: str
    title: str | None
    outlet: str
    published: str | None
    url: str | None


class CorrectedArticleOut(VersionDiff):
    """An article corrected since the time asked: which versions, and what changed."""

    id: str
    outlet: str
    url: str | None


class ChangesOut(BaseModel):
    """What changed in a story since a time: new articles and outlets, new claims, facts that now differ."""

    story_id: int
    since: str = Field(description="the time asked, in UTC")
    new_articles: list[NewArticleOut]
    new_outlets: list[str]
    new_claims: list[ClaimOut]
    changed_facts: list[ConflictOut]
    corrected_articles: list[CorrectedArticleOut]


# -- system ---------------------------------------------------------------------------------------


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    store: str
    model: str
    model_loaded: bool
    articles: int | None = Field(None, description="null while the store cannot be read")
    stories: int | None = None
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
