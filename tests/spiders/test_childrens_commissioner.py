"""The Children's Commissioner spider on its recorded site (reconstructed from SOURCES.md 3): the REST API
by default (posts and the custom type `resource`), the feed and the HTML listings when the API is shut."""

import json
import re

import pytest

from pipeline.items.dates import parse_date
from pipeline.items.normalise import normalise
from spiders.childrens_commissioner import ChildrensCommissionerSpider
from tests.support import CONFIG, FIXTURES, REALDATA, crawl_offline, query, run_cli

SLUG = "childrens_commissioner"
SITE = FIXTURES / SLUG
WWW = "https://www.childrenscommissioner.gov.uk"
ASSETS = "https://assets.childrenscommissioner.gov.uk/wpuploads/"
ADVOCACY = f"{WWW}/resource/child-victims-access-to-advocacy/"
PRESS = (f"{WWW}/news-and-blogs/press-notice-most-headteachers-restrict-mobile-phones-in-school-hours-but-"
         "major-new-survey-shows-online-harms-still-among-their-biggest-concerns/")
STATEMENT = (f"{WWW}/news-and-blogs/statement-from-the-childrens-commissioner-on-the-child-safeguarding-"
             "practice-review-panels-annual-report/")
GOVUK_ANNUAL = ("https://www.gov.uk/government/publications/"
                "child-safeguarding-practice-review-panel-annual-report-2023-to-2024")
# the nine of SOURCES.md 3 and the eleven further real cards of ../shared/realdata/sites/childrens_commissioner
IDS = {"52204", "50118", "48731", "48412", "48290", "48105", "46877", "44390", "43652",
       "46850", "46790", "46745", "46630", "43720", "43701", "43610", "43480", "43390", "43300", "43150"}
SEND = f"{WWW}/resource/statement-from-the-childrens-commissioner-in-response-to-the-send-improvement-plan/"
REST_SHUT = {f"{WWW}/wp-json/": {"status": 401}}
FEED_SHUT = {f"{WWW}/feed/": {"status": 404}, f"{WWW}/feed/?post_type=resource": {"status": 404}}
DOORS = {"WordPress REST API": {}, "WordPress RSS feed": REST_SHUT, "HTML listings": {**REST_SHUT, **FEED_SHUT}}


def overlay(tmp_path, entries, files=None):
    """A second recorded site whose entries replace the fixture's (later manifests win)."""
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "manifest.json").write_text(json.dumps(entries), encoding="utf-8")
    return [SITE, tmp_path]


def options():
    import yaml

    return yaml.safe_load(CONFIG.read_text())["sources"][SLUG]["options"]


@pytest.fixture(scope="module")
def rest():
    return crawl_offline(ChildrensCommissionerSpider, SITE, options())


def test_rest_door_reads_posts_and_the_resource_type(rest):
    assert rest.spider.door == "WordPress REST API" and rest.spider.errors == []
    assert rest.requested == [f"{WWW}/wp-json/", f"{WWW}/wp-json/wp/v2/types",
                              f"{WWW}/wp-json/wp/v2/posts?per_page=100&page=1",
                              f"{WWW}/wp-json/wp/v2/resource?per_page=100&page=1"]
    assert {i.natural_key for i in rest.items} == IDS


def test_every_field_of_a_report(rest):
    item = rest.by_url(ADVOCACY)
    assert (item.source, item.natural_key, item.source_type, item.content_type) == (SLUG, "48731", "resource",
                                                                                    "report")
    assert item.title == "Child victims\u2019 access to advocacy"
    assert item.summary.startswith("How children who are victims of crime") and item.summary.endswith("[\u2026]")
    assert (item.published, item.updated) == ("2024-04-16T08:30:00+00:00", "2024-04-18T10:02:00+00:00")
    assert item.documents == [{"url": f"{ASSETS}2024/04/cc-child-victims-access-to-advocacy.pdf", "file_type": "PDF",
                               "title": "Child victims\u2019 access to advocacy", "size": "1.1 MB"}]
    assert (item.links, item.topics) == ([], [])
    pub = normalise(item, "keep")
    assert (pub.id, pub.url, pub.content_type) == (f"{SLUG}:48731", ADVOCACY, "report")
    assert (pub.published_at, pub.published_precision, pub.updated_at) == (
        "2024-04-16T08:30:00Z", "datetime", "2024-04-18T10:02:00Z")
    assert "full text of Child victims\u2019 access to advocacy" in pub.body_text


def test_titles_decide_press_notices_and_statements(rest):
    press, statement = rest.by_url(PRESS), rest.by_url(STATEMENT)
    assert (press.content_type, statement.content_type) == ("press_release", "news")
    # 00:01 on 19 April 2025 in London (BST) is 23:01 UTC the day before: date_gmt, not date, is UTC.
    assert normalise(press).published_at == "2025-04-18T23:01:00Z"
    assert statement.title.startswith("Statement from the Children\u2019s Commissioner")
    assert statement.links == [GOVUK_ANNUAL] and statement.documents == []


def test_invariants_over_every_item(rest):
    pubs = rest.publications("keep")
    assert len(pubs) == 20
    for pub in pubs:
        assert pub.title and pub.url.startswith(WWW + "/") and pub.url.endswith("/")
        assert pub.id.split(":")[1].isdigit() and pub.published_precision == "datetime"
        assert pub.content_type in {"report", "press_release", "news"}
        if "/resource/" in pub.url and pub.url != SEND:  # a real statement under /resource/: news by its title
            assert pub.content_type == "report" and pub.documents
            assert all(d.url.startswith(ASSETS) and d.file_type == "PDF" for d in pub.documents)
    assert sorted(p.content_type for p in pubs).count("report") == 17
    assert {p.url: p.content_type for p in pubs}[SEND] == "news"


def test_a_second_document_keeps_its_own_title_and_size(rest):
    docs = rest.by_url(f"{WWW}/resource/the-big-ambition-ambitions-findings-and-solutions/").documents
    assert [(d["title"], d["size"]) for d in docs] == [
        ("The Big Ambition: Ambitions, Findings and Solutions", ""), ("Easy read version", "2.4 MB")]


@pytest.mark.parametrize("door", DOORS)
def test_each_door_finds_the_same_publications_under_the_same_ids(tmp_path, door):
    result = crawl_offline(ChildrensCommissionerSpider, overlay(tmp_path, DOORS[door]), options())
    assert result.spider.door == door and result.spider.errors == []
    pubs = {p.id.split(":")[1]: p for p in result.publications("keep")}
    assert set(pubs) == IDS
    assert pubs["52204"].content_type == "press_release" and pubs["50118"].content_type == "news"
    assert pubs["48731"].content_type == "report" and pubs["48731"].documents[0].size == "1.1 MB"


def test_feed_door_reads_the_resource_feed_too(tmp_path):
    result = crawl_offline(ChildrensCommissionerSpider, overlay(tmp_path, REST_SHUT), options())
    assert result.requested == [f"{WWW}/wp-json/", f"{WWW}/feed/", f"{WWW}/feed/?post_type=resource",
                                f"{WWW}/feed/?paged=2", f"{WWW}/feed/?post_type=resource&paged=2"]
    press = result.by_url(PRESS)
    assert (press.published, press.topics, press.source_type) == ("Fri, 18 Apr 2025 23:01:00 +0000", ["News"], "post")


def test_html_door_reads_listing_cards_dated_16_april_2024(tmp_path):
    result = crawl_offline(ChildrensCommissionerSpider, overlay(tmp_path, DOORS["HTML listings"]), options())
    listings = [u for u in result.requested if u.endswith(("/resource/", "/news-and-blogs/")) or "/page/" in u]
    assert listings == [f"{WWW}/resource/", f"{WWW}/news-and-blogs/", f"{WWW}/resource/page/2/",
                        f"{WWW}/resource/page/3/"]
    assert not [u for u in result.requested if "?" in u and "/wp-json/" not in u and "/feed/" not in u]
    item = result.by_url(ADVOCACY)
    assert (item.published, item.source_type, item.natural_key) == ("16 April 2024", "Report", "48731")
    # the real unfiltered /resource/page/3/ shows its cards without a type label: the type comes from the path
    page3 = {p.url: p for p in result.publications("keep")}[f"{WWW}/resource/attendance-is-everyones-business/"]
    assert (page3.title, page3.published_at, page3.content_type, page3.source_type) == (
        "Attendance is everyone\u2019s business", "2023-02-20", "report", "")
    assert item.summary.startswith("How children who are victims of crime")
    pubs = {p.url: p for p in result.publications("keep")}
    assert (pubs[ADVOCACY].published_at, pubs[ADVOCACY].published_precision) == ("2024-04-16", "day")
    assert pubs[f"{WWW}/resource/strip-search-of-children-in-england-and-wales/"].published_at == "2023-03-27"
    assert pubs[PRESS].published_at == "2025-04-19" and pubs[PRESS].source_type == ""


def test_the_archive_listing_under_resource_is_never_stored(tmp_path):
    """/resource/archive/ matches the publication path but is a listing (real heading 'Archive'): the page
    itself says so, and it is recorded as skipped, never stored."""
    result = crawl_offline(ChildrensCommissionerSpider, overlay(tmp_path, DOORS["HTML listings"]), options())
    archive = f"{WWW}/resource/archive/"
    assert archive in result.requested
    assert archive not in {i.url for i in result.items} and "Archive" not in {i.title for i in result.items}
    assert any(s.startswith("a listing page, not a publication") and s.endswith(archive)
               for s in result.spider.skipped)
    assert result.spider.crawler.stats.get_value("sgn/wp_listing_pages_not_stored") == 1


@pytest.mark.parametrize("marks", ["", ' class="archive"'])
def test_a_listing_is_known_by_its_cards_or_its_body_class_not_its_slug(marks):
    """Decided by the page: a page of several publication cards, or marked archive by WordPress."""
    from tests.support import fake_response
    spider = ChildrensCommissionerSpider(options=options())
    cards = "".join(f'<article><h3><a href="{WWW}/resource/r{n}/">R{n}</a></h3><p>1 May 2020</p></article>'
                    for n in range(3 if not marks else 1))
    url = f"{WWW}/resource/some-topic/"
    html = f"<html><body{marks}><main><h1>Some topic</h1>{cards}</main></body></html>"
    assert list(spider.parse_detail(fake_response(url, html), {})) == []
    assert spider.skipped[0].startswith("a listing page, not a publication")
    one = f"<html><body><main><article><h1>A report</h1><p>1 May 2020</p>{cards[:0]}</article></main></body></html>"
    assert [i.title for i in spider.parse_detail(fake_response(f"{WWW}/resource/a-report/", one), {})] == ["A report"]


def test_a_type_missing_from_the_rest_types_is_read_from_its_feed(tmp_path):
    """/wp-json/wp/v2/types without `resource`: posts through the API, resources through their feed; the door of
    each type is recorded and nothing is an error."""
    types = json.loads((SITE / "www.childrenscommissioner.gov.uk/wp-json/wp/v2/types.json").read_text("utf-8"))
    types.pop("resource")
    site = overlay(tmp_path, {f"{WWW}/wp-json/wp/v2/types": {"file": "types.json", "headers": {
        "Content-Type": "application/json"}}}, {"types.json": json.dumps(types)})
    result = crawl_offline(ChildrensCommissionerSpider, site, options())
    assert result.spider.type_doors == {"post": "WordPress REST API", "resource": "WordPress RSS feed"}
    assert result.spider.door == "WordPress REST API (post); WordPress RSS feed (resource)"
    assert f"{WWW}/wp-json/wp/v2/resource?per_page=100&page=1" not in result.requested
    assert result.spider.errors == [] and ADVOCACY in {i.url for i in result.items}


def test_a_collection_shut_while_the_api_works_is_recorded(tmp_path):
    shut = {f"{WWW}/wp-json/wp/v2/resource?per_page=100&page=1": {"status": 403}}
    result = crawl_offline(ChildrensCommissionerSpider, overlay(tmp_path, shut), options())
    assert result.spider.door == "WordPress REST API" and len(result.items) == 2  # the two posts
    assert result.spider.errors == [f"HTTP 403: {WWW}/wp-json/wp/v2/resource?per_page=100&page=1"]


@pytest.mark.parametrize("title, path, expected", [
    ("Press notice: Children's Commissioner responds", "/news-and-blogs/x/", "press_release"),
    ("PRESS NOTICE - embargoed", "/news/x/", "press_release"),
    ("Statement on the Online Safety Act", "/statement/x/", "news"),
    ("A report", "/resource/x/", "report"),
    ("An old report", "/publication/x/", "report"),
    ("Why children need a voice", "/blog/x/", "blog"),
    ("Why children need a voice", "/news-and-blogs/x/", "news"),
    ("Statements of special educational needs explained", "/resource/x/", "report"),
])
def test_content_type_rules(title, path, expected):
    assert ChildrensCommissionerSpider._content_type(title, WWW + path) == expected


# -- end to end --------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_crawl_stores_dated_typed_publications_with_their_pdfs(tmp_path):
    db = tmp_path / "x.db"
    result = run_cli("crawl", "--source", SLUG, "--replay", str(SITE), "--db", str(db), "--config", str(CONFIG))
    assert result.exit_code == 0, result.output
    run = query(db, "select * from runs")[0]
    assert (run["status"], run["items"], run["new"], run["errors"], run["invalid"]) == ("ok", 20, 20, 0, 0)
    assert run["door"] == "WordPress REST API"
    rows = {r["id"]: r for r in query(db, "select * from publications")}
    assert len(rows) == 20 and all(r["published_at"] and r["title"] for r in rows.values())
    report = rows[f"{SLUG}:48731"]
    assert (report["content_type"], report["published_at"], report["url"]) == ("report", "2024-04-16T08:30:00Z",
                                                                               ADVOCACY)
    assert json.loads(report["documents"]) == [{"title": "Child victims\u2019 access to advocacy", "url":
                                                f"{ASSETS}2024/04/cc-child-victims-access-to-advocacy.pdf",
                                                "file_type": "PDF", "size": "1.1 MB"}]
    assert rows[f"{SLUG}:52204"]["content_type"] == "press_release"
    assert json.loads(rows[f"{SLUG}:50118"]["links"]) == [GOVUK_ANNUAL]


@pytest.mark.e2e
def test_crawl_with_bad_input_records_it_and_stores_the_rest(tmp_path):
    """A post with an empty title (as in the real demo.wp-api.org sample) and a resource page that is not
    JSON: one invalid item, one error, the other posts stored, the run partial."""
    posts = json.loads((SITE / "www.childrenscommissioner.gov.uk/wp-json/wp/v2/posts.json").read_text())
    posts.append({**posts[0], "id": 52999, "title": {"rendered": ""}, "link": f"{WWW}/news-and-blogs/untitled/"})
    sites = overlay(tmp_path, {
        f"{WWW}/wp-json/wp/v2/posts?per_page=100&page=1": {"file": "posts.json", "headers": {
            "Content-Type": "application/json", "X-WP-TotalPages": "1"}},
        f"{WWW}/wp-json/wp/v2/resource?per_page=100&page=1": {"file": "resource.json", "headers": {
            "Content-Type": "application/json", "X-WP-TotalPages": "1"}}},
        {"posts.json": json.dumps(posts), "resource.json": "<html><body>Error establishing a database "
                                                             "connection</body></html>"})
    db = tmp_path / "x.db"
    result = run_cli("crawl", "--source", SLUG, "--replay", str(sites[0]), "--replay", str(sites[1]),
                     "--db", str(db), "--config", str(CONFIG))
    assert result.exit_code == 1
    run = query(db, "select * from runs")[0]
    assert (run["status"], run["items"], run["invalid"], run["errors"]) == ("partial", 2, 1, 1)
    assert "malformed JSON" in run["message"] and f"no title at {WWW}/news-and-blogs/untitled/" in run["message"]
    assert {r["id"] for r in query(db, "select id from publications")} == {f"{SLUG}:52204", f"{SLUG}:50118"}


def test_every_real_listing_card_is_crawled_with_its_real_title_and_day(tmp_path):
    """Each card of the three real listing pages (../shared/realdata/sites/childrens_commissioner: a title,
    then its date) is a publication of the HTML door with that title, exactly, and that day."""
    cards = {}
    for path in sorted((REALDATA / "sites" / SLUG).glob("listing-*.txt")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for title, shown in zip(lines, lines[1:], strict=False):
            if re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}", shown):
                cards[title] = shown
    assert len(cards) == 13  # 15 cards, two of them on both page 3s
    result = crawl_offline(ChildrensCommissionerSpider, overlay(tmp_path, DOORS["HTML listings"]), options())
    pubs = {p.title: p for p in result.publications("keep")}
    for title, shown in cards.items():
        assert title in pubs, f"{title!r} not crawled"
        assert (pubs[title].published_at, pubs[title].published_precision) == (parse_date(shown).iso, "day")
