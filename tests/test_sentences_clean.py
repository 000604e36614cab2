"""Sentence splitting and cleaning on real news text (no model needed)."""

from __future__ import annotations

from newsprism.engine.clean import drop_boilerplate, is_boilerplate, normalize_date
from newsprism.engine.parse import read_paths
from newsprism.engine.pipeline import clean, normalize, outlet_line_counts, split
from newsprism.engine.records import RawItem
from newsprism.engine.sentences import split_sentences

HARD = (
    "The U.S. Army said on Dec. 27 that Gen. Mark Smith had met Mr. Jones in Washington. "
    "Shares fell 3.5% to $189.50 on Tuesday, the lowest since Sen. Warren spoke. "
    '"We will not retreat," said Dr. Ana Ruiz. '
    "The team is ranked No. 2 in the league. "
    "It was 10 a.m. when the convoy left."
)


def test_punkt_keeps_abbreviations_decimals_and_quotes_together():
    sentences = [s.text for s in split_sentences(HARD)]
    assert sentences == [
        "The U.S. Army said on Dec. 27 that Gen. Mark Smith had met Mr. Jones in Washington.",
        "Shares fell 3.5% to $189.50 on Tuesday, the lowest since Sen. Warren spoke.",
        '"We will not retreat," said Dr. Ana Ruiz.',
        "The team is ranked No. 2 in the league.",
        "It was 10 a.m. when the convoy left.",
    ]


def test_titles_and_initials_before_a_name_never_end_a_sentence():
    # Punkt broke each of these (real wire and Wikinews sentences) after the abbreviation, because the
    # next word ("Charles", "Circuit", "Maple") also occurs lower-case; the halves were summary candidates.
    text = ("A United States Army court martial found Army Spc. Charles Graner guilty of abusing prisoners "
            "at Iraq's Abu Ghraib prison. A three-judge panel of the 11th U.S. Circuit Court of Appeals upheld "
            "the denial. In setting Ms. Maple free, Judge Michael Kupersmith threw out the case. "
            "The World Bank has granted Kenya 40 million U.S. dollars. He moved to the U.S. He was 12.")
    assert [s.text for s in split_sentences(text)] == [
        "A United States Army court martial found Army Spc. Charles Graner guilty of abusing prisoners at "
        "Iraq's Abu Ghraib prison.",
        "A three-judge panel of the 11th U.S. Circuit Court of Appeals upheld the denial.",
        "In setting Ms. Maple free, Judge Michael Kupersmith threw out the case.",
        "The World Bank has granted Kenya 40 million U.S. dollars.",
        "He moved to the U.S.",
        "He was 12.",
    ]


def test_a_dateline_cut_after_its_state_stays_with_its_sentence():
    # AP and NYT datelines (DUC 2007 wire copy): Punkt cut after "Wyo." / "Mo.", so the lead sentence sat
    # at position 1 behind a fragment, and the dateline stripper never saw "LARAMIE, Wyo. (AP) --".
    text = ("LARAMIE, Wyo. (AP) -- A prosecutor asked 71 prospective jurors today to set aside the emotions "
            "of pity and rage.\n\nKANSAS CITY, Mo. _ Think of it as an educational tug of war.\n\n"
            "The ranch lies about 100 miles east of Jackson, Wyo. Police said it was empty.")
    assert [s.text for s in split_sentences(text)] == [
        "LARAMIE, Wyo. (AP) -- A prosecutor asked 71 prospective jurors today to set aside the emotions of pity "
        "and rage.",
        "KANSAS CITY, Mo. _ Think of it as an educational tug of war.",
        "The ranch lies about 100 miles east of Jackson, Wyo.",
        "Police said it was empty.",
    ]


def test_offsets_and_paragraphs_point_back_into_the_text():
    text = "First paragraph here. It has two sentences.\n\nSecond paragraph, one sentence."
    spans = split_sentences(text)
    assert [s.paragraph for s in spans] == [0, 0, 1]
    for span in spans:
        assert text[span.start:span.end] == span.text


def read_one(path):
    """One text file through read, normalise, clean and split, as ingest runs them."""
    articles, rejected = normalize(list(read_paths([str(path)])), 200_000)
    assert not rejected
    articles, _ = clean(articles, {})
    return split(articles)[0]


def test_seed_like_article_reads_date_drops_boilerplate_and_splits_right(seed_like_path):
    article = read_one(seed_like_path)
    assert article.published == "2024-03-12T00:00:00Z"
    body = [s.text for s in article.body()]
    joined = " ".join(body).lower()
    assert "audio is created" not in joined and "share this" not in joined and "newsletter" not in joined
    assert len(body) == 9
    assert body[1] == "The breach, about 40 metres wide, opened near the old grain terminal at 4:15 a.m. local time."
    assert body[3].startswith("Gov. Elena Marsh said") and body[3].endswith("at St. Luke's Hospital.")
    assert body[4].endswith('"at the end of its design life and cannot be relied on in a 50-year flood."')
    assert "according to the U.S.-funded river monitoring network." in body[6]


def test_seed_article_reads_date_drops_boilerplate_and_splits_right(seed_path):
    items = list(read_paths([str(seed_path)]))
    articles, rejected = normalize(items, 200_000)
    assert not rejected
    articles, _ = clean(articles, {})
    article = split(articles)[0]
    assert article.published == "2023-12-28T00:00:00Z"
    body = [s.text for s in article.body()]
    assert not any("audio is created" in s.lower() for s in body)
    assert len(body) == 13
    assert body[1] == ("The video, published on Dec. 27, reportedly shows Russian soldiers shooting three "
                       "Ukrainian servicemen whom Russian forces captured east of Robotyne.")
    assert body[0].endswith("daily assessment on Dec. 27.")


def test_boilerplate_rules_catch_site_lines_but_not_news():
    for line in ("Sign up for our newsletter to get the latest news.", "Read more: Ferry captain speaks",
                 "By Anna Kowalski, Staff Reporter", "Photo: Jane Doe/Continental Press",
                 "This audio is created with AI assistance", "Share this article"):
        assert is_boilerplate(line), line
    for line in ("By the end of the day, 14 people had been rescued from the water.",
                 "Read the full statement, the minister told reporters on Tuesday, and judge for yourself."):
        assert not is_boilerplate(line), line


def test_lines_recurring_in_one_outlet_are_learned_as_boilerplate():
    footer = "Subscribe to The Ledger for independent local journalism."
    items = [RawItem({"text": f"Story number {i} about the harbour works in town.\n{footer}", "source": "Ledger"},
                     f"x:{i}") for i in range(3)]
    articles, _ = normalize(items, 10_000)
    counts = outlet_line_counts(articles)
    recurring = {outlet: {k for k, n in c.items() if n >= 3} for outlet, c in counts.items()}
    cleaned, _ = clean(articles, recurring)
    assert all(footer not in a.text for a in cleaned)
    assert drop_boilerplate(f"Real news line.\n\n{footer}")[0].endswith(footer)  # not without the evidence


def test_dates_normalise_to_iso_utc():
    assert normalize_date("2023-12-28") == "2023-12-28T00:00:00Z"
    assert normalize_date("Tue, 05 Mar 2024 14:30:00 +0100") == "2024-03-05T13:30:00Z"
    assert normalize_date("2024-03-05T08:00:00-05:00") == "2024-03-05T13:00:00Z"
    assert normalize_date("March 5, 2024") == "2024-03-05T00:00:00Z"
    assert normalize_date("1709625600") == "2024-03-05T08:00:00Z"
    assert normalize_date("not a date at all") is None
