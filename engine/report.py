"""The editor's similarity report of a story: what outlets agree on, where they differ, who was first.

Pure: articles in, a JSON-ready dict out (`story_report`), and the Markdown rendering of that dict
(`to_markdown`; JSON is the dict itself), so the CLI, the HTTP API, the pages and the demo show the
same facts. The store is read by the callers, never here. The HTML page is rendered from Jinja2
templates by api/render.py (the static report file and the served story page share them).

Article text, titles, outlet names and URLs are untrusted input: Markdown escapes its punctuation
(`md`), and a URL that is not http(s) is shown as text, never as a link (`safe_url`).

Sections: header (label, first and last report, counts), attributed summary, conflicts side by side,
consensus and corroborated claims, single-outlet claims, outlet similarity heatmap and coverage bars
(per group too, with blind spots, when outlet groups are given: engine/groups.py), publication
timeline, and the articles.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from newsprism.engine.analysis import language_split, summarize
from newsprism.engine.claims import align
from newsprism.engine.groups import OutletGroups
from newsprism.engine.pipeline import embed, split
from newsprism.engine.records import Article

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


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def when(value: str | None, year: bool = True) -> str:
    """'5 Mar 2025, 13:10 UTC' (or the raw value when it is not a date; 'undated' when missing)."""
    moment = parse_time(value)
    if moment is None:
        return value or "undated"
    day = f"{moment.day} {moment:%b}" + (f" {moment.year}" if year else "")
    if len(value or "") <= 10:
        return day
    return f"{day}, {moment:%H:%M} UTC"


KIND_LABEL = {"consensus": "Consensus", "corroborated": "Corroborated", "single-source": "Single outlet"}
CONFLICT_LABEL = {"number": "Number", "money": "Amount", "date": "Date", "name": "Name", "negation": "Statement",
                  "attribution": "Source"}


def earliest_by_outlet(refs: Sequence[dict]) -> dict[str, dict]:
    """One article per outlet (refs come in time order): an outlet is named once however often it ran it."""
    out: dict[str, dict] = {}
    for ref in refs:
        out.setdefault(ref["outlet"], ref)
    return out


def flagged_claims(data: dict) -> list[dict]:
    """Shared claims that outlets of one group alone carry; none are singled out when the whole story is a blind
    spot (every claim would be, and the header says so)."""
    groups = data["groups"]
    if not groups or groups["story_blind_spot"]:
        return []
    return [c for c in data["claims"] if c["blind_spot"]]


def plural(n: int, word: str) -> str:
    """'1 article', '2 articles', '3 stories'."""
    if n == 1:
        return f"1 {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def date_span(first: str | None, last: str | None) -> str:
    """'5 Mar 2025' or '5 Mar – 6 Mar 2025': the days a story ran."""
    a, b = parse_time(first), parse_time(last)
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
                who = ", ".join(_md_link(o, r["url"]) for o, r in earliest_by_outlet(side["links"]).items())
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

