"""Sources without code: a feed (RSS, Atom or JSON Feed) or a sitemap declared in config.yaml alone.

The feed or sitemap lists the publications; each detail page is read by the generic extractor
(``pipeline.items.extract``: JSON-LD, OpenGraph and meta tags, htmldate, trafilatura). What the feed says
(title, summary, date) wins over what the page suggests; the page fills the rest, the body above all.
A page that cannot be fetched still gives its feed entry, and the failure is recorded.

There is no module per source: the crawl process makes a subclass named after the slug
(``generic_spider``). Options (config.yaml ``options:``): ``url_pattern`` (a regular expression a
publication's URL must match; sitemaps list every page of a site), ``fetch_pages`` (feeds: false keeps
to what the feed carries), ``max_items``, ``max_pages`` (feed pages or sitemaps followed),
``content_type`` and ``source_type`` (one label for all the source's publications).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import lxml.etree
from scrapy.http import Response
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import sitemap_urls_from_robots

from pipeline.items.extract import Extracted, extract
from pipeline.items.schema import RawItem
from spiders._base import SourceSpider

DEFAULTS: dict[str, Any] = {"url_pattern": "", "fetch_pages": True, "max_items": 500, "max_pages": 20,
                            "content_type": "", "source_type": ""}
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


def generic_spider(kind: str, slug: str, door_url: str) -> type[SourceSpider]:
    """The spider class of a feed or sitemap source: Scrapy's spider ``name`` is a class attribute."""
    base = {"feed": FeedSourceSpider, "sitemap": SitemapSourceSpider}[kind]
    return type(f"{base.__name__}_{slug}", (base,), {"name": slug, "door_url": door_url,
                                                      "__module__": base.__module__})


class GenericSourceSpider(SourceSpider):
    door_url: str = ""
    fallback_extraction = False  # pipeline.crawl.fallback has nothing to add: the generic extractor already ran

    def __init__(self, *args: Any, door_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = {**DEFAULTS, **self.options}
        self.door_url = door_url or self.door_url
        self.listed: set[str] = set()
        self.pages_read: set[str] = set()
        try:
            self.pattern = re.compile(str(self.options["url_pattern"])) if self.options["url_pattern"] else None
        except re.error as exc:
            raise ValueError(f"option url_pattern is not a regular expression: {exc}") from None

    def take(self, url: str, source_date: str) -> bool:
        """Whether a listed URL is fetched: it matches ``url_pattern``, is new to this run, within
        ``max_items``, and (between full walks) not stored already with the same or a newer date."""
        if not url or url in self.listed or (self.pattern and not self.pattern.search(url)):
            return False
        if len(self.listed) >= int(self.options["max_items"]):
            self.count("max_items_reached")
            return False
        self.listed.add(url)
        stored = not self.full_walk and self.is_known(url)
        if stored and (not source_date or self.unchanged_at_source(url, source_date)):
            self.record_unchanged(url)
            return False
        return True

    def follow(self, url: str, callback: Any) -> Iterator[Any]:
        """Another feed page or sitemap, at most ``max_pages`` of them."""
        if url and url not in self.pages_read and len(self.pages_read) < int(self.options["max_pages"]):
            self.pages_read.add(url)
            yield self.request(url, callback)

    def in_domains(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in (getattr(self, "allowed_domains", None) or [host]))

    # -- detail pages ------------------------------------------------------------------------------

    def detail(self, url: str, seed: dict[str, Any]) -> Iterator[Any]:
        """The page of a listed publication, or the listing's own data where the page is not fetched."""
        if self.options.get("fetch_pages", True) and self.in_domains(url):
            yield self.request(url, self.parse_page, cb_kwargs={"seed": seed}, errback=self.page_failed)
        else:  # without a title the item is invalid: counted and named by the item pipeline, never lost
            yield self.item(url, seed, None)

    def parse_page(self, response: Response, seed: dict[str, Any]) -> Iterator[RawItem]:
        if not hasattr(response, "text"):
            self.record_skip(response.url, "not a text page")
            return
        extracted = extract(response.text, response.url)
        if not (seed.get("title") or extracted.title):
            self.record_error(response.url, "no title in the listing or on the page")
            return
        yield self.item(response.url, seed, extracted)

    def page_failed(self, failure: Any) -> Iterator[RawItem]:
        self.on_request_error(failure)
        seed = failure.request.cb_kwargs.get("seed") or {}
        if seed.get("title"):
            yield self.item(failure.request.url, seed, None)

    def item(self, url: str, seed: dict[str, Any], page: Extracted | None) -> RawItem:
        page = page or Extracted()
        title = seed.get("title") or page.title
        body = page.body_text
        first, _, rest = body.partition("\n")
        if first.strip() == " ".join(title.split()):
            body = rest  # trafilatura keeps the <h1>; the title is a field of its own
        published, origin = next(((v, o) for v, o in ((seed.get("published"), "listing"),
                                                      (page.published, page.found.get("published", "")),
                                                      (seed.get("lastmod"), "lastmod")) if v), ("", ""))
        return RawItem(
            source=self.name, url=url, title=title,
            summary=seed.get("summary") or page.summary,
            body_text=body, body_html="" if body else seed.get("content", ""),
            source_type=str(self.options["source_type"]) or page.source_type,
            content_type=str(self.options["content_type"]), published=published,
            updated=seed.get("updated") or page.updated or seed.get("lastmod", ""),
            language=page.language, topics=list(seed.get("topics") or []),
            extra={"published_from": origin, "extracted": dict(page.found)},
        )


class FeedSourceSpider(GenericSourceSpider):
    """An RSS, Atom or JSON Feed; paged feeds (``rel=next``, JSON Feed ``next_url``) are followed."""

    async def start(self) -> AsyncIterator[Any]:
        self.use_door(f"feed {self.door_url}")
        for request in self.follow(self.door_url, self.parse_feed):
            yield request

    def parse_feed(self, response: Response) -> Iterator[Any]:
        read = read_json_feed(response.body) if _is_json(response) else read_xml_feed(response)
        if read is None:
            self.record_error(response.url, "not an RSS, Atom or JSON feed")
            return
        entries, next_url = read
        if not entries and len(self.pages_read) == 1:
            self.record_error(response.url, "the feed lists no entries")
        self.count("feed_entries", len(entries))
        for entry in entries:
            if not entry["url"]:  # an entry without a link is invalid: counted and named, never dropped unseen
                self.count("feed_entries_without_link")
                yield RawItem(source=self.name, url="", title=str(entry.get("title") or ""))
                continue
            if self.take(entry["url"], entry.get("updated") or entry.get("published", "")):
                yield from self.detail(entry["url"], entry)
        yield from self.follow(response.urljoin(next_url) if next_url else "", self.parse_feed)


class SitemapSourceSpider(GenericSourceSpider):
    """An XML sitemap (urlset or index, gzipped or not, Google News extensions read), a plain-text list of
    URLs, or a robots.txt whose ``Sitemap:`` lines name the sitemaps."""

    async def start(self) -> AsyncIterator[Any]:
        self.use_door(f"sitemap {self.door_url}")
        for request in self.follow(self.door_url, self.parse_sitemap):
            yield request

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        body = _body(response)
        if urlsplit(response.url).path.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(body, base_url=response.url):
                yield from self.follow(url, self.parse_sitemap)
            return
        kind, entries = read_sitemap(body)
        if kind is None:
            self.record_error(response.url, "not a sitemap (XML urlset or index, or a text list of URLs)")
            return
        if kind == "sitemapindex":
            for entry in entries:
                yield from self.follow(entry["url"], self.parse_sitemap)
            return
        self.count("sitemap_urls", len(entries))
        for entry in entries:
            if self.take(entry["url"], entry.get("lastmod", "")):
                yield from self.detail(entry["url"], entry)


# ---------------------------------------------------------------- readers (pure)

def _is_json(response: Response) -> bool:
    ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    return "json" in ctype or response.body.lstrip()[:1] == b"{"


def _body(response: Response) -> bytes:
    body = response.body
    if body[:2] == b"\x1f\x8b":  # a .xml.gz served as it is (not as Content-Encoding)
        try:
            return gunzip(body, max_size=50_000_000)
        except (OSError, ValueError):
            return b""
    return body


def read_xml_feed(response: Response) -> tuple[list[dict[str, Any]], str] | None:
    """RSS or Atom entries as plain dicts of raw strings, and the next page's URL; None if not a feed."""
    import feedparser

    headers = {"content-type": (response.headers.get(b"Content-Type") or b"").decode("latin-1"),
               "content-location": response.url}
    parsed = feedparser.parse(response.body, response_headers=headers)
    if not parsed.version and not parsed.entries:
        return None
    entries = []
    for e in parsed.entries:
        content = next((c.get("value", "") for c in e.get("content") or [] if c.get("value")), "")
        updated = dict.get(e, "updated", "")  # dict's own get: feedparser maps a missing one to published
        entries.append({
            "url": e.get("link", ""), "title": e.get("title", ""), "summary": e.get("summary", ""),
            # Atom requires <updated> only; an entry without <published> is dated by it
            "published": dict.get(e, "published", "") or updated, "updated": updated,
            "content": content, "topics": [t.get("term", "") for t in e.get("tags") or [] if t.get("term")],
        })
    next_url = next((link.get("href", "") for link in parsed.feed.get("links", []) if link.get("rel") == "next"), "")
    return entries, next_url


def read_json_feed(body: bytes) -> tuple[list[dict[str, Any]], str] | None:
    """A JSON Feed (jsonfeed.org, versions 1 and 1.1) like ``read_xml_feed``; None if it is not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith("https://jsonfeed.org/version/"):
        return None
    entries = [{
        "url": str(i.get("url") or i.get("external_url") or ""), "title": str(i.get("title") or ""),
        "summary": str(i.get("summary") or ""), "published": str(i.get("date_published") or ""),
        "updated": str(i.get("date_modified") or ""),
        "content": str(i.get("content_html") or i.get("content_text") or ""),
        "topics": [str(t) for t in i.get("tags") or []],
    } for i in data.get("items") or [] if isinstance(i, dict)]
    return entries, str(data.get("next_url") or "")


def read_sitemap(body: bytes) -> tuple[str | None, list[dict[str, str]]]:
    """(``urlset``, ``sitemapindex`` or ``text``; entries with url, lastmod and the Google News title and
    publication date), or (None, []) when the body is none of these."""
    if body.lstrip()[:1] != b"<":
        urls = [line.strip() for line in body.decode("utf-8", "replace").splitlines()]
        urls = [u for u in urls if re.match(r"^https?://\S+$", u)]
        return ("text", [{"url": u} for u in urls]) if urls else (None, [])
    parser = lxml.etree.XMLParser(recover=True, remove_comments=True, resolve_entities=False, no_network=True)
    try:
        root = lxml.etree.fromstring(body, parser=parser)
    except lxml.etree.XMLSyntaxError:
        return None, []
    kind = lxml.etree.QName(root).localname if root is not None else ""
    if kind not in ("urlset", "sitemapindex"):
        return None, []
    entries = []
    for node in root:
        if not isinstance(node.tag, str):
            continue
        values = {lxml.etree.QName(c).localname: (c.text or "").strip() for c in node.iter() if isinstance(c.tag, str)}
        news = {lxml.etree.QName(c).localname: (c.text or "").strip() for c in node.iter(f"{{{NEWS_NS}}}*")}
        if values.get("loc"):
            entries.append({"url": values["loc"], "lastmod": values.get("lastmod", ""),
                            "title": news.get("title", ""), "published": news.get("publication_date", "")})
    return kind, entries
