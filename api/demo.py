"""The tour a new user takes: the bundled demo corpus through every capability built so far."""

from __future__ import annotations

import shlex
import shutil
from importlib import resources
from pathlib import Path

import click
from newsprism.engine.parse import read_paths

DEMO_QUERIES = ("ferry capsized and passengers died", "interest rate decision and inflation",
                "customer payment data exposed in a hack")


def corpus_path() -> Path:
    return Path(str(resources.files("newsprism.engine") / "demo" / "corpus.jsonl"))


def heading(text: str) -> None:
    click.echo("")
    click.secho(f"== {text} ==", bold=True)


def run_demo(db: str, fresh: bool) -> None:
    from newsprism.api.service import Service, write_story_reports
    from newsprism.engine.analysis import format_summary, summarize
    from newsprism.engine.claims import align, format_table
    from newsprism.engine.config import load_settings
    from newsprism.index.newsroom import Newsroom

    if fresh and Path(db).exists():
        shutil.rmtree(db)
    newsroom = Newsroom(load_settings({"store": db}))
    heading(f"Ingest {corpus_path().name} into {db}")
    report = newsroom.ingest(read_paths([str(corpus_path())]))
    click.echo(f"{report.new} new, {report.duplicate} duplicate, {report.near_copy} near-copy (wire re-runs), "
               f"{len(report.rejected)} rejected; {report.sentences} sentences, {report.embedded} embedded")
    stats = newsroom.stats()
    layouts = ", ".join(f"{name} {info['layout']}" for name, info in stats["index"].items())
    click.echo(f"{stats['articles']} articles from {stats['outlets']} outlets, {stats['sentences']} sentences, "
               f"index: {layouts}")
    for query in DEMO_QUERIES:
        heading(f"Search: {query!r}")
        for result in newsroom.search(query, k=3):
            click.echo(f"{result['score']:.3f}  {result['title']}  ({result['outlet']}, {result['published'][:10]})")
            click.echo(f"       > {result['sentences'][0]['text']}")

    stories = newsroom.stories()["stories"]
    heading(f"Stories ({len(stories)})")
    for story in stories:
        click.echo(f"[{story['id']}] {story['label']}")
        click.echo(f"     {story['article_count']} articles, {story['outlet_count']} outlets, "
                   f"{story['first_seen'][:10]} .. {story['last_seen'][:10]}")

    biggest = stories[0]
    alignment = align(newsroom.story_articles(biggest["id"]))
    heading(f"Claims across outlets, story [{biggest['id']}] {biggest['label']} (conflicts first)")
    click.echo(format_table(alignment))

    for story in stories:
        heading(f"Summary of [{story['id']}] {story['label']}")
        result = summarize(newsroom.story_articles(story["id"]), newsroom.settings.model, words=90)
        click.echo(format_summary(result))

    written = write_story_reports(Service(newsroom), str(Path(db) / "reports"))
    heading("Reports for editors")
    click.echo(f"overview: {written['index']}")
    click.echo(f"{len(stories)} story reports beside it (story-<id>.html); open them in a browser")

    heading("The newsroom in a browser")
    groups = Path(str(resources.files("newsprism.engine") / "demo" / "outlet-groups.toml"))
    click.echo(f"newsprism serve --db {shlex.quote(db)}")
    click.echo("then open http://127.0.0.1:8000/  (stories, search, conflicts, articles, curation)")
    click.echo(f"(with --groups {shlex.quote(str(groups))}: blind spots and filters by outlet group)")
