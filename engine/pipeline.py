"""Ingest stages as functions over batches of plain records: parse, clean, split, embed.

Each stage takes a list and returns a list, with no store and no globals, so the same code runs
batch by batch here and as `map_batches` on Ray Data when an archive outgrows one machine.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

import numpy as np
from newsprism.engine.clean import DateRange, drop_boilerplate, is_short_line, line_key, paragraphs_of, to_article
from newsprism.engine.dedupe import sentence_key
from newsprism.engine.limits import MAX_SENTENCES_PER_ARTICLE, MAX_SENTENCES_PER_REQUEST, OverLimit
from newsprism.engine.records import Article, RawItem, Rejection, Sentence
from newsprism.engine.sentences import split_sentences

TITLE_CLIP = 110


def batched(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def normalize(items: list[RawItem], max_chars: int, canonical: Callable[[str], str] = str,
              dates: DateRange | None = None) -> tuple[list[Article], list[Rejection]]:
    """Raw records to Articles with canonical fields (and outlet names); bad records become Rejections."""
    articles, rejected = [], []
    for item in items:
        try:
            result = to_article(item, max_chars, dates)
            if isinstance(result, Article):
                result.outlet = canonical(result.outlet)
                result = unencodable(result) or result
        except (RecursionError, TypeError, ValueError, AttributeError) as exc:  # a record no rule foresaw
            result = Rejection(item.origin, f"unreadable record ({type(exc).__name__})")
        if isinstance(result, Rejection):
            rejected.append(result)
        else:
            articles.append(result)
    return articles, rejected


def unencodable(article: Article) -> Rejection | None:
    """A rejection when a field holds a lone surrogate (JSON allows "\\ud800"): it is no Unicode text,
    and storing it would fail the whole write."""
    for name in ("id", "text", "title", "outlet", "url", "published"):
        value = getattr(article, name)
        try:
            (value or "").encode("utf-8")
        except UnicodeEncodeError as exc:
            return Rejection(article.origin, f"{name} holds an unpaired surrogate (\\u{ord(value[exc.start]):04x}) "
                                             f"at position {exc.start}: not valid Unicode text")
    return None


def outlet_line_counts(articles: list[Article]) -> dict[str, dict[str, int]]:
    """Per outlet, in how many of these articles each short line appears (boilerplate evidence).

    One text sent several times counts once: repeating an article is no evidence that its lines are
    boilerplate (a batch of one text twice would otherwise lose it as boilerplate)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seen: set[tuple[str, str]] = set()
    for article in articles:
        if (article.outlet, article.digest) in seen:
            continue
        seen.add((article.outlet, article.digest))
        for key in {line_key(p) for p in paragraphs_of(article.text) if is_short_line(p)}:
            counts[article.outlet][key] += 1
    return {outlet: dict(keys) for outlet, keys in counts.items()}


def clean(articles: list[Article], recurring: dict[str, set[str]]) -> tuple[list[Article], list[Rejection]]:
    """Drop boilerplate (rules, and lines recurring in the outlet); derive a title where none came."""
    kept, rejected = [], []
    for article in articles:
        text, _ = drop_boilerplate(article.text, recurring.get(article.outlet, set()))
        if not any(ch.isalpha() for ch in text):
            rejected.append(Rejection(article.origin, "nothing left after removing boilerplate"))
            continue
        article.text = text
        kept.append(article)
    return kept, rejected


def detect_language(articles: list[Article]) -> list[Article]:
    """Language of each article by an offline identifier that ships its own model (py3langid)."""
    import py3langid

    for article in articles:
        sample = f"{article.title}\n{article.text[:2000]}"
        article.lang = py3langid.classify(sample)[0] if len(sample.split()) >= 3 else "en"
    return articles


def within_limits(articles: list[Article]) -> tuple[list[Article], list[Rejection]]:
    """Articles with at most MAX_SENTENCES_PER_ARTICLE sentences; longer ones are rejected whole."""
    kept, rejected = [], []
    for article in articles:
        body = sum(1 for s in article.sentences if not s.is_title)
        if body > MAX_SENTENCES_PER_ARTICLE:
            rejected.append(Rejection(article.origin, f"{body} sentences, over the {MAX_SENTENCES_PER_ARTICLE} "
                                                      f"one article may hold"))
        else:
            kept.append(article)
    return kept, rejected


def split(articles: list[Article]) -> list[Article]:
    """Sentences with positions and offsets; the title (given or derived) as position -1."""
    for article in articles:
        body = [Sentence(s.text, i, s.paragraph, s.start, s.end) for i, s in enumerate(split_sentences(article.text))]
        if not article.title and body:
            lead = body[0].text
            article.title = lead if len(lead) <= TITLE_CLIP else lead[:TITLE_CLIP].rsplit(" ", 1)[0] + "…"
        title = [Sentence(article.title, -1, -1, 0, 0)] if article.title else []
        article.sentences = title + body
    return articles


def embed(articles: list[Article], encode: Callable[[list[str]], np.ndarray],
          known: Callable[[list[str]], dict[str, np.ndarray]]) -> tuple[list[Article], int]:
    """Fill every sentence vector, encoding only texts never embedded before (in the store or batch).

    Returns the articles and how many texts were encoded.
    """
    keys = {sentence_key(s.text): s.text for a in articles for s in a.sentences}
    vectors = known(list(keys))
    missing = [k for k in keys if k not in vectors]
    if missing:
        encoded = encode([keys[k] for k in missing])
        vectors.update(zip(missing, encoded, strict=True))
    for article in articles:
        for sentence in article.sentences:
            sentence.vector = vectors[sentence_key(sentence.text)]
    return articles, len(missing)


def article_vector(article: Article) -> np.ndarray | None:
    """What the article is about: the title and lead weigh more than the tail."""
    weighted = []
    for sentence in article.sentences:
        if sentence.vector is None:
            continue
        weight = 2.0 if sentence.is_title else (1.5 if sentence.position < 3 else 1.0)
        weighted.append(weight * sentence.vector)
    if not weighted:
        return None
    vec = np.sum(weighted, axis=0)
    norm = float(np.linalg.norm(vec))
    return (vec / norm).astype(np.float32) if norm > 0 else None


def mark_copies(articles: list[Article], threshold: float) -> list[Article]:
    """Flag articles that re-run an earlier one (same or nearly the same text) with `copy_of`."""
    from newsprism.engine.dedupe import resemblance, shingles

    seen: list[tuple[Article, set[int]]] = []
    for article in sorted(articles, key=lambda a: (a.published or "", a.id)):
        sh = shingles(article.text)
        for earlier, earlier_sh in seen:
            if resemblance(sh, earlier_sh) >= threshold:
                article.copy_of = earlier.copy_of or earlier.id
                break
        seen.append((article, sh))
    return articles


def prepare(items: Iterable[RawItem | Rejection], encode: Callable[[list[str]], np.ndarray], max_chars: int,
            copy_threshold: float, canonical: Callable[[str], str] = str, dates: DateRange | None = None,
            max_sentences: int = MAX_SENTENCES_PER_REQUEST) -> tuple[list[Article], list[Rejection]]:
    """Articles ready for analysis without a store: every stage in memory, duplicates dropped.

    Raises OverLimit before anything is embedded when the articles hold more than `max_sentences`.
    """
    items = list(items)
    rejected = [i for i in items if isinstance(i, Rejection)]
    articles, bad = normalize([i for i in items if isinstance(i, RawItem)], max_chars, canonical, dates)
    rejected += bad
    unique: dict[str, Article] = {}
    for article in articles:
        unique.setdefault(article.digest + article.outlet.lower(), article)
    counts = outlet_line_counts(list(unique.values()))
    recurring = {outlet: {k for k, n in c.items() if n >= 3} for outlet, c in counts.items()}
    articles, bad = clean(list(unique.values()), recurring)
    rejected += bad
    articles, bad = within_limits(split(articles))
    rejected += bad
    total = sum(len(a.sentences) for a in articles)
    if total > max_sentences:
        raise OverLimit(f"the articles hold {total} sentences, over the {max_sentences} one request may analyse; "
                        f"send fewer or shorter articles")
    articles = detect_language(articles)
    articles, _ = embed(articles, encode, lambda keys: {})
    return mark_copies(articles, copy_threshold), rejected
