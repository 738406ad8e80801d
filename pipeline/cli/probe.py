"""``probe``: the first command to run with internet access, before the first scheduled crawl (see
docs/crawling.md, "First run against the live sites")."""

from __future__ import annotations

import json
import sys

import click

from pipeline.cli.common import command_config, config_option, friendly_errors


@click.command(epilog=("\b\nExample:\n"
                       "  safeguarding-news probe --source iwf --sample 3\n"
                       "  safeguarding-news probe --replay tests/fixtures/iwf --source iwf --json"))
@click.option("--source", "sources", multiple=True, metavar="SLUG",
              help="Probe this source (repeatable; default: every enabled coded source).")
@click.option("--sample", type=click.IntRange(min=1), default=5, show_default=True, metavar="N",
              help="Detail pages sampled per source for field coverage.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@click.option("--replay", "replay", multiple=True, type=click.Path(file_okay=False, exists=True), metavar="DIR",
              help="Answer from recorded sites instead of the live sites (repeatable).")
@config_option
@friendly_errors
def probe(sources: tuple[str, ...], sample: int, as_json: bool, replay: tuple[str, ...],
          config_path: str | None) -> None:
    """For each source: which doors answer (API, feed, sitemap, HTML), article links per listing page, field
    coverage (title, date, summary, content type) on N sampled detail pages, article-like links matching no
    pattern, robots.txt verdicts, and a one-line verdict (ok / degraded / broken). Exits 1 when a source
    yields nothing.
    """
    from scrapy.utils.misc import load_object

    from pipeline.tools.probe import live_fetch, probe_source, replay_fetch

    config = command_config(config_path, None)
    chosen = [config.source(s) for s in sources] or [s for s in config.enabled_sources() if s.type == "spider"]
    fetch = replay_fetch([*replay]) if replay else live_fetch(config.user_agent)
    reports = []
    for source in chosen:
        spider_cls = load_object(f"spiders.{source.slug}.{_class_name(source.slug)}")
        reports.append(probe_source(source.slug, spider_cls, dict(source.options), fetch, sample=sample,
                                    user_agent=config.user_agent))
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        for r in reports:
            click.echo(r.line())
            for name, count in r.listing_links.items():
                click.echo(f"  listing {name}: {count} article links")
            click.echo(f"  doors: {r.doors}; robots.txt: {r.robots}")
            for url in r.unmatched:
                click.echo(f"  unmatched article-like link: {url}")
    sys.exit(1 if any(r.verdict == "broken" for r in reports) else 0)


def _class_name(slug: str) -> str:
    import importlib

    module = importlib.import_module(f"spiders.{slug}")
    return next(n for n, v in vars(module).items() if isinstance(v, type) and getattr(v, "name", None) == slug)
