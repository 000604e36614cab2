"""Story clustering on real news-style articles, embedded with the packaged model (loaded once)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from newsprism.engine.pipeline import split
from newsprism.engine.records import Article
from newsprism.engine.stories import (
    NAME_WEIGHT,
    Story,
    StoryClusterer,
    StoryFeatures,
    StoryParams,
    StoryState,
    TermStats,
    damping,
    lead_label,
    story_features,
)

from eval.stories import scores

DAY1 = "2024-03-04T{}:00Z"

# (id, outlet, hour, title, text); events: peru quake, ecb rates, japan quake (same topic as peru,
# another event), marathon record.
ARTICLES = [
    ("peru-1", "reuters", "06:10", "Magnitude 7.1 earthquake strikes southern Peru near Arequipa",
     "A magnitude 7.1 earthquake struck southern Peru early on Monday, killing at least 12 people in the "
     "Arequipa region, officials said. The quake was centred 40 km south of the town of Chala at a depth "
     "of 28 km, the U.S. Geological Survey said. Landslides blocked the Pan-American Highway and several "
     "adobe homes collapsed in Arequipa province. Peru's civil defence institute said rescue teams were "
     "searching for people trapped under rubble in Chala and Yauca."),
    ("peru-2", "ap", "07:45", "Peru quake kills 12, blocks Pan-American Highway",
     "Rescuers in southern Peru dug through collapsed adobe houses on Monday after a 7.1-magnitude quake "
     "killed at least 12 people. President Dina Boluarte flew to Arequipa and declared a state of emergency "
     "in Chala, Yauca and nearby districts. The Pan-American Highway remained closed by landslides, "
     "cutting off Chala from Arequipa, the civil defence institute said."),
    ("peru-3", "bbc", "09:30", "Deadly earthquake hits Arequipa region of Peru",
     "At least 12 people have died after a powerful earthquake shook the Arequipa region of southern Peru. "
     "The magnitude 7.1 tremor toppled adobe homes in Chala and Yauca and triggered landslides onto the "
     "Pan-American Highway. Peru's President Dina Boluarte declared an emergency as rescuers searched "
     "the rubble for survivors."),
    ("ecb-1", "reuters", "12:00", "ECB raises interest rates to 4.5% despite slowing economy",
     "The European Central Bank raised its key deposit rate by a quarter point to a record 4.5% on "
     "Thursday, saying inflation in the euro zone was still too high. ECB President Christine Lagarde "
     "told reporters that the Governing Council had not discussed cutting rates. Economists had been "
     "split on the decision as euro zone growth stalls and German industry contracts."),
    ("ecb-2", "ft", "12:40", "Lagarde signals ECB rate hikes may be over after 4.5% record",
     "Christine Lagarde said the European Central Bank's tenth consecutive rate hike, which lifts the "
     "deposit rate to 4.5%, could be the last. Bond yields across the euro zone fell after the ECB "
     "statement hinted that rates had reached a level that would bring inflation back to 2%. Analysts "
     "said the Governing Council was divided over the hike."),
    ("ecb-3", "bloomberg", "13:15", "Euro falls as ECB hikes rates to record high",
     "The euro slid against the dollar after the European Central Bank raised its deposit rate to 4.5%, "
     "its highest since the euro's launch in 1999. Lagarde said euro zone inflation was expected to stay "
     "too high for too long, but traders bet the ECB has finished its hikes."),
    ("japan-1", "kyodo", "10:05", "Magnitude 6.4 earthquake jolts Hokkaido, tsunami advisory issued",
     "A magnitude 6.4 earthquake struck off the eastern coast of Hokkaido in northern Japan on Monday, "
     "prompting the Japan Meteorological Agency to issue a tsunami advisory for the Kushiro and Nemuro "
     "coasts. No deaths were reported. Hokkaido Electric Power said the Tomari nuclear plant was not "
     "affected, and bullet train services in Hokkaido were briefly suspended."),
    ("japan-2", "nhk", "11:20", "Hokkaido quake: tsunami advisory lifted, no major damage",
     "The Japan Meteorological Agency lifted a tsunami advisory for Kushiro and Nemuro after a magnitude "
     "6.4 earthquake off Hokkaido. Officials in Kushiro reported broken windows and minor injuries but no "
     "serious damage. Hokkaido Electric Power confirmed that the Tomari nuclear plant was operating "
     "normally."),
    ("marathon-1", "espn", "08:00", "Kiptum smashes marathon world record in Chicago",
     "Kenya's Kelvin Kiptum broke the men's marathon world record on Sunday, winning the Chicago Marathon "
     "in 2 hours and 35 seconds. Kiptum, 23, took 34 seconds off the mark set by Eliud Kipchoge in Berlin "
     "last year. Sifan Hassan of the Netherlands won the women's race in Chicago in 2:13:44."),
    ("marathon-2", "guardian", "09:10", "Kelvin Kiptum breaks Kipchoge's marathon record",
     "Kelvin Kiptum ran 2:00:35 in Chicago to become the first man to run a marathon under 2:01 in a "
     "record-eligible race, beating Eliud Kipchoge's world record. The Kenyan pulled away from Daniel "
     "Mateiko after 30 km. In the women's race, Sifan Hassan won in Chicago on her second marathon."),
]
EXPECTED = {"peru": {"peru-1", "peru-2", "peru-3"}, "ecb": {"ecb-1", "ecb-2", "ecb-3"},
            "japan": {"japan-1", "japan-2"}, "marathon": {"marathon-1", "marathon-2"}}


@pytest.fixture(scope="module")
def embedder():
    from newsprism.engine.embed import get_embedder

    return get_embedder()


def make(embedder, rows, published=None, copy_of=None) -> list[StoryFeatures]:
    """Articles through the ingest split and the real model, then to story features."""
    articles = [Article(id=aid, text=text, title=title, outlet=outlet,
                        published=published or DAY1.format(hour), copy_of=copy_of)
                for aid, outlet, hour, title, text in rows]
    articles = split(articles)
    texts = [s.text for a in articles for s in a.sentences]
    vectors = iter(embedder.encode(texts))
    for article in articles:
        for sentence in article.sentences:
            sentence.vector = next(vectors)
    return [story_features(a) for a in articles]


@pytest.fixture(scope="module")
def day_one(embedder) -> list[StoryFeatures]:
    return make(embedder, ARTICLES)


def groups(placed: dict[str, int]) -> set[frozenset[str]]:
    by_story: dict[int, set[str]] = {}
    for aid, sid in placed.items():
        by_story.setdefault(sid, set()).add(aid)
    return {frozenset(members) for members in by_story.values()}


def expected() -> set[frozenset[str]]:
    return {frozenset(members) for members in EXPECTED.values()}


def test_features_weigh_the_title_and_lead(day_one):
    peru = day_one[0]
    assert peru.has_title and peru.label.startswith("Magnitude 7.1 earthquake")
    assert abs(float(np.linalg.norm(peru.vector)) - 1.0) < 1e-5
    assert abs(sum(w * w for w in peru.terms.values()) - 1.0) < 1e-6
    # "arequipa" is in the title and the lead; "yauca" only in the tail, as often
    assert peru.terms["arequipa"] > peru.terms["yauca"]


def test_names_inside_a_sentence_weigh_more_than_common_words(embedder):
    """Each word appears once in one sentence: the name (Arequipa) says which event it is, the
    capitalised opening word (Landslides) is no name."""
    text = "Landslides blocked the Pan-American Highway and several adobe homes collapsed in Arequipa province."
    assert text in ARTICLES[0][4]
    features = make(embedder, [("peru-x", "reuters", "06:10", "", text)])[0]
    assert features.terms["arequipa"] == pytest.approx(NAME_WEIGHT * features.terms["province"])
    assert features.terms["highway"] == pytest.approx(features.terms["arequipa"])
    assert features.terms["landslides"] == pytest.approx(features.terms["province"])


def test_events_cluster_and_a_similar_topic_stays_apart(day_one):
    clusterer = StoryClusterer()
    placed = clusterer.add_many(day_one)
    assert groups(placed) == expected()
    peru = clusterer.state.stories[placed["peru-1"]]
    assert peru.count == 3 and set(peru.outlets) == {"reuters", "ap", "bbc"}
    assert peru.label in {t for _, _, _, t, _ in ARTICLES[:3]}
    assert "arequipa" in peru.keywords
    assert peru.first_seen < peru.last_seen


def test_order_within_a_day_does_not_change_the_grouping(day_one):
    reference = groups(StoryClusterer().add_many(day_one))
    assert reference == expected()
    for seed in range(4):
        shuffled = random.Random(seed).sample(day_one, len(day_one))
        assert groups(StoryClusterer().add_many(shuffled)) == reference
        # the same day arriving as two ingest batches, cut at a different place each time
        clusterer, cut = StoryClusterer(), 4 + seed
        placed = clusterer.add_many(shuffled[:cut]) | clusterer.add_many(shuffled[cut:])
        assert groups(placed) == reference


def test_copies_land_with_their_original_even_when_its_story_is_dormant(embedder, day_one):
    # a wire copy with another headline, a month later, is placed with its original by ingest's mark
    later = "2024-04-04T08:00:00Z"
    title, text = ARTICLES[0][3], ARTICLES[0][4]
    copy = make(embedder, [("peru-copy", "local-paper", "", "Quake: " + title, text)], later, copy_of="peru-1")
    clusterer = StoryClusterer(StoryParams(window_days=7.0))
    placed = clusterer.add_many(day_one)
    assert clusterer.add(copy[0]) == placed["peru-1"]


FOLLOW_UP = ("peru-4", "reuters", "", "Peru quake death toll rises to 15 in Arequipa",
             "The death toll from the magnitude 7.1 earthquake in southern Peru rose to 15, the civil "
             "defence institute said, as rescuers in Chala and Yauca pulled more bodies from collapsed "
             "adobe homes. The Pan-American Highway near Arequipa reopened after landslides were cleared.")
# the same broad topic (a quake), another event: it must not pile into the dormant Peru story
OTHER_QUAKE = ("chile-1", "reuters", "", "Strong earthquake shakes northern Chile",
               "A magnitude 6.8 earthquake struck northern Chile on Saturday, shaking buildings in Antofagasta "
               "and Iquique, the national seismology centre said. There were no immediate reports of deaths; "
               "the navy said no tsunami was expected and power was cut in parts of Calama.")


def test_a_dormant_story_resumes_on_strong_evidence_but_not_on_the_same_topic(embedder, day_one):
    clusterer = StoryClusterer(StoryParams(window_days=7.0))
    placed = clusterer.add_many(day_one)
    soon = make(embedder, [FOLLOW_UP], "2024-03-06T10:00:00Z")
    assert clusterer.add(soon[0]) == placed["peru-1"]
    # five weeks of silence (two articles on other news confirm the clock; one alone may be a typo'd date):
    # the story is dormant, out of the live matrix, in the dormant index
    other = make(embedder, [OTHER_QUAKE, ("chile-2", *OTHER_QUAKE[1:])], "2024-04-13T10:00:00Z")
    other[1].time += 1.0
    assert clusterer.add(other[0]) not in set(placed.values())
    assert placed["peru-1"] in clusterer._live.ids  # one article alone does not move the clock
    clusterer.add(other[1])
    assert placed["peru-1"] not in clusterer._live.ids and placed["peru-1"] in clusterer._dormant.current
    late = make(embedder, [("peru-5", *FOLLOW_UP[1:])], "2024-04-20T10:00:00Z")
    assert clusterer.add(late[0]) == placed["peru-1"]  # resumed, same id
    assert placed["peru-1"] in clusterer._live.ids and placed["peru-1"] not in clusterer._dormant.current
    # a year of silence: even the same words no longer clear the risen bar
    news = make(embedder, [("chile-3", *OTHER_QUAKE[1:])], "2025-06-19T10:00:00Z")
    clusterer.add(news[0])
    much_later = make(embedder, [("peru-6", *FOLLOW_UP[1:])], "2025-06-20T10:00:00Z")
    assert clusterer.add(much_later[0]) != placed["peru-1"]


def test_the_bar_rises_with_the_gap():
    gaps = np.array([0.0, 0.5, 1.0, 2.0, 5.0, 20.0])
    values = damping(gaps, StoryParams().resume_rise)
    assert values[0] == 1.0 and np.all(np.diff(values) < 0)


def test_regroup_places_articles_again_with_stable_ids(embedder, day_one):
    clusterer = StoryClusterer()
    placed = clusterer.add_many(day_one)
    current = dict(placed)
    again = clusterer.regroup([f for f in day_one if not f.id.startswith("ecb")], current)
    assert {aid: again[aid] for aid in again} == {aid: placed[aid] for aid in again}
    assert groups(clusterer.state.article_story) == expected()
    peru = clusterer.state.stories[placed["peru-1"]]
    assert peru.count == 3


@pytest.mark.parametrize(("lead", "label"), [
    ("MUNICH, Germany (AP) _ Police on Tuesday arrested a man suspected of planting a bomb at the "
     "Oktoberfest, in a case that shocked the city.",
     "Police on Tuesday arrested a man suspected of planting a bomb…"),
    ("BEIJING, May 5 (Xinhua) -- China and Russia signed an agreement on border trade on Monday.",
     "China and Russia signed an agreement on border trade…"),
    ("By PAT KOSSAN c.1998 The Arizona Republic PHOENIX _ Victoria Molina wants strangers to stop "
     "complaining about her having babies on taxpayer money.",
     "Victoria Molina wants strangers to stop complaining about her having babies…"),
    ("Kenya's Kelvin Kiptum broke the men's marathon world record.",
     "Kenya's Kelvin Kiptum broke the men's marathon world record"),
])
def test_labels_without_titles_are_short_phrases_without_datelines(lead, label):
    assert lead_label(lead) == label


def test_recluster_agrees_with_incremental_on_the_easy_case(day_one):
    incremental = StoryClusterer()
    placed = {f.id: incremental.add(f) for f in day_one}
    batch = StoryClusterer().recluster(list(reversed(day_one)))
    assert groups(batch) == groups(placed) == expected()


def test_state_round_trips_through_its_dict(day_one, embedder):
    first, rest = day_one[:6], day_one[6:]
    original = StoryClusterer()
    original.add_many(first)
    saved = json.loads(json.dumps(original.state.to_dict()))
    restored = StoryClusterer(state=StoryState.from_dict(saved))
    assert restored.state.to_dict() == original.state.to_dict()
    assert original.add_many(rest) == restored.add_many(rest)
    story = restored.state.stories[restored.state.article_story["peru-1"]]
    again = Story.from_dict(story.to_dict(vectors=False), story.vectors())
    assert again.to_dict() == story.to_dict()
    stats = TermStats.from_dict(json.loads(json.dumps(restored.state.terms.to_dict())))
    assert stats.weigh({"arequipa": 1.0, "the": 1.0}) == restored.state.terms.weigh({"arequipa": 1.0, "the": 1.0})


def test_scores_match_a_hand_computed_case():
    gold = ["a", "a", "a", "b", "b"]
    assert scores(gold, [1, 1, 1, 2, 2])["bcubed_f1"] == pytest.approx(1.0)
    merged = scores(gold, [1, 1, 1, 1, 1])
    # precision per item: 3/5 for the a's, 2/5 for the b's; recall 1
    assert merged["bcubed_p"] == pytest.approx((3 * 0.6 + 2 * 0.4) / 5)
    assert merged["bcubed_r"] == pytest.approx(1.0)
    assert merged["ari"] == pytest.approx(0.0)


def test_the_store_resumes_a_dormant_story_and_recluster_agrees(tmp_path):
    """Through the real store: a story dormant for weeks (kept only as its key in the dormant index)
    takes a follow-up with its names and places, keeps its id through the settling pass and
    `recluster`, and another quake of the same weeks gets a story of its own."""
    from tests.conftest import cli_json, run_cli

    db = str(tmp_path / "store")

    def ingest(rows, when):
        path = tmp_path / f"batch-{when[:10]}.jsonl"
        path.write_text("".join(json.dumps({"id": aid, "source": outlet, "title": title, "text": text,
                                            "published": when if not hour else DAY1.format(hour)}) + "\n"
                                for aid, outlet, hour, title, text in rows))
        run_cli("ingest", str(path), "--db", db)

    ingest(ARTICLES, DAY1.format("06:00"))
    ingest([OTHER_QUAKE], "2024-04-06T10:00:00Z")  # the clock moves on: Peru goes dormant
    ingest([FOLLOW_UP], "2024-04-10T10:00:00Z")
    story_of = {a["id"]: s["id"] for s in cli_json("stories", "--db", db)["stories"] for a in s["articles"]}
    assert story_of["peru-4"] == story_of["peru-1"]
    # (in this twelve-article store another quake a month on does join the Hokkaido quake story: the
    # 30-day window is gentle; what is asserted is that it does not pile into the dormant Peru story)
    assert story_of["chile-1"] not in {story_of[a] for a in ("peru-1", "ecb-1", "marathon-1")}
    cli_json("recluster", "--db", db)
    again = {a["id"]: s["id"] for s in cli_json("stories", "--db", db)["stories"] for a in s["articles"]}
    # the batch pass follows the same rule: the resumed story keeps its id and its follow-up
    assert again["peru-4"] == again["peru-1"] == story_of["peru-1"]
    assert {again[a] for a in ("ecb-1", "marathon-1")} == {story_of[a] for a in ("ecb-1", "marathon-1")}


def test_a_derived_title_labels_like_a_missing_one(embedder):
    # ingest stands in the clipped lead for a missing title; the label is still a phrase without the dateline
    lead = ("MUNICH, Germany (AP) _ Police on Tuesday arrested a man suspected of planting a bomb at the "
            "Oktoberfest, in a case that shocked the city. The man, 34, was held in Dachau.")
    features = make(embedder, [("munich-1", "ap", "08:00", "", lead)])[0]
    assert not features.has_title
    assert features.label == "Police on Tuesday arrested a man suspected of planting a bomb…"


def test_a_story_past_the_live_week_is_found_through_the_dormant_index_by_the_same_rule(embedder, day_one):
    # ten quiet days: the story has left the exact live matrix, but the gap (well inside the 60-day
    # scale) asks little more than a day would, so the follow-up joins it
    clusterer = StoryClusterer(StoryParams(live_days=7.0, window_days=60.0))
    placed = clusterer.add_many(day_one)
    later = make(embedder, [OTHER_QUAKE, ("chile-2", *OTHER_QUAKE[1:])], "2024-03-14T10:00:00Z")
    later[1].time += 0.1
    clusterer.add_many(later)
    assert placed["peru-1"] not in clusterer._live.ids and placed["peru-1"] in clusterer._dormant.current
    follow = make(embedder, [FOLLOW_UP], "2024-03-14T12:00:00Z")
    assert clusterer.add(follow[0]) == placed["peru-1"]


def test_the_settling_pass_regroups_the_whole_run_not_only_the_recent_window(tmp_path, embedder):
    """A run that loads weeks of back issues is all arrival order: settling takes the run's articles
    as well as the recent window; a later run of one article settles only its window."""
    from newsprism.engine.config import load_settings
    from newsprism.engine.records import RawItem
    from newsprism.index.newsroom import Newsroom

    newsroom = Newsroom(load_settings({"store": str(tmp_path / "store"), "story_settle": False,
                                       "story_window_days": 7.0}), create=True)
    try:
        rows = [(aid, outlet, title, text, DAY1.format(hour)) for aid, outlet, hour, title, text in ARTICLES]
        rows.append(("chile-1", *OTHER_QUAKE[1:2], *OTHER_QUAKE[3:], "2024-04-13T10:00:00Z"))
        items = [RawItem({"id": aid, "source": outlet, "title": title, "text": text, "published": when}, f"t:{i}")
                 for i, (aid, outlet, title, text, when) in enumerate(rows)]
        newsroom.ingest(items)
        assert newsroom.settle_stories(after=0)["articles"] == len(rows)
        before = newsroom.last_aid()
        follow = RawItem({"id": "chile-2", "source": "ap", "title": "Chile quake: power back in Calama",
                          "text": OTHER_QUAKE[4], "published": "2024-04-14T10:00:00Z"}, "t:x")
        newsroom.ingest([follow])
        assert newsroom.settle_stories(after=before)["articles"] == 2  # the run and its week: both Chile articles
    finally:
        newsroom.close()


def test_a_batch_in_several_chunks_keeps_every_story_it_placed_in_memory_for_the_store(embedder, day_one):
    # with a store (a loader), stories that are only candidates leave memory after a chunk; a story
    # that an earlier chunk of the same batch made is not stored yet and must stay for the caller to save
    peru = [f for f in day_one if f.id in ("peru-1", "peru-2")]
    later = make(embedder, [OTHER_QUAKE, ("chile-2", *OTHER_QUAKE[1:])], "2024-03-16T10:00:00Z")
    later[1].time += 0.1
    japan = make(embedder, [("japan-9", *ARTICLES[6][1:])], "2024-03-16T12:00:00Z")
    clusterer = StoryClusterer(StoryParams(live_days=7.0), loader=lambda ids: {})
    clusterer.chunk = 2
    placed = clusterer.add_many(peru + later + japan)
    assert set(placed.values()) <= set(clusterer.state.stories)
    again = clusterer.regroup(peru + later + japan, placed)
    assert set(again.values()) <= set(clusterer.state.stories)


def test_stories_no_article_could_join_are_left_out_and_no_decision_changes(embedder, day_one, monkeypatch):
    # a batch's candidates are its articles' nearest stories; those no article could join on its own
    # (the ECB and marathon stories, for two quake reports) cannot take a group either: leaving them
    # out of the merging must give the same placement as keeping every candidate
    import newsprism.engine.stories as stories

    batch = make(embedder, [FOLLOW_UP, OTHER_QUAKE], "2024-03-05T10:00:00Z")
    kept: list[set[int]] = []
    real = stories._Agglomerator.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        kept.append(set(self.slot))

    monkeypatch.setattr(stories._Agglomerator, "__init__", spy)
    pruned = StoryClusterer()
    first = pruned.add_many(day_one)
    got = pruned.add_many(batch)
    monkeypatch.setattr(stories, "_reachable", lambda cross, *_: np.ones(len(cross), dtype=bool))
    full = StoryClusterer()
    full.add_many(day_one)
    assert full.add_many(batch) == got
    assert got["peru-4"] == first["peru-1"]
    assert first["peru-1"] in kept[1] and not kept[1] & {first["ecb-1"], first["marathon-1"]}
    assert kept[3] == set(first.values())  # without the rule, every live story was compared in full


def test_an_article_its_live_story_takes_firmly_skips_the_dormant_index(embedder, day_one, monkeypatch):
    # ten days on, day one's stories are dormant and a Chile quake story is live; a batch of a Chile
    # follow-up (its live story takes it far above the bar) and a Peru follow-up (nothing live for
    # it): only the Peru report is looked up among the dormant stories, and it resumes Peru
    clusterer = StoryClusterer(StoryParams(live_days=7.0))
    first = clusterer.add_many(day_one)
    chile = make(embedder, [OTHER_QUAKE, ("chile-2", *OTHER_QUAKE[1:])], "2024-03-14T10:00:00Z")
    chile[1].time += 0.1
    live = clusterer.add_many(chile)
    assert first["peru-1"] in clusterer._dormant.current
    asked: list[int] = []
    real = clusterer._dormant.nearest
    monkeypatch.setattr(clusterer._dormant, "nearest", lambda keys, k: asked.append(len(keys)) or real(keys, k))
    batch = make(embedder, [FOLLOW_UP, ("chile-3", *OTHER_QUAKE[1:])], "2024-03-14T12:00:00Z")
    placed = clusterer.add_many(batch)
    assert placed == {"peru-4": first["peru-1"], "chile-3": live["chile-1"]}
    assert asked == [1]
