"""Every coded spider is registered in full (DESIGN 5): a config block of type spider, a fixture folder with
manifest.json and metadata.json, a test file, and a spider whose ``name`` is the slug. Sources of type feed
or sitemap have no module and are not concerned. A source scaffolded by ``new-source`` passes here as soon
as its files exist; its own test fails until the spider is written."""

from __future__ import annotations

import importlib
import inspect
import json

import pytest

from pipeline.config import load_config, spider_slugs
from spiders._base import SourceSpider
from tests.support import CONFIG, FIXTURES, ROOT

SLUGS = sorted(spider_slugs())


def test_there_are_spiders():
    assert len(SLUGS) >= 5


@pytest.mark.parametrize("slug", SLUGS)
def test_config_block(slug):
    source = load_config(CONFIG).sources.get(slug)
    assert source is not None, f"spiders/{slug}.py has no block under sources: in config.yaml"
    assert source.type == "spider", f"sources.{slug}: a coded spider's block has type: spider"


@pytest.mark.parametrize("slug", SLUGS)
def test_fixture_folder(slug):
    folder = FIXTURES / slug
    for name in ("manifest.json", "metadata.json"):
        assert (folder / name).is_file(), f"tests/fixtures/{slug}/{name} is missing"
    assert isinstance(json.loads((folder / "manifest.json").read_text(encoding="utf-8")), dict)
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert metadata.get("source") == slug and metadata.get("origin"), f"tests/fixtures/{slug}/metadata.json"


@pytest.mark.parametrize("slug", SLUGS)
def test_test_file(slug):
    assert (ROOT / "tests" / "spiders" / f"test_{slug}.py").is_file(), f"tests/spiders/test_{slug}.py is missing"


@pytest.mark.parametrize("slug", SLUGS)
def test_spider_name_is_the_slug(slug):
    module = importlib.import_module(f"spiders.{slug}")
    spiders = [c for _, c in inspect.getmembers(module, inspect.isclass)
               if issubclass(c, SourceSpider) and c.__module__ == module.__name__ and getattr(c, "name", None)]
    assert [c.name for c in spiders] == [slug], f"spiders/{slug}.py must define one spider named {slug!r}"
