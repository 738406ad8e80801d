"""The WordPress base class (spiders/_wordpress.py) on real WordPress documents: every door, the fall-backs
between them, paging by X-WP-TotalPages, and bad input. The recorded sites are in tests/fixtures/_wordpress
(real REST posts and RSS feed, see its metadata.json); bad-input sites are built in tmp_path."""

import json
import shutil

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from pipeline.crawl.store_pipeline import StorePipeline
from pipeline.items.normalise import InvalidItem, normalise
from spiders._wordpress import WordPressSpider, as_utc, text_of
from storage import runs
from storage.db import open_db
from tests.support import FIXTURES, crawl_offline, query

SITE = FIXTURES / "_wordpress"
DEMO = "https://demo.wp-api.org"
NEWS = "https://wordpress.org/news"
JSON = {"Content-Type": "application/json; charset=UTF-8"}
REST, FEED, HTML = "WordPress REST API", "WordPress RSS feed", "HTML listings"


class WpTestSpider(WordPressSpider):
    """A tiny WordPress source for the tests; the site comes from the `base_url` option."""

    name = "wp_test"
    detail_pattern = r"^/news/[^/]+/$"


def make_site(tmp_path, entries, files=None):
    """A recorded site in tmp_path: ``entries`` is the manifest, ``files`` name → text or real file."""
    for name, content in (files or {}).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            shutil.copyfile(content, path)
    (tmp_path / "manifest.json").write_text(json.dumps(entries), encoding="utf-8")
    return tmp_path


def demo_crawl(site=SITE, **options):
    return crawl_offline(WpTestSpider, site, {"base_url": DEMO, "per_page": 10, **options})


# -- door 1: REST, on demo.wp-api.org and wpapi.local ------------------------------------------------


def test_rest_door_reads_every_field_of_a_real_post():
    result = demo_crawl()
    assert result.spider.door == REST
    assert result.requested == [f"{DEMO}/wp-json/", f"{DEMO}/wp-json/wp/v2/types",
                                f"{DEMO}/wp-json/wp/v2/posts?per_page=10&page=1"]
    assert len(result.items) == 10 and result.spider.errors == []
    item = result.by_url("https://demo.wp-api.org/2016/09/03/this-is-a-test-post/")
    assert (item.source, item.natural_key, item.title) == ("wp_test", "470", "This is a test post!")
    assert item.summary == "This is a test post!"
    assert item.body_html == "<p>This is a test post!</p>\n"
    assert (item.source_type, item.content_type) == ("post", "")
    assert (item.published, item.updated) == ("2016-09-03T13:54:33+00:00", "2016-09-03T13:54:33+00:00")
    assert (item.documents, item.links, item.topics) == ([], [], [])
    pub = normalise(item)
    assert (pub.id, pub.content_type, pub.published_at, pub.published_precision) == (
        "wp_test:470", "news", "2016-09-03T13:54:33Z", "datetime")


def test_rest_items_are_keyed_by_post_id_and_dated():
    items = demo_crawl().items
    assert [i.natural_key for i in items] == ["470", "469", "457", "455", "454", "453", "452", "450", "449", "448"]
    assert all(i.url.startswith("https://demo.wp-api.org/2016/") and i.published.endswith("+00:00") for i in items)


def test_empty_titles_in_the_real_sample_become_invalid_items_not_a_crash():
    items = demo_crawl().items
    empty = [i for i in items if not i.title]
    assert [i.natural_key for i in empty] == ["457", "455", "454", "453", "452", "450", "449", "448"]
    for item in empty:
        with pytest.raises(InvalidItem, match="no title"):
            normalise(item)
    assert [normalise(i).title for i in items if i.title] == ["This is a test post!", "THis is a test!"]


def test_empty_titles_are_counted_invalid_by_the_run_and_the_rest_stored(tmp_path):
    """End to end through the item pipeline: the run row says 2 stored, 8 invalid, status ok."""
    result = demo_crawl()
    db_path = tmp_path / "x.db"
    db = open_db(db_path)
    run_id = runs.start_run(db, "wp_test", "2026-01-01T00:00:00Z", pid=None)
    db.close()
    crawler = get_crawler(WpTestSpider, {"SGN_RUN_ID": run_id, "SGN_DB_PATH": str(db_path)})
    recorder = StorePipeline(crawler)
    dropped = 0
    for item in result.items:
        try:
            recorder.process_item(item)
        except DropItem:
            dropped += 1
    recorder.spider_closed(result.spider, "finished")
    run = query(db_path, "select * from runs")[0]
    assert (dropped, run["items"], run["new"], run["invalid"], run["status"]) == (8, 2, 2, 8, "ok")
    assert "invalid item: no title at https://demo.wp-api.org/2016/07/17/457/" in run["message"]
    assert {r["id"] for r in query(db_path, "select id from publications")} == {"wp_test:470", "wp_test:469"}


def test_date_gmt_is_utc_on_a_site_whose_timezone_is_not_utc():
    result = crawl_offline(WpTestSpider, SITE, {"base_url": "https://wpapi.local"})
    assert result.spider.door == REST and result.spider.errors == []
    pubs = {p.id: p for p in result.publications()}
    assert len(pubs) == 4
    first = pubs["wp_test:6"]  # date 17:55:22 local, date_gmt 21:55:22: the site is UTC-4
    assert (first.published_at, first.updated_at) == ("2016-10-26T21:55:22Z", "2016-10-27T01:48:24Z")
    assert pubs["wp_test:3"].published_at == "2015-12-01T18:19:44Z"  # date 13:19:44, UTC-5 in December
    local_dates = {"2016-10-26T17:55:22", "2016-07-18T19:59:46", "2016-02-04T12:09:45", "2015-12-01T13:19:44"}
    assert not {p.published_at.rstrip("Z") for p in pubs.values()} & local_dates


def test_without_date_gmt_the_local_date_is_not_taken_for_utc():
    spider = WpTestSpider(options={"base_url": "https://wpapi.local"})
    post = json.loads((SITE / "wpapi.local/wp-json/wp/v2/posts.json").read_text())[0]
    del post["date_gmt"], post["modified_gmt"]
    item = spider.item_from_rest(post, "post")
    assert (item.published, item.updated) == ("2016-10-26T17:55:22", "")
    assert normalise(item).published_at == "2016-10-26T16:55:22Z"  # read as UK time (BST), never as UTC


def test_as_utc_and_text_of():
    assert as_utc("2016-10-26T21:55:22") == "2016-10-26T21:55:22+00:00"
    assert as_utc("2016-10-26T21:55:22Z") == "2016-10-26T21:55:22Z"
    assert as_utc(None) == as_utc("") == as_utc("0000-00-00T00:00:00") == ""
    assert text_of("WordPress 5.6 &#8220;Simone&#8221; <em>is out</em> &amp; more") == \
        "WordPress 5.6 \u201cSimone\u201d is out & more"


def test_a_single_real_post_is_read_like_a_collection_entry():
    post = json.loads((SITE / "demo.wp-api.org/wp-json/wp/v2/post-448.json").read_text())
    item = WpTestSpider(options={"base_url": DEMO}).item_from_rest(post, "post")
    assert (item.natural_key, item.title, item.summary) == ("448", "", "This is some test posts!!!")
    assert item.url == "https://demo.wp-api.org/2016/07/15/448/"


# -- door 2: the feed, on the real wordpress.org/news feed ----------------------------------------------


def test_feed_door_when_the_rest_api_answers_404():
    result = crawl_offline(WpTestSpider, SITE, {"base_url": NEWS})
    spider = result.spider
    assert spider.door == FEED and spider.errors == []
    assert result.requested == [f"{NEWS}/wp-json/", f"{NEWS}/feed/", f"{NEWS}/feed/?paged=2"]
    assert spider.crawler.stats.get_value("sgn/wp_door_fallbacks") == 1
    assert len(result.items) == 10
    item = result.by_url("https://wordpress.org/news/2020/12/introducing-learn-wordpress/")
    assert (item.natural_key, item.title, item.source_type) == ("9444", "Introducing Learn WordPress", "post")
    assert item.published == "Tue, 15 Dec 2020 13:00:00 +0000" and item.updated == ""
    assert item.summary.startswith("Learn WordPress is a learning resource providing workshops")
    assert "<h2>What can you learn about WordPress?</h2>" in item.body_html
    assert item.topics == ["Updates", "learnwordpress", "learnwp"]
    assert item.links[:2] == ["https://learn.wordpress.org/", "https://learn.wordpress.org/workshops/"]
    assert item.documents == []
    pub = normalise(item)
    assert (pub.id, pub.published_at, pub.content_type) == ("wp_test:9444", "2020-12-15T13:00:00Z", "news")
    assert "What can you learn about WordPress?" in pub.body_text and "<" not in pub.body_text


def test_feed_items_decode_entities_and_keep_no_media_links():
    items = crawl_offline(WpTestSpider, SITE, {"base_url": NEWS}).items
    assert "WordPress 5.6 \u201cSimone\u201d" in [i.title for i in items]
    assert all(i.natural_key.isdigit() and i.url.startswith("https://wordpress.org/news/20") for i in items)
    links = [u for i in items for u in i.links]
    assert links and not [u for u in links if u.split("?")[0].endswith((".png", ".jpg", ".gif", ".svg"))]
    assert all(normalise(i).published_precision == "datetime" for i in items)


# -- door 3: HTML listings -----------------------------------------------------------------------------

LISTING = """<html><body><main><h1>News</h1>
<article><p>Report</p><h2><a href="/news/first-story/">First story</a></h2><p>16 April 2024</p>
<p>A first story with a long enough excerpt to be read as one [&hellip;]</p></article>
<article><h2><a href="https://example.org/news/second-story/#comments">Second story</a></h2>
<p>A second story whose page carries its own dates in meta tags and JSON-LD.</p></article>
<a href="/news/?category=x">Filter</a> <a href="/news/page/2/">2</a>
</main></body></html>"""
LISTING_2 = """<html><body><main><article><h2><a href="/news/third-story/">Third story</a></h2>
<p>1 March 2023</p></article></main></body></html>"""
FIRST = """<html><head><title>First story | Example</title>
<meta name="description" content="The first story, in brief.">
<link rel="shortlink" href="https://example.org/?p=101"></head><body>
<nav><a href="/">Home</a></nav><main><article><h1>First story</h1><p>Body of the first story.</p>
<p><a href="/wp-content/uploads/2024/04/first.pdf">Download the report (PDF, 1.2 MB)</a></p>
<p>See <a href="https://www.gov.uk/guidance/x">GOV.UK</a>, <a href="https://example.org/about/">about</a>
and <a rel="tag" href="/tag/online-safety/">Online safety</a>.</p></article></main></body></html>"""
SECOND = """<html><head><title>Second story | Example</title>
<meta property="article:published_time" content="2024-05-01T08:00:00+00:00">
<script type="application/ld+json">{"@type": "Article", "dateModified": "2024-05-03T10:00:00+01:00"}</script>
<link rel="alternate" type="application/json" href="https://example.org/wp-json/wp/v2/posts/102"></head>
<body><main><article><p>Statement</p><h1>Second <em>story</em></h1><p>Text.</p></article></main></body></html>"""
THIRD = """<html><head><title>Third story | Example</title></head><body><article><h1>Third story</h1>
<p>Published: 2 March 2023</p></article></body></html>"""


def html_site(tmp_path, rest_status=403, feed_status=404):
    pages = {"listing.html": LISTING, "listing-2.html": LISTING_2, "first.html": FIRST, "second.html": SECOND,
             "third.html": THIRD}
    return make_site(tmp_path, {
        "https://example.org/wp-json/": {"status": rest_status},
        "https://example.org/feed/": {"status": feed_status},
        "https://example.org/news/": {"file": "listing.html"},
        "https://example.org/news/page/2/": {"file": "listing-2.html"},
        "https://example.org/news/first-story/": {"file": "first.html"},
        "https://example.org/news/second-story/": {"file": "second.html"},
        "https://example.org/news/third-story/": {"file": "third.html"},
    }, pages)


@pytest.mark.parametrize("rest_status", [401, 403, 404])
def test_html_door_when_neither_rest_nor_feed_answers(tmp_path, rest_status):
    site = html_site(tmp_path, rest_status=rest_status)
    result = crawl_offline(WpTestSpider, site, {"base_url": "https://example.org", "listings": ["/news/"]})
    assert result.spider.door == HTML and result.spider.errors == []
    assert result.spider.crawler.stats.get_value("sgn/wp_door_fallbacks") == 2
    assert "https://example.org/news/?category=x" not in result.requested
    first = result.by_url("https://example.org/news/first-story/")
    assert (first.natural_key, first.title, first.summary) == ("101", "First story", "The first story, in brief.")
    assert (first.published, first.updated, first.source_type) == ("16 April 2024", "", "Report")
    assert first.topics == ["Online safety"]
    assert first.documents == [{"url": "https://example.org/wp-content/uploads/2024/04/first.pdf",
                                "file_type": "PDF", "title": "First story", "size": "1.2 MB"}]
    assert first.links == ["https://www.gov.uk/guidance/x"]
    assert "Body of the first story." in first.body_html and "Home" not in first.body_html
    second = result.by_url("https://example.org/news/second-story/")
    assert (second.natural_key, second.title, second.source_type) == ("102", "Second story", "Statement")
    assert (second.published, second.updated) == ("2024-05-01T08:00:00+00:00", "2024-05-03T10:00:00+01:00")
    assert second.summary == "A second story whose page carries its own dates in meta tags and JSON-LD."
    third = result.by_url("https://example.org/news/third-story/")
    assert (third.published, third.natural_key) == ("2 March 2023", "")
    assert [normalise(i).published_at for i in result.items] == ["2024-04-16", "2024-05-01T08:00:00Z",
                                                                 "2023-03-02"]


def test_html_door_caps_listing_pages(tmp_path):
    site = html_site(tmp_path)
    result = crawl_offline(WpTestSpider, site, {"base_url": "https://example.org", "listings": ["/news/"],
                                                "max_pages": 1})
    assert "https://example.org/news/page/2/" not in result.requested and len(result.items) == 2
    assert result.spider.crawler.stats.get_value("sgn/wp_pages_capped") == 1


def test_every_door_shut_is_one_error_and_no_items(tmp_path):
    site = make_site(tmp_path, {"https://example.org/wp-json/": {"status": 404},
                                "https://example.org/feed/": {"status": 410}})
    result = crawl_offline(WpTestSpider, site, {"base_url": "https://example.org"})
    assert result.items == []
    assert result.spider.errors == ["no way into the site: REST API, feed and HTML listings all unavailable: "
                                    "https://example.org"]


def test_a_listing_without_publication_links_is_an_error(tmp_path):
    site = make_site(tmp_path, {"https://example.org/news/": {"file": "empty.html"}},
                     {"empty.html": "<html><body><main><p>Nothing here</p></main></body></html>"})
    result = crawl_offline(WpTestSpider, site, {"base_url": "https://example.org", "doors": ["html"],
                                                "listings": ["/news/"]})
    assert result.spider.errors == ["listing shows no publication links: https://example.org/news/"]


# -- paging by X-WP-TotalPages ---------------------------------------------------------------------------

REAL_POSTS = SITE / "demo.wp-api.org/wp-json/wp/v2/posts.json"
ONE_MORE = json.dumps([{"id": 400, "date_gmt": "2016-06-01T10:00:00", "link": f"{DEMO}/2016/06/01/older/",
                        "title": {"rendered": "An older post"}, "type": "post"}])


def paged_site(tmp_path, headers, more):
    """demo.wp-api.org with the real posts as page 1 under ``headers``, and ``more`` page → entry."""
    entries = {f"{DEMO}/wp-json/": {"file": "index.json", "headers": JSON},
               f"{DEMO}/wp-json/wp/v2/types": {"file": "types.json", "headers": JSON},
               f"{DEMO}/wp-json/wp/v2/posts?per_page=10&page=1": {"file": "posts.json",
                                                                  "headers": {**JSON, **headers}}}
    for page, entry in more.items():
        entries[f"{DEMO}/wp-json/wp/v2/posts?per_page=10&page={page}"] = entry
    return make_site(tmp_path, entries, {
        "index.json": SITE / "demo.wp-api.org/wp-json/index.json", "posts.json": REAL_POSTS,
        "types.json": SITE / "demo.wp-api.org/wp-json/types.json", "more.json": ONE_MORE, "none.json": "[]"})


def page_urls(result):
    return [u.rsplit("=", 1)[-1] for u in result.requested if "/posts?" in u]


def test_pages_follow_x_wp_totalpages(tmp_path):
    site = paged_site(tmp_path, {"X-WP-Total": "11", "X-WP-TotalPages": "2"},
                      {2: {"file": "more.json", "headers": JSON}})
    result = demo_crawl(site)
    assert page_urls(result) == ["1", "2"] and len(result.items) == 11 and result.spider.errors == []
    assert result.by_url(f"{DEMO}/2016/06/01/older/").published == "2016-06-01T10:00:00+00:00"


def test_absurd_total_pages_are_capped_at_max_pages_and_recorded(tmp_path):
    site = paged_site(tmp_path, {"X-WP-TotalPages": "99999"},
                      {2: {"file": "more.json", "headers": JSON}, 3: {"file": "none.json", "headers": JSON}})
    result = demo_crawl(site, max_pages=3)
    assert page_urls(result) == ["1", "2", "3"] and len(result.items) == 11
    assert result.spider.errors == [
        "X-WP-TotalPages 99999 is more than max_pages 3: only the first 3 pages were crawled: "
        f"{DEMO}/wp-json/wp/v2/posts?per_page=10&page=1"]
    assert result.spider.crawler.stats.get_value("sgn/wp_pages_capped") == 1


@pytest.mark.parametrize("headers, stat", [({}, "sgn/wp_totalpages_missing"),
                                           ({"X-WP-TotalPages": "-1"}, "sgn/wp_totalpages_malformed"),
                                           ({"X-WP-TotalPages": "lots"}, "sgn/wp_totalpages_malformed")])
def test_missing_or_malformed_total_pages_follow_full_pages_until_wordpress_says_400(tmp_path, headers, stat):
    site = paged_site(tmp_path, headers, {2: {"status": 400, "file": "none.json", "headers": JSON}})
    result = demo_crawl(site)
    assert page_urls(result) == ["1", "2"] and len(result.items) == 10
    assert result.spider.errors == [] and result.spider.crawler.stats.get_value(stat) == 1


def test_following_full_pages_stops_at_max_pages_and_says_so(tmp_path):
    site = paged_site(tmp_path, {}, {})
    result = demo_crawl(site, max_pages=1)
    assert page_urls(result) == ["1"]
    assert result.spider.errors == [
        f"still full pages after max_pages 1: {DEMO}/wp-json/wp/v2/posts?per_page=10&page=1"]


# -- bad input ---------------------------------------------------------------------------------------------


def feed_site(tmp_path, entries, files):
    """wordpress.org/news with the real feed, plus ``entries`` (which may replace any of it)."""
    base = {f"{NEWS}/wp-json/": {"status": 404},
            f"{NEWS}/feed/": {"file": "feed.xml", "headers": {"Content-Type": "application/rss+xml"}},
            f"{NEWS}/feed/?paged=2": {"status": 404}}
    return make_site(tmp_path, {**base, **entries}, {"feed.xml": SITE / "wordpress.org/news/feed/index.xml",
                                                     **files})


def test_rest_index_that_is_not_json_is_recorded_and_the_feed_taken(tmp_path):
    site = feed_site(tmp_path, {f"{NEWS}/wp-json/": {"file": "index.json", "headers": JSON}},
                     {"index.json": "<!DOCTYPE html><html><body>Forbidden by a security plugin</body></html>"})
    result = crawl_offline(WpTestSpider, site, {"base_url": NEWS})
    assert result.spider.door == FEED and len(result.items) == 10
    assert len(result.spider.errors) == 1 and result.spider.errors[0].startswith("malformed JSON")


def test_rest_collection_that_is_not_json_is_recorded_and_the_feed_taken(tmp_path):
    site = feed_site(tmp_path, {
        f"{NEWS}/wp-json/": {"file": "index.json", "headers": JSON},
        f"{NEWS}/wp-json/wp/v2/types": {"file": "types.json", "headers": JSON},
        f"{NEWS}/wp-json/wp/v2/posts?per_page=100&page=1": {"file": "posts.json", "headers": JSON}},
        {"index.json": SITE / "demo.wp-api.org/wp-json/index.json",
         "types.json": SITE / "demo.wp-api.org/wp-json/types.json", "posts.json": '[{"id": 1, "title": '})
    result = crawl_offline(WpTestSpider, site, {"base_url": NEWS})
    assert result.spider.door == FEED and len(result.items) == 10
    assert len(result.spider.errors) == 1
    assert result.spider.errors[0].startswith("malformed JSON") and "/wp/v2/posts?per_page=100" in \
        result.spider.errors[0]


def test_rest_error_object_and_non_object_entries_are_recorded(tmp_path):
    site = paged_site(tmp_path, {"X-WP-TotalPages": "2"}, {2: {"file": "odd.json", "headers": JSON}})
    (site / "odd.json").write_text('["not a post", {"id": 401, "link": "https://demo.wp-api.org/x/", '
                                   '"title": {"rendered": "Fine"}}]')
    result = demo_crawl(site)
    assert len(result.items) == 11 and result.by_url("https://demo.wp-api.org/x/").title == "Fine"
    assert result.spider.errors == [f"REST entry is not an object: {DEMO}/wp-json/wp/v2/posts?per_page=10&page=2"]


def test_feed_that_is_not_xml_is_recorded_and_the_html_listings_taken(tmp_path):
    site = html_site(tmp_path, rest_status=404)
    manifest = json.loads((site / "manifest.json").read_text())
    manifest["https://example.org/feed/"] = {"file": "feed.xml", "headers": {"Content-Type": "application/rss+xml"}}
    (site / "feed.xml").write_text("<rss><channel><item><title>Cut off")
    (site / "manifest.json").write_text(json.dumps(manifest))
    result = crawl_offline(WpTestSpider, site, {"base_url": "https://example.org", "listings": ["/news/"]})
    assert result.spider.door == HTML and len(result.items) == 3
    assert len(result.spider.errors) == 1
    assert result.spider.errors[0].startswith("malformed feed (not XML") and "example.org/feed/" in \
        result.spider.errors[0]


def test_feed_page_that_is_not_xml_keeps_the_pages_before_it(tmp_path):
    site = feed_site(tmp_path, {f"{NEWS}/feed/?paged=2": {"file": "bad.xml"}}, {"bad.xml": "{}"})
    result = crawl_offline(WpTestSpider, site, {"base_url": NEWS})
    assert result.spider.door == FEED and len(result.items) == 10
    assert [e.split(" (")[0] for e in result.spider.errors] == ["malformed feed"]


def test_a_feed_that_ignores_paged_stops_at_the_first_repeated_page(tmp_path):
    site = feed_site(tmp_path, {f"{NEWS}/feed/?paged=2": {"file": "feed.xml"},
                                f"{NEWS}/feed/?paged=3": {"file": "feed.xml"}}, {})
    result = crawl_offline(WpTestSpider, site, {"base_url": NEWS})
    assert result.requested[-1] == f"{NEWS}/feed/?paged=2" and len(result.items) == 10
    assert result.spider.errors == []


def test_a_feed_switched_off_into_an_html_page_is_not_an_error(tmp_path):
    site = html_site(tmp_path, rest_status=404, feed_status=200)
    manifest = json.loads((site / "manifest.json").read_text())
    manifest["https://example.org/feed/"] = {"file": "listing.html"}
    (site / "manifest.json").write_text(json.dumps(manifest))
    result = crawl_offline(WpTestSpider, site, {"base_url": "https://example.org", "listings": ["/news/"]})
    assert result.spider.door == HTML and result.spider.errors == [] and len(result.items) == 3


def test_a_wanted_type_the_site_does_not_have_is_recorded(tmp_path):
    """A type missing from /wp-json/wp/v2/types is read through its feed, else the HTML listings; the door of
    each type is recorded, and a type no door reaches is an error."""
    result = demo_crawl(post_types=["post", "resource"])
    assert result.spider.door == f"{REST} (post); HTML listings (resource)" and len(result.items) == 10
    assert result.spider.type_doors == {"post": REST, "resource": "HTML listings"}
    assert result.requested[-1] == f"{DEMO}/feed/?post_type=resource"
    assert result.spider.errors == [f"post type 'resource' is not in the site's REST types, its feed is shut (HTTP "
                                    f"404) and no HTML listing is configured: {DEMO}/feed/?post_type=resource"]


def test_types_behind_a_login_fall_back_to_the_posts_collection(tmp_path):
    site = paged_site(tmp_path, {"X-WP-TotalPages": "1"}, {})
    manifest = json.loads((site / "manifest.json").read_text())
    manifest[f"{DEMO}/wp-json/wp/v2/types"] = {"status": 401}
    (site / "manifest.json").write_text(json.dumps(manifest))
    result = demo_crawl(site)
    assert result.spider.door == REST and len(result.items) == 10 and result.spider.errors == []


def test_a_server_error_on_the_rest_index_is_recorded_and_the_feed_taken(tmp_path):
    site = feed_site(tmp_path, {f"{NEWS}/wp-json/": {"status": 500}}, {})
    result = crawl_offline(WpTestSpider, site, {"base_url": NEWS})
    assert result.spider.door == FEED and len(result.items) == 10
    assert result.spider.errors == [f"HTTP 500: {NEWS}/wp-json/"]


def test_a_link_by_post_id_is_a_publication_link():
    """The real Panel site is reached as /?p=242 (its 2023 to 2024 annual report): such links are followed;
    other query strings (filters, searches) are not."""
    spider = WpTestSpider(options={"base_url": "https://example.org"})
    assert spider.is_detail("https://example.org/?p=242", "https://example.org/news/")
    assert not spider.is_detail("https://example.org/?s=report", "https://example.org/news/")
    assert not spider.is_detail("https://other.example/?p=242", "https://example.org/news/")
