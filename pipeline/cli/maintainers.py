"""Maintainers' commands: record, new-source."""

from __future__ import annotations

import sys

import click

from pipeline.cli.common import EXIT_FAILURE, EXIT_USAGE, command_config, config_option, friendly_errors


@click.command(epilog=("\b\nExamples:\n"
        "  safeguarding-news record --source nspcc_learning --out tests/fixtures/nspcc_learning\n"
        "  safeguarding-news record --source iwf --out /tmp/iwf --limit 20"))
@click.option("--source", "slug", required=True, metavar="SLUG", help="The source to record (its spider crawls).")
@click.option("--out", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Folder of the recorded site (created; its manifest.json and metadata.json are replaced).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Stop after N pages (robots.txt not counted).")
@config_option
@friendly_errors
def record(slug: str, out: str, limit: int | None, config_path: str | None) -> None:
    """Crawl a source's live site with its spider and production settings (politeness included), and save
    every response as a recorded site that `crawl --replay` serves back. Only Content-Type, ETag,
    Last-Modified and redirects' Location are kept: never a cookie or an authorisation header.
    """
    from pipeline.tools.record import RecordError, record_source

    config = command_config(config_path, None)
    try:
        result = record_source(config, config.source(slug), out, limit=limit)
    except RecordError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    click.echo(f"recorded {result['responses']} responses of {slug} in {out} ({result['items']} items parsed, "
               f"crawl {result['status']}); replay: safeguarding-news crawl --source {slug} --replay {out}")
    if result["message"]:
        click.echo(f"{slug}: {result['message']}", err=True)
    sys.exit(0 if result["responses"] else EXIT_FAILURE)


@click.command("new-source", epilog=("\b\nExample:\n"
        "  safeguarding-news new-source ofsted_news https://www.gov.uk/search/news-and-communications"))
@click.argument("slug")
@click.argument("url")
@click.option("--root", type=click.Path(file_okay=False, exists=True), default=".", show_default=True,
              help="The repository to add the source to.")
@config_option
def new_source(slug: str, url: str, root: str, config_path: str | None) -> None:
    """Scaffold a coded source: spiders/SLUG.py, tests/fixtures/SLUG/ (manifest.json, metadata.json),
    tests/spiders/test_SLUG.py (failing until the spider is written) and a config block in config.yaml.
    A source with an RSS, Atom or JSON feed or a sitemap needs no code: see CONTRIBUTING.md.
    """
    from pathlib import Path

    from pipeline.tools.scaffold import ScaffoldError, scaffold

    try:
        written = scaffold(Path(root), slug, url, Path(config_path) if config_path else None)
    except ScaffoldError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo("\n".join(f"wrote {p}" for p in written))
    click.echo(f"next: safeguarding-news record --source {slug} --out tests/fixtures/{slug} --limit 5, "
               "then write the spider until its test passes (CONTRIBUTING.md)")
