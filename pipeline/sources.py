"""The kinds of source: coded spiders (``type: spider``, a module in ``spiders/``), and sources declared in
config.yaml alone (``type: feed`` with ``feed_url``, ``type: sitemap`` with ``sitemap_url``) that the
generic spiders of ``spiders._generic`` crawl."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

DOOR_KEYS = {"feed": "feed_url", "sitemap": "sitemap_url"}


def check_door(kind: str, feed_url: str | None, sitemap_url: str | None, allowed_domains: tuple[str, ...]) -> None:
    """A feed source has a feed_url, a sitemap source a sitemap_url, a coded spider neither; the URL is
    absolute and inside allowed_domains (else the crawl would refuse its own door). ValueError otherwise."""
    given = {"feed_url": feed_url, "sitemap_url": sitemap_url}
    wanted = DOOR_KEYS.get(kind)
    for key, value in given.items():
        if value is not None and key != wanted:
            raise ValueError(f"{key} is only for type: {'feed' if key == 'feed_url' else 'sitemap'} (this is {kind})")
    if wanted is None:
        return
    url = given[wanted]
    if not url:
        raise ValueError(f"type: {kind} needs {wanted}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{wanted} must be an absolute http(s) URL (got {url!r})")
    host = parts.hostname.lower()
    if not any(host == d.lower() or host.endswith("." + d.lower()) for d in allowed_domains):
        raise ValueError(f"{wanted} host {host} is not in allowed_domains ({', '.join(allowed_domains)})")


def spider_for(source: Any) -> Any:
    """What the crawl process gives Scrapy: a coded source's spider name (Scrapy's loader finds the
    module), or the generic spider class made for a feed or sitemap source."""
    if source.type == "spider":
        return source.slug
    from spiders._generic import generic_spider

    return generic_spider(source.type, source.slug, getattr(source, DOOR_KEYS[source.type]))
