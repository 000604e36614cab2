"""The tour a new user takes: the bundled demo corpus through every capability built so far."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import click

from engine.parse import read_paths

DEMO_QUERIES = ("ferry capsized and passengers died", "interest rate decision and inflation",
                "customer payment data exposed in a hack")


def corpus_path() -> Path:
    return Path(str(resources.files("engine") / "demo" / "corpus.jsonl"))


def heading(text: str) -> None:
    click.echo("")
    click.secho(f"== {text} ==", bold=True)


def run_demo(db: str, fresh: bool) -> None:
    from engine.config import load_settings
    from index.newsroom import Newsroom

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
