"""The editor's similarity report of a story: what outlets agree on, where they differ, who was first.

Pure: articles in, a JSON-ready dict out (`story_report`), and renderers from that dict to strings
(`to_html`, `to_markdown`; JSON is the dict itself), so the CLI, the HTTP API and the demo show the
same facts. The store is read by the callers, never here.

The HTML page is one self-contained file: inline CSS and inline SVG, no scripts, nothing fetched from
the network (a Content-Security-Policy says so to the browser too); the only links are plain <a href>
to the articles' own http(s) URLs. Article text, titles, outlet names and URLs are untrusted input:
every one is escaped (html.escape, attributes and SVG text included), and a URL that is not http(s)
is shown as text, never as a link.

Sections: header (label, first and last report, counts), attributed summary, conflicts side by side,
consensus and corroborated claims, single-outlet claims, outlet similarity heatmap and coverage bars
(per group too, with blind spots, when outlet groups are given: engine/groups.py), publication
timeline, and the articles.
"""

from __future__ import annotations

import html
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from engine.analysis import language_split, summarize
from engine.claims import align
from engine.groups import OutletGroups
from engine.pipeline import embed, split
from engine.records import Article

SCHEMA = 1
SUMMARY_WORDS = 150
SHARED_KINDS = ("consensus", "corroborated")
SIMILARITY_MEASURE = (
    "Claim overlap (Jaccard): of the claims either outlet carries, the share both carry. "
    "100% means the same claims (a wire copy scores high), 0% nothing in common."
)


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------


def story_report(articles: Sequence[Article], model: str, embedder=None, groups: OutletGroups | None = None,
                 label: str | None = None, story_id: int | None = None, words: int = SUMMARY_WORDS,
                 all_conflicts: bool = False) -> dict:
    """Everything the report shows, as plain data (the JSON variant and the input of every renderer).

    Articles without sentences are split, and sentences without vectors are embedded with `embedder`
    (stored stories come with both; articles from a request body may not). Conflicts below the confidence
    threshold (engine/claims.CONFIDENCE_THRESHOLD) are counted, and listed as "possible" with `all_conflicts`.
    """
    usable, warnings = language_split(_prepared(list(articles), embedder), model)
    alignment = align(usable).to_dict(all_conflicts)
    summary = summarize(usable, model, words=words, claims=alignment)
    claims = alignment["claims"]
    for claim in claims:
        claim["blind_spot"] = groups.blind_spot(claim["sources"]) if groups else None
    timeline = _timeline(usable)
    dated = [a for a in timeline if a["published"]]
    outlets = _outlets(usable, claims, groups)
    by_id = {a["id"]: a for a in timeline}
    conflicts = alignment["conflicts"]
    possible, revisions = alignment.get("possible_conflicts", []), alignment["revisions"]
    for conflict in conflicts + possible + revisions:
        for side in conflict["sides"]:
            refs = [_article_ref(by_id[i]) for i in side["articles"] if i in by_id]
            side["links"] = sorted(refs, key=lambda r: (r["published"] or "9999", r["id"]))
    shared = [c for c in claims if c["kind"] in SHARED_KINDS]
    return {
        "report": "newsprism story report",
        "schema": SCHEMA,
        "story_id": story_id,
        "label": label or (timeline[0]["title"] if timeline else "Untitled story"),
        "first_report": _article_ref(dated[0]) if dated else None,
        "last_report": _article_ref(dated[-1]) if dated else None,
        "counts": {
            "articles": len(usable), "outlets": len(outlets), "independent_reports": _independent(usable),
            "claims": len(claims), "consensus": sum(c["kind"] == "consensus" for c in claims),
            "corroborated": sum(c["kind"] == "corroborated" for c in claims),
            "single_source": sum(c["kind"] == "single-source" for c in claims), "conflicts": len(conflicts),
            "blind_spot_claims": sum(bool(c["blind_spot"]) for c in claims),
        },
        "summary": summary["summary"],
        "summary_words": summary["words"],
        "conflicts": conflicts,
        "conflict_threshold": alignment["conflict_threshold"],
        "possible_conflicts": possible,
        "possible_conflicts_total": alignment["possible_conflicts_total"],
        "revisions": revisions,
        "claims": shared,
        "single_source": alignment["single_source"],
        "outlets": outlets,
        "similarity": _similarity(outlets, claims),
        "groups": _group_coverage(groups, outlets, usable, claims) if groups else None,
        "articles": timeline,
        "warnings": warnings + summary["warnings"],
    }


def overview(stories: Iterable[dict], reports: dict[int, dict], groups: OutletGroups | None = None) -> dict:
    """The stories overview: each story (rows of Newsroom.stories()) with its report's headline numbers."""
    rows = []
    for story in stories:
        data = reports.get(story["id"])
        rows.append({
            "id": story["id"], "label": story["label"], "article_count": story["article_count"],
            "outlet_count": story["outlet_count"], "outlets": story["outlets"], "first_seen": story["first_seen"],
            "last_seen": story["last_seen"], "href": story_filename(story["id"]) if data else None,
            "conflicts": data["counts"]["conflicts"] if data else None,
            "shared_claims": len(data["claims"]) if data else None,
            "blind_spot": groups.blind_spot(story["outlets"]) if groups else None,
        })
    return {"report": "newsprism stories overview", "schema": SCHEMA, "total": len(rows), "stories": rows,
            "groups": groups.to_dict() if groups else None}


def story_filename(story_id: int) -> str:
    """Where a story's page sits beside the overview's index.html."""
    return f"story-{story_id}.html"


def _prepared(articles: list[Article], embedder) -> list[Article]:
    """Articles with sentences and vectors; only what is missing is computed."""
    unsplit = [a for a in articles if not a.sentences]
    if unsplit:
        split(unsplit)
    if any(s.vector is None for a in articles for s in a.sentences):
        if embedder is None:
            raise ValueError("some sentences have no vectors and no embedder was given to embed them")
        embed(articles, embedder.encode, lambda keys: {})
    return articles


def _independent(articles: Sequence[Article]) -> int:
    """How many independent reports a story holds: outlets, a wire copy counting as its original."""
    return len({a.outlet for a in articles if not a.copy_of}) or len({a.outlet for a in articles})


def _timeline(articles: Sequence[Article]) -> list[dict]:
    ordered = sorted(articles, key=lambda a: (a.published or "9999", a.id))
    first = ordered[0].published if ordered else None
    return [{"id": a.id, "title": a.title, "outlet": a.outlet, "published": a.published, "url": a.url,
             "copy_of": a.copy_of, "lang": a.lang, "first": bool(first) and a.published == first} for a in ordered]


def _article_ref(article: dict) -> dict:
    return {k: article[k] for k in ("id", "outlet", "published", "title", "url")}


def _carried(claims: Sequence[dict]) -> dict[str, set[str]]:
    """Outlet -> ids of the claims it carries."""
    out: dict[str, set[str]] = defaultdict(set)
    for claim in claims:
        for outlet in claim["sources"]:
            out[outlet].add(claim["id"])
    return out


def _outlets(articles: Sequence[Article], claims: Sequence[dict], groups: OutletGroups | None) -> list[dict]:
    """Outlets in order of their first report, with what they carry."""
    carried = _carried(claims)
    exclusive: dict[str, int] = defaultdict(int)
    for claim in claims:
        if len(claim["sources"]) == 1:
            exclusive[claim["sources"][0]] += 1
    first: dict[str, str] = {}
    count: dict[str, int] = defaultdict(int)
    for a in articles:
        count[a.outlet] += 1
        if a.published and (a.outlet not in first or a.published < first[a.outlet]):
            first[a.outlet] = a.published
    total = len(claims)
    return [{"name": o, "group": groups.group_of(o) if groups else None, "articles": count[o],
             "first_published": first.get(o), "claims": len(carried[o]), "exclusive": exclusive[o],
             "share": round(len(carried[o]) / total, 4) if total else 0.0}
            for o in sorted(count, key=lambda o: (first.get(o, "9999"), o))]


def _similarity(outlets: Sequence[dict], claims: Sequence[dict]) -> dict:
    carried = _carried(claims)
    names = [o["name"] for o in outlets]
    matrix, shared = [], []
    for a in names:
        row, counts = [], []
        for b in names:
            both, either = len(carried[a] & carried[b]), len(carried[a] | carried[b])
            row.append(round(both / either, 4) if either else 0.0)
            counts.append(both)
        matrix.append(row)
        shared.append(counts)
    return {"measure": SIMILARITY_MEASURE, "outlets": names, "matrix": matrix, "shared": shared}


def _group_coverage(groups: OutletGroups, outlets: Sequence[dict], articles: Sequence[Article],
                    claims: Sequence[dict]) -> dict:
    present = {o["name"] for o in outlets}
    names = groups.names + ([groups.unlisted] if any(o["group"] == groups.unlisted for o in outlets) else [])
    rows = []
    for name in names:
        members = {o for o in present if groups.group_of(o) == name}
        carried = [c for c in claims if members & set(c["sources"])]
        rows.append({"group": name, "defined": list(groups.groups.get(name, ())), "outlets": sorted(members),
                     "articles": sum(a.outlet in members for a in articles), "claims": len(carried),
                     "share": round(len(carried) / len(claims), 4) if claims else 0.0})
    return {"definition": groups.to_dict(), "story_blind_spot": groups.blind_spot(present), "coverage": rows,
            "blind_spot_claims": [c["id"] for c in claims if c["blind_spot"]]}


# ---------------------------------------------------------------------------------------------------------------
# Shared by the renderers
# ---------------------------------------------------------------------------------------------------------------


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link; anything else (javascript:, data:, relative) is not linked."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def when(value: str | None, year: bool = True) -> str:
    """'5 Mar 2025, 13:10 UTC' (or the raw value when it is not a date; 'undated' when missing)."""
    moment = _parse_time(value)
    if moment is None:
        return value or "undated"
    day = f"{moment.day} {moment:%b}" + (f" {moment.year}" if year else "")
    if len(value or "") <= 10:
        return day
    return f"{day}, {moment:%H:%M} UTC"


KIND_LABEL = {"consensus": "Consensus", "corroborated": "Corroborated", "single-source": "Single outlet"}
CONFLICT_LABEL = {"number": "Number", "money": "Amount", "date": "Date", "name": "Name", "negation": "Statement",
                  "attribution": "Source"}


# ---------------------------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------------------------

# Outlet colours: distinguishable, readable on white, kept apart from the semantic reds, greens and violet.
PALETTE = ("#0b6fb0", "#e07b00", "#2f8f9d", "#c2378d", "#6b4fb3", "#8c6d31", "#d1495b", "#4f7a28", "#3d5a80",
           "#7a7a7a")
HEAT_LOW, HEAT_HIGH = (238, 243, 251), (23, 63, 122)
WIDE_HEATMAP = 8  # outlets beyond which the heatmap keeps its size and scrolls on small screens

CSS = """
:root{--ink:#1c2230;--muted:#5d6677;--line:#e3e0d8;--paper:#faf9f6;--card:#fff;--accent:#2b59c3;
--consensus:#1d7a4f;--corroborated:#2b59c3;--single:#6b7280;--conflict:#b42318;--mark:#ffe07a;--blind:#7c3aed;
--serif:Charter,"Bitstream Charter","Sitka Text",Cambria,"Noto Serif","DejaVu Serif",Georgia,serif;
--sans:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans","Helvetica Neue",Arial,sans-serif}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;color-scheme:light}
body{margin:0;background:var(--paper);color:var(--ink);font:16px/1.55 var(--sans);overflow-wrap:break-word}
main{max-width:64rem;margin:0 auto;padding:2.2rem 1.5rem 4rem}
a{color:var(--accent);text-underline-offset:2px}
h1{font:700 clamp(1.55rem,4.2vw,2.4rem)/1.15 var(--serif);margin:.35rem 0 .7rem;letter-spacing:-.01em}
h2{font-size:1.3rem;line-height:1.25;margin:0 0 .3rem}
h3{font-size:1rem;margin:0}
p{margin:0}
.overline{font-size:.74rem;font-weight:600;letter-spacing:.09em;text-transform:uppercase;color:var(--muted)}
.meta{color:var(--muted);font-size:.9rem}
.lead{color:var(--muted);margin:0 0 1.1rem;max-width:44rem}
section{margin-top:2.8rem}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(7.2rem,1fr));gap:.6rem;margin:1.2rem 0 1rem}
.stat{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.55rem .8rem}
.stat b{display:block;font-size:1.55rem;line-height:1.2;font-variant-numeric:tabular-nums}
.stat span{font-size:.8rem;color:var(--muted)}
.stat.alert{border-color:#f0c4bf;background:#fff6f5}.stat.alert b{color:var(--conflict)}
.stat.good b{color:var(--consensus)}
.toc{display:flex;flex-wrap:wrap;gap:.35rem .5rem;margin-top:.4rem}
.toc a{font-size:.85rem;text-decoration:none;border:1px solid var(--line);border-radius:999px;padding:.15rem .7rem;
background:var(--card);color:var(--ink)}
.banner{border-radius:10px;padding:.75rem 1rem;margin-top:1rem;border:1px solid #d9c8fb;background:#f6f1ff}
.banner b{color:var(--blind)}
.warn{border-color:#f3d9a4;background:#fffaf0}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1rem 1.15rem}
.stack{display:grid;gap:.75rem}
.quote{font-family:var(--serif);font-size:1.07rem;line-height:1.6}
.summary{counter-reset:s;display:grid;gap:1.1rem;padding:0;margin:0;list-style:none}
.summary li{position:relative;padding-left:2.1rem}
.summary li::before{counter-increment:s;content:counter(s);position:absolute;left:0;top:.15rem;width:1.45rem;
height:1.45rem;border-radius:50%;background:#eef1f6;color:var(--muted);font-size:.78rem;font-weight:600;
display:flex;align-items:center;justify-content:center}
.attr{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem .4rem;margin-top:.4rem;font-size:.85rem;
color:var(--muted)}
.badge{display:inline-flex;align-items:center;gap:.38em;border:1px solid var(--line);border-radius:999px;
padding:.02rem .55rem;font-size:.8rem;line-height:1.5;background:#fff;color:var(--ink);text-decoration:none;
max-width:100%;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.badge i{flex:none;width:.62em;height:.62em;border-radius:50%;background:var(--c,#999)}
a.badge:hover{border-color:var(--c,#999)}
.chip{display:inline-block;border-radius:5px;padding:0 .45rem;font-size:.74rem;font-weight:650;letter-spacing:.02em;
line-height:1.55;border:1px solid transparent;white-space:nowrap}
.chip.consensus{background:#e7f4ec;color:var(--consensus)}.chip.corroborated{background:#e8eefb;color:var(--corroborated)}
.chip.single{background:#f0f1f3;color:var(--single)}.chip.conflict{background:#fdecea;color:var(--conflict)}
.chip.blind{background:#f1eafe;color:var(--blind)}a.chip{text-decoration:none}.chip.copy{background:#f0f1f3;color:var(--muted)}
.pips{display:inline-flex;gap:2px;vertical-align:middle}
.pips span{width:.5rem;height:.5rem;border-radius:2px;background:#dfe3ea}
.pips span.on{background:var(--consensus)}
.support{display:inline-flex;align-items:center;gap:.35rem;white-space:nowrap}
mark{background:var(--mark);color:inherit;padding:0 .18em;border-radius:3px;box-decoration-break:clone;
-webkit-box-decoration-break:clone}
.card.conflict{border-top:4px solid var(--conflict)}
.card.conflict h3{font-size:1.02rem;margin:.35rem 0 .8rem}
.sides{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(16rem,100%),1fr));gap:.8rem}
.side{border:1px solid var(--line);border-radius:10px;padding:.75rem .9rem;background:#fffdf7}
.side .value{font-size:1.4rem;font-weight:700;line-height:1.3}
.side .value mark{padding:0 .3em}
.side .quote{font-size:.98rem;margin-top:.45rem}
.side .who{display:flex;flex-wrap:wrap;gap:.3rem;margin-top:.35rem}
.side .said{font-size:.82rem;color:var(--muted);margin-top:.45rem}
.vs{font-size:.75rem;font-weight:700;color:var(--muted);text-transform:uppercase;letter-spacing:.08em}
.claim .head{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem .6rem;margin-bottom:.35rem;font-size:.85rem;
color:var(--muted)}
details{margin-top:.55rem;font-size:.9rem}
summary{cursor:pointer;color:var(--muted)}
details ul{margin:.4rem 0 0;padding-left:1.1rem}
details li{margin:.3rem 0}
.outlets{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(21rem,100%),1fr));gap:.8rem}
.outlets ul{margin:.6rem 0 0;padding-left:1.1rem}
.outlets h3{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem .5rem;font-size:.85rem;font-weight:500;
color:var(--muted)}
.outlets li{margin:.45rem 0;font-family:var(--serif);line-height:1.5;font-size:.98rem}
.outlets li a{font-family:var(--sans);font-size:.8rem;white-space:nowrap}
#groups{margin-top:1.2rem}#groups h3+ul.blind,#groups figcaption+h3{margin-top:1rem}
ul.blind{list-style:none;padding:0;margin:.6rem 0 0;display:grid;gap:.5rem;font-family:var(--serif)}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1.2rem;align-items:start}
figure{margin:0}
figcaption{font-size:.84rem;color:var(--muted);margin-top:.6rem;line-height:1.45}
figure h3{margin-bottom:.6rem}
svg{display:block;max-width:100%;height:auto}
svg text{font-family:var(--sans);fill:var(--ink)}
svg .dim{fill:var(--muted)}
svg .on-dark{fill:#fff}
.key i.shared{background:#2b59c3}.key i.exclusive{background:#a3abb9}
.scroll{max-width:100%;overflow-x:auto}svg.wide{max-width:none}
.heat{display:flex;flex-wrap:wrap;gap:1rem 1.4rem;align-items:flex-start}
.legend{list-style:none;margin:0;padding:0;display:grid;gap:.3rem;font-size:.85rem}
.legend b{display:inline-block;min-width:2.6rem;font-variant-numeric:tabular-nums}
.scale{display:flex;align-items:center;gap:.4rem;font-size:.75rem;color:var(--muted);margin-top:.5rem}
.scale span.bar{width:7rem;height:.55rem;border-radius:3px;background:linear-gradient(90deg,rgb(238,243,251),
rgb(23,63,122))}
.key{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.8rem;color:var(--muted);margin:.2rem 0 .5rem}
.key i{display:inline-block;width:.8rem;height:.55rem;border-radius:2px;margin-right:.3rem;vertical-align:middle}
.key i.dot{width:.7rem;height:.7rem;border-radius:50%;background:var(--muted)}
.key i.ring{width:.7rem;height:.7rem;border-radius:50%;border:2px solid var(--muted);background:#fff}
.articles{list-style:none;margin:0;padding:0;display:grid;gap:.1rem}
.articles li{display:grid;grid-template-columns:11rem minmax(0,1fr);gap:.2rem 1rem;padding:.6rem 0;
border-bottom:1px solid var(--line)}
.articles time{font-size:.85rem;color:var(--muted);font-variant-numeric:tabular-nums}
.articles .t{font-family:var(--serif);font-size:1.02rem;line-height:1.4}
.articles .attr{margin-top:.25rem}
.stories{list-style:none;margin:0;padding:0;display:grid;gap:.75rem}
.stories h2{font:700 1.2rem/1.3 var(--serif);margin:0 0 .3rem}
.stories h2 a{color:var(--ink);text-decoration:none}
.stories h2 a:hover{text-decoration:underline}
.empty{color:var(--muted);font-style:italic}
footer{margin-top:3rem;font-size:.8rem;color:var(--muted);border-top:1px solid var(--line);padding-top:1rem}
@media (max-width:720px){main{padding:1.3rem 1rem 3rem}.grid2{grid-template-columns:minmax(0,1fr)}
.articles li{grid-template-columns:minmax(0,1fr)}.summary li{padding-left:1.8rem}section{margin-top:2.2rem}
svg .minor{display:none}.stat b{font-size:1.3rem}}
@media print{@page{margin:14mm}body{background:#fff;font-size:10.5pt}main{max-width:none;padding:0}.toc{display:none}
a{color:inherit;text-decoration:none}.card,.side,.stat,figure,.articles li,.summary li{break-inside:avoid}
h2{break-after:avoid}section{margin-top:1.6rem}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
details summary{display:none}}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def esc(value: object) -> str:
    """Escaped for HTML text and attribute values alike."""
    return html.escape("" if value is None else str(value), quote=True)


@dataclass(slots=True)
class _Page:
    """What the renderers look up: outlet colours and short names, articles by id."""

    colour: dict[str, int]
    abbr: dict[str, str]
    articles: dict[str, dict]
    independent: int

    @classmethod
    def of(cls, data: dict) -> _Page:
        names = [o["name"] for o in data["outlets"]]
        return cls({n: i for i, n in enumerate(names)}, abbreviations(names), {a["id"]: a for a in data["articles"]},
                   max(1, data["counts"]["independent_reports"]))

    def badge(self, outlet: str, url: str | None = None, note: str = "") -> str:
        cls = f"o{self.colour[outlet] % len(PALETTE)}" if outlet in self.colour else ""
        title = f' title="{esc(note)}"' if note else ""
        inner = f"<i></i>{esc(outlet)}"
        link = safe_url(url)
        if link:
            return f'<a class="badge {cls}" href="{esc(link)}"{title}>{inner}</a>'
        return f'<span class="badge {cls}"{title}>{inner}</span>'

    def pips(self, support: int) -> str:
        total = max(self.independent, support)
        cells = "".join(f'<span class="{"on" if k < support else ""}"></span>' for k in range(total))
        return (f'<span class="support" title="carried by {support} of {total} independent reports">'
                f'<span class="pips">{cells}</span>support {support}/{total}</span>')


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


def _style(count: int) -> str:
    colours = "".join(f".o{i}{{--c:{c}}}" for i, c in enumerate(PALETTE[:max(1, min(count, len(PALETTE)))]))
    return CSS + colours


def _document(title: str, body: str, outlets: int) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{esc(title)}</title>\n<style>{_style(outlets)}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n"
        "</body>\n</html>\n"
    )


def _marked(sentence: str, value: str) -> str:
    """The sentence escaped, with the disputed value (first occurrence, any case) in <mark>."""
    at = sentence.lower().find(value.lower()) if value else -1
    if at < 0:
        return esc(sentence)
    end = at + len(value)
    return f"{esc(sentence[:at])}<mark>{esc(sentence[at:end])}</mark>{esc(sentence[end:])}"


def _earliest_by_outlet(refs: Sequence[dict]) -> dict[str, dict]:
    """One article per outlet (refs come in time order): an outlet is named once however often it ran it."""
    out: dict[str, dict] = {}
    for ref in refs:
        out.setdefault(ref["outlet"], ref)
    return out


def _time_tag(value: str | None, year: bool = True) -> str:
    if not value:
        return "<span>undated</span>"
    return f'<time datetime="{esc(value)}">{esc(when(value, year))}</time>'


def to_html(data: dict) -> str:
    """The story report as one self-contained HTML page."""
    page = _Page.of(data)
    counts = data["counts"]
    sections = [_html_header(data, page), _html_summary(data, page), _html_conflicts(data, page),
                _html_claims(data, page), _html_single(data, page), _html_outlets(data, page),
                _html_timeline(data, page), _html_articles(data, page)]
    footer = (f"<footer>newsprism story report · {plural(counts['articles'], 'article')} from "
              f"{plural(counts['outlets'], 'outlet')} · "
              "claims are aligned sentence by sentence; support counts independent reports (a wire copy counts "
              "as its original) · times in UTC</footer>")
    return _document(f"{data['label']} · newsprism report", "\n".join(sections) + footer, len(data["outlets"]))


render_story_html = to_html  # the name the HTTP route uses


def _html_header(data: dict, page: _Page) -> str:
    counts = data["counts"]
    first, last = data["first_report"], data["last_report"]
    story = f"story {data['story_id']} · " if data["story_id"] is not None else ""
    span = []
    if first and first == last:
        span.append(f"Published {_time_tag(first['published'])} by {page.badge(first['outlet'], first['url'])}")
    elif first and last:
        span.append(f"First report {_time_tag(first['published'])} by {page.badge(first['outlet'], first['url'])}")
        span.append(f"last {_time_tag(last['published'])} by {page.badge(last['outlet'], last['url'])}")
    tiles = [("articles", counts["articles"], ""), ("outlets", counts["outlets"], ""),
             ("shared claims", counts["consensus"] + counts["corroborated"], "good"),
             ("conflicts", counts["conflicts"], "alert" if counts["conflicts"] else ""),
             ("single-outlet claims", counts["single_source"], "")]
    if data["groups"]:
        tiles.append(("blind-spot claims", counts["blind_spot_claims"], ""))
    stats = "".join(f'<div class="stat {cls}"><b>{n}</b><span>{esc(name)}</span></div>' for name, n, cls in tiles)
    links = [("summary", "Summary"), ("conflicts", "Conflicts"), ("claims", "Shared claims"),
             ("single", "Single-outlet"), ("outlets", "Outlets"), ("timeline", "Timeline"), ("articles", "Articles")]
    toc = "".join(f'<a href="#{k}">{v}</a>' for k, v in links)
    banners = []
    blind = (data["groups"] or {}).get("story_blind_spot")
    if blind:
        banners.append(f'<div class="banner"><b>Blind spot.</b> Only {esc(blind["only_group"])} outlets carry this '
                       f"story ({esc(', '.join(blind['outlets']))}); nothing from "
                       f"{esc(', '.join(blind['missing']))}.</div>")
    banners += [f'<div class="banner warn">{esc(w)}</div>' for w in data["warnings"]]
    return (f'<header><p class="overline">newsprism · {esc(story)}story report</p><h1>{esc(data["label"])}</h1>'
            f'<p class="meta attr">{" · ".join(span)}</p><div class="stats">{stats}</div>'
            f'<nav class="toc" aria-label="Sections">{toc}</nav>{"".join(banners)}</header>')


def _section(key: str, title: str, lead: str, body: str) -> str:
    return f'<section id="{key}" aria-labelledby="{key}-h"><h2 id="{key}-h">{title}</h2><p class="lead">{lead}</p>' \
           f"{body}</section>"


def _html_summary(data: dict, page: _Page) -> str:
    items = []
    for s in data["summary"]:
        others = [o for o in s["sources"] if o != s["outlet"]]
        also = (' <span>also</span> ' + " ".join(page.badge(o) for o in others)) if others else ""
        items.append(f'<li><p class="quote">{esc(s["text"])}</p><div class="attr">{page.badge(s["outlet"], s["url"])}'
                     f'{_time_tag(s["published"], year=False)}{also}<span>·</span>{page.pips(s["support"])}</div></li>')
    body = f'<ol class="summary">{"".join(items)}</ol>' if items else '<p class="empty">Nothing to summarize.</p>'
    return _section("summary", "Summary", f"About {data['summary_words']} words drawn from the articles themselves; "
                    "each sentence names the outlet it comes from and every outlet that carries the same claim.", body)


def _conflict_cards(items: list[dict], page: _Page, anchor: str, revision: bool = False) -> list[str]:
    cards = []
    for n, conflict in enumerate(items, 1):
        sides = []
        for k, side in enumerate(conflict["sides"]):
            who = " ".join(page.badge(o, ref["url"], f"{ref['title']} ({when(ref['published'])})")
                           for o, ref in _earliest_by_outlet(side["links"]).items()) \
                or " ".join(page.badge(o) for o in side["outlets"])
            says = plural(len(side["outlets"]), "outlet") + (" says" if len(side["outlets"]) == 1 else " say")
            vs = f'<p class="vs">{("then · " if revision else "versus · ") if k else ""}{says}</p>'
            sides.append(f'<div class="side">{vs}<p class="value"><mark>{esc(side["value"])}</mark></p>'
                         f'<div class="who">{who}</div><p class="quote">{_marked(side["sentence"], side["value"])}</p>'
                         f'<p class="said">{"said" if revision else "first said"} {_time_tag(side["published"])}</p>'
                         "</div>")
        label = CONFLICT_LABEL.get(conflict["kind"], conflict["kind"].title())
        doubts = f' · doubts: {esc(", ".join(conflict["doubts"]))}' if conflict.get("doubts") else ""
        sure = "" if revision else f'<p class="said">confidence {conflict["confidence"]:.2f}{doubts}</p>'
        cards.append(f'<article class="card conflict" id="{anchor}-{n}"><span class="chip conflict">{n} · '
                     f'{esc(label)}</span><h3>{esc(conflict["description"])}</h3>{sure}'
                     f'<div class="sides">{"".join(sides)}</div></article>')
    return cards


def _html_conflicts(data: dict, page: _Page) -> str:
    cards = _conflict_cards(data["conflicts"], page, "conflict")
    body = f'<div class="stack">{"".join(cards)}</div>' if cards else \
        '<p class="empty">No conflicting facts found: where outlets report the same claim, their numbers, ' \
        "dates and names agree.</p>"
    hidden = data.get("possible_conflicts_total", 0)
    if data.get("possible_conflicts"):
        body += (f'<h3>Possible conflicts (confidence below {data["conflict_threshold"]})</h3><div class="stack">'
                 f'{"".join(_conflict_cards(data["possible_conflicts"], page, "possible"))}</div>')
    elif hidden:
        body += (f'<p class="empty">{plural(hidden, "possible conflict")} below confidence '
                 f'{data["conflict_threshold"]} not shown (--all-conflicts shows them).</p>')
    if data.get("revisions"):
        body += ('<h3>Revisions: figures a later report changed</h3><div class="stack">'
                 f'{"".join(_conflict_cards(data["revisions"], page, "revision", revision=True))}</div>')
    return _section("conflicts", "Conflicts", "Sentences that state the same measure of the same thing with "
                    f"different facts, shown from confidence {data.get('conflict_threshold', '')}. The differing "
                    "values are highlighted; each side shows who said it and when. A figure an outlet revised "
                    "later is listed apart, as a revision.", body)


def flagged_claims(data: dict) -> list[dict]:
    """Shared claims that outlets of one group alone carry; none are singled out when the whole story is a blind
    spot (every claim would be, and the header says so)."""
    groups = data["groups"]
    if not groups or groups["story_blind_spot"]:
        return []
    return [c for c in data["claims"] if c["blind_spot"]]


def _claim_card(claim: dict, page: _Page, disputed: dict[str, int], flagged: set[str]) -> str:
    kind = claim["kind"]
    chip = f'<span class="chip {"single" if kind == "single-source" else kind}">{KIND_LABEL[kind]}</span>'
    if claim["id"] in disputed:
        n = disputed[claim["id"]]
        chip += f' <a class="chip conflict" href="#conflict-{n}">disputed: see conflict {n}</a>'
    blind = claim["blind_spot"]
    if claim["id"] in flagged:
        chip += (f' <span class="chip blind" title="no outlet of {esc(", ".join(blind["missing"]))} carries it">'
                 f"only {esc(blind['only_group'])}</span>")
    seen: dict[str, dict] = {}
    for m in claim["members"]:
        seen.setdefault(m["outlet"], m)
    badges = " ".join(page.badge(o, m["url"], f"{when(m['published'])}: {m['sentence']}") for o, m in seen.items())
    first = claim["first"]
    wording = "".join(f"<li>{page.badge(m['outlet'], m['url'])} {esc(m['sentence'])}</li>" for m in claim["members"])
    return (f'<article class="card claim"><div class="head">{chip}{page.pips(claim["support"])}<span>first: '
            f'{esc(first["outlet"])}, {_time_tag(first["published"], year=False)}</span></div>'
            f'<p class="quote">{esc(claim["text"])}</p><div class="attr">{badges}</div>'
            f"<details><summary>How each outlet put it ({len(claim['members'])})</summary><ul>{wording}</ul>"
            "</details></article>")


def _html_claims(data: dict, page: _Page) -> str:
    disputed = {side["claim_id"]: n for n, conflict in enumerate(data["conflicts"], 1)
                for side in conflict["sides"] if side.get("claim_id")}
    flagged = {c["id"] for c in flagged_claims(data)}
    cards = "".join(_claim_card(c, page, disputed, flagged) for c in data["claims"])
    body = f'<div class="stack">{cards}</div>' if cards else '<p class="empty">No claim is carried by two ' \
        "independent reports.</p>"
    lead = ('<span class="chip consensus">Consensus</span> most independent reports carry it; '
            '<span class="chip corroborated">Corroborated</span> at least two do. Support counts independent '
            "reports, so a wire copy adds none.")
    if data["groups"]:
        lead += ' <span class="chip blind">only …</span> marks a claim that outlets of one group alone carry.'
    return _section("claims", "Consensus and corroborated claims", lead, body)


def _html_single(data: dict, page: _Page) -> str:
    group_of = {o["name"]: o["group"] for o in data["outlets"]}
    cards = []
    for outlet, claims in data["single_source"].items():
        items = []
        for c in claims:
            m = c["members"][0]
            link = safe_url(m["url"])
            more = f' <a href="{esc(link)}">article</a>' if link else ""
            items.append(f"<li>{esc(c['text'])}{more}</li>")
        about = [group_of[outlet]] if group_of.get(outlet) else []
        about.append(plural(len(claims), "claim"))
        cards.append(f'<div class="card"><h3>{page.badge(outlet)}<span>{esc(" · ".join(about))}</span></h3>'
                     f'<ul>{"".join(items)}</ul></div>')
    body = f'<div class="outlets">{"".join(cards)}</div>' if cards else \
        '<p class="empty">Every claim is carried by more than one outlet.</p>'
    return _section("single", "Single-outlet claims", "What only one outlet reports: scoops, colour, or claims "
                    "nobody else could confirm.", body)


def _heat_colour(value: float) -> str:
    r, g, b = (round(lo + (hi - lo) * value) for lo, hi in zip(HEAT_LOW, HEAT_HIGH, strict=True))
    return f"rgb({r},{g},{b})"


def _heatmap_svg(data: dict, page: _Page) -> str:
    sim = data["similarity"]
    names, matrix, shared = sim["outlets"], sim["matrix"], sim["shared"]
    cell, left, top = 48, 62, 30
    size_w, size_h = left + cell * len(names) + 2, top + cell * len(names) + 2
    wide = " wide" if len(names) > WIDE_HEATMAP else ""  # too many to shrink legibly: scroll sideways instead
    parts = [f'<svg class="heatmap{wide}" viewBox="0 0 {size_w} {size_h}" width="{size_w}" height="{size_h}" '
             'role="img" aria-label="Outlet by outlet claim overlap">']
    for k, name in enumerate(names):
        x = left + k * cell + cell / 2
        parts.append(f'<text x="{x:.0f}" y="{top - 10}" text-anchor="middle" font-size="12" font-weight="600">'
                     f"<title>{esc(name)}</title>{esc(page.abbr[name])}</text>")
        y = top + k * cell + cell / 2
        parts.append(f'<circle cx="8" cy="{y:.0f}" r="4.5" fill="{PALETTE[page.colour[name] % len(PALETTE)]}"/>'
                     f'<text x="{left - 8}" y="{y + 4:.0f}" text-anchor="end" font-size="12" font-weight="600">'
                     f"<title>{esc(name)}</title>{esc(page.abbr[name])}</text>")
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            x, y = left + j * cell, top + i * cell
            if i == j:
                parts.append(f'<rect x="{x}" y="{y}" width="{cell - 3}" height="{cell - 3}" rx="5" fill="#f1efe9">'
                             f"<title>{esc(a)}</title></rect>")
                continue
            v = matrix[i][j]
            tip = f"{a} and {b}: {v:.0%} claim overlap ({shared[i][j]} claims in common)"
            colour = ' class="on-dark"' if v > 0.5 else ""
            parts.append(f'<g><title>{esc(tip)}</title><rect x="{x}" y="{y}" width="{cell - 3}" '
                         f'height="{cell - 3}" rx="5" fill="{_heat_colour(v)}"/><text x="{x + (cell - 3) / 2:.1f}" '
                         f'y="{y + cell / 2 + 2:.1f}" text-anchor="middle" font-size="12"{colour}>{round(v * 100)}'
                         "</text></g>")
    parts.append("</svg>")
    return "".join(parts)


def _bars_svg(rows: Sequence[tuple[str, str | None, Sequence[tuple[float, str]], str, str]], label: str) -> str:
    """Horizontal bars that stay crisp at any width: percentages for x, pixels for y and text.

    Each row: (name, outlet colour or None, segments (fraction, fill), value text, tooltip).
    """
    step, parts = 38, []
    for k, (name, colour, segments, value, tip) in enumerate(rows):
        y = k * step
        dot = f'<circle cx="5" cy="{y + 11}" r="4.5" fill="{colour}"/>' if colour else ""
        indent = 15 if colour else 0
        shown = name if len(name) <= 34 else name[:33] + "…"
        parts.append(f"<g><title>{esc(tip)}</title>{dot}<text x=\"{indent}\" y=\"{y + 15}\" font-size=\"13\">"
                     f'{esc(shown)}</text><text x="100%" y="{y + 15}" font-size="12" text-anchor="end" class="dim">'
                     f'{esc(value)}</text><rect x="0" y="{y + 21}" width="100%" height="9" rx="3" fill="#eceae4"/>')
        x = 0.0
        for fraction, fill in segments:
            if fraction > 0:
                parts.append(f'<rect x="{x * 100:.2f}%" y="{y + 21}" width="{fraction * 100:.2f}%" height="9" '
                             f'fill="{fill}"/>')
            x += fraction
        parts.append("</g>")
    return (f'<svg class="bars" width="100%" height="{len(rows) * step}" role="img" aria-label="{esc(label)}">'
            f'{"".join(parts)}</svg>')


SHARED_FILL, EXCLUSIVE_FILL = "#2b59c3", "#a3abb9"


def _html_outlets(data: dict, page: _Page) -> str:
    outlets, total = data["outlets"], data["counts"]["claims"]
    legend = "".join(f'<li><b>{esc(page.abbr[o["name"]])}</b> {page.badge(o["name"])}'
                     + (f' <span class="meta">{esc(o["group"])}</span>' if o["group"] else "") + "</li>"
                     for o in outlets)
    if len(outlets) > 1:
        heat = (f'<div class="heat"><div class="scroll">{_heatmap_svg(data, page)}</div><div>'
                f'<ul class="legend">{legend}</ul><p class="scale">0% <span class="bar"></span> 100%</p></div></div>')
    else:
        heat = '<p class="empty">One outlet only: nothing to compare.</p>'
    heat_fig = (f'<figure class="card" id="similarity"><h3>Who says the same things</h3>{heat}<figcaption>'
                f"{esc(data['similarity']['measure'])} Numbers are percentages.</figcaption></figure>")
    rows = []
    for o in outlets:
        shared = o["claims"] - o["exclusive"]
        rows.append((o["name"], PALETTE[page.colour[o["name"]] % len(PALETTE)],
                     [(shared / total if total else 0, SHARED_FILL), (o["exclusive"] / total if total else 0,
                                                                      EXCLUSIVE_FILL)],
                     f"{o['claims']} of {total} · {o['share']:.0%}",
                     f"{o['name']}: {shared} shared, {o['exclusive']} only here, of {total} claims in the story"))
    key = ('<p class="key"><span><i class="shared"></i>also carried by others</span>'
           '<span><i class="exclusive"></i>only this outlet</span></p>')
    bars_fig = (f'<figure class="card" id="coverage"><h3>Coverage: claims each outlet carries</h3>{key}'
                f'{_bars_svg(rows, "Claims each outlet carries")}<figcaption>Bar length: the outlet’s share of all '
                f"{total} claims found in the story.</figcaption></figure>")
    groups = _html_groups(data) if data["groups"] else ""
    return _section("outlets", "Outlets compared", "How much each pair of outlets overlaps, and how much of the "
                    "story each one covers.", f'<div class="grid2">{heat_fig}{bars_fig}</div>{groups}')


def _html_groups(data: dict) -> str:
    info, total = data["groups"], data["counts"]["claims"]
    rows = [(r["group"], None, [(r["share"], SHARED_FILL)],
             f"{r['claims']} of {total} · {r['share']:.0%}",
             f"{r['group']}: {len(r['outlets'])} outlet(s) here ({', '.join(r['outlets']) or 'none'}), "
             f"{r['articles']} article(s)") for r in info["coverage"]]
    absent = [r["group"] for r in info["coverage"] if not r["outlets"]]
    note = f" No outlet of {esc(', '.join(absent))} covers this story." if absent else ""
    listed = "".join(f"<li><span class=\"chip blind\">only {esc(c['blind_spot']['only_group'])}</span> "
                     f"{esc(c['text'])}</li>" for c in flagged_claims(data))
    blind_html = f'<h3>Claims only one group carries</h3><ul class="blind">{listed}</ul>' if listed else ""
    return (f'<figure class="card" id="groups"><h3>Coverage by outlet group</h3>'
            f'{_bars_svg(rows, "Claims each group carries")}<figcaption>Groups as the editor defined them; a '
            f"group carries a claim when any of its outlets does.{note}</figcaption>{blind_html}</figure>")


FIRST_MOMENT = datetime(1, 1, 2, tzinfo=UTC).timestamp()
LAST_MOMENT = datetime(9999, 12, 30, tzinfo=UTC).timestamp()
_STEPS = (900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)


def _ticks(t0: float, t1: float, most: int = 6) -> list[float]:
    span = t1 - t0
    step = next((s for s in _STEPS if span / s <= most), math.ceil(span / most / 86400) * 86400)
    first = math.ceil(t0 / step) * step
    return [first + k * step for k in range(int((t1 - first) // step) + 1)]


def _timeline_svg(data: dict, page: _Page) -> str:
    """One row per outlet (first to report on top), one dot per article on a shared time axis."""
    dated = [(a, _parse_time(a["published"])) for a in data["articles"]]
    dated = [(a, t.timestamp()) for a, t in dated if t is not None]
    if not dated:
        return ""
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
    parts = []
    last_day = None
    for k, t in enumerate(ticks):
        moment = datetime.fromtimestamp(t, UTC)
        day = f"{moment.day} {moment:%b}"
        line2 = "" if daily or day == last_day else day
        cls = "dim minor" if k % 2 and len(ticks) > 3 and not line2 else "dim"
        anchor = "start" if (t - t0) / (t1 - t0) < 0.06 else ("end" if (t - t0) / (t1 - t0) > 0.94 else "middle")
        parts.append(f'<line x1="{x(t)}" x2="{x(t)}" y1="{top}" y2="{height + 4}" stroke="#e6e3dc"/>')
        label = day if daily else f"{moment:%H:%M}"
        parts.append(f'<text class="{cls}" x="{x(t)}" y="{height + 18}" font-size="11.5" text-anchor="{anchor}">'
                     f'{esc(label)}<tspan x="{x(t)}" dy="14">{esc(line2)}</tspan></text>')
        last_day = day
    first_time = lo
    for r, (outlet, items) in enumerate(rows.items()):
        y = top + r * step
        colour = PALETTE[page.colour[outlet] % len(PALETTE)]
        firsts = " · first to report" if items[0][1] == first_time else ""
        parts.append(f'<text x="0" y="{y + 14}" font-size="12.5" font-weight="600">{esc(outlet)}'
                     f'<tspan class="dim" font-weight="400">{esc(firsts)}</tspan></text>')
        parts.append(f'<line x1="0" x2="100%" y1="{y + 30}" y2="{y + 30}" stroke="#d9d5cc" stroke-dasharray="2 3"/>')
        spots = [(t - t0) / (t1 - t0) for _, t in items]
        room = 0.2 if daily else 0.12  # the share of the width a time label needs beside its dot
        for k, (a, t) in enumerate(items):
            hollow = bool(a["copy_of"])
            fill = "#fff" if hollow else colour
            shape = (f'<circle cx="{x(t)}" cy="{y + 30}" r="{7 if a["first"] else 6}" fill="{fill}" '
                     f'stroke="{colour}" stroke-width="{2.5 if hollow else 1.5}"/>')
            tip = f"{a['title']} ({a['outlet']}, {when(a['published'])})" + (
                f" copy of {a['copy_of']}" if hollow else "")
            near_end = spots[k] > 0.8
            beside = k - 1 if near_end else k + 1  # the dot on the label's side
            if not 0 <= beside < len(spots) or abs(spots[beside] - spots[k]) >= room:  # no label where they collide
                moment = datetime.fromtimestamp(t, UTC)
                stamp = f"{moment.day} {moment:%b} {moment:%H:%M}" if daily else f"{moment:%H:%M}"
                cls = "dim minor" if daily else "dim"
                shape += (f'<text x="{x(t)}" dx="{-11 if near_end else 11}" y="{y + 34}" font-size="11" '
                          f'class="{cls}" text-anchor="{"end" if near_end else "start"}">{esc(stamp)}</text>')
            link = safe_url(a["url"])
            body = f"<title>{esc(tip)}</title>{shape}"
            parts.append(f'<a href="{esc(link)}">{body}</a>' if link else f"<g>{body}</g>")
    return (f'<svg class="timeline" width="100%" height="{height + 40}" role="img" '
            f'aria-label="Publication timeline by outlet">{"".join(parts)}</svg>')


def _html_timeline(data: dict, page: _Page) -> str:
    svg = _timeline_svg(data, page)
    undated = [a for a in data["articles"] if not _parse_time(a["published"])]
    extra = ""
    if undated:
        extra = "<p class=\"meta\">Undated: " + ", ".join(f"{page.badge(a['outlet'], a['url'])} {esc(a['title'])}"
                                                           for a in undated) + "</p>"
    key = ('<p class="key"><span><i class="dot"></i>an article (links to it)</span>'
           '<span><i class="ring"></i>a copy of another outlet’s report</span></p>')
    body = f'<figure class="card">{key}{svg}{extra}<figcaption>Each row is an outlet, first to report on top; ' \
           "times in UTC.</figcaption></figure>"
    return _section("timeline", "Timeline", "Who reported first, and when the others followed.", body)


def _html_articles(data: dict, page: _Page) -> str:
    items = []
    for a in data["articles"]:
        link = safe_url(a["url"])
        title = f'<a href="{esc(link)}">{esc(a["title"])}</a>' if link else esc(a["title"])
        copy = f' <span class="chip copy">copy of {esc(a["copy_of"])}</span>' if a["copy_of"] else ""
        first = ' <span class="chip consensus">first</span>' if a["first"] else ""
        items.append(f'<li>{_time_tag(a["published"])}<div><p class="t">{title}</p><div class="attr">'
                     f'{page.badge(a["outlet"])}<span>{esc(a["id"])}</span>{first}{copy}</div></div></li>')
    return _section("articles", "Articles", f"{plural(len(items), 'article')} in order of publication.",
                    f'<ul class="articles">{"".join(items)}</ul>')


def to_index_html(data: dict) -> str:
    """The stories overview (from `overview`) as one self-contained page linking to each story's report."""
    items = []
    for s in data["stories"]:
        label = f'<a href="{esc(s["href"])}">{esc(s["label"])}</a>' if s["href"] else esc(s["label"])
        chips = ""
        if s["conflicts"]:
            chips += f' <span class="chip conflict">{plural(s["conflicts"], "conflict")}</span>'
        if s["shared_claims"]:
            chips += f' <span class="chip consensus">{plural(s["shared_claims"], "shared claim")}</span>'
        if s["blind_spot"]:
            chips += (f' <span class="chip blind" title="nothing from {esc(", ".join(s["blind_spot"]["missing"]))}">'
                      f"blind spot: only {esc(s['blind_spot']['only_group'])}</span>")
        outlets = " ".join(f'<span class="badge">{esc(o)}</span>' for o in s["outlets"])
        items.append(f'<li class="card"><h2>{label}</h2><p class="meta">{plural(s["article_count"], "article")} · '
                     f'{plural(s["outlet_count"], "outlet")} · {esc(date_span(s["first_seen"], s["last_seen"]))}'
                     f'{chips}</p><div class="attr">{outlets}</div></li>')
    body = (f'<header><p class="overline">newsprism · stories</p><h1>{plural(data["total"], "story")}</h1>'
            '<p class="lead">Largest first. Each title opens the story’s report: summary, conflicts, shared and '
            "single-outlet claims, outlet similarity and timeline.</p></header>"
            f'<ul class="stories">{"".join(items)}</ul>')
    return _document("Stories · newsprism", body, 0)


def plural(n: int, word: str) -> str:
    """'1 article', '2 articles', '3 stories'."""
    if n == 1:
        return f"1 {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def date_span(first: str | None, last: str | None) -> str:
    """'5 Mar 2025' or '5 Mar – 6 Mar 2025': the days a story ran."""
    a, b = _parse_time(first), _parse_time(last)
    if a is None or b is None:
        return when(first or last)
    if a.date() == b.date():
        return f"{a.day} {a:%b} {a.year}"
    start = f"{a.day} {a:%b}" + (f" {a.year}" if a.year != b.year else "")
    return f"{start} – {b.day} {b:%b} {b.year}"


# ---------------------------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def md(text: object) -> str:
    """Untrusted text made inert in Markdown: punctuation that could format or open HTML is escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text or "").split()))


def _md_link(text: str, url: str | None) -> str:
    link = safe_url(url)
    return f"[{md(text)}]({quote(link, safe=':/?#@!$&*+,;=%~')})" if link else md(text)


def _md_table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def to_markdown(data: dict) -> str:
    """The story report in Markdown, with the same facts as the HTML page."""
    counts, out = data["counts"], []
    out.append(f"# {md(data['label'])}")
    meta = ["newsprism story report"] + ([f"story {data['story_id']}"] if data["story_id"] is not None else [])
    for key, word in (("first_report", "first report"), ("last_report", "last report")):
        ref = data[key]
        if ref:
            meta.append(f"{word} {when(ref['published'])} ({md(ref['outlet'])})")
    meta.append(f"{counts['articles']} articles, {counts['outlets']} outlets, {counts['claims']} claims "
                f"({counts['consensus']} consensus, {counts['corroborated']} corroborated, {counts['single_source']} "
                f"single-outlet), {plural(counts['conflicts'], 'conflict')}")
    out += ["", " · ".join(meta)]
    blind = (data["groups"] or {}).get("story_blind_spot")
    if blind:
        out += ["", f"> **Blind spot:** only {md(blind['only_group'])} outlets carry this story "
                    f"({md(', '.join(blind['outlets']))}); nothing from {md(', '.join(blind['missing']))}."]
    for warning in data["warnings"]:
        out += ["", f"> warning: {md(warning)}"]

    out += ["", "## Summary", ""]
    for k, s in enumerate(data["summary"], 1):
        others = [o for o in s["sources"] if o != s["outlet"]]
        also = f"; also {md(', '.join(others))}" if others else ""
        out.append(f"{k}. {md(s['text'])}  \n   — {_md_link(s['outlet'], s['url'])}, {when(s['published'])}{also}; "
                   f"support {s['support']}")
    if not data["summary"]:
        out.append("Nothing to summarize.")

    out += ["", "## Conflicts", ""]

    def md_conflicts(items: list[dict], heading: str, revision: bool = False) -> None:
        for k, c in enumerate(items, 1):
            sure = "" if revision else f" (confidence {c['confidence']:.2f})"
            out.extend([f"### {heading}{k}. {CONFLICT_LABEL.get(c['kind'], c['kind'])}: {md(c['description'])}{sure}",
                        ""])
            rows = []
            for side in c["sides"]:
                who = ", ".join(_md_link(o, r["url"]) for o, r in _earliest_by_outlet(side["links"]).items())
                rows.append([f"**{md(side['value'])}**", who or md(", ".join(side["outlets"])),
                             when(side["published"]), md(side["sentence"])])
            out.extend(_md_table(["Value", "Outlets", "Said" if revision else "First said", "Sentence"], rows))
            out.append("")

    md_conflicts(data["conflicts"], "")
    if not data["conflicts"]:
        out += ["No conflicting facts found.", ""]
    if data.get("possible_conflicts"):
        out += [f"### Possible conflicts (confidence below {data['conflict_threshold']})", ""]
        md_conflicts(data["possible_conflicts"], "P")
    elif data.get("possible_conflicts_total"):
        out += [f"{plural(data['possible_conflicts_total'], 'possible conflict')} below confidence "
                f"{data['conflict_threshold']} not shown.", ""]
    if data.get("revisions"):
        out += ["### Revisions", ""]
        md_conflicts(data["revisions"], "R", revision=True)

    out += ["## Consensus and corroborated claims", ""]
    flagged = {c["id"] for c in flagged_claims(data)}
    for c in data["claims"]:
        blind_note = f" — only {md(c['blind_spot']['only_group'])}" if c["id"] in flagged else ""
        out.append(f"- **{KIND_LABEL[c['kind']]}**, support {c['support']}{blind_note}: {md(c['text'])}  \n"
                   f"  sources: {md(', '.join(c['sources']))}; first: {md(c['first']['outlet'])}, "
                   f"{when(c['first']['published'])}")
    if not data["claims"]:
        out.append("No claim is carried by two independent reports.")

    out += ["", "## Single-outlet claims"]
    group_of = {o["name"]: o["group"] for o in data["outlets"]}
    for outlet, claims in data["single_source"].items():
        group = f" ({md(group_of[outlet])})" if group_of.get(outlet) else ""
        out += ["", f"### {md(outlet)}{group}", ""]
        out += [f"- {md(c['text'])}" for c in claims]

    sim = data["similarity"]
    out += ["", "## Outlets compared", "", f"Similarity: {md(sim['measure'])}", ""]
    out += _md_table(["", *(md(n) for n in sim["outlets"])],
                     [[f"**{md(a)}**", *("—" if i == j else f"{v:.0%}" for j, v in enumerate(row))]
                      for i, (a, row) in enumerate(zip(sim["outlets"], sim["matrix"], strict=True))])
    out += ["", "Coverage: claims each outlet carries, of all claims in the story.", ""]
    out += _md_table(["Outlet", "Group", "Articles", "First report", "Claims", "Share", "Only here"],
                     [[md(o["name"]), md(o["group"] or ""), str(o["articles"]), when(o["first_published"]),
                       str(o["claims"]), f"{o['share']:.0%}", str(o["exclusive"])] for o in data["outlets"]])
    if data["groups"]:
        info = data["groups"]
        out += ["", "### Coverage by outlet group", ""]
        out += _md_table(["Group", "Outlets here", "Articles", "Claims", "Share"],
                         [[md(r["group"]), md(", ".join(r["outlets"])) or "none", str(r["articles"]), str(r["claims"]),
                           f"{r['share']:.0%}"] for r in info["coverage"]])
        if flagged:
            out += ["", "Claims only one group carries:", ""]
            out += [f"- only {md(c['blind_spot']['only_group'])}: {md(c['text'])}" for c in flagged_claims(data)]

    out += ["", "## Timeline", ""]
    out += _md_table(["Published (UTC)", "Outlet", "Article", "Note"],
                     [[when(a["published"]), md(a["outlet"]), _md_link(a["title"], a["url"]),
                       "first" if a["first"] else (f"copy of {md(a['copy_of'])}" if a["copy_of"] else "")]
                      for a in data["articles"]])
    return "\n".join(out) + "\n"

