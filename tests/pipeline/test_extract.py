"""The generic extractor: each way in (JSON-LD, OpenGraph and meta tags, <time>, <h1>, htmldate,
trafilatura), the order between them, and pages that give nothing."""

from __future__ import annotations

import json

from pipeline.items.extract import extract
from tests.support import FIXTURES

URL = "https://example.org/news/a-story"
PARAGRAPHS = "".join(f"<p>Paragraph {i} of the story, long enough to be read as running text by the extractor, "
                     f"with a few more words to be sure.</p>" for i in range(3))


def page(head: str = "", body: str = "", lang: str = "en-GB") -> str:
    return f"<!DOCTYPE html><html lang='{lang}'><head>{head}</head><body>{body}</body></html>"


def ld(*objects: dict) -> str:
    return f'<script type="application/ld+json">{json.dumps({"@graph": list(objects)})}</script>'


def test_json_ld_article_wins_over_the_organisation_and_the_tags():
    html = page(ld({"@type": "Organization", "name": "The Publisher"},
                   {"@type": ["NewsArticle"], "headline": "The headline", "datePublished": "2024-03-05T10:00:00Z",
                    "dateModified": "2024-03-06", "description": "The standfirst."})
                + '<meta property="og:title" content="OG title">',
                f"<nav>Menu</nav><article><h1>The h1</h1>{PARAGRAPHS}</article>")
    found = extract(html, URL)
    assert (found.title, found.published, found.updated, found.summary) == (
        "The headline", "2024-03-05T10:00:00Z", "2024-03-06", "The standfirst.")
    assert found.source_type == "NewsArticle"
    assert found.language == "en"
    assert found.found == {"title": "json-ld", "published": "json-ld", "updated": "json-ld", "summary": "json-ld",
                           "source_type": "json-ld", "language": "html", "body_text": "trafilatura"}
    assert "Paragraph 2 of the story" in found.body_text and "Menu" not in found.body_text


def test_opengraph_and_meta_tags():
    html = page('<meta property="og:title" content="  OG   title ">'
                '<meta property="article:published_time" content="2023-11-02T09:30:00+00:00">'
                '<meta property="article:modified_time" content="2023-11-03T09:30:00+00:00">'
                '<meta name="description" content="Meta description.">', f"<main>{PARAGRAPHS}</main>")
    found = extract(html, URL)
    assert (found.title, found.published, found.updated, found.summary) == (
        "OG title", "2023-11-02T09:30:00+00:00", "2023-11-03T09:30:00+00:00", "Meta description.")
    assert found.found["title"] == "og:title" and found.found["published"] == "meta"


def test_h1_time_element_and_title_tag():
    html = page("<title>Story title | Site name</title>",
                f"<main><h1>Visible <em>heading</em></h1><time datetime='2022-07-01'>1 July</time>{PARAGRAPHS}</main>")
    found = extract(html, URL)
    assert (found.title, found.published) == ("Visible heading", "2022-07-01")
    assert found.found["published"] == "time"
    assert extract(page("<title>Story title | Site name</title>"), URL).title == "Story title"


def test_htmldate_reads_a_visible_date():
    found = extract(page(body=f"<article><h1>Story</h1><p>Published 5 March 2023</p>{PARAGRAPHS}</article>"), URL)
    assert (found.published, found.found["published"]) == ("2023-03-05", "htmldate")


def test_broken_json_ld_and_a_page_without_anything():
    found = extract(page('<script type="application/ld+json">{not json</script>', "<p>Hi</p>"), URL)
    assert (found.title, found.published, found.summary) == ("", "", "")
    assert extract("", URL).title == ""


def test_body_can_be_left_out():
    html = page('<meta property="og:title" content="T">', f"<main>{PARAGRAPHS}</main>")
    assert extract(html, URL, with_body=False).body_text == ""


def test_synthetic_fixture_pages_give_title_and_date():
    site = FIXTURES / "_feeds"
    for name, title, published in (("example.org/page1.html", "Page 1", "2024-01-01T12:00:00Z"),
                                   ("example.org/page2.html", "Page 2", "2024-01-02T14:00:00Z"),
                                   ("example.org/en/page.html", "English page", "2024-01-03")):
        found = extract((site / name).read_text(encoding="utf-8"), "https://example.org/x")
        assert (found.title, found.published) == (title, published), name
