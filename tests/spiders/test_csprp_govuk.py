"""The Panel's GOV.UK publications (tests/fixtures/csprp_govuk), and GOV.UK's other document types and edge cases
(real Content API documents of other organisations, tests/fixtures/_govuk_types)."""

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.items.normalise import normalise
from spiders.csprp_govuk import CsprpGovukSpider
from tests.support import CONFIG, FIXTURES, REALDATA, crawl_offline, fake_response

SITE = FIXTURES / "csprp_govuk"
TYPES = FIXTURES / "_govuk_types"
OPTIONS = dict(load_config(CONFIG).source("csprp_govuk").options)
PANEL_TITLES = [  # the Search API's order, newest first
    "Child Safeguarding Practice Review Panel: annual report 2023 to 2024",
    "\u201cI wanted them all to notice\u201d: national review into child sexual abuse within the family environment",
    "Child Safeguarding Practice Review Panel: annual report 2022 to 2023",
    "It was hard to escape \u2013 safeguarding children at risk from criminal exploitation",
    "Child safeguarding practice review panel: pool of reviewers",
    "Child Safeguarding Practice Review Panel: practice guidance",
    "Child Safeguarding Practice Review Panel: first national review",
]
ANNUAL = "https://www.gov.uk/government/publications/child-safeguarding-practice-review-panel-annual-report-2023-to-2024"


@pytest.fixture(scope="module")
def crawled():
    return crawl_offline(CsprpGovukSpider, SITE, OPTIONS)


@pytest.fixture(scope="module")
def types():
    """GOV.UK's other document types, listed 10 to a search page (two pages)."""
    return crawl_offline(CsprpGovukSpider, TYPES, {**OPTIONS, "page_size": 10})


def test_every_field_of_the_annual_report(crawled):
    pub = normalise(crawled.by_url(ANNUAL), "strip")
    assert pub.id == "csprp_govuk:a815585e-88d6-5c44-8739-2e0f0961de50:en"
    assert pub.source == "csprp_govuk"
    assert pub.url == ANNUAL
    assert pub.title == "Child Safeguarding Practice Review Panel: annual report 2023 to 2024"
    assert pub.summary.startswith("The panel's annual report on serious child safeguarding incidents")
    assert pub.body_text.startswith("This report sets out the themes")
    assert "<" not in pub.body_text
    assert (pub.content_type, pub.source_type) == ("report", "corporate_report")
    assert (pub.published_at, pub.published_precision) == ("2024-12-12T09:30:00Z", "datetime")
    assert pub.updated_at == "2024-12-12T09:30:00Z"
    assert pub.withdrawn_at is None
    assert pub.language == "en"
    assert [(d.title, d.file_type, d.size, d.pages) for d in pub.documents] == [
        ("Child Safeguarding Practice Review Panel annual report 2023 to 2024", "PDF", "1.7 MB", 168)]
    assert pub.documents[0].url.startswith("https://assets.publishing.service.gov.uk/media/675a9c1e4f2b3d0011c8e7a1/")
    assert pub.links == ("https://www.gov.uk/government/publications/i-wanted-them-all-to-notice-protecting-"
                         "children-from-sexual-abuse-within-the-family-environment",)


def test_only_the_panels_publications_with_real_titles_and_dates(crawled):
    """Paths, titles and dates of the two pages in realdata/sites/csprp_govuk are as GOV.UK shows them."""
    assert [i.title for i in crawled.items] == PANEL_TITLES
    assert not crawled.spider.skipped and not crawled.spider.errors
    first = normalise(crawled.by_url("https://www.gov.uk/government/publications/"
                                     "child-safeguarding-practice-review-panel-first-national-review"))
    pool = normalise(crawled.by_url("https://www.gov.uk/government/publications/"
                                    "child-safeguarding-practice-review-panel-pool-of-reviewers"))
    # "Published 20 February 2019" and "Published 5 April 2019" (British Summer Time: +01:00)
    assert (first.published_at, pool.published_at) == ("2019-02-20T09:30:00Z", "2019-04-05T09:00:00Z")
    assert pool.updated_at == pool.published_at  # the page shows no "Updated" line
    assert pool.source_type == "transparency"  # the label "Transparency data"


def test_invariants_over_all_items(crawled, types):
    pubs = [normalise(i, "strip") for i in crawled.items + types.items]
    assert (len(crawled.items), len(types.items)) == (7, 15)
    assert len({p.id for p in pubs}) == len(pubs)
    for p in pubs:
        assert p.title and p.url.startswith("https://www.gov.uk/")
        assert p.published_precision == "datetime" and p.published_at.endswith("Z")
        assert p.updated_at >= p.published_at
        assert p.language == "en"
        assert p.content_type != "other" or p.source_type in ("form", "notice")


def test_both_search_pages_are_walked(crawled, types):
    first_page = CsprpGovukSpider(options=OPTIONS).search_url(0)
    assert [u for u in crawled.requested if "/api/search.json" in u] == [first_page]
    pages = [u for u in types.requested if "/api/search.json" in u]
    assert len(pages) == 2
    assert "start=10" in pages[1]


def test_panel_reviews_are_typed_review(crawled):
    types = {i.title: normalise(i).content_type for i in crawled.items}
    assert types["It was hard to escape \u2013 safeguarding children at risk from criminal exploitation"] == "review"
    assert types["Child Safeguarding Practice Review Panel: annual report 2022 to 2023"] == "report"
    assert types["Child Safeguarding Practice Review Panel: first national review"] == "review"


def test_redirect_gone_and_translation_are_skipped_not_stored(types):
    reasons = sorted(s.split(":")[0] for s in types.spider.skipped)
    assert reasons == ["gone", "redirect", "translation (ur)"]
    assert not types.spider.errors
    assert not any(i.url.endswith((".ur", "/406beacon")) for i in types.items)


def test_withdrawn_notice_gives_withdrawn_at(types):
    pig = normalise(types.by_url("https://www.gov.uk/government/publications/a-guide-for-pig-keepers"))
    assert pig.withdrawn_at == "2015-01-13T13:05:30Z"
    # no first_published_at in the document: details.first_public_at is the published date
    assert pig.published_at == "2011-09-29T00:00:00Z"


def test_timestamps_out_of_order(types):
    pub = normalise(types.by_url("https://www.gov.uk/government/news/christmas-2016-prime-ministers-message"))
    assert pub.published_at == "2016-12-25T00:15:06Z"
    assert pub.updated_at == pub.published_at  # public_updated_at (00:15:02) precedes first_published_at


def hash_before_pages(pub):
    """The content hash as computed before documents had ``pages`` (the formula of content_hash then)."""
    fields = {"title": pub.title, "summary": pub.summary, "body_text": pub.body_text,
              "published_at": pub.published_at, "updated_at": pub.updated_at, "withdrawn_at": pub.withdrawn_at,
              "documents": [{"title": d.title, "url": d.url, "file_type": d.file_type, "size": d.size}
                            for d in pub.documents]}
    payload = json.dumps(fields, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def test_page_counts_are_kept_and_never_change_the_content_hash(crawled, types):
    """GOV.UK's number_of_pages becomes Document.pages; a document's page count never enters the content
    hash, so a publication stored before page counts were kept is not seen as changed on the next crawl,
    and a publication without page counts hashes exactly as before (and stores the same documents JSON)."""
    annual = crawled.by_url(ANNUAL)
    with_pages = normalise(annual, "strip")
    assert [d.pages for d in with_pages.documents] == [168]
    without = dataclasses.replace(annual, documents=[{k: v for k, v in d.items() if k != "pages"}
                                                     for d in annual.documents])
    assert normalise(without, "strip").documents[0].pages is None
    assert normalise(without, "strip").content_hash == with_pages.content_hash == hash_before_pages(with_pages)
    featured = normalise(types.by_url("https://www.gov.uk/government/publications/"
                                      "number-of-ex-regular-service-personnel-in-fr20"))
    assert [d.pages for d in featured.documents] == [2]  # a real document's number_of_pages
    for pub in (normalise(i) for i in crawled.items + types.items):
        assert pub.content_hash == hash_before_pages(pub)
        for d in pub.documents:
            assert set(d.as_json()) == {"title", "url", "file_type", "size"} | ({"pages"} if d.pages else set())


CONTENT_DOCS = sorted((REALDATA / "govuk" / "content_api").rglob("*.json"))


@pytest.mark.parametrize("path", CONTENT_DOCS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_real_content_document(path: Path):
    """Each real GOV.UK document either becomes a valid item or is skipped with a reason."""
    spider = CsprpGovukSpider(options=OPTIONS)
    doc = json.loads(path.read_text(encoding="utf-8"))
    url = f"https://www.gov.uk/api/content{doc.get('base_path') or '/x'}"
    items = list(spider.parse_content(fake_response(url, path.read_bytes()), hit={"link": "/x", "title": ""}))
    if doc.get("schema_name") in ("redirect", "gone") or (doc.get("locale") or "en") != "en":
        assert items == [] and len(spider.skipped) == 1
    else:
        assert len(items) == 1
        pub = normalise(items[0])
        assert pub.title == " ".join(doc["title"].split())
        assert pub.id.endswith(f"{doc['content_id']}:en")


def test_malformed_and_unexpected_search_answers_are_recorded():
    spider = CsprpGovukSpider(options=OPTIONS)
    url = spider.search_url(0)
    assert list(spider.parse_search(fake_response(url, b"<html>oops"), start=0)) == []
    assert list(spider.parse_search(fake_response(url, b'{"results": "nope"}'), start=0)) == []
    assert [e.split(":")[0] for e in spider.errors] == [
        "malformed JSON (Expecting value", "Search API answer has no results list"]


def test_search_stops_at_total_and_on_an_empty_page():
    spider = CsprpGovukSpider(options={**OPTIONS, "page_size": 2})
    page = {"results": [{"link": "/a", "title": "A"}, {"link": "/b", "title": "B"}], "total": 3}
    out = list(spider.parse_search(fake_response(spider.search_url(0), json.dumps(page)), start=0))
    assert [r.url.rsplit("/", 1)[-1] for r in out] == ["a", "b", "search.json?filter_organisations=child-"
                                                       "safeguarding-practice-review-panel&order=-public_timestamp"
                                                       "&count=2&start=2&fields=title&fields=link&fields="
                                                       "description&fields=public_timestamp&fields="
                                                       "content_store_document_type"]
    last = {"results": [], "total": 3}
    assert list(spider.parse_search(fake_response(spider.search_url(2), json.dumps(last)), start=2)) == []


def test_missing_organisation_option_is_recorded():
    spider = CsprpGovukSpider(options={})
    result = crawl_offline(CsprpGovukSpider, SITE, {})
    assert result.items == [] and "organisation_slug is missing" in result.spider.errors[0]
    assert spider.errors == []


@pytest.mark.parametrize(("fields", "published", "precision"), [
    ({"details": {"public_timestamp": "2024-02-02T09:30:00.000+00:00"}, "public_updated_at": "2024-03-01T10:00:00Z"},
     "2024-02-02T09:30:00Z", "datetime"),
    ({"public_updated_at": "2024-03-01T10:00:00.000+00:00"}, "2024-03-01T10:00:00Z", "datetime"),
    ({"details": {"public_timestamp": "2024-02-02"}}, "2024-02-02", "day"),
    ({"first_published_at": "2019-04-05T10:00:00.000+01:00", "public_updated_at": "2024-03-01T10:00:00Z"},
     "2019-04-05T09:00:00Z", "datetime"),
])
def test_an_html_publication_without_first_published_at_is_dated_from_gov_uk_timestamps(fields, published,
                                                                                         precision):
    """An html_publication often lacks first_published_at: details.public_timestamp, else public_updated_at
    dates it, at the precision GOV.UK gives."""
    doc = {"base_path": "/government/publications/x/annual-report", "title": "Annual report",
           "document_type": "html_publication", "content_id": "abc", "locale": "en", **fields}
    pub = normalise(CsprpGovukSpider(options=OPTIONS).item_from_content(doc, {}))
    assert (pub.published_at, pub.published_precision) == (published, precision)
