"""The editor's pages (/ui): stories, a story, search, an article, the conflicts inbox, curation.

Server-rendered from the Jinja2 templates (autoescape on) over the same service layer as the JSON API;
no scripts, nothing from the network, every page usable without JavaScript. Each page is sent with a
Content-Security-Policy that allows no script at all.

Curation (merge, split, move, rename) needs the editor to sign in with the API key when the server has
one: the sign-in form sets an HttpOnly, SameSite=Strict session cookie (an HMAC of its issue time under a
secret born with the app, so it holds no key and dies with the process). Every form carries a CSRF token:
the HMAC of a random per-browser cookie, checked on each POST. Reads stay open unless `pages_need_key`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, FastAPI, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from newsprism.api import render
from newsprism.api.http.deps import HeavyRead, iso_bound
from newsprism.api.service import INBOX_PAGE, Invalid, NotFound, Refused, Service, groups_key
from newsprism.engine.config import Settings
from newsprism.engine.limits import MAX_ID_CHARS, MAX_QUERY_CHARS, MAX_SEARCH_DEPTH
from newsprism.index.store import Filters

router = APIRouter(prefix="/ui", include_in_schema=False)

SESSION_COOKIE, CSRF_COOKIE = "np_session", "np_csrf"
SESSION_SECONDS = 12 * 3600
STORIES_PAGE, SEARCH_PAGE = 20, 10
FORM_BYTES = 64_000  # a curation form is a few ids and a label
Text = Annotated[str | None, Query(max_length=200)]
# A page's stricter policy (no script at all) and no caching of editors' views; nosniff, X-Frame-Options,
# Referrer-Policy and frame-ancestors come from the app's SecurityHeaders middleware, as on every response.
HEADERS = {"Content-Security-Policy": render.PAGE_CSP, "Cache-Control": "no-store"}


class WebAuth:
    """Sessions and CSRF tokens for the pages; a secret born with the app signs both."""

    def __init__(self, settings: Settings) -> None:
        self.key = settings.api_key
        self.reads_need_key = settings.pages_need_key and bool(settings.api_key)
        self.secret = secrets.token_bytes(32)

    def sign(self, text: str) -> str:
        return hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()

    def key_matches(self, given: str) -> bool:
        return bool(self.key) and hmac.compare_digest(given.encode(), self.key.encode())

    def new_session(self) -> str:
        issued = str(int(time.time()))
        return f"{issued}.{self.sign('session:' + issued)}"

    def signed_in(self, request: Request) -> bool:
        """An editor may curate: signed in with a fresh session, or the server has no key at all."""
        if not self.key:
            return True
        issued, _, mac = (request.cookies.get(SESSION_COOKIE) or "").partition(".")
        if not issued.isdigit() or not hmac.compare_digest(mac.encode(), self.sign("session:" + issued).encode()):
            return False
        return 0 <= time.time() - int(issued) < SESSION_SECONDS

    def csrf_seed(self, request: Request) -> tuple[str, bool]:
        """The browser's CSRF cookie value, and whether it is new (then the response sets it)."""
        seed = request.cookies.get(CSRF_COOKIE) or ""
        if re.fullmatch(r"[A-Za-z0-9_-]{16,64}", seed):
            return seed, False
        return secrets.token_urlsafe(24), True

    def csrf_ok(self, request: Request, token: str) -> bool:
        seed = request.cookies.get(CSRF_COOKIE) or ""
        return bool(seed) and hmac.compare_digest(token.encode(), self.sign("csrf:" + seed).encode())


@dataclass(frozen=True, slots=True)
class Ctx:
    """What every page template gets besides its own data."""

    path: str
    signed_in: bool
    key_required: bool
    csrf: str


def setup(app: FastAPI, settings: Settings) -> None:
    """The pages' auth state, and `/` leading to the stories page."""
    app.state.web = WebAuth(settings)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/ui/stories", status_code=status.HTTP_303_SEE_OTHER)


def web(request: Request) -> WebAuth:
    return request.app.state.web


def service_of(request: Request) -> Service:
    return request.app.state.service


def cookie_flags(request: Request) -> dict:
    return {"httponly": True, "samesite": "strict", "secure": request.url.scheme == "https", "path": "/"}


def page(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    """A page with the security headers, and the CSRF cookie set on the browser's first visit."""
    auth = web(request)
    seed, fresh = auth.csrf_seed(request)
    ctx = Ctx(path=request.url.path, signed_in=auth.signed_in(request), key_required=bool(auth.key),
              csrf=auth.sign("csrf:" + seed))
    response = HTMLResponse(render.render(template, ctx=ctx, **context), status_code=status_code,
                            headers=HEADERS)
    if fresh:
        response.set_cookie(CSRF_COOKIE, seed, **cookie_flags(request))
    return response


def gate(request: Request) -> Response | None:
    """A redirect to the sign-in page when reads need the key and the browser is not signed in."""
    auth = web(request)
    if auth.reads_need_key and not auth.signed_in(request):
        return RedirectResponse(render.page_url("/ui/signin", {"next": request.url.path}),
                                status_code=status.HTTP_303_SEE_OTHER)
    return None


def is_page(request: Request) -> bool:
    """A request for one of these pages, whose errors are pages too (not the API's JSON)."""
    return request.url.path == router.prefix or request.url.path.startswith(router.prefix + "/")


def problem(request: Request, exc: Exception | str, status_code: int,
            headers: Mapping[str, str] | None = None) -> HTMLResponse:
    response = page(request, "error.html", status_code, message=str(exc), code=status_code)
    response.headers.update(headers or {})
    return response


def date_param(value: str | None, name: str, end: bool = False) -> str | None:
    """A filter date from a form, read as the API reads it (ISO 8601); a bare end date covers its day."""
    if not value:
        return None
    bound = iso_bound(value, end)
    if bound is None:
        raise Invalid(f"{name}: not a date: {value!r} (use ISO, e.g. 2025-03-05)")
    return bound


def page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < len(value) < 7 and int(value) > 0 else 1


def local_target(value: str | None) -> str:
    """Where to go after signing in: a page of this app only (no open redirect)."""
    if value and value.startswith("/ui/") and not value.startswith("//") and not urlsplit(value).netloc:
        return value
    return "/ui/stories"


# -- reading -------------------------------------------------------------------------------------------------


@router.get("")
def ui_root() -> RedirectResponse:
    return RedirectResponse("/ui/stories", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/stories")
def stories_page(request: Request, sort: Text = None, since: Text = None, until: Text = None, outlet: Text = None,
                 group: Text = None, lang: Text = None, page_no: Annotated[str | None, Query(alias="page")] = None
                 ) -> Response:
    if (redirect := gate(request)) is not None:
        return redirect
    service = service_of(request)
    params = {"sort": sort if sort in ("largest", "newest") else "largest", "since": since or "",
              "until": until or "", "outlet": outlet or "", "group": group or "", "lang": lang or ""}
    facets = service.facets()
    try:
        filters = Filters(outlet=outlet or None, lang=lang or None, since=date_param(since, "since"),
                          until=date_param(until, "until", end=True))
        number = page_number(page_no)
        listed = service.stories(filters, limit=STORIES_PAGE, offset=(number - 1) * STORIES_PAGE,
                                 sort=params["sort"], group=group or None)
    except Invalid as exc:
        return page(request, "stories.html", 422, error=str(exc), listed=None, params=params, facets=facets,
                    groups=service.groups, pager=None)
    pages = max(1, -(-listed.total // STORIES_PAGE))
    pager = {"number": number, "pages": pages,
             "prev": render.page_url("/ui/stories", params, page=number - 1) if number > 1 else None,
             "next": render.page_url("/ui/stories", params, page=number + 1) if number < pages else None}
    return page(request, "stories.html", error=None, listed=listed, params=params, facets=facets,
                groups=service.groups, pager=pager)


@router.get("/stories/{story_id}", dependencies=[HeavyRead])
def story_page(request: Request, story_id: Annotated[int, Path(ge=0, le=2**53)], since: Text = None,
               done: Text = None, all_conflicts: bool = False) -> Response:
    if (redirect := gate(request)) is not None:
        return redirect
    service = service_of(request)
    try:
        bound = date_param(since, "since")
        view = service.story_view(story_id, bound, all_conflicts)
    except NotFound as exc:
        return problem(request, exc, 404)
    except Invalid as exc:
        return problem(request, exc, 422)
    links = render.Links(served=True)
    sections = service.analysis(("page", story_id, groups_key(service.groups), all_conflicts),
                                lambda: render.report_sections(view.report, links))
    return page(request, "story.html", r=view.report, view=render.ReportView.of(view.report), links=links,
                story=view.story, changes=view.changes, since=since or "", sections=sections,
                palette=render.palette_css(len(view.report["outlets"])), done_text=DONE.get(done or ""),
                all_conflicts=all_conflicts)


@router.get("/search", dependencies=[HeavyRead])
def search_page(request: Request, q: Annotated[str | None, Query(max_length=MAX_QUERY_CHARS)] = None,
                mode: Text = None, since: Text = None, until: Text = None, outlet: Text = None, lang: Text = None,
                page_no: Annotated[str | None, Query(alias="page")] = None) -> Response:
    if (redirect := gate(request)) is not None:
        return redirect
    service = service_of(request)
    params = {"q": q or "", "mode": mode if mode in ("hybrid", "semantic", "keyword") else "hybrid",
              "since": since or "", "until": until or "", "outlet": outlet or "", "lang": lang or ""}
    facets = service.facets()
    found, pager, error = None, None, None
    if q and q.strip():
        number = min(page_number(page_no), MAX_SEARCH_DEPTH // SEARCH_PAGE)
        try:
            filters = Filters(outlet=outlet or None, lang=lang or None, since=date_param(since, "since"),
                              until=date_param(until, "until", end=True))
            found = service.search(q, k=SEARCH_PAGE, filters=filters, mode=params["mode"],
                                   offset=(number - 1) * SEARCH_PAGE)
        except (Invalid, ValueError) as exc:
            error = str(exc)
        else:
            pages = min(max(1, -(-found.total // SEARCH_PAGE)), MAX_SEARCH_DEPTH // SEARCH_PAGE)
            pager = {"number": number, "pages": pages,
                     "prev": render.page_url("/ui/search", params, page=number - 1) if number > 1 else None,
                     "next": render.page_url("/ui/search", params, page=number + 1) if number < pages else None}
    return page(request, "search.html", 422 if error else 200, params=params, facets=facets, found=found,
                pager=pager, error=error)


@router.get("/articles/{article_id:path}")
def article_page(request: Request, article_id: Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS)]
                 ) -> Response:
    if (redirect := gate(request)) is not None:
        return redirect
    service = service_of(request)
    try:
        found = service.article(article_id, diff=True)
    except NotFound as exc:
        return problem(request, exc, 404)
    story = None
    if found["story_id"] is not None:
        try:
            story = service.story(found["story_id"], limit=0)
        except NotFound:
            story = None
    return page(request, "article.html", a=found, story=story, links=render.Links(served=True))


@router.get("/conflicts", dependencies=[HeavyRead])
def conflicts_page(request: Request, page_no: Annotated[str | None, Query(alias="page")] = None,
                   all_conflicts: bool = False) -> Response:
    """The conflicts inbox; `all_conflicts` adds the possible ones, below the engine's confidence threshold."""
    if (redirect := gate(request)) is not None:
        return redirect
    number = page_number(page_no)
    inbox = service_of(request).conflicts(limit=INBOX_PAGE, offset=(number - 1) * INBOX_PAGE,
                                          all_conflicts=all_conflicts)
    params = {"all_conflicts": "true" if all_conflicts else ""}
    pager = {"number": number, "pages": None,
             "prev": render.page_url("/ui/conflicts", params, page=number - 1) if number > 1 else None,
             "next": render.page_url("/ui/conflicts", params, page=number + 1) if inbox.more else None}
    return page(request, "conflicts.html", inbox=inbox, pager=pager, all_conflicts=all_conflicts)


# -- curation and sign-in ---------------------------------------------------------------------------------------

DONE = {"merged": "Stories merged.", "split": "Articles split into this new story.", "moved": "Article moved here.",
        "renamed": "Story renamed."}
ACTIONS = ("merge", "split", "move", "rename")


@router.get("/curate")
def curate_page(request: Request, story: Text = None) -> Response:
    if (redirect := gate(request)) is not None:
        return redirect
    return page(request, "curate.html", story=story if story and story.isdigit() else "", error=None,
                form={})


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body (small; one value per field)."""
    body = await request.body()
    if len(body) > FORM_BYTES:
        raise Invalid(f"form over {FORM_BYTES} bytes")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Invalid("the form could not be read") from exc
    return {k: v[0] for k, v in fields.items()}


def story_number(form: dict[str, str], name: str) -> int:
    value = form.get(name, "").strip()
    if not value.isdigit() or len(value) > 15:
        raise Invalid(f"{name.replace('_', ' ')}: a story number is needed")
    return int(value)


@router.post("/curate/{action}")
async def curate_action(request: Request, action: str) -> Response:
    """One curation from a form: CSRF token first, then the session, then the service (one write at a time)."""
    auth = web(request)
    try:
        form = await read_form(request)
    except Invalid as exc:
        return problem(request, exc, 400)
    if not auth.csrf_ok(request, form.get("csrf", "")):
        return problem(request, Invalid("the form has expired or did not come from this site: open it again"), 403)
    if not auth.signed_in(request):
        return page(request, "curate.html", 401, story="", form=form,
                    error="Curation needs the editor's sign-in (the API key).")
    if action not in ACTIONS:
        return problem(request, NotFound(f"no curation {action!r}"), 404)
    service = service_of(request)
    try:
        with request.app.state.write_lock:
            if action == "merge":
                result, done = service.merge(story_number(form, "story"), story_number(form, "other")), "merged"
            elif action == "split":
                ids = [line.strip() for line in re.split(r"[\n,]", form.get("articles", "")) if line.strip()]
                result, done = service.split(story_number(form, "story"), ids), "split"
            elif action == "move":
                result, done = service.move(form.get("article", "").strip(), story_number(form, "to")), "moved"
            else:
                result, done = service.rename(story_number(form, "story"), form.get("label", "")), "renamed"
    except (NotFound, Invalid) as exc:
        code = 404 if isinstance(exc, NotFound) else (409 if isinstance(exc, Refused) else 422)
        return page(request, "curate.html", code, story=form.get("story", ""), form=form, error=str(exc))
    return RedirectResponse(f"/ui/stories/{int(result['id'])}?done={done}", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/signin")
def signin_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    return page(request, "signin.html", target=local_target(next), error=None)


@router.post("/signin")
async def signin(request: Request) -> Response:
    auth = web(request)
    try:
        form = await read_form(request)
    except Invalid as exc:
        return problem(request, exc, 400)
    target = local_target(form.get("next"))
    if not auth.csrf_ok(request, form.get("csrf", "")):
        return problem(request, Invalid("the form has expired or did not come from this site: open it again"), 403)
    if not auth.key_matches(form.get("key", "")):
        message = "That is not the key." if auth.key else "This server has no API key: curation is open."
        return page(request, "signin.html", 401 if auth.key else 200, target=target, error=message)
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(SESSION_COOKIE, auth.new_session(), max_age=SESSION_SECONDS, **cookie_flags(request))
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    try:
        form = await read_form(request)
    except Invalid as exc:
        return problem(request, exc, 400)
    if not web(request).csrf_ok(request, form.get("csrf", "")):
        return problem(request, Invalid("the form has expired or did not come from this site: open it again"), 403)
    response = RedirectResponse("/ui/stories", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
