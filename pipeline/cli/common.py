"""What every command shares: one-line errors with their exit status, the common options, the config and
database a command works on, and validated option values."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from pipeline.config_file import ConfigError
from pipeline.outputs import BadInput
from storage.db import StorageError

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.config_file import QuickConfig

# Errors of modules a command may never load (replay, queries) are told apart by name, so that a quick
# command does not import them just to catch what they raise (they cannot raise what is not loaded).
USAGE_ERRORS = {"storage.queries.QueryError"}
FAILURE_ERRORS = {"pipeline.replay.ReplayError"}


def _named(exc: BaseException, names: set[str]) -> bool:
    return any(f"{cls.__module__}.{cls.__qualname__}" in names for cls in type(exc).__mro__)

EXIT_FAILURE = 1
EXIT_USAGE = 2


def friendly_errors(func: Callable) -> Callable:
    """Every expected failure becomes one line and an exit status, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, BadInput) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except StorageError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_FAILURE)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # `export ... | head`: the reader has gone; stop quietly, as Unix tools do
            quiet_broken_pipe()
        except Exception as exc:  # a bug still gets one line; -v logs the traceback
            if _named(exc, USAGE_ERRORS | FAILURE_ERRORS):
                click.echo(f"error: {exc}", err=True)
                sys.exit(EXIT_USAGE if _named(exc, USAGE_ERRORS) else EXIT_FAILURE)
            logging.getLogger("pipeline.cli").debug("unexpected error", exc_info=True)
            click.echo(f"error: unexpected {type(exc).__name__}: {exc} (run with -v for the traceback)", err=True)
            sys.exit(EXIT_FAILURE)

    return wrapper


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell shows for `seq 1 1000000 | head`


def quiet_broken_pipe() -> None:
    """The reader of stdout has gone: point stdout at /dev/null so that the interpreter's final flush
    does not complain, and exit with the status of a process ended by SIGPIPE."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_BROKEN_PIPE)


def command_config(config_path: str | None, db: str | None, log_format: str | None = None) -> Config:
    """config.yaml validated whole (pipeline.config)."""
    from pipeline.config import load_config
    from pipeline.logs import use_log_format

    config = load_config(config_path, db_override=db)
    if log_format and log_format != config.crawl.log_format:
        config = config.model_copy(update={"crawl": config.crawl.model_copy(update={"log_format": log_format})})
    use_log_format(config.crawl.log_format)
    return config


def quick_config(config_path: str | None, db: str | None) -> QuickConfig:
    """The quick view of config.yaml for `status` and `search`: the keys they read, checked, without building
    the pydantic model (a tenth of a second and more of their start; see pipeline/config_file.py)."""
    from pipeline.config_file import load_quick_config
    from pipeline.logs import use_log_format

    config = load_quick_config(config_path, db_override=db)
    use_log_format(config.crawl.log_format)
    return config


config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                             help="Path to config.yaml (default: ./config.yaml).")
db_option = click.option("--db", type=click.Path(dir_okay=False),
                         help="SQLite database (default: $SAFEGUARDING_NEWS_DB if set, else database in config.yaml).")


def text_table(rows: list[dict], columns: tuple[str, ...]) -> str:
    cells = [[str(r.get(c, "") if r.get(c) is not None else "") for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])



def existing_db(config: Config | QuickConfig, read_only: bool = False) -> Any:
    """The database a read command reads: it must exist, so that a mistyped --db is not a new empty one.
    ``read_only``: a plain sqlite3 connection when the schema is current (storage.db.open_read)."""
    from pathlib import Path

    from storage.db import open_db, open_read

    if not Path(config.database).is_file():
        raise StorageError(f"no database at {config.database}: run `safeguarding-news crawl` first, or give --db")
    return open_read(config.database) if read_only else open_db(config.database)


def query_filters(config: Config | QuickConfig, database: Any, sources: tuple[str, ...], types: tuple[str, ...],
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


def positive(value: str, option: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise BadInput(f"{option}: expected a whole number of at least 1 (got {value!r})")
    return int(value)


def choice(value: str, choices: tuple[str, ...], option: str) -> str:
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


