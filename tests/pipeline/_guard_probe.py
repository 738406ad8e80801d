"""A crawl process whose spider *tries* to fetch media, with the real crawl settings (``scrapy_settings``).

Spiders normally never ask for media, so the guard is proved here: ``python -m tests.pipeline._guard_probe
--db DB --run-id N --replay-address HOST:PORT`` crawls ``PROBES`` against a replay server the test owns; what
reached the spider's callback or errback is counted under ``sgn/probe/...`` and saved, with the guard's
``media/...`` counters, in ``runs.stats``.
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from scrapy.http import Response
from twisted.python.failure import Failure

from spiders._base import SourceSpider
from tests.support import CONFIG

SITE = "https://www.iwf.org.uk"
# URL → what the guard must do: "fetched" (reaches the callback), "refused_url" (never sent),
# "aborted_content_type" / "aborted_filename" (sent, body not read), "refused_redirect" (the redirect is
# fetched, its media target is never sent).
PROBES = {
    f"{SITE}/guard/page": "fetched",
    f"{SITE}/guard/report.pdf": "fetched",
    f"{SITE}/guard/data.json": "fetched",
    f"{SITE}/media/ab12cd34/photo.jpg": "refused_url",
    f"{SITE}/media/ab12cd34/clip.MP4?autoplay=1": "refused_url",
    f"{SITE}/media/ab12cd34/song.mp3": "refused_url",
    f"{SITE}/media/ab12cd34/icon.svg#logo": "refused_url",
    f"{SITE}/guard/image-without-extension": "aborted_content_type",
    f"{SITE}/guard/download": "aborted_filename",
    f"{SITE}/guard/redirect-to-image": "refused_redirect",
}
REDIRECT_TARGET = f"{SITE}/media/ab12cd34/redirected.jpg"


def probe_site_manifest() -> dict[str, dict]:
    """The recorded site answering PROBES (files written by the test); media URLs are absent on purpose."""
    return {
        f"{SITE}/guard/page": {"file": "page.html"},
        f"{SITE}/guard/report.pdf": {"file": "text.txt", "headers": {"Content-Type": "application/pdf"}},
        f"{SITE}/guard/data.json": {"file": "data.json"},
        f"{SITE}/guard/image-without-extension": {"file": "text.txt", "headers": {"Content-Type": "image/jpeg"}},
        f"{SITE}/guard/download": {"file": "text.txt", "headers": {
            "Content-Type": "application/octet-stream", "Content-Disposition": 'attachment; filename="photo.png"'}},
        f"{SITE}/guard/redirect-to-image": {"status": 302, "headers": {"Location": REDIRECT_TARGET}},
    }


class GuardProbeSpider(SourceSpider):
    name = "guard_probe"

    async def start(self):
        for url in PROBES:
            yield self.request(url, self.fetched, errback=self.failed, dont_filter=True)

    def fetched(self, response: Response) -> None:
        self.crawler.stats.inc_value(f"sgn/probe/fetched{urlsplit(response.url).path}")

    def failed(self, failure: Failure) -> None:
        path = urlsplit(failure.request.url).path  # type: ignore[attr-defined]
        self.crawler.stats.inc_value(f"sgn/probe/{failure.type.__name__}{path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--run-id", type=int, required=True)
    parser.add_argument("--replay-address", required=True)
    args = parser.parse_args(argv)

    from scrapy.crawler import CrawlerProcess

    from pipeline.config import load_config
    from pipeline.crawl.process import scrapy_settings

    config = load_config(CONFIG, db_override=args.db)
    source = config.source("iwf").model_copy(update={"slug": GuardProbeSpider.name})
    process = CrawlerProcess(scrapy_settings(config, source, args.db, args.run_id, args.replay_address))
    process.crawl(GuardProbeSpider, allowed_domains=list(source.allowed_domains))
    process.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
