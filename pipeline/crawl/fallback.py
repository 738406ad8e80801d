"""The generic extractor as a safety net behind every coded spider.

When a spider yields an item built from an HTML page but finds no title or no publication date on it,
the generic extractor (``pipeline.items.extract``) reads the same page and fills what it can. A spider that
needs this has usually met a redesign it does not know yet: each use is counted in the run's stats
(``sgn/fallback_used``, per field ``sgn/fallback_used/<field>``) and logged as a warning naming the URL,
so that the health checks can report it before the fallback is all that is left.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from pipeline.crawl.runlog import run_log_of
from pipeline.items.extract import extract
from pipeline.items.schema import RawItem
from pipeline.items.urls import canonical_url

log = logging.getLogger(__name__)
FIELDS = {"title": "title", "published": "published"}  # RawItem field → Extracted field


def _same_page(item: RawItem, response: Response) -> bool:
    """The item was built from this response (not from a listing that links to it)."""
    urls = [response.url, *(response.meta.get("redirect_urls") or [])] if response.request else [response.url]
    mine = canonical_url(item.url, "strip")
    return any(canonical_url(u, "strip") == mine for u in urls)


def fill_missing(item: RawItem, response: Response) -> list[str]:
    """Fill the item's empty title or publication date from the page; the fields filled."""
    missing = [f for f in FIELDS if not str(getattr(item, f) or "").strip()]
    if not missing:
        return []
    found = extract(response.text, response.url, with_body=False)
    filled = [f for f in missing if getattr(found, FIELDS[f])]
    for name in filled:
        setattr(item, name, getattr(found, FIELDS[name]))
    if filled:
        item.extra = {**(item.extra or {}), "fallback": {f: found.found[FIELDS[f]] for f in filled}}
    return filled


class FallbackExtractor(BaseSpiderMiddleware):
    """Spider middleware: items of an HTML page lacking a title or date get them from the generic
    extractor. Spiders whose ``fallback_extraction`` is False (the generic ones) are left alone."""

    def get_processed_item(self, item: Any, response: Response | None) -> Any:
        spider = self.crawler.spider
        if (not isinstance(item, RawItem) or not isinstance(response, TextResponse)
                or not getattr(spider, "fallback_extraction", True) or not _is_html(response)
                or not _same_page(item, response)):
            return item
        filled = fill_missing(item, response)
        if filled and spider is not None:
            run_log = run_log_of(spider)
            if run_log is not None:
                run_log.add_fallback(item.url, filled)
            stats = self.crawler.stats
            stats.inc_value("sgn/fallback_used")
            for name in filled:
                stats.inc_value(f"sgn/fallback_used/{name}")
            log.warning("fallback used: %s found no %s at %s; the generic extractor filled it from %s "
                        "(has the site changed its markup?)", spider.name, " or ".join(filled), item.url,
                        ", ".join(item.extra["fallback"].values()))
        return item


def _is_html(response: Response) -> bool:
    ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    return "html" in ctype or (not ctype and b"<html" in response.body[:2048].lower())
