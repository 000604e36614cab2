"""Exact and near-duplicate detection for articles, and keys for reusing sentence embeddings.

Wire stories are re-run by many outlets with small edits. MinHash over word 5-shingles gives each
article a few band keys; articles sharing a band are candidates, confirmed by exact Jaccard.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

SHINGLE = 5
PERMUTATIONS = 64
BANDS = 16  # 16 bands x 4 rows: pairs above ~0.5 Jaccard share a band with high probability
_rng = np.random.default_rng(20240302)
_A = _rng.integers(1, 1 << 63, PERMUTATIONS, dtype=np.uint64) | np.uint64(1)  # odd multipliers
_B = _rng.integers(0, 1 << 63, PERMUTATIONS, dtype=np.uint64)


def sentence_key(text: str) -> str:
    """Key of one sentence's exact text: the same text is embedded once, whatever article has it."""
    return hashlib.sha1(" ".join(text.split()).encode()).hexdigest()


def shingles(text: str) -> set[int]:
    words = re.findall(r"\w+", text.lower())
    if len(words) < SHINGLE:
        words = words + [""] * (SHINGLE - len(words))
    grams = (" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))
    return {int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") >> 4 for g in grams}


def band_keys(shingle_set: set[int]) -> list[int]:
    """One 63-bit key per MinHash band; articles that share a key are near-copy candidates."""
    values = np.fromiter(shingle_set, dtype=np.uint64, count=len(shingle_set))
    # multiply-shift hashing, one (a, b) per permutation; uint64 arithmetic wraps by design
    with np.errstate(over="ignore"):
        mixed = (values[:, None] * _A[None, :] + _B[None, :]) >> np.uint64(32)
    signature = mixed.min(axis=0)
    rows = PERMUTATIONS // BANDS
    keys = []
    for band in range(BANDS):
        chunk = signature[band * rows:(band + 1) * rows].tobytes()
        digest = hashlib.blake2b(chunk + bytes([band]), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little") >> 1)
    return keys


def jaccard(a: set[int], b: set[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def resemblance(a: set[int], b: set[int]) -> float:
    """Near-copy score: Jaccard, or containment of the shorter text when a copy was trimmed."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return max(inter / len(a | b), 0.9 * inter / min(len(a), len(b)))
