"""The HTTP API in-process (TestClient) on a real store: every endpoint, every limit, every error shape.

The demo corpus goes in once per module through POST /articles; tests that write use articles of
their own, so the demo store stays as ingested for the tests that read it.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from fastapi.testclient import TestClient
from newsprism.api.http import create_app
from newsprism.api.http.models import LETTER, date_pattern
from newsprism.engine.config import Settings
from newsprism.index import newsroom as newsroom_module

from tests.conftest import cli_json

KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
MAX_BATCH = 50
MAX_BODY = 300_000
MAX_CHARS = 20_000


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("api") / "store"


@pytest.fixture(scope="module")
def client(store: Path) -> Iterator[TestClient]:
    settings = Settings(store=str(store), api_key=KEY, max_batch=MAX_BATCH, max_body_bytes=MAX_BODY,
                        max_article_chars=MAX_CHARS)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def ingested(client: TestClient, demo_articles: list[dict]) -> dict:
    response = client.post("/articles", json={"articles": demo_articles}, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def ferry_story(client: TestClient, ingested: dict) -> int:
    return client.get("/articles/ferry-01").json()["story_id"]


def variant(article: dict, tag: str) -> dict:
    """A fresh article made from a demo one: new id, and enough new text to be stored."""
    return {**article, "id": f"{article['id']}-{tag}", "url": None,
            "text": f"{article['text']}\n\nUpdate {tag}: officials gave a further briefing on {tag} and promised "
                    f"a full report on the matter within {len(tag) + 3} days."}


def assert_error(response, status: int, *words: str) -> dict:
    """An error answer: the status, JSON with a readable `error`, no stack trace."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in response.text
    for word in words:
        assert word in response.text, f"{word!r} not in {response.text}"
    return body


# -- articles ---------------------------------------------------------------------------------------


def test_ingest_report_accounts_for_the_demo_corpus(ingested: dict, demo_articles: list[dict]) -> None:
    assert ingested["new"] + ingested["near_copy"] == len(demo_articles)
    assert ingested["rejected"] == 0 and ingested["rejections"] == []
    assert set(ingested["ids"]) == {a["id"] for a in demo_articles}
    assert ingested["sentences"] > 0


def test_same_batch_again_is_all_duplicates(client: TestClient, ingested: dict, demo_articles: list[dict]) -> None:
    report = client.post("/articles", json={"articles": demo_articles[:10]}, headers=AUTH).json()
    assert report["duplicate"] == 10 and report["new"] == 0


def test_bare_list_with_rejections_named_by_origin(client: TestClient, demo_articles: list[dict]) -> None:
    good = variant(demo_articles[0], "bare")
    response = client.post("/articles", json=[good, {"text": "Advertisement", "source": "Test Wire"}], headers=AUTH)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["new"] + report["near_copy"] == 1 and report["ids"] == [good["id"]]
    assert report["rejections"] == [{"origin": "articles[1]", "reason": "nothing left after removing boilerplate"}]


@pytest.mark.parametrize(("article", "field", "words"), [
    ({"title": "no text here"}, "articles[1].text", ["Field required"]),
    ({"text": None}, "articles[1].text", ["valid string"]),
    ({"text": ""}, "articles[1].text", ["at least 1 character"]),
    ({"text": "  12 345 ²  "}, "articles[1].text", ["no letter"]),
    ({"text": "x " * (MAX_CHARS // 2 + 1)}, "articles[1].text", [str(MAX_CHARS), "max_article_chars"]),
    ({"text": "A date no calendar holds.", "published": "2025-02-30"}, "articles[1].published", ["2025-02-30"]),
    ({"text": "Dated before year one in UTC.", "published": "0001-01-01T00:00:00+05:00"}, "articles[1].published",
     ["ISO 8601"]),
    ({"text": "A date in words.", "date": "March 5, 2025"}, "articles[1].date", ["ISO 8601"]),
    ({"text": "A boolean date.", "date": False}, "articles[1].date", ["valid string"]),
    ({"text": "A misspelt field.", "headline": "Lost"}, "articles[1].headline", ["not permitted"]),
    ({"text": "An id too long.", "id": "x" * 257}, "articles[1].id", ["256"]),
])
def test_a_batch_against_the_schema_is_422_naming_the_field(client: TestClient, demo_articles: list[dict],
                                                            article: dict, field: str, words: list[str]) -> None:
    """What the schema refuses, the server refuses: the whole batch, nothing stored, the field named."""
    before = client.get("/stats").json()["articles"]
    good = variant(demo_articles[2], f"schema-{field}-{len(words[0])}")
    body = assert_error(client.post("/articles", json=[good, article], headers=AUTH), 422, field, *words)
    assert field in {d["field"] for d in body["detail"]}
    assert client.get("/stats").json()["articles"] == before


def test_a_url_no_parser_reads_is_kept_not_a_crash(client: TestClient) -> None:
    """Found by schemathesis: a `]` in a URL made the outlet lookup raise (500)."""
    article = {"id": "odd-url", "url": "67\u0003H]", "text": "The ferry service to Skarsholm resumed on Friday."}
    report = client.post("/articles", json=[article], headers=AUTH)
    assert report.status_code == 200 and report.json()["ids"] == ["odd-url"], report.text
    stored = client.get("/articles/odd-url").json()
    assert stored["url"] == "67H]" and stored["outlet"] == "unknown"  # the control character is stripped
    assert client.post("/summarize", json={"articles": [article]}).status_code == 200


@pytest.mark.parametrize("text", ["Advertisement", "Share this article", "Subscribe to our newsletter for updates"])
def test_a_batch_with_nothing_storable_is_422(client: TestClient, text: str) -> None:
    body = assert_error(client.post("/articles", json=[{"text": text}], headers=AUTH), 422, "nothing", "articles[0]")
    assert body["detail"][0]["field"] == "articles[0]" and body["detail"][0]["type"] == "rejected"


def test_article_read_carries_untrusted_text_verbatim(client: TestClient) -> None:
    text = ('Officials said the vote was 5 < 7 & "A&B" won. <script>alert(1)</script> The bridge reopened on '
            "Tuesday after repairs, the city said. Café owners nearby welcomed the news — «finally».")
    report = client.post("/articles", json={"articles": [{"id": "verbatim-1", "text": text, "source": "Test Wire",
                                                          "title": "<b>Bridge</b> reopens"}]}, headers=AUTH).json()
    assert report["ids"] == ["verbatim-1"]
    response = client.get("/articles/verbatim-1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["text"] == text and body["title"] == "<b>Bridge</b> reopens"
    assert "<script>" in response.text and "&lt;" not in response.text
    assert body["sentences"] and body["versions"][0]["version"] == 1


def test_get_article_fields(client: TestClient, ingested: dict) -> None:
    body = client.get("/articles/ferry-01").json()
    assert body["id"] == "ferry-01" and body["outlet"] == "Continental Press"
    assert body["published"].startswith("2025-03-03") and body["story_id"] is not None
    assert all(s["text"] for s in body["sentences"])
    assert client.get("/articles/ferry-01", params={"diff": "true"}).json()["diffs"] == []


def test_unknown_article_is_404(client: TestClient) -> None:
    assert_error(client.get("/articles/no-such-article"), 404, "no-such-article")
    assert_error(client.delete("/articles/no-such-article", headers=AUTH), 404, "no-such-article")


def test_delete_article(client: TestClient) -> None:
    article = {"id": "to-delete", "source": "Test Wire", "published": "2025-03-02T10:00:00Z",
               "text": "The town council of Brennmark approved a new cycling lane on the old harbour road. "
                       "Work starts in April and should take six weeks, the council said."}
    assert client.post("/articles", json=[article], headers=AUTH).json()["ids"] == [article["id"]]
    response = client.delete(f"/articles/{article['id']}", headers=AUTH)
    assert response.status_code == 200 and response.json() == {"id": article["id"], "deleted": True}
    assert_error(client.get(f"/articles/{article['id']}"), 404)


# -- the key ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"},
                                     {"Authorization": KEY}, {"Authorization": f"Bearer {KEY}x"}])
def test_writes_need_the_key(client: TestClient, headers: dict, demo_articles: list[dict]) -> None:
    body = assert_error(client.post("/articles", json=[variant(demo_articles[1], "nokey")], headers=headers), 401,
                        "Bearer")
    assert "key" in body["error"]
    assert client.post("/articles", json=[], headers=headers).status_code == 401
    assert_error(client.delete("/articles/ferry-01", headers=headers), 401)
    assert client.get("/articles/ferry-01").status_code == 200


def test_401_says_how_to_authenticate(client: TestClient) -> None:
    response = client.post("/articles", json=[])
    assert response.headers["www-authenticate"] == "Bearer"


def test_reads_and_body_analyses_are_open(client: TestClient, ingested: dict, demo_articles: list[dict]) -> None:
    assert client.get("/search", params={"q": "ferry"}).status_code == 200
    assert client.get("/stories").status_code == 200
    assert client.post("/summarize", json={"articles": demo_articles[:3], "sentences": 2}).status_code == 200


# -- search -----------------------------------------------------------------------------------------


def test_search_matches_the_cli_json(client: TestClient, ingested: dict, store: Path) -> None:
    body = client.get("/search", params={"q": "ferry capsized", "k": 5}).json()
    cli = cli_json("search", "ferry capsized", "-k", "5", "--db", str(store))
    assert set(body) == set(cli)
    assert [r["id"] for r in body["results"]] == [r["id"] for r in cli["results"]]
    assert body["results"][0]["id"].startswith("ferry")


def test_search_filters_levels_modes_paging(client: TestClient, ingested: dict) -> None:
    q = "rescue crews pulled survivors from the water"
    only = client.get("/search", params={"q": q, "outlet": "the northern ledger"}).json()["results"]
    assert only and {r["outlet"] for r in only} == {"The Northern Ledger"}
    dated = client.get("/search", params={"q": q, "since": "2025-03-04", "until": "2025-03-04"}).json()["results"]
    assert dated and all(r["published"].startswith("2025-03-04") for r in dated)
    sentences = client.get("/search", params={"q": q, "level": "sentences", "k": 3}).json()["results"]
    assert len(sentences) == 3 and all("text" in s and s["outlets"] for s in sentences)
    for mode in ("semantic", "keyword"):
        found = client.get("/search", params={"q": q, "mode": mode}).json()
        assert found["mode"] == mode and found["results"]
    first = client.get("/search", params={"q": q, "k": 2}).json()
    second = client.get("/search", params={"q": q, "k": 2, "offset": 2}).json()
    assert second["offset"] == 2 and not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


@pytest.mark.parametrize(("params", "field"), [
    ({}, "q"), ({"q": ""}, "q"), ({"q": "x", "k": 0}, "k"), ({"q": "x", "k": "many"}, "k"),
    ({"q": "x", "level": "paragraphs"}, "level"), ({"q": "x", "mode": "magic"}, "mode"),
    ({"q": "x", "since": "not a date"}, "since"), ({"q": "x", "until": "0001-01-01T00:00:00+05:00"}, "until"),
    ({"q": "x", "since": ""}, "since"), ({"q": "x", "since": "2025-02-29"}, "since"),
    ({"q": "x", "until": "5 March 2025"}, "until"), ({"q": "x", "offset": 901}, "offset"),
    ({"q": "x" * 1001}, "q"), ({"q": "x", "lang": "x" * 17}, "lang"),
])
def test_search_bad_parameters_are_422_naming_the_field(client: TestClient, params: dict, field: str) -> None:
    body = assert_error(client.get("/search", params=params), 422, field)
    assert body["detail"][0]["field"] == field and body["error"].startswith("invalid request")


# -- stories ----------------------------------------------------------------------------------------


def test_stories_list_and_paging(client: TestClient, ingested: dict) -> None:
    everything = client.get("/stories").json()
    assert everything["total"] >= 7 and everything["offset"] == 0
    counts = [s["article_count"] for s in everything["stories"]]
    assert counts == sorted(counts, reverse=True)
    page = client.get("/stories", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == everything["total"]
    assert [s["id"] for s in page["stories"]] == [s["id"] for s in everything["stories"][1:3]]
    ledger = client.get("/stories", params={"outlet": "The Northern Ledger", "until": "2025-03-05"}).json()
    assert all(a["outlet"] == "The Northern Ledger" for s in ledger["stories"] for a in s["articles"])
    assert_error(client.get("/stories", params={"limit": 0}), 422, "limit")


def test_pages_of_stories_and_single_stories_agree_with_the_whole_listing(
        client: TestClient, ingested: dict, store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Listings count in SQL and read full records only for the stories shown: the parts must add up."""
    everything = client.get("/stories").json()["stories"]
    for listed in everything:
        one = client.get(f"/stories/{listed['id']}").json()
        fields = ("id", "label", "keywords", "first_seen", "last_seen", "article_count", "outlet_count", "outlets",
                  "curated", "articles")
        assert {k: one[k] for k in fields} == {k: listed[k] for k in fields}
    ledger = {"outlet": "The Northern Ledger"}
    whole = client.get("/stories", params=ledger).json()["stories"]
    page = client.get("/stories", params={**ledger, "limit": 2, "offset": 1}).json()["stories"]
    assert len(whole) >= 3 and page == whole[1:3]
    assert all(a["outlet"] == "The Northern Ledger" for s in whole for a in s["articles"])
    monkeypatch.setattr(newsroom_module, "_ID_CHUNK", 2)  # records read in chunks come out the same
    room = newsroom_module.Newsroom(Settings(store=str(store)), create=False)
    try:
        chunked = room.stories()["stories"]
    finally:
        room.close()
    assert [s["id"] for s in chunked] == [s["id"] for s in everything]
    assert [s["articles"] for s in chunked] == [s["articles"] for s in everything]


def test_one_story(client: TestClient, ferry_story: int) -> None:
    story = client.get(f"/stories/{ferry_story}").json()
    assert story["id"] == ferry_story and "ferry-01" in {a["id"] for a in story["articles"]}
    assert story["outlet_count"] >= 4
    assert_error(client.get("/stories/999999"), 404, "no story 999999")
    assert_error(client.get("/stories/-1"), 422, "story_id")
    assert_error(client.get("/stories/abc"), 404)  # a story id is a number: no such path


def test_story_summary(client: TestClient, ferry_story: int) -> None:
    ids = {a["id"] for a in client.get(f"/stories/{ferry_story}").json()["articles"]}
    body = client.get(f"/stories/{ferry_story}/summary", params={"sentences": 3}).json()
    assert len(body["summary"]) == 3
    assert all(s["article_id"] in ids and s["outlet"] in s["sources"] for s in body["summary"])
    short = client.get(f"/stories/{ferry_story}/summary", params={"words": 40}).json()
    assert 0 < short["words"] <= 40
    focused = client.get(f"/stories/{ferry_story}/summary", params={"sentences": 2, "query": "cause of the accident"})
    assert focused.status_code == 200 and focused.json()["summary"]
    assert_error(client.get("/stories/999999/summary"), 404, "no story")
    assert_error(client.get(f"/stories/{ferry_story}/summary", params={"words": 0}), 422, "words")


def test_story_claims(client: TestClient, ferry_story: int) -> None:
    body = client.get(f"/stories/{ferry_story}/claims").json()
    assert body["articles"] >= 4 and body["claims"]
    corroborated = [c for c in body["claims"] if c["support"] >= 2]
    assert corroborated and all(len(c["members"]) >= 2 for c in corroborated)
    assert_error(client.get("/stories/999999/claims"), 404, "no story")
    page = client.get(f"/stories/{ferry_story}/claims", params={"limit": 2, "offset": 1}).json()
    assert page["claims_total"] == len(body["claims"]) and page["claims"] == body["claims"][1:3]
    story = client.get(f"/stories/{ferry_story}", params={"limit": 1}).json()
    assert story["articles_total"] >= 4 and len(story["articles"]) == 1


# -- analyses of a body ------------------------------------------------------------------------------


def test_story_report_page_and_variants(client: TestClient, ferry_story: int) -> None:
    page = client.get(f"/stories/{ferry_story}/report")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<html" in page.text.lower() and "<script" not in page.text.lower()
    assert "Kellhaven" in page.text
    data = client.get(f"/stories/{ferry_story}/report", params={"format": "json"}).json()
    markdown = client.get(f"/stories/{ferry_story}/report", params={"format": "md"}).text
    assert data["summary"] and all(s["outlet"] in markdown for s in data["summary"])
    assert_error(client.get("/stories/999999/report"), 404, "story")


def test_summarize_body_stores_nothing(client: TestClient, ingested: dict, demo_articles: list[dict]) -> None:
    before = client.get("/stats").json()["articles"]
    fresh = [variant(a, "summ") for a in demo_articles if a["id"].startswith("rates-")]
    body = client.post("/summarize", json={"articles": [*fresh, {"text": "Advertisement"}], "words": 60}).json()
    assert body["summary"] and body["words"] <= 60 and body["articles"] == len(fresh)
    assert [r["origin"] for r in body["rejections"]] == [f"articles[{len(fresh)}]"]
    assert all(s["article_id"].endswith("-summ") for s in body["summary"])
    assert client.get("/stats").json()["articles"] == before
    assert_error(client.get(f"/articles/{fresh[0]['id']}"), 404)


def test_compare_body(client: TestClient, demo_articles: list[dict]) -> None:
    ferry = [a for a in demo_articles if a["id"].startswith("ferry-")]
    body = client.post("/compare", json={"articles": ferry}).json()
    assert body["articles"] == len(ferry) and body["claims"]
    assert any(c["support"] >= 3 for c in body["claims"])
    # conflicts below the confidence threshold are counted, and listed only when asked
    threshold = body["conflict_threshold"]
    assert "possible_conflicts" not in body or body["possible_conflicts"] is None
    assert all(c["confidence"] >= threshold and c["status"] == "conflict" for c in body["conflicts"])
    every = client.post("/compare?all_conflicts=true", json={"articles": ferry}).json()
    assert len(every["possible_conflicts"]) == every["possible_conflicts_total"] == body["possible_conflicts_total"]
    assert all(c["confidence"] < threshold and c["status"] == "possible" for c in every["possible_conflicts"])
    for conflict in every["conflicts"] + every["possible_conflicts"]:
        for side in conflict["sides"]:
            start, end = side["value_span"]
            assert side["sentence"][start:end] == side["value"]


@pytest.mark.parametrize("path", ["/summarize", "/compare"])
def test_body_analyses_refuse_empty_and_oversized_batches(client: TestClient, path: str) -> None:
    body = assert_error(client.post(path, json={"articles": [{"title": "no text"}]}), 422, "articles[0].text")
    assert body["detail"][0]["field"] == "articles[0].text"
    body = assert_error(client.post(path, json={"articles": [{"text": "Advertisement"}]}), 422, "no article")
    assert body["detail"][0]["field"] == "articles[0]"
    assert_error(client.post(path, json={"articles": []}), 422, "articles")
    assert_error(client.post(path, json={"articles": [{"text": "a b c"}] * (MAX_BATCH + 1)}), 422,
                 str(MAX_BATCH), "max_batch")


def test_batch_over_max_batch_is_422_naming_the_limit(client: TestClient) -> None:
    body = assert_error(client.post("/articles", json=[{"text": "a b c"}] * (MAX_BATCH + 1), headers=AUTH), 422,
                        f"{MAX_BATCH + 1} articles", str(MAX_BATCH), "max_batch")
    assert body["detail"][0]["field"] == "articles"


def test_body_over_max_body_bytes_is_413(client: TestClient) -> None:
    big = json.dumps({"articles": [{"text": "word " * (MAX_BODY // 5)}]})
    assert_error(client.post("/articles", content=big, headers={**AUTH, "Content-Type": "application/json"}), 413,
                 str(MAX_BODY), "max_body_bytes")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(big), 50_000):
            yield big[start:start + 50_000].encode()

    assert_error(client.post("/summarize", content=chunks(), headers={"Content-Type": "application/json"}), 413,
                 "max_body_bytes")


def test_bad_bodies_are_readable_422(client: TestClient) -> None:
    body = assert_error(client.post("/articles", json={"articles": [{"text": "ok text here"}, {"text": 5}]},
                                    headers=AUTH), 422, "articles[1].text")
    assert body["detail"] == [{"field": "articles[1].text", "message": "Input should be a valid string",
                               "type": "string_type"}]
    assert_error(client.post("/articles", content=b'{"articles": [', headers={**AUTH, "Content-Type":
                                                                               "application/json"}), 422, "JSON")
    assert_error(client.post("/articles", json={"stories": []}, headers=AUTH), 422, "articles")
    assert_error(client.post("/articles", json="just a string", headers=AUTH), 422)
    assert_error(client.post("/summarize", json={"articles": [{"text": "x"}], "sentences": -2}), 422, "sentences")
    lone = b'{"articles": [{"text": "broken \\ud800 surrogate text"}]}'
    assert_error(client.post("/articles", content=lone, headers={**AUTH, "Content-Type": "application/json"}),
                 422, "articles[0].text", "unicode")


def test_unknown_routes_and_methods_answer_json(client: TestClient) -> None:
    assert_error(client.get("/no/such/route"), 404)
    assert_error(client.put("/search"), 405)


@pytest.mark.parametrize(("path", "allow"), [
    ("/articles", "OPTIONS, POST"), ("/articles/ferry-01", "DELETE, GET, OPTIONS"),
    ("/articles/a/b/c", "DELETE, GET, OPTIONS"), ("/stories/move", "OPTIONS, POST"), ("/stories", "GET, OPTIONS"),
    ("/stories/3", "GET, OPTIONS"), ("/stories/3/merge", "OPTIONS, POST"), ("/search", "GET, OPTIONS"),
])
def test_options_and_405_name_every_method_of_the_path(client: TestClient, path: str, allow: str) -> None:
    options = client.options(path)
    assert options.status_code == 204 and options.headers["allow"] == allow
    wrong = "PUT" if "POST" not in allow else "GET"
    refused = client.request(wrong, path, headers=AUTH)
    assert_error(refused, 405)
    assert refused.headers["allow"] == allow


def test_health_stats_and_docs(client: TestClient, ingested: dict) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model_loaded"] is True
    assert health["articles"] >= 45 and health["stories"] >= 7
    stats = client.get("/stats").json()
    assert stats["articles"] == health["articles"] and stats["index"]["sentences"]["vectors"] > 0
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/articles", "/search", "/stories", "/stories/{story_id}/summary", "/stories/{story_id}/claims",
            "/compare", "/summarize", "/health", "/stats", "/stories/{story_id}/report"} <= set(schema["paths"])


# -- the schema -------------------------------------------------------------------------------------


def test_schema_states_the_limits_dates_examples_and_links(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert components["ArticleIn"]["properties"]["text"]["maxLength"] == MAX_CHARS
    assert components["ArticleIn"]["required"] == ["text"] and components["ArticleIn"]["additionalProperties"] is False
    assert all(branch.get("maxItems", branch.get("properties", {}).get("articles", {}).get("maxItems")) == MAX_BATCH
               for branch in components["ArticleBatch"]["oneOf"])
    since = next(p for p in schema["paths"]["/search"]["get"]["parameters"] if p["name"] == "since")
    pattern = re.compile(since["schema"]["pattern"])
    today = datetime.now(UTC).date()
    for day, ok in [("1900-01-01", False), ("1900-01-02", True), ("2000-02-29", True), ("2100-01-01", False),
                    ("2025-02-29", False), ("2025-03-05T14:30:00Z", True), ("2025-03-05T14:30+14:00", True),
                    ("2025-03-05T24:00", False), ("2025-03-05 14:30", False), (today.isoformat(), True),
                    ((today + timedelta(days=1)).isoformat(), False)]:
        assert bool(pattern.search(day)) == ok, day
    operations = {op["operationId"]: op for path in schema["paths"].values() for op in path.values()}
    for name, operation in operations.items():
        for status, answer in operation["responses"].items():
            assert answer.get("content"), (name, status)
            for media in answer["content"].values():
                assert "example" in media, (name, status)
                validator = jsonschema.Draft202012Validator({**media["schema"], "components": schema["components"]})
                assert not list(validator.iter_errors(media["example"])), (name, status)
        links = operation["responses"]["200"].get("links", {})
        assert all(link["operationId"] in operations for link in links.values())
    assert {"splitStory", "renameStory", "getArticle"} <= set(operations["getStory"]["responses"]["200"]["links"])
    assert {"mergeStories", "moveArticle"} <= set(operations["listStories"]["responses"]["200"]["links"])
    assert "getArticle" in operations["ingestArticles"]["responses"]["200"]["links"]


def test_date_pattern_is_the_calendar() -> None:
    first, last = date(1999, 12, 20), date(2004, 3, 2)
    pattern = re.compile(date_pattern(first, last))
    day = first - timedelta(days=40)
    while day <= last + timedelta(days=40):
        assert bool(pattern.search(day.isoformat())) == (first <= day <= last), day
        day += timedelta(days=1)
    for text in ["2001-02-29", "2003-04-31", "2001-13-01", "2001-00-10", "2001-01-00", "2001-1-01",
                 "2001-01-01T10:00+15:00", "2001-01-01T24:00", "2001-01-01 10:00"]:
        assert not pattern.search(text), text


def test_letter_pattern_is_isalpha_in_every_reading() -> None:
    """The same characters whether read as Python (unicode or ASCII classes, as schemathesis does) would."""
    for letter in (re.compile(LETTER), re.compile(LETTER, re.ASCII)):
        assert all(bool(letter.match(chr(c))) == (chr(c).isalpha() and c < 0x10000) for c in range(sys.maxunicode + 1))


# -- concurrency --------------------------------------------------------------------------------------


def test_two_writers_and_searches_during_writes(client: TestClient, ingested: dict, demo_articles: list[dict],
                                                store: Path) -> None:
    before = client.get("/stats").json()
    batches = [[variant(a, f"w{n}") for a in demo_articles[n * 12:(n + 1) * 12]] for n in range(2)]
    reports: list[dict] = []
    writing = threading.Event()

    def write(batch: list[dict]) -> None:
        writing.set()
        response = client.post("/articles", json={"articles": batch}, headers=AUTH)
        assert response.status_code == 200, response.text
        reports.append(response.json())

    writers = [threading.Thread(target=write, args=(b,)) for b in batches]
    for w in writers:
        w.start()
    writing.wait()
    during, started = [], time.monotonic()
    while any(w.is_alive() for w in writers) and time.monotonic() - started < 120:
        response = client.get("/search", params={"q": "evacuation of residents", "k": 3})
        assert response.status_code == 200, response.text
        during.append(any(w.is_alive() for w in writers))
    for w in writers:
        w.join()
    assert during and during[0], "no search finished while a batch was being written"
    assert sorted(len(r["ids"]) for r in reports) == [12, 12]
    after = client.get("/stats").json()
    assert after["articles"] == before["articles"] + 24
    assert after["index"]["sentences"]["vectors"] == after["distinct_sentence_vectors"]
    assert after["index"]["articles"]["vectors"] == after["articles"]
    with sqlite3.connect(store / "newsprism.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        dangling = conn.execute("SELECT count(*) FROM articles WHERE story_id IS NOT NULL "
                                "AND story_id NOT IN (SELECT story_id FROM stories)").fetchone()[0]
        miscounted = conn.execute("SELECT count(*) FROM stories s WHERE n_articles != "
                                  "(SELECT count(*) FROM articles a WHERE a.story_id = s.story_id)").fetchone()[0]
    assert dangling == 0 and miscounted == 0
    for report in reports:
        for article_id in report["ids"]:
            assert client.get(f"/articles/{article_id}").json()["story_id"] is not None
