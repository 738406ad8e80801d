"""Readers of what an HTML page says about itself, on a parsel ``Selector`` (a Scrapy response is one too):
meta tags, JSON-LD, the article's ``<h1>`` and the page title. Shared by the generic extractor
(``pipeline.items.extract``) and the HTML spiders."""

from __future__ import annotations

import json
import re
from typing import Any

from parsel import Selector

# The <h1> of the article: one inside <main>, <article> or role=main first, else the first in the page.
MAIN_H1 = "(//main//h1|//article//h1|//*[@role='main']//h1)[normalize-space()]"
ANY_H1 = "//h1[normalize-space()]"
TITLE_SUFFIX = re.compile(r"\s+[|\-–—:]\s+[^|\-–—:]{2,60}$")  # "Title | Site name", "Title - Site"


def text_of(sel: Selector | None) -> str:
    """All text under an element, whitespace folded."""
    return " ".join(" ".join(sel.xpath(".//text()").getall()).split()) if sel is not None else ""


def meta_content(sel: Selector, *names: str) -> str:
    """The first non-empty ``<meta>`` content among ``names`` (property, name or itemprop)."""
    for name in names:
        value = sel.xpath("//meta[@property=$n or @name=$n or @itemprop=$n]/@content", n=name).get()
        if value and value.strip():
            return " ".join(value.split())
    return ""


def jsonld_objects(sel: Selector) -> list[dict[str, Any]]:
    """Every object of every JSON-LD block, nested ones included, block by block and breadth first."""
    found: list[dict[str, Any]] = []
    for raw in sel.xpath("//script[@type='application/ld+json']/text()").getall():
        try:
            stack: list[Any] = [json.loads(raw)]
        except ValueError:
            continue  # a broken block is common; the other ways in still work
        while stack:
            node = stack.pop(0)
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                found.append(node)
                stack.extend(v for v in node.values() if isinstance(v, list | dict))
    return found


def jsonld_value(sel: Selector, key: str) -> str:
    """The first non-empty string ``key`` (e.g. ``datePublished``) of any JSON-LD object, @graph included."""
    for obj in jsonld_objects(sel):
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def main_h1(sel: Selector) -> Selector | None:
    found = sel.xpath(MAIN_H1) or sel.xpath(ANY_H1)
    return found[0] if found else None


def h1_text(sel: Selector) -> str:
    return text_of(main_h1(sel))


def title_tag(sel: Selector) -> str:
    """The ``<title>`` without the site's name after it (``"Title | Site"``)."""
    title = " ".join(" ".join(sel.xpath("//title//text()").getall()).split())
    return TITLE_SUFFIX.sub("", title) or title


def page_title(sel: Selector) -> str:
    """What a reader sees as the page's title: the article's ``<h1>``, else ``og:title``, else ``<title>``."""
    return h1_text(sel) or meta_content(sel, "og:title") or title_tag(sel)
