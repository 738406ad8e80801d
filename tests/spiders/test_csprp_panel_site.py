"""The Panel's own website on its recorded site (reconstructed from SOURCES.md 2b around the one real page
known, the 2023 to 2024 annual report reached as /?p=242): no REST API, feed or wp-sitemap.xml in the
recording, so the listings the home page's navigation links (found, not assumed) and the publication pages,
with their type labels, "Published" dates and "File size / File type / Number of pages" facts."""

import json

import pytest
import yaml

from pipeline.items.normalise import human_size as normalise_size
from pipeline.items.normalise import normalise
from spiders.csprp_panel_site import CsprpPanelSiteSpider
from tests.support import CONFIG, FIXTURES, crawl_offline, query, run_cli

SLUG = "csprp_panel_site"
SITE = FIXTURES / SLUG
PANEL = "https://childsafeguarding.independent-panel.uk"
ANNUAL = f"{PANEL}/?p=242"  # as the real page was reached
ANNUAL_FILE = SITE / "childsafeguarding.independent-panel.uk/p-242.html"
DOOR = "HTML listings (found in the navigation: /news/, /publications/)"
ANNUAL_PDF = f"{PANEL}/wp-content/uploads/2024/02/CSPRP_annual_report_2023_to_2024.pdf"
GOVUK_ANNUAL = ("https://www.gov.uk/government/publications/"
                "child-safeguarding-practice-review-panel-annual-report-2023-to-2024")
OPTIONS = yaml.safe_load(CONFIG.read_text())["sources"][SLUG]["options"]


@pytest.fixture(scope="module")
def crawl():
    return crawl_offline(CsprpPanelSiteSpider, SITE, OPTIONS)


def test_rest_and_feed_are_probed_then_the_listings_found_from_the_site(crawl):
    """No listing path is configured or assumed: the WordPress sitemap is asked for, then the pages the home
    page's navigation links are fetched once; those shaped like listings are walked, the rest left alone."""
    assert OPTIONS.get("listings") is None and CsprpPanelSiteSpider.listings == ()
    assert crawl.spider.door == DOOR and crawl.spider.errors == []
    assert crawl.requested[:4] == [f"{PANEL}/wp-json/", f"{PANEL}/feed/", f"{PANEL}/wp-sitemap.xml", f"{PANEL}/"]
    assert set(crawl.requested[4:8]) == {f"{PANEL}/{p}/" for p in ("learning-hub", "publications", "news", "about")}
    assert sorted(crawl.spider.discovered_listings) == ["/news/", "/publications/"]
    assert f"{PANEL}/publications/page/2/" in crawl.requested
    assert f"{PANEL}/privacy/" not in crawl.requested, "footer links are not navigation"
    assert not {i.url for i in crawl.items} & {f"{PANEL}/about/", f"{PANEL}/learning-hub/", f"{PANEL}/"}
    assert not [u for u in crawl.requested if u.endswith((".pdf", ".docx"))], "documents are linked, not fetched"
    assert len(crawl.items) == 9


def test_every_field_of_the_annual_report_2023_to_2024(crawl):
    """The one real page (realdata/sites/csprp_panel_site/annual-report-2023-24.txt): reached as /?p=242,
    label "Annual report", title "Annual Report 2023 to 2024", "Published 2 February 2024", a PDF of 1.7 MB,
    168 pages."""
    item = crawl.by_url(ANNUAL)
    assert (item.source, item.natural_key, item.source_type, item.content_type) == (SLUG, "242", "Annual report", "")
    assert item.title == "Annual Report 2023 to 2024"
    assert item.summary == ("The Panel's fifth annual report, on serious child safeguarding incidents that happened "
                            "between April 2023 and March 2024.")
    assert (item.published, item.updated) == ("2 February 2024", "")
    assert item.documents == [{"url": ANNUAL_PDF, "file_type": "PDF", "size": "1.7 MB", "pages": 168,
                               "title": "Child Safeguarding Practice Review Panel annual report 2023 to 2024"}]
    assert (item.links, item.topics) == ([GOVUK_ANNUAL], [])
    pub = normalise(item, "keep")
    assert (pub.id, pub.content_type, pub.published_at, pub.published_precision) == (
        f"{SLUG}:242", "report", "2024-02-02", "day")
    assert "It draws together the learning from rapid reviews" in pub.body_text
    assert "Number of pages:" in pub.body_text and "168" in pub.body_text and "Accessibility" not in pub.body_text
    assert "This is a new site" not in pub.body_text, "the site's banner is not the publication's"


def test_the_annual_report_pdf_is_the_one_on_govuk():
    """Same title and file name as the GOV.UK attachment (tests/fixtures/csprp_govuk), so that a later step
    can group the two homes of the report into one story."""
    govuk = json.loads((FIXTURES / "csprp_govuk" / "content" /
                        "child-safeguarding-practice-review-panel-annual-report-2023-to-2024.json").read_text())
    attachment = govuk["details"]["attachments"][0]
    doc = normalise(crawl_offline(CsprpPanelSiteSpider, SITE, OPTIONS).by_url(ANNUAL)).documents[0]
    assert doc.title == attachment["title"]
    assert doc.url.rsplit("/", 1)[-1] == attachment["url"].rsplit("/", 1)[-1] == attachment["filename"]
    assert (doc.file_type, doc.size, doc.pages) == ("PDF", "1.7 MB", 168) == (
        "PDF", normalise_size(attachment["file_size"]), attachment["number_of_pages"])


def test_each_download_keeps_its_own_facts(crawl):
    docs = crawl.by_url(f"{PANEL}/publications/national-review-child-sexual-abuse-within-the-family-environment/"
                        ).documents
    assert [(d["title"], d["size"], d["file_type"], d["pages"]) for d in docs] == [
        ("\u201cI wanted them all to notice\u201d: national review", "2.3 MB", "PDF", 120),
        ("Summary for children and young people", "640 KB", "PDF", 12)]
    guidance = crawl.by_url(f"{PANEL}/publications/practice-guidance/").documents
    assert [(d["file_type"], d["size"]) for d in guidance] == [("DOCX", "230 KB")]


def test_labels_and_dates_of_every_item(crawl):
    pubs = {"annual-report-2023-to-2024" if p.url == ANNUAL else p.url.rsplit("/", 2)[-2]: p
            for p in crawl.publications("keep")}
    assert {k: (p.content_type, p.published_at) for k, p in pubs.items()} == {
        "national-review-child-sexual-abuse-within-the-family-environment": ("review", "2024-11-26"),
        "annual-report-2023-to-2024": ("report", "2024-02-02"),
        "annual-report-2022-to-2023": ("report", "2024-02-01"),
        "it-was-hard-to-escape": ("review", "2020-03-05"),
        "pool-of-reviewers": ("other", "2019-04-05"),
        "practice-guidance": ("guidance", "2019-04-01"),
        "first-national-review": ("review", "2019-02-20"),
        "newsletter-may-2026": ("news", "2026-05-29"),
        "welcome-to-our-new-website": ("news", "2026-04-20"),
    }
    assert pubs["pool-of-reviewers"].updated_at == "2024-05-09" and pubs["pool-of-reviewers"].documents == ()
    for pub in pubs.values():
        assert pub.url.startswith(PANEL + "/") and (pub.url.endswith("/") or pub.url == ANNUAL)
        assert pub.title and pub.summary
        assert pub.id.split(":")[1].isdigit() and pub.published_precision == "day" and pub.source_type
        assert all(d.url.startswith(f"{PANEL}/wp-content/uploads/") and d.size for d in pub.documents)


def test_news_without_a_label_is_still_news(tmp_path):
    page = (SITE / "childsafeguarding.independent-panel.uk/news/newsletter-may-2026/index.html").read_text()
    listing = (SITE / "childsafeguarding.independent-panel.uk/news/index.html").read_text()
    (tmp_path / "page.html").write_text(page.replace("<p>Newsletter</p>\n<h1>", "<h1>"))
    (tmp_path / "news.html").write_text(listing.replace("<p>Newsletter</p>", ""))
    (tmp_path / "manifest.json").write_text(json.dumps({f"{PANEL}/news/newsletter-may-2026/": {"file": "page.html"},
                                                        f"{PANEL}/news/": {"file": "news.html"}}))
    item = crawl_offline(CsprpPanelSiteSpider, [SITE, tmp_path], OPTIONS).by_url(f"{PANEL}/news/newsletter-may-2026/")
    assert (item.source_type, item.content_type) == ("", "news")


def test_if_the_rest_api_opens_its_posts_are_read_with_the_same_document_facts(tmp_path):
    """SOURCES.md 2b: the API is unverified. Should it answer, the REST door is taken and the download
    block in the rendered content still gives the file facts."""
    content = ANNUAL_FILE.read_text().split("</header>\n", 2)[2].split("</article>")[0]
    post = {"id": 242, "date": "2024-02-02T10:00:00", "date_gmt": "2024-02-02T10:00:00", "type": "publication",
            "modified_gmt": "2024-02-02T10:00:00", "link": ANNUAL,
            "title": {"rendered": "Annual Report 2023 to 2024"},
            "excerpt": {"rendered": "<p>The Panel&#8217;s annual report</p>"}, "content": {"rendered": content}}
    types = {"post": {"slug": "post", "rest_base": "posts"}, "page": {"slug": "page", "rest_base": "pages"},
             "publication": {"slug": "publication", "rest_base": "publication"}}
    files = {"index.json": {"namespaces": ["wp/v2"]}, "types.json": types, "posts.json": [],
             "publication.json": [post]}
    for name, body in files.items():
        (tmp_path / name).write_text(json.dumps(body))
    js = {"Content-Type": "application/json", "X-WP-TotalPages": "1"}
    (tmp_path / "manifest.json").write_text(json.dumps({
        f"{PANEL}/wp-json/": {"file": "index.json", "headers": js},
        f"{PANEL}/wp-json/wp/v2/types": {"file": "types.json", "headers": js},
        f"{PANEL}/wp-json/wp/v2/posts?per_page=100&page=1": {"file": "posts.json", "headers": js},
        f"{PANEL}/wp-json/wp/v2/publication?per_page=100&page=1": {"file": "publication.json", "headers": js}}))
    result = crawl_offline(CsprpPanelSiteSpider, [SITE, tmp_path], OPTIONS)
    assert result.spider.door == "WordPress REST API" and result.spider.errors == []
    item = result.by_url(ANNUAL)
    assert (item.natural_key, item.source_type, item.published) == ("242", "publication", "2024-02-02T10:00:00+00:00")
    assert item.documents == [{"url": ANNUAL_PDF, "file_type": "PDF", "size": "1.7 MB", "pages": 168,
                               "title": "Child Safeguarding Practice Review Panel annual report 2023 to 2024"}]
    assert item.links == [GOVUK_ANNUAL]


@pytest.mark.e2e
def test_crawl_stores_the_publications_and_their_documents(tmp_path):
    db = tmp_path / "x.db"
    result = run_cli("crawl", "--source", SLUG, "--replay", str(SITE), "--db", str(db), "--config", str(CONFIG))
    assert result.exit_code == 0, result.output
    run = query(db, "select * from runs")[0]
    assert (run["status"], run["items"], run["new"], run["errors"], run["door"]) == ("ok", 9, 9, 0, DOOR)
    rows = {r["id"]: r for r in query(db, "select * from publications")}
    annual = rows[f"{SLUG}:242"]
    assert (annual["url"], annual["content_type"], annual["source_type"], annual["published_at"]) == (
        ANNUAL, "report", "Annual report", "2024-02-02")
    assert json.loads(annual["documents"]) == [{"title": "Child Safeguarding Practice Review Panel annual report "
                                                "2023 to 2024", "url": ANNUAL_PDF, "file_type": "PDF",
                                                "size": "1.7 MB", "pages": 168}]  # "Number of pages: 168"
    assert json.loads(annual["links"]) == [GOVUK_ANNUAL]
    assert all(r["published_at"] and r["content_type"] for r in rows.values()) and len(rows) == 9


def sitemap_site(tmp_path, home_html):
    """The recorded site with a WordPress core sitemap (the format of /wp-sitemap.xml since WordPress 5.5:
    an index of one sitemap per post type, taxonomy and author) and the given home page."""
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    index = "".join(f"<sitemap><loc>{PANEL}/wp-sitemap-{n}-1.xml</loc></sitemap>"
                    for n in ("posts-post", "posts-page", "posts-publication", "taxonomies-category", "users"))
    posts = {"posts-publication": [ANNUAL, f"{PANEL}/publications/first-national-review/"],
             "posts-post": [f"{PANEL}/news/welcome-to-our-new-website/"], "posts-page": [f"{PANEL}/about/"]}
    files = {"wp-sitemap.xml": f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex {ns}>{index}</sitemapindex>'}
    for name, urls in posts.items():
        files[f"wp-sitemap-{name}-1.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {ns}>' + "".join(
            f"<url><loc>{u}</loc></url>" for u in urls) + "</urlset>")
    files["home.html"] = home_html
    xml = {"Content-Type": "application/xml; charset=UTF-8"}
    manifest = {f"{PANEL}/{name}": {"file": name, "headers": xml} for name in files if name.endswith(".xml")}
    manifest[f"{PANEL}/"] = {"file": "home.html"}
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return [SITE, tmp_path]


def test_the_wordpress_sitemap_names_the_publications_when_the_navigation_does_not(tmp_path):
    """A home page whose navigation links no listing: the posts of each post type the sitemap indexes are
    fetched; pages (About), taxonomies and authors are not publications."""
    result = crawl_offline(CsprpPanelSiteSpider, sitemap_site(tmp_path, "<html><body><h1>Panel</h1></body></html>"),
                           OPTIONS)
    assert result.spider.errors == [] and result.spider.discovered_listings == []
    assert {i.url for i in result.items} == {ANNUAL, f"{PANEL}/publications/first-national-review/",
                                            f"{PANEL}/news/welcome-to-our-new-website/"}
    assert f"{PANEL}/wp-sitemap-posts-page-1.xml" not in result.requested
    assert f"{PANEL}/wp-sitemap-taxonomies-category-1.xml" not in result.requested
    annual = result.by_url(ANNUAL)
    assert (annual.title, annual.source_type, annual.published, annual.natural_key) == (
        "Annual Report 2023 to 2024", "Annual report", "2 February 2024", "242")
    assert [(d["size"], d["file_type"], d["pages"]) for d in annual.documents] == [("1.7 MB", "PDF", 168)]


def test_a_site_with_no_sitemap_and_no_listing_in_its_navigation_is_an_error_not_an_empty_success(tmp_path):
    (tmp_path / "home.html").write_text('<html><body><nav><a href="/about/">About</a></nav></body></html>')
    (tmp_path / "manifest.json").write_text(json.dumps({f"{PANEL}/": {"file": "home.html"}}))
    result = crawl_offline(CsprpPanelSiteSpider, [SITE, tmp_path], OPTIONS)
    assert result.items == [] and f"{PANEL}/about/" in result.requested
    assert any("no listing found" in str(e) for e in result.spider.errors), result.spider.errors
