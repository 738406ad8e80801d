"""NSPCC Learning (SOURCES.md 1): news, blogs and podcasts under /news, and the research, guidance, case review
and briefing pages under /research-resources, at any depth: dated (``/research-resources/<yyyy>/<slug>``) and
year-less (``/research-resources/<category>/<slug>``, e.g. ``schools/``, ``briefings/``,
``learning-from-case-reviews/``).

No API or feed is known. ``/sitemap.xml`` is probed first (used when it lists article URLs); the HTML
listings are the fallback. The site's HTML has never been seen here, so links are found by URL pattern and
fields by <h1>, visible labels, meta tags and JSON-LD (``spiders._htmlpage``), never by a class name.

Between full walks (``crawl.full_walk_days``) a crawl fetches only what may have changed: a sitemap entry
whose ``lastmod`` is newer than what is stored, or an article not stored yet. Listing cards carry no day
(the research listing shows "(Published 2022)" at most), so a stored article found there is not fetched
again until the next full walk; the listing walk stops at a page whose articles are all stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import lxml.etree
from scrapy.http import Response
from scrapy.utils.sitemap import Sitemap

from pipeline.items.dates import MONTH_NAMES, parse_date
from pipeline.items.markup import jsonld_value, meta_content, page_title, text_of
from pipeline.items.schema import RawItem
from spiders import _htmlpage as page
from spiders._base import SourceSpider

MONTHS = "|".join(MONTH_NAMES).lower()
SLUG = r"(?P<slug>[a-z0-9][a-z0-9-]*)/?$"
# /news/<yyyy>/<month-name>/<slug>, or /news/<section>/<slug>/ for older pieces (/news/covid/..., high)
NEWS = re.compile(rf"^/news/(?:(?P<year>(?:19|20)\d\d)/(?P<month>{MONTHS})|(?P<section>[a-z][a-z0-9-]*))/{SLUG}")
RESEARCH = re.compile(rf"^/research-resources/(?:(?P<year>(?:19|20)\d\d)|(?P<category>[a-z][a-z0-9-]*))/"
                      rf"(?:[a-z0-9][a-z0-9-]*/)*{SLUG}")
# the site's content sections: a link under one of them with a slug that matches no pattern above is
# "article-like" and named in the run (a new URL shape), never dropped silently
CONTENT_SECTION = re.compile(r"^/(?:news|research-resources|safeguarding-child-protection)/[a-z0-9-]+(?:/[^?#]*)?$")
# "Publication date March 2021" (research pages, month precision), with or without a colon
PUBLICATION_DATE = re.compile(r"Publication date\s*:?\s*((?:\d{1,2}\s+)?[A-Z][a-z]{2,8}\.?\s+\d{4})")
CARD_DATE = re.compile(r"\(\s*Published\s*:?\s*([^)]{4,20})\)")
TYPE_LABELS = {"news": "News", "blog": "Blog", "blogs": "Blog", "podcast": "Podcast", "podcasts": "Podcast"}
NO_LINKS = "no article links found: the site's layout may have changed"
DEFAULTS: dict[str, Any] = {
    "base_url": "https://learning.nspcc.org.uk", "sitemap": "/sitemap.xml",
    "listings": ["/news", "/research-resources"], "news_sections": ["covid"], "max_listing_pages": 50,
    "link_hosts": ["www.gov.uk", "www.childrenscommissioner.gov.uk", "www.iwf.org.uk",
                   "childsafeguarding.independent-panel.uk"],
}


class NspccLearningSpider(SourceSpider):
    name = "nspcc_learning"
    allowed_domains = ["learning.nspcc.org.uk"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = {**DEFAULTS, **self.options}
        self.base = str(self.options["base_url"]).rstrip("/")
        self.host = urlsplit(self.base).netloc
        self.listing_urls: set[str] = set()
        self.card_dates: dict[str, str] = {}  # article URL → the date its listing card shows ("2022")
        self.seen_unchanged: set[str] = set()

    async def start(self):
        if not self.options["sitemap"]:
            for request in self.listings("no sitemap to probe (option sitemap is empty)"):
                yield request
            return
        yield self.request(self.base + self.options["sitemap"], self.parse_sitemap, errback=self.sitemap_failed,
                           meta={"handle_httpstatus_all": True})

    # -- doors -----------------------------------------------------------------

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        entries = self._sitemap_entries(response) if response.status == 200 else []
        if response.status in (404, 410):
            self.expected_status(response)  # no sitemap: the listings are the way in
        if not entries:
            yield from self.listings(f"no sitemap listing articles at {response.url} (HTTP {response.status})")
            return
        self.use_door(f"sitemap {self.options['sitemap']}")
        for url in self._sitemap_unmatched(response):
            self.record_unmatched(url, response.url)
        for url, lastmod in entries:
            if self._wanted(url, "") and not self._skip_unchanged(url, lastmod):
                yield self.request(url, self.parse_article, cb_kwargs={"lastmod": lastmod})

    def sitemap_failed(self, failure: Any) -> Iterator[Any]:
        yield from self.listings(f"sitemap probe failed ({failure.getErrorMessage()})")

    def listings(self, reason: str) -> Iterator[Any]:
        self.logger.info("%s; using the listings", reason)
        self.use_door("listings " + ", ".join(self.options["listings"]))
        for path in self.options["listings"]:
            self.listing_urls.add(self.base + path)
            yield self.request(self.base + path, self.parse_listing)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        found = self._article_links(response)
        self._record_unmatched(response)
        if not found:
            self.record_error(response.url, NO_LINKS)
            return
        self.count("listing_links", len(found))
        wanted = [url for url, title in found.items() if self._wanted(url, title)]
        for url in wanted:
            if not self._skip_unchanged(url):
                yield self.request(url, self.parse_article)
        if self.only_known(wanted):
            self.count("listing_walk_stopped")
            self.logger.info("every article listed at %s is stored: the listing walk stops", response.url)
            return
        for url in page.pagination_links(response):
            if url not in self.listing_urls and len(self.listing_urls) < int(self.options["max_listing_pages"]):
                self.listing_urls.add(url)
                yield self.request(url, self.parse_listing)

    # -- links -----------------------------------------------------------------

    def _match(self, url: str) -> re.Match | None:
        parts = urlsplit(url)
        if parts.netloc != self.host:
            return None
        path = parts.path.lower()
        m = NEWS.match(path) or RESEARCH.match(path)
        return None if m and m.groupdict().get("section") not in (None, *self.options["news_sections"]) else m

    def _sitemap_entries(self, response: Response) -> list[tuple[str, str]]:
        try:
            sitemap = Sitemap(response.body)
            entries = [(e["loc"], e.get("lastmod", "")) for e in sitemap] if sitemap.type == "urlset" else []
        except (lxml.etree.XMLSyntaxError, StopIteration, ValueError):
            return []
        return [(url, lastmod) for url, lastmod in entries if self._match(url)]

    def _sitemap_unmatched(self, response: Response) -> list[str]:
        try:
            sitemap = Sitemap(response.body)
            urls = [e["loc"] for e in sitemap] if sitemap.type == "urlset" else []
        except (lxml.etree.XMLSyntaxError, StopIteration, ValueError):
            return []
        return [u for u in urls if self._article_like(u) and not self._match(u)]

    def _article_like(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.netloc == self.host and bool(CONTENT_SECTION.match(parts.path.lower()))

    def _record_unmatched(self, response: Response) -> None:
        """Links of a listing under a content section that match no article pattern (and are not a page of
        this listing or a filter of it), named in the run."""
        for href in response.xpath("//a/@href").getall():
            parts = urlsplit(response.urljoin(href))
            url = parts._replace(query="", fragment="").geturl()
            if self._article_like(url) and not self._match(url) and url.rstrip("/") not in (
                    u.split("?", 1)[0].rstrip("/") for u in self.listing_urls):
                self.record_unmatched(url, response.url)

    def _article_links(self, response: Response) -> dict[str, str]:
        """Article URL → its card title (a heading inside the link, else the link's text). A card's date
        ("(Published 2022)") is kept for the page that shows none."""
        found: dict[str, str] = {}
        for a in response.xpath("//a[@href]"):
            url = response.urljoin(a.attrib["href"]).split("#", 1)[0].split("?", 1)[0]
            if self._match(url):
                heading = a.xpath(".//h2|.//h3|.//h4")
                found[url] = found.get(url) or text_of(heading[0] if heading else a)
                card_date = self._card_date(a)
                if card_date and url not in self.card_dates:
                    self.card_dates[url] = card_date
        return found

    @staticmethod
    def _card_date(link: Any) -> str:
        """The date on the card around a link: the nearest ancestor (up to 3 levels) that holds one link."""
        node = link
        for _ in range(4):
            parent = node.xpath("..")
            if not parent or len(parent[0].xpath(".//a[@href]")) > 2:
                break
            node = parent[0]
            found = CARD_DATE.search(text_of(node))
            if found and parse_date(found.group(1)):
                return found.group(1).strip()
        return ""

    def _wanted(self, url: str, title: str) -> bool:
        """Every news piece and every research, guidance, case review and briefing page."""
        return bool(self._match(url))

    def _skip_unchanged(self, url: str, source_date: str = "") -> bool:
        """On an incremental walk, a stored article that need not be fetched: the site's date for it (the
        sitemap's ``lastmod``) is not newer than the stored one, or the site gives no date (a listing card).
        It is recorded as seen unchanged; a full walk fetches everything."""
        if self.full_walk or not self.is_known(url):
            return False
        if parse_date(source_date) and not self.unchanged_at_source(url, source_date):
            return False
        if url not in self.seen_unchanged:
            self.seen_unchanged.add(url)
            self.record_unchanged(url)
        return True

    @staticmethod
    def _research_type(m: re.Match, title: str) -> tuple[str, str]:
        """(source_type, content_type) of a page under /research-resources: its category in the URL, else its
        title or slug: a CASPAR briefing or summary, a case review, guidance, else research."""
        category = (m.groupdict().get("category") or "").replace("-", " ")
        t, slug = title.lower(), m["slug"]
        if NspccLearningSpider._is_briefing(slug, title) or "briefing" in category:
            return "CASPAR briefing", "briefing"
        if "case review" in category or "case review" in t or "case-review" in slug:
            return "Case review", "review"
        if "guidance" in category or "guidance" in t or "guidance" in slug or "guide" in category:
            return "Guidance", "guidance"
        return "Research", "report"

    @staticmethod
    def _is_briefing(slug: str, title: str) -> bool:
        t = title.strip().rstrip(".").lower()
        return ("caspar" in t or "caspar" in slug or t.startswith("summary of") or slug.startswith("summary-")
                or t.endswith("summary of changes") or slug.endswith("summary-of-changes"))

    # -- the article -------------------------------------------------------------

    def parse_article(self, response: Response, lastmod: str = "") -> Iterator[RawItem]:
        if page.is_cut_off(response.body):
            self.record_error(response.url, "page cut off mid-HTML (no closing </html>), not stored")
            return
        published, origin = self._parse_published(response)
        if not published:
            self.record_error(response.url, "no date in the URL, meta tags, JSON-LD or 'Last updated:'")
            return
        body = page.article_body(response)
        topics = page.label_values(response.selector, "Topics:")
        m = self._match(response.url)
        title = self._parse_title(response)
        source_type, content_type = (self._research_type(m, title) if m and m.re is RESEARCH
                                     else (self._parse_source_type(response, topics), ""))
        yield RawItem(
            source=self.name, url=response.url, title=title,
            summary=self._parse_summary(response, body), body_html=page.to_html(body),
            source_type=source_type, content_type=content_type, published=published,
            updated=self._parse_updated(response, lastmod), language="en", topics=topics,
            documents=self._parse_documents(response, body), links=self._parse_links(response, body),
            extra={"published_from": origin},
        )

    def _parse_title(self, response: Response) -> str:
        return page_title(response.selector)

    def _parse_summary(self, response: Response, body: Any) -> str:
        return page.first_paragraph(body) or meta_content(response.selector, "description", "og:description")

    def _parse_published(self, response: Response) -> tuple[str, str]:
        """A day on the page wins; then "Publication date Month YYYY" (month precision); else the URL's month
        (news) or year (research); else the page's coarser date; else the listing card's date at its precision
        ("(Published 2022)"); else, for URLs without a date (/news/covid/...), the only date the page shows:
        Last updated."""
        sel = response.selector
        on_page = (jsonld_value(sel, "datePublished") or meta_content(sel, "article:published_time")
                   or page.label_date(sel, "Published:"))
        parsed = parse_date(on_page)
        publication = PUBLICATION_DATE.search(" ".join(sel.xpath("//body//text()[not(ancestor::script)]").getall()))
        publication_date = publication.group(1) if publication and parse_date(publication.group(1)) else ""
        m = self._match(response.url)
        in_url = "/".join(p for p in (m["year"], m.groupdict().get("month")) if p) if m else ""
        card = self.card_dates.get(response.url, "")
        for value, origin, ok in ((on_page, "page", parsed and parsed.precision in ("day", "datetime")),
                                  (publication_date, "publication_date", publication_date),
                                  (in_url, "url", in_url), (on_page, "page", parsed), (card, "card", card)):
            if ok:
                return value, origin
        last_updated = page.label_date(sel, "Last updated:")
        if last_updated:
            self.count("published_from_last_updated")
        return last_updated, "last_updated" if last_updated else ""

    def _parse_updated(self, response: Response, lastmod: str) -> str:
        sel = response.selector
        return (page.label_date(sel, "Last updated:") or jsonld_value(sel, "dateModified")
                or meta_content(sel, "article:modified_time") or lastmod)

    def _parse_source_type(self, response: Response, topics: list[str]) -> str:
        """The content label among the "Topics:" values (News, Blog, Podcast); a "Podcast:" title else."""
        label = next((TYPE_LABELS[t.lower()] for t in topics if t.lower() in TYPE_LABELS), "")
        return label or ("Podcast" if self._parse_title(response).lower().startswith("podcast") else "News")

    def _parse_documents(self, response: Response, body: Any) -> list[dict[str, str]]:
        docs = (page.document_of(url, text, self.host) for url, text in page.anchors(body, response.url))
        return [d for d in docs if d]

    def _parse_links(self, response: Response, body: Any) -> list[str]:
        """Other sources' pages (GOV.UK, the Commissioner, IWF, the Panel), for grouping stories."""
        hosts = set(self.options["link_hosts"])
        return list(dict.fromkeys(url for url, text in page.anchors(body, response.url)
                                  if urlsplit(url).netloc in hosts and not page.document_of(url, text, self.host)))
