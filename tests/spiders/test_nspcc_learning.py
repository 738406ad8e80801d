"""NSPCC Learning: the recorded site through its listings and through a sitemap, markup variants, bad pages.

The golden file ``tests/fixtures/nspcc_learning/expected.json`` holds the normalised items (and the errors,
skips and door) of an offline crawl of the recorded site. After a deliberate change to the spider, the
fixture or the normaliser, regenerate it and review the diff before committing:

    python -m tests.spiders.test_nspcc_learning --regenerate-golden
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import pytest

from pipeline.config import load_config
from pipeline.items.dates import parse_date
from pipeline.items.normalise import InvalidItem, normalise
from spiders import _htmlpage
from spiders.nspcc_learning import NO_LINKS, NspccLearningSpider
from tests.support import CONFIG, FIXTURES, crawl_offline, fake_response, query, run_cli

SITE = FIXTURES / "nspcc_learning"
GOLDEN = SITE / "expected.json"
OPTIONS = dict(load_config(CONFIG).source("nspcc_learning").options)
BASE = "https://learning.nspcc.org.uk"
ANNUAL = f"{BASE}/research-resources/2025/summary-child-safeguarding-practice-review-panel-csprp-annual-report-2023-24"
ANNUAL_FILE = SITE / "learning.nspcc.org.uk" / f"{ANNUAL.removeprefix(BASE + '/')}.html"
NATIONAL = f"{BASE}/research-resources/2024/summary-national-review-child-sexual-abuse-within-family-environment"
CASPAR_20 = f"{BASE}/news/2020/october/celebrating-20-years-caspar-safeguarding-email-alert"
COVID = f"{BASE}/news/covid/working-virtually-support-for-children-families/"
GOVUK_ANNUAL = ("https://www.gov.uk/government/publications/child-safeguarding-practice-review-panel-annual-report-"
                "2023-to-2024")
GOVUK_NOTICE = ("https://www.gov.uk/government/publications/i-wanted-them-all-to-notice-protecting-children-from-"
                "sexual-abuse-within-the-family-environment")
# SOURCES.md section 1, "Real examples": every one is in the recorded site, with its real title.
REAL = {
    CASPAR_20: "Celebrating 20 years of CASPAR",
    f"{BASE}/news/2024/may/podcast-supporting-deaf-children":
        "Podcast: Supporting d/Deaf children \u2014 putting the child at the centre of decision making",
    f"{BASE}/news/2025/march/podcast-child-safeguarding-practice-review-panel":
        "Podcast: The work of the Child Safeguarding Practice Review Panel",
    COVID: "Working virtually to support children and families",
    f"{BASE}/news/2024/january/online-harms-protecting-children-and-young-people":
        "Online harms: protecting children and young people",
    f"{BASE}/news/2023/september/4-cs-of-online-safety": "The 4 Cs of online safety",
    f"{BASE}/news/2025/september/mandatory-reporting-child-sexual-abuse-england":
        "Mandatory reporting of child sexual abuse in England",
    ANNUAL: "Summary of the Child Safeguarding Practice Review Panel annual report 2023/24",
    f"{BASE}/research-resources/2021/ofsted-review-sexual-abuse-in-schools-colleges-caspar-briefing":
        "Ofsted review of sexual abuse in schools and colleges: CASPAR briefing",
}
NOT_A_BRIEFING = f"{BASE}/research-resources/2025/generative-ai-childrens-safety"
KCSIE = f"{BASE}/research-resources/schools/keeping-children-safe-in-education-caspar-briefing"
NEGLECT_REVIEW = f"{BASE}/research-resources/learning-from-case-reviews/neglect-learning-from-case-reviews"
SCHOOLS_GUIDANCE = f"{BASE}/research-resources/schools/safeguarding-guidance-for-schools"
UNMATCHED = f"{BASE}/news/events/safeguarding-conference-2025"
# ../shared/realdata/sites/nspcc_learning: the real title and date line of each page, exactly as shown
REAL_TEXT = {
    f"{BASE}/news/2020/march/uk-government-publishes-three-new-reports-about-learning-from-case-reviews-in-"
    "england": ("UK Government publishes three new reports about learning from case reviews in England",
                "2020-03-16"),
    f"{BASE}/news/2021/may/new-reports-child-safeguarding-reviews-multi-agency-arrangements":
        ("Four new reports published about child safeguarding reviews and multi-agency arrangements in England",
         "2021-05-24"),
    CASPAR_20: ("Celebrating 20 years of CASPAR", "2020-10-05"),
    COVID: ("Working virtually to support children and families", "2022-03-16"),
}


@pytest.fixture(scope="module")
def crawled():
    return crawl_offline(NspccLearningSpider, SITE, OPTIONS)


@pytest.fixture(scope="module")
def pubs(crawled):
    return {p.url: p for p in crawled.publications("keep")}


def spider(**options) -> NspccLearningSpider:
    return NspccLearningSpider(options={**OPTIONS, **options})


def page(url: str, body: str):
    return fake_response(url, f"<!DOCTYPE html><html><head>{body}</html>")


def item_of(url: str, html: str):
    s = spider()
    items = list(s.parse_article(page(url, html)))
    return (items[0] if items else None), s


# -- the recorded site through its listings -------------------------------------------------------------


def test_every_field_of_the_annual_report_summary(pubs, crawled):
    pub = pubs[ANNUAL]
    assert pub.id == f"nspcc_learning:{ANNUAL}"
    assert (pub.source, pub.url, pub.language) == ("nspcc_learning", ANNUAL, "en")
    assert pub.title == "Summary of the Child Safeguarding Practice Review Panel annual report 2023/24"
    assert pub.summary.startswith("This CASPAR briefing summarises the Child Safeguarding Practice Review Panel's")
    assert pub.body_text.startswith("Overview\nThis CASPAR briefing summarises")
    assert "data from rapid reviews" in pub.body_text
    for chrome in ("Last updated", "Topics:", "Home", "More resources", "Contact us", pub.title):
        assert chrome not in pub.body_text
    assert (pub.content_type, pub.source_type) == ("briefing", "CASPAR briefing")
    # a day on the page (JSON-LD datePublished) wins over the URL's year
    assert (pub.published_at, pub.published_precision) == ("2025-01-06", "day")
    assert pub.updated_at == "2025-01-06"
    assert pub.topics == ("Case reviews", "Child protection system")
    assert [asdict(d) for d in pub.documents] == [{
        "title": "Download the CASPAR briefing (PDF)", "file_type": "PDF", "size": "",
        "url": f"{BASE}/media/q3xk2lmn/summary-csprp-annual-report-2023-24.pdf", "pages": None}]
    assert pub.links == (GOVUK_ANNUAL,)
    assert pub.withdrawn_at is None
    assert crawled.by_url(ANNUAL).extra == {"published_from": "page"}


def test_every_field_of_a_news_item(pubs, crawled):
    pub = pubs[CASPAR_20]
    assert pub.title == "Celebrating 20 years of CASPAR"
    assert pub.summary == "CASPAR, our weekly current awareness email for safeguarding professionals, is 20 years old."
    assert pub.body_text.splitlines()[1:] == [
        "Two decades of CASPAR",
        "Since 2000, CASPAR has brought the latest policy, practice and research news to people who work with "
        "children.", "Sign up to receive CASPAR every week."]
    assert (pub.content_type, pub.source_type, pub.topics) == ("news", "News", ("News",))
    assert (pub.published_at, pub.published_precision, pub.updated_at) == ("2020-10", "month", "2020-10-05")
    assert pub.documents == () and pub.links == ()
    assert crawled.by_url(CASPAR_20).extra == {"published_from": "url"}


def test_invariants_over_all_items(pubs):
    assert len(pubs) == 18
    assert len({p.id for p in pubs.values()}) == 18
    for p in pubs.values():
        assert p.title and p.summary and p.body_text and "<" not in p.body_text
        assert p.url.startswith(f"{BASE}/news/") or p.url.startswith(f"{BASE}/research-resources/")
        assert parse_date(p.published_at).precision == p.published_precision
        assert p.updated_at is None or p.updated_at >= p.published_at
        assert p.topics and p.language == "en"
        assert not p.body_text.startswith(("Last updated", "Topics")) and p.title not in p.body_text
        for d in p.documents:
            assert d.url.startswith(f"{BASE}/media/") and d.file_type == "PDF" and d.title
        research = "/research-resources/" in p.url
        assert p.content_type in (("briefing", "report", "guidance", "review") if research
                                  else ("news", "blog", "podcast"))


def test_news_dates_have_month_precision_from_the_url(pubs):
    months = {u: (p.published_at, p.published_precision) for u, p in pubs.items() if "/news/20" in u}
    assert len(months) == 9
    for url, (published, precision) in months.items():
        year, month_name = url.split("/")[4:6]
        assert precision == "month" and published == parse_date(f"{year}/{month_name}").iso


def test_research_briefings_without_a_day_have_the_url_year(pubs):
    assert (pubs[NATIONAL].published_at, pubs[NATIONAL].published_precision) == ("2024", "year")


def test_every_real_example_from_sources_md_is_stored_with_its_title(pubs, crawled):
    assert {u: pubs[u].title for u in REAL} == REAL
    assert crawled.spider.skipped == []


def test_real_titles_and_last_updated_lines_of_the_real_pages(pubs):
    """'Last updated: 16 Mar 2020 Topics: News' on one line, as the real pages show it: updated_at."""
    assert {u: (pubs[u].title, pubs[u].updated_at) for u in REAL_TEXT} == REAL_TEXT
    for url in REAL_TEXT:
        assert pubs[url].topics == ("News",) and "Last updated" not in pubs[url].body_text


def test_research_pages_at_any_depth_are_stored_and_typed(pubs, crawled):
    """Year-less /research-resources/<category>/<slug> pages are fetched; research that is not a briefing is
    kept, typed research (report), guidance or case review (review)."""
    typed = {u: (pubs[u].content_type, pubs[u].source_type) for u in
             (NOT_A_BRIEFING, KCSIE, NEGLECT_REVIEW, SCHOOLS_GUIDANCE, ANNUAL)}
    assert typed == {NOT_A_BRIEFING: ("report", "Research"), KCSIE: ("briefing", "CASPAR briefing"),
                     NEGLECT_REVIEW: ("review", "Case review"), SCHOOLS_GUIDANCE: ("guidance", "Guidance"),
                     ANNUAL: ("briefing", "CASPAR briefing")}


def test_publication_date_has_month_precision_and_last_updated_is_updated_at(pubs, crawled):
    pub = pubs[NEGLECT_REVIEW]
    assert (pub.published_at, pub.published_precision, pub.updated_at) == ("2021-03", "month", "2023-04-12")
    assert crawled.by_url(NEGLECT_REVIEW).extra == {"published_from": "publication_date"}
    assert "Publication date" not in pub.body_text
    # the card says "(Published 2021)" but the page's own month wins
    assert (pubs[SCHOOLS_GUIDANCE].published_at, pubs[SCHOOLS_GUIDANCE].published_precision) == ("2024-06", "month")


def test_a_card_date_at_its_precision_when_the_page_shows_none(pubs, crawled):
    """The real listing card shows '(Published 2022)': a year, used when the page has no date."""
    assert (pubs[KCSIE].published_at, pubs[KCSIE].published_precision) == ("2022", "year")
    assert crawled.by_url(KCSIE).extra == {"published_from": "card"}


def test_article_like_links_matching_no_pattern_are_counted_and_named(crawled, caplog):
    assert crawled.spider.run_log.unmatched == {UNMATCHED: f"{BASE}/news?page=2"}
    assert UNMATCHED not in crawled.requested


def test_briefings_podcasts_and_blogs(pubs):
    kinds = {}
    for p in pubs.values():
        kinds.setdefault(p.content_type, []).append(p.url.rsplit("/", 2)[-1] or p.url.rsplit("/", 2)[-2])
    assert len(kinds["briefing"]) == 5
    assert sorted(kinds["podcast"]) == ["podcast-child-safeguarding-practice-review-panel",
                                        "podcast-supporting-deaf-children"]
    assert kinds["blog"] == ["blog-making-space-for-childrens-voices-in-case-reviews"]


def test_covid_path_article_dates_from_its_only_date(pubs, crawled):
    pub = pubs[COVID]
    assert pub.url.endswith("/")  # trailing_slash: keep, as the site has it
    assert (pub.published_at, pub.published_precision, pub.updated_at) == ("2022-03-16", "day", "2022-03-16")
    assert crawled.by_url(COVID).extra == {"published_from": "last_updated"}


def test_briefings_link_to_the_reports_on_govuk_for_grouping(pubs):
    assert pubs[ANNUAL].links == (GOVUK_ANNUAL,)
    assert pubs[NATIONAL].links == (GOVUK_NOTICE,)
    # the very URLs of the Panel's documents in the GOV.UK recorded site, so that stories can be grouped
    govuk = FIXTURES / "csprp_govuk" / "content"
    for link in (GOVUK_ANNUAL, GOVUK_NOTICE):
        doc = json.loads((govuk / f"{link.rsplit('/', 1)[1]}.json").read_text(encoding="utf-8"))
        assert "https://www.gov.uk" + doc["base_path"] == link


def test_bad_pages_are_recorded_and_the_rest_is_stored(crawled, pubs):
    assert sorted(crawled.spider.errors) == sorted([
        f"HTTP 404: {BASE}/news/2025/february/safer-recruitment-checklist-updated",
        f"page cut off mid-HTML (no closing </html>), not stored: {BASE}/news/2023/november/"
        "neglect-learning-from-case-reviews",
        f"no date in the URL, meta tags, JSON-LD or 'Last updated:': {BASE}/news/covid/"
        "returning-to-school-safeguarding-considerations/",
        f"{NO_LINKS}: {BASE}/news?page=3",
    ])
    assert len(pubs) == 18
    assert not any(bad in u for u in pubs for bad in (
        "/news/2023/november/neglect", "returning-to-school", "safer-recruitment"))


def test_listings_door_walks_every_news_page_and_no_filter(crawled):
    assert crawled.spider.door == "listings /news, /research-resources"
    assert crawled.requested[0] == f"{BASE}/sitemap.xml"
    listings = [u for u in crawled.requested if u.split("?")[0] in (f"{BASE}/news", f"{BASE}/research-resources")]
    assert listings == [f"{BASE}/news", f"{BASE}/research-resources", f"{BASE}/news?page=2", f"{BASE}/news?page=3"]


def test_listing_pages_are_capped():
    result = crawl_offline(NspccLearningSpider, SITE, {**OPTIONS, "max_listing_pages": 2})
    assert f"{BASE}/news?page=2" not in result.requested
    assert len(result.items) == 13  # page 1 of the news and the research resources


def test_golden_file(crawled):
    """Normalised items of the recorded site; see the module docstring to regenerate after a change."""
    assert golden(crawled) == json.loads(GOLDEN.read_text(encoding="utf-8"))


# -- the sitemap door --------------------------------------------------------------------------------


def test_sitemap_door_is_used_first_when_it_lists_articles():
    result = crawl_offline(NspccLearningSpider, SITE / "sitemap", OPTIONS)
    assert result.spider.door == "sitemap /sitemap.xml"
    assert not any(u.endswith(("/news", "/research-resources")) or "?page=" in u for u in result.requested)
    assert result.spider.errors == []
    assert result.spider.skipped == []
    pubs = {p.url: p for p in result.publications()}
    assert len(pubs) == 7 and NOT_A_BRIEFING in pubs and ANNUAL in pubs and COVID in pubs
    assert pubs[ANNUAL].published_at == "2025-01-06"
    # no "Last updated" on the page: the sitemap's lastmod is the update date
    assert pubs[f"{BASE}/news/2023/september/4-cs-of-online-safety"].updated_at == "2023-09-18"
    assert pubs[CASPAR_20].updated_at == "2020-10-05"  # the page's label wins over lastmod


NO_ARTICLES = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               b"<url><loc>https://learning.nspcc.org.uk/news</loc></url></urlset>")
INDEX = (b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
         b"<sitemap><loc>https://learning.nspcc.org.uk/sitemap-1.xml</loc></sitemap></sitemapindex>")


@pytest.mark.parametrize("status, body", [
    (404, b"not found"), (200, b"<html><body><h1>Page not found</h1></body></html>"), (200, b""),
    (200, NO_ARTICLES), (200, INDEX), (500, b"oops")],
    ids=["404", "html", "empty", "no-articles", "index", "500"])
def test_unusable_sitemap_falls_back_to_the_listings(status, body):
    s = spider()
    out = list(s.parse_sitemap(fake_response(f"{BASE}/sitemap.xml", body, status,
                                             {"Content-Type": "application/xml"})))
    assert [r.url for r in out] == [f"{BASE}/news", f"{BASE}/research-resources"]
    assert s.door == "listings /news, /research-resources" and s.errors == []


def test_no_sitemap_probe_when_the_option_is_empty():
    result = crawl_offline(NspccLearningSpider, SITE, {**OPTIONS, "sitemap": ""})
    assert f"{BASE}/sitemap.xml" not in result.requested and len(result.items) == 18
    assert result.spider.door == "listings /news, /research-resources"


def test_failed_sitemap_probe_falls_back_to_the_listings():
    s = spider()

    class Failure:
        def getErrorMessage(self):  # Twisted's name
            return "connection refused"

    assert [r.url for r in s.sitemap_failed(Failure())] == [f"{BASE}/news", f"{BASE}/research-resources"]


# -- robust to markup ----------------------------------------------------------------------------------


def test_two_markup_variants_give_the_same_item():
    variant_b = SITE / "variants" / "summary-csprp-annual-report-2023-24-b.html"
    a_html, b_html = ANNUAL_FILE.read_bytes(), variant_b.read_bytes()
    assert a_html != b_html and b"<article" not in b_html and b"<dl" in b_html
    items = [list(spider().parse_article(fake_response(ANNUAL, body)))[0] for body in (a_html, b_html)]
    assert items[0].body_html != items[1].body_html
    assert normalise(items[0]) == normalise(items[1])
    assert normalise(items[1]).topics == ("Case reviews", "Child protection system")


LABELS = {
    "one paragraph": "<p>Last updated: 05 Oct 2020 Topics: <a href='/t'>News</a>, <a href='/u'>Neglect</a></p>",
    "spans": "<div><span>Last updated:</span> 05 Oct 2020</div><div><strong>Topics:</strong> News, Neglect</div>",
    "definition list": "<dl><dt>Last updated:</dt><dd>05 Oct 2020</dd><dt>Topics:</dt><dd>News</dd>"
                       "<dd>Neglect</dd></dl>",
    "list": "<p>Last updated: <time datetime='2020-10-05'>05 Oct 2020</time></p><div><span>Topics:</span>"
            "<ul><li>News</li><li>Neglect</li></ul></div>",
    "pipes": "<p>Last updated: 05 Oct 2020 | Topics: News | Neglect</p>",
}


@pytest.mark.parametrize("labels", LABELS.values(), ids=LABELS.keys())
def test_labels_are_found_by_their_text_in_any_markup(labels):
    item, _ = item_of(CASPAR_20, f"<title>x</title></head><body><main><h1>Celebrating 20 years of CASPAR</h1>"
                                 f"{labels}<p>CASPAR is 20.</p></main></body>")
    assert (item.updated, item.topics, item.source_type) == ("05 Oct 2020", ["News", "Neglect"], "News")
    assert normalise(item).body_text == "CASPAR is 20."


def test_article_links_are_found_by_url_pattern_only():
    html = ("<body><div><a href='/news/2024/may/podcast-supporting-deaf-children'><span>Podcast</span></a>"
            "<a href='/news/covid/working-virtually-support-for-children-families/'>Working</a>"
            "<a href='https://learning.nspcc.org.uk/news/2023/september/4-cs-of-online-safety#top'>4 Cs</a>"
            "<a href='/news/2024/january'>January</a><a href='/news/topics/neglect'>Neglect</a>"
            "<a href='/news/2024/smarch/x'>bad month</a><a href='/research-resources?topics=Neglect1'>Filter</a>"
            "<a href='https://www.gov.uk/news/2024/may/x'>other host</a>"
            "<a href='/research-resources/2022/caspar-briefing-on-neglect'>Neglect</a></div></body>")
    links = spider()._article_links(page(f"{BASE}/news", html))
    assert list(links) == [f"{BASE}/news/2024/may/podcast-supporting-deaf-children", COVID,
                           f"{BASE}/news/2023/september/4-cs-of-online-safety",
                           f"{BASE}/research-resources/2022/caspar-briefing-on-neglect"]


@pytest.mark.parametrize("html, expected", [
    ("<a href='/news?page=2'>2</a><a href='/news?page=2' rel='next'>Next</a>", ["?page=2", "?page=2"]),
    ("<a href='/news/?p=3#list'>3</a>", ["/?p=3"]),
    ("<link rel='next' href='https://learning.nspcc.org.uk/news?pageNumber=2'>", ["?pageNumber=2"]),
    ("<a href='/news?topics=Neglect1'>Neglect</a><a href='/research-resources?page=2'>other listing</a>"
     "<a href='https://example.org/news?page=2'>other site</a><a href='/news?page=next'>?</a>", []),
], ids=["page", "p and slash", "rel next", "not pages"])
def test_pagination_links_whatever_the_scheme(html, expected):
    links = _htmlpage.pagination_links(page(f"{BASE}/news", f"</head><body>{html}</body>"))
    assert links == [f"{BASE}/news{e}" for e in expected]


@pytest.mark.parametrize("url, text, expected", [
    (f"{BASE}/media/abcd1234/report.pdf", "Download the report (PDF, 1.2 MB)", ("PDF", "1.2 MB")),
    (f"{BASE}/media/abcd1234/annex", "Download the annex (PDF)", ("PDF", "")),
    ("https://assets.publishing.service.gov.uk/media/675a/CSPRP_annual_report.pdf", "The report", ("PDF", "")),
    (f"{BASE}/media/abcd1234/data.xlsx", "Data tables", ("XLSX", "")),
    (f"{BASE}/media/abcd1234/episode.mp3", "Listen (MP3)", None),
    (f"{BASE}/media/abcd1234/cover.jpg", "Cover", None),
    ("https://www.gov.uk/government/publications/x", "Read the report", None),
])
def test_documents_are_files_never_media(url, text, expected):
    doc = _htmlpage.document_of(url, text, "learning.nspcc.org.uk")
    assert ((doc["file_type"].upper(), doc["size"]) if doc else None) == expected
    if doc:
        assert doc["title"] == text and doc["url"] == url


@pytest.mark.parametrize("slug, title, expected", [
    ("ofsted-review-sexual-abuse-in-schools-colleges-caspar-briefing", "", True),
    ("neglect-review", "Neglect review: CASPAR briefing", True),
    ("annual-report-2023-24", "Summary of the annual report", True),
    ("working-together-2023", "Working together to safeguard children 2023: summary of changes", True),
    ("generative-ai-childrens-safety", "Generative AI and children's safety", False),
    ("how-to-summarise-case-reviews", "How to write a summary of a case review", False),
])
def test_which_research_resources_are_briefings(slug, title, expected):
    assert NspccLearningSpider._is_briefing(slug, title) is expected


# -- fields from other signals ---------------------------------------------------------------------------


def test_title_falls_back_to_og_title_then_to_the_title_without_the_site_suffix():
    body = "</head><body><main><p>Last updated: 05 Oct 2020</p><p>Text.</p></main></body>"
    item, _ = item_of(CASPAR_20, f"<meta property='og:title' content='From og'><title>T | NSPCC Learning</title>{body}")
    assert item.title == "From og"
    item, _ = item_of(CASPAR_20, f"<title>Celebrating 20 years of CASPAR | NSPCC Learning</title>{body}")
    assert item.title == "Celebrating 20 years of CASPAR"


def test_summary_falls_back_to_the_meta_description():
    item, _ = item_of(CASPAR_20, "<meta name='description' content='From the meta tag.'></head><body><main>"
                                 "<h1>T</h1><h2>Only a heading</h2></main></body>")
    assert item.summary == "From the meta tag."


@pytest.mark.parametrize("head, body", [
    ("<meta property='article:published_time' content='2020-10-02T09:00:00+01:00'>", ""),
    ("<script type='application/ld+json'>{\"@graph\": [{\"@type\": \"WebSite\"}, {\"@type\": \"Article\", "
     "\"datePublished\": \"2020-10-02T09:00:00+01:00\"}]}</script>", ""),
    ("<script type='application/ld+json'>not json</script><meta property='article:published_time' "
     "content='2020-10-02T09:00:00+01:00'>", ""),
    ("", "<p>Published: 02 Oct 2020 09:00</p>"),
], ids=["meta", "json-ld graph", "bad json-ld", "visible label"])
def test_a_day_on_the_page_wins_over_the_url_month(head, body):
    item, _ = item_of(CASPAR_20, f"{head}</head><body><main><h1>T</h1>{body}<p>Text.</p></main></body>")
    pub = normalise(item)
    assert pub.published_at.startswith("2020-10-02") and pub.published_precision in ("day", "datetime")
    assert item.extra == {"published_from": "page"}


def test_a_coarser_date_on_the_page_does_not_beat_the_url():
    item, _ = item_of(CASPAR_20, "<meta property='article:published_time' content='2020'></head><body><main>"
                                 "<h1>T</h1><p>Text.</p></main></body>")
    assert (item.published, item.extra) == ("2020/october", {"published_from": "url"})


# -- bad pages, one at a time ------------------------------------------------------------------------------


def test_page_with_no_date_is_an_error_not_an_item():
    item, s = item_of(f"{BASE}/news/covid/undated/", "</head><body><main><h1>T</h1><p>Text.</p></main></body>")
    assert item is None and s.errors == [
        f"no date in the URL, meta tags, JSON-LD or 'Last updated:': {BASE}/news/covid/undated/"]


def test_page_cut_off_mid_html_is_an_error_not_a_truncated_item():
    s = spider()
    cut = ANNUAL_FILE.read_bytes()[:1500]
    assert list(s.parse_article(fake_response(ANNUAL, cut))) == []
    assert s.errors == [f"page cut off mid-HTML (no closing </html>), not stored: {ANNUAL}"]


def test_page_without_any_title_becomes_an_invalid_item():
    item, s = item_of(CASPAR_20, "</head><body><main><p>Last updated: 05 Oct 2020</p></main></body>")
    assert s.errors == []
    with pytest.raises(InvalidItem, match="no title at https://learning.nspcc.org.uk/news/2020/october/"):
        normalise(item)


def test_listing_without_article_links_is_an_error_naming_the_layout():
    s = spider()
    html = "<body><nav><a href='/news'>News</a><a href='/research-resources'>Research</a></nav></body>"
    assert list(s.parse_listing(page(f"{BASE}/news", html))) == []
    assert s.errors == [f"no article links found: the site's layout may have changed: {BASE}/news"]


def test_empty_responses_are_errors_not_crashes():
    s = spider()
    assert list(s.parse_article(fake_response(CASPAR_20, b""))) == []
    assert list(s.parse_listing(fake_response(f"{BASE}/news", b""))) == []
    assert [e.rsplit(": ", 1)[0] for e in s.errors] == [
        "page cut off mid-HTML (no closing </html>), not stored", NO_LINKS]


# -- end to end ----------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_crawl_replay_stores_every_article_and_records_the_bad_pages(tmp_path):
    db = tmp_path / "x.db"
    result = run_cli("crawl", "--source", "nspcc_learning", "--replay", str(SITE), "--db", str(db),
                     "--config", str(CONFIG))
    assert result.exit_code == 1, result.output  # partial: the bad pages are reported, not fatal
    run = query(db, "select * from runs")[0]
    assert (run["status"], run["items"], run["new"], run["errors"], run["invalid"]) == ("partial", 18, 18, 4, 0)
    assert run["door"] == "listings /news, /research-resources" and run["skipped"] == 0
    assert "site's layout may have changed" in run["message"] and f"{BASE}/news?page=3" in run["message"]
    assert json.loads(run["http_errors"]) == {"404": 1}  # the missing detail page; the sitemap probe is expected
    rows = {r["url"]: r for r in query(db, "select * from publications")}
    assert set(rows) == {i["url"] for i in json.loads(GOLDEN.read_text(encoding="utf-8"))["items"]}
    news = [r for u, r in rows.items() if "/news/20" in u]
    assert len(news) == 9 and all(r["published_precision"] == "month" for r in news)
    annual = rows[ANNUAL]
    assert (annual["published_at"], annual["content_type"]) == ("2025-01-06", "briefing")
    assert json.loads(annual["links"]) == [GOVUK_ANNUAL]


# -- the golden file ----------------------------------------------------------------------------------


def golden(result) -> dict:
    items = []
    for pub in sorted(result.publications("keep"), key=lambda p: p.url):
        row = asdict(pub)
        row.pop("content_hash")  # derived from the fields below; a hashing change is not a parsing change
        items.append(row)
    spider_ = result.spider
    return {"door": spider_.door, "errors": sorted(spider_.errors), "skipped": sorted(spider_.skipped),
            "items": json.loads(json.dumps(items))}


def regenerate() -> None:
    data = golden(crawl_offline(NspccLearningSpider, SITE, OPTIONS))
    GOLDEN.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN} ({len(data['items'])} items); review `git diff` before committing")


if __name__ == "__main__":
    if sys.argv[1:] != ["--regenerate-golden"]:
        sys.exit("usage: python -m tests.spiders.test_nspcc_learning --regenerate-golden")
    regenerate()
