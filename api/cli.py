"""The `newsprism` command line: thin over the engine and the store, pipe-friendly.

Output for people is readable text; every command that reads data takes --json for machines.
Every command that reads or writes a store takes --db, else the store named in settings.
"""

from __future__ import annotations

import functools
import io
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from newsprism.engine.config import load_settings
from newsprism.index.store import Filters, StoreError

MAX_REJECTIONS_SHOWN = 20


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def open_newsroom(db: str | None, create: bool = False, **overrides: Any):
    from newsprism.index.newsroom import Newsroom

    settings = load_settings({"store": db, **overrides})
    try:
        return Newsroom(settings, create=create)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


def db_option(func: Callable) -> Callable:
    return click.option("--db", metavar="DIR", help="store folder (default: the store in settings)")(func)


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="machine-readable JSON on stdout")(func)


def progress_counter(label: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A progress bar on stderr when a person watches; silent in pipes and CI logs."""
    if not sys.stderr.isatty():
        return (lambda n: None), (lambda: None)
    from tqdm import tqdm

    bar = tqdm(desc=label, unit=" items", file=sys.stderr, dynamic_ncols=True)
    return bar.update, bar.close


class Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (StoreError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsprism")
def cli() -> None:
    """newsprism: one story through many outlets.

    \b
    Start with:
      newsprism ingest articles.jsonl --db ./store
      newsprism search "ferry capsized" --db ./store
      newsprism stats --db ./store
    """


def ray_options(func: Callable) -> Callable:
    func = click.option("--workers", type=click.IntRange(min=0), default=None,
                        help="Ray embedding actors, one model each (default: setting ray_workers; 0 = auto)")(func)
    return click.option("--address", metavar="ADDR", default=None,
                        help="Ray cluster to join (default: setting ray_address, else a local cluster)")(func)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@db_option
@click.option("--engine", type=click.Choice(["local", "ray"]), default=None,
              help="where the stages run (default: setting engine, local); ray needs newsprism[ray]")
@ray_options
@json_option
def ingest(paths: tuple[str, ...], db: str | None, engine: str | None, address: str | None, workers: int | None,
           as_json: bool) -> None:
    """Ingest articles from files, folders or - (stdin).

    \b
    Formats: JSONL, JSON (array or {"articles": [...]}), CSV/TSV, text and Markdown (one article
    a file; a leading date line is the date), HTML pages, RSS/Atom feeds; folders recursively.
    Fields: text|body|content, title|headline, source|outlet|publisher (default: URL domain),
    published|date|pubDate, url|link, id (kept; default: a stable hash of url or text).

    \b
    Examples:
      newsprism ingest articles.jsonl --db ./store
      newsprism ingest feeds/ pages/*.html
      cat export.jsonl | newsprism ingest - --json
      newsprism ingest archive/ --engine ray --workers 4 --address ray://head:10001
    """
    from newsprism.engine.parse import read_paths

    newsroom = open_newsroom(db, create=True, engine=engine, ray_address=address, ray_workers=workers)
    started = time.perf_counter()
    update, close = progress_counter("ingest")
    try:
        if newsroom.settings.engine not in ("local", "ray"):
            raise click.ClickException(f"engine must be local or ray, not {newsroom.settings.engine!r}")
        if newsroom.settings.engine == "ray":
            report = ray_job().ingest(newsroom, paths, newsroom.settings.ray_workers, progress=update)
        else:
            report = newsroom.ingest(read_paths(paths), progress=update)
    finally:
        close()
    elapsed = time.perf_counter() - started
    if as_json:
        emit_json({**report.as_dict(), "seconds": round(elapsed, 2)})
    else:
        for rejection in report.rejected[:MAX_REJECTIONS_SHOWN]:
            click.echo(f"rejected {rejection.origin}: {rejection.reason}", err=True)
        if len(report.rejected) > MAX_REJECTIONS_SHOWN:
            click.echo(f"... and {len(report.rejected) - MAX_REJECTIONS_SHOWN} more rejected (--json lists all)",
                       err=True)
        click.echo(f"ingested {report.new} new, {report.duplicate} duplicate, {report.near_copy} near-copy, "
                   f"{report.updated} updated, {len(report.rejected)} rejected "
                   f"({report.sentences} sentences, {report.embedded} embedded) in {elapsed:.1f} s")
    if report.stored + report.duplicate == 0:
        sys.exit(1)


@cli.command()
@click.argument("query")
@click.option("-k", "k", default=10, show_default=True, help="how many results")
@click.option("--outlet", help="only this outlet")
@click.option("--since", help="only articles published on or after this date (ISO)")
@click.option("--until", help="only articles published on or before this date (ISO)")
@click.option("--lang", help="only articles in this language (ISO 639-1, e.g. en)")
@click.option("--sentences", is_flag=True, help="return sentences instead of articles")
@click.option("--mode", type=click.Choice(["hybrid", "semantic", "keyword"]), default="hybrid", show_default=True,
              help="semantic (embeddings), keyword (BM25 full text) or both fused")
@click.option("--limit", type=int, help="same as -k")
@click.option("--offset", type=int, default=0, help="skip this many results (paging)")
@db_option
@json_option
def search(query: str, k: int, outlet: str | None, since: str | None, until: str | None, lang: str | None,
           sentences: bool, mode: str, limit: int | None, offset: int, db: str | None, as_json: bool) -> None:
    """Semantic search: articles ranked by their best matching sentences.

    \b
    Examples:
      newsprism search "ferry capsized off the coast"
      newsprism search "interest rates" --outlet "Continental Press" --since 2025-03-01 -k 5
      newsprism search "evacuation order" --sentences --json | jq '.results[].text'
      newsprism search '"Resolution 2334" vote' --mode keyword
    """
    from newsprism.api.service import Service
    from newsprism.engine.clean import normalize_date

    filters = Filters(outlet=outlet, since=_date_bound(since, normalize_date), lang=lang,
                      until=_date_bound(until, normalize_date, end=True))
    page = Service(open_newsroom(db)).search(query, k=limit or k, filters=filters, mode=mode, offset=offset,
                                             level="sentences" if sentences else "articles").to_dict()
    results = page["results"]
    if as_json:
        emit_json(page)
        return
    if not results:
        click.echo("no results")
    for rank, r in enumerate(results, 1):
        date = (r.get("published") or "undated")[:10]
        if sentences:
            click.echo(f"{rank:>2}. {r['score']:.3f}  {r['text']}")
            click.echo(f"      {r['outlet']} · {date} · {r['article_id']}")
            continue
        click.echo(f"{rank:>2}. {r['score']:.3f}  {r['title']}")
        click.echo(f"      {r['outlet']} · {date} · {r['id']}" + (f" · {r['url']}" if r.get("url") else ""))
        for s in r["sentences"]:
            click.echo(f"      > {s['text']}")
        if r["also_in"]:
            click.echo(f"      also carried by: {', '.join(c['outlet'] for c in r['also_in'])}")


def _date_bound(value: str | None, normalize: Callable[[str], str | None], end: bool = False) -> str | None:
    if not value:
        return None
    if end and len(value) == 10:
        value = f"{value}T23:59:59Z"
    parsed = normalize(value)
    if parsed is None:
        raise click.BadParameter(f"not a date: {value!r}")
    return parsed


@cli.command()
@db_option
@json_option
def stats(db: str | None, as_json: bool) -> None:
    """Counts, index layout and size of a store.

    \b
    Examples:
      newsprism stats --db ./store
      newsprism stats --json | jq .articles
    """
    data = open_newsroom(db).stats()
    if as_json:
        emit_json(data)
        return
    click.echo(f"store       {data['store']}")
    click.echo(f"model       {data['model']} ({data['dim']}-d)")
    click.echo(f"articles    {data['articles']} ({data['copies']} copies)")
    click.echo(f"sentences   {data['sentences']} ({data['distinct_sentence_vectors']} distinct vectors)")
    click.echo(f"outlets     {data['outlets']}")
    click.echo(f"stories     {data['stories']}")
    click.echo(f"languages   {', '.join(f'{k} {v}' for k, v in data['by_language'].items())}")
    for name, info in data["index"].items():
        click.echo(f"index       {name}: {info['layout']}, {info['vectors']} vectors")
    click.echo(f"on disk     {data['size_bytes'] / 1e6:.1f} MB")


@cli.command()
@click.argument("article_id")
@click.option("--diff", is_flag=True, help="what changed between versions (numbers and names marked)")
@db_option
@json_option
def article(article_id: str, diff: bool, db: str | None, as_json: bool) -> None:
    """One article: its fields, story, copies and versions.

    \b
    Examples:
      newsprism article ferry-01 --db ./store
      newsprism article ferry-01 --diff        # after a corrected version was ingested
    """
    from newsprism.api.service import Service

    found = Service(open_newsroom(db)).article(article_id, diff=diff)
    if as_json:
        emit_json(found)
        return
    click.echo(f"{found['title']}")
    click.echo(f"{found['outlet']} · {(found['published'] or 'undated')[:16]} · {found['id']} · story "
               f"{found['story_id']} · version {found['version']}" + (f" · {found['url']}" if found["url"] else ""))
    if found["copy_of"]:
        click.echo(f"copy of {found['copy_of']}")
    if found["copies"]:
        click.echo(f"re-run as {', '.join(found['copies'])}")
    if not diff:
        click.echo("")
        click.echo(found["text"])
    for d in found.get("diffs", []):
        click.echo(f"\nversion {d['from_version']} -> {d['to_version']} ({d['unchanged']} sentences unchanged)")
        for c in d["changed"]:
            marks = "; ".join(f"{x['kind']}: {x['before']!r} -> {x['after']!r}" for x in c["changes"])
            click.echo(f"  ~ {c['after']}\n      [{marks}]")
        for text in d["removed"]:
            click.echo(f"  - {text}")
        for text in d["added"]:
            click.echo(f"  + {text}")


def print_story(story: dict, articles: bool) -> None:
    first, last = (story["first_seen"] or "undated")[:10], (story["last_seen"] or "undated")[:10]
    click.echo(f"[{story['id']}] {story['label']}")
    click.echo(f"     {story['article_count']} articles, {story['outlet_count']} outlets, {first} .. {last}"
               + (f"  · {', '.join(story['keywords'][:6])}" if story.get("keywords") else ""))
    if articles:
        for a in story["articles"]:
            copy = f"  (copy of {a['copy_of']})" if a.get("copy_of") else ""
            click.echo(f"     {(a['published'] or 'undated')[:16]}  {a['outlet']:<28} {a['title']}{copy}")


def groups_option(func: Callable) -> Callable:
    return click.option("--groups", "groups_file", metavar="FILE", type=click.Path(dir_okay=False),
                        help="outlet groups (TOML, see engine/groups.py): coverage per group, blind spots")(func)


def all_conflicts_option(func: Callable) -> Callable:
    return click.option("--all-conflicts", is_flag=True,
                        help="also list possible conflicts, below the confidence threshold")(func)


def load_outlet_groups(path: str | None):
    """The editor's outlet groups, or None without --groups."""
    if not path:
        return None
    from newsprism.engine.groups import load_groups

    return load_groups(path)


@cli.command()
@click.option("--since", help="only articles published on or after this date")
@click.option("--until", help="only articles published on or before this date")
@click.option("--outlet", help="only articles of this outlet")
@click.option("--lang", help="only articles in this language")
@click.option("--limit", type=int, help="at most this many stories")
@click.option("--offset", type=int, default=0, help="skip this many stories (paging)")
@groups_option
@db_option
@json_option
def stories(since: str | None, until: str | None, outlet: str | None, lang: str | None, limit: int | None,
            offset: int, groups_file: str | None, db: str | None, as_json: bool) -> None:
    """Stories, largest first: label, dates, article and outlet counts.

    With --groups, a story that two or more outlets carry, all of one group, is marked as a blind
    spot (in --json: "blind_spot": {"only_group", "outlets", "missing"}, else null).

    \b
    Examples:
      newsprism stories --db ./store
      newsprism stories --since 2025-03-05 --limit 10
      newsprism stories --json | jq '.stories[0].articles[].id'
      newsprism stories --groups outlet-groups.toml --json | jq '.stories[] | select(.blind_spot)'
    """
    from newsprism.api.service import Service
    from newsprism.engine.clean import normalize_date

    filters = Filters(outlet=outlet, lang=lang, since=_date_bound(since, normalize_date),
                      until=_date_bound(until, normalize_date, end=True))
    groups = load_outlet_groups(groups_file)  # a bad groups file is reported before the store is opened
    service = Service(open_newsroom(db), groups)
    data = service.stories(filters, limit=limit, offset=offset).to_dict()
    if as_json:
        emit_json(data)
        return
    if not data["stories"]:
        click.echo("no stories")
    for story in data["stories"]:
        print_story(story, articles=False)
        if story.get("blind_spot"):
            spot = story["blind_spot"]
            click.echo(f"     blind spot: only {spot['only_group']} carries it (nothing from "
                       f"{', '.join(spot['missing'])})")
    if data["total"] > len(data["stories"]):
        click.echo(f"({len(data['stories'])} of {data['total']} stories; --limit/--offset to page)")


def format_changes(changes: dict) -> str:
    """The morning check, for people."""
    out = [f"story {changes['story_id']}: changes since {changes['since']}"]
    out.append(f"new articles: {len(changes['new_articles'])}")
    out += [f"  + {a['outlet']}: {a['title']}" for a in changes["new_articles"]]
    if changes["new_outlets"]:
        out.append(f"new outlets: {', '.join(changes['new_outlets'])}")
    out.append(f"new claims: {len(changes['new_claims'])}")
    out += [f"  + {c['text']}  [{', '.join(c['sources'])}]" for c in changes["new_claims"][:15]]
    out.append(f"facts that now differ: {len(changes['changed_facts'])}")
    for c in changes["changed_facts"]:
        out.append(f"  ! {c['description']}")
        out += [f"      {s['value']!r}: {', '.join(s['outlets'])}" for s in c["sides"]]
    out.append(f"figures revised: {len(changes.get('revised_facts', []))}")
    for c in changes.get("revised_facts", []):
        out.append(f"  ~ {c['description']}")
    out.append(f"corrected articles: {len(changes['corrected_articles'])}")
    for c in changes["corrected_articles"]:
        out.append(f"  ~ {c['id']} ({c['outlet']}) v{c['from_version']} -> v{c['to_version']}")
        for ch in c["changed"]:
            marks = "; ".join(f"{x['before']!r} -> {x['after']!r}" for x in ch["changes"] if x["kind"] != "wording")
            out.append(f"      {ch['after']}" + (f"  [{marks}]" if marks else ""))
    return "\n".join(out)


class StoryGroup(click.Group):
    """`story ID` shows a story; `story merge|split|move|rename ...` are an editor's corrections."""

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0].lstrip("-").isdigit():
            return "show", self.commands["show"], args
        return super().resolve_command(ctx, args)


@cli.group(cls=StoryGroup)
def story() -> None:
    """One story (`story ID`), or an editor's correction of the grouping.

    \b
    Examples:
      newsprism story 3 --db ./store
      newsprism story 3 --since 2025-03-06T00:00   # what changed since then
      newsprism story merge 3 7                     # 7's articles join 3
      newsprism story split 3 --articles a1 a2      # a1, a2 form a new story
      newsprism story move a9 --to 4
      newsprism story rename 3 "Ferry Aurora capsizes off Kellhaven"
    Corrections stick: later ingests and recluster never undo them.
    """


def curate(db: str | None, as_json: bool, action: Callable[[Any], dict]) -> None:
    """An editor's correction through the service (api/service.py); an unknown id is an error."""
    from newsprism.api.service import Service

    result = action(Service(open_newsroom(db)))
    if as_json:
        emit_json(result)
    else:
        print_story(result, articles=True)


@story.command("show")
@click.argument("story_id", type=int)
@click.option("--since", help="show what changed in the story since this time")
@click.option("--limit", type=int, help="at most this many articles")
@click.option("--offset", type=int, default=0, help="skip this many articles (paging)")
@db_option
@json_option
def story_show(story_id: int, since: str | None, limit: int | None, offset: int, db: str | None,
               as_json: bool) -> None:
    """A story and its articles in time order (with --since: what changed)."""
    from newsprism.api.service import Service
    from newsprism.engine.clean import normalize_date

    service = Service(open_newsroom(db))
    found = service.story(story_id, limit, offset)
    if since:
        changes = service.changes(story_id, _date_bound(since, normalize_date))
        if as_json:
            emit_json(changes)
        else:
            click.echo(format_changes(changes))
        return
    if as_json:
        emit_json(found)
    else:
        print_story(found, articles=True)


@story.command("merge")
@click.argument("target", type=int)
@click.argument("other", type=int)
@db_option
@json_option
def story_merge(target: int, other: int, db: str | None, as_json: bool) -> None:
    """Merge story OTHER into TARGET."""
    curate(db, as_json, lambda s: s.merge(target, other))


@story.command("split")
@click.argument("story_id", type=int)
@click.option("--articles", "article_ids", multiple=True, required=True, help="article ids that form the new story")
@click.argument("more", nargs=-1)
@db_option
@json_option
def story_split(story_id: int, article_ids: tuple[str, ...], more: tuple[str, ...], db: str | None,
                as_json: bool) -> None:
    """Split the given articles out of a story into a new one."""
    curate(db, as_json, lambda s: s.split(story_id, [*article_ids, *more]))


@story.command("move")
@click.argument("article_id")
@click.option("--to", "target", type=int, required=True, help="the story the article belongs to")
@db_option
@json_option
def story_move(article_id: str, target: int, db: str | None, as_json: bool) -> None:
    """Move one article to another story."""
    curate(db, as_json, lambda s: s.move(article_id, target))


@story.command("rename")
@click.argument("story_id", type=int)
@click.argument("label")
@db_option
@json_option
def story_rename(story_id: int, label: str, db: str | None, as_json: bool) -> None:
    """Give a story the label an editor chose."""
    curate(db, as_json, lambda s: s.rename(story_id, label))


@cli.command()
@click.option("--since", help="only regroup articles published on or after this date")
@db_option
@json_option
def recluster(since: str | None, db: str | None, as_json: bool) -> None:
    """Rebuild the story grouping in one batch pass (after a settings change).

    \b
    Examples:
      newsprism recluster --db ./store
      NEWSPRISM_STORY_THRESHOLD=0.45 newsprism recluster --since 2025-03-01
    """
    from newsprism.engine.clean import normalize_date

    result = open_newsroom(db).recluster(_date_bound(since, normalize_date))
    if as_json:
        emit_json(result)
    else:
        click.echo(f"{result['articles']} articles in {result['stories']} stories; {result['moved']} moved, "
                   f"{result['removed']} emptied stories removed")


def story_or_files(func: Callable) -> Callable:
    """[STORY_ID] or --input FILE...: one --input takes every file after it (as a shell glob gives
    them), --input may also repeat; the command gets `story_id` (int or None) and `inputs`."""

    @functools.wraps(func)
    def wrapper(*args: Any, targets: tuple[str, ...], inputs: tuple[str, ...], **kwargs: Any) -> Any:
        story_id, files = resolve_targets(targets, inputs)
        return func(*args, story_id=story_id, inputs=files, **kwargs)

    wrapper = click.option("--input", "inputs", multiple=True, metavar="FILE...",
                           help="article files (any ingest format), one or more after --input; no store")(wrapper)
    return click.argument("targets", nargs=-1, metavar="[STORY_ID]")(wrapper)


def resolve_targets(targets: tuple[str, ...], inputs: tuple[str, ...]) -> tuple[int | None, tuple[str, ...]]:
    """Words after the command: the story id, or (after --input) more files."""
    if inputs:
        story = next((t for t in targets if t.isdigit() and not Path(t).exists()), None)
        if story is not None:
            raise click.UsageError(f"give a STORY_ID or --input FILE..., not both (story {story} and --input)")
        return None, (*inputs, *targets)
    if len(targets) > 1:
        raise click.UsageError(f"one STORY_ID, not {len(targets)} (several article files: --input FILE...)")
    if targets and not targets[0].isdigit():
        raise click.BadParameter(f"{targets[0]!r} is not a story id (a number); article files go after --input",
                                 param_hint="STORY_ID")
    return (int(targets[0]) if targets else None), ()


def story_or_input(db: str | None, story_id: int | None, inputs: tuple[str, ...]):
    """The articles a command works on (api/service.py), with what the input files could not give shown."""
    from newsprism.api.service import story_or_files

    if (story_id is None) == (not inputs):
        raise click.UsageError("give a STORY_ID or --input FILE... (one of them)")
    found = story_or_files(load_settings({"store": db}), story_id, inputs, lambda: open_newsroom(db))
    for r in found.rejected:
        click.echo(f"rejected {r.origin}: {r.reason}", err=True)
    if not found.articles:
        raise click.ClickException("no article could be read from the input")
    return found


@cli.command()
@story_or_files
@click.option("--words", type=int, help="word budget (whole sentences) [default: summary_words setting]")
@click.option("--sentences", "n_sentences", type=int, help="number of sentences instead of a word budget")
@click.option("--query", help="focus the summary on this question or topic")
@click.option("--truncate", is_flag=True, help="fill the word budget exactly, cutting the last sentence (DUC-style)")
@db_option
@json_option
def summarize(story_id: int | None, inputs: tuple[str, ...], words: int | None, n_sentences: int | None,
              query: str | None, truncate: bool, db: str | None, as_json: bool) -> None:
    """Extractive summary of a story (or of article files) in which every sentence names its sources.

    \b
    Examples:
      newsprism summarize 3 --db ./store --words 120
      newsprism summarize --input a.jsonl b.html --sentences 5
      newsprism summarize 3 --query "what do outlets say about the casualties?" --json
    """
    from newsprism.api.service import summarize_inputs
    from newsprism.engine.analysis import format_summary

    found = story_or_input(db, story_id, inputs)
    result = summarize_inputs(found, load_settings({"store": db}), words, n_sentences, query, truncate)
    if as_json:
        emit_json(result)
    else:
        click.echo(format_summary(result))


@cli.command()
@story_or_files
@click.option("--limit", type=int, help="at most this many claims in --json (conflicts always come whole)")
@click.option("--offset", type=int, default=0, help="skip this many claims (paging)")
@all_conflicts_option
@db_option
@json_option
def compare(story_id: int | None, inputs: tuple[str, ...], limit: int | None, offset: int, all_conflicts: bool,
            db: str | None, as_json: bool) -> None:
    """Line up what each outlet says: shared claims with support, conflicts, single-outlet claims.

    Conflicts are shown from a confidence threshold (engine/claims.CONFIDENCE_THRESHOLD); --all-conflicts
    also lists those below it as "possible". A figure a later report revised is listed as a revision.

    \b
    Examples:
      newsprism compare 3 --db ./store
      newsprism compare 3 --all-conflicts
      newsprism compare --input reports/*.jsonl --json | jq '.conflicts'
    """
    from newsprism.engine.analysis import language_split, paginate
    from newsprism.engine.claims import align, format_table

    found = story_or_input(db, story_id, inputs)
    usable, warnings = language_split(found.articles, found.model)
    warnings = [*found.warnings, *warnings]
    alignment = align(usable)
    if as_json:
        emit_json(paginate({**alignment.to_dict(all_conflicts), "warnings": warnings}, "claims", limit, offset))
        return
    click.echo(format_table(alignment, show_possible=all_conflicts))
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


@cli.command()
@story_or_files
@click.option("--all", "all_stories", is_flag=True, help="every stored story, with an overview page (--html-dir)")
@click.option("--html", "html_out", metavar="OUT.html", type=click.Path(dir_okay=False),
              help="write the self-contained HTML report here")
@click.option("--md", "md_out", metavar="OUT.md", type=click.Path(dir_okay=False), help="write a Markdown report here")
@click.option("--html-dir", metavar="DIR", type=click.Path(file_okay=False),
              help="with --all: write index.html and story-ID.html per story here")
@groups_option
@all_conflicts_option
@db_option
@json_option
def report(story_id: int | None, inputs: tuple[str, ...], all_stories: bool, html_out: str | None,
           md_out: str | None, html_dir: str | None, groups_file: str | None, all_conflicts: bool, db: str | None,
           as_json: bool) -> None:
    """The editor's report of a story: summary, conflicts, shared and single-outlet claims, outlet
    similarity, coverage and timeline, as one self-contained HTML page, Markdown or JSON.

    \b
    Examples:
      newsprism report 7 --db ./store --html story-7.html
      newsprism report 7 --md story-7.md --groups outlet-groups.toml
      newsprism report --input reports/*.jsonl --json | jq '.conflicts'
      newsprism report --all --html-dir reports/ --db ./store      # then open reports/index.html
    """
    from newsprism.api import render
    from newsprism.api.service import Service, report_of, write_story_reports
    from newsprism.engine import report as reports

    groups = load_outlet_groups(groups_file)
    if all_stories:
        if story_id is not None or inputs or not html_dir:
            raise click.UsageError("--all takes --html-dir DIR (and no STORY_ID or --input)")
        written = write_story_reports(Service(open_newsroom(db)), html_dir, groups, all_conflicts)
        if as_json:
            emit_json(written)
        else:
            click.echo(f"wrote {written['index']} and {written['total']} story reports")
        return
    if html_dir:
        raise click.UsageError("--html-dir goes with --all; for one story use --html OUT.html")
    if not (html_out or md_out or as_json):
        raise click.UsageError("say where the report goes: --html OUT.html, --md OUT.md or --json")
    data = report_of(story_or_input(db, story_id, inputs), groups, all_conflicts)
    for path, text in ((html_out, render.report_html), (md_out, reports.to_markdown)):
        if path:
            with open(path, "w", encoding="utf-8") as out:
                out.write(text(data))
            click.echo(f"wrote {path}", err=True)
    if as_json:
        emit_json(data)


@cli.command()
@click.option("--before", required=True, help="remove articles published before this date")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@db_option
@json_option
def prune(before: str, yes: bool, db: str | None, as_json: bool) -> None:
    """Remove older articles with their sentences, vectors, full-text rows and emptied stories.

    One consistent step in SQLite and FAISS; disk space comes back (VACUUM). Without --yes it asks
    on a terminal, and refuses (exit 1, nothing removed) when stdin is not one (scripts, cron).

    \b
    Example:
      newsprism prune --before 2024-01-01 --db ./store --yes
    """
    from newsprism.engine.clean import normalize_date

    bound = _date_bound(before, normalize_date)
    newsroom = open_newsroom(db)
    if not yes:
        n = newsroom.store.count("articles", "published < ?", [bound])
        if not sys.stdin.isatty():  # a script or cron line: nobody can answer, so nothing is removed
            raise click.ClickException(f"prune would remove {n} articles published before {bound}; "
                                       "stdin is not a terminal, so nobody can confirm. Pass --yes to remove them.")
        click.confirm(f"remove {n} articles published before {bound}?", abort=True)
    result = newsroom.prune(bound)
    if as_json:
        emit_json(result)
    else:
        click.echo(f"removed {result['articles']} articles, {result['vectors']} vectors, {result['stories']} "
                   f"stories; {result['bytes_before'] / 1e6:.1f} MB -> {result['bytes_after'] / 1e6:.1f} MB")


def ray_job():
    """The Ray job module, or a clear error when the optional extra is not installed."""
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        raise click.ClickException("the ray engine needs Ray: pip install 'newsprism[ray]'") from exc
    from newsprism.index import rayjob

    return rayjob


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--out", required=True, metavar="DIR", help="folder for the Parquet shards (reuse it to resume)")
@db_option
@ray_options
@json_option
def backfill(paths: tuple[str, ...], out: str, db: str | None, address: str | None, workers: int | None,
             as_json: bool) -> None:
    """Embed an archive on Ray into Parquet shards, then load them into the store in bulk.

    Resumable: a shard on disk is a chunk done, so running the same command again finishes
    what a crash or a kill left; loading goes on from the last batch committed.

    \b
    Examples:
      newsprism backfill archive/ --out /data/backfill --db ./store --workers 8
      newsprism backfill archive/ --out /data/backfill --address ray://head:10001
    """
    from pathlib import Path

    newsroom = open_newsroom(db, create=True, ray_address=address, ray_workers=workers)
    started = time.perf_counter()

    def progress(phase: str, done: int, total: int) -> None:
        if not as_json:
            click.echo(f"{phase}: {done}/{total} {'shards' if phase == 'embed' else 'batches'} "
                       f"({time.perf_counter() - started:.0f} s)", err=True)

    result = ray_job().backfill(newsroom, paths, Path(out), newsroom.settings.ray_workers, progress=progress)
    result["seconds"] = round(time.perf_counter() - started, 2)
    if as_json:
        emit_json(result)
    else:
        shards, load = result["shards"], result["load"]
        click.echo(f"shards: {shards['written']} written, {shards['skipped']} already done of {shards['shards']}; "
                   f"loaded {load['new']} new, {load['duplicate']} duplicate, {load['near_copy']} near-copy, "
                   f"{load['updated']} updated, {load['rejected']} rejected ({load['sentences']} sentences) "
                   f"in {result['seconds']:.1f} s")


@cli.command()
@db_option
@json_option
def reindex(db: str | None, as_json: bool) -> None:
    """Rebuild the FAISS indexes from SQLite (the store's truth).

    \b
    Example:
      newsprism reindex --db ./store
    """
    started = time.perf_counter()
    data = open_newsroom(db).reindex()
    if as_json:
        emit_json({"index": data, "seconds": round(time.perf_counter() - started, 2)})
    else:
        for name, info in data.items():
            click.echo(f"{name}: {info['layout']}, {info['vectors']} vectors")


@cli.command()
@db_option
@json_option
def config(db: str | None, as_json: bool) -> None:
    """Settings in force and where each came from (default, newsprism.toml, NEWSPRISM_*, flag).

    \b
    Examples:
      newsprism config
      NEWSPRISM_STORY_WINDOW_DAYS=3 newsprism config --json
    """
    rows = load_settings({"store": db}).describe()  # secrets come masked
    if as_json:
        emit_json({"settings": rows})
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['value']!s:<40}  {r['source']}")


@cli.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on (0.0.0.0: all)")
@click.option("--port", type=int, default=8000, show_default=True, help="TCP port")
@click.option("--allow-open-writes", is_flag=True,
              help="serve beyond loopback without an API key: anyone who can reach the port may write")
@click.option("--groups", "groups_file", metavar="FILE", type=click.Path(dir_okay=False, exists=True),
              help="outlet groups (TOML) for blind spots and group filters (setting: outlet_groups)")
def serve(db: str | None, host: str, port: int, allow_open_writes: bool, groups_file: str | None) -> None:
    """Run the HTTP API and the editor's pages (http://HOST:PORT/): one worker that loads the model and
    the store once; API docs at /docs.

    \b
    Writes (POST /articles, DELETE /articles/ID, story edits) need 'Authorization: Bearer KEY'
    when NEWSPRISM_API_KEY is set; reads are open. In the pages, curation needs a sign-in with
    that key. On an address other than loopback the server refuses to start without a key,
    unless --allow-open-writes says that is meant.

    \b
    Examples:
      newsprism serve --db ./store
      NEWSPRISM_API_KEY=secret newsprism serve --db ./store --host 0.0.0.0 --port 8080
      curl 'http://127.0.0.1:8000/search?q=ferry+capsized&k=5'
    """
    settings = load_settings({"store": db, "outlet_groups": groups_file})
    if not settings.api_key and not is_loopback(host):
        if not allow_open_writes:
            raise click.ClickException(
                f"refusing to serve on {host} with writes open to anyone who can reach it: set NEWSPRISM_API_KEY "
                f"(writes then need 'Authorization: Bearer KEY'), listen on 127.0.0.1, or pass --allow-open-writes")
        click.echo(f"warning: serving on {host} without an API key: anyone who can reach port {port} can add, "
                   f"edit and delete articles (--allow-open-writes)", err=True)
    import uvicorn
    from newsprism.api.http import create_app

    uvicorn.run(create_app(settings), host=host, port=port, workers=1)


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (127.0.0.0/8, ::1, localhost); names are not trusted."""
    import ipaddress

    if host.strip().lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@cli.command()
@click.option("--db", metavar="DIR", default="data/demo-store", show_default=True, help="store folder for the demo")
@click.option("--fresh", is_flag=True, help="start from an empty store")
def demo(db: str, fresh: bool) -> None:
    """The tour: ingest the bundled demo corpus and show what newsprism does with it.

    \b
    Example:
      newsprism demo --db /tmp/demo --fresh
    """
    from newsprism.api.demo import run_demo

    run_demo(db, fresh)


def keep_stdout_for_output() -> None:
    """Point file descriptor 1 at stderr and keep the real stdout for Python's writes: C code in the
    libraries (HiGHS in the summarizer's solver, FAISS, torch) may print to fd 1 and would corrupt --json."""
    try:
        if sys.stdout is None or sys.stdout.fileno() != 1:
            return
    except (AttributeError, OSError, io.UnsupportedOperation):
        return
    sys.stdout.flush()
    real = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = open(real, "w", buffering=1 if sys.stdout.line_buffering else -1,  # noqa: SIM115 (process-long)
                      encoding=sys.stdout.encoding, errors=sys.stdout.errors)


def main() -> None:
    keep_stdout_for_output()
    cli(prog_name="newsprism")


if __name__ == "__main__":
    main()
