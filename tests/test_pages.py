"""The editor's pages as a person uses them: `newsprism serve` on loopback over a real store, driven by
Debian's Chromium through Playwright, keyboard included.

The server gets a copy of the session's demo store, then through its own API a corrected version of
one article (so there is a diff to read) and two articles with hostile titles, text and outlet names.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import DEMO, free_port, stop_server, wait_until_up

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
KEY = "pages-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
SLOW_MS = 180_000  # a cold story analysis on a small shared CPU

HOSTILE_TITLE = "<script>window.__pwned = 1</script> Dam bursts near Ostbry"
HOSTILE = [
    {"id": "evil-1", "title": HOSTILE_TITLE, "source": "Evil <b>Wire</b>", "url": "javascript:alert(1)",
     "published": "2025-04-01T08:00:00Z",
     "text": "A dam burst near the town of Ostbry on Tuesday morning, flooding hundreds of homes, officials said.\n\n"
             "At least 12 people were killed when the water swept through the valley, the fire service said.\n\n"
             "The mayor said <script>window.__pwned = 2</script> the town had never seen such a disaster."},
    {"id": "evil-2", "title": '"><img src=x onerror="window.__pwned = 3"> Ostbry dam failure floods homes',
     "source": "Second Daily", "url": "https://second.example/dam?a=1&b=<2>", "published": "2025-04-01T10:30:00Z",
     "text": "Hundreds of homes were flooded when a dam burst near Ostbry on Tuesday morning, officials said.\n\n"
             "At least 9 people were killed when the water swept through the valley, the fire service said.\n\n"
             "Rescue teams were searching for survivors late into the night."},
]
PAGES = ["/ui/stories", "/ui/search?q=ferry+capsized", "/ui/conflicts", "/ui/curate", "/ui/signin",
         "/ui/articles/ferry-03"]


@pytest.fixture(scope="module")
def server(demo_store, tmp_path_factory) -> Iterator[str]:
    """`newsprism serve` with a key on a copy of the demo store; the correction and hostile articles go in
    through the API."""
    folder = tmp_path_factory.mktemp("pages")
    shutil.copytree(demo_store, folder / "store")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSPRISM_")}
    env.update(NEWSPRISM_API_KEY=KEY, HF_HUB_OFFLINE="1")
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "newsprism.api.cli", "serve", "--db", str(folder / "store"),
                             "--port", str(port), "--groups", str(DEMO / "outlet-groups.toml")],
                            cwd=Path(__file__).resolve().parents[1], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, base, folder / "server.log")
        original = json.loads(next(line for line in (DEMO / "corpus.jsonl").read_text().splitlines()
                                   if '"ferry-03"' in line))
        corrected = dict(original, text=original["text"].replace("at least 14 people", "at least 16 people"))
        time.sleep(1.1)  # versions are stamped to the second
        written = httpx.post(f"{base}/articles", json=[corrected, *HOSTILE], headers=AUTH, timeout=300)
        assert written.status_code == 200 and written.json()["updated"] == 1, written.text
        yield base
    finally:
        stop_server(proc)
        log.close()
        assert "Traceback" not in (folder / "server.log").read_text()


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "Debian's chromium is needed for the page tests: `make browser` installs it"
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    """A fresh browser context (no cookies) with every console error and page error collected (an error status
    is not one: the tests check statuses themselves)."""
    context = browser.new_context(base_url=server, java_script_enabled=True)
    tab = context.new_page()
    tab.set_default_timeout(SLOW_MS)
    tab.errors = []
    tab.on("console", lambda m: tab.errors.append(m.text)
           if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    yield tab
    context.close()


def story_of(server: str, article_id: str) -> int:
    return httpx.get(f"{server}/articles/{article_id}", timeout=60).json()["story_id"]


def test_walk_stories_story_conflict_article_diff_search(page, server):
    page.goto("/")
    assert page.url.endswith("/ui/stories") and page.locator("h1").inner_text() == "Stories"
    first = page.locator("ul.stories h2 a").first
    label = first.inner_text()
    assert page.locator("ul.stories .cover .fill").count() == page.locator("ul.stories > li").count()
    first.click()  # the largest story
    assert page.locator("h1").inner_text() == label
    cards = page.locator("#conflicts article.conflict")
    assert cards.count() >= 1 and cards.first.locator("mark").count() >= 2
    # every article of the story is linked to its own page
    listed = httpx.get(f"{server}{page.url.split(server)[1].replace('/ui', '')}", timeout=60).json()
    hrefs = page.locator("#articles a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert {f"/ui/articles/{a['id']}" for a in listed["articles"]} <= set(hrefs)

    # the conflicts inbox links each conflict to its card in the story
    page.get_by_role("link", name="Conflicts", exact=True).first.click()
    assert page.locator("h1").inner_text() == "Conflicts"
    item = page.locator("ol.inbox > li").first
    assert re.search(r"confidence (\d\.\d\d|not given)", item.inner_text())
    item.locator("h2 a").click()
    anchor = page.url.split("#")[1]
    assert anchor.startswith("conflict-") and page.locator(f"#{anchor} mark").count() >= 2

    # the corrected article shows what the correction changed
    page.goto("/ui/articles/ferry-03")
    diff = page.locator("article.diff").first
    assert "Version 1 → 2" in diff.inner_text()
    assert "14" in diff.locator("del").first.inner_text() and "16" in diff.locator("ins").first.inner_text()
    page.locator("dl.fields a[href^='/ui/stories/']").click()  # its story, from the fields
    assert page.url.split("?")[0].endswith(f"/ui/stories/{story_of(server, 'ferry-03')}")
    changes = page.goto(f"{page.url.split('?')[0]}?since=2025-01-01").ok
    assert changes and "Corrected articles" in page.locator("#changes").inner_text()

    # a search, by keyboard: the box, Enter; the matched words are marked
    page.get_by_role("link", name="Search", exact=True).click()
    box = page.get_by_label("Search for")
    box.fill("ferry capsized passengers")
    box.press("Enter")
    page.wait_for_url(re.compile(r"q=ferry"))
    results = page.locator("ol.results > li")
    assert results.count() >= 3
    assert "ferry" in " ".join(page.locator("ol.results mark strong").all_inner_texts()).lower()
    results.first.locator("h2 a").click()
    assert page.locator("dl.fields").is_visible() and page.url.startswith(f"{server}/ui/articles/")
    assert page.errors == []


def test_curation_needs_the_key_and_a_csrf_token(page, server):
    story = story_of(server, "ferry-01")
    page.goto(f"/ui/curate?story={story}")
    assert page.locator("form[action='/ui/curate/rename']").count() == 0
    assert "sign-in" in page.locator("main").inner_text()
    csrf = page.goto("/ui/signin").ok and page.locator("input[name=csrf]").first.get_attribute("value")
    refused = page.request.post("/ui/curate/rename", form={"csrf": csrf, "story": str(story), "label": "Nope"})
    assert refused.status == 401
    forged = page.request.post("/ui/curate/rename", form={"csrf": "0" * 64, "story": str(story), "label": "Nope"})
    assert forged.status == 403
    assert httpx.get(f"{server}/stories/{story}", timeout=60).json()["label"] != "Nope"

    page.get_by_label("API key").fill("wrong key")
    page.get_by_role("button", name="Sign in").click()
    assert "not the key" in page.locator("[role=alert]").inner_text()
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Sign in").click()
    session = next(c for c in page.context.cookies() if c["name"] == "np_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict" and KEY not in session["value"]

    page.goto(f"/ui/curate?story={story}")
    label = "<b>Desk</b> Aurora ferry disaster"
    form = page.locator("form[action='/ui/curate/rename']")
    assert form.get_by_label("Story number").input_value() == str(story)
    form.get_by_label("New label").fill(label)
    form.get_by_role("button", name="Rename").click()
    assert page.locator("h1").inner_text() == label  # shown as text, not markup
    assert page.locator("h1 b").count() == 0
    assert page.locator("[role=status]").inner_text() == "Story renamed."
    assert httpx.get(f"{server}/stories/{story}", timeout=60).json()["label"] == label

    page.goto("/ui/curate")
    form = page.locator("form[action='/ui/curate/merge']")
    form.get_by_label("Story that stays").fill(str(story))
    form.get_by_label("Story merged into it").fill("999999")
    form.get_by_role("button", name="Merge").click()
    assert "999999" in page.locator("[role=alert]").inner_text()

    page.get_by_role("button", name="Sign out").click()
    page.goto(f"/ui/curate?story={story}")
    assert page.locator("form[action='/ui/curate/rename']").count() == 0
    assert page.errors == []


def test_hostile_article_text_stays_text(page, server):
    story = story_of(server, "evil-1")
    for path in ["/ui/stories?sort=newest", f"/ui/stories/{story}", "/ui/articles/evil-1", "/ui/articles/evil-2",
                 "/ui/search?q=dam+burst+Ostbry&mode=keyword", "/ui/conflicts"]:
        page.goto(path)
        assert page.evaluate("window.__pwned === undefined"), path
        assert page.evaluate("document.querySelectorAll('script, img, iframe, object, embed, [onerror]').length") \
            == 0, path
        assert page.evaluate("document.querySelectorAll('a[href^=\"javascript\"]').length") == 0, path
        assert page.evaluate("[...document.querySelectorAll('b')].every(b => !b.textContent.includes('Wire'))"), path
        body = page.inner_text("body")
        if path != "/ui/conflicts":
            assert "<script>window.__pwned = 1</script>" in body or "Evil <b>Wire</b>" in body, path
    page.goto(f"/ui/stories/{story}")
    assert HOSTILE_TITLE in page.inner_text("#articles")
    page.goto("/ui/articles/evil-1")
    assert page.locator("h1").inner_text() == HOSTILE_TITLE
    assert "javascript:alert(1) (not a web link)" in page.inner_text("dl.fields")
    assert page.errors == []


def test_every_page_sends_a_csp_without_scripts(server):
    with httpx.Client(base_url=server, timeout=300) as http:
        story = story_of(server, "ferry-01")
        for path in [*PAGES, f"/ui/stories/{story}", f"/stories/{story}/report", "/ui/stories/999999"]:
            response = http.get(path)
            csp = response.headers["content-security-policy"]
            assert "default-src 'none'" in csp and "script-src" not in csp, path
            assert "<script" not in response.text.lower(), path
            if path.startswith("/ui/"):
                assert response.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in csp
                assert response.headers["x-content-type-options"] == "nosniff"
        assert http.get("/ui/stories/999999").status_code == 404
        bad = http.get("/ui/stories", params={"since": "not a date"})
        assert bad.status_code == 422 and "not a date" in bad.text
        # the pages stay out of the API schema (and so out of the API fuzzing)
        assert not [p for p in http.get("/openapi.json").json()["paths"] if p.startswith("/ui")]


def test_pages_have_headings_labels_and_work_by_keyboard(page, server):
    story = story_of(server, "ferry-01")
    for path in [*PAGES, f"/ui/stories/{story}"]:
        page.goto(path)
        assert page.locator("h1").count() == 1, path
        unlabelled = page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)""")
        assert unlabelled == [], (path, unlabelled)
        levels = page.evaluate("[...document.querySelectorAll('h1,h2,h3')].map(h => +h.tagName[1])")
        assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), (path, levels)

    page.goto("/ui/stories")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # from the content, Tab reaches the filters and then the first story's link, and Enter opens it
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('ul.stories') !== null"):
            break
    target = page.evaluate("document.activeElement.getAttribute('href')")
    assert target and target.startswith("/ui/stories/")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(target) + "$"))
    assert page.locator("h1").count() == 1
    assert page.errors == []


def test_reads_can_need_the_key(demo_store, tmp_path):
    """`pages_need_key`: every page sends the browser to the sign-in form first."""
    from fastapi.testclient import TestClient
    from newsprism.api.http import create_app
    from newsprism.engine.config import load_settings

    shutil.copytree(demo_store, tmp_path / "store")
    settings = load_settings({"store": str(tmp_path / "store"), "api_key": KEY, "pages_need_key": True})
    with TestClient(create_app(settings)) as client:
        response = client.get("/ui/stories", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/ui/signin?next=")
        signin = client.get("/ui/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', signin.text).group(1)
        done = client.post("/ui/signin", data={"csrf": csrf, "key": KEY, "next": "/ui/stories"},
                           follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/ui/stories"
        assert client.get("/ui/stories").status_code == 200


def test_story_page_is_fresh_after_curation_and_lists_possible_conflicts(demo_store, tmp_path):
    """One cache per store generation: a rename or a merge through the API shows on the next story page
    (nothing stale is served), and `all_conflicts` reaches the story page and the conflicts inbox."""
    from fastapi.testclient import TestClient
    from newsprism.api.http import create_app
    from newsprism.engine.config import load_settings

    shutil.copytree(demo_store, tmp_path / "store")
    with TestClient(create_app(load_settings({"store": str(tmp_path / "store")}))) as client:
        first, second = client.get("/stories", params={"limit": 2}).json()["stories"]
        before = client.get(f"/ui/stories/{first['id']}")
        assert before.status_code == 200 and "Renamed by the desk" not in before.text
        assert client.post(f"/stories/{first['id']}/rename", json={"label": "Renamed by the desk"}).status_code == 200
        assert "<h1>Renamed by the desk</h1>" in client.get(f"/ui/stories/{first['id']}").text
        itself = client.post(f"/stories/{first['id']}/merge", json={"other": first["id"]})
        assert itself.status_code == 409 and "into itself" in itself.json()["error"]
        moved = second["articles"][0]["id"]
        assert f"/ui/articles/{moved}" not in client.get(f"/ui/stories/{first['id']}").text
        assert client.post(f"/stories/{first['id']}/merge", json={"other": second["id"]}).status_code == 200
        assert f"/ui/articles/{moved}" in client.get(f"/ui/stories/{first['id']}").text
        for path in (f"/ui/stories/{first['id']}?all_conflicts=true", "/ui/conflicts?all_conflicts=true"):
            assert client.get(path).status_code == 200
        report = client.get(f"/stories/{first['id']}/report", params={"format": "json", "all_conflicts": True}).json()
        possible = report["possible_conflicts"]
        page = client.get(f"/ui/stories/{first['id']}", params={"all_conflicts": "true"}).text
        assert ("Possible conflicts (confidence below" in page) == bool(possible)


def test_page_errors_are_pages_and_api_errors_stay_json(demo_store, tmp_path):
    """A busy server, a bad path parameter or an unknown page answer a browser with an HTML page (same
    status, Retry-After kept); the API's answers to the same conditions stay JSON."""
    from fastapi.testclient import TestClient
    from newsprism.api.http import create_app
    from newsprism.engine.config import load_settings

    shutil.copytree(demo_store, tmp_path / "store")
    with TestClient(create_app(load_settings({"store": str(tmp_path / "store"), "max_heavy_reads": 1}))) as client:
        story = client.get("/stories", params={"limit": 1}).json()["stories"][0]["id"]
        slots = client.app.state.heavy_reads
        assert slots.acquire(blocking=False)  # the one heavy-read slot is taken, as by a long analysis
        try:
            busy = client.get(f"/ui/stories/{story}")
            api_busy = client.get(f"/stories/{story}/claims")
        finally:
            slots.release()
        assert busy.status_code == 503 and busy.headers["content-type"].startswith("text/html")
        assert busy.headers["retry-after"] and "<h1>Busy: try again in a moment</h1>" in busy.text
        assert "max_heavy_reads" in busy.text and busy.headers["content-security-policy"]
        assert api_busy.status_code == 503 and "max_heavy_reads" in api_busy.json()["error"]
        bad = client.get("/ui/stories/<b>x", params={"since": "<i>"})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
        assert "<b>" not in bad.text and "story_id" in bad.text
        assert client.get("/stories/x").headers["content-type"].startswith("application/json")
        missing = client.get("/ui/no-such-page")
        assert missing.status_code == 404 and "<h1>Not found</h1>" in missing.text
        assert client.get(f"/ui/stories/{story}").status_code == 200
