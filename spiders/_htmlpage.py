"""Reading an article page whose markup is unknown (SOURCES.md: NSPCC Learning, the Commissioner, IWF were
never seen as HTML here): fields come from <h1>, visible labels ("Last updated:", "Topics:"), standard meta
tags and JSON-LD, and the body is "what follows the <h1>", never one CSS class name."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urljoin, urlsplit

import lxml.html
from scrapy.http import Response
from scrapy.selector import Selector

from pipeline.items.files import DOCUMENT_EXTENSIONS, url_extension
from pipeline.items.markup import ANY_H1, MAIN_H1, text_of

LABELS = re.compile(r"\b(?:Last updated|Updated|Published|Topics|Tags)\s*:", re.I)
LABEL_START = re.compile(r"^\s*(?:(?:Last updated|Updated|Published|Topics|Tags)\s*:|Publication date\b)", re.I)
DATE = re.compile(r"\d{4}-\d\d-\d\d(?:T[\d:.]+(?:Z|[+-]\d\d:?\d\d)?)?|\d{1,2}(?:st|nd|rd|th)?\s+[A-Za-z]{3,9}\.?,?"
                  r"\s+\d{4}|[A-Za-z]{3,9}\s+\d{1,2},?\s+\d{4}")
PAGE_PARAM = re.compile(r"^(?:page|p|pg|pagenumber|pageindex)$", re.I)
SIZE = re.compile(r"\d+(?:\.\d+)?\s?[KMG]B\b", re.I)
DROP = "//nav|//aside|//footer|//form|//script|//style|//noscript|//template|//*[@role='navigation']"
SHORT = 200  # a label block ("Last updated: 05 Oct 2020 Topics: News") is a line, not a paragraph


def is_cut_off(body: bytes) -> bool:
    """A page that ends before ``</html>`` was truncated in transit or by the server."""
    return re.search(rb"</html\s*>", body[-65536:], re.I) is None


def _after_label(sel: Selector, label: str) -> tuple[str, Selector | None]:
    """Text after a visible label, up to the next label, in the smallest element around it that has any:
    ``<p>Last updated: 05 Oct 2020</p>``, ``<dt>Last updated:</dt><dd>…</dd>``, ``<span>…</span> text``."""
    for node in sel.xpath("//body//*[not(self::script)][text()[contains(., $l)]]", l=label)[:3]:
        for _ in range(3):
            whole = text_of(node)
            if label in whole and len(whole) < SHORT * 3:
                after = LABELS.split(whole.split(label, 1)[1], 1)[0].strip(" |·,;")
                if after:
                    return after, node
            parent = node.xpath("..")
            if not parent:
                break
            node = parent[0]
    return "", None


def label_date(sel: Selector, label: str) -> str:
    after, _ = _after_label(sel, label)
    found = DATE.search(after[:40])
    return found.group(0) if found else ""


def label_values(sel: Selector, label: str) -> list[str]:
    """Values after a label: its links or list items where it has them, else comma-separated text."""
    after, node = _after_label(sel, label)
    if node is None:
        return []
    parts = [text_of(s) for s in node.xpath(".//a|.//li[not(.//a)]|.//dd[not(.//a|.//li)]")]
    parts = [p for p in parts if p and p in after]
    return parts or [p.strip() for p in re.split(r"[,|·;]", after) if p.strip()]


def article_body(response: Response) -> lxml.html.HtmlElement | None:
    """The article container (the <h1>'s <article> or <main>, else <body>) without what comes before the
    <h1>, the <h1> itself, navigation, asides, forms and the label block."""
    try:
        root = lxml.html.document_fromstring(response.body, parser=lxml.html.HTMLParser(
            encoding=response.encoding))
    except (lxml.etree.ParserError, ValueError):
        return None
    h1s = root.xpath(MAIN_H1) or root.xpath(ANY_H1)
    h1 = h1s[0] if h1s else None
    anchor = h1 if h1 is not None else root
    container = next((a for a in anchor.iterancestors() if a.tag in ("article", "main")
                      or a.get("role") == "main"), None)
    if container is None:
        found = root.xpath("//article|//main|//*[@role='main']")
        container = found[0] if found and h1 is None else root.find("body")
    if container is None:
        return None
    if h1 is not None:
        node = h1
        while node is not container and node.getparent() is not None:
            for sib in list(node.itersiblings(preceding=True)):
                sib.drop_tree()
            node = node.getparent()
        h1.drop_tree()
    for el in container.xpath("." + DROP.replace("|//", "|.//")):
        el.drop_tree()
    _drop_label_blocks(container)
    return container


def _drop_label_blocks(container: lxml.html.HtmlElement) -> None:
    marked = [el for el in container.iterdescendants() if isinstance(el.tag, str)
              and LABEL_START.match(el.text_content()) and len(el.text_content()) < SHORT]
    marked_set = set(marked)
    for el in marked:
        if not any(a in marked_set for a in el.iterancestors()):
            el.drop_tree()


def to_html(body: lxml.html.HtmlElement | None) -> str:
    return lxml.html.tostring(body, encoding="unicode") if body is not None else ""


def first_paragraph(body: lxml.html.HtmlElement | None) -> str:
    for p in body.iter("p") if body is not None else ():
        text = " ".join(p.text_content().split())
        if text:
            return text
    return ""


def anchors(body: lxml.html.HtmlElement | None, base: str) -> list[tuple[str, str]]:
    """(absolute URL without fragment, link text) of every link in the body."""
    out = []
    for a in body.iter("a") if body is not None else ():
        href = (a.get("href") or "").strip()
        if href and not href.startswith(("#", "mailto:", "tel:", "javascript:")):
            out.append((urljoin(base, href).split("#", 1)[0], " ".join(a.text_content().split())))
    return out


def document_of(url: str, text: str, own_host: str) -> dict[str, str] | None:
    """A link to a file (by extension, or under the site's Umbraco ``/media/``), as a document."""
    parts, ext = urlsplit(url), url_extension(url)
    labelled = re.search(r"\((PDF|DOCX?|XLSX?)\b", text, re.I)
    if ext not in DOCUMENT_EXTENSIONS and (ext or not (parts.netloc == own_host and parts.path.startswith("/media/"))):
        return None  # not a file, or media (audio, images) rather than a document
    size = SIZE.search(text)
    return {"title": text, "url": url, "file_type": ext if ext in DOCUMENT_EXTENSIONS else
            (labelled.group(1) if labelled else ""), "size": size.group(0) if size else ""}


def pagination_links(response: Response) -> list[str]:
    """Further pages of a listing, whatever the scheme: links to the same path with a numeric page
    parameter (``?page=2``, ``?p=2``), and ``rel=next``. Filters (``?topics=…``) are not pages."""
    here = urlsplit(response.url)
    pages = []
    for href in response.xpath("//a/@href|//link[@rel='next']/@href").getall():
        parts = urlsplit(response.urljoin(href))
        paged = any(PAGE_PARAM.match(k) and v.isdigit() for k, v in parse_qsl(parts.query))
        if parts.netloc == here.netloc and parts.path.rstrip("/") == here.path.rstrip("/") and paged:
            pages.append(parts.geturl().split("#", 1)[0])
    return pages
