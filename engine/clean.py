"""From raw input records to clean Article records: field names, dates, ids, boilerplate.

People name fields in many ways (text/body/content, source/outlet/publisher...) and sites wrap
articles in boilerplate (newsletter pitches, bylines, photo credits). Both are settled here.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlparse

from newsprism.engine.limits import MAX_DATE_CHARS, MAX_ID_CHARS, MAX_OUTLET_CHARS, MAX_TITLE_CHARS, MAX_URL_CHARS
from newsprism.engine.parse import html_to_text
from newsprism.engine.records import Article, RawItem, Rejection

TEXT_FIELDS = ("text", "body", "content", "article", "story", "description", "summary")
TITLE_FIELDS = ("title", "headline", "heading")
SOURCE_FIELDS = ("source", "outlet", "publisher", "site", "sitename", "site_name", "source_name", "domain")
DATE_FIELDS = ("published", "date", "pubdate", "datetime", "published_at", "publishedat", "pub_date",
               "timestamp", "time", "created_at", "updated")
URL_FIELDS = ("url", "link", "href", "permalink")
ID_FIELDS = ("id", "guid", "article_id", "uid", "doc_id")

_BOILERPLATE_RULES = [re.compile(p, re.IGNORECASE) for p in (
    r"^(sign up|subscribe|register)\b.{0,120}\b(newsletter|updates|emails?|inbox|alerts|briefing)\b",
    r"^(get|want) (the|our) .{0,60}\b(newsletter|briefing|alerts)\b",
    r"^(read|see|watch|listen)( more| also| next)?\s*[:|>\-–—]",
    r"^(related|recommended|more on this( story)?|further reading|most read)\s*[:|>\-–—]?",
    r"^by [A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}(?:\s+(?:and|&)\s+[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3})?"
    r"(?:\s*[,|/–—-]\s*.{0,60})?$",
    r"^\(?(photo|image|picture|video|graphic|illustration|photograph|file photo)s?( credit)?\s*(by)?\s*[:/]",
    r"^credits?\s*:",
    r"^(this|the) (audio|article|story) (is|was) (created|generated|produced|read) with ai",
    r"^listen to (this|the) (article|story)",
    r"^(share|email|print|tweet)( this)?( article| story| page)?\s*$",
    r"^share (this|on) ",
    r"^follow us on\b",
    r"^(copyright|©|\(c\) )",
    r"all rights reserved\.?$",
    r"^(advertisement|advertising|sponsored( content)?|ad|skip advertisement)\s*$",
    r"^(click|tap) here\b",
    r"^(updated|published|last updated|posted)\s*:?\s*[\w ,:.]{0,40}\d{1,2}[:.]\d{2}\s*(am|pm|gmt|utc|[a-z]{2,4})?\.?$",
    r"^(reporting|additional reporting|writing|editing)( by)? [A-Z].{0,120}$",
    r"^(support|donate to) (our|independent) (journalism|reporting)\b",
    r"^we use cookies\b",
)]
_MAX_BOILERPLATE_WORDS = 30
# Languages dateparser tries for a date in words. Left open it tries every locale it knows, and a
# short odd string ("date:", "p.m. p.m. ...") then costs 5-9 s of CPU; with these, milliseconds.
DATE_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "ru", "pl", "tr", "sv", "da", "nb", "ar", "zh", "ja")
# Code points that show nothing or reorder what is shown: controls (C0 but tab and newlines, DEL, C1),
# zero-width and bidi controls (an RLO in a title turns "gpj.exe" into "exe.jpg"), invisible
# operators, line/paragraph separators, BOM, interlinear annotations, lone surrogates, tag characters.
_CONTROL = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f"
                      "\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
                      "\ud800-\udfff\U000e0000-\U000e007f]")
_FIELD_UNSAFE = re.compile("[\t\n\r]")
_LOOKS_HTML = re.compile(r"<\s*+(?:p|br|div|span|a\s|li|h[1-6]|strong|em)\b[^<>]*+>", re.IGNORECASE)


@dataclass(frozen=True)
class DateRange:
    """Publication dates taken as real: from `earliest` to `future_days` after the moment of reading.

    A date outside (year 9999, year 1066) is a typo or an attack; stored, it would drag the story
    clock and break every timeline drawn from it.
    """

    earliest: str = "1900-01-01"
    future_days: float = 2.0

    def bounds(self) -> tuple[str, str]:
        try:
            latest = (datetime.now(UTC) + timedelta(days=self.future_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        except OverflowError:  # a range opened past the calendar: no upper bound
            latest = "9999-12-31T23:59:59Z"
        start = normalize_date(self.earliest) or "1900-01-01T00:00:00Z"
        return start, latest

    def problem(self, published: str) -> str | None:
        """Why an ISO UTC date is out of range (None when it is in)."""
        start, end = self.bounds()
        if start <= published <= end:
            return None
        return (f"date {published} is outside the accepted range {start[:10]} .. {end[:10]} "
                f"(settings date_min and date_future_days)")


def clean_field(value: str | None) -> str:
    """A one-line field (title, outlet, url, id) without control, bidi or invisible characters."""
    if not value:
        return ""
    value = _CONTROL.sub("", unicodedata.normalize("NFC", value))
    return " ".join(_FIELD_UNSAFE.sub(" ", value).split())


def first_field(fields: dict, names: Iterable[str]) -> str | None:
    """The first non-empty value among `names` (case-insensitive keys), as text."""
    lowered = {str(k).lower(): v for k, v in fields.items()}
    for name in names:
        value = lowered.get(name)
        if isinstance(value, dict):
            value = value.get("name") or value.get("title") or value.get("href")
        if isinstance(value, list):
            value = "\n\n".join(str(v) for v in value if v)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def normalize_date(value: str | None) -> str | None:
    """ISO-8601 UTC ('2023-12-28T00:00:00Z') from the forms feeds, CMSs and people write."""
    if not value:
        return None
    value = value.strip()
    parsed: datetime | None = None
    if re.fullmatch(r"\d{9,13}(\.\d+)?", value):  # epoch seconds or milliseconds
        seconds = float(value)
        parsed = datetime.fromtimestamp(seconds / 1000 if seconds > 1e11 else seconds, UTC)
    elif re.fullmatch(r"[\d.eE+-]+", value) and not re.fullmatch(r"\d{4}(-\d{2}){0,2}", value):
        return None  # a bare number that is no epoch time is no date either
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        import dateparser

        parsed = dateparser.parse(value, languages=list(DATE_LANGUAGES),
                                  settings={"TIMEZONE": "UTC", "RETURN_AS_TIMEZONE_AWARE": True,
                                            "PREFER_DAY_OF_MONTH": "first"})
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError):  # e.g. year 1 with a positive offset: no such UTC time
        return None


def domain_of(url: str | None) -> str | None:
    """The site of a URL, or None when there is none to read (`urlparse` raises on a stray `[` or `]`)."""
    if not url:
        return None
    try:
        host = urlparse(url if "//" in url else f"//{url}").hostname or ""
    except ValueError:  # "http://[::1" and the like: no host to name
        return None
    return host.removeprefix("www.") or None


def stable_id(url: str | None, text: str) -> str:
    """A stable id from the URL (or the text), so re-ingesting the same input finds the same article."""
    key = (url or "").strip() or normalized_text(text)
    return "a" + hashlib.sha1(key.encode()).hexdigest()[:15]


def normalized_text(text: str) -> str:
    """Case, punctuation and spacing folded: two texts equal here are the same article text."""
    return " ".join(re.findall(r"\w+", text.lower()))


def line_key(line: str) -> str:
    """Key of a paragraph for counting lines that recur across one outlet's articles."""
    return hashlib.sha1(normalized_text(line).encode()).hexdigest()[:16]


def is_boilerplate(line: str) -> bool:
    """Rule-based: the lines sites wrap around articles (never a long real paragraph)."""
    stripped = line.strip().strip("*_").strip()
    if len(stripped.split()) > _MAX_BOILERPLATE_WORDS:
        return False
    return any(rule.search(stripped) for rule in _BOILERPLATE_RULES)


def clean_text(text: str) -> str:
    """Unicode-normalised text with one paragraph per block, separated by blank lines."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\t", " ")
    text = _CONTROL.sub("", text)
    if _LOOKS_HTML.search(text):
        text = html_to_text(text)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n\n".join(line for line in lines if line)


def paragraphs_of(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def drop_boilerplate(text: str, recurring: set[str] | frozenset[str] = frozenset()) -> tuple[str, int]:
    """Text without boilerplate paragraphs (by rule, or recurring in this outlet); and how many went."""
    kept, dropped = [], 0
    for para in paragraphs_of(text):
        if is_boilerplate(para) or (recurring and is_short_line(para) and line_key(para) in recurring):
            dropped += 1
        else:
            kept.append(para)
    return "\n\n".join(kept), dropped


def is_short_line(para: str) -> bool:
    """Only short paragraphs can count as recurring boilerplate: wire copies repeat long ones."""
    return len(para.split()) <= 25


FIELD_LIMITS = (("id", MAX_ID_CHARS), ("title", MAX_TITLE_CHARS), ("outlet", MAX_OUTLET_CHARS),
                ("url", MAX_URL_CHARS))


def to_article(item: RawItem, max_chars: int, dates: DateRange | None = None) -> Article | Rejection:
    """Normalise one raw record's fields; the text is cleaned but boilerplate is dropped later.

    Every field is bounded (engine/limits.py) and read before any pattern touches it, so one
    record costs work in proportion to its size; a date outside `dates` is rejected.
    """
    fields = item.fields
    raw_text = first_field(fields, TEXT_FIELDS)
    if raw_text is None and any(str(k).lower() in TEXT_FIELDS for k in fields):
        return Rejection(item.origin, "empty text")
    if raw_text is None:
        present = ", ".join(sorted(clean_field(str(k))[:40] for k in fields)[:20]) or "none"
        return Rejection(item.origin, f"no article text: none of the fields {'|'.join(TEXT_FIELDS[:3])} "
                                      f"(fields present: {present})")
    if len(raw_text) > max_chars:
        return Rejection(item.origin, f"text of {len(raw_text)} characters is over the {max_chars} limit")
    url = clean_field(first_field(fields, URL_FIELDS)) or None
    values = {"id": clean_field(first_field(fields, ID_FIELDS)), "url": url or "",
              "title": clean_field(first_field(fields, TITLE_FIELDS)),
              "outlet": clean_field(first_field(fields, SOURCE_FIELDS))}
    for name, limit in FIELD_LIMITS:
        if len(values[name]) > limit:
            return Rejection(item.origin, f"{name} of {len(values[name])} characters is over the {limit} limit")
    date_raw = first_field(fields, DATE_FIELDS)
    if date_raw and len(date_raw) > MAX_DATE_CHARS:
        return Rejection(item.origin, f"date of {len(date_raw)} characters is over the {MAX_DATE_CHARS} limit")
    published = normalize_date(date_raw)
    if date_raw and published is None:
        return Rejection(item.origin, f"unreadable date {clean_field(date_raw)[:40]!r}")
    problem = (dates or DateRange()).problem(published) if published else None
    if problem:
        return Rejection(item.origin, problem)
    text = clean_text(raw_text)
    if not any(ch.isalpha() for ch in text):
        return Rejection(item.origin, "empty text")
    return Article(
        digest=hashlib.sha1(normalized_text(text).encode()).hexdigest(),
        id=values["id"] or stable_id(url, text),
        text=text,
        title=values["title"],
        outlet=values["outlet"] or domain_of(url) or "unknown",
        published=published,
        url=url,
        origin=item.origin,
    )
