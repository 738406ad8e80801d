import pytest

from pipeline.items.dates import parse_date
from pipeline.items.normalise import InvalidItem, content_type_for, human_size, normalise
from pipeline.items.schema import RawItem
from pipeline.items.text import html_to_text
from pipeline.items.urls import canonical_url


@pytest.mark.parametrize(
    ("raw", "iso", "precision"),
    [
        ("Last updated: 05 Oct 2020", "2020-10-05", "day"),  # NSPCC article
        ("Published:  Sun 2 Feb 2025", "2025-02-02", "day"),  # IWF article, double space as on the site
        ("Published 20 February 2019", "2019-02-20", "day"),  # GOV.UK HTML
        ("Updated 9 May 2024", "2024-05-09", "day"),
        ("16 April 2024", "2024-04-16", "day"),  # Commissioner listing
        ("9 March 2026 Blog", "2026-03-09", "day"),  # IWF listing card
        ("2014-01-15T17:38:00.000+00:00", "2014-01-15T17:38:00Z", "datetime"),
        ("2026-09-02T11:00:02+01:00", "2026-09-02T10:00:02Z", "datetime"),  # BST offset to UTC
        ("2016-02-25T16:10:40Z", "2016-02-25T16:10:40Z", "datetime"),
        ("2024-07-01T10:00:00", "2024-07-01T09:00:00Z", "datetime"),  # naive: UK local (BST)
        ("2024-01-10T10:00:00", "2024-01-10T10:00:00Z", "datetime"),  # naive: UK local (GMT)
        ("2024-07-01", "2024-07-01", "day"),
        ("02/03/2024", "2024-03-02", "day"),  # UK day-first
        ("2020/october", "2020-10", "month"),  # NSPCC URL
        ("January 2024", "2024-01", "month"),
        ("2024-12", "2024-12", "month"),
        ("(Published 2022)", "2022", "year"),  # NSPCC research listing
        ("2019", "2019", "year"),
    ],
)
def test_parse_date_formats(raw, iso, precision):
    parsed = parse_date(raw)
    assert parsed is not None, raw
    assert (parsed.iso, parsed.precision) == (iso, precision)


@pytest.mark.parametrize("raw", ["", None, "   ", "nonsense", "5 March", "Topics: News", "2020/smarch"])
def test_parse_date_rejects_non_dates(raw):
    assert parse_date(raw) is None


@pytest.mark.parametrize(
    ("url", "rule", "expected"),
    [
        ("HTTP://WWW.Gov.UK/a/b?b=2&a=1#frag", "keep", "https://www.gov.uk/a/b?a=1&b=2"),
        ("https://x.org/a?utm_source=n&utm_medium=e&id=3&fbclid=zz", "keep", "https://x.org/a?id=3"),
        ("https://x.org/a?gclid=1&mc_cid=2&mc_eid=3", "keep", "https://x.org/a"),
        ("https://x.org/news/a/", "strip", "https://x.org/news/a"),
        ("https://x.org/news/a", "add", "https://x.org/news/a/"),
        ("https://x.org/files/report.pdf", "add", "https://x.org/files/report.pdf"),
        ("https://x.org/", "strip", "https://x.org/"),
        ("https://x.org/news/a/", "keep", "https://x.org/news/a/"),
        ("  ", "keep", ""),
    ],
)
def test_canonical_url(url, rule, expected):
    assert canonical_url(url, rule) == expected


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("corporate_report", "report"), ("independent_report", "report"), ("news_story", "news"),
        ("press_release", "press_release"), ("Press notice", "press_release"), ("Podcast", "podcast"),
        ("Blog", "blog"), ("official_statistics", "statistics"), ("open_consultation", "consultation"),
        ("correspondence", "correspondence"), ("Annual report", "report"), ("briefing", "briefing"),
        ("something new", "other"), ("", "other"), (None, "other"),
    ],
)
def test_content_type_for(label, expected):
    assert content_type_for(label) == expected


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>Hello &amp; <b>bye</b></p><p>Two</p>", "Hello & bye\nTwo"),
        ("<div><script>alert(1)</script><style>p{}</style>Text</div>", "Text"),
        ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
        ("plain &quot;text&quot;   with  spaces", 'plain "text" with spaces'),
        ("<p>cut off mid <b>tag", "cut off mid tag"),
        ("", ""),
        (None, ""),
    ],
)
def test_html_to_text(markup, expected):
    assert html_to_text(markup) == expected


def test_human_size():
    assert human_size(1782579) == "1.7 MB"
    assert human_size(2048) == "2 KB"
    assert human_size(500) == "500 bytes"


def _item(**kw):
    base = {"source": "test", "url": "https://example.org/a", "title": "A title", "published": "16 April 2024"}
    return RawItem(**{**base, **kw})


def test_normalise_full_item():
    pub = normalise(_item(
        natural_key="42", title="  Press notice: &amp; more  ", summary="<p>Sum &amp; mary</p>",
        body_html="<p>Body</p><p>text</p>", source_type="Press notice", updated="Last updated: 20 Apr 2024",
        topics=["News", " News ", ""], language="EN",
        documents=[{"title": "Report", "url": "https://example.org/r.pdf#p2", "file_type": "pdf", "size": 2048},
                   {"title": "dup", "url": "https://example.org/r.pdf"}],
        links=["https://www.gov.uk/x?utm_source=a", "https://www.gov.uk/x"],
    ))
    assert pub.id == "test:42"
    assert pub.title == "Press notice: & more"
    assert pub.summary == "Sum & mary"
    assert pub.body_text == "Body\ntext"
    assert (pub.published_at, pub.published_precision) == ("2024-04-16", "day")
    assert pub.updated_at == "2024-04-20"
    assert pub.content_type == "press_release"
    assert pub.topics == ("News",)
    assert [(d.title, d.url, d.file_type, d.size) for d in pub.documents] == [
        ("Report", "https://example.org/r.pdf", "PDF", "2 KB")]
    assert pub.links == ("https://www.gov.uk/x",)
    assert pub.language == "en"


def test_natural_key_defaults_to_canonical_url():
    assert normalise(_item(url="https://Example.org/a?utm_source=x")).id == "test:https://example.org/a"


def test_explicit_content_type_overrides_label():
    assert normalise(_item(source_type="independent_report", content_type="review")).content_type == "review"


def test_updated_before_published_is_clamped():
    pub = normalise(_item(published="2016-12-25T00:15:06.000+00:00", updated="2016-12-25T00:15:02.000+00:00"))
    assert pub.updated_at == pub.published_at == "2016-12-25T00:15:06Z"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"title": "   "}, "no title"),
        ({"title": "<p> </p>"}, "no title"),
        ({"url": ""}, "no usable URL"),
        ({"url": "mailto:x@y.org"}, "no usable URL"),
        ({"published": "the other day"}, "unreadable date"),
    ],
)
def test_invalid_items_name_the_problem(kw, message):
    with pytest.raises(InvalidItem, match=message):
        normalise(_item(**kw))


def test_content_hash_ignores_markup_and_changes_with_content():
    a = normalise(_item(body_html="<p>Same text</p>"))
    b = normalise(_item(body_html="<div class='new'><p>Same   text</p></div>"))
    c = normalise(_item(body_html="<p>Other text</p>"))
    assert a.content_hash == b.content_hash
    assert a.content_hash != c.content_hash


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        # issue 22: a title that is a JSON list, a date that is a number: AttributeError, the item lost uncounted
        ({"title": ["Report", "of the panel"]}, r"title is list, not text \(\['Report', 'of the panel'\]\)"),
        ({"published": 20240101}, r"published is int, not text \(20240101\)"),
        ({"updated": 1.7e9}, "updated is float, not text"),
        ({"summary": {"text": "x"}}, "summary is dict, not text"),
        ({"topics": "News"}, "topics is str, not a list"),
        ({"documents": [1]}, r"documents holds a int \(1\)"),
        ({"links": [None]}, "links holds a NoneType"),
        # issue 22: year 0001 stored as "1-01-01T…", year 9999 pinned the Atom feed's first place
        ({"published": "0001-01-01T00:00:00Z"}, r"published date out of range \(year 1, not 1900 to 2100\)"),
        ({"published": "9999-12-31"}, r"published date out of range \(year 9999"),
        ({"published": "1899-12-31"}, "published date out of range"),
        ({"updated": "9999-12-31T23:59:59Z"}, "updated date out of range"),
        ({"withdrawn": "0001-01-01"}, "withdrawn date out of range"),
    ],
)
def test_values_of_the_wrong_kind_or_out_of_range_are_invalid_naming_the_field(kw, message):
    with pytest.raises(InvalidItem, match=message):
        normalise(_item(**kw))


def test_none_is_read_as_empty_and_bounds_are_inclusive():
    pub = normalise(_item(summary=None, topics=None, published="1900-01-01", updated="2100-12-31"))
    assert (pub.summary, pub.topics, pub.published_at, pub.updated_at) == ("", (), "1900-01-01", "2100-12-31")


def test_parse_date_day_month_year_fast_path_reads_as_dateutil():
    """"5 March 2024" and "March 2024" are read without dateutil; every day (valid or not) of every month
    name, in every case, gives what the two dateutil readings give."""
    from dateutil import parser as dateparser

    from pipeline.items.dates import _DEFAULT_A, _DEFAULT_B, MONTHS, ParsedDate, _parse_date

    def by_dateutil(text: str) -> ParsedDate | None:
        try:
            a = dateparser.parse(text, default=_DEFAULT_A, dayfirst=True, fuzzy=True)
            b = dateparser.parse(text, default=_DEFAULT_B, dayfirst=True, fuzzy=True)
        except (ValueError, OverflowError):
            return None
        if a.day != b.day:
            return ParsedDate(f"{a.year:04d}-{a.month:02d}", "month")
        assert (a.hour, a.minute) != (b.hour, b.minute)
        return ParsedDate(a.date().isoformat(), "day")

    for name in [*MONTHS, *(m.upper() for m in MONTHS), *(m.capitalize() for m in MONTHS)]:
        for year in (1900, 2024, 2099):
            for day in (None, 0, 1, 9, "09", 28, 29, 30, 31, 32):
                text = f"{name} {year}" if day is None else f"{day} {name} {year}"
                assert _parse_date(text) == by_dateutil(text), text
