"""What routes share: the one Newsroom of the app, the write key, date filters, the shared model.

The Newsroom is built once per app (in the lifespan) and handed to routes through `NewsroomDep`, so
routes never open a store or load a model themselves.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Sequence
from typing import Annotated

import numpy as np
from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http.models import ArticleIn
from api.service import Service
from engine.clean import DATE_FIELDS, first_field, normalize_date
from engine.config import Settings
from engine.embed import Embedder
from engine.records import RawItem, Rejection
from index.newsroom import Newsroom
from index.store import Filters

ENCODE_SLICE = 64  # texts per locked encode call: a long ingest cannot hold a search up for long


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


def date_bound(name: str, value: str | None, end: bool = False) -> str | None:
    """An ISO UTC bound from a date a person writes; a bare end date covers its whole day (as the CLI)."""
    if not value:
        return None
    if end and len(value) == 10:
        value = f"{value}T23:59:59Z"
    parsed = safe_date(value)
    if parsed is None:
        raise RequestValidationError([{"loc": ("query", name), "type": "date",
                                       "msg": f"not a date: {value!r} (use ISO, e.g. 2025-03-05)"}])
    return parsed


def safe_date(value: str) -> str | None:
    """`normalize_date`, with the dates Python cannot hold in UTC (year 1 east of Greenwich...) as unreadable."""
    try:
        return normalize_date(value)
    except (OverflowError, ValueError):
        return None


def article_filters(
    outlet: Annotated[str | None, Query(max_length=200, description="only this outlet (case-insensitive)")] = None,
    since: Annotated[str | None, Query(max_length=40, description="published on or after (ISO date)")] = None,
    until: Annotated[str | None, Query(max_length=40, description="published on or before (ISO date)")] = None,
    lang: Annotated[str | None, Query(max_length=8, description="language (ISO 639-1, e.g. en)")] = None,
) -> Filters:
    return Filters(outlet=outlet, lang=lang, since=date_bound("since", since),
                   until=date_bound("until", until, end=True))


FiltersDep = Annotated[Filters, Depends(article_filters)]


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no {what}")


def check_batch(count: int, settings: Settings) -> None:
    if count > settings.max_batch:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"batch of {count} articles is over the limit of {settings.max_batch} per request "
                            f"(max_batch); send it in smaller batches")


def raw_items(articles: list[ArticleIn]) -> list[RawItem | Rejection]:
    """Body articles as ingest inputs named `articles[i]`; a date no calendar holds is that article's rejection."""
    items: list[RawItem | Rejection] = []
    for i, article in enumerate(articles):
        fields, origin = article.fields(), f"articles[{i}]"
        date = first_field(fields, DATE_FIELDS)
        try:
            normalize_date(date)
        except (OverflowError, ValueError):
            items.append(Rejection(origin, f"date {date[:40]!r} is out of the range a date can hold"))
            continue
        items.append(RawItem(fields, origin))
    return items
