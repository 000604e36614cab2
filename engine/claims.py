"""Claims across outlets: which sentences of different articles state the same thing, who carried each
claim first, how many independent reports support it, and where outlets disagree on its facts.

Pure engine: Articles with sentence vectors in, plain objects out (and `to_dict` for JSON).

Method, for a set of articles (one story):

1. Candidates. Body sentences (titles and very short lines excluded; identical sentences of wire copies
   taken once) are compared by embedding cosine, a block of matrix products at a time. Each sentence keeps
   its nearest sentence in each of its `max_candidates` nearest other articles (one sentence per article),
   in both directions, so a sentence that states two facts can pair with two sentences of an article.
2. Links. Each candidate pair is scored with the first-tier same-claim probability of engine/sameclaim.py
   (vector and lexical features; the pair reader is too slow for thousands of candidates). When both
   sentences state the same fact (facts.shared_facts: a number in the same role, a date of the same event)
   the text is scored with numbers and weekdays masked and a bonus is added: "14 dead" and "11 killed"
   must align so that their difference can be reported, and the MSRP-trained decision alone would call
   them different claims. Other pairs keep their numbers, which then count against them.
3. Groups. Average-linkage merging (a missing link counts 0) under "one sentence per article": a group
   grows only while the mean link between its parts holds, so one loose link cannot chain two claims.
   Each group then takes in sentences of its missing articles that link well to it on average, even if
   they sit in another group (a sentence that states two facts belongs to two claims). Claims that rest
   on one specific fact are added where no group holds them: sentences of several reports stating the same
   number ("about 240,000 packs") or calendar date, or naming the same three uncommon entities; and a
   strongly linked pair that differs on a fact is compared even if its sentences went to different groups.
4. Facts. Inside each group, sentences of independent reports are compared fact by fact (engine/facts.py).
   A difference becomes a conflict with one side per value; the minority side leaves the claim and becomes
   a claim of its own, so support counts only the reports that agree. A disagreement seen in two claims is
   reported once.

Support counts independent reports: distinct outlets, where a wire copy (Article.copy_of) counts as its
original's outlet.
"""

from __future__ import annotations

import heapq
import math
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from newsprism.engine import facts
from newsprism.engine.records import Article, Sentence
from newsprism.engine.sameclaim import SameClaim

KIND_ORDER = {"consensus": 0, "corroborated": 1, "single-source": 2}
# Conflicts at or above this confidence are shown by default (CLI, API, report); the rest are "possible",
# listed with --all-conflicts / ?all_conflicts=true. Set on the real development set (eval/conflicts.py).
CONFIDENCE_THRESHOLD = 0.5
CONFLICT_ORDER = {"number": 0, "money": 0, "date": 1, "name": 2, "negation": 3, "attribution": 4}


@dataclass(frozen=True, slots=True)
class AlignParams:
    """Knobs of `align`; the defaults were set on the demo corpus (engine/demo)."""

    min_cosine: float = 0.45  # candidate pairs: embedding cosine at least this
    max_candidates: int = 6  # per sentence, candidates from at most this many nearest articles
    fact_bonus: float = 0.1  # added to P(same claim) when both sentences state the same fact (facts.shared_facts)
    group: float = 0.05  # mean link score (a missing link counts 0) that keeps a group together
    attach: float = 0.1  # mean link score with which a sentence also joins a further group
    pair: float = 0.2  # link score at which two sentences that differ on a fact but sit in different groups
    # are compared anyway, and that a pair crediting different sources needs to be read for an attribution conflict
    min_words: int = 4  # shorter sentences ("Share this article") are not claims
    decider: SameClaim | None = None  # the same-claim decision; SameClaim() with shipped weights if None


@dataclass(slots=True)
class Member:
    """One sentence that carries a claim."""

    article_id: str
    outlet: str
    text: str
    position: int
    published: str | None
    url: str | None

    def to_dict(self) -> dict:
        return {"article_id": self.article_id, "outlet": self.outlet, "sentence": self.text,
                "position": self.position, "published": self.published, "url": self.url}


@dataclass(slots=True)
class Claim:
    """A statement carried by one or more articles; `support` counts independent reports."""

    id: str
    kind: str  # consensus | corroborated | single-source
    text: str  # representative sentence: the most central, then earliest
    members: list[Member]
    sources: list[str]  # every outlet that carried it, copies included
    support: int
    first: dict  # {"outlet", "published", "article_id"} of the earliest member

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "text": self.text, "support": self.support,
                "sources": self.sources, "first": self.first, "members": [m.to_dict() for m in self.members]}


@dataclass(slots=True)
class ConflictSide:
    """What one group of outlets says about a disputed fact."""

    value: str
    outlets: list[str]
    articles: list[str]
    sentence: str
    published: str | None
    claim_id: str = ""
    mark: tuple[int, int] | None = None  # where `value` stands in `sentence` (character offsets)
    article: str = ""  # the article whose `sentence` is the evidence

    def to_dict(self) -> dict:
        return {"value": self.value, "outlets": self.outlets, "articles": self.articles,
                "sentence": self.sentence, "value_span": list(self.mark) if self.mark else None,
                "evidence_article": self.article, "published": self.published, "claim_id": self.claim_id}

    def marked(self, left: str = "[", right: str = "]") -> str:
        """The evidence sentence with its value between `left` and `right`."""
        if not self.mark:
            return self.sentence
        start, end = self.mark
        return f"{self.sentence[:start]}{left}{self.sentence[start:end]}{right}{self.sentence[end:]}"


@dataclass(slots=True)
class Conflict:
    """Aligned sentences whose facts differ: what differs and who says what."""

    kind: str  # number | money | date | name | negation | attribution
    sides: list[ConflictSide]
    description: str
    about: str = ""  # the role words the differing facts share ("dead", "captain")
    confidence: float = 1.0  # that both sides state one measure of one thing; shown from CONFIDENCE_THRESHOLD
    doubts: tuple[str, ...] = ()  # what lowered the confidence ("other names", "part vs whole")
    link: float = 0.0  # the same-claim link score of the pair the difference was found in

    @property
    def status(self) -> str:
        """ "conflict" when shown by default, "possible" below the threshold."""
        return "conflict" if self.confidence >= CONFIDENCE_THRESHOLD else "possible"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "status": self.status, "confidence": round(self.confidence, 3),
                "doubts": list(self.doubts), "sides": [s.to_dict() for s in self.sides],
                "description": self.description, "about": self.about}


@dataclass(slots=True)
class Alignment:
    """Claims of a set of articles, conflicts first in importance."""

    articles: int
    outlets: list[str]
    claims: list[Claim]
    conflicts: list[Conflict]
    single_source: dict[str, list[Claim]] = field(default_factory=dict)
    possible: list[Conflict] = field(default_factory=list)  # conflicts below CONFIDENCE_THRESHOLD
    revisions: list[Conflict] = field(default_factory=list)  # a figure a later report revised, earliest first

    def to_dict(self, all_conflicts: bool = False) -> dict:
        """JSON form; the possible conflicts (below the threshold) are listed only with `all_conflicts`,
        and counted always."""
        out = {
            "articles": self.articles,
            "outlets": self.outlets,
            "claims": [c.to_dict() for c in self.claims],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "conflict_threshold": CONFIDENCE_THRESHOLD,
            "possible_conflicts_total": len(self.possible),
            "revisions": [c.to_dict() for c in self.revisions],
            "single_source": {o: [c.to_dict() for c in cs] for o, cs in self.single_source.items()},
        }
        if all_conflicts:
            out["possible_conflicts"] = [c.to_dict() for c in self.possible]
        return out


# ---------------------------------------------------------------------------------------------------------------
# Pairs
# ---------------------------------------------------------------------------------------------------------------


def compare_sentences(a: str, b: str, va: np.ndarray, vb: np.ndarray, published_a: str | None = None,
                      published_b: str | None = None, params: AlignParams | None = None) -> dict:
    """Two sentences side by side: embedding cosine, the engine's same-claim decision and its probability
    (engine/sameclaim.py, pair reader included), and the facts that differ when they state the same claim.

    As in `align`, sentences that state the same fact are judged with their numbers and weekdays masked,
    so "14 dead" against "11 killed" is one claim told two ways, and the difference is reported.
    """
    params = params or AlignParams()
    decider = params.decider or SameClaim()
    va, vb = np.asarray(va, dtype=np.float32), np.asarray(vb, dtype=np.float32)
    fa, fb = facts.extract(a, published_a), facts.extract(b, published_b)
    view = facts.mask if facts.shared_facts(fa, fb) else facts.strip_dateline
    prob = decider.probability(view(a), view(b), va, vb)
    same = prob >= decider.threshold
    diffs = facts.differences(fa, fb) if same else []
    return {"similarity": float(np.dot(va, vb)), "same_claim": bool(same), "probability": prob,
            "conflicts": [{"kind": d.kind, "a": d.a, "b": d.b, "about": d.role} for d in diffs]}


@dataclass(slots=True)
class _Story:
    """The sentences being aligned. Identical sentences of one day (wire copies) are one unit, so that a
    copy neither counts as a second report nor makes a group look more coherent than it is."""

    articles: list[Article]
    source: list[str]  # per article: its independent report (the original's outlet for a copy)
    units: list[list[tuple[int, Sentence]]]  # per unit: (article index, sentence) of each occurrence
    arts: list[frozenset[int]]  # per unit: the articles it occurs in
    vectors: np.ndarray  # per unit
    facts: list[facts.Facts]  # per unit

    def text(self, u: int) -> str:
        return self.units[u][0][1].text

    def sources(self, units: Sequence[int]) -> set[str]:
        return {self.source[k] for u in units for k in self.arts[u]}

    def published(self, u: int) -> str:
        return min(self.articles[k].published or "9999" for k in self.arts[u])


def _independent_sources(articles: Sequence[Article]) -> list[str]:
    """Per article, the report it is: its outlet, or for a wire copy its original's outlet."""
    by_id = {a.id: a for a in articles}
    out = []
    for article in articles:
        root, seen = article, {article.id}
        while root.copy_of and root.copy_of in by_id and root.copy_of not in seen:
            seen.add(root.copy_of)
            root = by_id[root.copy_of]
        out.append(f"copy of {root.copy_of}" if root.copy_of else root.outlet)
    return out


def _story(articles: Sequence[Article], params: AlignParams) -> _Story:
    arts = list(articles)
    index: dict[tuple[str, str], int] = {}
    units: list[list[tuple[int, Sentence]]] = []
    for k, article in enumerate(arts):
        day = (article.published or "")[:10]
        for s in article.body():
            if s.vector is None or len(s.text.split()) < params.min_words:
                continue
            key = (" ".join(s.text.lower().split()), day)
            if key not in index:
                index[key] = len(units)
                units.append([])
            if all(k != j for j, _ in units[index[key]]):
                units[index[key]].append((k, s))
    dim = len(units[0][0][1].vector) if units else 1
    vectors = np.asarray([occ[0][1].vector for occ in units], dtype=np.float32).reshape(len(units), dim)
    return _Story(arts, _independent_sources(arts), units, [frozenset(k for k, _ in occ) for occ in units], vectors,
                  [facts.extract(occ[0][1].text, arts[occ[0][0]].published) for occ in units])


def _candidates(story: _Story, params: AlignParams, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Unit pairs (i < j) where j is i's nearest sentence in one of j's articles, among i's
    `max_candidates` nearest articles (or the other way round), with cosine at least `min_cosine`."""
    occurrences = sorted((k, u) for u, arts in enumerate(story.arts) for k in arts)  # columns, by article
    col_art = np.asarray([k for k, _ in occurrences], dtype=np.int64)
    col_unit = np.asarray([u for _, u in occurrences], dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, col_art[1:] != col_art[:-1]])
    present = col_art[starts]  # the articles that have units
    own = np.zeros((len(story.units), len(present)), dtype=bool)
    own[col_unit, np.searchsorted(present, col_art)] = True
    widths = np.diff(np.r_[starts, len(col_unit)])
    # Each article's columns, padded to the widest: a row's best sentence in an article is one argmax.
    inside = np.arange(widths.max()) < widths[:, None]
    spans = np.where(inside, starts[:, None] + np.arange(widths.max()), 0)
    k = min(params.max_candidates, len(present))
    pairs: set[tuple[int, int]] = set()
    for lo in range(0, len(story.units), block):
        sims = (story.vectors[lo:lo + block] @ story.vectors.T)[:, col_unit]  # wire copies: fewer products
        best = np.maximum.reduceat(sims, starts, axis=1)
        best[own[lo:lo + block]] = -1.0
        top = np.argpartition(-best, k - 1, axis=1)[:, :k] if k < len(present) else np.broadcast_to(
            np.arange(len(present)), best.shape)
        rows = np.repeat(np.arange(best.shape[0]), top.shape[1])
        cols = top.reshape(-1)
        keep = best[rows, cols] >= params.min_cosine
        rows, cols = rows[keep], cols[keep]
        # the nearest sentence of each kept article (the first of equals), only where it is used
        segment = np.where(inside[cols], sims[rows[:, None], spans[cols]], -np.inf)
        nearest = col_unit[spans[cols, np.argmax(segment, axis=1)]]
        for i, j in zip((rows + lo).tolist(), nearest.tolist(), strict=True):
            if not story.arts[i] & story.arts[j]:
                pairs.add((min(i, j), max(i, j)))
    ordered = sorted(pairs)
    return (np.asarray([a for a, _ in ordered], dtype=np.int64), np.asarray([b for _, b in ordered], dtype=np.int64))


def _pair_scores(decider: SameClaim, pairs: Sequence[tuple[facts.Facts, facts.Facts]], va: np.ndarray,
                 vb: np.ndarray, params: AlignParams) -> list[float]:
    """Link score of each pair: P(same claim), plus `fact_bonus` when both state the same fact.

    Sentences that state the same fact are scored with their numbers and weekdays masked, so that a
    difference in value ("14 dead" / "11 dead") does not hide that they make the same claim. Others keep
    their numbers: different numbers in different roles are evidence of different claims."""
    shared = [facts.shared_facts(fa, fb) > 0 for fa, fb in pairs]
    views: dict[tuple[str, bool], str] = {}  # a unit takes part in many pairs: each view is made once

    def view(f: facts.Facts, masked: bool) -> str:
        key = (f.text, masked)
        if key not in views:
            views[key] = facts.mask(f.text) if masked else facts.strip_dateline(f.text)
        return views[key]

    probs = decider.link_probabilities([view(fa, s) for (fa, _), s in zip(pairs, shared, strict=True)],
                                       [view(fb, s) for (_, fb), s in zip(pairs, shared, strict=True)], va, vb)
    return [float(p) + (params.fact_bonus if s else 0.0) for p, s in zip(probs, shared, strict=True)]


def _links(story: _Story, params: AlignParams) -> dict[tuple[int, int], float]:
    """Candidate unit pairs (i < j) with their link score."""
    i, j = _candidates(story, params)
    if len(i) == 0:
        return {}
    pairs = [(story.facts[a], story.facts[b]) for a, b in zip(i.tolist(), j.tolist(), strict=True)]
    scores = _pair_scores(params.decider or SameClaim(), pairs, story.vectors[i], story.vectors[j], params)
    return dict(zip(zip(i.tolist(), j.tolist(), strict=True), scores, strict=True))


# ---------------------------------------------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------------------------------------------


def _cluster(story: _Story, links: dict[tuple[int, int], float], params: AlignParams) -> list[list[int]]:
    """Average-linkage merging of units (a missing link counts as 0) under "one sentence per article":
    a group grows only while the mean link score between its parts stays at `params.group`."""
    members: dict[int, list[int]] = {u: [u] for u in range(len(story.units))}
    arts: dict[int, frozenset[int]] = dict(enumerate(story.arts))
    between: dict[int, dict[int, float]] = defaultdict(dict)
    for (a, b), score in links.items():
        between[a][b] = between[b][a] = score
    heap = [(-score, a, b) for (a, b), score in links.items()]
    heapq.heapify(heap)
    while heap:
        neg, a, b = heapq.heappop(heap)
        if a not in members or b not in members or arts[a] & arts[b]:
            continue
        mean = between[a].get(b, 0.0) / (len(members[a]) * len(members[b]))
        if abs(mean + neg) > 1e-12:
            continue  # stale entry: one side has grown since
        if mean < params.group:
            break
        members[a].extend(members.pop(b))
        arts[a] = arts[a] | arts.pop(b)
        for other, total in between.pop(b).items():
            del between[other][b]
            if other != a:
                between[a][other] = between[other][a] = between[a].get(other, 0.0) + total
        between[a].pop(b, None)
        for other, total in between[a].items():
            heapq.heappush(heap, (-total / (len(members[a]) * len(members[other])), min(a, other), max(a, other)))
    return [m for m in members.values() if len(m) > 1]


def _attach(story: _Story, groups: list[list[int]], links: dict[tuple[int, int], float],
            params: AlignParams) -> list[list[int]]:
    """Let each group also take in sentences of its missing articles whose mean link score to its members is
    high enough, even if they sit in another group: a sentence that states two facts makes two claims."""
    neighbours: dict[int, dict[int, float]] = defaultdict(dict)
    for (a, b), score in links.items():
        neighbours[a][b] = neighbours[b][a] = score
    out = []
    for group in groups:
        arts = set().union(*(story.arts[u] for u in group))
        totals: dict[int, float] = defaultdict(float)
        for u in group:
            for v, score in neighbours[u].items():
                if not story.arts[v] & arts:
                    totals[v] += score
        grown = list(group)
        for v, total in sorted(totals.items(), key=lambda kv: -kv[1]):
            if total / len(group) >= params.attach and not story.arts[v] & arts:
                grown.append(v)
                arts |= story.arts[v]
        out.append(grown)
    return out


def _disputed(story: _Story, groups: list[list[int]], links: dict[tuple[int, int], float],
              params: AlignParams) -> list[list[int]]:
    """Strongly linked pairs of independent reports that differ on a fact but ended up in different
    groups (each joined the claim of its other facts): a pair of their own, so the conflict is seen."""
    together: dict[int, set[int]] = defaultdict(set)
    for k, group in enumerate(groups):
        for u in group:
            together[u].add(k)
    return [[a, b] for (a, b), score in links.items()
            if score >= params.pair and not together[a] & together[b]
            and not story.sources([a]) & story.sources([b]) and facts.differences(story.facts[a], story.facts[b])]


def _components(story: _Story, owner: list[int], pairs: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Connected components of nodes (node k is a fact of unit owner[k]) as groups of units, one per
    article (its earliest sentence), kept when they span two independent reports."""
    parent = list(range(len(owner)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for k, m in pairs:
        parent[root(m)] = root(k)
    components: dict[int, dict[int, int]] = defaultdict(dict)  # root -> article -> unit
    for k, u in enumerate(owner):
        chosen = components[root(k)]
        for art in story.arts[u]:
            if art not in chosen or story.units[u][0][1].position < story.units[chosen[art]][0][1].position:
                chosen[art] = u
    groups = []
    for chosen in components.values():
        taken: set[int] = set()
        group = []
        for u in sorted(set(chosen.values())):  # a unit in several articles (a copy) must not clash
            if not story.arts[u] & taken:
                group.append(u)
                taken |= story.arts[u]
        if len(story.sources(group)) >= 2:
            groups.append(group)
    return groups


def _anchored(story: _Story) -> list[list[int]]:
    """Claims that rest on one fact: sentences of independent reports that state the same quantity with
    agreeing values ("about 240,000 packs" / "240,000 packs"), or the same calendar date of one event,
    however different the rest of the sentences."""
    entries: list[tuple[str, float, float, int, object]] = sorted(
        [(q.unit, q.lo, q.hi, u, q) for u, f in enumerate(story.facts) for q in f.quantities]
        + [("date", d.first.toordinal(), d.last.toordinal(), u, d) for u, f in enumerate(story.facts)
           for d in f.dates if d.explicit], key=lambda e: (e[0], e[1]))
    pairs = []
    for k, (unit, _, hi, u, x) in enumerate(entries):
        for m in range(k + 1, min(len(entries), k + 200)):  # sorted by value: only overlapping ranges
            unit_m, lo_m, _, v, y = entries[m]
            if unit_m != unit or lo_m > hi:
                break
            if not story.arts[u] & story.arts[v] and (
                    facts.same_date(x, y) if isinstance(x, facts.DateFact) and isinstance(y, facts.DateFact)
                    else isinstance(x, facts.Quantity) and isinstance(y, facts.Quantity)
                    and facts.same_quantity(x, y) and x.agrees(y)):
                pairs.append((k, m))
    return _components(story, [e[3] for e in entries], pairs)


def _named(story: _Story, links: dict[tuple[int, int], float], min_names: int = 3) -> list[list[int]]:
    """Claims of linked sentences that name the same three or more entities, none of them one that much
    of the story mentions ("Nordvik Ferry Lines ... Kellhaven ... Skarsholm")."""
    mentions: dict[str, int] = defaultdict(int)
    for f in story.facts:
        for key in {" ".join(n.tokens) for n in f.names}:
            mentions[key] += 1
    common = 0.3 * len(story.units)
    specific = [[n for n in f.names if mentions[" ".join(n.tokens)] <= common] for f in story.facts]
    pairs = [(u, v) for (u, v) in links if min(len(specific[u]), len(specific[v])) >= min_names
             and sum(any(n.matches(m) for m in specific[v]) for n in specific[u]) >= min_names]
    return _components(story, list(range(len(story.units))), pairs)


# ---------------------------------------------------------------------------------------------------------------
# Claims and conflicts
# ---------------------------------------------------------------------------------------------------------------


def _members(story: _Story, units: Sequence[int]) -> list[Member]:
    out = []
    for u in units:
        for k, s in story.units[u]:
            article = story.articles[k]
            out.append(Member(article.id, article.outlet, s.text, s.position, article.published, article.url))
    return sorted(out, key=lambda m: (m.published or "9999", m.article_id))


def _central(story: _Story, units: list[int]) -> int:
    """The member most similar to all others (summed cosine); the earliest report on ties."""
    vecs = story.vectors[units]
    centrality = (vecs @ vecs.T).sum(axis=1).round(4)
    return min(range(len(units)), key=lambda i: (-centrality[i], story.published(units[i]),
                                                  story.units[units[i]][0][1].position))


def _kind(support: int, consensus: int) -> str:
    if support >= consensus:
        return "consensus"
    return "corroborated" if support >= 2 else "single-source"


def _sides(story: _Story, units: list[int], x: int, y: int, diff: facts.Difference) -> tuple[list[int], list[int]]:
    """Members that side with x and with y on `diff`: those that differ the same way from the other one."""
    side_x, side_y = [x], [y]
    for u in units:
        if u in (x, y):
            continue
        with_x = any(d.kind == diff.kind for d in facts.differences(story.facts[u], story.facts[y]))
        with_y = any(d.kind == diff.kind for d in facts.differences(story.facts[u], story.facts[x]))
        if with_x and not with_y:
            side_x.append(u)
        elif with_y and not with_x:
            side_y.append(u)
    return side_x, side_y


def _majority_first(story: _Story, side_a: list[int], side_b: list[int]) -> bool:
    """Whether side_a is the claim's main side: more independent reports, then the earlier report."""
    first_a = min(story.published(u) for u in side_a)
    first_b = min(story.published(u) for u in side_b)
    return (len(story.sources(side_a)), first_b) >= (len(story.sources(side_b)), first_a)


def _find_conflicts(story: _Story, units: list[int], links: dict[tuple[int, int], float],
                    attributed: set[tuple[int, int]]) -> list[tuple[facts.Difference, list[int], list[int], float]]:
    """Differences between linked members of different articles, each with the members on both sides and
    the pair's link score. An attribution difference counts only for pairs in `attributed` (see
    `_attributed`). Pairs of one outlet are kept: a later report of an outlet revising its own figure is a
    revision (see `_revision`), never a conflict."""
    found: list[tuple[facts.Difference, list[int], list[int], float]] = []
    for a in units:
        for b in units:
            if a >= b or (a, b) not in links:
                continue
            own = bool(story.sources([a]) & story.sources([b]))
            for diff in facts.differences(story.facts[a], story.facts[b]):
                if diff.kind == "attribution" and (a, b) not in attributed:
                    continue
                # a pair already on the two sides of one found difference adds nothing; one outlet's pair
                # (a revision) never stands for a pair of two outlets
                if any(d.kind == diff.kind and {a, b} <= set(sa) | set(sb)
                       and own == bool(story.sources([sa[0]]) & story.sources([sb[0]])) for d, sa, sb, _ in found):
                    continue
                side_a, side_b = _sides(story, units, a, b, diff)
                found.append((diff, side_a, side_b, links[(a, b)]))
    return found


# Words with which a later report says that a figure moved on ("the toll has risen to 40"). The present
# perfect ("the virus has killed five people") gives a running total as of the report's day: a later day's
# total is the figure moving on, not a dispute.
UPDATE_CUES = frozenset({"risen", "rose", "climbed", "revised", "raised", "mounted", "jumped", "updated", "now",
                         "latest", "lowered", "corrected", "increased", "reached", "has", "have"})


# A difference found in a pair the same-claim decision links weakly is more often two figures of two things:
# the confidence falls by up to LINK_WEIGHT as the link score falls from STRONG_LINK to 0.
LINK_WEIGHT = 0.45
STRONG_LINK = 0.5
REVISION_DAYS = 7  # a figure revised as events unfold is revised within days; later reports tell other moments


# Words with which a report says that a figure was itself revised ("USGS updated their information later").
REVISED_CUES = frozenset({"updated", "revised", "corrected", "upgraded", "downgraded"})


def _revised(revision: Conflict) -> bool:
    """Whether a later report's other figure is shown as a revision: trusted as one measure (below the
    threshold: two figures of two things), not more than tripled or cut to a third ("far apart": 194 members
    of parliament among "nearly a thousand" arrested, objects below 10 feet and at 60 feet, a depth of 10 km
    and of 44.3 km are other measures far more often than a count revised), and not the same words read
    against two publication dates (a quote's "in January" repeated months later). A value is revised, not a
    negation: a truck "seen" near the clinic in January and Rudolph "not seen" since February are two moments."""
    first, second = (" ".join(side.value.lower().split()) for side in revision.sides)
    return revision.confidence >= CONFIDENCE_THRESHOLD and "far apart" not in revision.doubts and first != second \
        and revision.kind not in {"negation", "attribution"}


def _revision(story: _Story, a: int, b: int) -> bool:
    """Whether b against a is a figure revised rather than disputed: one outlet's later report (an outlet
    correcting itself or following events), a sentence that says the figure was revised, or a report of a
    later day that says the figure moved on."""
    if story.sources([a]) & story.sources([b]) or (story.facts[a].words | story.facts[b].words) & REVISED_CUES:
        return True
    day_a, day_b = story.published(a)[:10], story.published(b)[:10]
    if "9999" in (day_a, day_b) or day_a == day_b:
        return False
    later = b if day_b > day_a else a
    return bool(story.facts[later].words & UPDATE_CUES)


def _describe(kind: str, role: str, sides: list[ConflictSide], revision: bool = False) -> str:
    what = {"number": "number", "money": "amount", "date": "date", "name": "name", "negation": "statement",
            "attribution": "source"}[kind]
    about = f" ({role})" if role else ""
    if revision:
        parts = [f"{s.value!r} ({', '.join(s.outlets)}, {(s.published or 'undated')[:16]})" for s in sides]
        return f"Revised {what}{about}: " + " -> ".join(parts)
    parts = [f"{s.value!r} ({', '.join(s.outlets)})" for s in sides]
    return f"Different {what}{about}: " + " vs ".join(parts)


def _evidence(story: _Story, unit: int, value: str) -> tuple[str, tuple[int, int] | None, str]:
    """The sentence of `unit` (which states `value`), where the value stands in it, and its article."""
    text = story.text(unit)
    start = text.find(value)
    article = story.articles[min(story.arts[unit], key=lambda k: story.articles[k].published or "9999")].id
    return text, ((start, start + len(value)) if start >= 0 and value else None), article


class _Reports:
    """Per article of a story, the units it holds and the latest year it writes out (the year of an undated
    report): what `_conflict` reads beyond the two sentences."""

    def __init__(self, story: _Story) -> None:
        self.units: dict[int, list[int]] = defaultdict(list)
        for u, arts in enumerate(story.arts):
            for k in arts:
                self.units[k].append(u)
        self.story = story

    def year(self, k: int) -> int | None:
        published = facts.published_day(self.story.articles[k].published)
        if published:
            return published.year
        years = {y for u in self.units[k] for y in facts.written_years(self.story.facts[u])}
        return max(years) if years else None

    def outlet(self, u: int, days: tuple[date, date] | None = None) -> set[int]:
        """The articles of the independent report(s) unit u comes from (an outlet's whole coverage), those
        published within `days` when they are given (undated ones included)."""
        sources = self.story.sources([u])
        return {k for k, source in enumerate(self.story.source) if source in sources and (
            days is None or (day := facts.published_day(self.story.articles[k].published)) is None
            or days[0] <= day <= days[1])}

    def states(self, arts: Iterable[int], q: facts.Quantity) -> bool:
        """Whether one of these articles states figure `q` of the same thing itself: a report that gives
        both figures (nine dead at the brokerage, 12 in all) is not disputing either."""
        return any((o.unit == q.unit and o.agrees(q) and facts.same_quantity(o, q)) or facts.same_figure(o, q)
                   for k in arts for u in self.units[k] for o in self.story.facts[u].quantities)


BOTH_IN_ONE_REPORT = 0.5  # confidence lost when a side's own report also states the other side's figure
OTHER_YEARS = 0.5  # ... when one side is about an earlier year than its undated report


def _context_doubts(story: _Story, reports: _Reports, diff: facts.Difference, x: int, y: int,
                    arts_a: set[int], arts_b: set[int]) -> tuple[float, tuple[str, ...]]:
    """Confidence lost, and why, for what the two reports say beyond the two sentences (see `_Reports`)."""
    loss, doubts = 0.0, []
    fx, fy = story.facts[x], story.facts[y]
    quoted = facts.attributed(fx) and facts.attributed(fy) and not (
        fx.speaker and fy.speaker and facts.same_source(fx.speaker, fy.speaker))
    if diff.quantities is not None and not quoted:  # a report that sets two sources' figures side by side
        qa, qb = diff.quantities                    # shows a dispute; one that gives both itself counts two things
        if reports.states(arts_a, qb) or reports.states(arts_b, qa):
            loss += BOTH_IN_ONE_REPORT
            doubts.append("one report states both")
    if "other years" not in diff.doubts and None in (fx.year, fy.year):
        year_a = max((reports.year(k) or 0 for k in story.arts[x]), default=0) or None
        year_b = max((reports.year(k) or 0 for k in story.arts[y]), default=0) or None
        if facts.other_years(fx, fy, year_a, year_b):
            loss += OTHER_YEARS
            doubts.append("other years")
    return loss, tuple(doubts)


def _conflict(story: _Story, diff: facts.Difference, side_a: list[int], side_b: list[int], link: float,
              revision: bool = False, evidence: tuple[int, int] | None = None,
              reports: _Reports | None = None) -> Conflict:
    """A conflict (or a revision) of `diff`: per side its outlets and articles, and as evidence the sentence
    that states the side's value (the pair the difference was found in: `evidence`, by default side_a[0]
    and side_b[0]), the value marked.
    Its confidence is the difference's (facts.quantity_confidence and kin), lowered for a weak link and for
    what the reports say beyond the two sentences (`_context_doubts`)."""
    sides = []
    evidence = evidence or (side_a[0], side_b[0])
    for units, value, unit in ((side_a, diff.a, evidence[0]), (side_b, diff.b, evidence[1])):
        members = _members(story, sorted(set(units) | {unit}))
        sentence, mark, article = _evidence(story, unit, value)
        published = story.published(unit)
        sides.append(ConflictSide(value=value, outlets=sorted({m.outlet for m in members}),
                                  articles=sorted({m.article_id for m in members}), sentence=sentence,
                                  published=published if published != "9999" else None, mark=mark, article=article))
    if revision:
        sides.sort(key=lambda side: side.published or "9999")
    confidence = diff.confidence * (1.0 - LINK_WEIGHT * (1.0 - min(1.0, max(0.0, link) / STRONG_LINK)))
    days = [facts.published_day(side.published) for side in sides]
    doubts = diff.doubts
    loss, more = _context_doubts(story, reports or _Reports(story), diff, evidence[0], evidence[1],
                                 {k for u in side_a for k in story.arts[u]}, {k for u in side_b for k in story.arts[u]})
    confidence -= loss
    doubts += more
    if None not in days and abs((days[0] - days[1]).days) > REVISION_DAYS:
        confidence -= 0.3  # reports weeks apart: a figure of another moment, rarely one in dispute
        doubts += ("weeks apart",)
    description = _describe(diff.kind, diff.role, sides, revision)
    return Conflict(diff.kind, sides, description, diff.role, round(max(0.0, confidence), 3), doubts, round(link, 3))


# A figure of a measure news disputes (the dead, the injured, a quake's magnitude, a person's age) may differ
# between two reports whose sentences say little else alike, so the same-claim links never pair them ("The
# death toll ... has risen to 7,085" / "the more than 10,000 dead and 35,000 missing"). Such pairs are
# compared on their own, under stricter rules: see `_measure_disputes`.
DISPUTE_CONFIDENCE = 0.75  # facts.quantity_confidence needed, with no doubt at all
DISPUTE_DAYS = 7  # reports at most this far apart (a week later the figure is another moment's)
MAX_DISPUTE_PAIRS = 20_000  # figure pairs read per story at most: a 100-article story stays fast


def _dispute_keys(q: facts.Quantity) -> list[tuple[str, str]]:
    """(unit, what) buckets of a figure a dispute can be about: a measure role (the dead, the injured...) or a
    named person's age. A quake's magnitude is not one: stories of quakes are full of aftershocks."""
    if q.unit == "age":
        return [("age", name) for name in q.near]
    return [(q.unit, m) for m in sorted((q.role | {q.head}) & facts.MEASURE_ROLES)]


def _measure_disputes(story: _Story, reports: _Reports,
                      seen: set[tuple[int, int]]) -> list[tuple[int, int, facts.Difference]]:
    """Pairs of sentences of two independent reports, not linked as one claim, that state one measure of one
    thing differently: a shared measure (see `_dispute_keys`) and some other content word in common, a
    difference facts.quantity_confidence trusts without a doubt, reports within DISPUTE_DAYS, and neither
    outlet stating the other's figure anywhere in its coverage."""
    buckets: dict[tuple[str, str], list[tuple[int, facts.Quantity]]] = defaultdict(list)
    for u, f in enumerate(story.facts):
        for q in f.quantities:
            for key in _dispute_keys(q):
                buckets[key].append((u, q))
    out: list[tuple[int, int, facts.Difference]] = []
    budget = MAX_DISPUTE_PAIRS
    done: set[tuple[int, int]] = set(seen)
    for entries in buckets.values():
        for i, (a, x) in enumerate(entries):
            for b, y in entries[i + 1:]:
                budget -= 1
                if budget < 0:
                    return out
                pair = (min(a, b), max(a, b))
                if pair in done or story.sources([a]) & story.sources([b]) or x.agrees(y) \
                        or not facts.same_quantity(x, y):
                    continue
                days = [facts.published_day(story.published(u)) for u in pair]
                if None not in days and abs((days[0] - days[1]).days) > DISPUTE_DAYS:
                    continue
                # what each outlet said meanwhile: the NYT's "more than 7,000" the day before, or Xinhua's
                # "at least 10,059" the day after, do not make Aug. 20's 7,085 and "more than 10,000" agree
                by = (min(days), max(days)) if None not in days else None
                fa, fb = story.facts[pair[0]], story.facts[pair[1]]
                if not (fa.content & fb.content) - facts.MEASURE_ROLES - facts.WEAK - facts.QUALIFIER_WORDS:
                    continue  # nothing but the measure in common: two events of one story, as often as one
                for diff in facts.differences(fa, fb):
                    if diff.quantities is None or diff.confidence < DISPUTE_CONFIDENCE or diff.doubts:
                        continue
                    qa, qb = diff.quantities
                    if reports.states(reports.outlet(pair[0], by), qb) \
                            or reports.states(reports.outlet(pair[1], by), qa):
                        continue  # the outlet gives the other figure itself: two counts it tells apart
                    done.add(pair)
                    out.append((pair[0], pair[1], diff))
                    break
    return out


class _Claims:
    """Claims under construction: one per distinct set of units, so overlapping groups do not repeat one."""

    def __init__(self, story: _Story) -> None:
        self.story = story
        self.by_units: dict[frozenset[int], Claim] = {}
        self.consensus = max(2, math.ceil(0.5 * len(set(story.source))))

    def make(self, units: list[int]) -> Claim:
        key = frozenset(units)
        if key not in self.by_units:
            story = self.story
            members = _members(story, units)
            first = members[0]
            support = len(story.sources(units))
            self.by_units[key] = Claim(
                id="", kind=_kind(support, self.consensus), text=story.text(units[_central(story, units)]),
                members=members, sources=sorted({m.outlet for m in members}), support=support,
                first={"outlet": first.outlet, "published": first.published, "article_id": first.article_id})
        return self.by_units[key]


def _merge_conflicts(conflicts: list[Conflict], revision: bool = False) -> list[Conflict]:
    """One conflict per disagreement: the same kind with the same two values, or with overlapping sides,
    found in two claims or in two copies of one report, is merged (keeping the higher confidence)."""
    merged: list[Conflict] = []

    def values(c: Conflict) -> list[str]:
        return [" ".join(side.value.lower().split()) for side in c.sides]

    for conflict in sorted(conflicts, key=lambda c: (-c.confidence, -sum(len(s.articles) for s in c.sides))):
        for kept in merged:
            if kept.kind != conflict.kind:
                continue
            for order in ((0, 1), (1, 0)):
                pairs = list(zip((kept.sides[k] for k in order), conflict.sides, strict=True))
                if all(set(a.articles) & set(b.articles) or values(kept)[k] == values(conflict)[m]
                       for (a, b), k, m in zip(pairs, order, (0, 1), strict=True)):
                    for a, b in pairs:
                        a.articles = sorted(set(a.articles) | set(b.articles))
                        a.outlets = sorted(set(a.outlets) | set(b.outlets))
                    kept.description = _describe(kept.kind, kept.about, kept.sides, revision)
                    break
            else:
                continue
            break
        else:
            merged.append(conflict)
    return sorted(merged, key=lambda c: (CONFLICT_ORDER[c.kind], -c.confidence, -sum(len(s.articles) for s in c.sides)))


def _attributed(story: _Story, groups: list[list[int]], links: dict[tuple[int, int], float],
                params: AlignParams) -> set[tuple[int, int]]:
    """Linked pairs of one group that credit different sources and, with the attributions cut out, state the
    same claim by the engine's full same-claim decision (the pair reader reads them). The first tier linked
    them on the whole sentences; "X said A" and "Y said B" share the frame and little else, so the reader
    must confirm that A and B are the same before "who said it" is a conflict. Only pairs linked at least
    as strongly as a lone pair must be (`params.pair`) are read, so few pairs reach the reader.
    """
    credited = {u for g in groups for u in g if story.facts[u].speaker is not None}
    pairs = sorted({(a, b) for g in groups for a in g if a in credited for b in g
                    if a < b and b in credited and links.get((a, b), 0.0) >= params.pair
                    and not story.sources([a]) & story.sources([b])
                    and any(d.kind == "attribution" for d in facts.differences(story.facts[a], story.facts[b]))})
    if not pairs:
        return set()
    decider = params.decider or SameClaim()
    same = decider.decide([facts.without_attribution(story.facts[a]) for a, _ in pairs],
                          [facts.without_attribution(story.facts[b]) for _, b in pairs],
                          story.vectors[[a for a, _ in pairs]], story.vectors[[b for _, b in pairs]])
    return {pair for pair, ok in zip(pairs, same.tolist(), strict=True) if ok}


def _claims(story: _Story, groups: list[list[int]], links: dict[tuple[int, int], float],
            attributed: set[tuple[int, int]]) -> tuple[list[Claim], list[Conflict], list[Conflict]]:
    """Claims of the groups, split where their members disagree on a fact, plus one claim per sentence
    left out of every group; the claims' ids are set and the conflicts point to them."""
    made = _Claims(story)
    reports = _Reports(story)
    conflicts: list[tuple[Conflict, list[Claim | None]]] = []
    revisions: list[Conflict] = []
    for group in groups:
        remaining = list(group)
        pending: list[tuple[Conflict, Claim, bool]] = []
        for diff, side_a, side_b, link in _find_conflicts(story, group, links, attributed):
            if _revision(story, side_a[0], side_b[0]):
                revision = _conflict(story, diff, side_a[:1], side_b[:1], link, revision=True, reports=reports)
                if _revised(revision):
                    revisions.append(revision)
                continue
            evidence = (side_a[0], side_b[0])
            side_a = [u for u in side_a if u in remaining]
            side_b = [u for u in side_b if u in remaining]
            if not side_a or not side_b:
                continue
            a_major = _majority_first(story, side_a, side_b)
            minor = side_b if a_major else side_a
            remaining = [u for u in remaining if u not in minor]
            pending.append((_conflict(story, diff, side_a, side_b, link, evidence=evidence, reports=reports),
                            made.make(minor), a_major))
        main = made.make(remaining) if remaining else None
        for conflict, minor_claim, a_major in pending:
            conflicts.append((conflict, [main, minor_claim] if a_major else [minor_claim, main]))
    disputes = []
    for a, b, diff in _measure_disputes(story, reports, {p for p, score in links.items() if score >= STRONG_LINK}):
        if _revision(story, a, b):
            revision = _conflict(story, diff, [a], [b], STRONG_LINK, revision=True, reports=reports)
            if _revised(revision):
                revisions.append(revision)
        else:
            disputes.append((_conflict(story, diff, [a], [b], STRONG_LINK, reports=reports), a, b))
    grouped = {u for g in groups for u in g}
    for u in range(len(story.units)):
        if u not in grouped:
            made.make([u])
    owner = {u: claim for key, claim in made.by_units.items() for u in key}
    conflicts += [(conflict, [owner.get(a), owner.get(b)]) for conflict, a, b in disputes]
    claims = sorted(made.by_units.values(), key=lambda c: (KIND_ORDER[c.kind], -c.support,
                                                            c.first["published"] or "9999", c.text))
    for k, claim in enumerate(claims, 1):
        claim.id = f"c{k}"
    for conflict, side_claims in conflicts:
        for side, claim in zip(conflict.sides, side_claims, strict=True):
            side.claim_id = claim.id if claim else ""
    return claims, _merge_conflicts([c for c, _ in conflicts]), _merge_conflicts(revisions, revision=True)


def align(articles: list[Article], params: AlignParams | None = None) -> Alignment:
    """Claims, conflicts and single-source statements of a set of articles whose sentences are embedded."""
    params = params or AlignParams()
    story = _story(articles, params)
    links = _links(story, params) if len(story.units) > 1 else {}
    groups = _attach(story, _cluster(story, links, params), links, params)
    # a claim resting on one number, date or set of names adds something unless a group already holds
    # all its sentences with no further report
    covered = [(set(g), story.sources(g)) for g in groups]
    groups += [g for g in _anchored(story) + _named(story, links)
               if not any(set(g) <= units and story.sources(g) == sources for units, sources in covered)]
    groups += _disputed(story, groups, links, params)
    claims, conflicts, revisions = _claims(story, groups, links, _attributed(story, groups, links, params))
    single: dict[str, list[Claim]] = defaultdict(list)
    for claim in claims:
        if claim.kind == "single-source":
            single[claim.first["outlet"]].append(claim)
    return Alignment(len(story.articles), sorted({a.outlet for a in story.articles}), claims,
                     [c for c in conflicts if c.confidence >= CONFIDENCE_THRESHOLD], dict(sorted(single.items())),
                     [c for c in conflicts if c.confidence < CONFIDENCE_THRESHOLD], revisions)


def format_table(alignment: Alignment, width: int = 110, show_possible: bool = False) -> str:
    """A plain-text claims table for people: conflicts first (the value marked [so] in each side's sentence;
    `show_possible` adds those below the confidence threshold), revisions, then consensus, corroborated, and
    what each outlet alone reports."""
    indent = " " * 6

    def wrap(text: str, first: str = indent) -> list[str]:
        return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=indent) or [first.rstrip()]

    def when(published: str | None) -> str:
        return published.replace("T", " ").removesuffix("Z")[:16] if published else "undated"

    lines = [f"{alignment.articles} articles, {len(alignment.outlets)} outlets: {', '.join(alignment.outlets)}", ""]
    def block(title: str, items: list[Conflict], empty: str) -> None:
        lines.append(title)
        for k, conflict in enumerate(items, 1):
            doubts = f"; doubts: {', '.join(conflict.doubts)}" if conflict.doubts else ""
            lines.extend(wrap(f"{conflict.kind}: {conflict.description} [confidence {conflict.confidence:.2f}{doubts}]",
                              f"{k:>3}.  "))
            for side in conflict.sides:
                lines.extend(wrap(f"{side.value!r} - {', '.join(side.outlets)} ({when(side.published)}): "
                                  f"\"{side.marked()}\"", indent + "- "))
        if not items:
            lines.append(indent + empty)

    block(f"CONFLICTS ({len(alignment.conflicts)}, confidence >= {CONFIDENCE_THRESHOLD})", alignment.conflicts,
          "none found")
    if show_possible:
        lines.append("")
        block(f"POSSIBLE CONFLICTS ({len(alignment.possible)}, confidence < {CONFIDENCE_THRESHOLD})",
              alignment.possible, "none")
    elif alignment.possible:
        lines.append(f"{indent}(+{len(alignment.possible)} possible conflicts below confidence "
                     f"{CONFIDENCE_THRESHOLD}: --all-conflicts shows them)")
    if alignment.revisions:
        lines.append("")
        block(f"REVISIONS ({len(alignment.revisions)}: a figure a later report changed)", alignment.revisions, "")
    for kind, title in (("consensus", "CONSENSUS"), ("corroborated", "CORROBORATED")):
        claims = [c for c in alignment.claims if c.kind == kind]
        lines += ["", f"{title} ({len(claims)})"]
        for claim in claims:
            first = claim.first
            lines += wrap(f"{claim.text}", f"{claim.id:>4}  ")
            lines += wrap(f"support {claim.support} | first: {first['outlet']} ({when(first['published'])}) | "
                          f"{', '.join(claim.sources)}")
        if not claims:
            lines.append(indent + "none")
    total = sum(len(v) for v in alignment.single_source.values())
    lines += ["", f"SINGLE-SOURCE ({total})"]
    for outlet, claims in alignment.single_source.items():
        lines.append(f"  {outlet} ({len(claims)})")
        for claim in claims:
            lines += wrap(claim.text, indent + "- ")
    return "\n".join(lines)
