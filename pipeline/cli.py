"""The ``safeguarding-news`` command line (also ``python -m pipeline``)."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import click

from pipeline.config import Config, ConfigError, load_config
from pipeline.outputs import BadInput
from pipeline.replay import ReplayError
from storage.db import StorageError
from storage.queries import QueryError

EXIT_FAILURE = 1
EXIT_USAGE = 2


def friendly_errors(func: Callable) -> Callable:
    """Every expected failure becomes one line and an exit status, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, BadInput, QueryError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except (StorageError, ReplayError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_FAILURE)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # a bug still gets one line; -v logs the traceback
            logging.getLogger("pipeline.cli").debug("unexpected error", exc_info=True)
            click.echo(f"error: unexpected {type(exc).__name__}: {exc} (run with -v for the traceback)", err=True)
            sys.exit(EXIT_FAILURE)

    return wrapper


def _config(config_path: str | None, db: str | None) -> Config:
    from pipeline.logs import use_log_format

    config = load_config(config_path, db_override=db)
    use_log_format(config.crawl.log_format)
    return config


config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                             help="Path to config.yaml (default: ./config.yaml).")
db_option = click.option("--db", type=click.Path(dir_okay=False),
                         help="SQLite database (default: $SAFEGUARDING_NEWS_DB if set, else database in config.yaml).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=("\b\nExample:\n"
        "  safeguarding-news crawl --source csprp_govuk --replay tests/fixtures/csprp_govuk --db demo.db"))
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
def main(verbose: bool) -> None:
    """Collect UK child-safeguarding publications into SQLite.

    Every command has --help with an example. The documentation is README.md and docs/ in the repository.
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


SUMMARY_COLUMNS = ("source", "status", "pages", "items", "new", "updated", "unchanged", "invalid", "errors")


def _table(rows: list[dict], columns: tuple[str, ...]) -> str:
    cells = [[str(r.get(c, "") if r.get(c) is not None else "") for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])


@main.command(epilog=("\b\nExample (offline, from the recorded site):\n"
        "  safeguarding-news crawl --source csprp_govuk --replay tests/fixtures/csprp_govuk --db demo.db"))
@click.option("--source", "slugs", multiple=True, metavar="SLUG",
              help="Source to crawl (repeatable; default: every enabled source).")
@db_option
@click.option("--replay", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Serve this recorded site instead of the internet (repeatable).")
@config_option
@friendly_errors
def crawl(slugs: tuple[str, ...], db: str | None, replay: tuple[str, ...], config_path: str | None) -> None:
    """Crawl sources once and store what they publish; exit 0 only if every source succeeded."""
    from pipeline.ops.runner import crawl_sources

    config = _config(config_path, db)
    sources = [config.source(s) for s in slugs] if slugs else config.enabled_sources()
    if not sources:
        raise ConfigError("no enabled source to crawl")
    runs = crawl_sources(config, sources, config.database, replay=list(replay))
    click.echo(_table(runs, SUMMARY_COLUMNS))
    for run in runs:
        if run["status"] != "ok" and run["message"]:
            click.echo(f"{run['source']}: {run['message']}", err=True)
    sys.exit(0 if all(r["status"] == "ok" for r in runs) else EXIT_FAILURE)


@main.command(epilog=("\b\nExamples:\n"
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

    config = _config(config_path, db)
    entries = source_status(config, _existing_db(config), system_clock())
    if as_json:
        click.echo(json.dumps(entries, indent=2))
    else:
        click.echo(_status_text(entries))
    sys.exit(0 if all(e["healthy"] for e in entries) else EXIT_FAILURE)


STATUS_COLUMNS = ("source", "status", "started_at", "last_success", "age", "schedule", "items", "errors",
                  "new_7d", "stored", "open_alerts", "health")


def _status_text(entries: list[dict]) -> str:
    if not entries:
        return "no sources: add one to config.yaml"
    rows = [{**e, "age": e["last_success_age"], "health": "ok" if e["healthy"] else "UNHEALTHY"}
            for e in entries]
    lines = [_table(rows, STATUS_COLUMNS)]
    for entry in entries:
        lines += [f"{entry['source']}: {problem}" for problem in entry["problems"]]
        lines += [f"  {a['kind']} (since {a['raised_at']}, run {a['run_id']}): {a['message']}"
                  for a in entry["alerts"]]
    return "\n".join(lines)


@main.command(epilog=("\b\nExample:\n"
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

    config = _config(config_path, db)
    try:
        CrawlScheduler(config, config.database, replay=list(replay)).serve()
    except SchedulerLocked as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILURE)


@main.command(epilog=("\b\nExamples:\n"
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

    database = open_db(_config(config_path, db).database)
    figures = stories.rebuild(database) if rebuild else stories.match_pending(database)
    click.echo(", ".join(f"{k}: {v}" for k, v in figures.items()))


# ---------------------------------------------------------------- analysts' outputs

def _existing_db(config: Config) -> Any:
    """The database a read command reads: it must exist, so that a mistyped --db is not a new empty one."""
    from pathlib import Path

    from storage.db import open_db

    if not Path(config.database).is_file():
        raise StorageError(f"no database at {config.database}: run `safeguarding-news crawl` first, or give --db")
    return open_db(config.database)


def _filters(config: Config, database: Any, sources: tuple[str, ...], types: tuple[str, ...],
             since: str | None, until: str | None) -> Any:
    """Validated --source/--type/--since/--until as query filters; bad values are one line, exit 2."""
    from pipeline import clock
    from pipeline.items.schema import CONTENT_TYPES
    from pipeline.outputs.period import parse_period
    from storage.queries import known_sources

    known = set(config.sources) | set(known_sources(database))
    for slug in sources:
        if slug not in known:
            raise BadInput(f"unknown source {slug!r}; known sources: {', '.join(sorted(known))}")
    for kind in types:
        if kind not in CONTENT_TYPES:
            raise BadInput(f"unknown type {kind!r}; types: {', '.join(CONTENT_TYPES)}")
    return parse_period(since, until, clock.system_clock()).filters(sources, types)


def _positive(value: str, option: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise BadInput(f"{option}: expected a whole number of at least 1 (got {value!r})")
    return int(value)


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        raise BadInput(f"{option}: expected one of {', '.join(choices)} (got {value!r})")
    return value


source_filter = click.option("--source", "sources", multiple=True, metavar="SLUG",
                             help="Only this source (repeatable).")
type_filter = click.option("--type", "types", multiple=True, metavar="TYPE",
                           help="Only this content type (repeatable): news, report, review, briefing, ...")
since_option = click.option("--since", metavar="WHEN",
                            help="Published on or after: an age (24h, 7d, 2w) or a date (2024-12-01).")
until_option = click.option("--until", metavar="WHEN",
                            help="Published on or before (inclusive): an age or a date.")
out_option = click.option("--out", metavar="PATH", help="Write to this file (replaced whole) instead of stdout.")


@main.command(epilog=("\b\nExamples:\n"
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

    config = _config(config_path, db)
    database = _existing_db(config)
    filters = _filters(config, database, sources, types, since, until)
    rows = queries.search(database, query, filters, limit=_positive(limit, "--limit"))
    if as_json:
        click.echo(results_json(rows))
    elif rows:
        click.echo(results_text(rows))
    else:
        click.echo(f"no publications match: {query}", err=True)


@main.command(epilog=("\b\nExamples:\n"
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

    _choice(fmt, FORMATS, "--format")
    config = _config(config_path, db)
    database = _existing_db(config)
    filters = _filters(config, database, sources, types, since, until)
    with output(out, sys.stdout.buffer) as stream:
        count = write_export(iter_publications(database, filters), EXPORT_COLUMNS, fmt, stream)
    click.echo(f"exported {count} publications as {fmt}" + (f" to {out}" if out and out != "-" else ""),
               err=True)


@main.command(epilog=("\b\nExample:\n"
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

    config = _config(config_path, db)
    stories = newest_stories(_existing_db(config), limit=_positive(limit, "--limit"))
    document = build_feed(stories, organisations(config), clock.system_clock(), self_url=self_url)
    with output(out, sys.stdout.buffer) as stream:
        stream.write(document.decode("utf-8"))


@main.command(epilog=("\b\nExamples:\n"
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

    _choice(fmt, FORMATS, "--format")
    config = _config(config_path, db)
    database = _existing_db(config)
    period = parse_period(since, until, clock.system_clock(), open_end=False)
    stories = stories_between(database, period.filters(coarse_found_since=True))
    text = render_digest(stories, organisations(config), period, fmt)
    with output(out, sys.stdout.buffer) as stream:
        stream.write(text)


# ---------------------------------------------------------------- maintainers' tools

@main.command(epilog=("\b\nExamples:\n"
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

    config = _config(config_path, None)
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


@main.command("new-source", epilog=("\b\nExample:\n"
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
