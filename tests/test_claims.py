"""Claim alignment and conflicts (engine/claims.py, engine/facts.py) against the demo corpus's ground truth,
plus unit tests of fact extraction and of the two-sentence comparison.

The demo articles go through the ingest stages (normalise, boilerplate removal, sentence split) and are
embedded once per module with the real model; wire copies are marked from truth["copies"].
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from newsprism.engine import facts, pipeline
from newsprism.engine.claims import Alignment, align, compare_sentences, format_table
from newsprism.engine.records import Article, RawItem

DEMO = Path(__file__).resolve().parents[1] / "engine" / "demo"
TRUTH = json.loads((DEMO / "truth.json").read_text())
STORIES = [s["key"] for s in TRUTH["stories"]]


@pytest.fixture(scope="module")
def embedder():
    from newsprism.engine.embed import get_embedder

    return get_embedder()


@pytest.fixture(scope="module")
def demo(embedder) -> dict[str, Article]:
    """The demo corpus as the ingest stages leave it (boilerplate lines dropped), embedded."""
    items = [RawItem(json.loads(line), f"corpus.jsonl:{k}")
             for k, line in enumerate((DEMO / "corpus.jsonl").read_text().splitlines(), 1) if line.strip()]
    articles, rejected = pipeline.normalize(items, max_chars=1_000_000)
    assert not rejected
    recurring = {outlet: {key for key, n in counts.items() if n >= 2}
                 for outlet, counts in pipeline.outlet_line_counts(articles).items()}
    articles, _ = pipeline.clean(articles, recurring)
    articles = pipeline.split(articles)
    texts = sorted({s.text for a in articles for s in a.sentences})
    vectors = dict(zip(texts, embedder.encode(texts), strict=True))
    for article in articles:
        for s in article.sentences:
            s.vector = vectors[s.text]
    copies = {c["copy"]: c["original"] for c in TRUTH["copies"]}
    for article in articles:
        article.copy_of = copies.get(article.id)
    return {a.id: a for a in articles}


@pytest.fixture(scope="module")
def alignments(demo) -> dict[str, Alignment]:
    return {s["key"]: align([demo[i] for i in s["articles"]]) for s in TRUTH["stories"]}


def _value_matches(expected: str, stated: str) -> bool:
    """A side's value states the planted one: the same words, or the same quantity however written."""
    if expected.lower() in stated.lower() or stated.lower() in expected.lower():
        return True
    want, got = facts.parse_quantities(expected), facts.parse_quantities(stated)
    return bool(want and got) and (want[0].lo, want[0].hi, want[0].unit) == (got[0].lo, got[0].hi, got[0].unit)


def _matches_planted(conflict: dict, planted: dict) -> bool:
    """Same kind, and the planted sentences' articles on two different sides with their values."""
    first, second = planted["sides"]
    return conflict["kind"] == planted["kind"] and any(
        first["article"] in a["articles"] and _value_matches(first["value"], a["value"])
        and second["article"] in b["articles"] and _value_matches(second["value"], b["value"])
        for a in conflict["sides"] for b in conflict["sides"] if a is not b)


def _same_disagreement(conflict: dict, planted: dict) -> bool:
    """The planted disagreement found through other articles of the same outlets (e.g. a second report of
    the same outlet stating the same value): same kind and the same two values, not a false conflict."""
    values = [s["value"] for s in planted["sides"]]
    return conflict["kind"] == planted["kind"] and len(conflict["sides"]) == 2 and all(
        any(_value_matches(v, side["value"]) for side in conflict["sides"]) for v in values)


@pytest.mark.parametrize("story", STORIES)
def test_planted_conflicts_are_found(alignments, story):
    conflicts = alignments[story].to_dict()["conflicts"]
    for planted in (c for c in TRUTH["conflicts"] if c["story"] == story):
        assert any(_matches_planted(c, planted) for c in conflicts), (
            f"{planted['description']} not found; conflicts: {[c['description'] for c in conflicts]}")


@pytest.mark.parametrize("story", STORIES)
def test_at_most_one_false_conflict_per_story(alignments, story):
    planted = [c for c in TRUTH["conflicts"] if c["story"] == story]
    false = [c["description"] for c in alignments[story].to_dict()["conflicts"]
             if not any(_matches_planted(c, p) or _same_disagreement(c, p) for p in planted)]
    assert len(false) <= 1, false


@pytest.mark.parametrize("story", STORIES)
def test_non_conflicts_are_not_flagged(alignments, story):
    conflicts = alignments[story].to_dict()["conflicts"]
    for case in (c for c in TRUTH["non_conflicts"] if c["story"] == story):
        sentences = {(s["article"], s["sentence"]) for s in case["sentences"]}
        for conflict in conflicts:
            sides_with_one = [side for side in conflict["sides"]
                              if any((a, side["sentence"]) in sentences for a in side["articles"])]
            assert len(sides_with_one) < 2, f"{case['description']} flagged as {conflict['description']}"


@pytest.mark.parametrize("story", STORIES)
def test_shared_claims_are_found_with_their_support(alignments, story):
    claims = alignments[story].to_dict()["claims"]
    for shared in (c for c in TRUTH["shared_claims"] if c["story"] == story):
        wanted = set(shared["articles"])
        holding = [c for c in claims if wanted <= {m["article_id"] for m in c["members"]}]
        assert any(c["support"] == shared["support"] for c in holding), (
            f"{shared['description']}: claims holding {sorted(wanted)} have support "
            f"{[c['support'] for c in holding]}, expected {shared['support']}")


def test_claims_are_well_formed(demo, alignments):
    """One sentence per article per claim, no titles, support = independent reports, first = earliest."""
    titles = {a.title for a in demo.values()}
    copies = {c["copy"]: c["original"] for c in TRUTH["copies"]}
    for alignment in alignments.values():
        result = json.loads(json.dumps(alignment.to_dict()))
        for claim in result["claims"]:
            ids = [m["article_id"] for m in claim["members"]]
            assert len(ids) == len(set(ids))
            assert not {m["sentence"] for m in claim["members"]} & titles
            assert all(m["position"] >= 0 for m in claim["members"])
            reports = {demo[copies.get(i, i)].outlet for i in ids}
            assert claim["support"] == len(reports)
            assert set(claim["sources"]) == {m["outlet"] for m in claim["members"]}
            earliest = min(m["published"] for m in claim["members"])
            assert claim["first"]["published"] == earliest
            assert claim["first"]["article_id"] in ids
            assert claim["text"] in {m["sentence"] for m in claim["members"]}
            assert (claim["kind"] == "single-source") == (claim["support"] == 1)
        for outlet, claims in result["single_source"].items():
            assert all(c["support"] == 1 and c["first"]["outlet"] == outlet for c in claims)


def test_copies_count_once(demo, alignments):
    """ferry-02 is a verbatim copy of ferry-01 from another outlet: sentences only they carry are one report."""
    ferry = alignments["ferry"].to_dict()
    only_copies = [c for c in ferry["claims"] if {m["article_id"] for m in c["members"]} == {"ferry-01", "ferry-02"}]
    assert only_copies, "the wire story's own sentences should form claims of the two copies"
    assert all(c["support"] == 1 and c["kind"] == "single-source" for c in only_copies)
    assert all(len(c["sources"]) == 2 for c in only_copies)


def test_kinds_follow_support(demo, alignments):
    """Consensus: carried by at least half of the story's independent outlets (and two); corroborated: two
    or more; single-source: one."""
    copies = {c["copy"]: c["original"] for c in TRUTH["copies"]}
    for story in TRUTH["stories"]:
        reports = {demo[copies.get(a, a)].outlet for a in story["articles"]}
        consensus = max(2, math.ceil(0.5 * len(reports)))
        kinds = {c.kind for c in alignments[story["key"]].claims}
        assert kinds == {"consensus", "corroborated", "single-source"}, kinds
        for claim in alignments[story["key"]].claims:
            expected = "consensus" if claim.support >= consensus else (
                "corroborated" if claim.support >= 2 else "single-source")
            assert claim.kind == expected, (claim.text, claim.support, consensus)


def test_single_source_statements_mostly_stand_alone(alignments):
    """Most of the truth's single-outlet statements are not merged into claims of other outlets (a loose
    group may take in a stray sentence; the floor keeps that rare)."""
    merged = []
    for item in TRUTH["single_source"]:
        claims = alignments[item["story"]].to_dict()["claims"]
        holding = [c for c in claims if any(m["sentence"] == item["sentence"] for m in c["members"])]
        assert holding, item["sentence"]
        if not any(c["support"] == 1 for c in holding):
            merged.append(item["sentence"])
    assert len(merged) <= 0.15 * len(TRUTH["single_source"]), merged


def test_table_puts_conflicts_first(alignments):
    alignment = alignments["ferry"]
    table = format_table(alignment)
    assert table.index("CONFLICTS") < table.index("CONSENSUS") < table.index("CORROBORATED") \
        < table.index("SINGLE-SOURCE")
    for conflict in alignment.conflicts:
        for side in conflict.sides:
            assert side.value in table
    for outlet in alignment.single_source:
        assert f"  {outlet} (" in table


def test_align_handles_degenerate_input(demo):
    assert align([]).claims == []
    one = align([demo["ferry-01"]])
    assert one.conflicts == [] and all(c.support == 1 for c in one.claims)
    assert one.claims and all(not c.text.startswith("Ferry capsizes") for c in one.claims)


# -- compare_sentences -----------------------------------------------------------------------------------------


def test_compare_sentences_reports_the_differing_number(embedder):
    a = "A passenger ferry overturned off Kellhaven's coast on Monday evening, and at least 14 people have died."
    b = "A total of 11 people were killed when the passenger ferry overturned off Kellhaven on Monday evening."
    va, vb = embedder.encode([a, b])
    result = compare_sentences(a, b, va, vb)
    assert result["same_claim"] is True
    assert math.isclose(result["similarity"], float(np.dot(va, vb)), rel_tol=1e-5)
    assert 0.0 <= result["probability"] <= 1.0
    kinds = {(c["kind"], c["a"], c["b"]) for c in result["conflicts"]}
    assert ("number", "at least 14", "11") in kinds


def test_compare_sentences_same_facts_in_other_words(embedder):
    a = "Three crew members remain missing, the coast guard said."
    b = "The coast guard said 3 crew members were still missing."
    va, vb = embedder.encode([a, b])
    result = compare_sentences(a, b, va, vb)
    assert result["same_claim"] is True
    assert result["conflicts"] == []


def test_compare_sentences_unrelated(embedder):
    a = "The central bank raised its key interest rate to 4.25% on Wednesday."
    b = "Twelve homes were destroyed by the wildfire, firefighters said."
    va, vb = embedder.encode([a, b])
    result = compare_sentences(a, b, va, vb)
    assert result["same_claim"] is False
    assert result["conflicts"] == []


# -- facts -----------------------------------------------------------------------------------------------------


def _one(text: str) -> facts.Quantity:
    quantities = facts.parse_quantities(text)
    assert len(quantities) == 1, quantities
    return quantities[0]


@pytest.mark.parametrize(("text", "value"), [
    ("three crew members", 3), ("twenty-five people", 25), ("a dozen homes", 12), ("Twelve homes", 12),
    ("1.2 million customers", 1_200_000), ("1,200,000 customers", 1_200_000), ("one hundred and five people", 105),
    ("two thousand people", 2000), ("four metres", 4),
])
def test_numbers_in_words_and_digits(text, value):
    q = _one(text)
    assert q.lo <= value <= q.hi


def test_equal_numbers_written_differently_agree():
    assert _one("a dozen homes").agrees(_one("12 homes"))
    assert _one("1.2 million customers").agrees(_one("1,200,000 customers"))
    assert _one("a quarter of a percentage point").agrees(_one("25 basis points"))
    assert _one("Five of the seven members voted for it").agrees(_one("the committee voted 5-2"))
    assert _one("voted by five to two").agrees(_one("the committee voted 5-2"))
    assert not _one("14 people").agrees(_one("11 people"))


def test_bounds_and_ranges():
    at_least = _one("at least 40 survivors")
    assert at_least.lo == 40 and at_least.hi == math.inf and at_least.agrees(_one("42 survivors"))
    assert not _one("at least 40 survivors").agrees(_one("38 survivors"))
    assert _one("more than 3,000 residents").agrees(_one("about 3,200 residents"))
    about = _one("about 3,200 people")  # +-10%, and +-50 for a figure rounded to hundreds
    assert 2800 < about.lo <= 2880 and 3520 <= about.hi < 3600
    nearly = _one("nearly half of voters")
    assert nearly.unit == "percent" and nearly.lo < 50 <= nearly.hi
    between = _one("between 40 million and 55 million crowns")
    assert between.unit == "money:crown" and 39e6 < between.lo <= 40e6 and 55e6 <= between.hi < 56e6
    assert not _one("58,000 fans").agrees(_one("61,200 fans"))


def test_units_and_money():
    assert _one("$189.50").unit == "money:USD" and _one("$189.50").lo == 189.5
    assert _one("£2bn").unit == "money:GBP" and _one("£2bn").lo <= 2e9 <= _one("£2bn").hi
    assert _one("4.25%").unit == "percent" and _one("4.25%").lo == 4.25
    assert _one("a 1.4-billion-crown contract").unit == "money:crown"
    assert _one("the 87th minute").unit == "ordinal:minute"
    assert _one("Survivor Marta Lindqvist, 34, told reporters").unit == "age"
    assert facts.parse_quantities("The Aurora was built in 1998 and sails at 6:40 p.m.") == []


def test_dates_resolve_against_the_published_day():
    published = "2025-03-04T07:30:00Z"  # a Tuesday
    (monday,) = facts.parse_dates("The ferry sank on Monday evening.", published)
    assert monday.first == monday.last == date(2025, 3, 3)
    (yesterday,) = facts.parse_dates("It sank yesterday.", published)
    assert yesterday.first == date(2025, 3, 3)
    (wednesday,) = facts.parse_dates("Flags will fly at half-mast on Wednesday.", published)
    assert wednesday.first == date(2025, 3, 5)
    (explicit,) = facts.parse_dates("The audit was completed on Dec. 27.", published)
    assert explicit.first == date(2024, 12, 27) and explicit.explicit
    (full,) = facts.parse_dates("The agency announced the recall on Monday, March 10.", published)
    assert full.first == date(2025, 3, 10)
    (last_week,) = facts.parse_dates("The board opened an investigation last week.", published)
    assert (last_week.first, last_week.last) == (date(2025, 2, 24), date(2025, 3, 2))
    (since,) = facts.parse_dates("Winners for the first time in 31 years.", "2025-03-08T20:00:00Z")
    assert since.first.year == 1994


def test_date_differences_need_the_same_event():
    pub = "2025-03-08T07:00:00Z"
    a = facts.extract("Lennart announced his resignation on Friday at a news conference.", pub)
    b = facts.extract("Lennart announced his resignation on Thursday at a news conference.", pub)
    assert [d.kind for d in facts.differences(a, b)] == ["date"]
    c = facts.extract("The search for the missing crew resumed at dawn on Tuesday.", pub)
    d = facts.extract("The coast guard called off the search for the three missing crew members on Wednesday.", pub)
    assert facts.differences(c, d) == []


def test_number_differences_need_the_same_role():
    dead = facts.extract("At least 14 people have died, the coast guard said.")
    killed = facts.extract("A total of 11 people were killed when the ferry went down.")
    aboard = facts.extract("The ferry, which carried 59 people, overturned in a storm.")
    assert [(d.kind, d.a, d.b) for d in facts.differences(dead, killed)] == [("number", "At least 14", "11")]
    assert facts.differences(dead, aboard) == []
    crew = facts.extract("The vessel was carrying 53 passengers and six crew.")
    assert facts.differences(aboard, crew) == []  # 59 = 53 + 6


def test_negation():
    said = facts.extract("Halvorsen said it had not received any reports of harm to patients.")
    admitted = facts.extract("Halvorsen admitted it had received reports of harm to patients.")
    assert [(d.kind, d.a, d.b) for d in facts.differences(said, admitted)] == [
        ("negation", "not received", "received")]
    denied = facts.extract("Lumora denied that payment data had been affected by the breach.")
    confirmed = facts.extract("The company confirmed the breach affected payment data.")
    assert [d.kind for d in facts.differences(denied, confirmed)] == ["negation"]
    both = facts.extract("Halvorsen said it had received no reports of harm to patients.")
    assert facts.differences(said, both) == []
    not_ruled_out = facts.extract("The governor said further increases could not be ruled out.")
    assert not_ruled_out.polarity.denial == "" and not_ruled_out.polarity.cues == 0
    ruled_out = facts.extract("The bank ruled out further increases this year.")
    would = facts.extract("The bank said it would raise rates again this year.")
    assert [d.kind for d in facts.differences(ruled_out, would)] == ["negation"]


def test_names():
    maas = facts.extract("The ferry's captain, Piet Maas, was among the survivors.")
    maes = facts.extract("The ferry's captain, Pieter Maes, was among those who survived.")
    assert [(d.kind, d.a, d.b) for d in facts.differences(maas, maes)] == [("name", "Piet Maas", "Pieter Maes")]
    assert maas.names[0].role == frozenset({"captain"})
    (governor,) = facts.parse_names("Governor Dr. Mattias Ekholm told reporters the rise was needed.")
    assert (governor.text, governor.role) == ("Mattias Ekholm", frozenset({"governor"}))
    short = facts.extract("Maas, the captain, survived.")
    assert facts.differences(maas, short) == []
    other = facts.extract("The ferry's captain was among the survivors, according to Nordvik Ferry Lines.")
    assert facts.differences(maas, other) == []  # a name on one side only is no conflict
    florida = facts.extract("A Florida woman said she had the surgery.")
    floridian = facts.extract("A Floridian woman said she had the surgery.")
    assert facts.differences(florida, floridian) == []


def test_mask_hides_values_not_words():
    masked = facts.mask("KELLHAVEN, Varland (Continental Press) — At least 14 people died on Monday.")
    assert masked == "At least NUM people died on DAY."


# -- attribution -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("The attack was the work of a criminal gang based abroad, police said.",
     "The raid was carried out by a criminal gang operating from abroad, the company claimed.",
     ("police", "the company")),
    ("According to Lumora, the attackers used a contractor's stolen password.",
     "The attackers used a contractor's stolen password, the company said.", None),  # maybe the same source
    ("Fire officials said the blaze was started deliberately.",
     "The blaze was started deliberately, according to the Lissard Fire Service.", None),  # named vs common
    ("Officials said the blaze was started deliberately.",
     "Police said the blaze was started deliberately.", None),  # "officials" says nobody in particular
    ("The blaze was started deliberately, police said.",
     "Police said on Monday that the blaze had been started deliberately.", None),  # the same source
    ("The RFDCS claims that IS now supplies half of Europe's heroin.",
     "The Russian Federal Drug Control Service claims that IS supplies half of Europe's heroin.", None),  # acronym
    ("According to Argentine folklore, the seventh son turns into a werewolf.",
     "According to an Argentinian legend, the seventh son becomes a werewolf.", None),  # one stem
    ("The Kremlin said the drones were launched from Ukraine.",
     "The drones were launched from Ukraine, said Varland's defence minister Ola Berg.",
     ("The Kremlin", "Varland defence minister Ola Berg")),
])
def test_attribution_differences(a: str, b: str, expected: tuple[str, str] | None) -> None:
    found = [(d.a, d.b) for d in facts.differences(facts.extract(a), facts.extract(b)) if d.kind == "attribution"]
    assert found == ([expected] if expected else [])


def test_attribution_only_when_nothing_else_differs() -> None:
    a = facts.extract("At least 14 people died, police said.")
    b = facts.extract("Eleven people died, the coast guard said.")
    assert [d.kind for d in facts.differences(a, b)] == ["number"]


def test_events_are_not_speakers() -> None:
    assert facts.extract("Lennart announced his resignation on Friday.").speaker is None
    assert facts.extract("He said the talks would resume.").speaker is None
    assert facts.extract('"We are sorry," said Karl Dreyer, an analyst at Halden Bank.').speaker.text == "Karl Dreyer"
