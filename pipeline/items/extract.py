"""The generic extractor: title, dates, summary and main text of an article page whose markup nobody has
described. It reads what publishers put there for machines first (JSON-LD, OpenGraph and other meta
tags, ``<time datetime>``), then what a reader sees (``<h1>``, ``<title>``); htmldate finds a date in the
visible text when nothing structured gives one, and trafilatura finds the main text.

Used by the spiders of feed and sitemap sources (``spiders._generic``), and as a safety net behind coded
spiders (``pipeline.crawl.fallback``). A pure function of the page: no network, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from parsel import Selector

from pipeline.items.markup import h1_text, jsonld_objects, meta_content, title_tag

ARTICLE_TYPES = {
    "article", "newsarticle", "blogposting", "report", "scholarlyarticle", "techarticle", "analysisnewsarticle",
    "reportagenewsarticle", "opinionnewsarticle", "liveblogposting", "socialmediaposting", "podcastepisode",
}
PAGE_TYPES = {"webpage", "creativework", "itempage", "collectionpage"}  # weaker: often "Title - Site name"
PUBLISHED_META = ("article:published_time", "og:published_time", "datePublished", "date", "DC.date.issued",
                  "dcterms.issued", "dcterms.created", "DC.date", "citation_publication_date", "parsely-pub-date",
                  "sailthru.date", "pubdate", "publish-date")
UPDATED_META = ("article:modified_time", "og:updated_time", "dateModified", "dcterms.modified", "last-modified")
EARLIEST = "1995-01-01"  # no source published on the web before this; a match earlier is a false one


@dataclass
class Extracted:
    """What the page gives (empty strings for what it does not) and where each field was found."""

    title: str = ""
    summary: str = ""
    body_text: str = ""
    found: dict[str, str] = field(default_factory=dict)  # field → where it was found, e.g. "json-ld"
    published: str = ""
    updated: str = ""
    source_type: str = ""
    language: str = ""


def extract(html: str, url: str, *, with_body: bool = True) -> Extracted:
    """Every field this page gives, and where each came from (``found``); empty strings for the rest."""
    sel = Selector(text=html or "<html></html>")
    objects = sorted(jsonld_objects(sel), key=_rank)  # article types first
    result = Extracted()
    for name, finders in (
        ("title", (("json-ld", lambda: _ld(objects, "headline", "name")),
                   ("og:title", lambda: meta_content(sel, "og:title")),
                   ("h1", lambda: h1_text(sel)),
                   ("twitter:title", lambda: meta_content(sel, "twitter:title")),
                   ("title", lambda: title_tag(sel)))),
        ("published", (("json-ld", lambda: _ld(objects, "datePublished", "dateCreated")),
                       ("meta", lambda: meta_content(sel, *PUBLISHED_META)),
                       ("time", lambda: _time(sel)),
                       ("htmldate", lambda: _htmldate(html, url)))),
        ("updated", (("json-ld", lambda: _ld(objects, "dateModified")),
                     ("meta", lambda: meta_content(sel, *UPDATED_META)))),
        ("summary", (("json-ld", lambda: _ld(objects, "description")),
                     ("og:description", lambda: meta_content(sel, "og:description")),
                     ("meta", lambda: meta_content(sel, "description", "twitter:description")))),
        ("source_type", (("json-ld", lambda: _ld_type(objects)),)),
        ("language", (("html", lambda: _language(sel)),)),
        ("body_text", (("trafilatura", lambda: _main_text(html, url) if with_body else ""),)),
    ):
        for origin, finder in finders:
            value = finder()
            if value:
                setattr(result, name, value)
                result.found[name] = origin
                break
    return result


# ---------------------------------------------------------------- structured data

def _types(obj: dict[str, Any]) -> list[str]:
    kind = obj.get("@type") or []
    return [str(t) for t in (kind if isinstance(kind, list) else [kind])]


def _rank(obj: dict[str, Any]) -> int:
    """0 for an article, 1 for a page, 2 for anything else (an Organization, a WebSite, a Person)."""
    kinds = {t.lower() for t in _types(obj)}
    return 0 if kinds & ARTICLE_TYPES else 1 if kinds & PAGE_TYPES else 2


def _is_article(obj: dict[str, Any]) -> bool:
    return _rank(obj) < 2


def _ld(objects: list[dict[str, Any]], *keys: str) -> str:
    """The first of ``keys`` in an article-like object (``name`` of an Organization is not a title)."""
    for obj in objects:
        if not _is_article(obj):
            continue
        for key in keys:
            value = obj.get(key)
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())
    return ""


def _ld_type(objects: list[dict[str, Any]]) -> str:
    return next((t for o in objects if _rank(o) == 0 for t in _types(o)), "")


# ---------------------------------------------------------------- what a reader sees

def _time(sel: Selector) -> str:
    """A ``<time datetime>`` marked as the publication date, else the first one in the article."""
    return (sel.xpath("//time[@itemprop='datePublished']/@datetime").get()
            or sel.xpath("(//article//time|//main//time)[1]/@datetime").get() or "").strip()


def _language(sel: Selector) -> str:
    lang = sel.xpath("/html/@lang").get() or meta_content(sel, "og:locale")
    return re.split(r"[-_]", lang.strip().lower())[0] if lang and lang.strip() else ""


def _htmldate(html: str, url: str) -> str:
    """A date in the page's text or markup, by htmldate (original publication date, not the last edit)."""
    from htmldate import find_date

    try:
        return find_date(html, url=url, original_date=True, extensive_search=True, min_date=EARLIEST) or ""
    except (ValueError, TypeError):
        return ""


def _main_text(html: str, url: str) -> str:
    import trafilatura

    try:
        return trafilatura.extract(html, url=url, include_comments=False, include_tables=True,
                                   include_images=False, deduplicate=False) or ""
    except (ValueError, TypeError):
        return ""
