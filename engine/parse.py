"""Read articles from files in the formats people have: JSONL, JSON, CSV, text/Markdown, HTML, RSS/Atom.

Readers yield RawItem records (fields as found) or Rejection records (where and why), one input at a
time, so a bad line is reported and skipped while the rest lands, and big files stream.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from newsprism.engine.limits import MAX_PAGE_BYTES, MAX_PAGE_TAGS
from newsprism.engine.records import RawItem, Rejection

JSON_EXT = {".json"}
JSONL_EXT = {".jsonl", ".ndjson"}
CSV_EXT = {".csv", ".tsv"}
TEXT_EXT = {".txt", ".text", ".md", ".markdown"}
HTML_EXT = {".html", ".htm", ".xhtml"}
FEED_EXT = {".rss", ".atom", ".xml"}
KNOWN_EXT = JSON_EXT | JSONL_EXT | CSV_EXT | TEXT_EXT | HTML_EXT | FEED_EXT
MAX_FILE_BYTES = 2_000_000_000

Item = RawItem | Rejection


def read_paths(paths: Iterable[str]) -> Iterator[Item]:
    """Every article in the given files, folders (recursively) and `-` (stdin)."""
    for source in expand_paths(paths):
        if isinstance(source, Rejection):
            yield source
        elif source == "-":
            yield from read_bytes(sys.stdin.buffer.read(), "<stdin>", None)
        else:
            yield from read_file(source)


def expand_paths(paths: Iterable[str]) -> Iterator[Path | str | Rejection]:
    """The sources behind the given paths, in reading order: files (folders recursively), `-`, or why not.

    Split from reading so a distributed reader can hand one file to each worker in the same order.
    """
    for raw in paths:
        if raw == "-":
            yield raw
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            if not files:
                yield Rejection(str(path), "folder holds no files")
            yield from (file for file in files if file.suffix.lower() in KNOWN_EXT)
        elif not path.exists():
            yield Rejection(str(path), "no such file or folder")
        else:
            yield path


def read_file(path: Path) -> Iterator[Item]:
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            yield Rejection(name, f"file is {size} bytes, over the {MAX_FILE_BYTES} limit")
            return
        ext = path.suffix.lower()
        if ext in JSONL_EXT:
            with path.open("rb") as handle:  # streamed: a big JSONL never sits in memory whole
                yield from _guarded(read_jsonl_lines(handle, name), name)
            return
        data = path.read_bytes()
    except OSError as exc:
        yield Rejection(name, f"cannot read: {exc.strerror or exc}")
        return
    yield from read_bytes(data, name, path.suffix.lower())


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    return b"\x00" in head


def _decode(data: bytes, origin: str) -> tuple[str | None, Rejection | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, Rejection(origin, f"not UTF-8 text (bad byte 0x{data[exc.start]:02x} at offset {exc.start})")


def _sniff(text: str) -> str:
    head = text.lstrip()[:500].lower()
    if head.startswith("["):
        return ".json"
    if head.startswith("{"):
        first_line = text.lstrip().split("\n", 1)[0].strip()
        return ".jsonl" if first_line.endswith("}") and "\n" in text.strip() else ".json"
    if head.startswith("<?xml") or "<rss" in head or "<feed" in head:
        return ".xml"
    if head.startswith("<"):
        return ".html"
    return ".txt"


def read_bytes(data: bytes, origin: str, ext: str | None) -> Iterator[Item]:
    """Articles in one input held in memory; `ext` None means sniff the content.

    A reader that fails part-way (a parser bug, input no reader foresaw) costs only the rest of this
    input: what it yielded stays, the failure becomes a rejection, and the next input is read.
    """
    yield from _guarded(_read_bytes(data, origin, ext), origin)


def _guarded(items: Iterator[Item], origin: str) -> Iterator[Item]:
    """The items of one input; a reader failing part-way ends only this input, as a rejection."""
    try:
        yield from items
    except Exception as exc:  # noqa: BLE001 - one input must never abort a whole run
        yield Rejection(origin, f"unreadable: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    """A short reason for a rejection: the error's kind and the first line of its message, bounded."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first[:200]}" if first else type(exc).__name__


def _read_bytes(data: bytes, origin: str, ext: str | None) -> Iterator[Item]:
    if _looks_binary(data):
        yield Rejection(origin, "binary file (NUL bytes), not text")
        return
    if ext in JSONL_EXT:
        yield from read_jsonl_lines(io.BytesIO(data), origin)
        return
    if ext in CSV_EXT:  # row by row: a bad byte costs only its row (kept as a surrogate, then refused)
        text = data.decode("utf-8-sig", "surrogateescape")
        yield from read_csv(text, origin, "\t" if ext == ".tsv" else ",") if text.strip() else [
            Rejection(origin, "empty file")]
        return
    text, error = _decode(data, origin)
    if error:
        yield error
        return
    assert text is not None
    if not text.strip():
        yield Rejection(origin, "empty file")
        return
    kind = ext if ext in KNOWN_EXT else _sniff(text)
    if kind in HTML_EXT | TEXT_EXT and len(data) > MAX_PAGE_BYTES:  # one article: no real one is this big
        yield Rejection(origin, f"{len(data)} bytes, over the {MAX_PAGE_BYTES} one page or text file may have")
        return
    if kind in JSONL_EXT:
        yield from read_jsonl_lines(io.BytesIO(data), origin)
    elif kind in JSON_EXT:
        yield from read_json(text, origin)
    elif kind in CSV_EXT:
        yield from read_csv(text, origin, "\t" if kind == ".tsv" else ",")
    elif kind in HTML_EXT:
        yield from read_html(text, origin)
    elif kind in FEED_EXT:
        yield from read_feed(data, origin)
    else:
        yield from read_text(text, origin, markdown=kind in {".md", ".markdown"})


def read_jsonl_lines(handle: io.BufferedIOBase | io.BytesIO, origin: str) -> Iterator[Item]:
    for number, line in enumerate(handle, 1):
        where = f"{origin}:{number}"
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            yield Rejection(where, f"not UTF-8 (bad byte 0x{line[exc.start]:02x} at column {exc.start + 1})")
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Rejection(where, f"malformed JSON: {exc.msg} at column {exc.colno}")
            continue
        except RecursionError:
            yield Rejection(where, "malformed JSON: nested too deeply")
            continue
        if not isinstance(obj, dict):
            yield Rejection(where, f"expected a JSON object, got {type(obj).__name__}")
            continue
        yield RawItem(obj, where)


def read_json(text: str, origin: str) -> Iterator[Item]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Rejection(f"{origin}:{exc.lineno}", f"malformed JSON: {exc.msg} at column {exc.colno}")
        return
    except RecursionError:  # one entry nested too deeply: read the entries one by one instead
        yield from read_json_entries(text, origin)
        return
    if isinstance(obj, dict):
        if isinstance(obj.get("articles"), list):
            obj = obj["articles"]
        elif isinstance(obj.get("items"), list):
            obj = obj["items"]
        else:
            obj = [obj]
    if not isinstance(obj, list):
        yield Rejection(origin, "expected an array of articles or an object with 'articles'")
        return
    for index, entry in enumerate(obj):
        where = f"{origin}[{index}]"
        if isinstance(entry, dict):
            yield RawItem(entry, where)
        else:
            yield Rejection(where, f"expected a JSON object, got {type(entry).__name__}")


def read_json_entries(text: str, origin: str) -> Iterator[Item]:
    """The entries of a JSON article array decoded one at a time, so one that is nested too deeply
    to decode costs only itself. The array is the document itself or its "articles"/"items" member."""
    spans = _array_entries(text)
    if spans is None:
        yield Rejection(origin, "malformed JSON: nested too deeply")
        return
    for index, (start, end) in enumerate(spans):
        where = f"{origin}[{index}]"
        try:
            entry = json.loads(text[start:end])
        except RecursionError:
            yield Rejection(where, "malformed JSON: nested too deeply")
            continue
        except json.JSONDecodeError as exc:
            yield Rejection(where, f"malformed JSON: {exc.msg}")
            continue
        if isinstance(entry, dict):
            yield RawItem(entry, where)
        else:
            yield Rejection(where, f"expected a JSON object, got {type(entry).__name__}")


def _array_entries(text: str) -> list[tuple[int, int]] | None:
    """(start, end) of each entry of the article array, found by one pass that tracks nesting depth
    and strings without recursing; None when the document holds no such array."""
    stack: list[str] = []
    target: int | None = None  # depth of the article array once found
    spans: list[tuple[int, int]] = []
    start: int | None = None
    last_key: str | None = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if target is None and len(stack) == 1 and stack[0] == "{":
                last_key = text[i + 1:end]
            if target is not None and len(stack) == target and start is None:
                start = i
            i = end + 1
            continue
        if ch in "[{":
            if target is not None and len(stack) == target and start is None:
                start = i
            stack.append(ch)
            if target is None and ch == "[" and (len(stack) == 1 or (
                    len(stack) == 2 and stack[0] == "{" and last_key in ("articles", "items"))):
                target = len(stack)
        elif ch in "]}":
            if target is not None and len(stack) == target:
                if start is not None:
                    spans.append((start, i))
                return spans
            if stack:
                stack.pop()
        elif ch == "," and target is not None and len(stack) == target:
            if start is not None:
                spans.append((start, i))
            start = None
        elif not ch.isspace() and target is not None and len(stack) == target and start is None:
            start = i
        i += 1
    return spans if target is not None else None


_BAD_BYTE = re.compile("[\udc80-\udcff]")  # an undecodable byte, as surrogateescape keeps it


def read_csv(text: str, origin: str, delimiter: str) -> Iterator[Item]:
    csv.field_size_limit(sys.maxsize)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:  # the reader resets: the rows after this one still come
            yield Rejection(f"{origin}:{reader.line_num}", f"malformed CSV: {exc}")
            continue
        where = f"{origin}:{reader.line_num}"
        if None in row:  # more cells than header columns
            yield Rejection(where, f"{len(row[None]) } more cells than the header has columns")
            continue
        bad = next((m for v in row.values() if isinstance(v, str) for m in _BAD_BYTE.finditer(v)), None)
        if bad is not None:
            yield Rejection(where, f"not UTF-8 (bad byte 0x{ord(bad.group()) - 0xDC00:02x})")
            continue
        yield RawItem({k.strip().lower(): v for k, v in row.items() if k}, where)


# Every pattern here runs on untrusted text, so none may backtrack: possessive quantifiers (`*+`) where
# spans could be split many ways, and negated classes that exclude their own opening character, so
# the scans started at different positions never overlap (linear time on any input).
_DATE_LINE = re.compile(
    r"^\s*+(?:date|published|dateline|posted)?+\s*+:?+\s*+"
    r"(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?)\b\s*+(.*)$",
    re.IGNORECASE,
)
_MD_IMAGE = re.compile(r"!\[[^\[\]\n]*\]\([^()\n]*\)")
_MD_LINK = re.compile(r"\[([^\[\]\n]+)\]\([^()\n]*\)")
_MD_HEADING_MARK = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.MULTILINE)
_MD_QUOTE_MARK = re.compile(r"^[ \t]{0,3}>[ \t]?", re.MULTILINE)
_MD_STRONG = re.compile(r"\*\*([^*\n]+)\*\*|__([^_\n]+)__")
_MD_EMPHASIS = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)\*(?!\w)")
_MD_CODE = re.compile(r"`([^`\n]+)`")
_PARAGRAPH_GAP = re.compile(r"\n[^\S\n]*+\n\s*+")


def front_matter(text: str) -> tuple[dict, str]:
    """Fields of a Markdown front matter block (`---` lines around `key: value` lines), and the rest."""
    if not text.startswith("---"):
        return {}, text
    first_end = text.find("\n")
    if first_end < 0 or text[3:first_end].strip():
        return {}, text
    close = text.find("\n---", first_end)
    while close >= 0:
        line_end = text.find("\n", close + 1)
        line_end = len(text) if line_end < 0 else line_end
        if not text[close + 4:line_end].strip():
            break
        close = text.find("\n---", close + 4)
    if close < 0:
        return {}, text
    fields = {}
    for line in text[first_end + 1:close].splitlines():
        key, sep, value = line.partition(":")
        if sep and value.strip():
            fields[key.strip().lower()] = value.strip().strip("\"'")
    return fields, text[line_end + 1:]


def markdown_heading(line: str) -> str | None:
    """The text of an ATX heading line (`## Title ##`), or None."""
    body = line.lstrip(" ")
    if len(line) - len(body) > 3 or not body.startswith("#"):
        return None
    level = len(body) - len(body.lstrip("#"))
    rest = body[level:]
    if level > 6 or not rest[:1].isspace():
        return None
    title = rest.strip().rstrip("#").rstrip()
    return title or None


def read_text(text: str, origin: str, markdown: bool = False) -> Iterator[Item]:
    """One article a file. A leading date line (`date 2023-12-28 ...`) gives the date; whatever
    follows the date on that line stays as text (cleaning decides if it is boilerplate)."""
    fields, text = front_matter(text) if markdown else ({}, text)
    lines = text.split("\n")
    index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if index is not None:
        match = _DATE_LINE.match(lines[index])
        if match:
            fields.setdefault("date", match.group(1))
            lines[index] = match.group(2)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        heading = markdown_heading(line) if markdown else None
        if heading and "title" not in fields:
            fields["title"] = heading
            lines[i] = ""
        break
    body = "\n".join(lines)
    if markdown:
        body = strip_markdown(body)
    fields["text"] = body
    yield RawItem(fields, origin)


def strip_markdown(text: str) -> str:
    """Markdown syntax that would otherwise land inside sentences: links, emphasis, headings, images."""
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_HEADING_MARK.sub("", text)
    text = _MD_QUOTE_MARK.sub("", text)
    text = _MD_STRONG.sub(lambda m: m.group(1) or m.group(2), text)
    text = _MD_EMPHASIS.sub(r"\1", text)
    return _MD_CODE.sub(r"\1", text)


def read_html(text: str, origin: str) -> Iterator[Item]:
    """Main text and metadata of a page, by trafilatura (made for news pages).

    trafilatura's cost grows faster than the number of elements, so a page with more tags than any
    news page has (MAX_PAGE_TAGS) is refused before it is parsed.
    """
    import trafilatura

    tags = text.count("<")
    if tags > MAX_PAGE_TAGS:
        yield Rejection(origin, f"page holds {tags} tags, over the {MAX_PAGE_TAGS} a page may have")
        return

    doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False, favor_precision=True)
    if doc is None:
        yield Rejection(origin, "no article text found in the HTML page")
        return
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    body = data.get("text") or ""
    if not body.strip():
        yield Rejection(origin, "no article text found in the HTML page")
        return
    fields = {"text": body.replace("\n", "\n\n"), "title": data.get("title"), "date": data.get("date"),
              "url": data.get("url"), "source": data.get("sitename") or data.get("hostname")}
    yield RawItem({k: v for k, v in fields.items() if v}, origin)


def read_feed(data: bytes, origin: str) -> Iterator[Item]:
    """Entries of an RSS/Atom file; entry HTML is reduced to text."""
    import feedparser

    # a file object, never bytes or str: feedparser opens a string or bytes that names a file or URL
    feed = feedparser.parse(io.BytesIO(data))
    if not feed.entries:
        reason = getattr(feed, "bozo_exception", None)
        yield Rejection(origin, f"no feed entries found{f' ({reason})' if reason else ''}")
        return
    site = feed.feed.get("title") or feed.feed.get("link")
    for index, entry in enumerate(feed.entries):
        where = f"{origin}#entry{index + 1}"
        try:
            yield _feed_item(entry, site, where)
        except Exception as exc:  # noqa: BLE001 - one odd entry costs only itself
            yield Rejection(where, f"unreadable feed entry: {_describe(exc)}")


def _feed_item(entry: dict, site: str | None, where: str) -> RawItem:
    """One feed entry as a raw article."""
    content = entry.get("content")
    html = content[0].get("value") if content else entry.get("summary", "")
    fields = {"title": entry.get("title"), "text": html_to_text(html or ""), "url": entry.get("link"),
              "id": entry.get("id"), "date": entry.get("published") or entry.get("updated"),
              "source": entry.get("source", {}).get("title") if entry.get("source") else None}
    if not fields["source"] and site and not fields["url"]:
        fields["source"] = site
    return RawItem({k: v for k, v in fields.items() if v}, where)


BLOCK_TAGS = frozenset({"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
                        "section", "article", "header", "footer", "tr", "table", "figure", "figcaption", "hr",
                        "pre", "dd", "dt", "dl", "aside", "main", "nav"})
SKIP_TAGS = ("script", "style", "template", "noscript")
_TAG_NAME = re.compile(r"/?+([A-Za-z][A-Za-z0-9-]{0,31})")
_SKIP_END = {name: re.compile(rf"</{name}[^\S<>]*+>", re.IGNORECASE) for name in SKIP_TAGS}


def html_to_text(html: str) -> str:
    """Paragraph-preserving text of an HTML fragment (feed entries, inline HTML bodies).

    A single left-to-right scan (no backtracking regex, and not `html.parser`, which is quadratic
    on unclosed tags and attributes in this Python): every character is looked at a bounded number
    of times, so a page of 200k `<` costs as much as any other 200k characters. A `<` that opens no
    tag (`a < b`, `<<<`) stays as text, as a browser shows it.
    """
    from html import unescape

    parts: list[str] = []
    i, n = 0, len(html)
    close_at = -1  # the next ">" at or after i, found once and reused (never rescanned)
    while i < n:
        lt = html.find("<", i)
        if lt < 0:
            parts.append(html[i:])
            break
        parts.append(html[i:lt])
        if html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            i = n if end < 0 else end + 3
            continue
        name = _TAG_NAME.match(html, lt + 1)
        opens = name is not None or html.startswith(("<!", "<?"), lt)
        if close_at < lt + 1:
            close_at = html.find(">", lt + 1)
            if close_at < 0:  # no ">" left: no tag can close, the rest is text
                parts.append(html[lt:])
                break
        if not opens:  # no tag: the "<" is text
            parts.append("<")
            i = lt + 1
            continue
        tag = name.group(1).lower() if name else ""
        closing = html.startswith("</", lt)
        i = close_at + 1
        if tag in BLOCK_TAGS:
            parts.append("\n\n")
        elif tag:
            parts.append(" ")
        if tag in _SKIP_END and not closing and html[close_at - 1] != "/":
            end = _SKIP_END[tag].search(html, i)
            i = n if end is None else end.end()
    text = unescape("".join(parts))
    return "\n\n".join(" ".join(p.split()) for p in _PARAGRAPH_GAP.split(text) if p.strip())
