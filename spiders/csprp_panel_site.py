"""The Child Safeguarding Practice Review Panel's own website (SOURCES.md 2b, launched spring 2026).

Probably WordPress (``?p=<id>`` links resolve), but its REST API and feed are unverified: the base class
probes them and falls back to the HTML listings, which it discovers (wp-sitemap.xml, the navigation). A
publication page (the real one: /?p=242) shows a type label ("Annual report") before the <h1>, "Published
2 February 2024", and for each file "File size: 1.7 MB / File type: PDF / Number of pages: 168".
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from scrapy.selector import Selector

from pipeline.items.schema import RawItem
from spiders._wordpress import WordPressSpider

FILE_SIZE = re.compile(r"File size:?\s*(\d+(?:\.\d+)?\s*(?:bytes|KB|MB|GB))", re.I)
FILE_TYPE = re.compile(r"File type:?\s*([A-Za-z0-9]{2,5})\b", re.I)
PAGES = re.compile(r"Number of pages:?\s*(\d+)", re.I)
DOCUMENT_HREF = re.compile(r"\.(?:pdf|docx?|odt|rtf|xlsx?|ods|csv|pptx?|epub)$", re.I)


class CsprpPanelSiteSpider(WordPressSpider):
    name = "csprp_panel_site"
    base_url = "https://childsafeguarding.independent-panel.uk"
    # No listing path of the real site has been seen (SOURCES.md 2b): they are found on the site itself,
    # from /wp-sitemap.xml and from the pages its navigation links that look like listings. A publication
    # is any page of one or two path segments (WordPress permalinks: /<slug>/, /<type>/<slug>/) or a post
    # id link (/?p=242, as the real annual report is reached) that a listing's cards or the sitemap name.
    listings = ()
    discover_listings = True
    detail_pattern = r"^/(?:[^/]+/)?[^/]+/?$"

    def describe_document(self, a: Selector, doc: dict[str, Any], page_title: str) -> dict[str, Any]:
        doc = super().describe_document(a, doc, page_title)
        facts = self._file_facts(a)
        if size := FILE_SIZE.search(facts):
            doc["size"] = " ".join(size.group(1).split())
        if file_type := FILE_TYPE.search(facts):
            doc["file_type"] = file_type.group(1).upper()
        if pages := PAGES.search(facts):
            doc["pages"] = int(pages.group(1))  # Document.pages, stored in the documents JSON
        return doc

    @staticmethod
    def _file_facts(a: Selector) -> str:
        """The text of the nearest block around a download link that states its file size, as long as
        that block holds no other document (whose facts they would be)."""
        for block in reversed(a.xpath("ancestor::*[position() <= 4][not(self::body or self::html)]")):
            hrefs = {h.split("?")[0] for h in block.css("a::attr(href)").getall()}
            if len({h for h in hrefs if DOCUMENT_HREF.search(h)}) > 1:
                return ""
            text = " ".join(" ".join(block.xpath(".//text()").getall()).split())
            if "file size" in text.lower():
                return text
        return ""

    def finish_item(self, item: RawItem) -> RawItem:
        if not item.source_type and urlsplit(item.url).path.startswith("/news/"):
            item.content_type = "news"
        return item
