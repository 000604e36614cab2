"""HTML from Jinja2 templates (api/templates/), autoescape on: the static report files and the served pages.

The engine computes what a report says (engine/report.py); this module turns it into pages. Every
value reaches the HTML through a template expression, so article text, titles, outlet names and URLs
are escaped by Jinja2 (text and attributes alike); a URL that is not http(s) is shown as text, never
linked (`safe_url`). Chart geometry (timeline, heatmap, bars) is computed here as plain numbers and
drawn by the templates as inline SVG.

The static report is one self-contained file (inline CSS and SVG, no scripts, nothing fetched; its
Content-Security-Policy says so); the served pages add a navigation bar and forms and link every
article to its own page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from newsprism.engine.report import (
    CONFLICT_LABEL,
    KIND_LABEL,
    date_span,
    earliest_by_outlet,
    flagged_claims,
    parse_time,
    plural,
    safe_url,
    when,
)

TEMPLATES = Path(__file__).with_name("templates")
# Constants, not input: marked safe so the policy's quotes reach the <meta> as written.
REPORT_CSP = Markup("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                    "form-action 'none'")
# The served pages' own policy; the app's SecurityHeaders middleware adds `frame-ancestors 'none'` to it.
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'"

# Outlet colours: distinguishable, readable on white, kept apart from the semantic reds, greens and violet.
PALETTE = ("#0b6fb0", "#e07b00", "#2f8f9d", "#c2378d", "#6b4fb3", "#8c6d31", "#d1495b", "#4f7a28", "#3d5a80",
           "#7a7a7a")
HEAT_LOW, HEAT_HIGH = (238, 243, 251), (23, 63, 122)
WIDE_HEATMAP = 8  # outlets beyond which the heatmap keeps its size and scrolls on small screens
SHARED_FILL, EXCLUSIVE_FILL = "#2b59c3", "#a3abb9"
FIRST_MOMENT = datetime(1, 1, 2, tzinfo=UTC).timestamp()
LAST_MOMENT = datetime(9999, 12, 30, tzinfo=UTC).timestamp()
_STEPS = (900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(safe_url=safe_url, when=when, plural=plural, date_span=date_span, kind_label=KIND_LABEL,
                       conflict_label=CONFLICT_LABEL, marked=marked, highlighted=highlighted)
    env.globals["article_href"] = Links(served=True).article
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


# -- links: the static files link to the articles' own URLs, the served pages to their own article pages ----------


@dataclass(frozen=True, slots=True)
class Links:
    """Where a report's links go. `served` pages link articles and stories inside the app."""

    served: bool = False

    def article(self, article_id: str) -> str | None:
        return f"/ui/articles/{quote(article_id, safe='')}" if self.served else None

    def story(self, story_id: int) -> str | None:
        return f"/ui/stories/{int(story_id)}" if self.served else None


def page_url(path: str, params: dict, **changes) -> str:
    """`path?query` with `changes` applied to `params`; empty values are left out."""
    merged = {**params, **changes}
    query = urlencode([(k, v) for k, v in merged.items() if v not in (None, "", False)])
    return f"{path}?{query}" if query else path


# -- report view ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ReportView:
    """What the report templates look up beside the data: outlet colours and short names, charts."""

    colour: dict[str, int]
    abbr: dict[str, str]
    independent: int
    disputed: dict[str, int] = field(default_factory=dict)
    flagged: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, data: dict) -> ReportView:
        names = [o["name"] for o in data["outlets"]]
        disputed = {side["claim_id"]: n for n, conflict in enumerate(data["conflicts"], 1)
                    for side in conflict["sides"] if side.get("claim_id")}
        return cls({n: i for i, n in enumerate(names)}, abbreviations(names),
                   max(1, data["counts"]["independent_reports"]), disputed,
                   {c["id"] for c in flagged_claims(data)})

    def cls(self, outlet: str) -> str:
        return f"o{self.colour[outlet] % len(PALETTE)}" if outlet in self.colour else ""

    def fill(self, outlet: str) -> str:
        return PALETTE[self.colour.get(outlet, 0) % len(PALETTE)]


def abbreviations(names: Sequence[str]) -> dict[str, str]:
    """Short, unique labels for chart axes: initials of the significant words ('NBS', 'CP')."""
    out: dict[str, str] = {}
    for name in names:
        words = [w for w in re.findall(r"[\w']+", name) if w.lower() not in {"the", "of", "and", "a", "de", "la"}]
        short = "".join(w[0] for w in words).upper() if len(words) > 1 else (words[0][:3] if words else "?")
        base, k = short[:4], 2
        short = base
        while short in out.values():
            short, k = f"{base}{k}", k + 1
        out[name] = short
    return out


def marked(sentence: str, value: str, span: Sequence[int] | None = None) -> tuple[str, str, str]:
    """(before, the disputed value as written, after) for a <mark>: where the conflict's `value_span` says, else
    the value's first occurrence in any case."""
    if span and 0 <= span[0] < span[1] <= len(sentence):
        return sentence[:span[0]], sentence[span[0]:span[1]], sentence[span[1]:]
    at = sentence.lower().find(value.lower()) if value else -1
    if at < 0:
        return sentence, "", ""
    end = at + len(value)
    return sentence[:at], sentence[at:end], sentence[end:]


def highlighted(text: str, query: str) -> list[tuple[str, bool]]:
    """The text in pieces, each flagged when it is one of the query's words (3+ letters, any case)."""
    words = sorted({w for w in re.findall(r"\w{3,}", query.lower())}, key=len, reverse=True)
    if not words:
        return [(text, False)]
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\w*", re.I)
    out, at = [], 0
    for m in pattern.finditer(text):
        if m.start() > at:
            out.append((text[at:m.start()], False))
        out.append((m.group(0), True))
        at = m.end()
    if at < len(text):
        out.append((text[at:], False))
    return out


# -- charts ----------------------------------------------------------------------------------------------------


def _ticks(t0: float, t1: float, most: int = 6) -> list[float]:
    span = t1 - t0
    step = next((s for s in _STEPS if span / s <= most), math.ceil(span / most / 86400) * 86400)
    first = math.ceil(t0 / step) * step
    return [first + k * step for k in range(int((t1 - first) // step) + 1)]


def timeline_chart(data: dict, view: ReportView, links: Links) -> dict | None:
    """One row per outlet (first to report on top), one dot per article on a shared time axis."""
    dated = [(a, parse_time(a["published"])) for a in data["articles"]]
    dated = [(a, t.timestamp()) for a, t in dated if t is not None]
    if not dated:
        return None
    lo, hi = min(t for _, t in dated), max(t for _, t in dated)
    pad = max((hi - lo) * 0.06, 1800)
    t0, t1 = max(lo - pad, FIRST_MOMENT), min(hi + pad, LAST_MOMENT)  # the axis stays on the calendar

    def x(t: float) -> str:
        return f"{(t - t0) / (t1 - t0) * 100:.2f}%"

    rows: dict[str, list[tuple[dict, float]]] = {}
    for a, t in sorted(dated, key=lambda p: p[1]):
        rows.setdefault(a["outlet"], []).append((a, t))
    step, top = 46, 4
    height = top + step * len(rows)
    ticks = _ticks(t0, t1)
    daily = len(ticks) > 1 and ticks[1] - ticks[0] >= 86400
    axis, last_day = [], None
    for k, t in enumerate(ticks):
        moment = datetime.fromtimestamp(t, UTC)
        day = f"{moment.day} {moment:%b}"
        line2 = "" if daily or day == last_day else day
        share = (t - t0) / (t1 - t0)
        axis.append({"x": x(t), "cls": "dim minor" if k % 2 and len(ticks) > 3 and not line2 else "dim",
                     "anchor": "start" if share < 0.06 else ("end" if share > 0.94 else "middle"),
                     "label": day if daily else f"{moment:%H:%M}", "line2": line2})
        last_day = day
    lines = []
    for r, (outlet, items) in enumerate(rows.items()):
        y = top + r * step
        colour = view.fill(outlet)
        spots = [(t - t0) / (t1 - t0) for _, t in items]
        room = 0.2 if daily else 0.12  # the share of the width a time label needs beside its dot
        dots = []
        for k, (a, t) in enumerate(items):
            hollow = bool(a["copy_of"])
            near_end = spots[k] > 0.8
            beside = k - 1 if near_end else k + 1  # the dot on the label's side
            stamp = None
            if not 0 <= beside < len(spots) or abs(spots[beside] - spots[k]) >= room:  # no label where they collide
                moment = datetime.fromtimestamp(t, UTC)
                stamp = {"text": f"{moment.day} {moment:%b} {moment:%H:%M}" if daily else f"{moment:%H:%M}",
                         "dx": -11 if near_end else 11, "anchor": "end" if near_end else "start",
                         "cls": "dim minor" if daily else "dim"}
            dots.append({"x": x(t), "r": 7 if a["first"] else 6, "fill": "#fff" if hollow else colour,
                         "width": 2.5 if hollow else 1.5, "stamp": stamp,
                         "href": links.article(a["id"]) or safe_url(a["url"]),
                         "tip": f"{a['title']} ({a['outlet']}, {when(a['published'])})"
                                + (f" copy of {a['copy_of']}" if hollow else "")})
        lines.append({"outlet": outlet, "y": y, "colour": colour, "dots": dots,
                      "first": " · first to report" if items[0][1] == lo else ""})
    return {"height": height, "top": top, "axis": axis, "rows": lines}


def _heat_colour(value: float) -> str:
    r, g, b = (round(lo + (hi - lo) * value) for lo, hi in zip(HEAT_LOW, HEAT_HIGH, strict=True))
    return f"rgb({r},{g},{b})"


def heatmap_chart(data: dict, view: ReportView) -> dict:
    sim = data["similarity"]
    names, matrix, shared = sim["outlets"], sim["matrix"], sim["shared"]
    cell, left, top = 48, 62, 30
    cells = []
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            v = matrix[i][j]
            cells.append({"x": left + j * cell, "y": top + i * cell, "diag": i == j, "name": a,
                          "fill": "#f1efe9" if i == j else _heat_colour(v), "dark": v > 0.5, "pct": round(v * 100),
                          "tip": f"{a} and {b}: {v:.0%} claim overlap ({shared[i][j]} claims in common)"})
    return {"width": left + cell * len(names) + 2, "height": top + cell * len(names) + 2, "cell": cell,
            "wide": len(names) > WIDE_HEATMAP, "cells": cells,
            "names": [{"name": n, "abbr": view.abbr[n], "fill": view.fill(n), "cx": left + k * cell + cell / 2,
                       "cy": top + k * cell + cell / 2} for k, n in enumerate(names)], "top": top, "left": left}


def bars_chart(rows: Sequence[tuple[str, str | None, Sequence[tuple[float, str]], str, str]], label: str) -> dict:
    """Horizontal bars that stay crisp at any width: percentages for x, pixels for y and text.

    Each row: (name, outlet colour or None, segments (fraction, fill), value text, tooltip).
    """
    step, out = 38, []
    for k, (name, colour, segments, value, tip) in enumerate(rows):
        parts, x = [], 0.0
        for fraction, fill in segments:
            if fraction > 0:
                parts.append({"x": f"{x * 100:.2f}%", "width": f"{fraction * 100:.2f}%", "fill": fill})
            x += fraction
        out.append({"y": k * step, "colour": colour, "name": name if len(name) <= 34 else name[:33] + "…",
                    "value": value, "tip": tip, "segments": parts})
    return {"label": label, "height": len(rows) * step, "rows": out}


def coverage_charts(data: dict, view: ReportView) -> tuple[dict, dict | None]:
    outlets, total = data["outlets"], data["counts"]["claims"]
    rows = []
    for o in outlets:
        shared = o["claims"] - o["exclusive"]
        rows.append((o["name"], view.fill(o["name"]),
                     [(shared / total if total else 0, SHARED_FILL), (o["exclusive"] / total if total else 0,
                                                                      EXCLUSIVE_FILL)],
                     f"{o['claims']} of {total} · {o['share']:.0%}",
                     f"{o['name']}: {shared} shared, {o['exclusive']} only here, of {total} claims in the story"))
    groups = None
    if data["groups"]:
        groups = bars_chart([(r["group"], None, [(r["share"], SHARED_FILL)], f"{r['claims']} of {total} · "
                              f"{r['share']:.0%}", f"{r['group']}: {len(r['outlets'])} outlet(s) here "
                              f"({', '.join(r['outlets']) or 'none'}), {r['articles']} article(s)")
                             for r in data["groups"]["coverage"]], "Claims each group carries")
    return bars_chart(rows, "Claims each outlet carries"), groups


def palette_css(count: int) -> str:
    return "".join(f".o{i}{{--c:{c}}}" for i, c in enumerate(PALETTE[:max(1, min(count, len(PALETTE)))]))


def report_context(data: dict, links: Links) -> dict:
    """Everything the report partial needs: the data, its view, the charts."""
    view = ReportView.of(data)
    coverage, group_bars = coverage_charts(data, view)
    return {"r": data, "view": view, "links": links, "timeline": timeline_chart(data, view, links),
            "heatmap": heatmap_chart(data, view), "coverage": coverage, "group_bars": group_bars,
            "flagged": flagged_claims(data), "earliest_by_outlet": earliest_by_outlet,
            "palette": palette_css(len(data["outlets"]))}


# -- documents -----------------------------------------------------------------------------------------------


def report_html(data: dict) -> str:
    """The story report as one self-contained HTML page (the static file of `report --html`)."""
    return render("report_file.html", csp=REPORT_CSP, **report_context(data, Links(served=False)))


def report_sections(data: dict, links: Links) -> Markup:
    """The report's sections (everything below its header): the bulk of a story page, cached per story."""
    return Markup(render("_report_sections.html", **report_context(data, links)))


def index_html(data: dict) -> str:
    """The stories overview (engine.report.overview) as one self-contained page linking each story's file."""
    return render("index_file.html", csp=REPORT_CSP, d=data, palette=palette_css(1))
