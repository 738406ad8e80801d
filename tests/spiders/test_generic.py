"""Sources without code (``type: feed`` / ``type: sitemap``): the real feeds and sitemaps of
../shared/realdata served as recorded sites (tests/fixtures/_feeds), with synthetic detail pages, and
sources declared in tests/fixtures/_feeds/config.yaml alone."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest

from pipeline.config import ConfigError, load_config
from spiders._generic import generic_spider, read_json_feed, read_sitemap
from tests.support import FIXTURES, crawl_offline, fake_response, query, run_cli

SITE = FIXTURES / "_feeds"
FEEDS_CONFIG = SITE / "config.yaml"
WP = "https://wordpress.org/news/"
SITEMAPS_ORG = r"^https://www\.sitemaps\.org/[a-z]+\.html$"


def crawl(kind: str, url: str, site=SITE, **options):
    return crawl_offline(generic_spider(kind, "test_source", url), site, options)


@pytest.fixture(scope="module")
def wordpress():
    return crawl("feed", WP + "feed/")


def test_real_rss_feed_every_field_of_one_item(wordpress):
    item = wordpress.by_url(WP + "2020/12/introducing-learn-wordpress/")
    pub = wordpress.publications("keep")[0]
    assert pub.url == item.url and pub.id == f"test_source:{item.url}"
    assert pub.title == "Introducing Learn WordPress"
    assert pub.published_at == "2020-12-15T13:00:00Z" and pub.published_precision == "datetime"
    assert pub.summary.startswith("Learn WordPress is a learning resource providing workshops")
    assert pub.body_text.startswith("This page is a synthetic stand-in for " + item.url)  # from the page, no <h1>
    assert "Synthetic footer" not in pub.body_text and "Another story" not in pub.body_text
    assert pub.topics == ("Updates", "learnwordpress", "learnwp")
    assert pub.language == "en"
    assert item.extra["published_from"] == "listing" and item.extra["extracted"]["title"] == "json-ld"


def test_real_rss_feed_invariants(wordpress):
    pubs = wordpress.publications("keep")
    assert len(pubs) == 10 and wordpress.spider.errors == []
    for pub in pubs:
        assert pub.title and pub.url.startswith(WP + "20") and pub.published_at.startswith("2020-1")
        assert "synthetic stand-in" in pub.body_text and pub.summary
    assert wordpress.spider.door == f"feed {WP}feed/"


def test_page_that_fails_keeps_the_feed_entry_and_records_the_error(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(SITE, site)
    manifest = json.loads((site / "manifest.json").read_text())
    del manifest[WP + "2020/12/simone/"]
    (site / "manifest.json").write_text(json.dumps(manifest))
    result = crawl("feed", WP + "feed/", site)
    assert len(result.items) == 10
    simone = result.by_url(WP + "2020/12/simone/")
    assert simone.title == "WordPress 5.6 \u201cSimone\u201d" and simone.published.startswith("Tue, 08 Dec 2020")
    assert "Simone" in simone.body_html  # the feed's content:encoded stands in for the page
    assert result.spider.errors == [f"HTTP 404: {WP}2020/12/simone/"]


def test_fetch_pages_false_keeps_to_the_feed():
    result = crawl("feed", WP + "feed/", fetch_pages=False)
    assert len(result.items) == 10 and result.requested == [WP + "feed/"]
    assert all(i.body_html and not i.body_text for i in result.items)


@pytest.mark.parametrize(("feed", "published"), [
    ("https://example.org/rss.xml", ["2024-01-01T12:00:00Z", "2024-01-02T14:00:00Z"]),
    ("https://example.org/atom.xml", ["2024-01-01", "2024-01-02"]),  # Atom <updated> only
    ("https://example.org/feed.json", ["2024-01-01T12:00:00Z", "2024-01-02T14:00:00Z"]),
])
def test_rss_atom_and_json_feed(feed, published):
    result = crawl("feed", feed)
    pubs = result.publications()
    assert [p.url for p in pubs] == ["https://example.org/page1", "https://example.org/page2"]
    assert [p.title for p in pubs] == ["Page 1", "Page 2"]
    assert [p.published_at for p in pubs] == published
    assert all("synthetic stand-in" in p.body_text for p in pubs) and result.spider.errors == []


@pytest.mark.parametrize(("door", "urls"), [
    ("https://example.org/sitemap.xml", ["page1", "page2"]),  # index → urlset and Google News sitemap
    ("https://example.org/sitemap.txt", ["page1", "page2"]),  # plain text
    ("https://example.org/robots.txt", ["page1", "page2", "en/page", "fr/page"]),  # Sitemap: lines
])
def test_sitemap_kinds(door, urls):
    result = crawl("sitemap", door)
    pubs = {p.url: p for p in result.publications()}
    assert sorted(pubs) == sorted(f"https://example.org/{u}" for u in urls)
    assert pubs["https://example.org/page1"].published_at == "2024-01-01T12:00:00Z"  # JSON-LD of the page
    assert pubs["https://example.org/page2"].title == "Page 2"  # og:title
    if "https://example.org/en/page" in pubs:
        assert pubs["https://example.org/en/page"].published_at == "2024-01-03"  # htmldate, visible text
    assert result.spider.door == f"sitemap {door}"


def test_real_sitemap_with_url_pattern_and_lastmod():
    result = crawl("sitemap", "https://www.sitemaps.org/sitemap.xml", url_pattern=SITEMAPS_ORG)
    pubs = result.publications()
    assert [p.url.rsplit("/", 1)[1] for p in pubs] == ["protocol.html", "faq.html", "terms.html"]
    assert {p.published_at for p in pubs} == {"2016-11-21"}  # no date on the pages: the sitemap's lastmod
    assert {i.extra["published_from"] for i in result.items} == {"lastmod"}
    assert len(result.requested) == 4  # 81 other pages of the sitemap are not fetched


def test_gzipped_sitemap_in_an_index_and_a_missing_child():
    result = crawl("sitemap", "http://www.example.com/sitemap_index.xml", url_pattern=SITEMAPS_ORG)
    assert len(result.items) == 3
    assert result.spider.errors == ["HTTP 404: http://www.example.com/sitemap2.xml.gz"]


def test_max_items_and_max_pages():
    result = crawl("feed", WP + "feed/", max_items=3)
    assert len(result.items) == 3
    assert crawl("sitemap", "https://example.org/sitemap.xml", max_pages=1).items == []


def test_incremental_walk_fetches_only_what_is_newer():
    known = {WP + "2020/12/introducing-learn-wordpress/": "2020-12-15T13:00:00Z",  # unchanged
             WP + "2020/12/simone/": "2020-12-01"}  # older than the feed's date: fetched again
    result = crawl_offline(generic_spider("feed", "test_source", WP + "feed/"), SITE, {},
                           spider_kwargs={"known": known, "full_walk": False})
    assert WP + "2020/12/introducing-learn-wordpress/" not in result.requested
    assert WP + "2020/12/simone/" in result.requested
    assert result.spider.run_log.unchanged == [WP + "2020/12/introducing-learn-wordpress/"]
    assert len(result.items) == 9


def test_not_a_feed_and_not_a_sitemap():
    assert read_json_feed(b'{"items": []}') is None
    assert read_sitemap(b"<html><body>hello</body></html>") == (None, [])
    assert read_sitemap(b"no URLs here") == (None, [])
    spider = generic_spider("feed", "test_source", "https://example.org/page1")()
    list(spider.parse_feed(fake_response("https://example.org/page1", "<html><body>a page</body></html>")))
    assert spider.errors == ["not an RSS, Atom or JSON feed: https://example.org/page1"]


def test_bad_url_pattern_is_one_clear_error():
    with pytest.raises(ValueError, match="url_pattern is not a regular expression"):
        generic_spider("sitemap", "x", "https://example.org/sitemap.xml")(options={"url_pattern": "(["})


# -- declared in config.yaml alone ------------------------------------------------------------------

BASE = """
user_agent: "safeguarding-news/0.1 (contact: team@example.org)"
sources:
  a_feed:
    name: A feed
    organisation: Someone
    allowed_domains: [example.org]
"""


@pytest.mark.parametrize(("extra", "message"), [
    ("    type: feed\n", r"sources\.a_feed: .*type: feed needs feed_url"),
    ("    type: sitemap\n    feed_url: https://example.org/feed\n", r"feed_url is only for type: feed"),
    ("    feed_url: https://example.org/feed\n", r"feed_url is only for type: feed \(this is spider\)"),
    ("    type: feed\n    feed_url: https://elsewhere.org/feed\n", r"host elsewhere.org is not in allowed_domains"),
    ("    type: feed\n    feed_url: /feed\n", r"feed_url must be an absolute http\(s\) URL"),
    ("    type: podcast\n", r"sources\.a_feed\.type: Input should be 'spider', 'feed' or 'sitemap'"),
])
def test_config_validation(tmp_path, extra, message):
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(BASE) + extra, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_feed_and_sitemap_sources_need_no_module():
    config = load_config(FEEDS_CONFIG)
    assert {s.type for s in config.sources.values()} == {"feed", "sitemap"}
    assert config.source("wordpress_news").feed_url == WP + "feed/"


@pytest.mark.e2e
def test_feed_and_sitemap_sources_crawl_from_config_alone(tmp_path):
    db = tmp_path / "feeds.db"
    result = run_cli("crawl", "--config", str(FEEDS_CONFIG), "--source", "wordpress_news", "--source",
                     "sitemaps_org", "--replay", str(SITE), "--db", str(db))
    assert result.exit_code == 0, result.output
    runs = {r["source"]: r for r in query(db, "select source, status, items, new, errors, door from runs")}
    assert runs["wordpress_news"] == {"source": "wordpress_news", "status": "ok", "items": 10, "new": 10,
                                      "errors": 0, "door": f"feed {WP}feed/"}
    assert runs["sitemaps_org"]["items"] == 3 and runs["sitemaps_org"]["status"] == "ok"
    row = query(db, "select * from publications where url = ?", (WP + "2020/12/simone/",))[0]
    assert (row["title"], row["published_at"], row["content_type"]) == (
        "WordPress 5.6 \u201cSimone\u201d", "2020-12-08T19:46:00Z", "news")
    assert row["body_text"].startswith("This page is a synthetic stand-in")
    guidance = query(db, "select count(*) n from publications where source = 'sitemaps_org' "
                         "and content_type = 'guidance' and published_at = '2016-11-21'")
    assert guidance[0]["n"] == 3


def _broken_feed(tmp_path, edit):
    """A copy of the recorded sites whose real WordPress.org feed is edited by ``edit`` (its text → text)."""
    site = tmp_path / "site"
    shutil.copytree(SITE, site)
    feed = site / "wordpress.org/news/feed/index.xml"
    feed.write_text(edit(feed.read_text(encoding="utf-8")), encoding="utf-8")
    return site


def _crawl_cli(tmp_path, site):
    db = tmp_path / "broken.db"
    result = run_cli("crawl", "--config", str(FEEDS_CONFIG), "--source", "wordpress_news", "--replay", str(site),
                     "--db", str(db))
    return result, query(db, "select status, items, invalid, errors, message, stats from runs")[0]


def test_feed_entries_without_a_link_or_a_title_are_counted_invalid_and_named(tmp_path):
    """Issue 22: entries with no link, or no title and no page fetched, vanished and the run said ok."""
    learn = f"<link>{WP}2020/12/introducing-learn-wordpress/</link>"
    simone = f"<link>{WP}2020/12/simone/</link>"
    state = "<title>State of the Word 2020</title>"

    def edit(text):
        text = text.replace(learn, "").replace(simone, "")  # two entries lose their link
        # a third loses its title and links off the site (its page is not fetched)
        text = text.replace(state, "<title></title>").replace(
            f"<link>{WP}2020/12/state-of-the-word-2020/</link>", "<link>https://elsewhere.example/sotw</link>")
        return text

    _, run = _crawl_cli(tmp_path, _broken_feed(tmp_path, edit))
    assert (run["status"], run["items"], run["invalid"], run["errors"]) == ("ok", 7, 3, 0)
    assert "invalid item: no usable URL ('') for 'Introducing Learn WordPress'" in run["message"]
    assert "invalid item: no title at https://elsewhere.example/sotw" in run["message"]
    assert json.loads(run["stats"])["sgn/feed_entries_without_link"] == 2


def test_a_run_that_stored_nothing_from_a_non_empty_feed_is_not_ok(tmp_path):
    import re

    result, run = _crawl_cli(tmp_path, _broken_feed(tmp_path, lambda t: re.sub(r"\s*<link>[^<]*/20\d\d/[^<]*</link>",
                                                                                "", t)))
    assert (run["status"], run["items"], run["invalid"]) == ("failed", 0, 10)
    assert result.exit_code != 0
