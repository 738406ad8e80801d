"""Analysts' commands: search, export, feed, digest."""

from __future__ import annotations

import sys

import click

from pipeline.cli.common import (
    choice,
    command_config,
    config_option,
    db_option,
    existing_db,
    friendly_errors,
    out_option,
    positive,
    query_filters,
    since_option,
    source_filter,
    type_filter,
    until_option,
)


@click.command(epilog=("\b\nExamples:\n"
        "  safeguarding-news search \"criminal exploitation\" --since 2024-01-01\n"
        "  safeguarding-news search \"neglect OR abuse\" --source csprp_govuk --type review --json"))
@click.argument("query")
@source_filter
@type_filter
@since_option
@until_option
@click.option("--limit", default="20", metavar="N", help="At most N results (default 20).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@db_option
@config_option
@friendly_errors
def search(query: str, sources: tuple[str, ...], types: tuple[str, ...], since: str | None,
           until: str | None, limit: str, as_json: bool, db: str | None, config_path: str | None) -> None:
    """Full-text search of titles, summaries and text, best match first.

    Plain words must all match (punctuation is fine); FTS5 syntax works too:
    OR, NOT, "exact phrases", prefix*, title:word. Matching terms are shown in **bold**.
    """
    from pipeline.outputs.search import results_json, results_text
    from storage import queries

    config = command_config(config_path, db)
    database = existing_db(config)
    filters = query_filters(config, database, sources, types, since, until)
    rows = queries.search(database, query, filters, limit=positive(limit, "--limit"))
    if as_json:
        click.echo(results_json(rows))
    elif rows:
        click.echo(results_text(rows))
    else:
        click.echo(f"no publications match: {query}", err=True)


@click.command(epilog=("\b\nExamples:\n"
        "  safeguarding-news export --format csv --since 2024-01-01 --out publications.csv\n"
        "  safeguarding-news export --format jsonl --source csprp_govuk > csprp.jsonl"))
@click.option("--format", "fmt", default="csv", metavar="csv|json|jsonl",
              help="csv (default), json (one array) or jsonl (one object a line).")
@source_filter
@type_filter
@since_option
@until_option
@out_option
@db_option
@config_option
@friendly_errors
def export(fmt: str, sources: tuple[str, ...], types: tuple[str, ...], since: str | None, until: str | None,
           out: str | None, db: str | None, config_path: str | None) -> None:
    """Publications for other tools, every column, UTF-8, oldest first (streamed: any size of database)."""
    from pipeline.outputs.export import FORMATS, write_export
    from pipeline.outputs.files import output
    from storage.queries import EXPORT_COLUMNS, iter_publications

    choice(fmt, FORMATS, "--format")
    config = command_config(config_path, db)
    database = existing_db(config)
    filters = query_filters(config, database, sources, types, since, until)
    with output(out, sys.stdout.buffer) as stream:
        count = write_export(iter_publications(database, filters), EXPORT_COLUMNS, fmt, stream)
    click.echo(f"exported {count} publications as {fmt}" + (f" to {out}" if out and out != "-" else ""),
               err=True)


@click.command(epilog=("\b\nExample:\n"
        "  safeguarding-news feed --out /var/www/safeguarding.atom"))
@out_option
@click.option("--limit", default="50", metavar="N", help="The N newest stories (default 50).")
@click.option("--url", "self_url", metavar="URL", help="Where the feed will be published (its rel=self link).")
@db_option
@config_option
@friendly_errors
def feed(out: str | None, limit: str, self_url: str | None, db: str | None, config_path: str | None) -> None:
    """An Atom feed of the newest stories: one entry per story, with every source's link."""
    from pipeline import clock
    from pipeline.outputs.feed import build_feed
    from pipeline.outputs.files import output
    from pipeline.outputs.present import organisations
    from storage.queries import newest_stories

    config = command_config(config_path, db)
    stories = newest_stories(existing_db(config), limit=positive(limit, "--limit"))
    document = build_feed(stories, organisations(config), clock.system_clock(), self_url=self_url)
    with output(out, sys.stdout.buffer) as stream:
        stream.write(document.decode("utf-8"))


@click.command(epilog=("\b\nExamples:\n"
        "  safeguarding-news digest                                   # the last 7 days, Markdown\n"
        "  safeguarding-news digest --since 2024-12-01 --until 2024-12-31 --format html --out december.html"))
@click.option("--since", default="7d", show_default=True, metavar="WHEN",
              help="Published on or after: an age (7d, 24h, 2w) or a date (2024-12-01).")
@until_option
@click.option("--format", "fmt", default="md", metavar="md|html", help="Markdown (default) or an HTML page.")
@out_option
@db_option
@config_option
@friendly_errors
def digest(since: str, until: str | None, fmt: str, out: str | None, db: str | None,
           config_path: str | None) -> None:
    """A digest in the manner of a CASPAR alert: one section per story with its sources, dates,
    summary and "Read the ..." links.
    """
    from pipeline import clock
    from pipeline.outputs.digest import FORMATS, render_digest
    from pipeline.outputs.files import output
    from pipeline.outputs.period import parse_period
    from pipeline.outputs.present import organisations
    from storage.queries import stories_between

    choice(fmt, FORMATS, "--format")
    config = command_config(config_path, db)
    database = existing_db(config)
    period = parse_period(since, until, clock.system_clock(), open_end=False)
    stories = stories_between(database, period.filters(coarse_found_since=True))
    text = render_digest(stories, organisations(config), period, fmt)
    with output(out, sys.stdout.buffer) as stream:
        stream.write(text)
