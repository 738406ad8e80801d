"""Analysts' commands: search, export, feed, digest."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

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
    quick_config,
    since_option,
    source_filter,
    type_filter,
    until_option,
)

topic_filter = click.option("--topic", "topics", multiple=True, metavar="TOPIC",
                            help="Only this topic (repeatable): an id or label of topics.yaml, e.g. online-safety.")


def _topics(config: Any, wanted: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """The vocabulary of config.yaml and the --topic values as topic ids (an unknown one: exit 2)."""
    from pipeline.topics import check_topics, config_vocabulary

    vocabulary = config_vocabulary(config)
    return vocabulary, check_topics(vocabulary, wanted)


def _note_stale_topics(database: Any, vocabulary: Any) -> None:
    """Say on stderr when the database's topics were assigned with another version of the vocabulary."""
    from storage.topics import stored_vocabulary

    saved = stored_vocabulary(database)
    if saved is None or saved[0] != vocabulary.version:
        click.echo("note: the database's topics were not assigned with topics.yaml as it is now: "
                   "run `safeguarding-news topics reassign`", err=True)


def _with_topics(config: Any, database: Any, filters: Any, topics: tuple[str, ...]) -> Any:
    """The query filters narrowed to the --topic values, if any (validated; a stale vocabulary noted)."""
    if not topics:
        return filters
    vocabulary, wanted = _topics(config, topics)
    _note_stale_topics(database, vocabulary)
    return dataclasses.replace(filters, topics=wanted)


@click.command(epilog=("\b\nExamples:\n"
        "  safeguarding-news search \"criminal exploitation\" --since 2024-01-01\n"
        "  safeguarding-news search \"neglect OR abuse\" --source csprp_govuk --type review --json"))
@click.argument("query")
@source_filter
@type_filter
@topic_filter
@since_option
@until_option
@click.option("--limit", default="20", metavar="N", help="At most N results (default 20).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--verbose", is_flag=True, help="Say on stderr which engine answered (search index or FTS5) and why.")
@db_option
@config_option
@friendly_errors
def search(query: str, sources: tuple[str, ...], types: tuple[str, ...], topics: tuple[str, ...], since: str | None,
           until: str | None, limit: str, as_json: bool, verbose: bool, db: str | None,
           config_path: str | None) -> None:
    """Full-text search of titles, summaries and text, best match first.

    Plain words must all match (punctuation is fine); FTS5 syntax works too:
    OR, NOT, "exact phrases", prefix*, title:word. Matching terms are shown in **bold**.
    Answered by the search index beside the database when there is one
    (`search-index` builds it), else by SQLite FTS5.
    """
    import time

    from pipeline.outputs.search import results_json, results_text
    from storage import search_index

    # the quick view of config.yaml (its database and sources); --topic reads the vocabulary: config whole
    config = command_config(config_path, db) if topics else quick_config(config_path, db)
    database = existing_db(config, read_only=True)
    filters = _with_topics(config, database, query_filters(config, database, sources, types, since, until), topics)
    started = time.perf_counter()
    answer = search_index.search(database, query, filters, limit=positive(limit, "--limit"))
    rows = answer.rows
    spent = 1000 * (time.perf_counter() - started)
    if verbose:
        engine = "search index (tantivy)" if answer.engine == "tantivy" else "SQLite FTS5"
        click.echo(f"answered by {engine} in {spent:.0f} ms" + (f": {answer.note}" if answer.note else ""),
                   err=True)
    elif answer.problem:  # an index is there but could not answer: say so once, in one line
        click.echo(f"note: answered by SQLite FTS5: {answer.note}", err=True)
    if as_json:
        click.echo(results_json(rows))
    elif rows:
        click.echo(results_text(rows))
    else:
        click.echo(f"no publications match: {query}", err=True)


@click.command(epilog=("\b\nExamples:\n"
        "  safeguarding-news search-index            # bring it up to date after crawls\n"
        "  safeguarding-news search-index --rebuild  # build it again from the database"))
@click.option("--rebuild", is_flag=True, help="Build the index again from the database (else: bring it up to date).")
@db_option
@config_option
@friendly_errors
def search_index(rebuild: bool, db: str | None, config_path: str | None) -> None:
    """Build or update the search index beside the database (<database>.search/).

    A cache of the publications' text that `search` answers from in milliseconds; the database stays
    the only truth. Without it, or when it is far behind, `search` uses SQLite FTS5.
    """
    import time

    from storage import search_index as index

    config = command_config(config_path, db)
    database = existing_db(config)
    folder = index.index_dir(config.database)
    started = time.perf_counter()
    try:
        if rebuild or not folder.exists():
            count = index.rebuild(database, folder)
            what = f"built from {count:,} publications"
        else:
            try:
                count = index.update(database, folder)
                what = f"brought up to date ({count:,} publications read)" if count else "already up to date"
            except index.IndexUnavailable as exc:
                if "being written" in str(exc):
                    raise
                count = index.rebuild(database, folder)  # another database's or unreadable: built again
                what = f"rebuilt ({exc}) from {count:,} publications"
    except index.IndexUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"search index {folder}: {what} in {time.perf_counter() - started:.1f} s")


@click.command(epilog=("\b\nExamples:\n"
        "  safeguarding-news export --format csv --since 2024-01-01 --out publications.csv\n"
        "  safeguarding-news export --format jsonl --source csprp_govuk > csprp.jsonl"))
@click.option("--format", "fmt", default="csv", metavar="csv|json|jsonl",
              help="csv (default), json (one array) or jsonl (one object a line).")
@source_filter
@type_filter
@topic_filter
@since_option
@until_option
@out_option
@db_option
@config_option
@friendly_errors
def export(fmt: str, sources: tuple[str, ...], types: tuple[str, ...], topics: tuple[str, ...], since: str | None,
           until: str | None, out: str | None, db: str | None, config_path: str | None) -> None:
    """Publications for other tools, every column, UTF-8, oldest first (streamed: any size of database)."""
    from pipeline.outputs.export import FORMATS, write_export
    from pipeline.outputs.files import output
    from storage.queries import EXPORT_COLUMNS, iter_publications

    choice(fmt, FORMATS, "--format")
    config = command_config(config_path, db)
    database = existing_db(config)
    filters = _with_topics(config, database, query_filters(config, database, sources, types, since, until), topics)
    with output(out, sys.stdout.buffer) as stream:
        count = write_export(iter_publications(database, filters), EXPORT_COLUMNS, fmt, stream)
    click.echo(f"exported {count} publications as {fmt}" + (f" to {out}" if out and out != "-" else ""),
               err=True)


@click.command(epilog=("\b\nExample:\n"
        "  safeguarding-news feed --out /var/www/safeguarding.atom"))
@out_option
@click.option("--limit", default="50", metavar="N", help="The N newest stories (default 50).")
@click.option("--url", "self_url", metavar="URL", help="Where the feed will be published (its rel=self link).")
@topic_filter
@db_option
@config_option
@friendly_errors
def feed(out: str | None, limit: str, self_url: str | None, topics: tuple[str, ...], db: str | None,
         config_path: str | None) -> None:
    """An Atom feed of the newest stories: one entry per story, with every source's link and its topics
    as <category> elements."""
    from pipeline import clock
    from pipeline.outputs.feed import build_feed
    from pipeline.outputs.files import output
    from pipeline.outputs.present import organisations, topics_by_member
    from storage.queries import Filters, newest_stories

    config = command_config(config_path, db)
    database = existing_db(config)
    count = positive(limit, "--limit")
    vocabulary, wanted = _topics(config, topics)
    stories = newest_stories(database, limit=count, filters=Filters(topics=wanted))
    document = build_feed(stories, organisations(config), clock.system_clock(), self_url=self_url,
                          member_topics=topics_by_member(database, stories), vocabulary=vocabulary)
    with output(out, sys.stdout.buffer) as stream:
        stream.write(document.decode("utf-8"))
    _note_stale_topics(database, vocabulary)


@click.command(epilog=("\b\nExamples:\n"
        "  safeguarding-news digest                                   # the last 7 days, Markdown\n"
        "  safeguarding-news digest --since 2024-12-01 --until 2024-12-31 --format html --out december.html\n"
        "  safeguarding-news digest --topic online-safety --group-by-topic\n"
        "  safeguarding-news digest --preview weekly.eml               # the e-mail, written to a file\n"
        "  safeguarding-news digest --send                             # e-mail the past week (digest.email)"))
@click.option("--since", metavar="WHEN",
              help="Published on or after: an age (7d, 24h, 2w) or a date (2024-12-01). Default: 7d; with "
                   "--send/--preview, the digest.days whole days before today.")
@until_option
@click.option("--format", "fmt", default="md", metavar="md|html", help="Markdown (default) or an HTML page.")
@topic_filter
@click.option("--group-by-topic", is_flag=True, help="One heading per topic with its stories under it.")
@click.option("--send", is_flag=True,
              help="E-mail the digest to digest.email.recipients (each period once per recipient).")
@click.option("--preview", metavar="PATH", help="Write the e-mail (.eml, HTML and plain text) to PATH, send nothing.")
@out_option
@db_option
@config_option
@friendly_errors
def digest(since: str | None, until: str | None, fmt: str, topics: tuple[str, ...], group_by_topic: bool, send: bool,
           preview: str | None, out: str | None, db: str | None, config_path: str | None) -> None:
    """A digest in the manner of a CASPAR alert: one section per story under its topic heading, with
    its sources, dates, summary and "Read the ..." links.
    """
    from pipeline import clock
    from pipeline.config import ConfigError
    from pipeline.outputs import BadInput
    from pipeline.outputs.digest import FORMATS, render_digest
    from pipeline.outputs.files import output
    from pipeline.outputs.period import parse_period
    from pipeline.outputs.present import organisations, topics_by_member, with_topics
    from storage.queries import stories_between

    choice(fmt, FORMATS, "--format")
    if send and preview:
        raise BadInput("--send and --preview: give one (--preview writes the message --send would send)")
    config = command_config(config_path, db)
    mailing = send or preview is not None
    if mailing and config.digest.email is None:
        raise ConfigError("digest.email is not set in config.yaml: give smtp_host, sender and recipients "
                          "(docs/analysts.md#the-weekly-e-mail-digest---send)")
    database = existing_db(config)
    vocabulary, wanted = _topics(config, topics)
    now = clock.system_clock()
    if mailing and not since and not until:
        from pipeline.cli.digest_mail import weekly_period

        period = weekly_period(config, now)  # whole days, the same however often it runs
    else:
        period = parse_period(since or "7d", until, now, open_end=False)
    stories = stories_between(database, period.filters(coarse_found_since=True))
    _note_stale_topics(database, vocabulary)
    member_topics = topics_by_member(database, stories)
    stories = with_topics(stories, member_topics, wanted)
    grouping = group_by_topic or (mailing and config.digest.group_by_topic)
    if mailing:
        from pipeline.cli.digest_mail import mail_digest

        mail_digest(config, database, period, stories, member_topics, vocabulary, grouping, now, preview)
        return
    text = render_digest(stories, organisations(config), period, fmt, member_topics, vocabulary, grouping)
    with output(out, sys.stdout.buffer) as stream:
        stream.write(text)
