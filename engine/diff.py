"""What changed between two versions of an article: sentences removed, added and changed.

A correction usually edits a few sentences ("12 killed" becomes "15 killed"); pairing removed
and added sentences by their words shows it as one changed sentence with the changed numbers
and names marked, which is what an editor needs to see.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from newsprism.engine.limits import MAX_DIFF_SENTENCES, MAX_DIFF_TOKENS
from newsprism.engine.sentences import split_sentences

PAIR_RATIO = 0.5
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*%?|\w+(?:['’]\w+)*|[^\w\s]")
_NUMBER = re.compile(r"^\d")


def _tokens(text: str) -> list[str]:
    """Words, numbers and marks of a sentence, at most MAX_DIFF_TOKENS: comparing two sequences of
    repeated tokens costs the product of their lengths."""
    return [m.group() for _, m in zip(range(MAX_DIFF_TOKENS), _TOKEN.finditer(text), strict=False)]


def token_changes(before: str, after: str) -> list[dict]:
    """Replaced spans between two sentences, each marked as number, name or wording."""
    a, b = _tokens(before), _tokens(after)
    changes = []
    for op, i1, i2, j1, j2 in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        old, new = " ".join(a[i1:i2]), " ".join(b[j1:j2])
        words = a[i1:i2] + b[j1:j2]
        if any(_NUMBER.match(w) for w in words):
            kind = "number"
        elif any(w[:1].isupper() for w in words):
            kind = "name"
        else:
            kind = "wording"
        changes.append({"kind": kind, "before": old, "after": new})
    return changes


def diff_versions(old_text: str, new_text: str) -> dict:
    """{"removed": [...], "added": [...], "changed": [{"before", "after", "changes"}], "unchanged": n}.

    Pairing removed with added sentences compares every pair, so past MAX_DIFF_SENTENCES on a side
    (a rewrite, not a correction) they are listed unpaired.
    """
    old = [s.text for s in split_sentences(old_text)]
    new = [s.text for s in split_sentences(new_text)]
    removed, added, unchanged = [], [], 0
    for op, i1, i2, j1, j2 in SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            unchanged += i2 - i1
        else:
            removed.extend(old[i1:i2])
            added.extend(new[j1:j2])
    changed = []
    if len(removed) > MAX_DIFF_SENTENCES or len(added) > MAX_DIFF_SENTENCES:  # a rewrite: nothing to pair
        return {"removed": removed, "added": added, "changed": changed, "unchanged": unchanged}
    added_tokens = {after: _tokens(after) for after in added}
    for before in list(removed):
        # partners by shared words (quick_ratio: a multiset overlap, linear in the tokens); difflib's full
        # ratio costs far more than n*m on repeated tokens, so only the chosen pair is compared in full
        best, best_ratio = None, PAIR_RATIO
        matcher = SequenceMatcher(autojunk=False)
        matcher.set_seq1(_tokens(before))
        for after in added:
            matcher.set_seq2(added_tokens[after])
            if matcher.real_quick_ratio() > best_ratio:
                ratio = matcher.quick_ratio()
                if ratio > best_ratio:
                    best, best_ratio = after, ratio
        if best is not None:
            changed.append({"before": before, "after": best, "changes": token_changes(before, best)})
            removed.remove(before)
            added.remove(best)
    return {"removed": removed, "added": added, "changed": changed, "unchanged": unchanged}
