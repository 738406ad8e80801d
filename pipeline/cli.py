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
from pipeline.replay import ReplayError
from storage.db import StorageError

EXIT_FAILURE = 1
EXIT_USAGE = 2


def friendly_errors(func: Callable) -> Callable:
    """Every expected failure becomes one line and an exit status, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except (StorageError, ReplayError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_FAILURE)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


def _config(config_path: str | None, db: str | None) -> Config:
    return load_config(config_path, db_override=db)


config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                             help="Path to config.yaml (default: ./config.yaml).")
db_option = click.option("--db", type=click.Path(dir_okay=False),
                         help="SQLite database (default: the path in config.yaml, or $SAFEGUARDING_NEWS_DB).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
def main(verbose: bool) -> None:
    """Collect UK child-safeguarding publications into SQLite.

    \b
    Example:
      safeguarding-news crawl --source csprp_govuk --replay tests/fixtures/csprp_govuk --db demo.db
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


SUMMARY_COLUMNS = ("source", "status", "pages", "items", "new", "updated", "unchanged", "invalid", "errors")


def _table(rows: list[dict], columns: tuple[str, ...]) -> str:
    cells = [[str(r.get(c, "") if r.get(c) is not None else "") for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])


@main.command()
@click.option("--source", "slugs", multiple=True, metavar="SLUG",
              help="Source to crawl (repeatable; default: every enabled source).")
@db_option
@click.option("--replay", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Serve this recorded site instead of the internet (repeatable).")
@config_option
@friendly_errors
def crawl(slugs: tuple[str, ...], db: str | None, replay: tuple[str, ...], config_path: str | None) -> None:
    """Crawl sources once and store what they publish; exit 0 only if every source succeeded.

    \b
    Example (offline, from the recorded site):
      safeguarding-news crawl --source csprp_govuk --replay tests/fixtures/csprp_govuk --db demo.db
    """
    from pipeline.runner import crawl_sources

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


@main.command()
@db_option
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def status(db: str | None, config_path: str | None, as_json: bool) -> None:
    """Per-source health: last run, last success, items, new, errors, open alerts.

    \b
    Example:
      safeguarding-news status --db safeguarding.db
    """
    from storage.db import latest_runs, open_db

    config = _config(config_path, db)
    rows = latest_runs(open_db(config.database))
    columns = ("source", "status", "started_at", "last_success", "items", "new", "errors", "open_alerts",
               "stored")
    if as_json:
        click.echo(json.dumps([{c: r.get(c) for c in columns} for r in rows], indent=2))
    elif rows:
        click.echo(_table(rows, columns))
    else:
        click.echo("no runs yet: run `safeguarding-news crawl` first")
    unhealthy = [r for r in rows if r["status"] not in ("ok", "running")]
    sys.exit(EXIT_FAILURE if unhealthy else 0)


@main.command()
@db_option
@config_option
@click.option("--rebuild", is_flag=True, help="Re-derive every story from scratch instead of matching new items.")
@friendly_errors
def cluster(db: str | None, config_path: str | None, rebuild: bool) -> None:
    """Group publications that tell the same story (crawl does this for new items after every run).

    \b
    Examples:
      safeguarding-news cluster             # match publications not yet matched
      safeguarding-news cluster --rebuild   # re-derive every story
    """
    from pipeline import stories
    from storage.db import open_db

    database = open_db(_config(config_path, db).database)
    figures = stories.rebuild(database) if rebuild else stories.match_pending(database)
    click.echo(", ".join(f"{k}: {v}" for k, v in figures.items()))
