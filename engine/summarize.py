"""Extractive multi-document summaries of a story, attributed to the outlets that carry each claim.

The main summarizer is budgeted maximum coverage of content bigrams (the ICSISumm concept model:
a bigram weighs as many independent reports as contain it), solved greedily with cost scaling as in
Lin & Bilmes (2010/2011). On top of the concept model it uses what a one-article summarizer cannot:
sentences whose claim several outlets carry earn a support bonus, near-duplicates are rejected on
the sentence embeddings, and one outlet may take only a share of the budget. Sentences that cannot
stand alone (datelines are stripped; bylines, boilerplate, asides in parentheses, questions,
fragments, dangling openers are dropped) never enter; weekday adjuncts ("on Tuesday") are trimmed,
since they date a report and not the story; and the result reads in publication order.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from functools import lru_cache

import numpy as np
from newsprism.engine.records import Article, Sentence
from newsprism.engine.sameclaim import porter_stem

STOPWORDS: frozenset[str] = frozenset({
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can",
    "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had",
    "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i",
    "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no",
    "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves",
    "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their",
    "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to",
    "too", "under", "until", "up", "very", "was", "were", "what", "when", "where", "which", "while", "who",
    "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "said",
    "says", "say", "told", "according", "s", "t",
})

_TOKEN = re.compile(r"[a-z0-9]+")

# "WASHINGTON (AP) _", "LONDON, March 3 (Reuters) -", "KABUL, Afghanistan --", "(CNN) --".
_DATELINE = re.compile(
    r"^(?:By\s+[A-Z][\w.'\- ]{1,60}?,?\s+(?:Associated\s+Press|AP|Reuters|AFP|Staff)\s+Writers?\s+)?"
    r"(?:[A-Z][A-Z.'\-]+(?:\s+[A-Z][A-Z.'\-]+)*(?:,\s*[^()_—–\n]{1,40}?)?\s*(?:\([^()]{1,40}\))?"
    r"|\([A-Za-z .\-]{1,30}\))\s*(?:_|--?|—|–)\s+"
)
_BYLINE = re.compile(
    r"^By\s+[A-Z][\w.'\-]*(?:\s+[A-Z][\w.'\-]*){0,4}(?:,|\s+and\s|\s*$|\s+[A-Z][a-z]+\s+Writer)"
)
_BOILERPLATE = re.compile(
    r"associated press writer|staff writer|\b(?:reporting|editing|writing) by\b|"
    r"contributed (?:to )?this report|all rights reserved|copyright\s*(?:©|\(c\)|\d{4})|©\s*\d{4}|"
    r"\bclick here\b|\bsign up\b|\bsubscribe\b|\bfollow us\b|\bread more\b|\bnewsletter\b|"
    r"\bemail this\b|\bshare this\b|\bgetty images\b|\bphoto:|\bimage:|^advertisement\b|"
    r"\bthis (?:story|article) (?:has been|was) (?:updated|corrected)"
)
# Substrings one of which every boilerplate match holds: most sentences skip the slow regex.
_BOILERPLATE_HINTS = ("writer", "ing by", "contributed", "reserved", "copyright", "©", "click", "sign up",
                      "subscribe", "follow us", "read more", "newsletter", "email this", "share this",
                      "getty", "photo:", "image:", "advertisement", "updated", "corrected")
# Openers that point back to an earlier sentence; "This week"-style time phrases are fine.
_DANGLING = re.compile(
    r"^(?:``|[\"'“‘])?(?:He|She|They|It|Its|His|Her|Their|Them|This|That|These|Those|Such|But|However|Also|And|Or|"
    r"So|Yet|Still|Moreover|Furthermore|Nevertheless|Nonetheless|Meanwhile|Thus|Therefore|Then|Later|Instead|"
    r"Besides|Likewise|Otherwise|Hence|Additionally|Both|Another|Others|Which|"
    r"In addition|As a result|On the other hand|At the same time|Despite this|After that|"
    r"Because of this|In contrast|Even so)\b(?!\s+(?:year|week|month|morning|afternoon|evening|"
    r"weekend|season|summer|winter|spring|autumn|fall|decade|century)\b)"
)
_TERMINAL = re.compile(r"[.!\"'”’)]$")
# How to reach the writer or desk (NYT and Cox wire copy): "404-526-5429, pfoutch(at)coxnews.com".
_CONTACT = re.compile(r"\(at\)|\b\d{3}-\d{3}-\d{4}\b|\bcan be reached at\b")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    """Porter stem as ROUGE has it; stopwords stay as they are so STOPWORDS still recognises them."""
    return word if len(word) <= 3 or word in STOPWORDS else porter_stem(word)


@lru_cache(maxsize=50_000)
def tokens(text: str) -> tuple[str, ...]:
    """Lower-cased, stemmed alphanumeric tokens (the ROUGE tokenization, so concepts match it)."""
    return tuple(_stem(w) for w in _TOKEN.findall(text.lower()))


def clear_caches() -> None:
    """Forget cached tokens and stems, so a timing includes the text processing of a new story."""
    tokens.cache_clear()
    _stem.cache_clear()
    porter_stem.cache_clear()


def content_bigrams(toks: tuple[str, ...]) -> set[tuple[str, str]]:
    """Adjacent token pairs that are not both stopwords: the concepts of the coverage model."""
    return {(a, b) for a, b in zip(toks, toks[1:], strict=False) if a not in STOPWORDS or b not in STOPWORDS}


def content_words(toks: tuple[str, ...]) -> set[str]:
    """Words that carry content: no stopwords, and of numbers only those long enough to be specific."""
    return {t for t in toks if (t not in STOPWORDS and not t.isdigit()) or (t.isdigit() and len(t) > 3)}


def strip_dateline(text: str) -> str:
    """The sentence without a leading wire dateline ("LONDON, March 3 (Reuters) - ")."""
    match = _DATELINE.match(text)
    return text[match.end():] if match else text


_DAY = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_WEEKDAY = re.compile(rf"\b{_DAY}\b")
_PART = r"(?:morning|afternoon|evening|night)"
# A weekday phrase ("on Tuesday", "late Monday night") that dates a report relative to its own day.
# Bounded runs only: every start position does a bounded amount of work (tests/linear_check.py).
_DAY_PHRASE = re.compile(
    rf"(?P<pre>\b[\w']{{1,30}})?(?P<lead>,)?\s{{1,3}}(?:(?:on|late|early|mid|last)\s{{1,3}})?{_DAY}"
    rf"(?:\s{{1,3}}{_PART})?(?P<end>,)?(?=[\s,.;:]|$)(?!\s{{1,3}}{_PART}s?\b)")
# Words after which the weekday is an argument, not an adjunct ("until Sunday", "will be on Saturday").
_DAY_KEEP = frozenset({"since", "until", "till", "by", "from", "through", "before", "after", "next", "this",
                       "of", "to", "and", "or", "between", "for", "be", "is", "was", "are", "were", "been",
                       "last", "on", "late", "early", "mid", "that", "than", "as", "at", "the", "a"})
_LEAD_TIME = re.compile(
    rf"^(?:(?:On|Late|Early|Earlier|Later)\s+)?(?:{_DAY}(?:\s+{_PART})?|(?:Earlier|Later|Late|Early)\s+this\s+"
    r"(?:week|month|year)|(?:Last|This)\s+(?:week|month|weekend)|Yesterday|Today),\s+(?=[\w\"'`“])")
# Quoted words are never touched.
_QUOTED = re.compile(r"``.*?(?:''|$)|\"[^\"]*(?:\"|$)|“[^”]*(?:”|$)")
# NYT wire markup ("&UR;", "&QL;", "&LR;") marks lines, never words of a sentence.
_MARKUP = re.compile(r"&[A-Z]{2};")
# where markup closed a name ("&UR; Oprah Winfrey &LR; 's"), its removal leaves the possessive apart
_MARKUP_GAP = re.compile(r" 's\b")


def _drop_day(match: re.Match) -> str:
    """The weekday phrase removed (a comma after it stays), unless the weekday is what the clause is about."""
    pre = match.group("pre") or ""
    if pre.lower() in _DAY_KEEP:
        return match.group(0)
    return f"{pre}{match.group('end') or ''}"


def trim(text: str) -> str:
    """The sentence without words that date it relative to its report ("on Tuesday", "Late Monday, ").

    A weekday says nothing once reports of several days are merged, and at 100 words every word
    spent on it is one fewer for content: on every development file ROUGE-2 rose (eval/summaries.py).
    Only adjuncts go: a weekday that is an argument ("until Sunday", "was on Saturday") stays, and so
    does a sentence with two weekdays (they contrast). Who said a claim, and quoted words, are never cut.
    """
    out = _MARKUP_GAP.sub("'s", " ".join(_MARKUP.sub(" ", text).split())) if "&" in text else text
    lead = _LEAD_TIME.match(out)
    if lead:
        rest = out[lead.end():]
        out = rest[:1].upper() + rest[1:]
    if len(_WEEKDAY.findall(out)) == 1:
        day = _DAY_PHRASE.search(out)
        if day and not any(q.start() < day.end() and day.start() < q.end() for q in _QUOTED.finditer(out)):
            out = out[:day.start()] + _drop_day(day) + out[day.end():]
    return out


def exclusion_reason(text: str, min_words: int = 8, max_words: int = 55) -> str | None:
    """Why a (dateline-stripped) sentence cannot stand alone in a summary, or None if it can."""
    n = len(text.split())
    if n < min_words:
        return "short"
    if n > max_words:
        return "long"
    lower = text.lower()
    if _BYLINE.match(text) or _CONTACT.search(text) or \
            any(h in lower for h in _BOILERPLATE_HINTS) and _BOILERPLATE.search(lower):
        return "boilerplate"
    # a sentence in parentheses is an aside: the writer's note, an editor's note ("(EDITORS: ...")
    if text.startswith("("):
        return "aside"
    stripped = text.rstrip("\"'”’) ")
    if stripped.endswith("?"):
        return "question"
    if not _TERMINAL.search(text):
        return "fragment"
    first = text.lstrip("\"'“‘ ")[:1]
    if text.startswith(("...", "…")) or first.islower():
        return "fragment"
    # wire copy writes quotes as ``...'' (AP, NYT): a sentence that opens or closes one only is half a quote
    if text.count('"') % 2 or text.count("“") != text.count("”") or text.count("``") != text.count("''"):
        return "open quote"
    if _DANGLING.match(text):
        return "dangling"
    return None


@dataclass(slots=True)
class SummarySentence:
    """One summary sentence, pointing back to its article and to every outlet that carries its claim."""

    text: str
    article_id: str
    outlet: str
    published: str | None
    sources: list[str]
    support: int
    position: int
    url: str | None


@dataclass(frozen=True, slots=True)
class SummaryParams:
    """Knobs of both summarizers; defaults were chosen on MultiLing 2011 (see eval/summaries.py)."""

    default_words: int = 120  # budget when neither words nor sentences is given
    min_words: int = 8
    max_words: int = 55
    redundancy: float = 0.75  # embedding cosine at or above which two sentences say the same
    align_threshold: float = 0.65  # cosine for two outlets' sentences to carry the same claim
    align_overlap: float = 0.2  # and the share of the shorter one's content words they must share
    min_df: int = 0  # reports a bigram needs to count; 0: 35% of the reports, at least 2, at most 4
    length_exponent: float = 1.0  # greedy divides gains by length**r (Lin & Bilmes cost scaling)
    support_weight: float = 0.3  # bonus per extra independent report, in concept density units
    position_weight: float = 1.0  # bonus for lead sentences, same units
    query_weight: float = 2.0  # bonus for query relevance, same units
    outlet_share: float = 0.4  # most of the budget one outlet may fill when there are several
    max_candidates: int = 400  # sentences the search considers, by singleton value
    solver: str = "ilp"  # "ilp": exact concept coverage (scipy milp / HiGHS); "greedy": cost-scaled greedy
    ilp_candidates: int = 100  # the exact program chooses among this many best candidates
    ilp_seconds: float = 2.0  # HiGHS time limit; its best solution so far is used when it runs out

    @classmethod
    def build(cls, params: SummaryParams | dict | None) -> SummaryParams:
        if params is None:
            return cls()
        if isinstance(params, SummaryParams):
            return params
        known = {f.name for f in fields(cls)}
        unknown = set(params) - known
        if unknown:
            raise ValueError(f"unknown summary parameters: {sorted(unknown)}")
        return replace(cls(), **params)


@dataclass(slots=True)
class _Candidate:
    """A sentence prepared for selection."""

    article: Article
    order: int  # the article's index in publication order
    sentence: Sentence
    text: str  # dateline stripped
    words: int
    concepts: tuple[tuple[str, str], ...]  # sorted, so sums and the program's rows never depend on hashing
    vector: np.ndarray


def _root(article: Article, by_id: dict[str, Article]) -> Article | str:
    """The original an article copies (following copy chains), or the original's id if absent."""
    seen = {article.id}
    while article.copy_of:
        parent = by_id.get(article.copy_of)
        if parent is None:
            return article.copy_of
        if parent.id in seen:
            break
        seen.add(parent.id)
        article = parent
    return article


def report_keys(articles: list[Article]) -> dict[str, str]:
    """Article id -> independent-report key: copies map to their original, and one outlet counts once."""
    by_id = {a.id: a for a in articles}
    keys = {}
    for article in articles:
        root = _root(article, by_id)
        if isinstance(root, str):
            keys[article.id] = f"id:{root}"
        else:
            keys[article.id] = f"outlet:{root.outlet}" if root.outlet else f"id:{root.id}"
    return keys


def _vectors(sentences: list[Sentence]) -> np.ndarray:
    if any(s.vector is None for s in sentences):
        raise ValueError("summaries need embedded sentences: fill Sentence.vector first")
    return np.vstack([s.vector for s in sentences]).astype(np.float32, copy=False)


def support_map(articles: list[Article], threshold: float = 0.65, overlap: float = 0.2,
                only: set[tuple[str, int]] | None = None,
                block: int = 512) -> dict[tuple[str, int], tuple[list[str], int]]:
    """(article_id, position) -> (outlets carrying the claim, independent reports) per body sentence.

    Two articles carry the same claim in sentences that are each other's best match across that
    article pair, with embedding cosine >= threshold and at least two shared content words making up
    `overlap` of the shorter sentence's; a sentence's sources are its own outlet plus those of its
    aligned articles. `only` limits the answer (and the work) to some sentences. Kept apart from the
    summarizer so the engine's claims module can replace it.
    """
    rows: list[tuple[int, Sentence]] = [(a_i, s) for a_i, a in enumerate(articles) for s in a.body()]
    wanted = [i for i, (a_i, s) in enumerate(rows) if only is None or (articles[a_i].id, s.position) in only]
    if not wanted:
        return {}
    owner = np.array([a_i for a_i, _ in rows])
    vectors = _vectors([s for _, s in rows])
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    ends = np.r_[starts[1:], len(rows)]
    segment = np.repeat(np.arange(len(starts)), ends - starts)
    # Each wanted sentence's best match in every other article, a block of rows at a time.
    slot = {i: n for n, i in enumerate(wanted)}
    row_best = np.empty((len(wanted), len(starts)), dtype=np.float32)
    pairs: list[tuple[int, int, float]] = []
    for lo in range(0, len(wanted), block):
        ids = wanted[lo:lo + block]
        sims = vectors[ids] @ vectors.T
        row_best[lo:lo + len(ids)] = np.maximum.reduceat(sims, starts, axis=1)
        local, seg = np.nonzero(row_best[lo:lo + len(ids)] >= threshold)
        for li, k in zip(local.tolist(), seg.tolist(), strict=True):
            i = ids[li]
            if k != segment[i]:
                j = int(starts[k] + np.argmax(sims[li, starts[k]:ends[k]]))
                pairs.append((i, j, float(sims[li, j])))
    # Mutual: i must also be j's best match in i's article; for j outside `only` that needs a look.
    reverse: dict[tuple[int, int], float] = {}
    missing: dict[int, set[int]] = defaultdict(set)
    for i, j, _ in pairs:
        if j not in slot:
            missing[int(segment[i])].add(j)
    for k, js in missing.items():
        listed = sorted(js)
        best = (vectors[listed] @ vectors[starts[k]:ends[k]].T).max(axis=1)
        reverse.update({(j, k): float(v) for j, v in zip(listed, best, strict=True)})
    aligned: dict[int, set[int]] = defaultdict(set)
    for i, j, sim in pairs:
        k = int(segment[i])
        if (row_best[slot[j], k] if j in slot else reverse[(j, k)]) > sim + 1e-5:
            continue
        wi, wj = content_words(tokens(rows[i][1].text)), content_words(tokens(rows[j][1].text))
        shared = len(wi & wj)
        if shared >= 2 and shared >= overlap * min(len(wi), len(wj)):
            aligned[i].add(int(owner[j]))
    keys = report_keys(articles)
    out: dict[tuple[str, int], tuple[list[str], int]] = {}
    for i in wanted:
        a_i, sentence = rows[i]
        article, others = articles[a_i], sorted(aligned[i])
        sources = list(dict.fromkeys(o for o in [article.outlet, *(articles[k].outlet for k in others)] if o))
        support = len({keys[article.id], *(keys[articles[k].id] for k in others)})
        out[(article.id, sentence.position)] = (sources, support)
    return out


def _publication_order(articles: list[Article]) -> list[Article]:
    """Articles by publication time; undated ones keep their input order after the dated ones."""
    indexed = list(enumerate(articles))
    indexed.sort(key=lambda p: (p[1].published is None, p[1].published or "", p[0]))
    return [a for _, a in indexed]


def _candidates(articles: list[Article], params: SummaryParams) -> list[_Candidate]:
    """Sentences that can stand alone, one per distinct text (originals before copies)."""
    ordered = _publication_order(articles)
    rank = {id(a): i for i, a in enumerate(ordered)}
    pool = sorted(ordered, key=lambda a: (a.copy_of is not None, rank[id(a)]))
    seen: set[str] = set()
    out: list[_Candidate] = []
    for article in pool:
        for sentence in article.body():
            text = trim(strip_dateline(sentence.text))
            if exclusion_reason(text, params.min_words, params.max_words):
                continue
            norm = " ".join(_TOKEN.findall(text.lower()))
            if norm in seen:
                continue
            seen.add(norm)
            if sentence.vector is None:
                raise ValueError("summaries need embedded sentences: fill Sentence.vector first")
            out.append(_Candidate(article, rank[id(article)], sentence, text, len(text.split()),
                                  tuple(sorted(content_bigrams(tokens(text)))), sentence.vector))
    return out


def _budget(words: int | None, sentences: int | None, params: SummaryParams) -> tuple[float, float]:
    if words is None and sentences is None:
        words = params.default_words
    return (float(words) if words is not None else math.inf,
            float(sentences) if sentences is not None else math.inf)


class _Objective:
    """Monotone submodular F(S): covered concept weights plus a modular bonus per chosen sentence.

    Concepts are numbered and laid out flat per candidate, so each round's gains are one numpy pass.
    """

    def __init__(self, cands: list[_Candidate], weights: dict[tuple[str, str], float],
                 bonus: np.ndarray) -> None:
        ids: dict[tuple[str, str], int] = {}
        self.weights = weights
        flat = [ids.setdefault(b, len(ids)) for c in cands for b in c.concepts if b in weights]
        counts = [sum(b in weights for b in c.concepts) for c in cands]
        self.concepts = np.array(flat, dtype=np.int64)
        self.owner = np.repeat(np.arange(len(cands)), counts)
        self.weight = np.array([weights[b] for b in ids], dtype=np.float64)
        self.open = np.ones(len(ids), dtype=np.float64)  # 1 while no chosen sentence covers the concept
        self.bonus = bonus
        self.n = len(cands)

    def head(self, k: int) -> _Objective:
        """The objective over the first k candidates only."""
        sub = _Objective.__new__(_Objective)
        keep = self.owner < k
        used = np.unique(self.concepts[keep])
        renumber = np.full(len(self.weight), -1, dtype=np.int64)
        renumber[used] = np.arange(len(used))
        sub.weights, sub.concepts, sub.owner = self.weights, renumber[self.concepts[keep]], self.owner[keep]
        sub.weight, sub.open, sub.bonus, sub.n = self.weight[used], np.ones(len(used)), self.bonus[:k], k
        return sub

    def reset(self) -> None:
        self.open[:] = 1.0

    def gains(self, idx: list[int]) -> np.ndarray:
        per_concept = self.weight[self.concepts] * self.open[self.concepts]
        return np.bincount(self.owner, weights=per_concept, minlength=self.n)[idx] + self.bonus[idx]

    def take(self, i: int) -> None:
        self.open[self.concepts[self.owner == i]] = 0.0


class _Selector:
    """Shared budget packing, redundancy check and output for both summarizers."""

    def __init__(self, params: SummaryParams | dict | None = None) -> None:
        self.params = SummaryParams.build(params)

    def _pack(self, cands: list[_Candidate], objective: _Objective, words: float, max_sents: float,
              truncate: bool, outlet_cap: float, groups: list[int] | None = None) -> list[tuple[_Candidate, int]]:
        """Whole sentences that fit the budget, then (with truncate) the best prefix for the words left.

        Under a word budget the exact program runs over the `ilp_candidates` best candidates (they come
        best first) when asked for, else (or when HiGHS finds nothing in time) the greedy search over all. Two
        candidates as close as `redundancy`, or in one claim group (`groups[i]`, -1 for none), never
        both go in. Returns (candidate, words kept); a cut one is last.
        """
        p = self.params
        vectors = np.stack([c.vector for c in cands])
        groups = groups if groups is not None else [-1] * len(cands)
        chosen = None
        if p.solver == "ilp" and words < math.inf:  # a sentence count alone: the greedy's density order
            pool = min(len(cands), p.ilp_candidates)
            chosen = self._exact(cands[:pool], objective.head(pool), vectors[:pool], words, max_sents,
                                 outlet_cap, groups[:pool])
        if chosen is None:
            chosen = self._greedy(cands, objective, vectors, words, max_sents, outlet_cap, groups)
        picked = [(cands[i], cands[i].words) for i in chosen]
        room = int(words - sum(cands[i].words for i in chosen)) if words < math.inf else 0
        if truncate and room > 0 and len(chosen) < max_sents:
            cut = self._prefix(cands, objective, vectors, chosen, room, groups)
            if cut is not None:
                picked.append((cands[cut], room))
        return picked

    def _greedy(self, cands: list[_Candidate], objective: _Objective, vectors: np.ndarray, words: float,
                max_sents: float, outlet_cap: float, groups: list[int]) -> list[int]:
        """Greedy selection by marginal gain / words**r under the budget (Lin & Bilmes 2010).

        Beyond its first sentence an outlet may fill only `outlet_cap` of the budget while others still
        have something to add.
        """
        p = self.params
        objective.reset()
        lengths = np.array([c.words for c in cands], dtype=np.float64)
        outlets = [c.article.outlet or c.article.id for c in cands]
        limit = outlet_cap * words
        closest = np.full(len(cands), -1.0, dtype=np.float32)
        chosen: list[int] = []
        used = 0
        outlet_words: Counter[str] = Counter()
        capped = outlet_cap < 1.0

        def fits(i: int) -> bool:
            if used + lengths[i] > words:
                return False
            taken = outlet_words[outlets[i]]
            return not (capped and taken and taken + lengths[i] > limit)

        while len(chosen) < max_sents and used < words:
            idx = [i for i in np.flatnonzero(closest < p.redundancy).tolist() if fits(i)]
            if not idx:
                if capped:  # diversity is preferred, never bought with an empty budget
                    capped = False
                    continue
                break
            best = idx[int(np.argmax(objective.gains(idx) / lengths[idx] ** p.length_exponent))]
            objective.take(best)
            chosen.append(best)
            np.maximum(closest, vectors @ vectors[best], out=closest)
            closest[best] = np.inf
            if groups[best] >= 0:
                closest[[i for i, g in enumerate(groups) if g == groups[best]]] = np.inf
            outlet_words[outlets[best]] += cands[best].words
            used += cands[best].words
        return chosen

    def _exact(self, cands: list[_Candidate], objective: _Objective, vectors: np.ndarray, words: float,
               max_sents: float, outlet_cap: float, groups: list[int]) -> list[int] | None:
        """Maximum weighted concept coverage plus sentence bonuses as an integer program (ICSISumm).

        Variables: x_i (sentence i chosen, binary) and c_j (concept j covered, in [0, 1]: at an optimum
        it is integral). c_j <= sum of x_i over sentences holding j; sum of lengths <= budget; x_i + x_k
        <= 1 for near-duplicates; at most one sentence per claim group; per outlet at most `outlet_cap`
        of the budget, or its longest sentence (an outlet's first pick may be long, as in the greedy).
        None when HiGHS returns no solution in `ilp_seconds`.
        """
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import coo_matrix, csr_matrix, hstack, identity, vstack

        n, m = objective.n, len(objective.weight)
        cover = hstack([-coo_matrix((np.ones(len(objective.owner)), (objective.concepts, objective.owner)),
                                    shape=(m, n)), identity(m)])
        rows: list[np.ndarray] = []
        upper: list[float] = []
        lengths = np.array([c.words for c in cands], dtype=np.float64)
        if words < math.inf:
            rows.append(lengths)
            upper.append(words)
        if max_sents < math.inf:
            rows.append(np.ones(n))
            upper.append(max_sents)
        if outlet_cap < 1.0 and words < math.inf:
            outlets = [c.article.outlet or c.article.id for c in cands]
            for outlet in sorted(set(outlets)):
                rows.append(np.where([o == outlet for o in outlets], lengths, 0.0))
                upper.append(max(outlet_cap * words, float(lengths[[o == outlet for o in outlets]].max())))
        members: dict[int, list[int]] = defaultdict(list)
        for i, g in enumerate(groups):
            if g >= 0:
                members[g].append(i)
        for ids in members.values():
            if len(ids) > 1:
                rows.append(np.isin(np.arange(n), ids).astype(np.float64))
                upper.append(1.0)
        a, b = np.nonzero(np.triu(vectors @ vectors.T >= self.params.redundancy, k=1))
        pairs = coo_matrix((np.ones(2 * len(a)), (np.r_[np.arange(len(a)), np.arange(len(a))], np.r_[a, b])),
                           shape=(len(a), n))
        budget = vstack([csr_matrix(np.array(rows).reshape(len(rows), n)), pairs]) if rows else pairs
        budget = hstack([budget, csr_matrix((budget.shape[0], m))])
        matrix = vstack([cover, budget]).tocsr()
        ub = np.r_[np.zeros(m), upper, np.ones(len(a))]
        result = milp(-np.r_[objective.bonus, objective.weight], integrality=np.r_[np.ones(n), np.zeros(m)],
                      bounds=Bounds(0, 1), constraints=LinearConstraint(matrix, -np.inf, ub),
                      options={"time_limit": self.params.ilp_seconds, "mip_rel_gap": 0.005})
        if result.x is None:
            return None
        chosen = np.flatnonzero(result.x[:n] > 0.5)
        return chosen[np.argsort(-objective.bonus[chosen], kind="stable")].tolist()

    def _prefix(self, cands: list[_Candidate], objective: _Objective, vectors: np.ndarray, chosen: list[int],
                room: int, groups: list[int]) -> int | None:
        """The candidate whose first `room` words add the most uncovered concept weight (and bonus share)."""
        covered = {b for i in chosen for b in cands[i].concepts}
        taken = {groups[i] for i in chosen} - {-1}
        closest = (vectors @ vectors[chosen].T).max(axis=1) if chosen else np.full(len(cands), -1.0)
        best, best_gain = None, 0.0
        for i, c in enumerate(cands):
            if i in chosen or closest[i] >= self.params.redundancy or groups[i] in taken:
                continue
            head = content_bigrams(tokens(" ".join(c.text.split()[:room])))
            gain = sum(objective.weights.get(b, 0.0) for b in head - covered)
            gain += objective.bonus[i] * min(1.0, room / c.words)
            if gain > best_gain:
                best, best_gain = i, gain
        return best

    @staticmethod
    def _render(picked: list[tuple[_Candidate, int]],
                support: dict[tuple[str, int], tuple[list[str], int]]) -> list[SummarySentence]:
        """Whole sentences in publication order, then position; a cut sentence always comes last."""
        whole = sorted((p for p in picked if p[1] == p[0].words),
                       key=lambda p: (p[0].order, p[0].sentence.position))
        cut = [p for p in picked if p[1] != p[0].words]
        out = []
        for c, keep in whole + cut:
            text = c.text if keep == c.words else " ".join(c.text.split()[:keep])
            sources, count = support.get((c.article.id, c.sentence.position), ([c.article.outlet], 1))
            out.append(SummarySentence(text, c.article.id, c.article.outlet, c.article.published,
                                       list(sources), count, c.sentence.position, c.article.url))
        return out


def _lead(position: int) -> float:
    """How much a sentence's place in its article says about its importance (news leads first)."""
    return 1.0 / (1.0 + position / 2.0)


class Summarizer(_Selector):
    """Concept-coverage summary with support, redundancy, outlet-diversity and query terms."""

    def __call__(self, articles: list[Article], words: int | None = None, sentences: int | None = None,
                 query_vector: np.ndarray | None = None, truncate: bool = False,
                 claim_of: dict[tuple[str, int], str] | None = None) -> list[SummarySentence]:
        """The summary; `claim_of` maps (article id, position) to a claim, and one claim gets one sentence."""
        p = self.params
        budget, max_sents = _budget(words, sentences, p)
        cands = _candidates(articles, p)
        if not cands:
            return []
        keys = report_keys(articles)
        weights = self._concept_weights(cands, articles)
        lengths = np.array([c.words for c in cands], dtype=np.float64)
        unit = float(np.mean([sum(weights.get(b, 0.0) for b in c.concepts) for c in cands] / lengths)) or 1.0
        relevance = np.array(self._relevance(cands, query_vector))
        lead = np.array([_lead(c.sentence.position) for c in cands])
        bonus = unit * lengths * (p.position_weight * lead + p.query_weight * relevance)
        if query_vector is not None:
            weights = self._query_weights(cands, weights, relevance)
        value = np.array([sum(weights.get(b, 0.0) for b in c.concepts) for c in cands]) + bonus
        # Only the most valuable sentences go on; cross-outlet support is worked out for those alone.
        keep = np.argsort(-value / lengths ** p.length_exponent, kind="stable")[:p.max_candidates]
        cands, lengths, bonus = [cands[i] for i in keep], lengths[keep], bonus[keep]
        support = support_map(articles, p.align_threshold, p.align_overlap,
                              only={(c.article.id, c.sentence.position) for c in cands})
        n_reports = len(set(keys.values()))
        if n_reports > 1:
            reports = np.array([support[(c.article.id, c.sentence.position)][1] for c in cands])
            bonus = bonus + unit * lengths * p.support_weight * (reports - 1) / (n_reports - 1)
        objective = _Objective(cands, weights, bonus)
        outlets = {a.outlet or a.id for a in articles}
        # With two outlets the cap (75%) mostly forbids the best short summary from one wire and costs
        # ROUGE-2 at 100 words (eval/summaries.py notes); from three outlets up it keeps voices apart.
        cap = max(p.outlet_share, 1.5 / len(outlets)) if len(outlets) > 2 else 1.0
        claim_ids: dict[str, int] = {}
        groups = [claim_ids.setdefault(claim_of[key], len(claim_ids)) if claim_of and key in claim_of else -1
                  for key in ((c.article.id, c.sentence.position) for c in cands)]
        return self._render(self._pack(cands, objective, budget, max_sents, truncate, cap, groups), support)

    def _concept_weights(self, cands: list[_Candidate], articles: list[Article]) -> dict[tuple[str, str], float]:
        """Bigram -> sum over the independent reports that contain it of its best lead weight there.

        Document frequency is ICSISumm's concept weight; weighting each report's vote by where the
        bigram first appears there (Hong & Nenkova 2014) favours what reporters put first. A report is
        an article that is not a copy of another (one outlet's several articles on a story are several
        reports: a wire story and its follow-ups); a single report counts sentences instead.
        """
        by_id = {a.id: a for a in articles}
        keys = {a.id: (r if isinstance(r := _root(a, by_id), str) else r.id) for a in articles}
        votes: dict[tuple[str, str], dict] = defaultdict(dict)
        single = len(set(keys.values())) == 1
        for c in cands:
            owner = (c.article.id, c.sentence.position) if single else keys[c.article.id]
            lead = _lead(c.sentence.position)
            for b in c.concepts:
                if lead > votes[b].get(owner, 0.0):
                    votes[b][owner] = lead
        floor = self.params.min_df or min(4, max(2, math.ceil(0.35 * len(set(keys.values())))))
        return {b: sum(v.values()) for b, v in votes.items() if len(v) >= floor}

    @staticmethod
    def _relevance(cands: list[_Candidate], query: np.ndarray | None) -> list[float]:
        """Query similarity rescaled to [0, 1] over the candidates (0 everywhere without a query)."""
        if query is None:
            return [0.0] * len(cands)
        q = np.asarray(query, dtype=np.float32).ravel()
        q = q / (np.linalg.norm(q) or 1.0)
        sims = np.stack([c.vector for c in cands]) @ q
        lo, hi = float(sims.min()), float(sims.max())
        return ((sims - lo) / (hi - lo)).tolist() if hi > lo else [1.0] * len(cands)

    @staticmethod
    def _query_weights(cands: list[_Candidate], weights: dict[tuple[str, str], float],
                       relevance: Iterable[float]) -> dict[tuple[str, str], float]:
        """Concepts weigh by how relevant the sentences that hold them are, so coverage follows the query."""
        best: dict[tuple[str, str], float] = {}
        for c, rel in zip(cands, relevance, strict=True):
            for b in c.concepts:
                if b in weights and rel > best.get(b, -1.0):
                    best[b] = rel
        return {b: w * best.get(b, 0.0) ** 2 for b, w in weights.items()}


class CentroidSummarizer(_Selector):
    """Baseline on the same embeddings and candidates: sentences nearest the story centroid (or query)."""

    def __init__(self, params: SummaryParams | dict | None = None) -> None:
        super().__init__(params)
        self.params = replace(self.params, solver="greedy")  # the baseline ranks by closeness alone

    def __call__(self, articles: list[Article], words: int | None = None, sentences: int | None = None,
                 query_vector: np.ndarray | None = None, truncate: bool = False) -> list[SummarySentence]:
        p = self.params
        budget, max_sents = _budget(words, sentences, p)
        cands = _candidates(articles, p)
        if not cands:
            return []
        target = np.mean(np.stack([c.vector for c in cands]), axis=0)
        if query_vector is not None:
            target = np.asarray(query_vector, dtype=np.float32).ravel()
        target = target / (np.linalg.norm(target) or 1.0)
        closeness = np.stack([c.vector for c in cands]) @ target
        keep = np.argsort(-closeness, kind="stable")[:p.max_candidates]
        cands = [cands[i] for i in keep]
        # Gain proportional to length makes the cost-scaled greedy rank by closeness alone.
        objective = _Objective(cands, {}, closeness[keep] * np.array([c.words for c in cands]))
        support = support_map(articles, p.align_threshold, p.align_overlap,
                              only={(c.article.id, c.sentence.position) for c in cands})
        return self._render(self._pack(cands, objective, budget, max_sents, truncate, 1.0), support)
