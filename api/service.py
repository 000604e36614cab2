"""The use cases every face calls: the CLI, the HTTP API and the editor's pages ask this layer, not `Newsroom`.

Each use case takes plain arguments and returns a typed result (dataclasses; `to_dict()` where a face
wants JSON), so the three faces show the same facts. SQL stays in `index/`, ranking and fusion in
`engine/`; this layer only assembles. A lookup that finds nothing raises `NotFound` (a ValueError, so
the CLI prints it as an error; the HTTP layer answers 404).

Analyses (a story's report: alignment, conflicts, summary; the pages rendered from them) are the expensive
part of every page; they are cached in the one cache of `Newsroom.analysis`, per store generation: every
write (ingest, correction, delete, prune, recluster and each curation) bumps the generation, in this process
or another, so no page or answer is ever served from before a write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from newsprism.engine import report as reports
from newsprism.engine.analysis import compare, paginate, summarize
from newsprism.engine.config import Settings
from newsprism.engine.groups import OutletGroups
from newsprism.engine.records import Article
from newsprism.index.store import Filters

SORTS = ("largest", "newest")
INBOX_PAGE = 25


class NotFound(ValueError):
    """No such story or article (the CLI shows the message; HTTP answers 404)."""


class Invalid(ValueError):
    """A request the use case cannot carry out as asked (the CLI shows the message; HTTP answers 422)."""


class Refused(Invalid):
    """A well-formed request the store's state forbids, such as a story merged into itself (HTTP 409)."""


# -- results ---------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class StoryList:
    """A page of stories with `total` for paging; each story as `Newsroom.stories` lists it, plus
    `blind_spot` (with outlet groups) and `coverage` (its outlets' share of every outlet in the store)."""

    total: int
    offset: int
    stories: list[dict]
    sort: str = "largest"
    outlets_in_store: int = 0

    def to_dict(self) -> dict:
        return {"total": self.total, "offset": self.offset, "stories": self.stories}


@dataclass(slots=True)
class StoryView:
    """Everything a story's page shows: its listing, its report, and what changed since a time (if asked)."""

    story: dict
    report: dict
    changes: dict | None = None


@dataclass(slots=True)
class SearchPage:
    query: str
    mode: str
    level: str
    total: int
    offset: int
    results: list[dict]

    def to_dict(self) -> dict:
        return {"results": self.results, "total": self.total, "offset": self.offset, "mode": self.mode}


@dataclass(slots=True)
class InboxItem:
    """One conflict as a desk checks it: the story it sits in, when it last moved, how sure the engine is."""

    story_id: int
    story_label: str
    index: int  # its number in the story's report (anchor #conflict-N)
    newest: str | None  # the latest publication among the articles on its sides
    confidence: float | None  # the engine's confidence, when the engine gives one
    conflict: dict
    anchor: str = ""  # where it sits on the story page: conflict-N, or possible-N below the confidence threshold


@dataclass(slots=True)
class ConflictInbox:
    total: int  # conflicts known among the stories read (at least offset + limit when more exist)
    offset: int
    items: list[InboxItem]
    more: bool

    def to_dict(self) -> dict:
        return {"total": self.total, "offset": self.offset, "more": self.more,
                "conflicts": [asdict(i) for i in self.items]}


@dataclass(slots=True)
class Inputs:
    """Articles to analyse: a stored story, or files read without a store (with what was rejected)."""

    articles: list[Article]
    embedder: Any
    model: str
    label: str | None = None
    story_id: int | None = None
    rejected: list = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # articles left out of the analysis (sentence ceiling)


# -- the service ----------------------------------------------------------------------------------------------


class Service:
    """The use cases over one Newsroom (store + model), with the editor's outlet groups if any."""

    def __init__(self, newsroom, groups: OutletGroups | None = None) -> None:
        self.newsroom = newsroom
        self.groups = groups

    @property
    def settings(self) -> Settings:
        return self.newsroom.settings

    def analysis(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """`compute()` once per key and store generation (`Newsroom.analysis`): results are shared, never changed."""
        return self.newsroom.analysis(key, compute)

    # -- stories --------------------------------------------------------------------------------------------
    def stories(self, filters: Filters | None = None, limit: int | None = None, offset: int = 0,
                sort: str = "largest", group: str | None = None) -> StoryList:
        """Stories largest (or newest) first; `group` keeps stories an outlet of that group carries."""
        if sort not in SORTS:
            raise Invalid(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        if group and not self.groups:
            raise Invalid("filtering by outlet group needs outlet groups (--groups FILE or outlet_groups)")
        if group and group not in self.groups.names + [self.groups.unlisted]:
            raise Invalid(f"no outlet group {group!r} (groups: {', '.join(self.groups.names)})")
        everything = list(self.story_index(filters))
        if group:
            everything = [s for s in everything if any(self.groups.group_of(o) == group for o in s["outlets"])]
        if sort == "newest":
            everything.sort(key=lambda s: (s["last_seen"] or "", s["id"]), reverse=True)
        outlets = max(1, self.newsroom.store.count("(SELECT DISTINCT outlet FROM articles)"))
        end = None if limit is None else offset + limit
        shown = self.newsroom.story_details(everything[offset:end], filters)
        for story in shown:
            story["coverage"] = round(story["outlet_count"] / outlets, 4)
            if self.groups:
                story["blind_spot"] = self.groups.blind_spot(story["outlets"])
        return StoryList(total=len(everything), offset=offset, stories=shown, sort=sort, outlets_in_store=outlets)

    def story_index(self, filters: Filters | None = None) -> list[dict]:
        """Every story's aggregate row, largest first (`Newsroom.story_index`), cached per store generation."""
        return self.analysis(("story_index", filters or Filters()), lambda: self.newsroom.story_index(filters))

    def facets(self) -> dict:
        """The outlets and languages in the store, for the pages' filter choices (cached per store generation)."""
        def build() -> dict:
            stats = self.newsroom.stats()
            return {"outlets": sorted(stats["by_outlet"], key=str.casefold), "languages": sorted(stats["by_language"])}

        return self.analysis(("facets",), build)

    def story(self, story_id: int, limit: int | None = None, offset: int = 0) -> dict:
        """One story with its articles in time order (paged)."""
        found = self.newsroom.story(story_id)
        if found is None:
            raise NotFound(f"no story {story_id}")
        return paginate(found, "articles", limit, offset)

    def inputs(self, story_id: int) -> Inputs:
        """A stored story's articles, ready for the engine: the newest that fit the sentence ceiling of one
        analysis (`Newsroom.analysable`), with a warning when some were left out."""
        articles = self.newsroom.story_articles(story_id)
        if not articles:
            raise NotFound(f"no story {story_id}")
        articles, warnings = self.newsroom.analysable(articles)
        return Inputs(articles, self.newsroom.embedder, self.settings.model, story_id=story_id, warnings=warnings)

    def report(self, story_id: int, groups: OutletGroups | None = None, all_conflicts: bool = False) -> dict:
        """A stored story's report data (engine/report.py), cached per store generation; conflicts below the
        confidence threshold listed as possible with `all_conflicts`."""
        groups = groups if groups is not None else self.groups
        found = self.newsroom.story(story_id)
        if found is None:
            raise NotFound(f"no story {story_id}")

        def build() -> dict:
            inputs = self.inputs(story_id)
            inputs.label = found["label"]
            return report_of(inputs, groups, all_conflicts)

        return self.analysis(("report", story_id, groups_key(groups), all_conflicts), build)

    def report_text(self, story_id: int, format: str, all_conflicts: bool = False) -> str:
        """The report as one self-contained HTML page (`html`) or Markdown (`md`), cached beside its data."""
        from newsprism.api import render

        data = self.report(story_id, all_conflicts=all_conflicts)
        draw = render.report_html if format == "html" else reports.to_markdown
        return self.analysis(("report", story_id, groups_key(self.groups), all_conflicts, format),
                             lambda: draw(data))

    def changes(self, story_id: int, since: str) -> dict:
        """What changed in a story since a time (new articles, outlets, claims, differing facts, corrections)."""
        if self.newsroom.story(story_id) is None:
            raise NotFound(f"no story {story_id}")
        return self.analysis(("changes", story_id, since), lambda: self.newsroom.story_changes(story_id, since))

    def story_view(self, story_id: int, since: str | None = None, all_conflicts: bool = False) -> StoryView:
        """The story page: listing, report, and (with `since`) what changed since then."""
        story = self.story(story_id)
        return StoryView(story=story, report=self.report(story_id, all_conflicts=all_conflicts),
                         changes=self.changes(story_id, since) if since else None)

    def summary(self, story_id: int, words: int | None = None, sentences: int | None = None,
                query: str | None = None, truncate: bool = False) -> dict:
        """A stored story's attributed summary (`summary_words` by default), cached per store generation."""
        if words is None and sentences is None:
            words = self.settings.summary_words

        return self.analysis(("summary", story_id, words, sentences, query, truncate),
                             lambda: summarize_inputs(self.inputs(story_id), self.settings, words, sentences, query,
                                                      truncate))

    def claims(self, story_id: int, all_conflicts: bool = False) -> dict:
        """The claims table of a stored story (claims with support, conflicts, single-outlet claims); conflicts
        below the confidence threshold are counted, and listed as possible with `all_conflicts`."""
        def build() -> dict:
            inputs = self.inputs(story_id)
            return with_warnings(compare(inputs.articles, self.settings.model, all_conflicts), inputs.warnings)

        return self.analysis(("claims", story_id, all_conflicts), build)

    # -- conflicts inbox ------------------------------------------------------------------------------------
    def conflicts(self, limit: int = INBOX_PAGE, offset: int = 0, all_conflicts: bool = False) -> ConflictInbox:
        """Conflicts across all stories, newest first, with the engine's confidence (and, with `all_conflicts`,
        the possible ones below its threshold).

        Stories are read newest first and reading stops once no older story can hold a conflict newer than
        the last one on the page, so a page costs the stories it shows (each analysis cached)."""
        listed = sorted(self.story_index(), key=lambda s: (s["last_seen"] or "", s["id"]),
                        reverse=True)
        want = offset + limit
        items: list[InboxItem] = []
        read = 0
        for story in listed:
            if len(items) >= want:
                items.sort(key=_inbox_order)
                if (story["last_seen"] or "") < (items[want - 1].newest or ""):
                    break
            read += 1
            data = self.report(story["id"], all_conflicts=all_conflicts)
            listed_here = [("conflict", data["conflicts"]), ("possible", data.get("possible_conflicts", []))]
            for anchor, found in listed_here:
                for n, conflict in enumerate(found, 1):
                    dates = [ref["published"] for side in conflict["sides"] for ref in side.get("links", [])
                             if ref.get("published")]
                    items.append(InboxItem(story_id=story["id"], story_label=data["label"], index=n,
                                           newest=max(dates) if dates else None,
                                           confidence=conflict.get("confidence"), conflict=conflict,
                                           anchor=f"{anchor}-{n}"))
        items.sort(key=_inbox_order)
        return ConflictInbox(total=len(items), offset=offset, items=items[offset:want], more=read < len(listed)
                             or len(items) > want)

    # -- search and articles --------------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, filters: Filters | None = None, level: str = "articles",
               mode: str = "hybrid", offset: int = 0) -> SearchPage:
        page = self.newsroom.search_page(query, k=k, filters=filters, level=level, mode=mode, offset=offset)
        return SearchPage(query=query, mode=page["mode"], level=level, total=page["total"], offset=page["offset"],
                          results=page["results"])

    def article(self, article_id: str, diff: bool = False) -> dict:
        """An article: fields, text, sentences, story, copies, versions (and the diff of each correction)."""
        found = self.newsroom.article(article_id, diff=diff)
        if found is None:
            raise NotFound(f"no article {article_id!r}")
        return found

    # -- curation -------------------------------------------------------------------------------------------
    def _curate(self, action: Callable[[Any], dict]) -> dict:
        try:
            return action(self.newsroom)
        except KeyError as exc:
            raise NotFound(str(exc.args[0])) from exc

    def merge(self, target: int, other: int) -> dict:
        """Merge story `other` into `target` (later ingests keep it)."""
        if target == other:
            raise Refused("a story cannot be merged into itself")
        return self._curate(lambda n: n.merge_stories(target, other))

    def split(self, story_id: int, article_ids: Sequence[str]) -> dict:
        """The given articles leave the story and form a new one, which is returned."""
        if not article_ids:
            raise Invalid("name the articles that form the new story")
        return self._curate(lambda n: n.split_story(story_id, list(article_ids)))

    def move(self, article_id: str, story_id: int) -> dict:
        return self._curate(lambda n: n.move_article(article_id, story_id))

    def rename(self, story_id: int, label: str) -> dict:
        if not label.strip():
            raise Invalid("a story's label cannot be empty")
        return self._curate(lambda n: n.rename_story(story_id, label.strip()))


def _inbox_order(item: InboxItem) -> tuple:
    return ("" if item.newest is None else _inverted(item.newest), -(item.confidence or 0.0), item.story_id,
            item.index)


def _inverted(text: str) -> str:
    """A string that sorts in the reverse order of `text` (ISO dates newest first, ties kept stable)."""
    return "".join(chr(0x10FFFF - ord(c)) for c in text)


def groups_key(groups: OutletGroups | None) -> tuple:
    return () if groups is None else (groups.unlisted, tuple((k, tuple(v)) for k, v in groups.groups.items()))


# -- use cases without a store ----------------------------------------------------------------------------------


def with_warnings(result: dict, warnings: list[str]) -> dict:
    """`result` with `warnings` ahead of its own (a new dict: cached results are shared)."""
    return {**result, "warnings": [*warnings, *result.get("warnings", [])]} if warnings else result


def prepare_items(items, settings: Settings, embedder) -> Inputs:
    """Raw items (files read, or an HTTP body) cleaned, split and embedded in memory; nothing is stored.

    Items that cannot be read, or dated outside `settings.date_range()`, come back in `rejected` with why (the
    caller decides whether none is an error)."""
    from newsprism.engine.pipeline import prepare

    articles, rejected = prepare(items, embedder.encode, settings.max_article_chars, settings.near_copy_jaccard,
                                 settings.canonical_outlet, settings.date_range())
    return Inputs(articles, embedder, settings.model, rejected=rejected)


def story_or_files(settings: Settings, story_id: int | None, paths: Sequence[str],
                   newsroom_factory: Callable[[], Any]) -> Inputs:
    """The articles a command works on: a stored story (its store opened by `newsroom_factory`), or article
    files read without touching a store."""
    if (story_id is None) == (not paths):
        raise Invalid("give a STORY_ID or --input FILE... (one of them)")
    if paths:
        from newsprism.engine.embed import get_embedder
        from newsprism.engine.parse import read_paths

        return prepare_items(read_paths(paths), settings, get_embedder(settings.model, settings.batch_size))
    service = Service(newsroom_factory())
    found = service.inputs(story_id)
    found.label = service.story(story_id)["label"]
    return found


def summarize_inputs(inputs: Inputs, settings: Settings, words: int | None = None, sentences: int | None = None,
                     query: str | None = None, truncate: bool = False) -> dict:
    """The attributed summary of a set of articles (a story or files), `summary_words` by default, with the
    warnings of their reading."""
    if words is None and sentences is None:
        words = settings.summary_words
    qvec = inputs.embedder.encode([query])[0] if query else None
    return with_warnings(summarize(inputs.articles, inputs.model, words=words, sentences=sentences,
                                   query_vector=qvec, truncate=truncate), inputs.warnings)


def report_of(inputs: Inputs, groups: OutletGroups | None = None, all_conflicts: bool = False) -> dict:
    """The report data of a set of articles (stored story or files), the warnings of their reading included;
    conflicts below the confidence threshold listed as possible with `all_conflicts`."""
    data = reports.story_report(inputs.articles, inputs.model, inputs.embedder, groups, label=inputs.label,
                                story_id=inputs.story_id, all_conflicts=all_conflicts)
    return with_warnings(data, inputs.warnings)


def write_story_reports(service: Service, folder: str, groups: OutletGroups | None = None,
                        all_conflicts: bool = False) -> dict:
    """Every stored story's HTML report (story-ID.html) and index.html linking them, in `folder`.

    Shared by `report --all` and the demo tour; returns the overview data with "index", the page's path.
    """
    from newsprism.api import render

    groups = groups if groups is not None else service.groups
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    listed = service.newsroom.stories()["stories"]
    built = {}
    for story in listed:
        data = service.report(story["id"], groups, all_conflicts)
        (out / reports.story_filename(story["id"])).write_text(render.report_html(data), encoding="utf-8")
        built[story["id"]] = data
    overview = reports.overview(listed, built, groups)
    index = out / "index.html"
    index.write_text(render.index_html(overview), encoding="utf-8")
    return {"index": str(index), **overview}
