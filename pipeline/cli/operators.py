"""Operators' commands: crawl, schedule, status, cluster."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from pipeline.cli.common import (
    EXIT_FAILURE,
    command_config,
    config_option,
    db_option,
    existing_db,
    friendly_errors,
    quick_config,
    text_table,
)
from pipeline.config_file import ConfigError


@click.command(epilog=("\b\nExample (offline, from the recorded site):\n"
        "  safeguarding-news crawl --source csprp_govuk --replay tests/fixtures/csprp_govuk --db demo.db"))
@click.option("--source", "slugs", multiple=True, metavar="SLUG",
              help="Source to crawl (repeatable; default: every enabled source).")
@db_option
@click.option("--replay", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Serve this recorded site instead of the internet (repeatable).")
@config_option
@click.option("-q", "--quiet", is_flag=True, help="No progress lines, only the summary and errors.")
@click.option("--verbose", is_flag=True, help="Plain progress lines and the pipeline's own log (no live table).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="Log lines as text or JSON lines (default: crawl.log_format in config.yaml).")
@friendly_errors
def crawl(slugs: tuple[str, ...], db: str | None, replay: tuple[str, ...], config_path: str | None,
          quiet: bool, verbose: bool, log_format: str | None) -> None:
    """Crawl sources once and store what they publish; exit 0 only if every source succeeded.

    On a terminal a live table shows each source's progress; otherwise one line per event. Each crawl's
    full Scrapy log goes to its own file (logs/ beside the database; `status` shows where).
    """
    config = command_config(config_path, db, log_format)
    sources = [config.source(s) for s in slugs] if slugs else config.enabled_sources()
    if not sources:
        raise ConfigError("no enabled source to crawl")
    sys.exit(run_crawl(config, sources, list(replay), quiet=quiet, verbose=verbose))


def run_crawl(config: Any, sources: list[Any], replay: list[str], *, quiet: bool = False,
              verbose: bool = False) -> int:
    """Crawl with the display chosen for this terminal, print the summary; the exit status."""
    import logging

    from pipeline.cli.progress import LEGEND, SUMMARY_COLUMNS, LiveDisplay, display, summary_rows
    from pipeline.ops.runner import crawl_sources

    shown = display(quiet, verbose, config.crawl.log_format)
    quieted = {"pipeline": logging.ERROR, "pipeline.replay": logging.ERROR}  # replay: a site without robots.txt
    if not (isinstance(shown, LiveDisplay) or quiet or (not verbose and config.crawl.log_format == "text")):
        quieted = {}
    # the runner's and health checks' lines say what the table and event lines say (alerts: in `status`);
    # errors still show
    previous = {name: logging.getLogger(name).level for name in quieted}
    for name, level in quieted.items():
        logging.getLogger(name).setLevel(level)
    try:
        runs = crawl_sources(config, sources, config.database, replay=replay, progress=shown)
    finally:
        if shown:
            shown.stop()
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)
    click.echo(text_table(summary_rows(runs), SUMMARY_COLUMNS))
    if not quiet:
        click.echo(LEGEND)
    for run in runs:
        if run["status"] != "ok" and run["message"]:
            click.echo(f"{run['source']}: {run['message']}", err=True)
    return 0 if all(r["status"] == "ok" for r in runs) else EXIT_FAILURE


@click.command(epilog=("\b\nExamples:\n"
        "  safeguarding-news status --db safeguarding.db\n"
        "  safeguarding-news status --json || notify-someone"))
@db_option
@config_option
@click.option("--json", "as_json", is_flag=True, help="JSON for machines: an object per source.")
@friendly_errors
def status(db: str | None, config_path: str | None, as_json: bool) -> None:
    """Per-source health: last run and its status, age of the last success against the schedule, items,
    new in the last 7 days, open alerts. Exit 1 when any source is unhealthy (for monitoring).
    """
    from pipeline.clock import system_clock
    from pipeline.ops.status import source_status

    config = quick_config(config_path, db)  # the keys status reads, checked (start-up: pipeline/config_file.py)
    entries = source_status(config, existing_db(config, read_only=True), system_clock())
    _show_status(entries, as_json)


def status_text(config: Any, db_path: str) -> str:
    """What `status` prints for this config and database (the demo shows it too)."""
    from pipeline.clock import system_clock
    from pipeline.ops.status import source_status
    from storage.db import opened

    with opened(db_path) as database:
        return _status_text(source_status(config, database, system_clock()))


def _show_status(entries: list[dict], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(entries, indent=2))
    else:
        click.echo(_status_text(entries))
    sys.exit(0 if all(e["healthy"] for e in entries) else EXIT_FAILURE)


STATUS_COLUMNS = ("source", "status", "started_at", "last_success", "age", "schedule", "items", "errors",
                  "new_7d", "stored", "open_alerts", "health")


def _health_text(entry: dict) -> str:
    """``ok`` only for a source that has run: one never crawled is ``not yet crawled`` until it is overdue."""
    if not entry["healthy"]:
        return "UNHEALTHY"
    return "not yet crawled" if entry["status"] == "never run" else "ok"


def _status_text(entries: list[dict]) -> str:
    if not entries:
        return "no sources: add one to config.yaml"
    rows = [{**e, "age": e["last_success_age"], "health": _health_text(e)} for e in entries]
    lines = [text_table(rows, STATUS_COLUMNS)]
    for entry in entries:
        lines += [f"{entry['source']}: {problem}" for problem in entry["problems"]]
        if entry.get("log_path"):
            lines.append(f"{entry['source']}: log of run {entry['run_id']}: {entry['log_path']}")
        lines += [f"  {a['kind']} (since {a['raised_at']}, run {a['run_id']}): {a['message']}"
                  for a in entry["alerts"]]
    return "\n".join(lines)


@click.command(epilog=("\b\nExample:\n"
        "  safeguarding-news schedule --config /etc/safeguarding-news/config.yaml"))
@db_option
@click.option("--replay", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Serve this recorded site instead of the internet (repeatable; for demos and tests).")
@config_option
@friendly_errors
def schedule(db: str | None, replay: tuple[str, ...], config_path: str | None) -> None:
    """Run the scheduler: each enabled source on its schedule, health checks and alerts after every run.

    Overdue sources run once at start. One scheduler per database. SIGTERM or SIGINT stops it: no new
    runs, running crawls get scheduler.stop_grace_seconds to finish, then they are ended (`interrupted`).
    """
    from pipeline.ops.scheduler import CrawlScheduler, SchedulerLocked

    config = command_config(config_path, db)
    try:
        CrawlScheduler(config, config.database, replay=list(replay)).serve()
    except SchedulerLocked as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILURE)


@click.command(epilog=("\b\nExamples:\n"
        "  safeguarding-news cluster             # match publications not yet matched\n"
        "  safeguarding-news cluster --rebuild   # re-derive every story"))
@db_option
@config_option
@click.option("--rebuild", is_flag=True, help="Re-derive every story from scratch instead of matching new items.")
@friendly_errors
def cluster(db: str | None, config_path: str | None, rebuild: bool) -> None:
    """Group publications that tell the same story (crawl does this for new items after every run)."""
    from pipeline import stories
    from storage.db import open_db

    database = open_db(command_config(config_path, db).database)
    figures = stories.rebuild(database) if rebuild else stories.match_pending(database)
    click.echo(", ".join(f"{k}: {v}" for k, v in figures.items()))
