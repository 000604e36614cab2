"""Decide whether two sentences from different outlets state the same claim (MSRP-style paraphrase).

A sentence-embedding cosine alone confuses "same topic" with "same fact", so it is combined with cheap
lexical evidence (stemmed content-word overlap, word trigrams, character 4-grams, word LCS, numbers
present on one side only, length mismatch) by a logistic regression whose weights were fitted on MSRP
train by ``python -m eval.claims --tune`` and are shipped below as constants. The overlap features are
correlated, so individual weight signs are not meaningful on their own; only the joint fit is.
That first tier reaches F1 0.837 on held-out MSRP pairs, short of what a newsroom needs; the engine's
decision adds one more feature, the logit of a cross-encoder that reads the two sentences together
(engine/pairreader.py), and reaches 0.859 at accuracy 0.805 (majority class: 0.806 / 0.675).

Callers embed the sentences (L2-normalised all-MiniLM-L6-v2 vectors) and pass the vectors in; the reader
is loaded once per process on first use. Tokenization is regex based because NLTK's punkt data is not
available.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from nltk.stem.porter import PorterStemmer

STOPWORDS: frozenset[str] = frozenset(
    {
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are",
        "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by",
        "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from",
        "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself",
        "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most",
        "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our",
        "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than",
        "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this",
        "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what",
        "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
        "yours", "yourself", "yourselves", "said", "says", "say", "told", "according",
    }
)

FEATURE_NAMES: tuple[str, ...] = (
    "cos",  # embedding cosine
    "uni_min",  # min over sides of the share of stemmed content words found on the other side
    "uni_max",  # max of the same (catches "one sentence contains the other")
    "tri_f",  # word-trigram set F1 (word order / phrasing kept)
    "chr4_f",  # character 4-gram multiset F1 (chrF-like, robust to inflection and spelling)
    "lcs_min",  # word LCS / longer sentence length
    "lcs_max",  # word LCS / shorter sentence length
    "num_miss",  # log1p(#numbers on one side that the other side lacks)
    "len_logratio",  # |log word-count ratio|
    "len_absdiff",  # |word-count difference| / 10
)

# Fitted on all 4,076 MSRP train pairs by `python -m eval.claims --tune` (L2-regularised logistic
# regression on standardised features, folded back to raw feature space; threshold maximises
# accuracy + F1). 10-fold CV, fitted on 9 folds and scored on the held-out one: accuracy 0.769 +- 0.010,
# F1 0.837 +- 0.007 (cosine alone 0.726 / 0.820; "always same" 0.675 / 0.806).
SHIPPED_WEIGHTS: Mapping[str, float] = {
    "bias": -7.26585,
    "cos": 3.76964,
    "uni_min": -0.624426,
    "uni_max": 0.596783,
    "tri_f": -4.15741,
    "chr4_f": 5.45873,
    "lcs_min": 15.0973,
    "lcs_max": -8.11315,
    "num_miss": -0.568616,
    "len_logratio": 7.1733,
    "len_absdiff": -2.17096,
}
SHIPPED_THRESHOLD: float = 0.5051
READER_FEATURE_NAMES: tuple[str, ...] = (*FEATURE_NAMES, "reader")  # + the pair reader's logit
# The engine's decision: the same features plus the pair reader's logit (engine/pairreader.py). Fitted by
# `python -m eval.claims --tune --reader-oof oof.npy` on MSRP train, where each pair's logit came from a
# reader trained without it (`python -m eval.train_reader --folds 5`). 10-fold CV, fitted on 9 folds and
# scored on the held-out one: accuracy 0.805 +- 0.021, F1 0.859 +- 0.015 (first tier alone 0.769 / 0.837).
READER_WEIGHTS: Mapping[str, float] = {
    "bias": -3.5408,
    "cos": 1.79753,
    "uni_min": -0.859177,
    "uni_max": -0.330839,
    "tri_f": -2.44871,
    "chr4_f": 2.88862,
    "lcs_min": 10.7899,
    "lcs_max": -6.18865,
    "num_miss": -0.273334,
    "len_logratio": 5.52931,
    "len_absdiff": -1.72595,
    "reader": 0.5701,
}
READER_THRESHOLD: float = 0.4880
# Reference decision "cosine alone": threshold picked by the same rule on MSRP train.
COSINE_ONLY_THRESHOLD: float = 0.6443

_TOKEN_RE = re.compile(r"\d[\d,]*(?:\.\d+)?|[A-Za-z]+(?:[.&'’][A-Za-z]+)*")
_SPACE_RE = re.compile(r"\s+")
_STEMMER = PorterStemmer()
_CHAR_N = 4


@lru_cache(maxsize=200_000)
def porter_stem(word: str) -> str:
    """NLTK's Porter stem of a lower-case word, cached: the engine's one Porter stemmer (the summarizer's
    concepts use it too), so a story's words are stemmed once."""
    return _STEMMER.stem(word)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """Per-sentence token views; computed once per text (cached) so pair scoring is only set algebra."""

    words: tuple[str, ...]  # all tokens: stemmed lowercase words, normalised numbers
    content: frozenset[str]  # words minus stopwords (numbers included)
    trigrams: frozenset[tuple[str, str, str]]
    numbers: frozenset[str]  # "1,520.50" -> "1520.5", "$2.5" -> "2.5"
    # Stemmed capitalized non-stopwords (sentence-initial only if ALL CAPS). Offered to other modules;
    # not a model feature: a name-mismatch feature gave no held-out gain on MSRP.
    names: frozenset[str]
    char4: frozenset[str | tuple[str, int]]  # lowercase character 4-grams as a multiset (see _occurrences)
    word_masks: Mapping[str, int]  # word -> bitmask of its positions, for bit-parallel LCS


def _norm_number(tok: str) -> str:
    digits = tok.replace(",", "")
    if "." in digits:
        digits = digits.rstrip("0").rstrip(".")
    return digits


def _occurrences(items: list[str]) -> frozenset[str | tuple[str, int]]:
    """Multiset as a set: the k-th repeat (k >= 1) of an item is kept as (item, k), so the size of a set
    intersection is the multiset min-count overlap. Most 4-grams of a sentence occur once, so the set is
    mostly the strings themselves (their hashes are cached) and repeats are rare.
    """
    out = set(items)
    if len(out) < len(items):
        seen: dict[str, int] = {}
        for it in items:
            k = seen.get(it, 0)
            seen[it] = k + 1
            if k:
                out.add((it, k))
    return frozenset(out)


@lru_cache(maxsize=4096)
def token_info(text: str) -> TokenInfo:
    """Content words, numbers, capitalized names and n-gram views of one sentence (cached per text)."""
    words: list[str] = []
    numbers: set[str] = set()
    names: set[str] = set()
    content: set[str] = set()
    for i, tok in enumerate(_TOKEN_RE.findall(text)):
        if tok[0].isdigit():
            w = _norm_number(tok)
            numbers.add(w)
            content.add(w)
        else:
            low = tok.lower()
            if low.endswith(("'s", "’s")):  # possessive
                low = low[:-2]
            w = low if "." in low else porter_stem(low)  # keep abbreviations like "u.s" intact
            if low not in STOPWORDS:
                content.add(w)
                if tok[0].isupper() and (i > 0 or tok.isupper()):
                    names.add(w)
        words.append(w)
    low_text = " " + _SPACE_RE.sub(" ", text.lower()).strip() + " "
    masks: dict[str, int] = {}
    for i, w in enumerate(words):
        masks[w] = masks.get(w, 0) | (1 << i)
    return TokenInfo(
        words=tuple(words),
        content=frozenset(content),
        trigrams=frozenset(zip(words, words[1:], words[2:], strict=False)),
        numbers=frozenset(numbers),
        names=frozenset(names),
        char4=_occurrences([low_text[i : i + _CHAR_N] for i in range(len(low_text) - _CHAR_N + 1)]),
        word_masks=masks,
    )


def _set_f1(x: frozenset, y: frozenset) -> float:
    """Dice/F1 overlap; 0 when a side is empty (no evidence rather than a perfect match)."""
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))


def _lcs_len(ta: TokenInfo, tb: TokenInfo) -> int:
    """Word LCS length, bit-parallel (Allison-Dix / Hyyro): O(len(b)) big-int ops instead of O(n*m)."""
    full = (1 << len(ta.words)) - 1
    v = full
    masks = ta.word_masks
    for w in tb.words:
        u = v & masks.get(w, 0)
        v = ((v + u) | (v - u)) & full
    return len(ta.words) - v.bit_count()


def _lexical(ta: TokenInfo, tb: TokenInfo) -> list[float]:
    """All features but the cosine, in FEATURE_NAMES order; symmetric in (a, b) by construction."""
    inter = len(ta.content & tb.content)
    cov_a = inter / len(ta.content) if ta.content else 0.0
    cov_b = inter / len(tb.content) if tb.content else 0.0
    la, lb = len(ta.words), len(tb.words)
    lcs = _lcs_len(ta, tb) if la and lb else 0
    num_miss = len(ta.numbers - tb.content) + len(tb.numbers - ta.content)
    return [
        min(cov_a, cov_b),
        max(cov_a, cov_b),
        _set_f1(ta.trigrams, tb.trigrams),
        _set_f1(ta.char4, tb.char4),
        lcs / max(1, la, lb),
        lcs / max(1, min(la, lb)),
        math.log1p(num_miss),
        abs(math.log((la + 1) / (lb + 1))),
        abs(la - lb) / 10.0,
    ]


def pair_features(a: str, b: str, va: np.ndarray, vb: np.ndarray) -> np.ndarray:
    """Feature vector (FEATURE_NAMES order) of one pair; va, vb are L2-normalised embeddings."""
    cos = float(np.dot(np.asarray(va, dtype=np.float64), np.asarray(vb, dtype=np.float64)))
    return np.array([cos, *_lexical(token_info(a), token_info(b))], dtype=np.float64)


def feature_matrix(
    texts_a: Sequence[str], texts_b: Sequence[str], va: np.ndarray, vb: np.ndarray
) -> np.ndarray:
    """(n, len(FEATURE_NAMES)) features for n aligned pairs; rows of va/vb are L2-normalised."""
    if not (len(texts_a) == len(texts_b) == len(va) == len(vb)):
        raise ValueError("texts_a, texts_b, va and vb must have the same length")
    out = np.empty((len(texts_a), len(FEATURE_NAMES)), dtype=np.float64)
    if len(texts_a) == 0:
        return out
    out[:, 0] = np.einsum("ij,ij->i", np.asarray(va, dtype=np.float64), np.asarray(vb, dtype=np.float64))
    # Hold every distinct text's info for the whole batch, so a batch larger than the LRU cache
    # still tokenizes each text once.
    infos = {t: token_info(t) for t in dict.fromkeys([*texts_a, *texts_b])}
    out[:, 1:] = [_lexical(infos[a], infos[b]) for a, b in zip(texts_a, texts_b, strict=True)]
    return out


@lru_cache(maxsize=1)
def shipped_reader():
    """The shipped pair reader, loaded once per process on first use (a second MiniLM in memory, ~90 MB)."""
    from newsprism.engine.pairreader import PairReader

    return PairReader()


class SameClaim:
    """The decision "these two sentences state the same claim".

    Two tiers. `link_probabilities` is a logistic regression over the features above: vector and set
    arithmetic, tens of thousands of pairs a second, what `engine.claims.align` links candidates with.
    `probabilities` (and `same`, `decide`) add the pair reader's logit (engine/pairreader.py) as one more
    feature of a second regression: the engine's same-claim decision, a few hundred pairs a second.
    `reader=False` keeps to the first tier (then `probabilities` is `link_probabilities`).
    """

    def __init__(
        self, weights: Mapping[str, float] = SHIPPED_WEIGHTS, threshold: float = SHIPPED_THRESHOLD,
        reader: object | bool = True, reader_weights: Mapping[str, float] = READER_WEIGHTS,
        reader_threshold: float = READER_THRESHOLD,
    ) -> None:
        self.bias, self.coef = _unpack(weights, FEATURE_NAMES)
        self.reader_bias, self.reader_coef = _unpack(reader_weights, READER_FEATURE_NAMES)
        self._reader = reader
        self.threshold = float(reader_threshold if reader is not False else threshold)

    @property
    def reader(self):
        """The pair reader in use (the shipped one unless another was given), or None for the fast tier."""
        if self._reader is False:
            return None
        return shipped_reader() if self._reader is True else self._reader

    def from_features(self, x: np.ndarray) -> np.ndarray:
        """First-tier P(same claim) for precomputed feature rows (lets eval score folds without recomputing)."""
        return _sigmoid(x @ self.coef + self.bias)

    def from_reader_features(self, x: np.ndarray, logits: np.ndarray) -> np.ndarray:
        """Second-tier P(same claim) from feature rows and the reader's logits for the same pairs."""
        return _sigmoid(np.c_[x, logits] @ self.reader_coef + self.reader_bias)

    def link_probabilities(
        self, texts_a: Sequence[str], texts_b: Sequence[str], va: np.ndarray, vb: np.ndarray
    ) -> np.ndarray:
        """First-tier P(same claim) for n aligned pairs (row i of va/vb embeds texts_a[i]/texts_b[i])."""
        return self.from_features(feature_matrix(texts_a, texts_b, va, vb))

    def probabilities(
        self, texts_a: Sequence[str], texts_b: Sequence[str], va: np.ndarray, vb: np.ndarray
    ) -> np.ndarray:
        """P(same claim) for n aligned pairs, as the engine decides (with the reader unless reader=False)."""
        x = feature_matrix(texts_a, texts_b, va, vb)
        reader = self.reader
        if reader is None:
            return self.from_features(x)
        if len(x) == 0:
            return np.empty(0, dtype=np.float64)
        return self.from_reader_features(x, reader.logits(texts_a, texts_b))

    def probability(self, a: str, b: str, va: np.ndarray, vb: np.ndarray) -> float:
        """P(same claim) for one pair."""
        return float(self.probabilities([a], [b], np.asarray(va)[None, :], np.asarray(vb)[None, :])[0])

    def same(self, a: str, b: str, va: np.ndarray, vb: np.ndarray) -> bool:
        return self.probability(a, b, va, vb) >= self.threshold

    def decide(
        self, texts_a: Sequence[str], texts_b: Sequence[str], va: np.ndarray, vb: np.ndarray
    ) -> np.ndarray:
        """Boolean same-claim decisions for n aligned pairs."""
        return self.probabilities(texts_a, texts_b, va, vb) >= self.threshold


def _unpack(weights: Mapping[str, float], names: Sequence[str]) -> tuple[float, np.ndarray]:
    missing = {"bias", *names} - set(weights)
    if missing:
        raise ValueError(f"weights lack {sorted(missing)}")
    return float(weights["bias"]), np.array([weights[name] for name in names], dtype=np.float64)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))
