"""``new-source SLUG URL``: the files of a new coded source, in the manner of City Scrapers' generator.

It writes ``spiders/<slug>.py`` (a SourceSpider whose parsing is left to write and fails clearly until it
is), ``tests/fixtures/<slug>/`` (an empty recorded site to fill with ``record``), a test that fails until
the spider yields items with a title and a date from that recorded site, and a config block appended
under ``sources:`` in config.yaml. Nothing is written when the slug is invalid or already taken.
"""

from __future__ import annotations

import json
import keyword
import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

SLUG = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class ScaffoldError(Exception):
    """A slug or URL that cannot be scaffolded; one line for the maintainer."""


def check(root: Path, config_path: Path, slug: str, url: str) -> None:
    if not SLUG.match(slug) or keyword.iskeyword(slug) or slug.endswith("_"):
        raise ScaffoldError(f"invalid slug {slug!r}: lower-case letters, digits and underscores, starting with "
                            "a letter, 2 to 40 characters (e.g. ofsted_news)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ScaffoldError(f"invalid URL {url!r}: give the absolute http(s) address of the source's listing")
    if not (root / "spiders").is_dir():
        raise ScaffoldError(f"no spiders/ folder in {root}: run from the repository root or give --root")
    taken = [str(p.relative_to(root)) for p in (root / "spiders" / f"{slug}.py", root / "tests" / "fixtures" / slug,
                                                root / "tests" / "spiders" / f"test_{slug}.py") if p.exists()]
    if slug in _config_sources(config_path):
        taken.append(f"{config_path.name}: sources.{slug}")
    if taken:
        raise ScaffoldError(f"source {slug!r} exists already: {', '.join(taken)}")


def _config_sources(config_path: Path) -> dict:
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ScaffoldError(f"config file not found: {config_path}") from None
    except yaml.YAMLError as exc:
        raise ScaffoldError(f"{config_path}: not valid YAML: {exc}") from None
    sources = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(sources, dict):
        raise ScaffoldError(f"{config_path}: no `sources:` mapping to add the source to")
    return sources


def scaffold(root: Path, slug: str, url: str, config_path: Path | None = None) -> list[Path]:
    """Write the new source's files; return them. ScaffoldError (nothing written) for a bad slug or URL."""
    root = root.resolve()
    config_path = config_path or root / "config.yaml"
    check(root, config_path, slug, url)
    host = urlsplit(url).hostname or ""
    files = {
        root / "spiders" / f"{slug}.py": SPIDER.format(slug=slug, url=url, host=host, cls=_class_name(slug)),
        root / "tests" / "fixtures" / slug / "manifest.json": "{}\n",
        root / "tests" / "fixtures" / slug / "metadata.json": json.dumps({
            "source": slug, "origin": "not recorded yet",
            "note": f"Empty until recorded: safeguarding-news record --source {slug} --out tests/fixtures/{slug}",
            "files": {}}, indent=2) + "\n",
        root / "tests" / "spiders" / f"test_{slug}.py": TEST.format(slug=slug, cls=_class_name(slug)),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    append_config_block(config_path, CONFIG_BLOCK.format(slug=slug, url=url, host=host))
    return [*files, config_path]


def append_config_block(config_path: Path, block: str) -> None:
    """Insert ``block`` at the end of the ``sources:`` section (which need not be the last section),
    keeping every comment and line of the file as it was."""
    lines = config_path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^sources\s*:", line)), None)
    if start is None:
        raise ScaffoldError(f"{config_path}: no `sources:` section at the top level")
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in ("", " ", "\t", "#", "\n", "\r")),
               len(lines))
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1  # blank lines and unindented comments before the next section stay with it
    if end and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    lines[end:end] = [block]
    config_path.write_text("".join(lines), encoding="utf-8")


def _class_name(slug: str) -> str:
    return "".join(p.capitalize() for p in slug.split("_")) + "Spider"


CONFIG_BLOCK = """\
  # {slug}: added by `safeguarding-news new-source`; fill in the TODO values, then remove this line
  {slug}:
    name: "TODO: the source's name as readers know it"
    organisation: "TODO: the organisation that publishes it"
    allowed_domains: [{host}]
    trailing_slash: keep   # TODO: keep, strip or add, after the site's own URLs
    schedule: "0 9 * * *"
    options:
      start_url: {url}
"""

SPIDER = '''"""TODO: the source in one line (what it publishes, where: SOURCES.md section).

TODO: the door this spider takes (API, feed, sitemap or HTML listings) and why; quirks of the site with the
date they were observed. Read CONTRIBUTING.md ("Adding a coded source") first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from pipeline.items.schema import RawItem
from spiders._base import SourceSpider

START_URL = "{url}"
NOT_WRITTEN = "spiders/{slug}.py is a scaffold: write {{}} (see CONTRIBUTING.md, 'Adding a coded source')"


class {cls}(SourceSpider):
    name = "{slug}"
    allowed_domains = ["{host}"]

    async def start(self):
        self.use_door("listings")  # TODO: the door actually taken
        yield self.request(self.options.get("start_url", START_URL), self.parse_listing)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        """TODO: yield a request per publication (``self.request(url, self.parse_article)``) and one per
        further listing page; ``self.record_error`` when the page lists nothing."""
        raise NotImplementedError(NOT_WRITTEN.format("parse_listing"))

    def parse_article(self, response: Response) -> Iterator[RawItem]:
        """TODO: assemble one RawItem from small ``_parse_<field>`` methods."""
        raise NotImplementedError(NOT_WRITTEN.format("parse_article"))
'''

TEST = '''"""{slug}: the recorded site in tests/fixtures/{slug}/ parsed offline, and one end-to-end crawl.

Scaffolded by `safeguarding-news new-source`: these tests fail until the site is recorded
(`safeguarding-news record --source {slug} --out tests/fixtures/{slug}`) and the spider is written. Add
assertions on every field of one real item, invariants over all items and each edge case
(CONTRIBUTING.md, "Adding a coded source").
"""

from __future__ import annotations

import pytest

from pipeline.config import load_config
from spiders.{slug} import {cls}
from tests.support import CONFIG, FIXTURES, crawl_offline, query, run_cli

SITE = FIXTURES / "{slug}"
OPTIONS = dict(load_config(CONFIG).source("{slug}").options)
RECORD = "safeguarding-news record --source {slug} --out tests/fixtures/{slug}"


@pytest.fixture(scope="module")
def crawled():
    return crawl_offline({cls}, SITE, OPTIONS)


def test_items_have_a_title_and_a_date(crawled):
    assert crawled.items, f"no item from {{SITE}}: record the site ({{RECORD}}), then write the spider"
    for pub in crawled.publications():
        assert pub.title and pub.published_at, pub.url
        assert pub.url.startswith("https://")


def test_no_errors_on_the_recorded_site(crawled):
    assert crawled.spider.errors == []


@pytest.mark.e2e
def test_crawl_stores_publications(tmp_path):
    db = tmp_path / "x.db"
    result = run_cli("crawl", "--source", "{slug}", "--replay", str(SITE), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert query(db, "select count(*) n from publications where source = ?", ("{slug}",))[0]["n"] > 0
'''
