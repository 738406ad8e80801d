"""The crawl process's registry of sources: what Scrapy is given for a source. Coded spiders (``type: spider``,
a module in ``spiders/``) by name, for Scrapy's spider loader to find; sources declared in config.yaml alone
(``type: feed`` / ``type: sitemap``) as a generic spider class of ``spiders._generic`` made for them."""

from __future__ import annotations

from typing import Any

from pipeline.config import DOOR_KEYS


def spider_for(source: Any) -> Any:
    """What the crawl process gives Scrapy: a coded source's spider name (Scrapy's loader finds the
    module), or the generic spider class made for a feed or sitemap source."""
    if source.type == "spider":
        return source.slug
    from spiders._generic import generic_spider

    return generic_spider(source.type, source.slug, getattr(source, DOOR_KEYS[source.type]))
