"""Text: entities decoded and whitespace folded, and HTML (a fragment or a page) turned into readable lines."""

from __future__ import annotations

import html
import re

import lxml.html

_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section",
    "article", "blockquote", "pre", "figcaption", "dd", "dt", "hr", "header", "footer", "aside", "main",
}
_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "form", "button")


def clean_text(text: str | None) -> str:
    """Entities decoded, whitespace folded to single spaces."""
    if not text:
        return ""
    return " ".join(html.unescape(text).split())


def html_to_text(markup: str | None) -> str:
    """HTML (a fragment or a page) to readable text: paragraphs on their own lines, no markup."""
    if not markup or not markup.strip():
        return ""
    if "<" not in markup:
        return clean_text(markup)
    try:
        root = lxml.html.fromstring(markup)
    except (lxml.etree.ParserError, ValueError):
        return clean_text(re.sub(r"<[^>]*>", " ", markup))
    for bad in root.iter(*_DROP_TAGS):
        if bad.getparent() is not None:
            bad.drop_tree()
        else:
            bad.clear()
    for el in root.iter(*_BLOCK_TAGS):  # lxml picks the block elements out in C
        el.tail = "\n" + (el.tail or "")
        el.text = "\n" + (el.text or "")
    return "\n".join([" ".join(words) for line in root.text_content().splitlines() if (words := line.split())])
