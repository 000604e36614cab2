"""The editor's story report: one self-contained page that a real browser renders cleanly, on a laptop and a
phone, with the same facts as its Markdown and JSON variants, untrusted text kept inert, and blind spots
from the editor's outlet groups.

The demo corpus goes through the real CLI into a store (conftest's `demo_store`, once per session); the
browser is Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from newsprism.engine.groups import load_groups, parse_groups
from newsprism.engine.report import date_span, md, plural, safe_url

from tests.conftest import cli_json, run_cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
PHONE = {"width": 390, "height": 844}

EVIL_TITLE = "<script>window.__pwned = 1</script> Dam bursts near Ostbry"
EVIL_ARTICLES = [
    {"id": "e1", "title": EVIL_TITLE, "outlet": "Evil <b>Wire</b>", "url": "javascript:alert(1)",
     "published": "2025-04-01T08:00:00Z",
     "text": "A dam burst near the town of Ostbry on Tuesday morning, flooding hundreds of homes, officials said.\n\n"
             "At least 12 people were killed when the water swept through the valley, the fire service said.\n\n"
             "The mayor said <script>window.__pwned = 2</script> the town had never seen such a disaster."},
    {"id": "e2", "title": '"><img src=x onerror="window.__pwned = 3"> Ostbry dam failure floods homes',
     "outlet": "Second Daily", "url": "https://second.example/dam?a=1&b=<2>", "published": "2025-04-01T10:30:00Z",
     "text": "Hundreds of homes were flooded when a dam burst near Ostbry on Tuesday morning, officials said.\n\n"
             "At least 9 people were killed when the water swept through the valley, the fire service said.\n\n"
             "Rescue teams were searching for survivors late into the night."},
]


def normalized(text: str) -> str:
    return " ".join(text.split()).lower()


def html_text(page: str) -> str:
    """What a reader sees, roughly: tags dropped (a <mark> inside a sentence must not split it), entities decoded."""
    page = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return normalized(html.unescape(re.sub(r"<[^>]+>", "", page)))


def markdown_text(text: str) -> str:
    return normalized(re.sub(r"\\(.)", r"\1", text))


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "Debian's chromium is needed for the page tests: `make browser` installs it"
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def biggest(demo_store, tmp_path_factory) -> dict:
    """The demo's biggest story through `newsprism report`: its files, its JSON and its store listing."""
    story = cli_json("stories", "--db", str(demo_store))["stories"][0]
    out = tmp_path_factory.mktemp("report")
    html_path, md_path = out / "story.html", out / "story.md"
    result = run_cli("report", str(story["id"]), "--db", str(demo_store), "--html", str(html_path), "--md",
                     str(md_path), "--json")
    return {"story": story, "data": json.loads(result.stdout), "html_path": html_path,
            "html": html_path.read_text(), "md": md_path.read_text()}


def planted_conflicts(truth: dict, article_ids: set[str]) -> list[dict]:
    """truth.json's conflicts for the demo story that holds most of these articles."""
    best = max(truth["stories"], key=lambda s: len(article_ids & set(s["articles"])))
    return [c for c in truth["conflicts"] if c["story"] == best["key"]]


def open_page(browser, path: Path, viewport: dict):
    """A page with every console error and uncaught exception collected."""
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    return page, errors


def same_value(a: str, b: str) -> bool:
    a, b = normalized(a), normalized(b)
    return a in b or b in a


def test_biggest_story_renders_in_chromium(biggest, browser, demo_truth, tmp_path):
    page, errors = open_page(browser, biggest["html_path"], {"width": 1280, "height": 900})
    shot = tmp_path / "report-desktop.png"
    page.screenshot(path=str(shot), full_page=True)
    assert errors == []
    assert shot.stat().st_size > 50_000
    assert page.locator("#conflicts").is_visible()
    assert page.locator("#outlets svg.heatmap").is_visible()
    assert page.locator("#timeline svg.timeline").is_visible()
    assert page.locator("#summary li").count() >= 2

    ids = {a["id"] for a in biggest["story"]["articles"]}
    planted = planted_conflicts(demo_truth, ids)
    assert planted, "the biggest demo story has planted conflicts"
    cards = [card.locator("mark").all_inner_texts() for card in page.locator("#conflicts article").all()]
    for conflict in planted:
        values = [side["value"] for side in conflict["sides"]]
        assert any(all(any(same_value(v, m) for m in marks) for v in values) for marks in cards), \
            f"planted conflict not shown: {conflict['description']} (marks: {cards})"
    page.close()

    phone, errors = open_page(browser, biggest["html_path"], PHONE)
    assert errors == []
    assert phone.evaluate("document.documentElement.scrollWidth <= innerWidth + 1"), "horizontal overflow on a phone"
    phone.screenshot(path=str(tmp_path / "report-phone.png"), full_page=True)
    assert (tmp_path / "report-phone.png").stat().st_size > 50_000
    phone.close()


def test_html_markdown_and_json_hold_the_same_facts(biggest):
    data, page, text = biggest["data"], html_text(biggest["html"]), markdown_text(biggest["md"])
    assert data["story_id"] == biggest["story"]["id"]
    assert {o["name"] for o in data["outlets"]} == set(biggest["story"]["outlets"])
    assert {a["id"] for a in data["articles"]} == {a["id"] for a in biggest["story"]["articles"]}
    assert data["conflicts"] and data["claims"] and data["summary"]

    facts = [o["name"] for o in data["outlets"]] + [a["title"] for a in data["articles"]]
    facts += [s["text"] for s in data["summary"]] + [c["text"] for c in data["claims"]]
    facts += [c["text"] for claims in data["single_source"].values() for c in claims]
    for conflict in data["conflicts"]:
        facts += [s["value"] for s in conflict["sides"]] + [s["sentence"] for s in conflict["sides"]]
    facts += [f"{v:.0%}" for row in data["similarity"]["matrix"] for v in row if v]
    for fact in facts:
        assert normalized(fact) in page, f"HTML lacks {fact!r}"
        assert normalized(fact) in text, f"Markdown lacks {fact!r}"
    # Counts agree too.
    counts = data["counts"]
    assert f"{counts['articles']} articles, {counts['outlets']} outlets, {counts['claims']} claims" in text


def test_no_script_and_nothing_from_the_network(biggest):
    page = biggest["html"]
    assert not re.search(r"<\s*(script|link|img|iframe|object|embed|audio|video|source)\b", page, re.I)
    assert not re.search(r"url\(|@import", page, re.I)
    assert not re.search(r"\son\w+\s*=", page, re.I), "inline event handlers"
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    for href in re.findall(r'href="([^"]*)"', page):
        assert href.startswith("#") or href.startswith(("https://", "http://")), href


def test_untrusted_text_stays_text(browser, tmp_path):
    source = tmp_path / "evil.jsonl"
    source.write_text("\n".join(json.dumps(a) for a in EVIL_ARTICLES))
    page_path, md_path = tmp_path / "evil.html", tmp_path / "evil.md"
    data = json.loads(run_cli("report", "--input", str(source), "--html", str(page_path), "--md", str(md_path),
                              "--json").stdout)
    assert EVIL_TITLE in [a["title"] for a in data["articles"]], "the test needs the title to reach the report"

    page, errors = open_page(browser, page_path, PHONE)
    assert errors == []
    assert page.evaluate("document.querySelectorAll('script, img, iframe, object, embed').length") == 0
    assert page.evaluate("window.__pwned === undefined")
    assert page.evaluate("document.querySelectorAll('a[href^=\"javascript\"], [onerror]').length") == 0
    assert page.evaluate("[...document.querySelectorAll('b')].every(b => !b.textContent.includes('Wire'))")
    body = page.inner_text("body")
    assert EVIL_TITLE in body and "Evil <b>Wire</b>" in body
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
    page.close()

    markdown = md_path.read_text()
    assert "\\<script\\>window.\\_\\_pwned = 1\\</script\\>" in markdown
    assert "javascript:" not in markdown
    assert "(https://second.example/dam?a=1&b=%3C2%3E)" in markdown


def test_all_stories_overview(demo_store, browser, tmp_path):
    out = tmp_path / "reports"
    written = cli_json("report", "--all", "--html-dir", str(out), "--db", str(demo_store))
    listed = cli_json("stories", "--db", str(demo_store))["stories"]
    assert written["index"] == str(out / "index.html") and written["total"] == len(listed)
    index = (out / "index.html").read_text()
    links = re.findall(r'href="(story-\d+\.html)"', index)
    assert sorted(links) == sorted(f"story-{s['id']}.html" for s in listed)
    assert all((out / link).exists() for link in links)
    for story in listed:
        assert html.escape(story["label"]) in index
    page, errors = open_page(browser, out / "index.html", PHONE)
    assert errors == []
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
    page.click(f"a[href='{links[-1]}']")  # a one-article story opens too
    assert page.locator("h1").inner_text()
    page.close()


def test_groups_mark_blind_spots(demo_store, tmp_path):
    listed = cli_json("stories", "--db", str(demo_store))["stories"]
    every_outlet = sorted(cli_json("stats", "--db", str(demo_store))["by_outlet"])
    target = min((s for s in listed if 2 <= s["outlet_count"] < len(every_outlet)), key=lambda s: s["outlet_count"])
    rest = [o for o in every_outlet if o not in target["outlets"]]
    groups = tmp_path / "groups.toml"
    groups.write_text('unlisted = "Unsorted"\n\n[groups]\n'
                      f'"Insiders" = {json.dumps([o.upper() for o in target["outlets"]])}\n'  # names match any case
                      f'"Rest" = {json.dumps(rest)}\n')

    marked = {s["id"]: s["blind_spot"] for s in cli_json("stories", "--db", str(demo_store), "--groups",
                                                           str(groups))["stories"]}
    assert marked[target["id"]] == {"only_group": "Insiders", "outlets": sorted(target["outlets"]),
                                    "missing": ["Rest"]}
    for story in listed:
        spans_both = bool(set(story["outlets"]) & set(rest)) and bool(set(story["outlets"]) - set(rest))
        if story["outlet_count"] == 1 or spans_both:
            assert marked[story["id"]] is None, story["label"]
    text = run_cli("stories", "--db", str(demo_store), "--groups", str(groups)).output
    assert "blind spot: only Insiders carries it (nothing from Rest)" in text

    report_md = tmp_path / "r.md"
    data = json.loads(run_cli("report", str(target["id"]), "--db", str(demo_store), "--groups", str(groups),
                              "--md", str(report_md), "--json").stdout)
    assert data["groups"]["story_blind_spot"]["only_group"] == "Insiders"
    assert {r["group"]: r["articles"] for r in data["groups"]["coverage"]} == {"Insiders": target["article_count"],
                                                                              "Rest": 0}
    assert all(c["blind_spot"]["only_group"] == "Insiders" for c in data["claims"] if len(c["sources"]) > 1)
    assert "**Blind spot:** only Insiders outlets carry this story" in report_md.read_text()


def test_groups_flag_claims_one_group_carries(biggest, demo_store, tmp_path):
    data, outlets = biggest["data"], set(biggest["story"]["outlets"])
    claim = next(c for c in data["claims"] if len(c["sources"]) >= 2 and set(c["sources"]) < outlets)
    groups = tmp_path / "groups.toml"
    groups.write_text(f'[groups]\n"Few" = {json.dumps(claim["sources"])}\n'
                      f'"Many" = {json.dumps(sorted(outlets - set(claim["sources"])))}\n')
    report_md, report_html = tmp_path / "r.md", tmp_path / "r.html"
    flagged = json.loads(run_cli("report", str(data["story_id"]), "--db", str(demo_store), "--groups", str(groups),
                                 "--md", str(report_md), "--html", str(report_html), "--json").stdout)
    assert flagged["groups"]["story_blind_spot"] is None
    same = next(c for c in flagged["claims"] if c["text"] == claim["text"] and c["sources"] == claim["sources"])
    assert same["blind_spot"] == {"only_group": "Few", "outlets": claim["sources"], "missing": ["Many"]}
    assert same["id"] in flagged["groups"]["blind_spot_claims"]
    assert f"- only Few: {md(claim['text'])}" in report_md.read_text()
    assert "Claims only one group carries" in report_html.read_text()


def test_groups_file_errors(tmp_path):
    path = tmp_path / "g.toml"
    for text, message in [('[groups]\n"A" = ["X"]\n"B" = ["x"]\n', "in two groups"),
                          ('"A" = ["X"]\n', "needs a [groups] table"),
                          ('[groups]\n"A" = "X"\n', "must be a list"),
                          ('[groups\n', "not valid TOML"),
                          ('unlisted = "A"\n[groups]\n"A" = ["X"]\n', "reserved")]:
        path.write_text(text)
        with pytest.raises(ValueError, match=re.escape(message)):
            load_groups(path)
    result = run_cli("stories", "--groups", str(path), "--db", str(tmp_path / "none"), ok=False)
    assert result.exit_code != 0 and "reserved" in result.output
    groups = parse_groups({"groups": {"Public": ["National  Broadcasting Service"], "Wire": ["Continental Press"]}})
    assert groups.group_of("national broadcasting service") == "Public"
    assert groups.group_of("Elsewhere") == "Other"
    assert groups.blind_spot(["Continental Press"]) is None  # one outlet alone is a scoop, not a blind spot
    assert groups.blind_spot(["Elsewhere", "Yonder"]) == {"only_group": "Other", "outlets": ["Elsewhere", "Yonder"],
                                                           "missing": ["Public", "Wire"]}


def test_renderer_helpers():
    assert safe_url("javascript:alert(1)") is None and safe_url("data:text/html,x") is None
    assert safe_url("/relative") is None and safe_url("https://a.example/x") == "https://a.example/x"
    assert md("a <b>|c*") == "a \\<b\\>\\|c\\*"
    assert plural(1, "story") == "1 story" and plural(2, "story") == "2 stories" and plural(0, "claim") == "0 claims"
    assert date_span("2025-03-05T13:10:00Z", "2025-03-06T08:00:00Z") == "5 Mar – 6 Mar 2025"
    assert date_span("2025-03-05T13:10:00Z", "2025-03-05T18:00:00Z") == "5 Mar 2025"


def test_report_of_raw_articles_splits_and_embeds(biggest):
    """Articles straight from a request body (no sentences, no vectors) get both before the analysis."""
    from newsprism.engine.config import DEFAULT_MODEL
    from newsprism.engine.embed import get_embedder
    from newsprism.engine.records import Article
    from newsprism.engine.report import story_report, to_markdown

    articles = [Article(id=f"raw-{k}", text=a["text"], title=a["title"], outlet=a["outlet"],
                        published=a["published"], url=a["url"]) for k, a in enumerate(EVIL_ARTICLES)]
    data = story_report(articles, DEFAULT_MODEL, get_embedder(DEFAULT_MODEL), label="Raw")
    assert data["label"] == "Raw" and data["counts"]["articles"] == 2 and data["summary"]
    assert all(s.vector is not None for a in articles for s in a.sentences)
    assert "# Raw" in to_markdown(data)
    with pytest.raises(ValueError, match="no embedder"):
        story_report([Article(id="x", text="One more sentence about the dam near Ostbry today.")], DEFAULT_MODEL)
