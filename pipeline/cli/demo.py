"""``demo``: the first command of the README, which works on any machine, network or not."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.cli.common import EXIT_FAILURE, friendly_errors

if TYPE_CHECKING:
    from pipeline.config import Config


def _default_db() -> Path:
    import tempfile

    return Path(tempfile.gettempdir()) / "safeguarding-news-demo" / "demo.db"


@click.command(epilog=("\b\nExamples:\n"
        "  safeguarding-news demo\n"
        "  safeguarding-news demo --db /tmp/demo.db && safeguarding-news search neglect --db /tmp/demo.db"))
@click.option("--db", type=click.Path(dir_okay=False),
              help="Database to create (default: safeguarding-news-demo/demo.db in the temporary directory, "
                   "replaced at each demo).")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@friendly_errors
def demo(db: str | None, quiet: bool) -> None:
    """Crawl the recorded sites shipped with the package (no network needed) into a fresh database, then
    show `status` and this week's digest. The database stays for `search`, `export`, `feed`, `digest`.
    """
    from pipeline.cli.operators import run_crawl, status_text
    from pipeline.config import ConfigError, load_config
    from pipeline.tools.demo_sites import DEMO_CONFIG, demo_sites

    sites = demo_sites()
    if not sites or not DEMO_CONFIG.is_file():
        raise ConfigError("no demo sites in this installation: run `python -m pipeline.tools.demo_sites --refresh`")
    path = Path(db) if db else _default_db()
    if db and path.exists():
        raise ConfigError(f"--db {db} exists: the demo starts from an empty database; give a new path")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = load_config(DEMO_CONFIG, db_override=str(path))
    click.echo(f"demo: crawling {len(sites)} recorded sites (served on loopback, no network) into {path}\n")
    code = run_crawl(config, config.enabled_sources(), [str(s) for s in sites], quiet=quiet)
    click.echo("\n== status\n")
    click.echo(status_text(config, str(path)))
    click.echo("\n== this week's digest\n")
    click.echo(_digest(config, str(path)))
    click.echo(f"\nNext: safeguarding-news search neglect --db {path}   (docs: README.md, docs/)")
    sys.exit(code and EXIT_FAILURE)


def _digest(config: Config, db_path: str) -> str:
    """The digest of the week up to the newest publication date of the demo data: a fixed "now", so that
    the demo's digest is never empty however old the recorded sites grow."""
    from datetime import date, timedelta

    from pipeline.clock import system_clock
    from pipeline.outputs.digest import render_digest
    from pipeline.outputs.period import parse_period
    from pipeline.outputs.present import organisations
    from storage.db import opened
    from storage.queries import stories_between

    with opened(db_path) as database:
        newest = next(database.query("select max(published_at) as t from publications"))["t"]
        last = date.fromisoformat(str(newest)[:10]) if newest else system_clock().date()
        period = parse_period((last - timedelta(days=6)).isoformat(), last.isoformat(), system_clock(),
                              open_end=False)
        stories = stories_between(database, period.filters(coarse_found_since=True))
        return render_digest(stories, organisations(config), period, "md")
