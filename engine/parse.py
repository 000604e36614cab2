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

from engine.records import RawItem, Rejection

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
                yield from read_jsonl_lines(handle, name)
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
    """Articles in one input held in memory; `ext` None means sniff the content."""
    if _looks_binary(data):
        yield Rejection(origin, "binary file (NUL bytes), not text")
        return
    if ext in JSONL_EXT:
        yield from read_jsonl_lines(io.BytesIO(data), origin)
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


def read_csv(text: str, origin: str, delimiter: str) -> Iterator[Item]:
    csv.field_size_limit(sys.maxsize)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            where = f"{origin}:{reader.line_num}"
            if None in row:  # more cells than header columns
                yield Rejection(where, f"{len(row[None]) } more cells than the header has columns")
                continue
            yield RawItem({k.strip().lower(): v for k, v in row.items() if k}, where)
    except csv.Error as exc:
        yield Rejection(f"{origin}:{reader.line_num}", f"malformed CSV: {exc}")


_DATE_LINE = re.compile(
    r"^\s*(?:date|published|dateline|posted)?\s*:?\s*"
    r"(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?)\b\s*(.*)$",
    re.IGNORECASE,
)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_MD_FRONT = re.compile(r"^---\s*\n(.*?)\n---\s*\n", re.DOTALL)


def read_text(text: str, origin: str, markdown: bool = False) -> Iterator[Item]:
    """One article a file. A leading date line (`date 2023-12-28 ...`) gives the date; whatever
    follows the date on that line stays as text (cleaning decides if it is boilerplate)."""
    fields: dict = {}
    front = _MD_FRONT.match(text) if markdown else None
    if front:
        for line in front.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep and value.strip():
                fields[key.strip().lower()] = value.strip().strip("\"'")
        text = text[front.end():]
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
        heading = _MD_HEADING.match(line) if markdown else None
        if heading and "title" not in fields:
            fields["title"] = heading.group(1)
            lines[i] = ""
        break
    body = "\n".join(lines)
    if markdown:
        body = strip_markdown(body)
    fields["text"] = body
    yield RawItem(fields, origin)


def strip_markdown(text: str) -> str:
    """Markdown syntax that would otherwise land inside sentences: links, emphasis, headings, images."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^\s{0,3}#{1,6}\s+", "", text, flags=re.MULTILINE)
    text = re.sub(r"^\s{0,3}>\s?", "", text, flags=re.MULTILINE)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)([^*\n]+?)\*(?!\w)", r"\1", text)
    return re.sub(r"`([^`]+)`", r"\1", text)


def read_html(text: str, origin: str) -> Iterator[Item]:
    """Main text and metadata of a page, by trafilatura (made for news pages)."""
    import trafilatura

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

    feed = feedparser.parse(data)
    if not feed.entries:
        reason = getattr(feed, "bozo_exception", None)
        yield Rejection(origin, f"no feed entries found{f' ({reason})' if reason else ''}")
        return
    site = feed.feed.get("title") or feed.feed.get("link")
    for index, entry in enumerate(feed.entries):
        where = f"{origin}#entry{index + 1}"
        content = entry.get("content")
        html = content[0].get("value") if content else entry.get("summary", "")
        fields = {"title": entry.get("title"), "text": html_to_text(html or ""), "url": entry.get("link"),
                  "id": entry.get("id"), "date": entry.get("published") or entry.get("updated"),
                  "source": entry.get("source", {}).get("title") if entry.get("source") else None}
        if not fields["source"] and site and not fields["url"]:
            fields["source"] = site
        yield RawItem({k: v for k, v in fields.items() if v}, where)


def html_to_text(html: str) -> str:
    """Paragraph-preserving text of an HTML fragment (feed entries, inline HTML bodies)."""
    from html import unescape

    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    text = re.sub(r"(?i)<\s*(br|/p|/div|/li|/h[1-6]|/blockquote)\s*/?>", "\n\n", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = unescape(text)
    return "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip())
