"""WordPress sites (SOURCES.md 2b, 3): the REST API first, then the RSS feed, then the HTML listings.

WordPress documents its REST API (``/wp-json/``, ``/wp-json/wp/v2/types``, collections paged by the
``X-WP-TotalPages`` header) and its feeds (``/feed/``, ``?paged=N``, ``?post_type=T``), but a site may switch
either off or restrict it (401, 403, 404). Each door is probed at run time and the next one taken when it
is shut; the run records which door it used. Post ids (REST ``id``, feed ``guid`` ``?p=N``, HTML shortlink
``?p=N``) are the natural key, so a publication keeps its id whichever door found it.

Between full walks (``crawl.full_walk_days``) a crawl passes over what is stored and not newer at the
source: a REST post by its ``modified_gmt``, a feed item by its date, a listing card by its date (or, on a
card without one, because it is stored), and stops paging at the first page with nothing to fetch.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from scrapy import Request
from scrapy.http import Response
from scrapy.selector import Selector
from w3lib.html import remove_tags

from pipeline.items.dates import LONDON, MONTH_NAMES, parse_date, parse_iso
from pipeline.items.files import DOCUMENT_EXTENSIONS, MEDIA_EXTENSIONS, url_extension
from pipeline.items.markup import jsonld_value, meta_content, page_title
from pipeline.items.schema import RawItem
from pipeline.items.urls import canonical_url
from spiders._base import SourceSpider

DOORS = ("rest", "feed", "html")
DOOR_NAMES = {"rest": "WordPress REST API", "feed": "WordPress RSS feed", "html": "HTML listings"}
SHUT = (401, 403, 404, 410)  # a door switched off or restricted: take the next one
# Probes see these answers themselves (redirects are still followed); other failures go to the errback.
PROBE = {"handle_httpstatus_list": [*SHUT, 400, 405, 429, 500, 501, 502, 503, 504]}
# Built-in types that are not publications (WordPress 6.x); custom types such as `resource` are kept.
NOT_PUBLICATIONS = {"page", "attachment", "nav_menu_item", "wp_block", "wp_template", "wp_template_part",
                    "wp_navigation", "wp_global_styles", "wp_font_family", "wp_font_face"}
DAY_MONTH_YEAR = re.compile(rf"\b\d{{1,2}}\s+(?:{'|'.join(MONTH_NAMES)})\s+\d{{4}}\b")
POST_ID = re.compile(r"[?&]p=(\d+)\b")
POST_ID_QUERY = re.compile(r"p=\d+")
# Link texts that name no document ("Download", "Read the full report"): the block's heading is used.
GENERIC_LINK = re.compile(r"^(?:(?:download|read|view|open|access|see|get)\s*)?(?:the\s+)?(?:full\s+)?"
                          r"(?:report|document|file|publication|pdf|here|this|now|more)?$", re.I)
SIZE = re.compile(r"\b(\d+(?:\.\d+)?\s*(?:bytes|KB|MB|GB))\b", re.I)
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
WP_SITEMAP_POSTS = re.compile(r"/wp-sitemap-posts-([A-Za-z0-9_-]+?)-\d+\.xml$")
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def text_of(markup: str | None) -> str:
    """Rendered WordPress HTML (``title.rendered``) to plain text: tags removed, entities decoded."""
    return " ".join(html.unescape(remove_tags(markup or "")).split())


def as_utc(gmt: Any) -> str:
    """``date_gmt`` has no offset but is UTC; say so, since the normaliser reads naive times as UK time."""
    if not isinstance(gmt, str) or not gmt.strip() or gmt.startswith("0000"):
        return ""
    return gmt if re.search(r"(Z|[+-]\d\d:?\d\d)$", gmt) else gmt + "+00:00"


class WordPressSpider(SourceSpider):
    """A WordPress site. Class attributes (or options of the same names) describe it:

    ``base_url`` the site root; ``post_types`` the types to crawl (default: every public type the API
    lists); ``listings`` the HTML listing paths and ``detail_pattern`` (a regex on URL paths) for the last
    door; ``doors`` the order of doors to try; ``per_page`` and ``max_pages`` bound the paging.
    """

    base_url: str = ""
    post_types: tuple[str, ...] = ()
    listings: tuple[str, ...] = ()
    detail_pattern: str = r"^/[^/]+/[^/]+/?$"
    document_hosts: tuple[str, ...] = ()  # empty: documents on any host
    # Find the listings on the site itself (wp-sitemap.xml, the home page's navigation) rather than
    # relying on ``listings`` alone: for a site whose listing paths have not been seen.
    discover_listings: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site = str(self.options.get("base_url") or self.base_url).rstrip("/")
        self.host = urlsplit(self.site).netloc
        self.doors = [d for d in self.options.get("doors", DOORS) if d in DOORS]
        self.per_page = max(1, min(100, int(self.options.get("per_page", 100))))  # WordPress allows 100
        self.max_pages = max(1, int(self.options.get("max_pages", 50)))
        self.types_wanted = list(self.options.get("post_types") or self.post_types)
        self._first_pages: dict[str, dict[str, Any]] = {}
        self._feed_seen: set[str] = set()
        self._seen_unchanged: set[str] = set()
        # the door each post type was read through ("resource" → "WordPress RSS feed"), when they differ
        self.type_doors: dict[str, str] = {}
        self.discover_listings = bool(self.options.get("discover_listings", self.discover_listings))
        self._discovery: dict[str, int] = {}
        self.discovered_listings: list[str] = []

    # -- doors -----------------------------------------------------------------

    async def start(self):
        for request in self.open_next_door():
            yield request

    def open_next_door(self, after: str = "", reason: str = "") -> list[Request]:
        """The requests of the door after ``after`` (the first door when empty); [] when none is left."""
        if after and (after != self.current_door() or not self.doors):
            return []  # another answer of this door already moved on
        if after:
            self.doors.pop(0)
            self.count("wp_door_fallbacks")
            self.logger.info("%s unavailable (%s)", DOOR_NAMES[after], reason)
        while self.doors:
            self.use_door(DOOR_NAMES[self.doors[0]])
            requests = getattr(self, f"{self.doors[0]}_requests")()
            if requests:
                return requests
            self.doors.pop(0)
        self.record_error(self.site, "no way into the site: REST API, feed and HTML listings all unavailable")
        return []

    def current_door(self) -> str:
        return self.doors[0] if self.doors else ""

    def shut(self, response: Response) -> str:
        """Why a probed door is shut ('' when open); statuses other than 401/403/404/410 are errors."""
        if response.status in SHUT:
            self.expected_status(response)  # a door switched off is an answer, not an HTTP failure
            return f"HTTP {response.status}"
        if response.status >= 300:
            self.record_error(response.url, f"HTTP {response.status}")
            return f"HTTP {response.status}"
        return ""

    def expect_first_pages(self, door: str, urls: list[str]) -> None:
        self._first_pages[door] = {"pending": len(urls), "live": 0, "failed": []}

    def first_page_done(self, door: str, response: Response, problem: str, recorded: bool) -> list[Request]:
        """Count the first page of one collection or feed; fall back when none of the door's answered."""
        state = self._first_pages[door]
        state["pending"] -= 1
        if problem:
            state["failed"].append((response.url, problem, recorded))
        else:
            state["live"] += 1
        if state["pending"] > 0:
            return []
        if state["live"] == 0:
            return self.open_next_door(door, "; ".join(p for _, p, _ in state["failed"]))
        for url, message, was_recorded in state["failed"]:  # the door works, so a shut part loses data
            if not was_recorded:
                self.record_error(url, message)
        return []

    # -- door 1: the REST API ----------------------------------------------------

    def rest_requests(self) -> list[Request]:
        return [self.request(f"{self.site}/wp-json/", self.parse_rest_index, meta=PROBE)]

    def parse_rest_index(self, response: Response) -> Iterator[Request]:
        if reason := self.shut(response):
            yield from self.open_next_door("rest", reason)
            return
        index = self.load_json(response)
        if not isinstance(index, dict) or "wp/v2" not in (index.get("namespaces") or []):
            yield from self.open_next_door("rest", "no wp/v2 namespace in /wp-json/")
            return
        yield self.request(f"{self.site}/wp-json/wp/v2/types", self.parse_rest_types, meta=PROBE)

    def parse_rest_types(self, response: Response) -> Iterator[Request]:
        types = None if self.shut(response) else self.load_json(response)
        if not isinstance(types, dict):
            self.logger.info("no type list at %s: trying the configured types", response.url)
            types = {t: {"rest_base": "posts" if t == "post" else t} for t in self.types_wanted or ["post"]}
        collections = self.rest_collections(types, response.url)
        missing = [t for t in self.types_wanted if t not in collections.values()] if collections else []
        self.expect_first_pages("rest", list(collections))
        if not collections:
            yield from self.open_next_door("rest", "no post type to crawl")
        for url, post_type in collections.items():
            self.note_type_door(post_type, DOOR_NAMES["rest"])
            yield self.rest_page_request(url, post_type, 1)
        for post_type in missing:  # a type the API does not expose: its feed, else the HTML listings
            self.logger.warning("post type %r is not in the site's REST types: reading it from its feed", post_type)
            self.note_type_door(post_type, DOOR_NAMES["feed"])
            yield self.request(self.feed_url(post_type, 1), self.parse_feed, meta=PROBE,
                               cb_kwargs={"post_type": post_type, "page": 1, "for_type": True})

    def note_type_door(self, post_type: str, door: str) -> None:
        """Record the door a post type is read through; the run's door names each when they differ."""
        self.type_doors[post_type] = door
        self.count(f"wp_type_door/{post_type}/{door}")
        doors = set(self.type_doors.values())
        self.use_door(next(iter(doors)) if len(doors) == 1 else
                      "; ".join(f"{d} ({t})" for t, d in sorted(self.type_doors.items())))

    def rest_collections(self, types: dict[str, Any], url: str) -> dict[str, str]:
        """Collection URL → type slug, for the wanted types (or every public type the site lists)."""
        collections = {}
        for slug in self.types_wanted or [t for t in types if t not in NOT_PUBLICATIONS]:
            info = types.get(slug)
            if not isinstance(info, dict) or not info.get("rest_base"):
                self.logger.info("post type %r is not in the site's REST types at %s", slug, url)
                continue
            namespace = info.get("rest_namespace") or "wp/v2"
            collections[f"{self.site}/wp-json/{namespace}/{info['rest_base']}"] = slug
        return collections

    def rest_page_request(self, collection: str, post_type: str, page: int, known: bool = True,
                          total: int = 0) -> Request:
        # Past the last page WordPress answers 400 (rest_post_invalid_page_number): the end, not an error.
        meta = PROBE if page == 1 else {"handle_httpstatus_list": [] if known else [400]}
        return self.request(f"{collection}?per_page={self.per_page}&page={page}", self.parse_rest_page,
                            cb_kwargs={"collection": collection, "post_type": post_type, "page": page,
                                       "known": known, "total": total}, meta=meta)

    def parse_rest_page(self, response: Response, collection: str, post_type: str, page: int,
                        known: bool, total: int = 0) -> Iterator[Any]:
        if page == 1 and response.status >= 300:
            reason = self.shut(response)
            yield from self.first_page_done("rest", response, reason, recorded=response.status not in SHUT)
            return
        if response.status == 400:
            self.expected_status(response)
            return
        posts = self.load_json(response)
        if posts is not None and not isinstance(posts, list):
            self.record_error(response.url, f"REST answer is not a list of posts ({str(posts)[:60]})")
            posts = None
        if page == 1:
            yield from self.first_page_done("rest", response, "" if posts is not None else
                                            "unreadable REST answer", recorded=True)
        fetched = 0
        for post in posts or []:
            if not isinstance(post, dict):
                self.record_error(response.url, "REST entry is not an object")
            elif not self.skip_unchanged(str(post.get("link") or ""), as_utc(post.get("modified_gmt"))
                                    or as_utc(post.get("date_gmt"))):
                fetched += 1
                yield self.finish_item(self.item_from_rest(post, post_type))
        if posts is None or self.walk_ends(response, posts, fetched):
            return
        if page == 1:
            yield from self.rest_following_pages(response, collection, post_type, len(posts))
        elif not known and posts and len(posts) == self.per_page:
            yield from self.rest_next_unknown(response, collection, post_type, page)
        elif known and total:
            yield from self.rest_next_known(response, collection, post_type, page, total)

    def rest_following_pages(self, response: Response, collection: str, post_type: str,
                             count: int) -> Iterator[Request]:
        total = self.total_pages(response)
        if total is None:  # no usable header: follow while pages come back full
            if count == self.per_page:
                yield from self.rest_next_unknown(response, collection, post_type, 1)
            return
        if not self.full_walk:  # one page at a time, so that a page with nothing new ends the walk
            yield from self.rest_next_known(response, collection, post_type, 1, total)
            return
        if total > self.max_pages:
            self.rest_capped(response, total)
        for page in range(2, min(total, self.max_pages) + 1):
            yield self.rest_page_request(collection, post_type, page)

    def rest_next_known(self, response: Response, collection: str, post_type: str, page: int,
                        total: int) -> Iterator[Request]:
        if page >= total:
            return
        if page >= self.max_pages:
            self.rest_capped(response, total)
        else:
            yield self.rest_page_request(collection, post_type, page + 1, total=total)

    def rest_capped(self, response: Response, total: int) -> None:
        self.count("wp_pages_capped")
        self.record_error(response.url, f"X-WP-TotalPages {total} is more than max_pages "
                          f"{self.max_pages}: only the first {self.max_pages} pages were crawled")

    def rest_next_unknown(self, response: Response, collection: str, post_type: str,
                          page: int) -> Iterator[Request]:
        if page < self.max_pages:
            yield self.rest_page_request(collection, post_type, page + 1, known=False)
        else:
            self.count("wp_pages_capped")
            self.record_error(response.url, f"still full pages after max_pages {self.max_pages}")

    def total_pages(self, response: Response) -> int | None:
        raw = (response.headers.get("X-WP-TotalPages") or b"").decode("latin-1").strip()
        if not raw:
            self.count("wp_totalpages_missing")
            self.logger.warning("no X-WP-TotalPages header at %s: following full pages", response.url)
            return None
        if not raw.isdigit():
            self.count("wp_totalpages_malformed")
            self.logger.warning("X-WP-TotalPages %r at %s is not a number", raw, response.url)
            return None
        return int(raw)

    def item_from_rest(self, post: dict[str, Any], post_type: str) -> RawItem:
        def rendered(key: str) -> str:
            value = post.get(key)
            return str(value.get("rendered") or "") if isinstance(value, dict) else str(value or "")

        title, content = text_of(rendered("title")), rendered("content")
        body = Selector(text=content) if content.strip() else None
        return RawItem(
            source=self.name, url=str(post.get("link") or ""), natural_key=str(post.get("id") or ""),
            title=title, summary=text_of(rendered("excerpt")), body_html=content,
            source_type=str(post.get("type") or post_type),
            # `date` is the site's local time: only when date_gmt is missing, read (by the normaliser) as
            # UK time, which is right for the UK sites this base serves.
            published=as_utc(post.get("date_gmt")) or str(post.get("date") or ""),
            updated=as_utc(post.get("modified_gmt")),
            documents=self.documents(body, title), links=self.outbound_links(body),
        )

    # -- door 2: the RSS feed ----------------------------------------------------

    def feed_url(self, post_type: str, page: int) -> str:
        params = ([f"post_type={post_type}"] if post_type != "post" else []) + (
            [f"paged={page}"] if page > 1 else [])
        return f"{self.site}/feed/" + ("?" + "&".join(params) if params else "")

    def feed_requests(self) -> list[Request]:
        types = self.types_wanted or ["post"]
        self.expect_first_pages("feed", types)
        return [self.feed_request(t, 1) for t in types]

    def feed_request(self, post_type: str, page: int) -> Request:
        # Past the last page WordPress answers 404: the end of the feed, not an error.
        return self.request(self.feed_url(post_type, page), self.parse_feed, meta=PROBE if page == 1 else
                            {"handle_httpstatus_list": [404]}, cb_kwargs={"post_type": post_type, "page": page})

    def parse_feed(self, response: Response, post_type: str, page: int, for_type: bool = False) -> Iterator[Any]:
        if page > 1 and response.status == 404:
            self.expected_status(response)
            return
        channel, problem, recorded = self.feed_channel(response)
        if page == 1 and for_type and problem:  # the type's own feed is shut too: the HTML listings
            self.note_type_door(post_type, DOOR_NAMES["html"])
            listings = self.html_requests()
            if not listings:
                self.record_error(response.url, f"post type {post_type!r} is not in the site's REST types, its "
                                                f"feed is shut ({problem}) and no HTML listing is configured")
            yield from listings
        elif page == 1 and not for_type:
            yield from self.first_page_done("feed", response, problem, recorded)
        if channel is None:
            return
        items = [self.item_from_feed(entry, post_type) for entry in channel.findall("item")]
        new = [i for i in items if i.url not in self._feed_seen]
        self._feed_seen.update(i.url for i in items)
        fetched = 0
        for item in new:
            if not self.skip_unchanged(item.url, item.updated or item.published):
                fetched += 1
                yield self.finish_item(item)
        if new and self.walk_ends(response, new, fetched):
            return
        if new and page < self.max_pages:
            yield self.feed_request(post_type, page + 1)
        elif new:
            self.count("wp_pages_capped")
            self.logger.warning("feed paging stopped at max_pages %d: %s", self.max_pages, response.url)
        elif items:  # a site that ignores ?paged= answers every page with the first one
            self.logger.warning("feed page %d repeats earlier pages; paging stopped: %s", page, response.url)

    def feed_channel(self, response: Response) -> tuple[Any, str, bool]:
        """The feed's <channel>, or None with the problem and whether it was recorded as an error."""
        if reason := self.shut(response):
            return None, reason, response.status not in SHUT
        if b"html" in (response.headers.get("Content-Type") or b"").lower():
            return None, "an HTML page, not a feed", False  # feeds switched off by a plugin
        try:
            root = etree.fromstring(response.body, XML_PARSER)
        except etree.XMLSyntaxError as exc:
            self.record_error(response.url, f"malformed feed (not XML: {str(exc)[:80]})")
            return None, "malformed feed", True
        channel = root.find("channel") if root.tag == "rss" else None
        if channel is None:
            self.record_error(response.url, f"not an RSS feed (root element <{root.tag}>)")
            return None, "not an RSS feed", True
        return channel, "", False

    def item_from_feed(self, entry: Any, post_type: str) -> RawItem:
        title = text_of(entry.findtext("title"))
        content = entry.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") or ""
        body = Selector(text=content) if content.strip() else None
        post_id = POST_ID.search(entry.findtext("guid") or "")
        return RawItem(
            source=self.name, url=(entry.findtext("link") or "").strip(),
            natural_key=post_id.group(1) if post_id else "", title=title,
            summary=text_of(entry.findtext("description")), body_html=content, source_type=post_type,
            published=(entry.findtext("pubDate") or "").strip(),
            topics=[text_of(c.text) for c in entry.findall("category") if c.text],
            documents=self.documents(body, title), links=self.outbound_links(body),
        )

    # -- door 3: HTML listings and detail pages --------------------------------------

    def html_requests(self) -> list[Request]:
        paths = list(self.options.get("listings") or self.listings)
        requests = [self.request(urljoin(self.site + "/", p), self.parse_listing,
                                 cb_kwargs={"listing": urljoin(self.site + "/", p)}) for p in paths]
        if self.discover_listings and not self._discovery:
            self._discovery = {"pending": 2, "found": 0}
            requests += [self.request(f"{self.site}/wp-sitemap.xml", self.parse_wp_sitemap, meta=PROBE),
                         self.request(f"{self.site}/", self.parse_home, meta=PROBE)]
        return requests

    # -- listings discovered from the site itself: wp-sitemap.xml and the navigation -----------

    def discovery_step(self, pending: int = -1, found: int = 0) -> None:
        """Account for one discovery request; when the last is done and nothing was found, say so."""
        state = self._discovery
        state["pending"] += pending
        state["found"] += found
        if state["pending"] == 0 and state["found"] == 0 and not self.options.get("listings") and not self.listings:
            self.record_error(self.site, "no listing found: wp-sitemap.xml lists no post and the navigation "
                                         "links no page of publication cards")

    def parse_wp_sitemap(self, response: Response) -> Iterator[Request]:
        """WordPress's own sitemap (core since 5.5): ``/wp-sitemap.xml`` indexes one sitemap per post type
        (``wp-sitemap-posts-<type>-<n>.xml``), taxonomy and author; each post type's lists its posts."""
        if reason := self.shut(response):
            self.logger.info("no WordPress sitemap at %s (%s)", response.url, reason)
            self.discovery_step()
            return
        try:
            root = etree.fromstring(response.body, XML_PARSER)
        except etree.XMLSyntaxError as exc:
            self.record_error(response.url, f"malformed sitemap (not XML: {str(exc)[:80]})")
            self.discovery_step()
            return
        locs = [(" ".join((e.findtext(f"{SITEMAP_NS}loc") or "").split()),
                 (e.findtext(f"{SITEMAP_NS}lastmod") or "").strip()) for e in root]
        found = 0
        if root.tag == f"{SITEMAP_NS}sitemapindex":
            for loc, _ in locs:
                kind = WP_SITEMAP_POSTS.search(urlsplit(loc).path)
                if not kind or kind.group(1) in NOT_PUBLICATIONS or (
                        self.types_wanted and kind.group(1) not in self.types_wanted):
                    continue  # pages, taxonomies and authors are not publications
                found += 1
                self._discovery["pending"] += 1
                self.logger.info("post type %r discovered from the sitemap: %s", kind.group(1), loc)
                yield self.request(loc, self.parse_wp_sitemap, meta=PROBE)
        elif root.tag == f"{SITEMAP_NS}urlset":
            for loc, lastmod in locs:
                if urlsplit(loc).netloc != self.host:
                    continue
                found += 1
                if not self.skip_unchanged(loc, lastmod):
                    yield self.request(loc, self.parse_detail, cb_kwargs={"card": {}})
            self.count("wp_sitemap_posts", found)
        else:
            self.record_error(response.url, f"not a sitemap (root element <{root.tag}>)")
        self.discovery_step(found=found)

    def parse_home(self, response: Response) -> Iterator[Request]:
        """The home page's navigation: each page it links on this site is fetched once and walked as a
        listing when it looks like one (``listing_shape``: WordPress's archive classes, pagination to
        itself or several publication cards); other pages (About, Privacy) are left alone."""
        if self.shut(response):
            self.discovery_step()
            return
        seen = {self.site + "/"}
        for href in response.xpath("//nav//a/@href | //header//a/@href").getall():
            url = response.urljoin(href.strip()).split("#")[0]
            parts = urlsplit(url)
            if parts.netloc != self.host or url in seen or url_extension(url) in DOCUMENT_EXTENSIONS | MEDIA_EXTENSIONS:
                continue
            seen.add(url)
            self._discovery["pending"] += 1
            yield self.request(url, self.parse_nav_page, meta=PROBE)
        self.discovery_step()

    def parse_nav_page(self, response: Response) -> Iterator[Request]:
        if response.status >= 300:
            self.expected_status(response)
            self.logger.warning("the navigation links %s, which answers HTTP %d", response.url, response.status)
            self.discovery_step()
            return
        if not (why := self.listing_shape(response)):
            self.count("wp_nav_pages_not_listings")
            self.discovery_step()
            return
        path = urlsplit(response.url).path
        self.discovered_listings.append(path)
        self.count("wp_listings_discovered")
        self.logger.info("listing discovered from the navigation: %s (%s)", path, why)
        self.use_door(f"{DOOR_NAMES['html']} (found in the navigation: {', '.join(sorted(self.discovered_listings))})")
        self.discovery_step(found=1)
        yield from self.parse_listing(response, listing=response.url)

    def listing_anchors(self, response: Response) -> list[Selector]:
        """The links of a listing page that may lead to publications: on a site whose listings were
        discovered, those in its main part outside any navigation (menus, footers and pagination are not
        cards); otherwise every link, the detail pattern deciding."""
        if self.discover_listings and (anchors := response.xpath("//main//a[@href][not(ancestor::nav)]")):
            return list(anchors)
        return list(response.css("a[href]"))

    def parse_listing(self, response: Response, listing: str) -> Iterator[Request]:
        found: list[str] = []
        following: list[tuple[int, str]] = []
        fetched = 0
        cards = {a.root for a in self.listing_anchors(response)}  # the elements themselves, kept alive
        for a in response.css("a[href]"):
            url = response.urljoin(a.attrib["href"]).split("#")[0]
            if a.root in cards and self.is_detail(url, listing) and url not in found:
                found.append(url)
                card = self.card_fields(a)
                if not self.skip_unchanged(url, card["published"], listed=True):
                    fetched += 1
                    yield self.request(url, self.parse_detail, cb_kwargs={"card": card})
            elif page := self.listing_page(url, listing):
                following.append((page, url))
        if not found:
            self.record_error(response.url, "listing shows no publication links")
        elif self.only_known(found) and self.walk_ends(response, found, fetched):
            return
        here = self.listing_page(response.url, listing) or 1
        for page, url in following:
            if not self.full_walk and page != here + 1:
                continue  # incremental walks go one page at a time, to stop at the first with nothing new
            if page <= self.max_pages:
                yield self.request(url, self.parse_listing, cb_kwargs={"listing": listing})
            else:
                self.count("wp_pages_capped")

    def is_detail(self, url: str, listing: str) -> bool:
        parts = urlsplit(url)
        if parts.netloc == self.host and parts.path in ("", "/") and POST_ID_QUERY.fullmatch(parts.query):
            return True  # WordPress's own id link (/?p=242): the real Panel site links its annual report so
        return (parts.netloc == self.host and not parts.query and url.rstrip("/") != listing.rstrip("/")
                and not self.listing_page(url, listing) and bool(re.search(self.detail_pattern, parts.path)))

    @staticmethod
    def listing_page(url: str, listing: str) -> int:
        match = re.fullmatch(re.escape(listing.rstrip("/")) + r"/page/(\d+)/?", url.split("#")[0])
        return int(match.group(1)) if match else 0

    def card_fields(self, link: Selector) -> dict[str, str]:
        """What a listing card shows around a link: title, date ("16 April 2024"), excerpt, type label."""
        card = (link.xpath("ancestor::*[self::article or self::li][1]") or link.xpath("../..") or [link])[0]
        title = " ".join(" ".join(link.css("::text").getall()).split())
        texts = [" ".join(t.split()) for t in card.xpath(".//text()[not(ancestor::a)]").getall()]
        texts = [t for t in texts if t and t != title]
        date = next((m.group(0) for t in texts if (m := DAY_MONTH_YEAR.search(t))), "")
        summary = next((t for t in texts if len(t.split()) > 6), "")
        label = next((t for t in texts if self.looks_like_label(t)), "")
        return {"title": title, "published": date, "summary": summary, "label": label}

    @staticmethod
    def looks_like_label(text: str) -> bool:
        return 0 < len(text.split()) <= 4 and len(text) <= 40 and not re.search(r"\d|[.…:]$|\[", text)

    def parse_detail(self, response: Response, card: dict[str, str]) -> Iterator[RawItem]:
        if why := self.listing_shape(response):
            self.count("wp_listing_pages_not_stored")
            # remembered (skipped_pages) under the site's own date for the response, so that an incremental walk
            # that meets the link again (a dateless card) does not download it again; a full walk checks it anew
            self.record_skip(response.url, f"a listing page, not a publication ({why})", self.response_date(response))
            return
        main = self.main_part(response)
        title = self.html_title(response) or card.get("title", "")
        yield self.finish_item(RawItem(
            source=self.name, url=response.url, natural_key=self.html_post_id(response), title=title,
            summary=self.meta(response, "description", "og:description") or card.get("summary", ""),
            body_html=main.get(), source_type=self.page_label(response) or card.get("label", ""),
            published=self.html_date(response, main, "published") or card.get("published", ""),
            updated=self.html_date(response, main, "modified"),
            topics=[" ".join(t.split()) for t in main.css("a[rel~=tag]::text").getall() if t.strip()],
            documents=self.documents(main, title), links=self.outbound_links(main),
        ))

    @staticmethod
    def response_date(response: Response) -> str | None:
        """The site's own date for a page: its Last-Modified header, else the Date the server answered with."""
        for name in ("Last-Modified", "Date"):
            value = (response.headers.get(name) or b"").decode("latin-1").strip()
            if value and parse_date(value):
                return value
        return None

    def listing_shape(self, response: Response) -> str:
        """Why a page reached as a publication is a listing (an archive, taxonomy, search or paged list), from
        the page itself, never from its slug: WordPress's body classes, links to further pages of it, or a
        list of several cards each linking to a publication. '' for a publication."""
        classes = set(response.xpath("//body/@class").get("").split())
        marked = classes & {"archive", "search", "search-results", "category", "tag", "tax", "blog",
                            "post-type-archive", "paged"} or {c for c in classes if c.startswith(
                                ("post-type-archive-", "tax-", "term-"))}
        if marked:
            return "page marked " + ", ".join(sorted(marked))
        here = response.url.split("?")[0].rstrip("/")
        pages = [h for h in response.xpath("//a/@href|//link[@rel='next']/@href").getall()
                 if re.fullmatch(re.escape(here) + r"/page/\d+/?", response.urljoin(h).split("?")[0])]
        if pages:
            return "links to further pages of it"
        cards = [c for c in response.xpath("//main//article|//main//li[.//h2 or .//h3]")
                 if any(self.is_detail(response.urljoin(h).split("#")[0], "") and
                        response.urljoin(h).rstrip("/") != here for h in c.xpath(".//a/@href").getall())]
        if len(cards) >= 3:
            return f"a list of {len(cards)} publication cards"
        return ""

    @staticmethod
    def main_part(response: Response) -> Selector:
        for xpath in ("//main//article[.//h1]", "//main", "//article", "//body"):
            if found := response.xpath(xpath):
                return found[0]
        return Selector(text="<body></body>")

    @staticmethod
    def html_title(response: Response) -> str:
        return page_title(response.selector)

    @staticmethod
    def meta(response: Response, *names: str) -> str:
        return meta_content(response, *names)

    def html_date(self, response: Response, main: Selector, which: str) -> str:
        """Meta tags, then JSON-LD, then the visible label ("Published 2 February 2024")."""
        if value := self.meta(response, f"article:{which}_time"):
            return value
        if value := jsonld_value(response.selector, "datePublished" if which == "published" else "dateModified"):
            return value
        label = r"Published" if which == "published" else r"(?:Last\s+)?[Uu]pdated"
        text = " ".join(main.xpath(".//text()").getall())
        found = re.search(rf"\b{label}:?\s+({DAY_MONTH_YEAR.pattern})", text)
        return found.group(1) if found else ""

    @staticmethod
    def html_post_id(response: Response) -> str:
        shortlink = response.xpath("//link[@rel='shortlink']/@href").get("")
        if found := POST_ID.search(shortlink):
            return found.group(1)
        api = response.xpath("//link[@rel='alternate'][contains(@href, '/wp-json/')]/@href").get("")
        found = re.search(r"/wp/v2/[^/]+/(\d+)$", api)
        return found.group(1) if found else ""

    def page_label(self, response: Response) -> str:
        """The type label shown just before the <h1> ("Annual report"), or article:section."""
        before = response.xpath("//h1[1]/preceding-sibling::*[1][not(self::nav)]//text()").getall()
        text = " ".join(" ".join(before).split())
        return text if self.looks_like_label(text) else self.meta(response, "article:section")

    # -- shared by every door -------------------------------------------------------

    def skip_unchanged(self, url: str, source_date: str, listed: bool = False) -> bool:
        """On an incremental walk, a stored publication not newer at the source (REST ``modified_gmt``,
        the feed's date, the listing card's date; a card without one: stored is enough), recorded as seen
        unchanged. A full walk takes everything."""
        if self.full_walk or not url or not self.is_known(url):
            return False
        seen = parse_date(source_date) if source_date else None
        if seen is None:
            newer = not listed
        elif listed and seen.precision == "day":
            newer = self.newer_day(url, seen.iso)
        else:
            newer = not self.unchanged_at_source(url, source_date)
        if newer:
            return False
        if url not in self._seen_unchanged:
            self._seen_unchanged.add(url)
            self.record_unchanged(url)
        return True

    def newer_day(self, url: str, day: str) -> bool:
        """A card's day is the site's (UK) day: compared with the stored time's UK day, since a report
        published at 00:01 BST is stored, in UTC, the day before."""
        stored = self.known.get(canonical_url(url, self.trailing_slash), "")
        try:
            moment = parse_iso(stored) if "T" in stored else None
        except ValueError:
            moment = None
        if moment is not None:
            stored = moment.astimezone(LONDON).date().isoformat()
        common = min(len(day), len(stored))
        return not stored or day[:common] > stored[:common]

    def walk_ends(self, response: Response, entries: list[Any], fetched: int) -> bool:
        """A page of a collection, feed or listing with nothing to fetch ends its walk (not on a full walk)."""
        if self.full_walk or fetched or not entries:
            return False
        self.count("wp_walk_stopped")
        self.logger.info("nothing new at %s: paging stops", response.url)
        return True

    def documents(self, body: Selector | None, page_title: str) -> list[dict[str, Any]]:
        docs, seen = [], set()
        for a in body.css("a[href]") if body is not None else []:
            url = urljoin(self.site + "/", a.attrib["href"].strip())
            parts, ext = urlsplit(url), url_extension(url)
            if ext not in DOCUMENT_EXTENSIONS or url in seen or (
                    self.document_hosts and parts.netloc not in self.document_hosts):
                continue
            seen.add(url)
            docs.append(self.describe_document(a, {"url": url, "file_type": ext.upper()}, page_title))
        return docs

    def describe_document(self, a: Selector, doc: dict[str, Any], page_title: str) -> dict[str, Any]:
        """Title from the link text, or (for "Download", "Read the report") the heading of the link's
        block or the page's title; a size shown in the link text ("(PDF, 1.7 MB)")."""
        text = " ".join(" ".join(a.css("::text").getall()).split())
        name = re.sub(r"\s*\((?:pdf|docx?|xlsx?|csv|odt)[^)]*\)\s*$", "", text, flags=re.I).strip()
        if GENERIC_LINK.fullmatch(name):
            name = page_title
            blocks = a.xpath("ancestor::*[position() <= 2][not(self::body or self::html or self::main "
                             "or self::article)]")
            for block in reversed(blocks):  # nearest first
                if heading := block.xpath("(.//h2 | .//h3 | .//h4)[1]//text()").getall():
                    name = " ".join(" ".join(heading).split())
                    break
        size = SIZE.search(text)
        return {**doc, "title": name, "size": size.group(1) if size else ""}

    def outbound_links(self, body: Selector | None) -> list[str]:
        """Links to other sites' pages (documents and media aside), so stories can be grouped later."""
        links = []
        for href in body.css("a::attr(href)").getall() if body is not None else []:
            url = urljoin(self.site + "/", href.strip())
            parts, ext = urlsplit(url), url_extension(url)
            if parts.scheme in ("http", "https") and parts.netloc != self.host and url not in links \
                    and ext not in DOCUMENT_EXTENSIONS | MEDIA_EXTENSIONS and parts.netloc not in self.document_hosts:
                links.append(url)
        return links

    def finish_item(self, item: RawItem) -> RawItem:
        """Site-specific last touches (content type from the title, document details); the base adds none."""
        return item
