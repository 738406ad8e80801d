"""Analysts' topic commands: ``topics list``, ``topics reassign`` (after editing topics.yaml) and ``stats``
(publications per month per source and per topic, as a table and a terminal chart)."""

from __future__ import annotations

import sys

import click

from pipeline.cli.common import command_config, config_option, db_option, existing_db, friendly_errors


@click.group(epilog=("\b\nExamples:\n"
        "  safeguarding-news topics list\n"
        "  safeguarding-news topics reassign        # after editing topics.yaml"))
def topics() -> None:
    """The topic vocabulary (topics.yaml): list it, or re-assign stored publications after editing it."""


@topics.command("list", epilog=("\b\nExample:\n  safeguarding-news topics list --db demo.db"))
@db_option
@config_option
@friendly_errors
def list_topics(db: str | None, config_path: str | None) -> None:
    """Each topic's id, label and number of publications (primary / any) in the database."""
    from pathlib import Path

    from pipeline.cli.common import text_table
    from pipeline.topics import config_vocabulary
    from storage.db import open_db
    from storage.topics import topic_counts

    config = command_config(config_path, db)
    vocabulary = config_vocabulary(config)
    counts = topic_counts(open_db(config.database)) if Path(config.database).is_file() else {}
    rows = [{"id": t.id, "label": t.label, "primary": counts.get(t.id, (0, 0))[0], "any": counts.get(t.id, (0, 0))[1]}
            for t in vocabulary.topics]
    click.echo(text_table(rows, ("id", "label", "primary", "any")))


@topics.command(epilog=("\b\nExample:\n  safeguarding-news topics reassign --db safeguarding.db"))
@db_option
@config_option
@friendly_errors
def reassign(db: str | None, config_path: str | None) -> None:
    """Assign topics again to every stored publication with the vocabulary as it is now, and keep that
    vocabulary in the database (new publications get their topics from it when they are stored)."""
    from pipeline import clock
    from pipeline.items.dates import iso
    from pipeline.topics import config_vocabulary, reassign_all
    from storage.topics import topic_counts

    config = command_config(config_path, db)
    database = existing_db(config)
    vocabulary = config_vocabulary(config)
    count = reassign_all(database, vocabulary, iso(clock.system_clock()))
    with_topic = sum(primary for primary, _ in topic_counts(database).values())
    click.echo(f"re-assigned {count} publications with {len(vocabulary.topics)} topics "
               f"(vocabulary {vocabulary.version}): {with_topic} have a primary topic, {count - with_topic} none")


@click.command(epilog=("\b\nExamples:\n"
        "  safeguarding-news stats\n"
        "  safeguarding-news stats --by topic --since 2024-01 --no-chart"))
@click.option("--by", "by", default="both", metavar="source|topic|both",
              help="Group by source, topic or both (default).")
@click.option("--since", metavar="YYYY-MM", help="From this month.")
@click.option("--until", metavar="YYYY-MM", help="To this month (inclusive).")
@click.option("--chart/--no-chart", default=True, help="Draw a terminal chart under each table (default: yes).")
@click.option("--width", default="100", metavar="N", help="Chart width in characters (default 100).")
@db_option
@config_option
@friendly_errors
def stats(by: str, since: str | None, until: str | None, chart: bool, width: str, db: str | None,
          config_path: str | None) -> None:
    """Publications per month per source and per (primary) topic: a table, and a terminal chart."""
    from pipeline.cli.common import choice, positive
    from pipeline.outputs.stats import month_bound, render_counts
    from pipeline.topics import config_vocabulary
    from storage.topics import monthly_counts

    choice(by, ("source", "topic", "both"), "--by")
    first, last = month_bound(since, "--since"), month_bound(until, "--until")
    config = command_config(config_path, db)
    database = existing_db(config)
    labels = {t.id: t.label for t in config_vocabulary(config).topics} if by != "source" else {}
    for kind in ("source", "topic") if by == "both" else (by,):
        rows = [r for r in monthly_counts(database, kind) if (not first or r["month"] >= first)
                and (not last or r["month"] <= last)]
        click.echo(render_counts(rows, kind, labels if kind == "topic" else {}, chart,
                                 positive(width, "--width"), colour=sys.stdout.isatty(), first=first, last=last))
