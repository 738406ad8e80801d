"""The generic extractor as a safety net: a coded spider meets a redesigned page it does not recognise;
the middleware fills the title and date from og:title / article:published_time or JSON-LD, counts it in
the run's stats (``sgn/fallback_used``) and logs a warning naming the URL."""

from __future__ import annotations

import json
import logging

import pytest
from scrapy.utils.test import get_crawler

from pipeline.config import load_config
from pipeline.crawl.fallback import FallbackExtractor
from pipeline.crawl.process import scrapy_settings
from pipeline.crawl.store_pipeline import run_stats
from pipeline.items.schema import RawItem
from spiders._base import SourceSpider
from spiders._generic import generic_spider
from tests.support import CONFIG, fake_response

URL = "https://www.example.org/news/2024/a-story"
OLD_MARKUP = ("<html><head><title>x</title></head><body><div class='story-title'>A story</div>"
              "<span class='story-date'>5 March 2024</span><p>Text.</p></body></html>")
REDESIGNED = ("<html><head><title>A story | Example</title>"
              "<meta property='og:title' content='A story, redesigned'>"
              "<meta property='article:published_time' content='2024-03-05T09:00:00Z'></head>"
              "<body><div class='c-hero__heading'>A story, redesigned</div><p>Text.</p></body></html>")
JSON_LD = ("<html><head><script type='application/ld+json'>"
           + json.dumps({"@type": "BlogPosting", "headline": "From JSON-LD", "datePublished": "2023-12-01"})
           + "</script></head><body><p>Text.</p></body></html>")


class ClassAnchoredSpider(SourceSpider):
    """A spider written against the old markup (anchored on classes, as no spider here should be)."""

    name = "class_anchored"

    def parse(self, response):
        yield RawItem(source=self.name, url=response.url,
                      title=response.css(".story-title::text").get(default=""),
                      published=response.css(".story-date::text").get(default=""))


def run(spider_cls, response, item=None):
    crawler = get_crawler(spider_cls)
    crawler.spider = spider_cls.from_crawler(crawler)
    middleware = FallbackExtractor.from_crawler(crawler)
    items = list(item and [item] or crawler.spider.parse(response))
    return list(middleware.process_spider_output(response, items)), crawler.stats.get_stats()


def test_old_markup_needs_no_fallback():
    (item,), stats = run(ClassAnchoredSpider, fake_response(URL, OLD_MARKUP))
    assert (item.title, item.published) == ("A story", "5 March 2024")
    assert "sgn/fallback_used" not in stats and "fallback" not in item.extra


def test_redesigned_page_is_filled_from_opengraph_counted_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="pipeline.crawl.fallback"):
        (item,), stats = run(ClassAnchoredSpider, fake_response(URL, REDESIGNED))
    assert (item.title, item.published) == ("A story, redesigned", "2024-03-05T09:00:00Z")
    assert item.extra["fallback"] == {"title": "og:title", "published": "meta"}
    assert stats["sgn/fallback_used"] == 1
    assert stats["sgn/fallback_used/title"] == stats["sgn/fallback_used/published"] == 1
    assert run_stats(stats)["sgn/fallback_used"] == 1  # kept in runs.stats for the health checks
    warning = next(r.getMessage() for r in caplog.records if "fallback used" in r.getMessage())
    assert URL in warning and "class_anchored" in warning and "title or published" in warning


def test_json_ld_fills_only_what_is_missing():
    item = RawItem(source="class_anchored", url=URL, title="The spider's own title")
    (item,), stats = run(ClassAnchoredSpider, fake_response(URL, JSON_LD), item)
    assert (item.title, item.published) == ("The spider's own title", "2023-12-01")
    assert item.extra["fallback"] == {"published": "json-ld"}
    assert stats["sgn/fallback_used"] == 1 and "sgn/fallback_used/title" not in stats


@pytest.mark.parametrize("case", ["listing", "json", "generic", "nothing_found"])
def test_left_alone(case):
    spider_cls, response = ClassAnchoredSpider, fake_response(URL, REDESIGNED)
    item = RawItem(source="x", url=URL)
    if case == "listing":  # an item built from a listing that links to it: the listing is not its page
        item.url = URL + "/other"
    elif case == "json":
        response = fake_response(URL + ".json", '{"title": "x"}', headers={"Content-Type": "application/json"})
        item.url = response.url
    elif case == "generic":  # the generic spiders have run the extractor already
        spider_cls = generic_spider("feed", "some_feed", "https://www.example.org/feed")
    else:
        response = fake_response(URL, "<html><body><p>nothing here</p></body></html>")
    (out,), stats = run(spider_cls, response, item)
    assert (out.title, out.published) == ("", "")
    assert "sgn/fallback_used" not in stats


def test_enabled_for_every_crawl(tmp_path):
    config = load_config(CONFIG)
    settings = scrapy_settings(config, config.source("iwf"), str(tmp_path / "x.db"), 1, None)
    assert "pipeline.crawl.fallback.FallbackExtractor" in settings["SPIDER_MIDDLEWARES"]
