"""A throwaway spider crawled through the production Scrapy settings, in a subprocess, against a replay
server: for politeness, incremental and fault tests that no real source's pages can stage.

    python -m tests.crawl_harness --db X --replay-address HOST:PORT --urls '[...]' [--settings '{...}']

Prints the crawl's stats and the spider's errors as JSON on the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import sys

from pipeline.config import Source, load_config
from pipeline.crawl.process import scrapy_settings
from pipeline.items.schema import RawItem
from spiders._base import SourceSpider
from storage import runs
from storage.db import open_db
from tests.support import CONFIG


class HarnessSpider(SourceSpider):
    name = "harness"

    async def start(self):
        for url in self.options["urls"]:
            yield self.request(url, self.parse)

    def parse(self, response):
        self.crawler.stats.inc_value("sgn/parsed")
        is_json = response.url.endswith(".json") or "json" in response.headers.get("Content-Type", b"").decode()
        if is_json and self.load_json(response) is None:
            return
        title = response.css("h1::text").get() or response.css("title::text").get() or ""
        yield RawItem(source=self.name, url=response.url, title=title, body_html=response.text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--replay-address", required=True)
    parser.add_argument("--urls", required=True)
    parser.add_argument("--domains", default='["faults.test"]')
    parser.add_argument("--settings", default="{}")
    parser.add_argument("--full-walk", action="store_true")
    args = parser.parse_args(argv)

    config = load_config(CONFIG)
    source = Source(slug="harness", name="harness", organisation="harness",
                    allowed_domains=tuple(json.loads(args.domains)))
    database = open_db(args.db)
    run_id = runs.start_run(database, "harness", "2025-01-01T00:00:00Z", pid=None)
    database.close()

    from scrapy.crawler import CrawlerProcess

    settings = scrapy_settings(config, source, args.db, run_id, args.replay_address, args.full_walk)
    settings.update(json.loads(args.settings))
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(HarnessSpider)
    process.crawl(crawler, options={"urls": json.loads(args.urls)}, allowed_domains=list(source.allowed_domains),
                  full_walk=args.full_walk)
    process.start()
    stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, int | float | str)}
    print(json.dumps({"stats": stats, "errors": crawler.spider.run_log.error_messages(), "run_id": run_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
