"""Incremental crawling of NSPCC Learning and the WordPress family (the Commissioner, the Panel's site, the
base class): between full walks a crawl fetches only what is new or newer at the source, and stops paging
where a page holds nothing to fetch.

Parser-level tests drive the spiders offline with ``known`` (what a first crawl stored: URL → latest date)
and ``full_walk=False``; end-to-end tests crawl a recorded site twice into one database with
``crawl.full_walk_days: 7`` (the second crawl is then incremental) and once more after a change.
"""

import json

import pytest
import yaml

from pipeline.config import load_config
from pipeline.items.dates import parse_date
from pipeline.ops import runner
from pipeline.replay import ReplayServer
from spiders.childrens_commissioner import ChildrensCommissionerSpider
from spiders.csprp_panel_site import CsprpPanelSiteSpider
from spiders.nspcc_learning import NspccLearningSpider
from tests.support import CONFIG, FIXTURES, crawl_offline, fake_response, query, run_cli

from .test_wordpress_base import NEWS, WpTestSpider, make_site

NSPCC = FIXTURES / "nspcc_learning"
NSPCC_SITEMAP = NSPCC / "sitemap"
CC_SITE = FIXTURES / "childrens_commissioner"
PANEL_SITE = FIXTURES / "csprp_panel_site"
BASE = "https://learning.nspcc.org.uk"
WWW = "https://www.childrenscommissioner.gov.uk"
PANEL = "https://childsafeguarding.independent-panel.uk"
FOUR_CS = f"{BASE}/news/2023/september/4-cs-of-online-safety"
ANNUAL = f"{BASE}/research-resources/2025/summary-child-safeguarding-practice-review-panel-csprp-annual-report-2023-24"
NOT_STORED = [  # listed by the recorded NSPCC site but never stored: a 404, a cut-off page, a page without date
    f"{BASE}/news/2025/february/safer-recruitment-checklist-updated",
    f"{BASE}/news/2023/november/neglect-learning-from-case-reviews",
    f"{BASE}/news/covid/returning-to-school-safeguarding-considerations/",
]
ADVOCACY = f"{WWW}/resource/child-victims-access-to-advocacy/"
PRESS = (f"{WWW}/news-and-blogs/press-notice-most-headteachers-restrict-mobile-phones-in-school-hours-but-"
         "major-new-survey-shows-online-harms-still-among-their-biggest-concerns/")
PANEL_ANNUAL = f"{PANEL}/?p=242"  # the real annual report page, reached by its id
PANEL_FIRST = [f"{PANEL}/{p}" for p in ("wp-json/", "feed/", "wp-sitemap.xml", "", "learning-hub/", "publications/",
                                        "news/", "about/")]
JSON = {"Content-Type": "application/json; charset=UTF-8"}


def options(slug):
    return dict(load_config(CONFIG).source(slug).options)


def full_then_known(spider_cls, site, opts):
    """A first (full) offline crawl, and what it would leave in the database: URL → latest date."""
    first = crawl_offline(spider_cls, site, opts)
    return first, {p.url: p.updated_at or p.published_at for p in first.publications()}


def incremental(spider_cls, site, opts, known):
    return crawl_offline(spider_cls, site, opts, spider_kwargs={"known": known, "full_walk": False})


# -- NSPCC Learning: listings ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nspcc_first():
    return full_then_known(NspccLearningSpider, NSPCC, options("nspcc_learning"))


def test_nspcc_incremental_listing_walk_fetches_no_stored_article(nspcc_first):
    first, known = nspcc_first
    assert len(known) == 18
    again = incremental(NspccLearningSpider, NSPCC, options("nspcc_learning"), known)
    assert not set(again.requested) & set(known), "a stored article was fetched again"
    assert again.items == [] and sorted(again.spider.run_log.unchanged) == sorted(known)
    # what is listed but was never stored is tried again; page 1 lists one of those, so the walk goes on
    assert again.requested == [f"{BASE}/sitemap.xml", f"{BASE}/news", f"{BASE}/research-resources",
                               NOT_STORED[0], f"{BASE}/news?page=2", *NOT_STORED[1:], f"{BASE}/news?page=3"]
    assert len(first.requested) == 26
    # the briefings listing holds only stored articles: its walk stops there
    assert again.spider.crawler.stats.get_value("sgn/listing_walk_stopped") == 1


def test_nspcc_listing_walk_stops_at_the_first_page_of_stored_articles(nspcc_first):
    _, known = nspcc_first
    again = incremental(NspccLearningSpider, NSPCC, options("nspcc_learning"), {**known, NOT_STORED[0]: ""})
    assert again.requested == [f"{BASE}/sitemap.xml", f"{BASE}/news", f"{BASE}/research-resources"]
    assert again.spider.crawler.stats.get_value("sgn/listing_walk_stopped") == 2
    assert len(again.spider.run_log.unchanged) == 14 and again.items == []


def test_nspcc_full_walk_fetches_everything_whatever_is_known(nspcc_first):
    first, known = nspcc_first
    again = crawl_offline(NspccLearningSpider, NSPCC, options("nspcc_learning"),
                          spider_kwargs={"known": known, "full_walk": True})
    assert again.requested == first.requested and len(again.items) == 18 and again.spider.run_log.unchanged == []


# -- NSPCC Learning: the sitemap ---------------------------------------------------------------------------


def test_nspcc_sitemap_door_fetches_only_entries_newer_than_stored():
    _, known = full_then_known(NspccLearningSpider, NSPCC_SITEMAP, options("nspcc_learning"))
    assert len(known) == 7 and known[FOUR_CS] == "2023-09-18"
    same = incremental(NspccLearningSpider, NSPCC_SITEMAP, options("nspcc_learning"), known)
    assert same.requested == [f"{BASE}/sitemap.xml"] and same.items == [] and len(same.spider.run_log.unchanged) == 7
    older = {**known, FOUR_CS: "2023-09-17"}  # lastmod 2023-09-18 is newer than this
    del older[ANNUAL]  # not stored yet
    changed = incremental(NspccLearningSpider, NSPCC_SITEMAP, options("nspcc_learning"), older)
    assert changed.requested == [f"{BASE}/sitemap.xml", FOUR_CS, ANNUAL]
    assert sorted(i.url for i in changed.items) == sorted([FOUR_CS, ANNUAL])
    assert FOUR_CS not in changed.spider.run_log.unchanged and len(changed.spider.run_log.unchanged) == 5


def test_nspcc_sitemap_entry_without_lastmod_is_not_fetched_when_stored():
    body = (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{FOUR_CS}</loc></url><url><loc>{ANNUAL}</loc></url></urlset>")
    spider = NspccLearningSpider(options=options("nspcc_learning"), known={FOUR_CS: "2023-09"}, full_walk=False)
    out = list(spider.parse_sitemap(fake_response(f"{BASE}/sitemap.xml", body, 200,
                                                  {"Content-Type": "application/xml"})))
    assert [r.url for r in out] == [ANNUAL] and spider.run_log.unchanged == [FOUR_CS]


# -- WordPress: the REST API -------------------------------------------------------------------------------


def paged_commissioner(tmp_path, resources=None):
    """The Commissioner's REST API with four resources a page (two pages); ``resources`` replaces them."""
    base = CC_SITE / "www.childrenscommissioner.gov.uk/wp-json"
    posts = json.loads((base / "wp/v2/posts.json").read_text(encoding="utf-8"))
    resources = resources or json.loads((base / "wp/v2/resource.json").read_text(encoding="utf-8"))
    api = f"{WWW}/wp-json/wp/v2"
    return make_site(tmp_path, {
        f"{WWW}/wp-json/": {"file": "index.json", "headers": JSON},
        f"{WWW}/wp-json/wp/v2/types": {"file": "types.json", "headers": JSON},
        f"{api}/posts?per_page=4&page=1": {"file": "posts.json", "headers": {**JSON, "X-WP-TotalPages": "1"}},
        f"{api}/resource?per_page=4&page=1": {"file": "r1.json", "headers": {**JSON, "X-WP-TotalPages": "2"}},
        f"{api}/resource?per_page=4&page=2": {"file": "r2.json", "headers": {**JSON, "X-WP-TotalPages": "2"}},
    }, {"index.json": base / "index.json", "types.json": base / "wp/v2/types.json",
        "posts.json": json.dumps(posts), "r1.json": json.dumps(resources[:4]), "r2.json": json.dumps(resources[4:])})


def resource_pages(result):
    return [u.rsplit("=", 1)[-1] for u in result.requested if "/resource?" in u]


def test_wordpress_rest_passes_over_posts_not_newer_and_stops_paging(tmp_path):
    site = paged_commissioner(tmp_path)
    first, known = full_then_known(ChildrensCommissionerSpider, site, {"per_page": 4})
    assert resource_pages(first) == ["1", "2"] and len(known) == 20
    again = incremental(ChildrensCommissionerSpider, site, {"per_page": 4}, known)
    assert resource_pages(again) == ["1"], "page 1 held nothing newer: page 2 is not fetched"
    assert again.items == [] and len(again.spider.run_log.unchanged) == 6  # two posts, four resources
    assert again.spider.crawler.stats.get_value("sgn/wp_walk_stopped") == 2
    assert again.spider.errors == []


def test_wordpress_rest_yields_a_post_whose_modified_gmt_moved_and_pages_on(tmp_path):
    base = CC_SITE / "www.childrenscommissioner.gov.uk/wp-json/wp/v2/resource.json"
    resources = json.loads(base.read_text(encoding="utf-8"))
    _, known = full_then_known(ChildrensCommissionerSpider, paged_commissioner(tmp_path / "a"), {"per_page": 4})
    assert known[ADVOCACY] == "2024-04-18T10:02:00Z"
    resources[0]["modified_gmt"] = "2024-04-18T10:02:01"
    resources[0]["title"]["rendered"] = "Child victims\u2019 access to advocacy (corrected)"
    site = paged_commissioner(tmp_path / "b", resources)
    again = incremental(ChildrensCommissionerSpider, site, {"per_page": 4}, known)
    assert [i.url for i in again.items] == [ADVOCACY] and again.items[0].title.endswith("(corrected)")
    assert resource_pages(again) == ["1", "2"]  # page 1 had something new; page 2 had not: the walk ends
    assert len(again.spider.run_log.unchanged) == 19 and ADVOCACY not in again.spider.run_log.unchanged


def test_wordpress_rest_incremental_paging_is_capped_only_where_it_reaches_max_pages(tmp_path):
    site = paged_commissioner(tmp_path)
    _, known = full_then_known(ChildrensCommissionerSpider, site, {"per_page": 4})
    quiet = incremental(ChildrensCommissionerSpider, site, {"per_page": 4, "max_pages": 1}, known)
    assert quiet.spider.errors == [], "the walk ended on page 1: max_pages was never in the way"
    busy = incremental(ChildrensCommissionerSpider, site, {"per_page": 4, "max_pages": 1},
                       {**known, ADVOCACY: "2024-04-01"})
    assert resource_pages(busy) == ["1"] and [i.url for i in busy.items] == [ADVOCACY]
    assert busy.spider.errors == [f"X-WP-TotalPages 2 is more than max_pages 1: only the first 1 pages were "
                                  f"crawled: {WWW}/wp-json/wp/v2/resource?per_page=4&page=1"]


def test_wordpress_rest_full_walk_fans_out_every_page_and_yields_everything(tmp_path):
    site = paged_commissioner(tmp_path)
    first, known = full_then_known(ChildrensCommissionerSpider, site, {"per_page": 4})
    again = crawl_offline(ChildrensCommissionerSpider, site, {"per_page": 4},
                          spider_kwargs={"known": known, "full_walk": True})
    assert again.requested == first.requested and len(again.items) == 20 and again.spider.run_log.unchanged == []


# -- WordPress: the feed -----------------------------------------------------------------------------------


def test_wordpress_feed_passes_over_items_not_newer_and_stops_paging():
    site = FIXTURES / "_wordpress"
    first, known = full_then_known(WpTestSpider, site, {"base_url": NEWS})
    assert first.requested[-1] == f"{NEWS}/feed/?paged=2" and len(known) == 10
    again = incremental(WpTestSpider, site, {"base_url": NEWS}, known)
    assert again.requested == [f"{NEWS}/wp-json/", f"{NEWS}/feed/"] and again.items == []
    assert len(again.spider.run_log.unchanged) == 10
    learn = "https://wordpress.org/news/2020/12/introducing-learn-wordpress/"
    older = incremental(WpTestSpider, site, {"base_url": NEWS}, {**known, learn: "2020-12-14T00:00:00Z"})
    assert [i.url for i in older.items] == [learn] and older.requested[-1] == f"{NEWS}/feed/?paged=2"


# -- WordPress: HTML listings --------------------------------------------------------------------------------


def test_wordpress_html_listings_fetch_no_stored_page_and_stop_at_page_one():
    _, known = full_then_known(CsprpPanelSiteSpider, PANEL_SITE, options("csprp_panel_site"))
    assert len(known) == 9
    again = incremental(CsprpPanelSiteSpider, PANEL_SITE, options("csprp_panel_site"), known)
    assert again.requested == PANEL_FIRST  # the listings are found again (sitemap, navigation) on each run
    assert again.items == [] and len(again.spider.run_log.unchanged) == 7  # the cards of the two first pages


def test_wordpress_html_listing_card_dated_after_the_stored_date_is_fetched():
    _, known = full_then_known(CsprpPanelSiteSpider, PANEL_SITE, options("csprp_panel_site"))
    assert known[PANEL_ANNUAL] == "2024-02-02"  # its card says "2 February 2024"
    again = incremental(CsprpPanelSiteSpider, PANEL_SITE, options("csprp_panel_site"),
                        {**known, PANEL_ANNUAL: "2024-02-01"})
    assert [i.url for i in again.items] == [PANEL_ANNUAL]
    # page 1 had something to fetch, so page 2 is read; it has not, so the walk ends there
    assert again.requested == [*PANEL_FIRST, PANEL_ANNUAL, f"{PANEL}/publications/page/2/"]
    assert len(again.spider.run_log.unchanged) == 8


# What a crawl through the HTML door leaves in skipped_pages for the archive listing (the server's Date for it;
# remembering it is tested end to end by test_commissioner_archive_listing_is_not_downloaded_again_...)
ARCHIVE_SKIPPED = {f"{WWW}/resource/archive/": "2026-12-01T09:00:00Z"}


def test_commissioner_html_cards_are_compared_by_uk_day_with_what_the_api_stored():
    """Stored from the REST API in UTC, the press notice of 00:01 BST on 19 April 2025 is 18 April at
    23:01; its card says "19 April 2025", which is not newer."""
    html = {**options("childrens_commissioner"), "doors": ["html"]}
    _, known = full_then_known(ChildrensCommissionerSpider, CC_SITE, options("childrens_commissioner"))
    assert known[PRESS] == "2025-04-18T23:01:00Z"
    again = incremental(ChildrensCommissionerSpider, CC_SITE, html, {**known, **ARCHIVE_SKIPPED})
    # nothing newer on page 1, the archive link (a remembered listing) not downloaded again: the walk ends there
    assert again.requested == [f"{WWW}/resource/", f"{WWW}/news-and-blogs/"]
    assert again.items == [] and PRESS in again.spider.run_log.unchanged


def test_commissioner_incremental_listing_walk_goes_one_page_at_a_time():
    """Page 1 links pages 2 and 3; with something new on page 1 only page 2 is read, and as it holds
    nothing new the walk ends before page 3."""
    html = {**options("childrens_commissioner"), "doors": ["html"]}
    _, known = full_then_known(ChildrensCommissionerSpider, CC_SITE, html)
    again = incremental(ChildrensCommissionerSpider, CC_SITE, html, {**known, **ARCHIVE_SKIPPED,
                                                                     ADVOCACY: "2024-04-15"})
    assert [i.url for i in again.items] == [ADVOCACY]
    assert again.requested == [f"{WWW}/resource/", f"{WWW}/news-and-blogs/", ADVOCACY, f"{WWW}/resource/page/2/"]


@pytest.mark.parametrize("stored, card, newer", [
    ("2025-04-18T23:01:00Z", "19 April 2025", False),   # BST: the UK day is the 19th
    ("2025-04-18T23:01:00Z", "20 April 2025", True),
    ("2024-01-18T23:01:00Z", "19 January 2024", True),  # GMT: the UK day is the 18th
    ("2024-04", "19 April 2024", False),                # a month stored: compared at month precision
    ("2024-04-19", "19 April 2024", False),
    ("2024-04-19", "20 April 2024", True),
    ("", "19 April 2024", True),
])
def test_wordpress_card_day_against_the_stored_date(stored, card, newer):
    spider = WpTestSpider(options={"base_url": "https://example.org"}, known={"https://example.org/news/a/": stored},
                          full_walk=False)
    assert spider.newer_day("https://example.org/news/a/", parse_date(card).iso) is newer


def test_wordpress_card_without_a_date_is_enough_when_stored_but_not_on_a_full_walk():
    url = "https://example.org/news/a/"
    incremental_spider = WpTestSpider(options={"base_url": "https://example.org"}, known={url: "2024-04-19"},
                                      full_walk=False)
    assert incremental_spider.skip_unchanged(url, "", listed=True) is True
    assert incremental_spider.skip_unchanged(url, "", listed=True) is True
    assert incremental_spider.run_log.unchanged == [url], "recorded once"
    assert incremental_spider.skip_unchanged(url, "") is False, "a REST or feed entry without a date is read"
    full = WpTestSpider(options={"base_url": "https://example.org"}, known={url: "2024-04-19"})
    assert full.skip_unchanged(url, "", listed=True) is False and full.run_log.unchanged == []


# -- end to end ------------------------------------------------------------------------------------------------


@pytest.fixture
def servers(monkeypatch):
    """The replay server of each crawl, to read which URLs it was asked for (``hits``)."""
    started: list[ReplayServer] = []

    class Recording(ReplayServer):
        def start(self):
            started.append(self)
            return super().start()

    monkeypatch.setattr(runner, "ReplayServer", Recording)
    return started


def weekly_config(tmp_path):
    config = yaml.safe_load(CONFIG.read_text())
    config["crawl"]["full_walk_days"] = 7
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return str(tmp_path / "config.yaml")


def asked(server):
    """What the crawl downloaded (robots.txt aside)."""
    return [h.url for h in server.hits if not h.url.endswith("/robots.txt")]


def crawl(slug, db, config, *sites):
    replay = [arg for site in sites for arg in ("--replay", str(site))]
    result = run_cli("crawl", "--source", slug, *replay, "--db", str(db), "--config", config)
    run = query(db, "select * from runs order by id desc limit 1")[0]
    assert run["status"] in ("ok", "partial"), result.output
    return run


def overlay(folder, entries, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps(entries), encoding="utf-8")
    return folder


@pytest.mark.e2e
def test_nspcc_crawl_twice_downloads_no_stored_article_again(tmp_path, servers):
    db, config = tmp_path / "x.db", weekly_config(tmp_path)
    first = crawl("nspcc_learning", db, config, NSPCC)
    second = crawl("nspcc_learning", db, config, NSPCC)
    assert (first["new"], first["pages"], json.loads(first["stats"])["sgn/full_walk"]) == (18, 26, 1)
    assert (second["new"], second["updated"], second["unchanged"]) == (0, 0, 18)
    assert json.loads(second["stats"])["sgn/full_walk"] == 0
    stored = {r["url"] for r in query(db, "select url from publications")}
    assert len(stored) == 18 and not stored & set(asked(servers[1])), "a stored article was downloaded again"
    assert second["pages"] == 8 == len(asked(servers[1]))  # sitemap probe, 4 listing pages, 3 never stored
    assert query(db, "select count(*) n from publication_versions")[0]["n"] == 0


@pytest.mark.e2e
def test_nspcc_sitemap_lastmod_moving_brings_the_changed_article(tmp_path, servers):
    db, config = tmp_path / "x.db", weekly_config(tmp_path)
    assert crawl("nspcc_learning", db, config, NSPCC_SITEMAP)["new"] == 7
    second = crawl("nspcc_learning", db, config, NSPCC_SITEMAP)
    assert (second["new"], second["updated"], second["unchanged"], second["pages"]) == (0, 0, 7, 1)
    assert asked(servers[1]) == [f"{BASE}/sitemap.xml"]
    sitemap = (NSPCC_SITEMAP / "sitemap.xml").read_text(encoding="utf-8")
    article = (NSPCC / "learning.nspcc.org.uk/news/2023/september/4-cs-of-online-safety.html").read_text("utf-8")
    assert sitemap.count("<lastmod>2023-09-18</lastmod>") == 1 and article.count("Commerce: the risks") == 1
    changed = overlay(tmp_path / "changed", {
        f"{BASE}/sitemap.xml": {"file": "sitemap.xml", "headers": {"Content-Type": "application/xml"}},
        FOUR_CS: {"file": "4cs.html"},
    }, {"sitemap.xml": sitemap.replace("<lastmod>2023-09-18</lastmod>", "<lastmod>2025-10-02</lastmod>"),
        "4cs.html": article.replace("Commerce: the risks", "Commerce: the financial risks")})
    third = crawl("nspcc_learning", db, config, NSPCC_SITEMAP, changed)
    assert (third["new"], third["updated"], third["unchanged"], third["pages"]) == (0, 1, 6, 2)
    assert asked(servers[2]) == [f"{BASE}/sitemap.xml", FOUR_CS]
    row = query(db, "select * from publications where url = ?", (FOUR_CS,))[0]
    assert (row["version"], row["updated_at"]) == (2, "2025-10-02") and "financial risks" in row["body_text"]


@pytest.mark.e2e
def test_commissioner_crawl_twice_then_modified_gmt_moves(tmp_path, servers):
    db, config = tmp_path / "x.db", weekly_config(tmp_path)
    first = crawl("childrens_commissioner", db, config, CC_SITE)
    second = crawl("childrens_commissioner", db, config, CC_SITE)
    assert (first["new"], first["pages"]) == (20, 4)
    # the REST collections are the only pages either way: nothing is parsed into an item the second time
    assert (second["items"], second["new"], second["updated"], second["unchanged"], second["pages"]) == (0, 0, 0, 20, 4)
    assert query(db, "select count(*) n from publication_versions")[0]["n"] == 0
    resources = json.loads((CC_SITE / "www.childrenscommissioner.gov.uk/wp-json/wp/v2/resource.json")
                           .read_text(encoding="utf-8"))
    assert resources[0]["link"] == ADVOCACY
    resources[0]["modified_gmt"] = "2025-01-10T09:00:00"
    resources[0]["excerpt"]["rendered"] = "<p>A corrected summary.</p>"
    changed = overlay(tmp_path / "changed", {f"{WWW}/wp-json/wp/v2/resource?per_page=100&page=1": {
        "file": "resource.json", "headers": {**JSON, "X-WP-Total": "18", "X-WP-TotalPages": "1"}}},
        {"resource.json": json.dumps(resources)})
    third = crawl("childrens_commissioner", db, config, CC_SITE, changed)
    assert (third["new"], third["updated"], third["unchanged"]) == (0, 1, 19)
    row = query(db, "select * from publications where url = ?", (ADVOCACY,))[0]
    assert (row["version"], row["summary"], row["updated_at"]) == (2, "A corrected summary.", "2025-01-10T09:00:00Z")


@pytest.mark.e2e
def test_commissioner_archive_listing_is_not_downloaded_again_by_an_incremental_crawl(tmp_path, servers):
    """The HTML door meets /resource/archive/ (a listing linked like a publication) on every walk: the first
    crawl fetches it, finds it is a listing and remembers it (skipped_pages, with the server's date for it);
    the next, incremental, crawl over the same recorded site does not download it again, and with nothing
    newer on page 1 its walk ends there."""
    shut = overlay(tmp_path / "shut", {f"{WWW}/wp-json/": {"status": 401}, f"{WWW}/feed/": {"status": 404},
                                       f"{WWW}/feed/?post_type=resource": {"status": 404}}, {})
    db, config = tmp_path / "x.db", weekly_config(tmp_path)
    archive = f"{WWW}/resource/archive/"
    first = crawl("childrens_commissioner", db, config, CC_SITE, shut)
    assert (first["door"], first["new"], first["errors"]) == ("HTML listings", 20, 0)
    assert archive in asked(servers[0])
    row = query(db, "select * from skipped_pages where url = ?", (archive,))[0]
    assert row["reason"].startswith("a listing page, not a publication") and row["source_date"]
    second = crawl("childrens_commissioner", db, config, CC_SITE, shut)
    assert json.loads(second["stats"]).get("sgn/full_walk") != 1
    assert archive not in asked(servers[1]), "the remembered archive listing is not downloaded again"
    assert not [u for u in asked(servers[1]) if "/resource/page/" in u], "page 1 held nothing newer"
    assert (second["new"], second["updated"], second["errors"]) == (0, 0, 0)
    assert query(db, "select count(*) n from publications where title = 'Archive'")[0]["n"] == 0


@pytest.mark.e2e
def test_panel_site_crawl_twice_then_a_listing_date_moves(tmp_path, servers):
    db, config = tmp_path / "x.db", weekly_config(tmp_path)
    first = crawl("csprp_panel_site", db, config, PANEL_SITE)
    second = crawl("csprp_panel_site", db, config, PANEL_SITE)
    assert (first["new"], first["pages"]) == (9, 18)  # with the sitemap, home and navigation pages
    assert (second["new"], second["updated"], second["unchanged"], second["pages"]) == (0, 0, 7, 8)
    stored = {r["url"] for r in query(db, "select url from publications")}
    assert not stored & set(asked(servers[1])), "a stored publication was downloaded again"
    site = PANEL_SITE / "childsafeguarding.independent-panel.uk/publications"
    listing = (site / "index.html").read_text(encoding="utf-8")
    page = (site.parent / "p-242.html").read_text(encoding="utf-8")
    assert listing.count("2 February 2024") == 1 and page.count("<p>Published 2 February 2024</p>") == 1
    changed = overlay(tmp_path / "changed", {f"{PANEL}/publications/": {"file": "listing.html"},
                                             PANEL_ANNUAL: {"file": "annual.html"}}, {
        "listing.html": listing.replace("2 February 2024", "3 March 2025"),
        "annual.html": page.replace("<p>Published 2 February 2024</p>",
                                    "<p>Published 2 February 2024</p><p>Updated 3 March 2025</p>")
                           .replace("that happened between", "notified to the Panel between")})
    third = crawl("csprp_panel_site", db, config, PANEL_SITE, changed)
    assert (third["new"], third["updated"], third["unchanged"]) == (0, 1, 8)
    assert sorted(u for u in asked(servers[2]) if "/publications/" in u or u == PANEL_ANNUAL) == sorted([
        f"{PANEL}/publications/", PANEL_ANNUAL, f"{PANEL}/publications/page/2/"])
    row = query(db, "select * from publications where url = ?", (PANEL_ANNUAL,))[0]
    assert (row["version"], row["updated_at"]) == (2, "2025-03-03")


@pytest.mark.e2e
def test_probes_of_doors_a_site_does_not_have_are_not_http_failures(tmp_path):
    """The Panel's site has no REST API and no feed: their 404s are answers, not failures."""
    db = tmp_path / "x.db"
    run_cli("crawl", "--source", "csprp_panel_site", "--replay", str(FIXTURES / "csprp_panel_site"),
            "--db", str(db), "--config", str(CONFIG))
    run = query(db, "select * from runs")[0]
    assert run["status"] == "ok" and json.loads(run["http_errors"]) == {}
    assert json.loads(run["stats"])["sgn/expected_status/404"] >= 2
