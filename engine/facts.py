"""Facts of a news sentence, normalised so that two outlets' versions of one claim can be compared.

Conflicts between outlets are differences in facts, not in wording: "three" = "3", "a dozen" = 12,
"1.2 million" = "1,200,000", "a quarter of a percentage point" = "25 basis points", "five of the seven
members voted" = "5-2", and "at least 40" is the range [40, inf), which agrees with "42". So every sentence
is reduced to

* quantities: a value range (bounds from "at least", "about", and the rounding of "58,000"), a unit family
  (count, percent, percentage points, a currency, a measure, ordinal, score or vote, age), the noun it
  counts, and a role: the content words around it, folded through a small table of news synonyms
  (died/killed/dead are one role);
* dates: a day range resolved against the article's published date ("on Tuesday", "yesterday", "last
  week", "March 3", "in 2023", "for the first time in 31 years", a bare "at 6:40 p.m.");
* names: capitalised spans, titles split off as roles ("captain, Piet Maas");
* polarity: what the sentence negates ("had not received"), denies, confirms or rules out.

`differences(a, b)` reports only facts in the same role whose values cannot both hold; `shared_facts`
says whether two sentences state the same fact at all (agreeing or not). Links, handles, hashtags and
datelines are ignored. Everything is regex based (NLTK's punkt data is not available) and pure;
extraction is cached per sentence.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import combinations
from typing import NamedTuple

from newsprism.engine.sentences import punkt_parameters
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein

INF = float("inf")

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
SCALES = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
SCALE_SUFFIXES = {"k": 1e3, "m": 1e6, "mn": 1e6, "mln": 1e6, "bn": 1e9, "bln": 1e9, "tn": 1e12}
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
    "twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50, "hundredth": 100,
}
FRACTIONS = {"half": 0.5, "quarter": 0.25, "quarters": 0.25, "third": 1 / 3, "thirds": 1 / 3}

# (low factor, high factor) applied to the value that follows the phrase.
QUALIFIERS: dict[str, tuple[float, float]] = {
    "at least": (1.0, INF), "more than": (1.0, INF), "over": (1.0, INF), "upwards of": (1.0, INF),
    "in excess of": (1.0, INF), "no fewer than": (1.0, INF), "no less than": (1.0, INF), "above": (1.0, INF),
    "at most": (0.0, 1.0), "up to": (0.0, 1.0), "fewer than": (0.0, 1.0), "less than": (0.0, 1.0),
    "under": (0.0, 1.0), "below": (0.0, 1.0), "as many as": (0.0, 1.0), "as much as": (0.0, 1.0),
    "no more than": (0.0, 1.0),
    "about": (0.9, 1.1), "around": (0.9, 1.1), "roughly": (0.9, 1.1), "approximately": (0.9, 1.1),
    "some": (0.9, 1.1), "an estimated": (0.9, 1.1), "estimated": (0.9, 1.1),
    "nearly": (0.85, 1.0), "almost": (0.85, 1.0), "close to": (0.85, 1.05), "just under": (0.9, 1.0),
    "just over": (1.0, 1.1),
}
_QUALIFIER_KEYS = {tuple(q.split()): q for q in QUALIFIERS}
_MAX_QUALIFIER = max(len(k) for k in _QUALIFIER_KEYS)

CURRENCY_SYMBOLS = {"$": "USD", "£": "GBP", "€": "EUR"}
CURRENCY_WORDS = {
    "dollar": "USD", "dollars": "USD", "usd": "USD", "euro": "EUR", "euros": "EUR", "eur": "EUR",
    "pound": "GBP", "pounds": "GBP", "sterling": "GBP", "gbp": "GBP", "crown": "crown", "crowns": "crown",
    "krone": "crown", "kroner": "crown", "krona": "crown", "kronor": "crown", "yen": "JPY", "yuan": "CNY",
    "franc": "CHF", "francs": "CHF", "rupee": "INR", "rupees": "INR", "dlrs": "USD", "dlr": "USD",
    "rmb": "CNY", "renminbi": "CNY", "marks": "DEM", "deutschmarks": "DEM", "rand": "ZAR", "lire": "ITL",
    "lira": "ITL", "rubles": "RUB", "roubles": "RUB", "pesos": "peso", "shillings": "shilling", "baht": "THB",
    "rupiah": "IDR", "ringgit": "MYR",
}
# Wire style writes some currencies before the figure: "dlrs 5 million", "yuan 20 billion".
CURRENCY_BEFORE = {"dlrs", "dlr", "usd", "eur", "gbp", "rmb", "yuan", "yen"}
# Phrases that make a number an age bound ("as young as 12") or an age ("aged 12").
AGE_PHRASES: dict[tuple[str, ...], tuple[float, float]] = {
    ("as", "young", "as"): (0.0, 1.0), ("as", "old", "as"): (1.0, INF), ("aged",): (1.0, 1.0), ("age",): (1.0, 1.0),
    ("ages",): (1.0, 1.0), ("age", "of"): (1.0, 1.0), ("ages", "of"): (1.0, 1.0)}
# Phrases after a number that open its range: "five years or more", "10 years to life", "12 or younger".
AFTER_QUALIFIERS: dict[tuple[str, str], tuple[float, float]] = {
    ("or", "more"): (1.0, INF), ("or", "older"): (1.0, INF), ("and", "up"): (1.0, INF), ("or", "longer"): (1.0, INF),
    ("and", "older"): (1.0, INF), ("to", "life"): (1.0, INF), ("or", "so"): (0.9, 1.1), ("or", "less"): (0.0, 1.0),
    ("or", "fewer"): (0.0, 1.0), ("or", "younger"): (0.0, 1.0), ("and", "under"): (0.0, 1.0)}
MEASURES = {
    "km": "km", "kilometre": "km", "kilometres": "km", "kilometer": "km", "kilometers": "km", "mile": "mile",
    "miles": "mile", "metre": "metre", "metres": "metre", "meter": "metre", "meters": "metre", "hectare": "hectare",
    "hectares": "hectare", "acre": "acre", "acres": "acre", "mg": "mg", "milligram": "mg", "milligrams": "mg",
    "kg": "kg", "tonne": "tonne", "tonnes": "tonne", "ton": "tonne", "tons": "tonne", "second": "second",
    "seconds": "second", "minute": "minute", "minutes": "minute", "hour": "hour", "hours": "hour", "day": "day",
    "days": "day", "week": "week", "weeks": "week", "month": "month", "months": "month", "year": "year",
    "years": "year", "degree": "degree", "degrees": "degree", "mph": "mph",
}
WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
_DAY_PARTS = {"morning", "afternoon", "evening", "night"}
# Words that make a weekday or month point forward in time rather than back.
FORECAST_WORDS = frozenset({"predict", "predicts", "predicted", "prediction", "predictions", "forecast", "forecasts",
                            "forecasting", "forecasted", "projected", "projection", "projections", "guidance",
                            "outlook", "target", "targets"})
FUTURE_CUES = {"will", "next", "due", "scheduled", "planned", "expected", "until", "shall", "upcoming", "coming"}
# Without a published date, relative dates resolve against this fixed day, so two undated sentences still
# compare consistently with each other.
NO_DATE_REFERENCE = date(2000, 1, 1)

# Share of content words two sentences must have in common before their dates are compared.
MIN_DATE_CONTEXT = 0.5
# ... and before a "not" on one side and its absence on the other are compared.
MIN_NEGATION_CONTEXT = 0.3

# Titles are split off the front of a name and kept as its role ("Finance Minister Arvid Lennart").
TITLES = {
    "mr", "mrs", "ms", "miss", "dr", "prof", "professor", "capt", "captain", "gen", "general", "sen", "senator",
    "rep", "gov", "governor", "lt", "col", "sgt", "rev", "sir", "dame", "president", "minister", "premier",
    "chancellor", "secretary", "deputy", "chief", "executive", "officer", "coach", "manager", "mayor",
    "commissioner", "chairman", "chairwoman", "chair", "director", "judge", "justice", "king", "queen",
    "prince", "princess", "spokesman", "spokeswoman", "spokesperson", "inspector", "superintendent", "ceo",
    "skipper", "master", "striker", "forward", "defender", "goalkeeper", "midfielder", "leader", "boss",
    "analyst", "economist", "pharmacist", "founder", "head", "member", "governor-general",
}
# Honorifics say nothing about a role: dropped from the name and not kept as role words.
HONORIFICS = {"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "rev"}
_NAME_CONNECTORS = {"of", "and", "&", "de", "van", "von", "der", "den", "la", "le", "du", "al", "bin"}

NEGATIONS = {"not", "never", "cannot"}  # negate the predicate that follows
NEGATIVE_WORDS = {"no", "none", "nobody", "nothing", "neither", "nor", "without"}  # negate, but not a predicate
# Words that negate what follows without a "not": "failed to declare", "refused to answer".
IMPLICIT_NEGATIONS = {"fail", "failed", "fails", "failure", "refuse", "refused", "refuses", "declined", "unable",
                      "lack", "lacked", "unclear", "unknown"} | NEGATIVE_WORDS
DENIALS = {"deny", "denied", "denies", "denial", "denying", "reject", "rejected", "rejects", "refute", "refuted",
           "dismissed"}
AFFIRMATIONS = {"confirm", "confirmed", "confirms", "admit", "admitted", "admits", "acknowledged",
                "acknowledges", "conceded", "concedes", "verified"}
# Words skipped between a negation and the predicate it negates ("had not yet been told").
_NEGATION_SKIP = {"be", "been", "being", "have", "has", "had", "yet", "any", "immediately", "ever", "also", "even",
                  "a", "an", "the", "to", "currently", "publicly", "formally", "really", "always", "initially",
                  "officially", "fully", "directly", "personally", "do", "does", "did", "is", "was", "were", "are",
                  "it", "its", "their", "his", "her", "our", "single", "further", "longer"}

# News roles whose words differ between outlets; each group folds to its first word.
ROLE_SYNONYMS = [
    ["dead", "die", "died", "dies", "kill", "killed", "killing", "death", "deaths", "fatal", "fatality",
     "fatalities", "toll", "perished", "lives", "bodies"],
    ["injured", "injury", "injuries", "hurt", "wounded"],
    ["missing", "unaccounted"],
    ["rescued", "rescue", "survivor", "survivors", "survived", "saved", "pulled"],
    ["evacuated", "evacuation", "evacuee", "evacuees", "fled", "flee", "displaced", "leave", "forced"],
    ["destroyed", "destroy", "razed", "lost", "burned", "burnt", "gutted"],
    ["arrested", "arrest", "arrests", "detained"],
    ["homeless", "shelter", "shelters", "sheltered"],
    ["earthquake", "earthquakes", "quake", "quakes", "tremor", "temblor"],
    ["affected"],
    ["infected", "infection", "infections", "sickened", "stricken", "cases"],
    ["crowd", "fans", "fan", "spectators", "supporters", "attendance", "watched"],
    ["fell", "fall", "falls", "drop", "dropped", "drops", "plunged", "plunge", "slid", "slide", "declined",
     "decline", "tumbled", "sank", "slumped", "lower", "cut", "down"],
    ["rose", "rise", "rises", "gained", "gain", "climbed", "climb", "jumped", "jump", "increase", "increased",
     "hike", "hiked", "raise", "raised", "lifted", "lift", "up", "higher", "soared"],
    ["resign", "resigned", "resignation", "quit", "quits", "stepped"],
    ["start", "started", "began", "begin", "broke", "sparked", "erupted"],
    ["customer", "customers", "user", "users", "client", "clients", "account", "accounts"],
    ["home", "homes", "house", "houses", "dwelling", "dwellings", "property", "properties"],
    ["people", "person", "persons", "individuals", "passengers", "residents", "patients"],
    ["said", "announced", "told", "stated", "reported"],
]
# Role words too general to make two numbers "the same quantity" on their own.
WEAK_ROLES = {"people", "said", "year", "time", "total", "rose", "fell", "new", "last", "first", "day", "week",
              "month", "number", "level", "other", "others"}  # "13 others": others of what the sentence said
QUAKE_WORDS = {"earthquake", "quake", "tremor", "temblor", "aftershock", "aftershocks"}
FINANCE_WORDS = {"rate", "rates", "share", "shares", "stock", "stocks", "price", "prices", "inflation", "yield",
                 "yields", "market", "index", "bond", "bonds", "revenue", "profit", "sales", "interest", "tax",
                 "wage", "wages", "dividend", "turnover", "currency", "mortgage", "mortgages", "gdp", "economy",
                 "growth", "earnings", "nasdaq", "exchange", "investors", "trading"}

STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "if", "of", "at", "by", "for", "with", "about", "against", "between",
    "into", "through", "during", "before", "after", "above", "below", "to", "from", "up", "down", "in", "out", "on",
    "off", "over", "under", "again", "further", "then", "once", "here", "there", "when", "where", "why", "how",
    "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "only", "own", "same", "so",
    "than", "too", "very", "can", "will", "just", "should", "now", "is", "are", "was", "were", "be", "been",
    "being", "have", "has", "had", "having", "do", "does", "did", "doing", "it", "its", "itself", "they", "them",
    "their", "theirs", "he", "him", "his", "she", "her", "hers", "we", "us", "our", "you", "your", "i", "me", "my",
    "this", "that", "these", "those", "which", "who", "whom", "what", "as", "while", "would", "could", "may",
    "might", "must", "shall", "also", "per",
})

_SUFFIXES = (("sses", "ss"), ("ies", "i"), ("ied", "i"), ("ings", ""), ("ing", ""), ("edly", ""), ("ed", ""),
             ("ly", ""), ("ment", ""), ("ness", ""), ("es", ""), ("s", ""))


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """Light suffix stem of a lower-case word, like Porter's first step ("homes", "home" -> "hom";
    "died", "dies", "die" -> "di"): enough to match role words, and far cheaper than full Porter."""
    if len(word) <= 3:
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            if suffix == "s" and word[-2] in "su":
                break  # "press", "bus"
            if suffix == "es" and word[-3] not in "sxzh":
                continue  # "homes": only the "s" goes
            word = word[: len(word) - len(suffix)] + replacement
            if suffix in {"ing", "ings", "ed"} and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # "stopped" -> "stop"
            break
    if word.endswith("e") and len(word) > 2:
        word = word[:-1]
    return word[:-1] + "i" if word.endswith("y") and len(word) > 3 else word


_SYNONYM = {stem(w): stem(group[0]) for group in ROLE_SYNONYMS for w in group}


def role_word(word: str) -> str:
    """Canonical role of a lower-case word: its stem, folded through ROLE_SYNONYMS."""
    s = stem(word)
    return _SYNONYM.get(s, s)


WEAK = frozenset(role_word(w) for w in WEAK_ROLES)
_DIRECTIONS = frozenset({role_word("rise"), role_word("fall")})
# Roles that are different measures of one event: a count of the dead is never a count of the injured.
MEASURE_ROLES = frozenset(role_word(w) for w in ("dead", "injured", "missing", "rescued", "evacuated", "destroyed",
                                             "arrested", "homeless", "affected", "infected"))
# Words never used as roles: function words, and numbers and dates, which are the values themselves.
_NOT_ROLES = STOPWORDS | set(UNITS) | set(TENS) | set(SCALES) | set(ORDINALS) | set(MONTHS) | set(WEEKDAYS) | {
    "dozen", "half", "quarter", "percent", "per", "cent", "a.m.", "p.m.", "morning", "afternoon", "evening", "night",
    "yesterday", "today", "tonight", "ago", "last", "next", "previous", "earlier", "later"}
_FINANCE = frozenset(role_word(w) for w in FINANCE_WORDS)
_COMPASS = frozenset(role_word(w) for w in ("north", "south", "east", "west", "northwest", "northeast", "southwest",
                                             "southeast", "northern", "southern", "eastern", "western"))
QUALIFIER_WORDS = frozenset(w for q in QUALIFIERS for w in q.split())

# ---------------------------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"(?P<time>\b\d{1,2}(?:[:.]\d{2})?\s?(?:[ap]\.m\.|[ap]m\b))"
    r"|(?P<clock>(?<![\d.,:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:]))"
    r"|(?P<frac>(?<![\d.,/])(?:\d{1,3}\s)?\d{1,2}/\d{1,2}(?![\d/]))"
    r"|(?P<score>(?<![\d.,])\d{1,3}-\d{1,3}(?![\d-]|\.\d))"
    r"|(?P<num>[$£€]?\d{1,30}(?:,\d{3}){0,10}(?:\.\d{1,30})?(?:st|nd|rd|th)?)"  # bounded: int() stays cheap
    r"|(?P<word>(?:[A-Za-z]\.){2,}|[A-Za-z]+(?:['’][A-Za-z]+)?)"
    r"|(?P<punct>[^\sA-Za-z0-9])"
)
# Links, handles and hashtags ("pic.twitter.com/8Y0r", "#3Boobs") hold no facts; they are blanked out.
_WEB = re.compile(r"(?:https?://|www\.|pic\.twitter\.com/)\S+|[@#]\w+")
_CLAUSE_BREAKS = {",", ";", ":", "—", "–", "(", ")", '"', "“", "”", "!", "?"}


class Token(NamedTuple):
    """A token with its offsets (a named tuple: sentences have many, and tuples are cheap to make)."""

    text: str
    low: str  # lower case, possessive "'s" removed
    kind: str  # time | clock | frac | score | num | word | punct
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Words, numbers, times of day ("6:40 p.m.", and clock times "3:36", which are never counts), fractions
    ("2 1/2"), scores and votes ("188-112"), and punctuation, with character offsets."""
    out = []
    for m in _TOKEN_RE.finditer(_WEB.sub(lambda w: " " * len(w.group()), text)):
        tok = m.group(0)
        low = tok.lower().replace("’", "'")
        if m.lastgroup == "word" and low[-2:] == "'s":
            low = low[:-2]
        out.append(Token(tok, low, m.lastgroup or "punct", m.start(), m.end()))
    return out


def _is_break(tok: Token) -> bool:
    return tok.kind == "punct" and tok.text in _CLAUSE_BREAKS


def _figure_word(tok: Token) -> bool:
    return tok.kind == "num" or tok.low in UNITS or tok.low in TENS


def _roles(tokens: list[Token], start: int, end: int, before: int = 4, after: int = 4,
           names: bool = True) -> frozenset[str]:
    """Up to `before`/`after` content words around tokens[start:end], within the clause, short of the next
    figure and of an "and" that joins another figure, as role words: in "3,261 were killed and 11,759
    injured" the injured are the second figure's and the killed the first's.
    `names=False` leaves out capitalised words (who did something is not when it happened)."""
    words: list[str] = []
    for step, limit, i in ((-1, before, start - 1), (1, after, end)):
        taken = scanned = 0
        while 0 <= i < len(tokens) and taken < limit and scanned < 2 * limit and not _is_break(tokens[i]) \
                and not _figure_word(tokens[i]) and not (
                    tokens[i].low in {"and", "or"} and any(map(_figure_word, tokens[max(0, i - 6):i] if step < 0
                                                                else tokens[i + 1:i + 4]))):
            tok = tokens[i]
            scanned += 1
            if tok.kind == "word" and tok.low not in _NOT_ROLES and (
                    names or not tok.text[0].isupper() or (i == 0 and _common_word(tok.low))):
                taken += 1
                words.append(tok.low)
            i += step
    return frozenset(role_word(w) for w in words)


_PREPOSITIONS = {"to": "to", "from": "from", "by": "by", "since": "since", "until": "by", "before": "by",
                 "after": "after", "on": "at", "in": "at", "at": "at", "of": "of"}


def _preposition(tokens: list[Token], start: int) -> str:
    """Class of the preposition right before a fact ("to 4.25%" vs "from 4%"), "" if none; a hedge
    in between is skipped ("at around 2 p.m.")."""
    k = start - 1
    if k > 0 and tokens[k].low in {"around", "about", "approximately", "roughly", "shortly", "just"}:
        k -= 1
    if k >= 0 and tokens[k].kind == "word":
        return _PREPOSITIONS.get(tokens[k].low, "")
    return ""


# ---------------------------------------------------------------------------------------------------------------
# Quantities
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number with bounds. A score "a-b" is stored as a*1000+b so that equality stays numeric."""

    lo: float
    hi: float
    unit: str  # count | percent | pp | ordinal[:unit] | score | age | money:<currency> | measure:<unit>
    text: str  # as written, qualifier included ("at least 14")
    role: frozenset[str]  # content words around it, the head noun left out
    preposition: str = ""
    head: str = ""  # the noun a count or percentage is of ("14 people", "2% target"), as a role word
    near: frozenset[str] = frozenset()  # names written near it ("in Nairobi"): whom or where it is about
    whole: bool = False  # counted as a whole ("in all", "both bombings", "a total of"): not one part of it
    more: bool = False  # one more of its kind ("five more", "another aftershock, magnitude 5.1"): not the first

    @property
    def kind(self) -> str:
        """Conflict kind: money for currency amounts and financial percentages, number otherwise."""
        if self.unit.startswith("money:") or (self.unit in {"percent", "pp"} and self.role & _FINANCE):
            return "money"
        return "number"

    def agrees(self, other: Quantity) -> bool:
        """Same unit and ranges that overlap, or one figure the other rounded ("4.47%" and "4.5%"): both
        statements can hold."""
        if self.unit != other.unit:
            return False
        if self.lo <= other.hi and other.lo <= self.hi:
            return True
        if self.lo != self.hi or other.lo != other.hi:
            return False
        if _round_figure(self, other) or _round_figure(other, self):
            return True
        places = min(_decimals(self.text), _decimals(other.text))  # a whole "4%" is no rounding of "4.25%"
        return 0 < places < max(_decimals(self.text), _decimals(other.text)) and \
            abs(self.lo - other.lo) < 0.5 * 10 ** -places


def _round_figure(rounded: Quantity, exact: Quantity) -> bool:
    """ "$350" for "$349": a whole figure ending in 0 within 1% of the other (not "11" for "10")."""
    value = rounded.lo
    return value >= 100 and value == int(value) and int(value) % 10 == 0 and abs(value - exact.lo) <= 0.01 * value


def _decimals(text: str) -> int:
    """Decimal places of the figure as written ("4.47%" -> 2)."""
    found = re.search(r"\d\.(\d+)", text)
    return len(found.group(1)) if found else 0


@dataclass(frozen=True, slots=True)
class _Number:
    value: float
    tolerance: float  # half a unit of the last significant digit of round numbers
    unit: str
    end: int  # token index after the number and its unit


def _digits(tok: Token) -> tuple[float, str, bool, str] | None:
    """(value, currency, is_ordinal, digits as written) of a digit token."""
    raw = tok.text
    currency = CURRENCY_SYMBOLS.get(raw[0], "")
    if currency:
        raw = raw[1:]
    ordinal = raw[-2:].lower() in {"st", "nd", "rd", "th"}
    if ordinal:
        raw = raw[:-2]
    return float(raw.replace(",", "")), currency, ordinal, raw


def _rounding(raw: str, scale: float) -> float:
    """Precision of a written number: "1.2 million" is +-50,000, "58,000" is +-500, "14" is exact."""
    if scale > 1:
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        return 0.5 * scale * 10 ** -decimals
    whole = raw.replace(",", "").split(".")[0]
    if "." in raw or len(whole) < 4:
        return 0.0
    zeros = len(whole) - len(whole.rstrip("0"))
    return 0.5 * 10 ** zeros if zeros else 0.0


def _word_value(tokens: list[Token], i: int) -> tuple[float, int, bool] | None:
    """A number in words at tokens[i] ("twenty-five", "a dozen", "third"): (value, index after, ordinal)."""
    low = tokens[i].low
    if low in ORDINALS:
        return float(ORDINALS[low]), i + 1, True
    if low in {"a", "an"}:
        nxt = tokens[i + 1].low if i + 1 < len(tokens) else ""
        if nxt == "dozen" or nxt in SCALES:
            value, j, _ = _word_value(tokens, i + 1) or (0.0, i + 1, False)
            return value, j, False
        return None
    if low not in UNITS and low not in TENS and low not in SCALES and low != "dozen":
        return None
    total, current, j = 0.0, 0.0, i
    while j < len(tokens):
        w = tokens[j].low
        if w in UNITS or w in TENS:
            current += UNITS.get(w, 0) + TENS.get(w, 0)
        elif w == "dozen":
            current = (current or 1) * 12
        elif w == "hundred":
            current = (current or 1) * 100
        elif w in SCALES:
            total += (current or 1) * SCALES[w]
            current = 0
        elif w in {"-", "and"} and j > i and j + 1 < len(tokens) and (
                tokens[j + 1].low in UNITS or tokens[j + 1].low in TENS):
            j += 1
            continue
        else:
            break
        j += 1
    return total + current, j, False


def _fraction(tokens: list[Token], i: int) -> tuple[float, int, bool] | None:
    """ "half of", "a quarter of a percentage point", "two-thirds": (percent or points, index after, is_pp)."""
    low = tokens[i].low
    count = 1.0
    j = i
    if low in {"a", "an", "one"} or low in UNITS:
        count = 1.0 if low in {"a", "an"} else float(UNITS[low])
        j = i + 1
        while j < len(tokens) and tokens[j].text == "-":
            j += 1
    if j >= len(tokens) or tokens[j].low not in FRACTIONS:
        return None
    if j == i and not (tokens[j].low == "half" and j + 1 < len(tokens) and tokens[j + 1].low == "of"):
        return None  # a bare "third" is an ordinal, a bare "half" may be "second half"
    value = count * FRACTIONS[tokens[j].low]
    k = j + 1
    words = [t.low for t in tokens[k:k + 4]]
    if words[:3] in (["of", "a", "percentage"], ["of", "one", "percentage"]) and len(words) > 3 \
            and words[3] in {"point", "points"}:
        return value, k + 4, True
    return value * 100, k, False


def _unit_after(tokens: list[Token], j: int, currency: str) -> tuple[str, float, int]:
    """(unit, multiplier, index after the unit) of the words following a number ending at j."""
    start = j  # a count does not take the hyphen of "116-man crew"
    while j < len(tokens) and tokens[j].text == "-":
        j += 1
    low = tokens[j].low if j < len(tokens) else ""
    nxt = tokens[j + 1].low if j + 1 < len(tokens) else ""
    if low == "%" or low in {"percent", "pct"}:
        return "percent", 1.0, j + 1
    if (low, nxt) == ("per", "cent"):
        return "percent", 1.0, j + 2
    if low == "percentage" and nxt in {"point", "points"}:
        return "pp", 1.0, j + 2
    if low == "basis" and nxt in {"point", "points"}:
        return "pp", 0.01, j + 2
    if low in {"bp", "bps"}:
        return "pp", 0.01, j + 1
    if currency:
        return f"money:{currency}", 1.0, j
    if low in {"pound", "pounds"} and nxt == "of":
        return "measure:pound", 1.0, j + 1  # "500 pounds of explosives"
    if low in CURRENCY_WORDS:
        return f"money:{CURRENCY_WORDS[low]}", 1.0, j + 1
    if low in MEASURES:
        if MEASURES[low] == "year" and nxt == "-" and j + 2 < len(tokens) and tokens[j + 2].low == "old":
            return "age", 1.0, j + 3
        if MEASURES[low] == "year" and nxt == "old":
            return "age", 1.0, j + 2
        if MEASURES[low] == "degree" and nxt in QUAKE_WORDS:
            return "measure:magnitude", 1.0, j + 1  # wire style: "a 6.7-degree earthquake" is its magnitude
        if MEASURES[low] == "km" and nxt == "/":
            return "measure:km/h", 1.0, min(j + 3, len(tokens))
        return f"measure:{MEASURES[low]}", 1.0, j + 1
    return "count", 1.0, start


def _scale_after(tokens: list[Token], j: int, end_char: int) -> tuple[float, int]:
    """Multiplier of "million", "bn", "1.4-billion" right after a number, and the index after it."""
    k = j
    while k < len(tokens) and tokens[k].text == "-":
        k += 1
    if k < len(tokens):
        low = tokens[k].low
        if low in SCALES and low != "hundred":
            return SCALES[low], k + 1
        if low in SCALE_SUFFIXES and tokens[k].start == end_char:
            return SCALE_SUFFIXES[low], k + 1
    return 1.0, j


def _is_year(tokens: list[Token], i: int, value: float, raw: str) -> bool:
    """A bare 4-digit number from 1900 to 2099 not followed by a plural noun is a year ("since 1994")."""
    if "," in raw or "." in raw or len(raw) != 4 or not (1000 <= value <= 2099):
        return False
    if value < 1900:  # "in 1770", "since 1830": an older year only after a word that introduces one
        return i > 0 and tokens[i - 1].low in {"in", "since", "from", "until", "of", "by", "to", "circa"}
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if nxt is not None and nxt.low == "s" and nxt.start == tokens[i].end:
        return True  # "the 1900s"
    return nxt is None or nxt.kind != "word" or not (nxt.low.endswith("s") and nxt.low not in MONTHS)


def _is_age(tokens: list[Token], i: int) -> bool:
    """ "Marta Lindqvist, 34, told": a small number between commas right after a capitalised name."""
    return (0 < i < len(tokens) - 1 and tokens[i - 1].text == "," and tokens[i + 1].text == ","
            and i >= 2 and tokens[i - 2].text[:1].isupper() and tokens[i].text.isdigit()
            and 0 < int(tokens[i].text) < 120)


def _fraction_value(text: str) -> float:
    """ "2 1/2" -> 2.5, "3/4" -> 0.75."""
    whole, _, frac = text.rpartition(" ")
    top, bottom = frac.split("/")
    return (float(whole) if whole else 0.0) + (int(top) / int(bottom) if int(bottom) else 0.0)


def _label_number(tokens: list[Token], i: int) -> bool:
    """A number that names rather than counts: "Enemy No. 1", "No 2 official"."""
    k = i - 1
    if k >= 0 and tokens[k].text == ".":
        k -= 1
    return k >= 0 and tokens[k].text in {"No", "no", "NO", "Nos"} and (k == i - 2 or tokens[k].text[0] == "N")


def _number_at(tokens: list[Token], i: int) -> _Number | None:
    """The number starting at tokens[i] with its scale and unit; None for words that are not numbers."""
    tok = tokens[i]
    if tok.kind in {"num", "frac", "score"} and (_label_number(tokens, i) or (
            i > 0 and tokens[i - 1].end == tok.start and tokens[i - 1].kind == "word")):
        return None  # "No. 1", "Happy99", "W97M": part of a name
    if tok.kind == "frac":
        unit, mult, j = _unit_after(tokens, i + 1, "")
        return _Number(_fraction_value(tok.text) * mult, 0.0, unit, j)
    if tok.kind == "score":
        a, b = (int(x) for x in tok.text.split("-"))
        return _Number(a * 1000 + b, 0.0, "score", i + 1)
    if tok.kind == "num":
        value, currency, ordinal, raw = _digits(tok)
        if not currency and i > 0 and tokens[i - 1].low in CURRENCY_BEFORE:
            currency = CURRENCY_WORDS.get(tokens[i - 1].low, "USD")
        scale, j = _scale_after(tokens, i + 1, tok.end)
        if scale == 1.0 and not currency and not ordinal and _is_year(tokens, i, value, raw):
            return None
        if scale == 1.0 and _is_age(tokens, i):
            return _Number(value, 0.0, "age", i + 1)
        tolerance = _rounding(raw, scale)
        value *= scale
    elif tok.kind == "word":
        fraction = _fraction(tokens, i)
        if fraction is not None:
            value, j, is_pp = fraction
            return _Number(value, 0.0, "pp" if is_pp else "percent", j)
        parsed = _word_value(tokens, i)
        if parsed is None or (parsed[0] == 1 and not parsed[2]):
            return None  # "one" is too often "one of", "one moment" to compare
        value, j, ordinal = parsed
        currency, tolerance = "", 0.0
    else:
        return None
    if ordinal:
        k = j
        while k < len(tokens) and tokens[k].text == "-":
            k += 1
        if k < len(tokens) and tokens[k].low in MEASURES:
            return _Number(value, 0.0, f"ordinal:{MEASURES[tokens[k].low]}", k + 1)
        if tok.kind == "word" and not _head(tokens, j):
            return None  # "first reported", "second half": not a count of anything
        return _Number(value, 0.0, "ordinal", j)
    unit, mult, j = _unit_after(tokens, j, currency)
    if unit == "count" and ((i > 0 and tokens[i - 1].low == "magnitude") or (
            j < len(tokens) and tokens[j].low == "magnitude")):
        unit = "measure:magnitude"  # "magnitude 4.9", "a 7.0 magnitude earthquake"
    if unit == "count" and j < len(tokens) and _capitalised(tokens[j]) and tok.kind == "num" and not currency:
        return None  # "10 News", "Apollo 11 Crew": part of a name
    return _Number(value * mult, tolerance * mult, unit, j)


def _qualifier(tokens: list[Token], i: int) -> tuple[str, int]:
    """The bound phrase ending right before tokens[i] ("at least"), and the index where it starts."""
    for size in range(_MAX_QUALIFIER, 0, -1):
        if i - size >= 0:
            key = tuple(t.low for t in tokens[i - size:i])
            if key in _QUALIFIER_KEYS:
                return _QUALIFIER_KEYS[key], i - size
    return "", i


def _head(tokens: list[Token], j: int) -> bool:
    """Whether tokens[j] is the noun a number counts: a lower-case content word, not a past tense or -ing."""
    if j >= len(tokens) or tokens[j].kind != "word" or not tokens[j].text.islower():
        return False
    low = tokens[j].low
    return low not in _NOT_ROLES and not low.endswith(("ed", "ing")) and len(low) > 2


NEAR_WINDOW = 7  # tokens each side of a value in which a name says what the value is about
# Words that make a figure a whole rather than one of its parts ("both bombings", "in all", "a total of").
WHOLE_WORDS = {"both", "overall", "combined", "altogether", "together", "twin", "cumulative", "nationwide",
               "worldwide"}  # not "a total of": one outlet's "total of 11 killed" is another's "at least 14 dead"


def _near_names(tokens: list[Token], start: int, end: int) -> frozenset[str]:
    """Capitalised words within NEAR_WINDOW content words of a value, in the same sentence part (a ";" or a
    quotation mark ends it): the places, people and bodies the value is about ("213 in Nairobi"). Sources
    are left out ("..., the coast guard said", "told the Clarion", "according to X"): who says a figure is
    not what it counts."""
    out = set()
    for step, i in ((-1, start - 1), (1, end)):
        seen = 0
        while 0 <= i < len(tokens) and seen < NEAR_WINDOW and tokens[i].text not in {";", '"', "“", "”", "(", ")"}:
            tok = tokens[i]
            if _capitalised(tok) and tok.low not in TITLES and tok.low not in HONORIFICS and len(tok.low) > 1 \
                    and (not _common_word(tok.low) or tok.text.isupper()) and not _source_at(tokens, i):
                out.add(tok.low)
            seen += tok.kind != "punct" and tok.low not in STOPWORDS
            i += step
    return frozenset(out)


# Words around a name that make it the source of a figure rather than what the figure is about.
SOURCE_CUES = {"according", "confirmed", "reported", "reports", "announced", "quoted", "understands", "learned",
               "learnt", "revealed", "reveal", "citing", "cited", "estimates", "estimated", "told"}


def _source_at(tokens: list[Token], i: int) -> bool:
    """Whether the capitalised word at i is part of a name that says or is told something."""
    lo = hi = i
    while lo > 0 and (_capitalised(tokens[lo - 1]) or tokens[lo - 1].low in _NAME_CONNECTORS):
        lo -= 1
    while hi + 1 < len(tokens) and (_capitalised(tokens[hi + 1]) or tokens[hi + 1].low in _NAME_CONNECTORS):
        hi += 1
    around = [t.low for t in tokens[max(0, lo - 3):lo]] + [t.low for t in tokens[hi + 1:hi + 4]]
    return any(w in SPEECH_VERBS or w in SOURCE_CUES for w in around)


def _whole(tokens: list[Token], start: int, end: int) -> bool:
    """Whether a figure counts a whole: "in all", "both", or a total whose part follows ("raised $430,000,
    including $255,500 for the Heisman Trophy")."""
    words = {t.low for t in tokens[max(0, start - 4):min(len(tokens), end + 4)]}
    return bool(words & WHOLE_WORDS) or "including" in {t.low for t in tokens[end:end + 2]} or any(
        tokens[k].low == "in" and tokens[k + 1].low == "all" for k in range(end, min(len(tokens) - 1, end + 3)))


TOLL_WORDS = {"toll", "tally"}
# What links a subject to the figure it reaches: "the death toll ... has risen to 7,085", "... stood at",
# "... is estimated to be 110,000", "... reached 300".
TOLL_LINKS = {"to", "at", "be", "is", "was", "reached", "hit", "topped", "passed", "exceeded", "stood", "stands"}


def _toll_subject(tokens: list[Token], first: int) -> frozenset[str]:
    """The toll a figure is the value of when the sentence's subject is a toll written far before it: in
    "The death toll from the powerful earthquake in Turkey has risen to 7,085" or "The death toll, as of
    Friday, is estimated to be 110,000" the role window of a few words misses "death toll". Looks back
    through commas (not past ';' ':' or another figure) up to 16 tokens, only after a linking word."""
    if first == 0 or tokens[first - 1].low not in TOLL_LINKS:
        return frozenset()
    for k in range(first - 1, max(-1, first - 17), -1):
        tok = tokens[k]
        if _figure_word(tok) or tok.text in {";", ":"}:
            break
        if tok.low in TOLL_WORDS:
            words = [tok.low] + ([tokens[k - 1].low] if k > 0 and tokens[k - 1].kind == "word"
                                 and tokens[k - 1].low not in _NOT_ROLES else [])
            return frozenset(role_word(w) for w in words)
    return frozenset()


ANOTHER_WORDS = {"another", "further", "additional"}


def _more(tokens: list[Token], start: int, end: int) -> bool:
    """Whether a figure is of one more of its kind: "five more", "another 187", or in a sentence about
    "another aftershock" or "a further aftershock" (up to eight tokens before it)."""
    return (end < len(tokens) and tokens[end].low == "more") or any(
        t.low in ANOTHER_WORDS for t in tokens[max(0, start - 8):start])


def parse_quantities(text: str) -> list[Quantity]:
    """Numbers in digits or words with bounds, units and roles; years and times of day are left out."""
    tokens = tokenize(text)
    return _quantities(text, tokens, _dates(text, tokens, NO_DATE_REFERENCE)[1])


def _vote_at(tokens: list[Token], i: int) -> tuple[int, int, int] | None:
    """A vote written in words: "five of the seven members voted" is 5-2, "voted by five to two" is 5-2.
    Returns (for, against, index after)."""
    first = _small_count(tokens, i)
    if first is None or not any(t.low.startswith("vot") for t in tokens[max(0, i - 8):i + 12]):
        return None
    j = i + 1
    if j < len(tokens) and tokens[j].low == "of":
        k = j + 2 if j + 1 < len(tokens) and tokens[j + 1].low in {"the", "its", "their"} else j + 1
        total = _small_count(tokens, k)
        if total is not None and first < total:
            return first, total - first, k + 1
    if i > 0 and tokens[i - 1].low in {"by", "voted"} and j < len(tokens) and tokens[j].low == "to":
        second = _small_count(tokens, j + 1)
        if second is not None:
            return first, second, j + 2
    return None


def _small_count(tokens: list[Token], i: int) -> int | None:
    """A whole number below 1,000 in digits or words at tokens[i]."""
    if i >= len(tokens):
        return None
    tok = tokens[i]
    if tok.kind == "num" and tok.text.isdigit() and int(tok.text) < 1000:
        return int(tok.text)
    value = UNITS.get(tok.low) or TENS.get(tok.low)
    return int(value) if value else None


def _ratio_at(tokens: list[Token], end: int) -> tuple[float, int] | None:
    """The denominator of a share written as "N in M" or "N out of M" (a plain number after), and the token
    after it, if tokens[end:] continue one."""
    k = end + 1 if end < len(tokens) and tokens[end].low == "in" else \
        end + 2 if end + 1 < len(tokens) and tokens[end].low == "out" and tokens[end + 1].low == "of" else 0
    if not k or k >= len(tokens):
        return None
    tok = tokens[k]
    value = float(tok.low) if tok.kind == "num" and tok.low.isdigit() else UNITS.get(tok.low) or TENS.get(tok.low)
    return (float(value), k + 1) if value and 1 < value < 1000 else None


def _quantities(text: str, tokens: list[Token], skip: set[int] | frozenset[int] = frozenset()) -> list[Quantity]:
    """Quantities of a tokenized sentence; tokens in `skip` belong to dates ("September 4")."""
    out: list[Quantity] = []
    i = 0
    while i < len(tokens):
        if i in skip:
            i += 1
            continue
        vote = _vote_at(tokens, i)
        if vote is not None:
            yes, no, end = vote
            out.append(Quantity(yes * 1000 + no, yes * 1000 + no, "score", text[tokens[i].start:tokens[end - 1].end],
                                _roles(tokens, i, end, names=False), _preposition(tokens, i)))
            i = end
            continue
        number = _number_at(tokens, i)
        if number is None and tokens[i].low in UNITS and _ratio_at(tokens, i + 1):
            number = _Number(UNITS[tokens[i].low], 0.0, "count", i + 1)  # "one in three": "one" alone is no count
        if number is None:
            i += 1
            continue
        qual, first = _qualifier(tokens, i)
        lo_f, hi_f = QUALIFIERS.get(qual, (1.0, 1.0))
        unit = number.unit
        for phrase, bounds in AGE_PHRASES.items():  # "as young as 12", "aged 12": an age, not a count
            if unit == "count" and tuple(t.low for t in tokens[max(0, first - len(phrase)):first]) == phrase:
                unit, (lo_f, hi_f), first = "age", bounds, first - len(phrase)
                break
        after = tuple(t.low for t in tokens[number.end:number.end + 2])
        if after in AFTER_QUALIFIERS and not qual:  # "five years or more", "10 years to life"
            lo_f, hi_f = AFTER_QUALIFIERS[after]
        # a bound is written as the bound: "more than 10,000" is above 10,000, not "10,000" give or take 5,000
        lo = 0.0 if lo_f == 0.0 else number.value * lo_f - (0.0 if hi_f == INF else number.tolerance)
        hi = INF if hi_f == INF else number.value * hi_f + (0.0 if lo_f == 0.0 else number.tolerance)
        end = number.end
        ratio = _ratio_at(tokens, end) if unit == "count" and not qual else None
        if ratio is not None and ratio[0] > number.value:  # "1 in 3 Americans", "one out of four": a share
            unit, lo, hi, end = "percent", 100 * number.value / ratio[0], 100 * number.value / ratio[0], ratio[1]
        # "between 40 million and 55 million crowns": one range; the unit is written once, at the end
        elif not qual and first > 0 and tokens[first - 1].low == "between" and end < len(tokens) - 1 \
                and tokens[end].low == "and":
            upper = _number_at(tokens, end + 1)
            if upper is not None and (upper.unit == unit or unit == "count"):
                unit, hi, first, end = upper.unit, upper.value + upper.tolerance, first - 1, upper.end
        # "10 to 15 years", "two or three people": one range, the unit written once
        elif unit == "count" and end < len(tokens) - 1 and tokens[end].low in {"to", "or"} and (
                first == 0 or tokens[first - 1].low != "from"):
            upper = _number_at(tokens, end + 1)
            if upper is not None and upper.value > number.value and upper.unit not in {"score", "percent", "pp"}:
                unit, hi, end = upper.unit, max(hi, upper.value + upper.tolerance), upper.end
        last = max(end, i + 1) - 1
        head = unit in {"count", "percent", "ordinal"} and _head(tokens, end)
        out.append(Quantity(lo, hi, unit, text[tokens[first].start:tokens[last].end],
                            _roles(tokens, first, end + bool(head), names=False) | _toll_subject(tokens, first),
                            _preposition(tokens, first), role_word(tokens[end].low) if head else "",
                            _near_names(tokens, first, end),
                            _whole(tokens, first, end), _more(tokens, first, end)))
        i = max(end, i + 1)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateFact:
    """A day range, resolved against the published date ("on Tuesday" is one day, "last week" seven)."""

    first: date
    last: date
    text: str
    role: frozenset[str]
    preposition: str = ""
    weekday: int | None = None  # set when written as a bare weekday ("on Sunday")
    explicit: bool = False  # a calendar date, month or year ("March 10", "in 1994"), not "on Monday"

    def agrees(self, other: DateFact) -> bool:
        """Overlapping days; the same weekday or relative day as written ("on Sunday", "today") always agrees:
        which day it means depends on when each report was written."""
        if self.weekday is not None and self.weekday == other.weekday:
            return True
        if not self.explicit and not other.explicit and self.text.lower() == other.text.lower():
            return True
        return self.first <= other.last and other.first <= self.last


def _published_hour(published: str | None) -> float | None:
    try:
        moment = datetime.fromisoformat((published or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.hour + moment.minute / 60


def published_day(published: str | None) -> date | None:
    """The UTC day of an ISO-8601 timestamp, or None (also for a year at the calendar's ends, where
    reading "last year" or "next March" against it would step past what a date can hold)."""
    if not published:
        return None
    try:
        day = datetime.fromisoformat(published.replace("Z", "+00:00")).date()
    except ValueError:
        return None
    return day if 1000 <= day.year <= 9000 else None


def _future(tokens: list[Token], i: int) -> bool:
    """Whether the clause before tokens[i] looks forward ("will fly ... on Wednesday", "is due on")."""
    j, seen = i - 1, 0
    while j >= 0 and seen < 14 and not _is_break(tokens[j]):
        if tokens[j].low in FUTURE_CUES:
            return True
        seen += 1
        j -= 1
    return False


def _month_range(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    end = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return start, end


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _year_for(month: int, day: int, ref: date, forward: bool) -> int:
    """The year that puts month/day nearest the reference day, in the direction the sentence looks."""
    candidate = _safe_date(ref.year, month, day) or date(ref.year, month, 28)
    if candidate > ref + timedelta(days=183 if not forward else 330):
        return ref.year - 1
    if forward and candidate < ref - timedelta(days=30):
        return ref.year + 1
    return ref.year


def _small_int(tok: Token | None, upper: int) -> int | None:
    if tok is not None and tok.kind == "num" and tok.text.isdigit() and 1 <= int(tok.text) <= upper:
        return int(tok.text)
    return None


def _year_at(tok: Token | None) -> int | None:
    if tok is not None and tok.kind == "num" and tok.text.isdigit() and len(tok.text) == 4 \
            and 1900 <= int(tok.text) <= 2099:
        return int(tok.text)
    return None


_DATE_STARTS = set(MONTHS) | set(WEEKDAYS) | {"yesterday", "today", "tonight", "last", "this", "overnight",
                                                "next", "earlier", "a", "one"} | set(UNITS)
_RELATIVE = {  # phrase -> (days back from the published day to the first day, to the last day)
    ("yesterday",): (1, 1), ("today",): (0, 0), ("tonight",): (0, 0), ("last", "night"): (1, 0),
    ("this", "morning"): (0, 0), ("this", "afternoon"): (0, 0), ("this", "evening"): (0, 0),
    ("overnight",): (1, 0),
}


def parse_dates(text: str, published: str | None = None) -> list[DateFact]:
    """Dates and days in a sentence, resolved against the published date (ISO-8601)."""
    return _dates(text, tokenize(text), published_day(published) or NO_DATE_REFERENCE, _published_hour(published))[0]


def _date_at(tokens: list[Token], i: int, ref: date) -> tuple[date, date, int] | None:
    """The date expression starting at tokens[i]: (first day, last day, index after it)."""
    tok = tokens[i]
    low = tok.low
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if tok.kind != "num" and low not in _DATE_STARTS:
        return None
    forward = _future(tokens, i)
    if low in MONTHS and tok.text[0].isupper() and (low != "may" or i > 0):
        month = MONTHS[low]
        j = i + 1
        if j < len(tokens) and tokens[j].text == "." and len(low) <= 4:
            j += 1
        day = _small_int(tokens[j] if j < len(tokens) else None, 31)
        if day is not None:
            year = None
            if j + 2 < len(tokens) and tokens[j + 1].text == ",":
                year = _year_at(tokens[j + 2])
            end = j + 3 if year else j + 1
            d = _safe_date(year or _year_for(month, day, ref, forward), month, day)
            return (d, d, end) if d else None
        year = _year_at(tokens[j] if j < len(tokens) else None)
        if year is not None:
            return (*_month_range(year, month), j + 1)
        if len(low) <= 4 or low == "may":
            return None  # a bare abbreviation or "May" is too often something else
        year = ref.year - (month > ref.month) if not forward else ref.year + (month < ref.month)
        return (*_month_range(year, month), i + 1)
    if tok.kind == "num" and tok.text.isdigit() and nxt is not None and nxt.low in MONTHS \
            and nxt.text[0].isupper() and 1 <= int(tok.text) <= 31:
        month, day = MONTHS[nxt.low], int(tok.text)
        year = _year_at(tokens[i + 2]) if i + 2 < len(tokens) else None
        d = _safe_date(year or _year_for(month, day, ref, forward), month, day)
        return (d, d, i + (3 if year else 2)) if d else None
    if low in WEEKDAYS and tok.text[0].isupper():
        j = i + 1
        if j < len(tokens) and tokens[j].low in _DAY_PARTS:
            j += 1
        # "Monday, March 10": the explicit date decides
        if j + 1 < len(tokens) and tokens[j].text == "," and tokens[j + 1].low in MONTHS:
            explicit = _date_at(tokens, j + 1, ref)
            if explicit is not None and explicit[0] == explicit[1]:
                return explicit
        offset = (WEEKDAYS[low] - ref.weekday()) % 7 if forward else -((ref.weekday() - WEEKDAYS[low]) % 7)
        d = ref + timedelta(days=offset)
        return d, d, j
    year = _year_at(tok)
    if year is not None and (nxt is None or nxt.kind != "word" or not nxt.low.endswith("s")):
        return date(year, 1, 1), date(year, 12, 31), i + 1
    return _relative_at(tokens, i, ref)


def _relative_at(tokens: list[Token], i: int, ref: date) -> tuple[date, date, int] | None:
    """ "yesterday", "last week", "two days ago", "last month"."""
    words = [t.low for t in tokens[i:i + 3]]
    for size in (2, 1):
        key = tuple(words[:size])
        if len(key) == size and key in _RELATIVE:
            back_first, back_last = _RELATIVE[key]
            return ref - timedelta(days=back_first), ref - timedelta(days=back_last), i + size
    if words[:2] in (["last", "week"], ["this", "week"], ["next", "week"]):
        monday = ref - timedelta(days=ref.weekday()) + timedelta(weeks={"last": -1, "this": 0, "next": 1}[words[0]])
        last = min(ref, monday + timedelta(days=6)) if words[0] == "this" else monday + timedelta(days=6)
        return monday, last, i + 2
    if words[:3] == ["earlier", "this", "week"]:
        return ref - timedelta(days=ref.weekday()), ref, i + 3
    if words[:2] in (["last", "month"], ["this", "month"], ["next", "month"]):
        shift = {"last": -1, "this": 0, "next": 1}[words[0]]
        month_index = ref.year * 12 + ref.month - 1 + shift
        return (*_month_range(month_index // 12, month_index % 12 + 1), i + 2)
    if words[:2] in (["last", "year"], ["this", "year"], ["next", "year"]):
        year = ref.year + {"last": -1, "this": 0, "next": 1}[words[0]]
        return date(year, 1, 1), date(year, 12, 31), i + 2
    if len(words) == 3 and words[2] == "ago" and words[1] in {"day", "days", "week", "weeks"}:
        count = 1 if words[0] in {"a", "one"} else UNITS.get(words[0]) or _small_int(tokens[i], 60)
        if count:
            days = count * (7 if words[1].startswith("week") else 1)
            return ref - timedelta(days=days + 1), ref - timedelta(days=max(0, days - 1)), i + 3
    return None


def _years_since(tokens: list[Token], i: int, ref: date) -> tuple[int, int] | None:
    """ "(the first time) in 31 years": the year it dates back to, and the index after "years"."""
    if tokens[i].low != "in" or i + 2 >= len(tokens) or tokens[i + 2].low != "years" \
            or not any(t.low == "first" for t in tokens[max(0, i - 4):i]):
        return None
    n = _small_int(tokens[i + 1], 200) or UNITS.get(tokens[i + 1].low) or TENS.get(tokens[i + 1].low)
    return (ref.year - n, i + 3) if n else None


def _time_of_day(tok: Token) -> float:
    """Hour of "6:40 p.m.", "2 pm"."""
    digits = re.findall(r"\d+", tok.text)
    hour = int(digits[0]) % 12 + (12 if "p" in tok.low else 0)
    return hour + (int(digits[1]) / 60 if len(digits) > 1 else 0.0)


def _dates(text: str, tokens: list[Token], ref: date, ref_hour: float | None = None
           ) -> tuple[list[DateFact], set[int]]:
    """Dates of a tokenized sentence, and the indices of the tokens they cover."""
    out: list[DateFact] = []
    covered: set[int] = set()
    i = 0
    while i < len(tokens):
        since = _years_since(tokens, i, ref)
        if since is not None:
            year, end = since
            out.append(DateFact(date(year, 1, 1), date(year, 12, 31), text[tokens[i].start:tokens[end - 1].end],
                                _roles(tokens, i, end, 4, 2, names=False), "since", explicit=True))
            covered.update(range(i, end))
            i = end
            continue
        found = _date_at(tokens, i, ref)
        if found is None:
            i += 1
            continue
        first, last, end = found
        span = tokens[i:end]
        bare_weekday = tokens[i].low in WEEKDAYS and not any(t.low in MONTHS for t in span)
        explicit = any(t.low in MONTHS or _year_at(t) for t in span)
        out.append(DateFact(first, last, text[tokens[i].start:tokens[end - 1].end],
                            _roles(tokens, i, end, 4, 2, names=False), _preposition(tokens, i),
                            WEEKDAYS[tokens[i].low] if bare_weekday else None, explicit))
        covered.update(range(i, end))
        i = end
    times = [k for k, t in enumerate(tokens) if t.kind == "time"]
    if not out and times:  # "started at around 2 p.m.": the day it was published, or the day before
        k = times[0]
        day = ref - timedelta(days=1) if ref_hour is not None and _time_of_day(tokens[k]) > ref_hour else ref
        out.append(DateFact(day, day, tokens[k].text, _roles(tokens, k, k + 1, 4, 2, names=False),
                            _preposition(tokens, k)))
    return out, covered


# ---------------------------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Name:
    """A capitalised span without its titles; `role` holds the titles and role nouns before it."""

    text: str
    tokens: tuple[str, ...]  # lower case
    role: frozenset[str]

    def matches(self, other: Name) -> bool:
        """Same entity as written (see _same_entity)."""
        return _same_entity(self.tokens, other.tokens)


@lru_cache(maxsize=100_000)
def _same_entity(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    """Two names of one entity: one's words all in the other ("Rendl", "Tomas Rendl"), written together
    ("JasmineTridevil"), a derived form ("Syria", "Syrian"), or a long name with the same start or end and
    at most one word written otherwise ("Airport Police Dept", "Airport Police Department")."""
    a, b = set(first), set(second)
    x, y = sorted(("".join(first), "".join(second)), key=len)
    if a <= b or b <= a or _derived(x, y, loose=len(first) == len(second) == 1) or (
            len(x) >= 6 and x[0] == y[0] and _in_order(x, y)):
        return True
    short, long = sorted((first, second), key=len)
    if len(short) < 3:
        return False
    for part in (long[:len(short)], long[-len(short):]):
        differing = [(p, q) for p, q in zip(short, part, strict=True) if p != q]
        if len(differing) <= 1 and all(_variant(p, q) for p, q in differing):
            return True
    return False


_LOWERCASE_SEEN = 0b1110000  # punkt ortho-context flags: seen in lower case at sentence start, middle, unknown


@lru_cache(maxsize=1)
def _ortho() -> dict[str, int]:
    return dict(punkt_parameters().ortho_context)


def _common_word(low: str) -> bool:
    """A word Punkt's English model has seen written in lower case: not a name at sentence start."""
    return low in STOPWORDS or bool(_ortho().get(low, 0) & _LOWERCASE_SEEN)


def _capitalised(tok: Token) -> bool:
    return tok.kind == "word" and tok.text[:1].isupper() and tok.low not in WEEKDAYS and tok.low not in MONTHS


def parse_names(text: str) -> list[Name]:
    """Capitalised spans ("Central Bank of Varland", "Piet Maas") with titles split off as roles."""
    return _names(tokenize(text))


def _names(tokens: list[Token]) -> list[Name]:
    out: list[Name] = []
    i = 0
    while i < len(tokens):
        if not _capitalised(tokens[i]):
            i += 1
            continue
        span = [i]
        j = i + 1
        while j < len(tokens):
            if _capitalised(tokens[j]):
                span.append(j)
            elif tokens[j].text == "." and tokens[j - 1].low in TITLES | HONORIFICS:
                pass
            elif tokens[j].low in _NAME_CONNECTORS and j + 1 < len(tokens) and _capitalised(tokens[j + 1]):
                span.append(j)
            else:
                break
            j += 1
        while span and tokens[span[-1]].low in _NAME_CONNECTORS:
            span.pop()
        words = [tokens[k] for k in span]
        if words and (i == 0 or tokens[i - 1].text in {'"', "“", "—"}) and words[0].low not in TITLES \
                and _common_word(words[0].low):
            words = words[1:]  # "Shares in Lumora", "The Central Bank": a sentence-initial common word
        role = {w.low for w in _role_before(tokens, i)}
        cut = 0
        for k, w in enumerate(words[:-1]):
            if w.low in TITLES or w.low in HONORIFICS:
                cut = k + 1
        role |= {w.low for w in words[:cut] if w.low not in HONORIFICS}
        words = [w for w in words[cut:] if w.kind == "word" and w.low not in HONORIFICS]
        if words and not (len(words) == 1 and (words[0].low in TITLES or words[0].low in STOPWORDS)):
            out.append(Name(" ".join(_strip_possessive(w.text) for w in words), tuple(w.low for w in words),
                            frozenset(role)))
        i = j
    return out


def _strip_possessive(word: str) -> str:
    return word[:-2] if word[-2:] in {"'s", "’s"} else word


def _role_before(tokens: list[Token], i: int) -> list[Token]:
    """Lower-case role nouns just before a name ("the ferry's captain, Piet Maas")."""
    out = []
    j = i - 1
    while j >= 0 and i - j <= 3:
        tok = tokens[j]
        if tok.kind == "word" and tok.low in TITLES:
            out.append(tok)
        elif tok.text != "," and tok.kind != "word":
            break
        j -= 1
    return out


def _derived(x: str, y: str, loose: bool = False) -> bool:
    """One word a short ending away from the other: "Syria"/"Syrian", "Florida"/"Floridian", "River"/"Rivers";
    `loose` (single words) also allows both endings to differ: "Britain"/"British", "Jews"/"Jewish"."""
    common = len(os.path.commonprefix([x, y]))
    if loose:
        return common >= max(3, min(len(x), len(y)) - 3) and max(len(x), len(y)) - common <= 4
    return common >= max(4, min(len(x), len(y)) - 1) and max(len(x), len(y)) - common <= 3


def _variant(p: str, q: str) -> bool:
    """Two words that may be one word written two ways: derived, abbreviated or misspelt."""
    return _derived(p, q) or _abbreviates(p, q) or _abbreviates(q, p) or fuzz.ratio(p, q) >= 70


def _abbreviates(short: str, long: str) -> bool:
    """ "dept" for "department": same first letter, the letters in order, shorter by half at least."""
    return len(short) <= len(long) // 2 + 1 and short[:1] == long[:1] and _in_order(short, long)


def _in_order(short: str, long: str) -> bool:
    """Whether the letters of `short` occur in `long` in the same order ("siteintelgroup")."""
    letters = iter(long)
    return all(c in letters for c in short)


def spelling_variants(a: Name, b: Name) -> bool:
    """Two names that look like one name spelt two ways ("Piet Maas"/"Pieter Maes", "Rendl"/"Riedl").
    Not: the same surname with another first name ("James"/"Jim Foley"), or acronyms ("ISIS"/"ISIL")."""
    if a.matches(b) or (len(a.tokens) > 1 and len(b.tokens) > 1 and a.tokens[-1] == b.tokens[-1]):
        return False
    if any(len(n.tokens) == 1 and n.text.isupper() for n in (a, b)):
        return False
    common = set(a.tokens) & set(b.tokens)
    rest_a, rest_b = [t for t in a.tokens if t not in common], [t for t in b.tokens if t not in common]
    if min(len("".join(rest_a)), len("".join(rest_b))) < 4:
        return False  # "HP PC" / "HP Inc": short words, likely different things
    x, y = " ".join(a.tokens), " ".join(b.tokens)
    if x[0] != y[0]:
        return False
    return fuzz.ratio(x, y) >= 70


# ---------------------------------------------------------------------------------------------------------------
# Polarity
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Polarity:
    """What a sentence negates, and whether it denies or confirms something."""

    negated: tuple[tuple[str, str], ...]  # (stem, surface "not received") of each negated predicate
    denial: str  # surface of a denial verb ("denied"), "" if none
    affirmation: str  # surface of a confirming verb ("confirmed", "admitted"), "" if none
    cues: int  # how many negation cues of any kind the sentence has
    denied: frozenset[str]  # role words of what follows the denial ("denied that payment data ...")
    affirmed: frozenset[str]  # role words of what follows the confirmation
    ruled_out: frozenset[str]  # role words of what it rules out ("ruled out further increases")
    intends: frozenset[str]  # role words of what it says will happen ("it would raise rates")
    intent: str  # that phrase as written ("would raise")


def _polarity(tokens: list[Token]) -> Polarity:
    words = [t for t in tokens if t.kind == "word"]
    negated: list[tuple[str, str]] = []
    denial = affirmation = intent = ""
    denied: frozenset[str] = frozenset()
    affirmed: frozenset[str] = frozenset()
    ruled_out: frozenset[str] = frozenset()
    intends: frozenset[str] = frozenset()
    cues = 0
    for k, tok in enumerate(words):
        low = tok.low
        is_neg = low in NEGATIONS or low.endswith("n't")
        if low in IMPLICIT_NEGATIONS:
            cues += 1
        if low in DENIALS:
            cues += 1
            if not denial:
                denial, denied = tok.text, _following_roles(words, k)
        if low in AFFIRMATIONS and not affirmation:
            affirmation, affirmed = tok.text, _following_roles(words, k)
        if low in {"rule", "ruled", "rules"} and k + 1 < len(words) and words[k + 1].low == "out" \
                and not any(w.low in NEGATIONS or w.low.endswith("n't") for w in words[max(0, k - 3):k]):
            cues += 1
            denial = denial or f"{tok.text} out"
            ruled_out = frozenset(role_word(w.low) for w in words[k + 2:k + 5] if w.low not in _NOT_ROLES)
        if low in {"will", "would"} and k + 1 < len(words) and words[k + 1].low not in NEGATIONS and not intent:
            intent = f"{tok.text} {words[k + 1].text}"
            intends = frozenset(role_word(w.low) for w in words[k + 1:k + 4] if w.low not in _NOT_ROLES)
        if not is_neg:
            continue
        cues += 1
        m = k + 1
        while m < len(words) and (words[m].low in _NEGATION_SKIP or words[m].low in STOPWORDS
                                  or words[m].text[0].isupper()):
            m += 1
        if m < len(words) and _participle(words[m].low):
            target = words[m]
            if target.low == "ruled" and m + 1 < len(words) and words[m + 1].low == "out":
                cues -= 1  # "could not be ruled out": two negations
                continue
            negated.append((stem(target.low), f"{tok.text} {target.text}"))
    return Polarity(tuple(negated), denial, affirmation, cues, denied, affirmed, ruled_out, intends, intent)


def _following_roles(words: list[Token], k: int, count: int = 6) -> frozenset[str]:
    """Role words of what a denial or confirmation is about, names left out."""
    return frozenset(role_word(w.low) for w in words[k + 1:k + 1 + 2 * count]
                     if w.low not in _NOT_ROLES and not w.text[0].isupper())


# Past participles not ending in -ed: "had not found", "was not told".
IRREGULAR_PARTICIPLES = frozenset({
    "found", "made", "seen", "told", "known", "taken", "given", "paid", "sold", "held", "kept", "left", "met",
    "sent", "spent", "won", "lost", "hit", "hurt", "shot", "built", "brought", "bought", "caught", "heard",
    "shown", "done", "gone", "written", "driven", "chosen", "stolen", "broken", "spoken", "fallen", "risen",
    "beaten", "struck", "begun", "drawn", "grown", "thrown", "flown", "set", "put", "cut", "let", "run",
})


def _participle(word: str) -> bool:
    """A verb form whose negation states the opposite fact ("not received", "not charged", "not found")."""
    return word.endswith(("ed", "en")) or word in IRREGULAR_PARTICIPLES


# ---------------------------------------------------------------------------------------------------------------
# Facts and differences
# ---------------------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------------------
# Attribution
# ---------------------------------------------------------------------------------------------------------------

# Verbs that report speech ahead of or after a clause; "announced", "confirmed", "denied" are left out: with
# an object they are the event itself ("Lennart announced his resignation"), and polarity handles them.
SPEECH_VERBS = {"said", "says", "told", "claimed", "claims", "insisted", "insists", "alleged", "alleges",
                "stated", "states", "added", "warned", "argued", "maintained", "maintains", "wrote", "writes"}
_AUXILIARIES = {"has", "have", "had", "was", "is", "were", "also", "later", "earlier", "previously", "then"}
# Speakers that do not say who: they can be anyone, so a different one is no disagreement.
VAGUE_SPEAKERS = {"he", "she", "they", "it", "we", "i", "you", "who", "which", "that", "officials", "official",
                  "authorities", "sources", "source", "spokesman", "spokeswoman", "spokesperson", "statement",
                  "report", "reports", "media", "people", "person", "one", "someone", "others", "some", "many",
                  "local", "senior", "later", "also", "this", "those", "these", "there"}
MAX_SPEAKER_WORDS = 6
# A clause opened by one of these is not a speaker ("While the company claims ...", "Despite claims ...").
_NOT_SPEAKER_OPENERS = {"while", "despite", "although", "though", "as", "if", "because", "when", "after", "before",
                        "since", "but", "and", "so", "yet", "of", "with", "amid", "in", "on", "for", "by", "to"}
# Unnamed sources that identify who speaks: an institution or a role. Other common nouns ("the men", "the
# soldiers") usually restate the sentence's own subject, and a different one is no change of source.
SOURCE_NOUNS = {"police", "company", "firm", "ministry", "government", "army", "military", "agency", "court",
                "prosecutors", "prosecutor", "investigators", "witnesses", "residents", "doctors", "hospital",
                "union", "council", "regulator", "regulators", "lawyers", "lawyer", "family", "school", "airline",
                "bank", "minister", "president", "mayor", "governor", "coroner", "rebels", "militants", "activists",
                "embassy", "parliament", "committee", "campaigners", "organisers", "organizers", "analysts"}


@dataclass(frozen=True, slots=True)
class Speaker:
    """Who a sentence attributes its claim to; `key` holds its distinctive words, `named` whether it is a
    proper name (a name and a common noun, "Lumora" and "the company", may well be the same source)."""

    text: str
    key: frozenset[str]
    named: bool
    span: tuple[int, int]  # characters of the attribution ("police said") in the dateline-free sentence


_SPEECH_CUE = re.compile(r"\b(?:according to|" + "|".join(sorted(SPEECH_VERBS)) + r")\b")


def _speaker(tokens: list[Token], names: tuple[Name, ...]) -> Speaker | None:
    """The source in "X said ...", "..., X said", "..., said X" or "according to X"; None if none or vague."""
    if not tokens or not _SPEECH_CUE.search(" ".join(t.low for t in tokens)):
        return None
    words = [i for i, t in enumerate(tokens) if t.kind == "word"]
    for i in words:
        low = tokens[i].low
        if low == "according" and i + 1 < len(tokens) and tokens[i + 1].low == "to":
            return _speaker_span(tokens, _span_after(tokens, i + 2), names, i)
        if low not in SPEECH_VERBS or not tokens[i].text[0].islower():  # "United States government"
            continue
        start = i
        while start > 0 and tokens[start - 1].low in _AUXILIARIES:
            start -= 1
        before = _span_before(tokens, start)
        if before:
            return _speaker_span(tokens, before, names, i)
        if start > 0 and _is_break(tokens[start - 1]):  # "..., said Karl Dreyer, an analyst"
            return _speaker_span(tokens, _span_after(tokens, i + 1), names, i)
    return None


def attributed(f: Facts) -> bool:
    """Whether a sentence credits what it says to someone, named or not ("the group wrote", "X said")."""
    return f.speaker is not None or bool(f.words & SPEECH_VERBS)


def _span_before(tokens: list[Token], end: int) -> list[int]:
    """Token indices of the clause that ends at `end`, if it is short enough to be a speaker."""
    k = end
    while k > 0 and not _is_break(tokens[k - 1]) and tokens[k - 1].text not in {".", "that"}:
        k -= 1
    span = list(range(k, end))
    return span if 0 < len(span) <= MAX_SPEAKER_WORDS else []


def _span_after(tokens: list[Token], start: int) -> list[int]:
    k = start
    while k < len(tokens) and not _is_break(tokens[k]) and tokens[k].text != "." \
            and tokens[k].low not in {"that", "on", "in", "at", "who", "which"}:
        k += 1
    span = list(range(start, k))
    return span if 0 < len(span) <= MAX_SPEAKER_WORDS else []


def _speaker_span(tokens: list[Token], span: list[int], names: tuple[Name, ...], verb: int) -> Speaker | None:
    words = [tokens[k] for k in span if tokens[k].kind == "word"]
    if not words or words[0].low in _NOT_SPEAKER_OPENERS:
        return None
    key = frozenset(role_word(w.low) for w in words
                    if w.low not in STOPWORDS and w.low not in VAGUE_SPEAKERS and w.low not in TITLES
                    and w.low not in HONORIFICS)
    if not key:
        return None
    named = any(set(n.tokens) & {w.low for w in words} for n in names)
    if not named and words[-1].low not in SOURCE_NOUNS:
        return None
    first, last = min(span[0], verb), max(span[-1], verb)
    return Speaker(" ".join(_strip_possessive(w.text) for w in words), key, named,
                   (tokens[first].start, tokens[last].end))


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything comparable in one sentence."""

    text: str
    quantities: tuple[Quantity, ...]
    dates: tuple[DateFact, ...]
    names: tuple[Name, ...]
    polarity: Polarity
    content: frozenset[str]  # stems of its content words, numbers and dates left out
    words: frozenset[str]  # every word in lower case
    speaker: Speaker | None = None  # who the sentence says it is quoting ("police said", "according to X")
    year: int | None = None  # the year it was published, if known


@lru_cache(maxsize=20_000)
def extract(text: str, published: str | None = None) -> Facts:
    """Quantities, dates (resolved against `published`), names and polarity of a sentence."""
    body = strip_dateline(text)  # "KELLHAVEN, Varland (Continental Press) —" states no fact
    tokens = tokenize(body)
    ref = published_day(published) or NO_DATE_REFERENCE
    content = frozenset(role_word(t.low) for t in tokens if t.kind == "word" and t.low not in _NOT_ROLES)
    dates, covered = _dates(body, tokens, ref, _published_hour(published))
    names = tuple(_names(tokens))
    return Facts(text, tuple(_quantities(body, tokens, covered)), tuple(dates), names,
                 _polarity(tokens), content, frozenset(t.low for t in tokens if t.kind == "word"),
                 _speaker(tokens, names), ref.year if published_day(published) else None)


@dataclass(frozen=True, slots=True)
class Difference:
    """One fact two sentences state differently; `a` and `b` are the values as written."""

    kind: str  # number | money | date | name | negation | attribution
    a: str
    b: str
    role: str  # what the values are about ("dead", "captain"), for descriptions
    confidence: float = 1.0  # that both sides state one measure of one thing (see `quantity_confidence`)
    doubts: tuple[str, ...] = ()  # why the confidence is lower ("other places", "part vs whole")
    quantities: tuple[Quantity, Quantity] | None = None  # for a number or money: the two figures read


def _shared_role(x: frozenset[str], y: frozenset[str]) -> tuple[int, int]:
    """(strong, all) role words two facts share; strong ones are specific enough to pair facts on their own."""
    shared = x & y
    return len(shared - WEAK), len(shared)


def same_quantity(x: Quantity, y: Quantity) -> bool:
    """Whether two numbers measure the same thing: same unit, compatible nouns, and a shared specific role
    word (not one rising while the other falls), or the same uncommon, precise value ("59 people")."""
    dx, dy = x.role & _DIRECTIONS, y.role & _DIRECTIONS
    if x.unit != y.unit or (dx and dy and not dx & dy):
        return False
    cx, cy = x.role & _COMPASS, y.role & _COMPASS
    if cx and cy and not cx & cy:
        return False  # "70km northwest of X" and "45 km southwest of Y" measure from two places
    mx, my = (x.role | {x.head}) & MEASURE_ROLES, (y.role | {y.head}) & MEASURE_ROLES
    if mx and my and not mx & my and not x.unit.startswith("measure:"):
        return False  # killed against injured, missing against rescued (a quake's magnitude is neither)
    if x.unit != "ordinal" and ((x.head and x.head not in WEAK and x.head not in y.role | {y.head})
                                or (y.head and y.head not in WEAK and y.head not in x.role | {x.head})):
        return False  # "42 people" and "3 crew", "3.8%" and "the 2% target"
    shared = (x.role | {x.head}) & (y.role | {y.head})
    if x.head and x.head == y.head:
        shared -= {x.head}  # both count survivors: which survivors is the role ("rescued" vs "treated")
    if shared - WEAK - {""}:
        return True
    if x.unit.startswith("money:") and x.near and x.near == y.near:
        return True  # a price of the same named thing: "$255,500 for Simpson's Heisman Trophy" / "... fetched $230,000"
    return x.agrees(y) and all(q.lo > 0 and q.hi <= 1.4 * q.lo and (q.lo >= 13 or q.unit != "count") for q in (x, y))


def shared_facts(a: Facts, b: Facts) -> int:
    """How many facts two sentences both state, agreeing or not: the same quantity, or a date of the same
    event. Evidence that they make the same claim, which a paraphrase model misses when values differ."""
    count = sum(any(same_quantity(x, y) for y in b.quantities) for x in a.quantities)
    return count + sum(any(_same_date_role(x, y) for y in b.dates) for x in a.dates)


def _same_date_role(x: DateFact, y: DateFact) -> bool:
    return x.preposition == y.preposition and _shared_role(x.role, y.role)[0] > 0


def same_date(x: DateFact, y: DateFact) -> bool:
    """Two calendar dates that agree and name the same event: a shared role word, or both "since" the date."""
    return x.explicit and y.explicit and x.agrees(y) and (
        _shared_role(x.role, y.role)[0] > 0 or x.preposition == y.preposition == "since")


def _sums_to(q: Quantity, others: list[Quantity]) -> bool:
    """ "59 people" = "53 passengers and six crew": a count that is the sum of two or three on the other side.
    An open bound is read as about its figure: "more than 10,000 dead" is no sum of 7,085 dead and 33,559
    injured."""
    exact = [o.lo for o in others if o.unit == "count" and o.lo == o.hi]
    upper = min(q.hi, 1.1 * q.lo) if q.hi == INF else q.hi
    return q.unit == "count" and any(
        q.lo <= sum(c) <= upper for n in (2, 3) if len(exact) >= n for c in combinations(exact, n))


def same_figure(x: Quantity, y: Quantity) -> bool:
    """One precise figure in both sentences, read with two units ("the February 27 8.8 earthquake" /
    "magnitude 8.8"): both state it, whatever else they say. Small whole numbers recur by chance."""
    return x.lo == y.lo and x.hi == y.hi and (x.lo >= 13 or x.lo != int(x.lo))


def _pair_up(candidates: list[tuple[tuple, object, object]]) -> list[tuple[object, object]]:
    """Best-first pairs in which no fact is used twice."""
    used: set[int] = set()
    pairs = []
    for _, x, y in sorted(candidates, key=lambda c: c[0], reverse=True):
        if id(x) not in used and id(y) not in used:
            used.update((id(x), id(y)))
            pairs.append((x, y))
    return pairs


def open_bound(q: Quantity) -> bool:
    """ "more than 10,000", "up to 300": a bound, which agrees with almost any figure beyond it."""
    return q.hi == INF or q.lo == 0.0


def _stated(q: Quantity, other: Quantity) -> bool:
    """Whether the other sentence states figure `q` as `other`, whatever role each was read with. An open
    bound ("more than 10,000 dead") holds for almost any large figure (33,559 injured): it is stated only by
    a figure of the same measure."""
    return same_figure(q, other) or (q.agrees(other) and (
        not (open_bound(q) or open_bound(other)) or same_quantity(q, other)))


def _quantity_differences(a: Facts, b: Facts) -> list[Difference]:
    qa, qb = list(a.quantities), list(b.quantities)
    lone_a = [q for q in qa if not any(_stated(q, o) for o in qb) and not _sums_to(q, qb)]
    lone_b = [q for q in qb if not any(_stated(q, o) for o in qa) and not _sums_to(q, qa)]
    candidates = []
    for x in lone_a:
        for y in lone_b:
            if not same_quantity(x, y) or (x.preposition and y.preposition and x.preposition != y.preposition):
                continue
            if x.unit == "ordinal" and x.head != y.head:
                continue  # "the seventh child" and "the 19th century" are not one count
            # the same head noun first ("213 people" with "224 people", not "two bombs"), then a part with a part
            # ("$255,500 for the trophy" with "$230,000", not the auction's $430,000 including it)
            candidates.append(((x.head == y.head, x.whole == y.whole, *_shared_role(x.role, y.role)), x, y))
    out = []
    for x, y in _pair_up(candidates):
        confidence, doubts = quantity_confidence(x, y, a, b)
        out.append(Difference(x.kind, x.text, y.text, _as_written((x.role | {x.head}) & (y.role | {y.head}) - WEAK, a),
                              confidence, doubts, (x, y)))
    return out


def _names_clash(x: frozenset[str], y: frozenset[str], a: Facts | None = None, b: Facts | None = None) -> bool:
    """Whether the names near two values have nothing in common (deaths in Nairobi / in Dar es Salaam), and
    neither sentence names elsewhere what is near the other's value (Barton's 13 injured "in Atlanta" and
    the 12 Barton injured are one count: the Atlanta sentence names Barton too)."""
    def alike(p: frozenset[str], q: frozenset[str]) -> bool:
        return any(n == m or _derived(n, m, loose=True) or _skeleton(n) == _skeleton(m) for n in p for m in q)

    if not (x and y) or alike(x, y):
        return False
    named_a = frozenset(t for n in a.names for t in n.tokens) if a else frozenset()
    named_b = frozenset(t for n in b.names for t in n.tokens) if b else frozenset()
    return not alike(x, named_b) and not alike(y, named_a)


def _joint(part: Quantity, whole: Facts) -> bool:
    """Whether the other sentence joins a name near this figure with another name by "and" ("India and
    Pakistan claimed a total of 11 tests" against "India's five"): this figure is of one part of that whole."""
    if not part.near:
        return False
    for m in _JOINED.finditer(whole.text):
        first, second = m.group(1).lower(), m.group(2).lower()
        if (first in part.near) != (second in part.near):
            return True
    return False


_JOINED = re.compile(r"\b([A-Z][a-z]+)(?:'s)? and ([A-Z][a-z]+)\b")


_YEAR = re.compile(r"\b(1[89]\d\d|2[01]\d\d)\b")


def written_years(f: Facts) -> set[int]:
    """Years a sentence writes out in its dates ("in 1996", "in June 2004", "March 3, 1998")."""
    return {int(y) for d in f.dates if d.explicit for y in _YEAR.findall(d.text)}


def other_years(a: Facts, b: Facts, year_a: int | None = None, year_b: int | None = None) -> bool:
    """Whether two sentences are about different years: both name years and none in common, or one names
    only years before its report's year (a 1996 crash cited as background, "in June 2004" in a report of
    2007) and the other none. A report's year is its publication year, or `year_a` / `year_b` when undated."""
    ya, yb = written_years(a), written_years(b)
    if ya and yb:
        return not ya & yb
    named, year = (ya, a.year or year_a) if ya else (yb, b.year or year_b)
    return bool(named) and year is not None and max(named) < year


def quantity_confidence(x: Quantity, y: Quantity, a: Facts, b: Facts) -> tuple[float, tuple[str, ...]]:
    """How likely two differing figures are one measure of one thing, 0..1, and the doubts that lower it.

    Starts from what the figures count: the same head noun ("14 people" / "11 people") or a specific role
    word they share ("killed"). Then each sign that they are about different things costs: different names
    near them (deaths in Nairobi / in Dar es Salaam), one counted as a whole and the other not (both
    bombings / one), different years in the sentences (a 1996 crash cited as background), figures far
    apart (one a small part of the other), and nothing counted at all (a bare number)."""
    doubts = []
    shared = (x.role | {x.head}) & (y.role | {y.head}) - WEAK - {""}
    score = 0.5 + 0.15 * min(2, len(shared))
    if x.head and x.head == y.head and x.head not in WEAK:
        score += 0.1
    if shared & MEASURE_ROLES:
        score += 0.1  # both count the dead (or the injured, the missing...): the measures news disputes
    days_a = [d for d in a.dates if d.explicit or d.weekday is not None]
    days_b = [d for d in b.dates if d.explicit or d.weekday is not None]
    if any(d.agrees(e) for d in days_a for e in days_b):
        score += 0.1  # the same day or date named on both sides: one moment
    elif days_a and days_b:
        score -= 0.3  # both name their day, and the days differ: two moments (Tuesday's rise, Wednesday's)
        doubts.append("other days")
    if x.more or y.more:
        score -= 0.4  # "another aftershock, magnitude 5.1", "a further 187 arrested": one more, not the same one
        doubts.append("another one")
    if (a.words | b.words) & FORECAST_WORDS:
        score -= 0.35  # forecasts and targets differ by nature (a company's range, the analysts' estimate)
        doubts.append("forecast")
    if x.unit == "age" and not x.near & y.near:
        score -= 0.4  # an age belongs to one person: two ages are one fact only for the same name
        doubts.append("whose age")
    if not x.head and not y.head and x.unit == "count":
        score -= 0.15
        doubts.append("nothing counted")
    if _names_clash(x.near, y.near, a, b):
        score -= 0.5
        doubts.append("other names")
    if x.whole != y.whole or _joint(x, b) or _joint(y, a):
        score -= 0.5
        doubts.append("part vs whole")
    if other_years(a, b):
        score -= 0.5
        doubts.append("other years")
    lo = min(x.hi, y.hi) if min(x.hi, y.hi) > 0 else 0.0
    hi = max(x.lo, y.lo)
    if lo > 0 and hi / lo > 3:
        score -= 0.1
        doubts.append("far apart")
    return max(0.0, min(1.0, score)), tuple(dict.fromkeys(doubts))


def _date_differences(a: Facts, b: Facts) -> list[Difference]:
    lone_a = [d for d in a.dates if not any(d.agrees(o) for o in b.dates)]
    lone_b = [d for d in b.dates if not any(d.agrees(o) for o in a.dates)]
    candidates = []
    if not lone_a or not lone_b or _overlap(a.content, b.content) < MIN_DATE_CONTEXT:
        return []  # two dates in sentences that otherwise differ are usually two events
    for x in lone_a:
        for y in lone_b:
            if _same_date_role(x, y):
                candidates.append((_shared_role(x.role, y.role), x, y))
    return [Difference("date", x.text, y.text, _as_written((x.role & y.role) - WEAK, a))
            for x, y in _pair_up(candidates)]


def _as_written(roles: set[str] | frozenset[str], facts: Facts) -> str:
    """Role words as the sentence writes them ("died" for the role "dead"), in sentence order."""
    words = []
    for tok in tokenize(facts.text):
        if tok.kind == "word" and tok.low not in _NOT_ROLES and role_word(tok.low) in roles \
                and tok.low not in words:
            words.append(tok.low)
    return " ".join(words)


def _overlap(x: frozenset[str], y: frozenset[str]) -> float:
    return len(x & y) / len(x | y) if x or y else 0.0


def _name_differences(a: Facts, b: Facts) -> list[Difference]:
    lone_a = [n for n in a.names if not any(n.matches(o) for o in b.names) and not _mentioned(n, b)]
    lone_b = [n for n in b.names if not any(n.matches(o) for o in a.names) and not _mentioned(n, a)]
    if not lone_a or not lone_b:
        return []
    candidates = []
    for x in lone_a:
        for y in lone_b:
            if spelling_variants(x, y) and not same_name(x, y):
                candidates.append(((fuzz.ratio(x.text, y.text),), x, y))
    # One person's name written two ways is worth an editor's look when both sentences give the same role
    # ("the ferry's captain, Piet Maas" / "..., Pieter Maes"), or share a first name and most of what they
    # say ("Tomas Rendl scored in the 87th minute" / "Tomas Riedl scored ..."); otherwise it may be two
    # people (de Kock / de Klerk), and it is only a possible conflict.
    out = []
    for x, y in _pair_up(candidates):
        shared = {t for t in set(x.tokens) & set(y.tokens) if len(t) >= 3 and t not in _NAME_CONNECTORS}
        sure = bool(x.role & y.role) or (bool(shared) and _overlap(a.content, b.content) >= NAME_CONTEXT)
        out.append(Difference("name", x.text, y.text, " ".join(sorted(x.role | y.role)),
                              NAME_CONFIDENCE if sure else NAME_CONFIDENCE - 0.25,
                              () if sure else ("maybe two people",)))
    return out


NAME_CONFIDENCE = 0.65
NAME_CONTEXT = 0.3  # share of content words two sentences have in common for a name variant to be one person
# Letters that transliterations and wire styles swap ("Staravoitova", "Starovoitova"; "Tsvangirai",
# "Tsvangirayi"; "Mohammed", "Muhammad"): they are dropped or folded before two spellings are compared.
_TRANSLIT = [("ph", "f"), ("kh", "h"), ("ck", "k"), ("dzh", "j"), ("zh", "j"), ("dj", "j"), ("ou", "u"),
             ("w", "v"), ("y", "i"), ("q", "k"), ("c", "k"), ("x", "ks")]


def _skeleton(word: str) -> str:
    """A word without vowels and doubled letters, transliteration pairs folded: "starovoitova" -> "strvtv"."""
    for old, new in _TRANSLIT:
        word = word.replace(old, new)
    word = re.sub(r"(.)\1+", r"\1", word)
    return word[:1] + re.sub(r"[aeiou]", "", word[1:])


def same_name(a: Name, b: Name) -> bool:
    """Two spellings of one name, not two names: at most one word differs, and it differs only by a
    transliteration (vowels, doubled letters, ph/f, y/i...) or by one typing slip (a letter added, lost,
    changed or two swapped: "Jersualem"), in a word of five letters or more."""
    if len(a.tokens) != len(b.tokens):
        return False
    differing = [(p, q) for p, q in zip(a.tokens, b.tokens, strict=True) if p != q]
    if len(differing) != 1:
        return False
    p, q = differing[0]
    return _skeleton(p) == _skeleton(q) or (min(len(p), len(q)) >= 5 and DamerauLevenshtein.distance(p, q) <= 1)


def _mentioned(name: Name, other: Facts) -> bool:
    """Whether every word of a name occurs in the other sentence (e.g. as its unparsed first word)."""
    return all(t in other.words for t in name.tokens)


def _negation_differences(a: Facts, b: Facts) -> list[Difference]:
    """ "had not received" against "had received" (the other side without any negation), or a denial
    against a confirmation."""
    out = []
    for fx, fy, flip in ((a, b, False), (b, a, True)):
        x, y = fx.polarity, fy.polarity
        if y.cues or not (x.negated or x.denial):
            continue
        found = None
        for s, surface in x.negated if _overlap(fx.content, fy.content) >= MIN_NEGATION_CONTEXT else ():
            word = surface.split()[-1].lower()
            if word in fy.words:  # the same form: "had not received" / "had received"
                found = (surface, word, s)
                break
        if found is None and x.denial and y.affirmation and not x.affirmation and len(x.denied & y.affirmed) >= 2:
            found = (x.denial, y.affirmation, "")
        if found is None and x.ruled_out & y.intends:
            found = (x.denial, y.intent, "")
        if found is not None:
            neg, pos, role = found
            out.append(Difference("negation", pos if flip else neg, neg if flip else pos, _as_written({role}, a)))
            break
    return out


def _attribution_differences(a: Facts, b: Facts) -> list[Difference]:
    """The same claim put in the mouth of different sources: "police said" against "the company claimed".

    Only when both sources are specific and of one sort (two names, or two common nouns: a name and "the
    company" may be the same source), share no word, and neither sentence mentions the other's source."""
    x, y = a.speaker, b.speaker
    if x is None or y is None or x.named != y.named or x.key & y.key or same_source(x, y):
        return []
    if x.key <= {role_word(w) for w in b.words} or y.key <= {role_word(w) for w in a.words}:
        return []
    # Two named sources (an ambassador and the council he told, two outlets that carried one story) most
    # often both said it; two kinds of source ("police" / "the company") are a dispute over who says so.
    if x.named:
        return [Difference("attribution", x.text, y.text, "", ATTRIBUTION_NAMED_CONFIDENCE, ("both may have said it",))]
    return [Difference("attribution", x.text, y.text, "")]


ATTRIBUTION_NAMED_CONFIDENCE = 0.35


def same_source(x: Speaker, y: Speaker) -> bool:
    """Two spellings of one source: a word inside another ("Tridevil" / "FaceookTridevil"), a shared stem of
    five letters ("Argentine" / "Argentinian"), or an acronym of the other's words ("RFDCS")."""
    wx = [w for w in re.findall(r"[a-z]+", x.text.lower()) if w not in STOPWORDS]
    wy = [w for w in re.findall(r"[a-z]+", y.text.lower()) if w not in STOPWORDS]
    for p in wx:
        for q in wy:
            if (min(len(p), len(q)) >= 4 and (p in q or q in p)) or (len(p) >= 5 and len(q) >= 5 and p[:5] == q[:5]):
                return True
    initials_x, initials_y = "".join(w[0] for w in wx), "".join(w[0] for w in wy)
    return any(len(w) >= 3 and w == initials_y for w in wx) or any(len(w) >= 3 and w == initials_x for w in wy)


def differences(a: Facts, b: Facts) -> list[Difference]:
    """Facts two sentences about the same claim state incompatibly: numbers, dates, names, negation, and,
    where nothing else differs, who the claim is attributed to."""
    found = (_quantity_differences(a, b) + _date_differences(a, b) + _name_differences(a, b)
             + _negation_differences(a, b))
    return found or _attribution_differences(a, b)


_MASK_NUMBER = re.compile(
    r"[$£€]?\d+(?:[,.:]\d+)*(?:%|st|nd|rd|th)?(?:-\d+)?|\b(?:"
    + "|".join(sorted(set(UNITS) | set(TENS) | set(SCALES) | {"dozen"} | set(ORDINALS), key=len, reverse=True))
    + r")\b", re.IGNORECASE)
_MASK_DAY = re.compile(r"\b(?:" + "|".join(w.capitalize() for w in WEEKDAYS) + r")\b")


_DATELINE = re.compile(r"^[A-Z][A-Z .'-]+,(?: [A-Z][\w .'-]*)?(?: \([^)]*\))? [—–-]+ ")


def strip_dateline(text: str) -> str:
    """The sentence without a leading dateline ("KELLHAVEN, Varland (Continental Press) — ")."""
    return _DATELINE.sub("", text)


def without_attribution(f: Facts) -> str:
    """The sentence (dateline-free) with its attribution cut out: "the gang was based abroad, ." is what
    two sources are said to agree on when they are compared for an attribution conflict."""
    body = strip_dateline(f.text)
    if f.speaker is None:
        return body
    start, end = f.speaker.span
    return body[:start] + body[end:]


def mask(text: str) -> str:
    """The sentence without dateline and with numbers and weekdays replaced by placeholders, so that
    "14 dead" and "11 dead" read as the same claim to the same-claim decision; facts are compared after."""
    return _MASK_DAY.sub("DAY", _MASK_NUMBER.sub("NUM", strip_dateline(text)))
