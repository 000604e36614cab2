"""Adversarial 200k-character inputs against every text-facing pattern and function (run in a child process).

`python -m tests.linear_check patterns|functions [SIZE]` prints one JSON line per case, as it goes:
{"case": "newsprism.engine.parse._DATE_LINE", "input": "' ' x 200000", "seconds": 0.01}; a case over SLOW
seconds is timed on a quarter of the input as well (`quarter_seconds`), so growth shows apart from
how loaded the machine is. A quadratic case grows 16x, a stall shows as the last line before the
parent's timeout.
Patterns are found, not listed: every compiled pattern (or list of them) at module level in
engine/, so a pattern added later is checked too.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Runs of what markup, Markdown, datelines, numbers and quotes are made of: each tends to send a
# backtracking pattern into a scan per start position (or worse, per way of splitting a run).
UNITS = ["<", "<p>", "<p ", "<a b=", "<a href='", "<!--", "</", "<?", "<div><p><span>", " ", "\n", " \n", "\t",
         "1", "1,", "1.", "1:", "1-1", "$1", '"', "'", "![", "[", "](", "[a](", "**", "*a", "__", "`", "#", "# ",
         "---\n", "A", "A ", "A,", "A.", "A (", "a'", "a.", "p.m. ", "No. ", "http://", "www.", "@", "#a", "(",
         "By A", "date ", "He ", "&amp;", "&#"]
ENGINE = Path(__file__).resolve().parent.parent / "engine"
SLOW = 0.5  # seconds at full size above which growth is measured too
GROWTH = 8.0  # full size / quarter size time ratio above which a case is superlinear (linear: 4, quadratic: 16)


# Functions run whole pipelines of patterns and loops, so they get the units that matter most.
FUNCTION_UNITS = ["<", "<p>", "<p ", "<a b=", "<!--", "</", " ", "\n", " \n", "1", "1,", '"', "![", "[a](", "**",
                  "*a", "#", "# ", "---\n", "A", "A.", "p.m. ", "No. ", "http://", "date "]


def adversarial(size: int, units: list[str] = UNITS) -> list[tuple[str, str]]:
    """(label, text) pairs: each unit repeated to `size` characters, and the issue's bomb."""
    out = []
    for unit in units:
        run = (unit * (size // len(unit) + 1))[:size]
        out.append((f"{unit!r} x {size}", run))
    out.append((f"'<p>' + '<' x {size - 10}", "<p>" + "<" * (size - 10)))  # the reported bomb
    out.append((f"'date: ' + ' ' x {size}", "date:" + " " * size + "x"))
    return out


def patterns() -> dict[str, re.Pattern]:
    """Every compiled pattern at module level in engine/ (lists and dicts of patterns too)."""
    found: dict[str, re.Pattern] = {}
    for info in pkgutil.iter_modules([str(ENGINE)]):
        module = importlib.import_module(f"newsprism.engine.{info.name}")
        for name, value in vars(module).items():
            items = value.items() if isinstance(value, dict) else enumerate(value) \
                if isinstance(value, list | tuple) else [(None, value)]
            for key, item in items:
                if isinstance(item, re.Pattern):
                    found[f"newsprism.engine.{info.name}.{name}" + (f"[{key!r}]" if key is not None else "")] = item
    return found


def functions() -> dict[str, Callable[[str], object]]:
    """The engine's entry points that take raw text, each wrapped to take one string."""
    from newsprism.engine import clean, diff, facts, parse, sameclaim, search, sentences, summarize
    from newsprism.engine.records import RawItem

    def read(ext: str) -> Callable[[str], object]:
        return lambda text: list(parse.read_bytes(text.encode("utf-8", "replace"), "input", ext))

    return {
        "clean.clean_text": clean.clean_text,
        "clean.to_article": lambda text: clean.to_article(RawItem({"text": text, "title": text[:2000],
                                                                   "date": text[:64]}, "x"), 1_000_000),
        "clean.normalize_date": lambda text: clean.normalize_date(text[:64]),
        "clean.drop_boilerplate": clean.drop_boilerplate,
        "clean.clean_field": clean.clean_field,
        "parse.html_to_text": parse.html_to_text,
        "parse.strip_markdown": parse.strip_markdown,
        "parse.read .txt": read(".txt"),
        "parse.read .md": read(".md"),
        "parse.read .html": read(".html"),
        "sentences.split_sentences": sentences.split_sentences,
        "facts.extract": lambda text: facts.extract(text, "2025-03-05T10:00:00Z"),
        "facts.mask": facts.mask,
        "sameclaim.token_info": sameclaim.token_info,
        "summarize.exclusion_reason": summarize.exclusion_reason,
        "summarize.tokens": summarize.tokens,
        "summarize.trim": summarize.trim,
        "search.fts_query": search.fts_query,
        "search.has_phrases": lambda text: search.has_phrases(text, ["ferry capsized"]),
        "diff.diff_versions": lambda text: diff.diff_versions(text, text[::-1]),
    }


def run(kind: str, size: int) -> None:
    cases = patterns() if kind == "patterns" else functions()
    if kind == "functions":  # dateparser loads its language data on first use: a one-time cost, not the input's
        from newsprism.engine.clean import normalize_date

        for warm in ("5 March 2025", "date:", "p.m."):
            normalize_date(warm)
    units = UNITS if kind == "patterns" else FUNCTION_UNITS
    inputs, quarter = adversarial(size, units), dict(adversarial(size // 4, units))
    for name, target in cases.items():
        for (label, text), small in zip(inputs, quarter.values(), strict=True):
            seconds = timed(target, text)
            row = {"case": name, "input": label, "seconds": seconds}
            if seconds > SLOW:  # how it grows: a quarter of the input should take about a quarter of the time
                row["quarter_seconds"] = timed(target, small)
                for _ in range(3):  # a load spike? measure both again (a square still shows as 16x)
                    if row["seconds"] <= SLOW or row["seconds"] <= GROWTH * row["quarter_seconds"]:
                        break
                    row["seconds"] = min(row["seconds"], timed(target, text))
                    row["quarter_seconds"] = max(row["quarter_seconds"], timed(target, small))
            print(json.dumps(row), flush=True)


def timed(target: re.Pattern | Callable[[str], object], text: str) -> float:
    start = time.perf_counter()
    if isinstance(target, re.Pattern):
        target.match(text)
        for _ in target.finditer(text):
            pass
    else:
        target(text)
    return round(time.perf_counter() - start, 4)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200_000)
