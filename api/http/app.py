"""The app factory: one Newsroom (store + model) per app, the routers, the limits and the error shape.

Every error is JSON `{"error": "...", "detail": [...]}` with a sentence a person understands; no
client input reaches a 500, and an unexpected failure answers without a stack trace.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from newsprism.api.http.deps import SerialEmbedder
from newsprism.api.http.examples import EXAMPLES
from newsprism.api.http.models import EARLIEST_DATE, ISO_DATE_SYNTAX, ErrorOut, date_pattern
from newsprism.api.http.routers import analysis, articles, pages, search, stories, system
from newsprism.api.service import Invalid, NotFound, Refused, Service
from newsprism.engine.config import Settings, load_settings
from newsprism.engine.embed import get_embedder
from newsprism.engine.groups import load_groups
from newsprism.engine.limits import OverLimit
from newsprism.index.newsroom import Newsroom
from newsprism.index.store import StoreError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("newsprism.http")
FIELDS_IN_MESSAGE = 3


class BodyLimit:
    """Refuses a body over `limit` bytes with 413 before anything parses it.

    Content-Length is checked first; a body without one (chunked) or lying about it is counted as
    it streams in. The body is buffered here (the JSON parser would hold it whole anyway).
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self.refuse(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, replay(receive, [], message), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self.refuse(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, replay(receive, chunks, None), send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = ErrorOut(error=f"request body is over the limit of {self.limit} bytes (max_body_bytes)")
        response = JSONResponse(body.model_dump(), status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                                headers={"Connection": "close"})
        await response(scope, receive, send)


SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",  # a JSON or text answer is never sniffed into HTML
    b"x-frame-options": b"DENY",  # no page of ours inside someone else's frame (old browsers)
    b"referrer-policy": b"no-referrer",  # a report's links do not tell other sites which story was read
}
FRAME_ANCESTORS = b"frame-ancestors 'none'"


class SecurityHeaders:
    """Adds the browser safety headers to every response, errors and 413s included.

    A response that sets its own Content-Security-Policy (the HTML report) keeps it, with
    `frame-ancestors 'none'` added; every other response gets that directive alone, so /docs
    still loads its assets.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in SECURITY_HEADERS]
                csp = [v for k, v in headers if k.lower() == b"content-security-policy"]
                headers = [(k, v) for k, v in headers if k.lower() != b"content-security-policy"]
                policy = csp[0] if csp else b""
                if b"frame-ancestors" not in policy:
                    policy = policy.rstrip(b"; ") + b"; " + FRAME_ANCESTORS if policy else FRAME_ANCESTORS
                headers += [*SECURITY_HEADERS.items(), (b"content-security-policy", policy)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class NewsprismAPI(FastAPI):
    """FastAPI with the security headers wrapped around the whole stack, the 500 handler included."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def replay(receive: Receive, chunks: list[bytes], last: Message | None) -> Receive:
    """A `receive` that hands the app the buffered body (or the early message) first, then the real one."""
    pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}] \
        if last is None else [last]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


def field_name(loc: tuple | list) -> str:
    """`("body", "articles", 3, "text")` -> `articles[3].text`; query and path names as they are."""
    parts = list(loc[1:]) if loc and loc[0] in {"body", "query", "path", "header", "cookie"} else list(loc)
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


async def validation_error(request: Request, exc: RequestValidationError) -> Response:
    items = [{"field": field_name(e.get("loc", ())), "message": str(e.get("msg", "invalid")),
              "type": str(e.get("type", "value_error"))} for e in exc.errors()]
    shown = "; ".join(f"{i['field']}: {i['message']}" for i in items[:FIELDS_IN_MESSAGE])
    more = f" (and {len(items) - FIELDS_IN_MESSAGE} more)" if len(items) > FIELDS_IN_MESSAGE else ""
    if pages.is_page(request):
        return pages.problem(request, f"invalid request: {shown}{more}", status.HTTP_422_UNPROCESSABLE_CONTENT)
    return JSONResponse({"error": f"invalid request: {shown}{more}", "detail": items},
                        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def allowed_methods(request: Request) -> str:
    """Every method the router takes at this path (its own 405 names only the first route's methods)."""
    methods = {"OPTIONS"}
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            methods.add(method)
    return ", ".join(sorted(methods))


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    headers = exc.headers
    if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        headers = {**(headers or {}), "Allow": allowed_methods(request)}
        if request.method == "OPTIONS":  # what this path supports: the answer OPTIONS asks for
            return Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)
    if pages.is_page(request):  # an editor's browser gets a page it can read, with the same status and headers
        return pages.problem(request, str(exc.detail), exc.status_code, headers)
    body = exc.detail if isinstance(exc.detail, dict) else {"error": str(exc.detail)}
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


async def over_limit(request: Request, exc: OverLimit) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=status.HTTP_413_CONTENT_TOO_LARGE)


async def service_error(request: Request, exc: NotFound | Invalid) -> JSONResponse:
    code = status.HTTP_404_NOT_FOUND if isinstance(exc, NotFound) else (
        status.HTTP_409_CONFLICT if isinstance(exc, Refused) else status.HTTP_422_UNPROCESSABLE_CONTENT)
    return JSONResponse({"error": str(exc)}, status_code=code)


async def store_error(request: Request, exc: StoreError) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": "internal error; the server log has the details"},
                        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)


def open_newsroom(settings: Settings) -> Newsroom:
    """The store, and the model loaded now (once, before the first request) behind the encode lock."""
    newsroom = Newsroom(settings, create=True)
    embedder = get_embedder(settings.model, settings.batch_size)
    newsroom.store.check_model(embedder.name, embedder.dim)
    newsroom.embedder = SerialEmbedder(embedder)  # fills the cached property: every encode goes through it
    newsroom.cache.ensure()
    return newsroom


def package_version() -> str:
    try:
        return version("newsprism")
    except PackageNotFoundError:
        return "0"


def walk(node: Any) -> Any:
    """Every dict in a JSON document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def served_schema(app: FastAPI, settings: Settings, today: str) -> dict[str, Any]:
    """The OpenAPI document with what code alone cannot state: this server's limits (max_batch,
    max_article_chars), date patterns that are exact calendars up to today, and an example on every answer."""
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema["components"]["schemas"]
    dates = date_pattern(EARLIEST_DATE, datetime.fromisoformat(today).date())
    articles_ref = "#/components/schemas/ArticleIn"
    for node in walk(schema):
        if node.get("pattern") == ISO_DATE_SYNTAX:
            node["pattern"] = dates
        if node.get("type") == "array" and node.get("items", {}).get("$ref") == articles_ref:
            node["maxItems"] = settings.max_batch
    components["ArticleIn"]["properties"]["text"]["maxLength"] = settings.max_article_chars
    for path in schema["paths"].values():
        for operation in path.values():
            for answer in operation["responses"].values():
                for media in answer.get("content", {}).values():
                    name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
                    if "example" not in media and name in EXAMPLES:
                        media["example"] = EXAMPLES[name]
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app over the store in `settings` (default: settings from file and environment)."""
    settings = settings or load_settings()
    groups = load_groups(settings.outlet_groups) if settings.outlet_groups else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.newsroom = open_newsroom(settings)
        app.state.service = Service(app.state.newsroom, groups)
        app.state.write_lock = threading.Lock()
        app.state.heavy_reads = threading.BoundedSemaphore(max(1, settings.max_heavy_reads))
        try:
            yield
        finally:
            app.state.newsroom.close()

    app = NewsprismAPI(
        title="newsprism", version=package_version(), lifespan=lifespan,
        description="One story through many outlets: ingest articles, search them, see stories, summaries "
                    "and claims across outlets. Writes need `Authorization: Bearer <key>` when the server has "
                    "an API key; reads are open. Errors are `{\"error\": ..., \"detail\": [...]}`.",
    )
    schemas: dict[str, dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        """The schema, built once a day (its date patterns end today)."""
        today = datetime.now(UTC).date().isoformat()
        if today not in schemas:
            schemas.clear()
            schemas[today] = served_schema(app, settings, today)
        app.openapi_schema = schemas[today]
        return schemas[today]

    app.openapi = openapi
    for module in (articles, search, stories, analysis, system, pages):
        app.include_router(module.router)
    pages.setup(app, settings)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(NotFound, service_error)
    app.add_exception_handler(Invalid, service_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(StoreError, store_error)
    app.add_exception_handler(OverLimit, over_limit)
    app.add_exception_handler(Exception, unexpected_error)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app
