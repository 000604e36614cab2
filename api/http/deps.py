"""What routes share: the one Newsroom of the app, the write key, date filters, the shared model.

The Newsroom is built once per app (in the lifespan) and handed to routes through `NewsroomDep`, so
routes never open a store or load a model themselves.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated

import numpy as np
from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from newsprism.api.http.models import DATE_HELP, ISO_DATE_SYNTAX, ArticleIn, iso_date
from newsprism.api.service import Service
from newsprism.engine.clean import DATE_FIELDS, DateRange, normalize_date
from newsprism.engine.config import Settings
from newsprism.engine.embed import Embedder
from newsprism.engine.limits import MAX_DATE_CHARS, MAX_LANG_CHARS, MAX_OUTLET_CHARS
from newsprism.engine.records import RawItem, Rejection
from newsprism.index.newsroom import Newsroom
from newsprism.index.store import Filters

ENCODE_SLICE = 64  # texts per locked encode call: a long ingest cannot hold a search up for long
RETRY_AFTER_SECONDS = 2  # what a client is told to wait when every heavy-read slot is taken


class SerialEmbedder:
    """The shared model, one encode at a time, in short slices.

    The server encodes for searches and ingests in parallel threads. Neither the tokenizer nor the
    model is documented as thread-safe (older HF fast tokenizers raised "Already borrowed"), and torch
    already spreads one encode over every core, so parallel encodes would only contend. Slicing lets a
    search's one-sentence encode slip in between the slices of a big ingest batch.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name, self.dim, self.batch_size = inner.name, inner.dim, inner.batch_size
        self.lock = threading.Lock()

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        if not texts:
            return self.inner.encode(texts)
        parts = []
        for start in range(0, len(texts), ENCODE_SLICE):
            part = list(texts[start:start + ENCODE_SLICE])
            with self.lock:
                parts.append(self.inner.encode(part))
            if progress:
                progress(len(part))
        return np.vstack(parts)


def heavy_read(request: Request) -> Iterator[None]:
    """A slot among `max_heavy_reads` for an open read that analyses or embeds; 503 + Retry-After when all are taken.

    Open reads cost CPU and memory without a key, so they are bounded: a burst is answered at once
    with "come back shortly" instead of queueing behind itself until every client times out.
    """
    slots: threading.BoundedSemaphore = request.app.state.heavy_reads
    if not slots.acquire(blocking=False):
        limit = request.app.state.newsroom.settings.max_heavy_reads
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"the server is busy with {limit} analyses or searches (max_heavy_reads); retry shortly",
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    try:
        yield
    finally:
        slots.release()


HeavyRead = Depends(heavy_read)


def get_newsroom(request: Request) -> Newsroom:
    return request.app.state.newsroom


NewsroomDep = Annotated[Newsroom, Depends(get_newsroom)]


def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


def get_write_lock(request: Request) -> threading.Lock:
    return request.app.state.write_lock


WriteLockDep = Annotated[threading.Lock, Depends(get_write_lock)]

bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`; needed for writes when the "
                                                  "server has an API key (NEWSPRISM_API_KEY)")


def require_key(request: Request,
                credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    """Writes need the key when one is set; reads stay open. Constant-time compare, no hint which part failed."""
    key = request.app.state.newsroom.settings.api_key
    if not key:
        return
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), key.encode()):
        reason = "missing" if credentials is None else "wrong"
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            f"writes need a valid API key in 'Authorization: Bearer <key>' ({reason} key)",
                            headers={"WWW-Authenticate": "Bearer"})


def iso_bound(value: str, end: bool = False) -> str | None:
    """An ISO UTC bound from an ISO date or date-time (None when it is neither); a bare end date covers its
    whole day (as the CLI)."""
    parsed = iso_date(f"{value}T23:59:59Z" if end and len(value) == 10 else value)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ") if parsed is not None else None


def date_bound(name: str, value: str | None, end: bool = False) -> str | None:
    """`iso_bound` for a query parameter: 422 naming it when it is no ISO date."""
    if value is None:
        return None
    bound = iso_bound(value, end)
    if bound is None:
        raise RequestValidationError([{"loc": ("query", name), "type": "date",
                                       "msg": f"not an ISO 8601 date: {value[:MAX_DATE_CHARS]!r} (e.g. 2025-03-05)"}])
    return bound


def date_query(description: str, **extra) -> Query:
    """A date parameter: the schema carries the ISO syntax (made an exact calendar when the schema is served)."""
    return Query(max_length=MAX_DATE_CHARS, description=f"{description}: {DATE_HELP}",
                 json_schema_extra={"pattern": ISO_DATE_SYNTAX}, **extra)


def article_filters(
    outlet: Annotated[str | None, Query(max_length=MAX_OUTLET_CHARS,
                                        description="only this outlet (case-insensitive)")] = None,
    since: Annotated[str | None, date_query("published on or after")] = None,
    until: Annotated[str | None, date_query("published on or before (a bare date: to its end)")] = None,
    lang: Annotated[str | None, Query(max_length=MAX_LANG_CHARS, description="language (ISO 639-1, e.g. en)")]
    = None,
) -> Filters:
    return Filters(outlet=outlet, lang=lang, since=date_bound("since", since),
                   until=date_bound("until", until, end=True))


FiltersDep = Annotated[Filters, Depends(article_filters)]
# Conflicts below engine.claims.CONFIDENCE_THRESHOLD are listed as "possible" only when asked.
AllConflicts = Annotated[bool, Query(description="also list the possible conflicts, below the confidence threshold")]


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no {what}")


def check_articles(articles: list[ArticleIn], settings: Settings) -> None:
    """The limits the served schema states from settings (max_batch, max_article_chars), as 422 naming the field."""
    errors = []
    if len(articles) > settings.max_batch:
        errors.append({"loc": ("body", "articles"), "type": "too_long",
                       "msg": f"batch of {len(articles)} articles is over the limit of {settings.max_batch} per "
                              f"request (max_batch); send it in smaller batches"})
    else:
        errors += [{"loc": ("body", "articles", i, "text"), "type": "string_too_long",
                    "msg": f"text of {len(a.text)} characters is over the {settings.max_article_chars} limit "
                           f"(max_article_chars)"}
                   for i, a in enumerate(articles) if len(a.text) > settings.max_article_chars]
    if errors:
        raise RequestValidationError(errors)


def raw_items(articles: list[ArticleIn], dates: DateRange) -> list[RawItem | Rejection]:
    """Body articles as ingest inputs named `articles[i]`; a date no calendar holds is that article's rejection.

    A date outside `dates` (year 9999...) is a 422 naming the field: the client sent a wrong value.
    """
    items: list[RawItem | Rejection] = []
    problems = []
    for i, article in enumerate(articles):
        fields, origin = article.fields(), f"articles[{i}]"
        key = next((k for name in DATE_FIELDS for k in fields if str(k).lower() == name
                    and fields[k] is not None and str(fields[k]).strip()), None)
        date = str(fields[key]).strip() if key is not None else None
        try:
            published = normalize_date(date) if date and len(date) <= MAX_DATE_CHARS else None
        except (OverflowError, ValueError):
            items.append(Rejection(origin, f"date {date[:40]!r} is out of the range a date can hold"))
            continue
        problem = dates.problem(published) if published else None
        if problem:
            problems.append({"loc": ("body", "articles", i, key), "type": "date_range", "msg": problem})
        items.append(RawItem(fields, origin))
    if problems:
        raise RequestValidationError(problems)
    return items
