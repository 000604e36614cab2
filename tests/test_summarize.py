"""Summaries of a small multi-outlet story, on the real embedding model (loaded once for the module)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from newsprism.engine.embed import get_embedder
from newsprism.engine.records import Article, Sentence
from newsprism.engine.sentences import split_sentences
from newsprism.engine.summarize import (
    CentroidSummarizer,
    Summarizer,
    SummaryParams,
    exclusion_reason,
    strip_dateline,
    support_map,
    trim,
)

REUTERS_TEXT = (
    "LONDON, March 3 (Reuters) - Four workers were killed on Sunday when a fire broke out at a chemical "
    "plant near Leeds in northern England, police said.\n\n"
    "Firefighters battled the blaze for more than six hours before bringing it under control, "
    "West Yorkshire Fire and Rescue Service said.\n\n"
    "Residents within a mile of the site were told to keep their windows and doors closed because "
    "of the thick black smoke.\n\n"
    "Reporting by Sarah Jones; Editing by Mark Potter"
)

STORY = [
    dict(id="reuters-1", outlet="Reuters", published="2024-03-03T08:00:00+00:00", url="https://reuters.test/1",
         title="Four killed in fire at chemical plant in northern England", text=REUTERS_TEXT),
    # A wire copy: same report, another outlet; it must not count as independent support.
    dict(id="yahoo-1", outlet="Yahoo News", published="2024-03-03T08:30:00+00:00", url="https://yahoo.test/1",
         copy_of="reuters-1", title="Four killed in fire at chemical plant in northern England",
         text=REUTERS_TEXT.rsplit("\n\n", 1)[0]),
    dict(id="ap-1", outlet="AP", published="2024-03-03T09:00:00+00:00", url="https://ap.test/1",
         title="Blaze at English chemical plant kills 4",
         text=(
             "By JOHN SMITH, Associated Press\n\n"
             "LEEDS, England (AP) _ A fire at a chemical plant near Leeds killed four workers on Sunday, "
             "police said.\n\n"
             "The cause of the fire was not immediately known, and an investigation has been opened by the "
             "Health and Safety Executive.\n\n"
             "He said the company would cooperate fully with investigators and support the families.\n\n"
             "Two other workers were taken to Leeds General Infirmary with serious burns, a hospital "
             "spokeswoman said.")),
    dict(id="bbc-1", outlet="BBC", published="2024-03-03T10:00:00+00:00", url="https://bbc.test/1",
         title="Leeds chemical plant fire: Four workers die",
         text=(
             "Four workers died after a fire broke out at a chemical plant near Leeds on Sunday, police "
             "have confirmed.\n\n"
             "Local people described hearing a series of loud explosions shortly before 07:00 GMT.\n\n"
             "Have you been affected by the fire at the plant? Share your story with us.\n\n"
             "This is the worst industrial accident in the county for more than twenty years.\n\n"
             "The M62 motorway was closed in both directions for most of the morning as smoke drifted "
             "across the carriageway.")),
    dict(id="guardian-1", outlet="The Guardian", published="2024-03-03T12:00:00+00:00",
         url="https://guardian.test/1", title="Owner of Leeds chemical plant was fined over safety failings",
         text=(
             "Northchem, the company that owns the plant, was fined 1.2 million pounds in 2019 after "
             "inspectors found serious failings in how it stored flammable solvents.\n\n"
             "Union officials said workers had raised concerns about ventilation at the site as recently "
             "as last autumn.\n\n"
             "The Health and Safety Executive said it would examine whether the earlier safety "
             "recommendations had been carried out.")),
]

DEATHS = re.compile(r"\b(?:four|4) workers\b.*\b(?:killed|died)\b|\bkilled four workers\b", re.IGNORECASE)


def make_article(row: dict) -> Article:
    sentences = [Sentence(row["title"], -1, -1, 0, 0)]
    sentences += [Sentence(s.text, i, s.paragraph, s.start, s.end)
                  for i, s in enumerate(split_sentences(row["text"]))]
    return Article(sentences=sentences, **row)


def embed(articles: list[Article]) -> list[Article]:
    flat = [s for a in articles for s in a.sentences]
    for s, v in zip(flat, get_embedder().encode([s.text for s in flat]), strict=True):
        s.vector = v
    return articles


@pytest.fixture(scope="module")
def story() -> list[Article]:
    return embed([make_article(row) for row in STORY])


@pytest.fixture(scope="module")
def by_id(story: list[Article]) -> dict[str, Article]:
    return {a.id: a for a in story}


def words_of(summary) -> int:
    return sum(len(s.text.split()) for s in summary)


def whole_sentence(text: str, article: Article) -> bool:
    """The text is one of the article's sentences, as written or without its dateline and weekday."""
    return any(text in (s.text, strip_dateline(s.text), trim(strip_dateline(s.text))) for s in article.body())


def test_word_budget_keeps_whole_sentences(story, by_id):
    for budget in (30, 60, 120):
        summary = Summarizer()(story, words=budget)
        assert summary and words_of(summary) <= budget
        assert all(whole_sentence(s.text, by_id[s.article_id]) for s in summary)


def test_truncate_fills_the_budget_exactly(story, by_id):
    for budget in (37, 75):
        summary = Summarizer()(story, words=budget, truncate=True)
        assert words_of(summary) == budget
        assert all(whole_sentence(s.text, by_id[s.article_id]) for s in summary[:-1])


def test_sentence_limit(story):
    assert len(Summarizer()(story, sentences=2)) == 2


def test_sentences_are_the_articles_and_attributed(story, by_id):
    titles = {a.title for a in story}
    for s in Summarizer()(story, words=400):
        article = by_id[s.article_id]
        assert trim(s.text) == s.text and whole_sentence(s.text, article)
        assert s.text not in titles
        assert (s.outlet, s.url, s.published) == (article.outlet, article.url, article.published)
        assert s.sources[0] == s.outlet and 1 <= s.support <= len(s.sources)
        assert any(b.position == s.position for b in article.body())


def test_fact_from_three_outlets_leads_with_support_three(story):
    summary = Summarizer()(story, words=40)
    deaths = [s for s in summary if DEATHS.search(s.text)]
    assert len(deaths) == 1
    assert deaths[0].support == 3  # Reuters, AP, BBC; the Yahoo copy of Reuters counts once
    assert set(deaths[0].sources) == {"Reuters", "Yahoo News", "AP", "BBC"}


def test_support_map(story):
    support = support_map(story)
    assert support[("reuters-1", 0)] == (["Reuters", "Yahoo News", "AP", "BBC"], 3)
    assert support[("yahoo-1", 0)][1] == 3
    assert support[("guardian-1", 0)] == (["The Guardian"], 1)
    assert support[("bbc-1", 5)] == (["BBC"], 1)
    assert support[("reuters-1", 1)] == (["Reuters", "Yahoo News"], 1)


def test_support_for_some_sentences_matches_the_full_map(story):
    full = support_map(story)
    some = {("ap-1", 1), ("bbc-1", 0), ("guardian-1", 2)}
    assert support_map(story, only=some) == {k: full[k] for k in some}


def test_unfit_sentences_never_appear(story):
    summary = Summarizer()(story, words=1000)  # room for every sentence that may appear
    texts = [s.text for s in summary]
    assert len(texts) >= 8
    for text in texts:
        assert not re.match(r"[A-Z]{3,}\b.{0,40}(?:_|-|—)\s", text), text  # dateline
        assert not text.rstrip('"').endswith("?")
        assert not text.startswith(("He said", "This is", "By ", "Reporting by", "Share your"))
    # The AP lead restates Reuters' and may lose to it; alone, it comes without its dateline.
    ap = [a for a in story if a.id == "ap-1"]
    assert Summarizer()(ap, words=1000)[0].text.startswith("A fire at a chemical plant near Leeds")


def test_no_two_sentences_say_the_same(story):
    params = SummaryParams()
    summary = Summarizer(params)(story, words=1000)
    assert sum(bool(DEATHS.search(s.text)) for s in summary) == 1
    vectors = get_embedder().encode([s.text for s in summary])
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, 0.0)
    assert sims.max() < params.redundancy


def test_order_is_publication_time_then_position(story):
    summary = Summarizer()(story, words=1000)
    keys = [(s.published, s.position) for s in summary]
    assert keys == sorted(keys) and len({s.outlet for s in summary}) >= 4


def test_query_steers_the_summary(story):
    query = get_embedder().encode(["Was the company fined for safety failings before?"])[0]
    focused = Summarizer()(story, words=40, query_vector=query)
    generic = Summarizer()(story, words=40)
    assert any("fined" in s.text for s in focused)
    assert not any("fined" in s.text for s in generic)
    roads = get_embedder().encode(["traffic disruption and road closures"])[0]
    assert any("motorway" in s.text for s in Summarizer()(story, words=40, query_vector=roads))


GUARDIAN_FOLLOW_UPS = [
    "Northchem said it had spent 3 million pounds on fire safety at the Leeds plant since its 2019 fine.",
    "Former employees told the Guardian that fire alarms at the Leeds chemical plant were often off.",
    "Northchem's chief executive will be asked to explain the fire that killed four workers to MPs.",
]


def test_one_outlet_cannot_fill_the_summary(story):
    # Follow-ups make the Guardian the richest outlet; beyond its first sentence it may fill 40% at most.
    extra = embed([make_article(dict(id=f"guardian-{k}", outlet="The Guardian", title="Leeds fire: follow-up",
                                     published=f"2024-03-03T1{k + 3}:00:00+00:00", text=text))
                   for k, text in enumerate(GUARDIAN_FOLLOW_UPS)])
    for share, most in ((0.4, 40), (1.0, None)):
        summary = Summarizer({"outlet_share": share})(story + extra, words=100)
        guardian = sum(len(s.text.split()) for s in summary if s.outlet == "The Guardian")
        if most:
            assert guardian <= most
        else:
            assert guardian > 40  # the fixture does tempt the summarizer: without the cap it gives in


def test_single_article(story, by_id):
    summary = Summarizer()([by_id["bbc-1"]], words=50)
    assert summary and words_of(summary) <= 50
    assert {s.article_id for s in summary} == {"bbc-1"}
    assert all(s.support == 1 and s.sources == ["BBC"] for s in summary)
    assert summary[0].position == 0


def test_centroid_baseline(story, by_id):
    summary = CentroidSummarizer()(story, words=60)
    assert summary and words_of(summary) <= 60
    assert all(whole_sentence(s.text, by_id[s.article_id]) for s in summary)
    assert words_of(CentroidSummarizer()(story, words=60, truncate=True)) == 60


def test_sentences_need_vectors():
    with pytest.raises(ValueError, match="Sentence.vector"):
        Summarizer()([make_article(STORY[0])], words=50)


def test_empty_input():
    assert Summarizer()([], words=50) == []
    assert support_map([]) == {}


@pytest.mark.parametrize(("text", "expected"), [
    ("WASHINGTON (AP) _ The Senate approved the bill.", "The Senate approved the bill."),
    ("LONDON, March 3 (Reuters) - Police arrested three men.", "Police arrested three men."),
    ("KABUL, Afghanistan -- A bomb killed 12 people.", "A bomb killed 12 people."),
    ("(CNN) -- Stocks fell sharply on Monday.", "Stocks fell sharply on Monday."),
    ("NATO said on Monday it would send troops - a move allies welcomed.",
     "NATO said on Monday it would send troops - a move allies welcomed."),
    ("At least 50 people were killed - officials said on Monday.",
     "At least 50 people were killed - officials said on Monday."),
])
def test_strip_dateline(text, expected):
    assert strip_dateline(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("The Senate voted 68-32 on Tuesday to approve the spending bill after a long debate.", None),
    ("This year the festival drew more than 10,000 visitors from across the country.", None),
    ('"It was terrifying," said Ann Lee, who watched the flames from her garden next door.', "dangling"),
    ("He said the government would respond to the attack within days.", "dangling"),
    ("However, the plan was rejected by a majority of the members of parliament.", "dangling"),
    ("What do you think about the new immigration policy announced by the minister?", "question"),
    ("Reporting by Sarah Jones; Editing by Mark Potter and Alex Richardson.", "boilerplate"),
    # NYT and Cox wire copy (DUC 2006): desk contacts, service notes and writers' bios are no news
    ("The night news editor is Todd C. Duncan, 404-582-7282, tduncan(at)coxnews.com.", "boilerplate"),
    ("Chris Fiscus can be reached at the paper or at chris.fiscus via e-mail.", "boilerplate"),
    ("(For use by New York Times News Service clients)", "aside"),
    ("(Carolyn Poirot covers health issues for the Fort Worth Star-Telegram.)", "aside"),
    ("Vegetables produced in suburban Beijing have higher hygienic standards than before (officials say).", None),
    ("The mayor said the town would rebuild.", "short"),
    ("and then the police arrived at the scene of the crash to investigate the cause.", "fragment"),
    ('"We will rebuild this town, whatever it takes and however long it takes.', "open quote"),
    ("``We will rebuild this town, whatever it takes and however long it takes.", "open quote"),
    ("We will rebuild this town, whatever it takes and however long it takes,'' she said.", "open quote"),
    ("``We will rebuild this town, whatever it takes,'' the mayor said on Monday.", None),
    ("``He was the best teacher this school ever had,'' said the principal on Friday.", "dangling"),
    ("Which is a good thing for the families who have waited years for the new bridge.", "dangling"),
])
def test_exclusion_reason(text, reason):
    assert exclusion_reason(text) == reason


def test_exact_selection_beats_greedy_where_greedy_packs_badly():
    # Budget 10: greedy takes the densest sentence (6 words, 9 points) and nothing else fits; the exact
    # program takes the two 5-word sentences (14 points). Concepts are the texts' own bigrams.
    from newsprism.engine.summarize import _Candidate, _Objective, _Selector, content_bigrams, tokens

    texts = ["alpha beta gamma delta epsilon zeta", "kappa lambda mu nu xi", "omicron pi rho sigma tau"]
    article = Article(id="a", text=" ".join(texts), outlet="X")
    cands = []
    for i, text in enumerate(texts):
        vector = np.zeros(8, dtype=np.float32)
        vector[i] = 1.0
        cands.append(_Candidate(article, 0, Sentence(text, i, i, 0, 0, vector), text, len(text.split()),
                                content_bigrams(tokens(text)), vector))
    weights = {b: (9 / 5 if i == 0 else 14 / 8) for i, c in enumerate(cands) for b in c.concepts}
    for solver, expected in (("greedy", [texts[0]]), ("ilp", texts[1:])):
        picked = _Selector({"solver": solver})._pack(cands, _Objective(cands, weights, np.zeros(3)), 10.0,
                                                       np.inf, False, 1.0)
        assert sorted(c.text for c, _ in picked) == expected
    # With truncate the words left after whole sentences go to the best prefix, cut last.
    picked = _Selector({"solver": "greedy"})._pack(cands, _Objective(cands, weights, np.zeros(3)), 10.0,
                                                    np.inf, True, 1.0)
    assert [k for _, k in picked] == [6, 4] and picked[1][0].text in texts[1:]


def test_one_sentence_per_claim_inside_the_selection(story):
    # Two sentences that are no near-copies but one claim: given the claim, only one of them is chosen.
    texts = {s.text for s in Summarizer()(story, words=1000)}
    casualties = ("ap-1", 4)  # "Two other workers were taken to Leeds General Infirmary ..."
    fire = ("reuters-1", 1)  # "Firefighters battled the blaze ..."
    claim_of = {casualties: "c1", fire: "c1"}
    together = [s for s in Summarizer()(story, words=1000, claim_of=claim_of)
                if (s.article_id, s.position) in claim_of]
    assert sum(t.startswith(("Two other workers", "Firefighters battled")) for t in texts) == 2
    assert len(together) == 1


def test_a_concept_needs_a_third_of_the_reports() -> None:
    """The concept floor grows with the story: 35% of the independent reports, between 2 and 4."""
    from newsprism.engine.summarize import _candidates

    def weights(n_reports: int, with_a: int, with_b: int) -> dict:
        articles = []
        for k in range(n_reports):
            lines = [f"Officials in district number {k} counted the damage after the storm passed on Sunday."]
            if k < with_a:
                lines.append(f"The river flooded the valley towns overnight, said the mayor of town number {k}.")
            if k < with_b:
                lines.append(f"Rescue crews reached mountain villages by helicopter, said pilot number {k} later.")
            body = [Sentence(t, i, i, 0, 0, vector=np.ones(4, dtype=np.float32)) for i, t in enumerate(lines)]
            articles.append(Article(id=f"a{k}", outlet=f"outlet-{k}", text=" ".join(lines), sentences=body))
        summarizer = Summarizer()
        return summarizer._concept_weights(_candidates(articles, summarizer.params), articles)

    ten = weights(10, with_a=4, with_b=3)
    assert ("valley", "town") in ten and ("mountain", "villag") not in ten
    six = weights(6, with_a=3, with_b=2)
    assert ("valley", "town") in six and ("mountain", "villag") not in six
    assert ("mountain", "villag") in weights(4, with_a=3, with_b=2)


@pytest.mark.parametrize(("sentence", "trimmed"), [
    # wire sentences as AP and NYT write them: the weekday adjunct goes, the rest reads the same
    ("Matthew Shepard, 21, died early Monday after being in a coma for nearly a week.",
     "Matthew Shepard, 21, died after being in a coma for nearly a week."),
    ("The EPA on Friday ordered Vail Resorts to ``take action now'' to stabilize the road.",
     "The EPA ordered Vail Resorts to ``take action now'' to stabilize the road."),
    ("Farmers drove their tractors into the city to block traffic, a Hong Kong-based rights group reported "
     "Wednesday.",
     "Farmers drove their tractors into the city to block traffic, a Hong Kong-based rights group reported."),
    ("On Friday, groups representing three of Myanmar's ethnic groups added their condemnations.",
     "Groups representing three of Myanmar's ethnic groups added their condemnations."),
    ("Hours earlier, on Friday, thousands of people had arrived at Pichilemu.",
     "Hours earlier, thousands of people had arrived at Pichilemu."),
    ("The demonstration Monday night was billed as a ``political funeral'' for Shepard.",
     "The demonstration was billed as a ``political funeral'' for Shepard."),
    # the weekday is an argument, a possessive, or one of two that contrast: nothing goes
    ("Many stores kept the merchandise locked up until late Sunday, when they began stocking shelves.", None),
    ("The Prologue will be on Saturday, the 7th of July, starting in Trafalgar Square.", None),
    ("Astana Team announced that Vinokourov failed a blood test after his victory in Saturday's time trial.",
     None),
    ("``Meet Joe Black'' grossed $6,300 on Monday night, but $10,800 on Tuesday night.", None),
    ("They take karate on Monday afternoons with 30 other students.", None),
    ("Since Sunday, the military has arrested more than 300 members of the party.", None),
    ("``We will meet them on Monday,'' said Kyaw Thein, a spokesman for the junta.", None),
    # NYT line markup is not part of the sentence
    ("&UR; Oprah Winfrey has played a big part in the emergence of our tell-all culture.",
     "Oprah Winfrey has played a big part in the emergence of our tell-all culture."),
    ("&UR; Oprah Winfrey &LR; 's at the top of her form right now: Her movie, ``Beloved,'' is about to open.",
     "Oprah Winfrey's at the top of her form right now: Her movie, ``Beloved,'' is about to open."),
])
def test_trim_drops_weekday_adjuncts_only(sentence, trimmed):
    assert trim(sentence) == (trimmed or sentence)


def test_trim_keeps_who_said_it():
    said = "Four workers were killed when a fire broke out at a chemical plant near Leeds, police said Sunday."
    assert trim(said) == "Four workers were killed when a fire broke out at a chemical plant near Leeds, police said."
