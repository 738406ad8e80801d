"""The Internet Watch Foundation's news and blogs (SOURCES.md 4), text only.

Doors: the feed (``/news-media/feed/``, unverified) when it lists articles, else the listings
``/news-media/news/?page=N`` and ``/news-media/blogs/?page=N`` until a page brings nothing new. No raw HTML of
the site was available when this was written (2026): fields are anchored on URL patterns, ``<h1>``, the
visible "Published:" label and the listing card's "9 March 2026 Blog", never on a CSS class.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import lxml.etree
from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.selector import Selector
from twisted.python.failure import Failure

from pipeline.items.dates import MONTH_NAMES
from pipeline.items.markup import jsonld_value, meta_content, page_title, text_of
from pipeline.items.schema import RawItem
from spiders import _htmlpage as htmlpage
from spiders._base import SourceSpider

WWW = "https://www.iwf.org.uk"
FEED = f"{WWW}/news-media/feed/"
SECTIONS = {"news": "News", "blogs": "Blog"}  # listing path → the label its cards carry
# Trailing slash optional; apostrophes become "-s-" in slugs ("minister-praises-iwf-s-vital-work-...").
ARTICLE = re.compile(r"^https?://(?:www\.)?iwf\.org\.uk(/news-media/(news|blogs)/[a-z0-9]+(?:-[a-z0-9]+)*)/?$", re.I)
MONTHS = "|".join(MONTH_NAMES)
CARD_DATE = re.compile(rf"\b(\d{{1,2}} (?:{MONTHS}) \d{{4}})\b[\s|·]*([^|]*)")  # "9 March 2026 Blog"
PUBLISHED = re.compile(r"Published:?\s+(?:[A-Z][a-z]{2,8},?\s+)?\d{1,2}\s+[A-Z][a-z]{2,8}\s+\d{4}")
MANY = "\n"  # an element holding links to more than one article (never an article path)
TYPES = {"news": "news", "blog": "blog", "blogs": "blog", "press release": "press_release",
         "press releases": "press_release"}
RESEARCH = re.compile(r"^https://(?:www\.)?iwf\.org\.uk/about-us/why-we-exist/our-research/[a-z0-9-]+/?$")
# A byline: a few words, no sentence ("Susie Hargreaves OBE, IWF CEO"); a standfirst is a sentence.
BYLINE = re.compile(r"^(?:[^\s.!?]+\s+){0,7}[^\s.!?]+$")
ARTICLE_PROSE = 150  # characters of paragraph text a block must hold to be the article
TAG_HREF = re.compile(r"[?&](?:tags?|topics?)=|/tags?/", re.I)
TAG_LABEL = ".//*[re:test(normalize-space(text()), '^(tags|topics|tagged( with)?):?$', 'i')]"
NOT_TEXT = " | ".join(f".//{t}" for t in ("h1", "nav", "header", "footer", "aside", "form", "figure", "picture",
                                            "img", "video", "audio")) \
    + " | .//*[@role='navigation' or @role='banner' or @role='contentinfo' or @role='complementary']"


TEXTS = lxml.etree.XPath(".//text()")  # compiled once: a listing may have 10,000 cards


def _text(element: Any) -> str:
    """All text under an lxml element, whitespace folded."""
    return " ".join(" ".join(TEXTS(element)).split())


class IwfSpider(SourceSpider):
    name = "iwf"
    allowed_domains = ["iwf.org.uk"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requested: set[str] = set()  # article paths, case folded, without trailing slash
        self.listed: dict[str, set[str]] = {s: set() for s in SECTIONS}
        self.max_pages = int(self.options.get("max_listing_pages", 100))

    async def start(self):
        yield self.request(FEED, self.parse_feed, errback=self.no_feed)

    # -- doors ----------------------------------------------------------------

    def no_feed(self, failure: Failure) -> Iterator[Request]:
        response = getattr(failure.value, "response", None)
        if response is not None and response.status in (404, 410):
            self.expected_status(response)
        self.logger.info("no feed at %s (%s)", FEED, failure.getErrorMessage())
        yield from self.listings()

    def listings(self) -> Iterator[Request]:
        self.use_door("listings /news-media/news/ and /news-media/blogs/")
        yield from (self.listing(section, 1) for section in SECTIONS)

    def listing(self, section: str, page: int, after_failure: bool = False) -> Request:
        return self.request(f"{WWW}/news-media/{section}/?page={page}", self.parse_listing,
                            errback=self.listing_failed,
                            cb_kwargs={"section": section, "page": page, "after_failure": after_failure})

    def article(self, url: str, card: dict[str, str]) -> Request | None:
        path = ARTICLE.match(url).group(1)
        if path.lower() in self.requested:
            return None
        self.requested.add(path.lower())
        # incremental: a stored article whose card date is not newer (or whose card shows no date) waits
        # for the next full walk
        if self.unchanged_at_source(url, card.get("date")) or (not card.get("date") and self.is_known(url)):
            self.record_unchanged(url)
            return None
        return self.request(WWW + path + ("/" if url.endswith("/") else ""), self.parse, cb_kwargs={"card": card})

    def parse_feed(self, response: Response) -> Iterator[Request]:
        entries = response.xpath("//*[local-name()='item' or local-name()='entry']") \
            if isinstance(response, TextResponse) else []
        cards = {}
        for entry in entries:
            url = _child(entry, "link") or entry.xpath("./*[local-name()='link']/@href").get("")
            label = _child(entry, "category")
            if ARTICLE.match(url):
                cards[url] = {"title": _child(entry, "title"), "date": _child(entry, "pubDate", "published"),
                              "label": label if label.lower() in TYPES else ""}
        if not cards:
            self.logger.warning("the feed %s lists no article; falling back to the listings", response.url)
            yield from self.listings()
            return
        self.use_door("feed /news-media/feed/")
        yield from filter(None, (self.article(url, card) for url, card in cards.items()))
        if self.full_walk:  # the feed holds the latest only: a full walk reads the listings to their end
            self.use_door("feed /news-media/feed/, then listings /news-media/news/ and /news-media/blogs/")
            yield from (self.listing(section, 1) for section in SECTIONS)

    def parse_listing(self, response: Response, section: str, page: int, after_failure: bool) -> Iterator[Request]:
        new = fetched = 0
        cards = list(self._cards(response))
        for url, card in cards:
            self.reached(card.get("date", ""))
            path = ARTICLE.match(url).group(1).lower()
            if path.startswith(f"/news-media/{section}/") and path not in self.listed[section]:
                self.listed[section].add(path)
                new += 1
            if request := self.article(url, card):
                fetched += 1
                yield request
        if new and not fetched and self.only_known([url for url, _ in cards]):
            self.logger.info("%s listing: page %d holds only unchanged articles; the walk stops", section, page)
        elif new and page < self.max_pages:
            yield self.listing(section, page + 1)
        elif page == 1:
            self.record_error(response.url, "listing shows no article link (has the markup changed?)")
        else:
            self.logger.info("%s listing: page %d brings nothing new; done, reached back to %s", section, page,
                             self.reached_back_to or "no dated card")

    def listing_failed(self, failure: Failure) -> Iterator[Request]:
        self.on_request_error(failure)
        kw = failure.request.cb_kwargs  # type: ignore[attr-defined]
        if not kw["after_failure"] and kw["page"] < self.max_pages:  # one broken page does not end a listing
            yield self.listing(kw["section"], kw["page"] + 1, after_failure=True)

    def _cards(self, response: Response) -> Iterator[tuple[str, dict[str, str]]]:
        """Every article link with its card. Linear in the page: one upward pass marks each element with the
        one article it holds (or MANY), so that finding a link's card never rescans the page (a listing of
        10,000 cards parses in well under a second)."""
        if not isinstance(response, TextResponse):
            return
        joined: dict[str, str] = {}
        links = [(link, url) for link in response.selector.root.iter("a") if (href := link.get("href")) is not None
                 and ARTICLE.match(url := joined.get(href) or joined.setdefault(href, response.urljoin(href)))]
        holds: dict[Any, str] = {}  # lxml element → the one article path under it, or MANY
        for link, url in links:
            own = ARTICLE.match(url).group(1).lower()
            node = link
            while node is not None:
                seen = holds.get(node)
                if seen in (own, MANY):
                    break  # its ancestors were marked when it was
                holds[node] = own if seen is None else MANY
                node = node.getparent()
        cards: dict[Any, dict[str, str]] = {}  # block → its card, shared by the card's links (image, title)
        for link, url in links:
            yield url, self._card(link, holds, cards)

    @staticmethod
    def _card(link: Any, holds: dict[Any, str], cards: dict[Any, dict[str, str]]) -> dict[str, str]:
        """The nearest block around the link that shows a date and links to no other article (lxml elements)."""
        node = link
        while node is not None and holds.get(node) != MANY:
            if node in cards:
                return cards[node]
            if m := CARD_DATE.search(" | ".join(t.strip() for t in TEXTS(node) if t.strip())):
                label = m.group(2).strip()
                summary = next((t for t in map(_text, node.iter("p")) if t and not CARD_DATE.search(t)), "")
                heading = next(node.iter("h2", "h3", "h4"), None)
                cards[node] = {"title": (_text(heading) if heading is not None else "") or _text(link),
                               "summary": summary, "date": m.group(1),
                               "label": label if label.lower() in TYPES else ""}
                return cards[node]
            node = node.getparent()
        return {"title": _text(link)}

    # -- articles -------------------------------------------------------------

    def parse(self, response: Response, card: dict[str, str] | None = None) -> Iterator[RawItem]:
        card = card or {}
        if not isinstance(response, TextResponse):
            self.record_skip(response.url, "not an HTML page")
            return
        page = self._article_block(response)
        line, published = self._date_line(page)
        body = self._body(page)
        label = self._parse_type(response, card)
        self.reached(published)
        yield RawItem(
            source=self.name,
            url=response.url,
            title=self._parse_title(response) or card.get("title", ""),
            summary=self._parse_summary(response, page, line) or card.get("summary", ""),
            body_html=body.get(),
            source_type=label,
            content_type=TYPES.get(label.lower(), ""),
            published=published or self._parse_published_meta(response) or card.get("date", ""),
            topics=self._parse_topics(response, page),
            documents=self._parse_documents(response, body),
            links=[u for u in map(response.urljoin, body.xpath(".//a/@href").getall())
                   if u.startswith("http") and not urlsplit(u).netloc.endswith("iwf.org.uk")],
        )

    def _article_block(self, response: TextResponse) -> Selector:
        """The nearest block around the ``<h1>`` that holds the article's paragraphs, whatever its markup
        (related articles and footers, which show other dates, stay outside). A header that holds a related
        card, a date line and a byline (as the real 2015 blogs show them) has paragraphs too, but short ones:
        the block must hold some prose."""
        blocks = response.xpath("(//h1)[1]/ancestor::*[count(.//p) >= 2]")
        for block in reversed(blocks):  # nearest first
            if sum(len(text_of(p)) for p in block.xpath(".//p")) >= ARTICLE_PROSE:
                return block
        found = blocks[-1:] or response.xpath("//body")
        return found[0] if found else response.selector

    def _date_line(self, page: Selector) -> tuple[Selector | None, str]:
        """The smallest element showing "Published:  Sun 2 Feb 2025" (label and date may be split)."""
        for node in page.xpath(".//text()[contains(., 'Published')]/.."):
            for _ in range(3):
                line = text_of(node)
                if len(line) > 120:
                    break
                if m := PUBLISHED.search(line):
                    return node, m.group(0)
                node = (node.xpath("..") or [node])[0]
        return None, ""

    def _standfirst(self, page: Selector, line: Selector | None) -> Selector | None:
        """The first paragraph after the date line (after the ``<h1>`` when there is none), past a byline
        ("Susie Hargreaves OBE, IWF CEO" follows the date on the real 2015 blogs)."""
        found = (line if line is not None else page.xpath("(.//h1)[1]")).xpath("following::p[normalize-space()]")
        for n, paragraph in enumerate(found[:2]):
            if n == 0 and len(found) > 1 and BYLINE.match(text_of(paragraph)):
                continue
            return paragraph
        return None

    def _tags(self, page: Selector) -> tuple[list[Selector], list[Selector]]:
        """Tag links (``?tag=``, ``/tags/``) and what follows a "Tags"/"Topics" label; then the labels."""
        labels = page.xpath(TAG_LABEL)
        links = [a for a in page.xpath(".//a[@href]") if TAG_HREF.search(a.attrib["href"])]
        return links + list(labels.xpath("following-sibling::*")), list(labels)

    def _body(self, page: Selector) -> Selector:
        """A copy of the article block without title, date line, standfirst, tags, navigation and media."""
        body = Selector(root=copy.deepcopy(page.root), type="html")
        tags, labels = self._tags(body)
        line = self._date_line(body)[0]  # found again in the copy, where it can be dropped
        drop = [*body.xpath(NOT_TEXT), *tags, *labels, line, self._standfirst(body, line)]
        for element in drop:
            if element is not None:
                element.drop()
        return body

    def _parse_title(self, response: TextResponse) -> str:
        return page_title(response.selector)

    def _parse_type(self, response: TextResponse, card: dict[str, str]) -> str:
        """The card's label ("Blog", "Press release"), else the label of the article's section."""
        m = ARTICLE.match(response.url)
        return card.get("label") or SECTIONS[m.group(2).lower() if m else "news"]

    def _parse_summary(self, response: TextResponse, page: Selector, line: Selector | None) -> str:
        return text_of(self._standfirst(page, line)) or meta_content(response, "og:description", "description")

    def _parse_published_meta(self, response: TextResponse) -> str:
        """When the page shows no "Published:  Sun 2 Feb 2025" line (double space on the site)."""
        return jsonld_value(response, "datePublished") or meta_content(response, "article:published_time")

    def _parse_topics(self, response: TextResponse, page: Selector) -> list[str]:
        topics = response.xpath("//meta[@property='article:tag']/@content").getall()
        for element in self._tags(page)[0]:
            items = element.xpath("descendant-or-self::li | descendant-or-self::a")
            topics += map(text_of, items) if items else text_of(element).split(",")
        return [t for t in dict.fromkeys(t.strip() for t in topics) if t]

    def _parse_documents(self, response: TextResponse, body: Selector) -> list[dict[str, str]]:
        """Files (PDF and other documents, never media) and the IWF's research pages linked from the body."""
        docs = []
        for link in body.xpath(".//a[@href]"):
            url, title = response.urljoin(link.attrib["href"]), text_of(link)
            doc = htmlpage.document_of(url, title, urlsplit(response.url).netloc)
            if doc is None and RESEARCH.match(url):
                doc = {"title": title, "url": url, "file_type": "HTML"}
            if doc:
                docs.append(doc)
        return docs


def _child(entry: Selector, *names: str) -> str:
    """The text of a feed entry's first child element with one of these names (RSS or Atom)."""
    found = entry.xpath(" | ".join(f"./*[local-name()='{n}']" for n in names))
    return text_of(found[0]) if found else ""
