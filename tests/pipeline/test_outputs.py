import csv
import io
import json
from datetime import UTC, datetime
from html.parser import HTMLParser

import feedparser
import pytest
from markdown_it import MarkdownIt

from pipeline.items.dates import start_of
from pipeline.outputs import BadInput
from pipeline.outputs.digest import digest_html, digest_markdown, md, render_digest
from pipeline.outputs.export import write_export
from pipeline.outputs.feed import build_feed, entry_id
from pipeline.outputs.period import Period, parse_moment, parse_period
from pipeline.outputs.present import date_text, link_label, present
from pipeline.outputs.search import results_json, results_text
from storage.db import open_db
from storage.queries import EXPORT_COLUMNS, Story, iter_publications, newest_stories, search, stories_between
from tests.pipeline.outputs_data import HOSTILE_SUMMARY, HOSTILE_TITLE, NAMES, NOW, build_db, publications

IDS = {key: pub.id for key, pub in publications().items()}


@pytest.fixture
def db(tmp_path):
    return open_db(build_db(tmp_path / "t.db"))


@pytest.fixture
def flat_db(tmp_path):
    return open_db(build_db(tmp_path / "flat.db", clustered=False))


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7d", utc(2025, 1, 1, 12)),
        ("24h", utc(2025, 1, 7, 12)),
        ("2w", utc(2024, 12, 25, 12)),
        (" 3D ", utc(2025, 1, 5, 12)),
        ("2024-12-01", utc(2024, 12, 1)),  # midnight in London (GMT)
        ("2024-07-01", utc(2024, 6, 30, 23)),  # midnight in London (BST)
        ("2024-07-01T09:30", utc(2024, 7, 1, 8, 30)),  # a time without offset is UK time
        ("2024-07-01T09:30:00Z", utc(2024, 7, 1, 9, 30)),
        ("2024-07-01T09:30:00+02:00", utc(2024, 7, 1, 7, 30)),
    ],
)
def test_parse_moment(value, expected):
    assert parse_moment(value, NOW, "--since") == expected


def test_until_a_date_includes_that_whole_uk_day():
    period = parse_period("2024-12-01", "2024-12-31", NOW)
    assert (period.start, period.end) == (utc(2024, 12, 1), utc(2025, 1, 1))
    assert (period.first_day().isoformat(), period.last_day().isoformat()) == ("2024-12-01", "2024-12-31")
    assert period.filters().until == ("2025-01-01T00:00:00Z", "2024-12-31")


def test_a_digest_period_ends_now_unless_told():
    assert parse_period("7d", None, NOW).end is None
    assert parse_period("7d", None, NOW, open_end=False).end == NOW


def test_until_the_end_of_time_is_no_end_and_year_one_is_refused():
    assert parse_period("2024-01-01", "9999-12-31", NOW).end is None
    assert parse_period(None, "9999-12-31T23:59:59", NOW).end is None
    with pytest.raises(BadInput, match="--since: '0001-01-01' is outside the dates this tool handles"):
        parse_period("0001-01-01", None, NOW)


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("yesterday", None, "--since: cannot read 'yesterday' as a date or an age"),
        ("7x", None, "--since: cannot read '7x'"),
        ("2024-13-01", None, "--since: cannot read '2024-13-01'"),
        ("123456d", None, "--since: cannot read '123456d'"),
        (None, "soon", "--until: cannot read 'soon'"),
        ("2024-12-31", "2024-12-01", "--since 2024-12-31 is not before --until 2024-12-01"),
    ],
)
def test_bad_periods_are_one_clear_message(since, until, message):
    with pytest.raises(BadInput) as info:
        parse_period(since, until, NOW)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_a_digest_since_the_future_is_bad_input():
    with pytest.raises(BadInput, match="--since 2025-02-01 is in the future"):
        parse_period("2025-02-01", None, NOW, open_end=False)


# ---------------------------------------------------------------- presentation


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("2024-12-12T09:30:00Z", "12 December 2024"),
        ("2024-06-30T23:01:00Z", "01 July 2024"),  # UK date of a BST datetime
        ("2025-01-06", "06 January 2025"),
        ("2025-01", "January 2025"),
        ("2024", "2024"),
        (None, ""),
        ("garbage", ""),
    ],
)
def test_date_text(value, text):
    assert date_text(value) == text


def test_start_of_every_precision():
    assert start_of("2024-12-12T09:30:00Z") == utc(2024, 12, 12, 9, 30)
    assert start_of("2024-07-01") == utc(2024, 6, 30, 23)
    assert start_of("2025-01") == utc(2025, 1, 1)
    assert start_of("2024") == utc(2024, 1, 1)
    assert start_of(None) is None and start_of("nonsense") is None


def test_link_labels_by_content_type():
    assert link_label("press_release") == "Read the press release"
    assert link_label("news") == "Read the news story"
    assert link_label("other") == link_label(None) == "Read more"


def test_present_a_story_told_by_two_sources(db):
    story = stories_between(db, parse_period("7d", None, NOW).filters())[0]
    view = present(story, NAMES)
    assert view.heading == "Child safeguarding incidents"
    # both dated to the day: this week's news (the briefing) leads, with its summary; links from the other
    # source say where they are
    assert [(s.organisation, s.published) for s in view.sources] == [
        ("NSPCC Learning", "06 January 2025"), ("Child Safeguarding Practice Review Panel", "12 December 2024")]
    assert view.summary.startswith("NSPCC Learning has published a CASPAR briefing")
    assert [(link.label, link.url) for link in view.links] == [
        ("Read the briefing", "https://learning.nspcc.org.uk/research-resources/briefings/annual-report"),
        ("Read more on Child Safeguarding Practice Review Panel",
         "https://www.gov.uk/government/publications/annual-report-2023-to-2024"),
        ("Read the report on Child Safeguarding Practice Review Panel",
         "https://assets.publishing.service.gov.uk/r.pdf"),  # the javascript: document is dropped
    ]
    assert view.links[2].note == "PDF, 1.7 MB"
    assert (view.published, view.updated) == (utc(2024, 12, 12, 9, 30), utc(2025, 1, 6))


def test_present_falls_back_to_the_slug_and_the_text(flat_db):
    story = next(s for s in newest_stories(flat_db) if s.members[0]["id"] == IDS["review"])
    view = present(story, {})
    assert view.sources[0].organisation == "csprp_govuk"
    assert view.summary.startswith("A national review into child sexual abuse")  # no summary: the text


def test_present_caps_documents_and_removes_control_characters():
    member = {"id": "s:1", "source": "s", "url": "https://example.org/stats", "title": "Stats \x1b[31m\x00",
              "summary": "", "body_text": "", "content_type": "statistics", "published_at": None,
              "published_precision": None, "updated_at": None, "first_seen_at": "2025-01-01T00:00:00Z",
              "cluster_id": None,
              "documents": json.dumps([{"title": f"Table {n}", "url": f"https://example.org/t{n}.csv"}
                                       for n in range(8)])}
    view = present(Story("publication:s:1", None, None, [member], {"s:1"}), {})
    assert view.heading == "Stats [31m"
    assert [link.label for link in view.links] == ["Read more"] + ["Read the statistics"] * 5 + [
        "More documents"]
    assert view.links[-1].note == "3 more"


# ---------------------------------------------------------------- digest


def test_markdown_escaping():
    assert md("<script>alert(1)</script> & [x](javascript:y) *b* _i_ `c`") == (
        r"\<script\>alert(1)\</script\> \& \[x\](javascript:y) \*b\* \_i\_ \`c\`")
    assert md("# not a heading") == r"\# not a heading"
    assert md("1. not a list") == r"1\. not a list"


def rendered_markdown(text):
    return MarkdownIt("commonmark").render(text)  # raw HTML allowed: anything unescaped would show


class Tags(HTMLParser):
    def __init__(self, page):
        super().__init__()
        self.tags, self.hrefs, self.text = [], [], []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.hrefs += [v for k, v in attrs if k == "href"]
        assert not [k for k, _ in attrs if k.startswith("on")], attrs

    def handle_data(self, data):
        self.text.append(data)


def test_markdown_digest_reads_like_a_caspar_alert_and_injects_nothing(db):
    period = parse_period("2024-11-01", None, NOW, open_end=False)
    text = render_digest(stories_between(db, period.filters()), NAMES, period, "md")
    assert text.startswith("# Safeguarding digest: 01 November 2024 to 08 January 2025\n\n"
                           "4 stories from 2 sources, published 01 November 2024 to 08 January 2025.\n")
    # no topics given: each story under the heading "Other news", its title a heading below it
    assert ("## Other news\n\n### Child safeguarding incidents\n\n"
            "Source: Child Safeguarding Practice Review Panel · Date published: 12 December 2024\n\n"
            "Source: NSPCC Learning · Date published: 06 January 2025\n\n") in text
    assert "Source: NSPCC Learning · Date published: January 2025" in text
    assert "Source: Child Safeguarding Practice Review Panel · Date published: 2024" in text
    assert ("Read the briefing on NSPCC Learning: [CASPAR briefing: Child Safeguarding Practice Review Panel "
            "annual report 2023/24](https://learning.nspcc.org.uk/research-resources/briefings/annual-report)\n"
            ) in text
    assert "Withdrawn" not in text and "Terminal" not in text  # withdrawn and undated are not news
    page = Tags(rendered_markdown(text))
    assert set(page.tags) <= {"h1", "h2", "h3", "p", "a"}
    assert all(href.startswith("https://") for href in page.hrefs) and len(page.hrefs) == 6
    shown = "".join(page.text)
    assert HOSTILE_TITLE in shown and HOSTILE_SUMMARY in shown  # shown as written, never interpreted


def test_html_digest_is_one_safe_self_contained_page(db):
    period = parse_period("2024-11-01", None, NOW, open_end=False)
    page = render_digest(stories_between(db, period.filters()), NAMES, period, "html")
    tags = Tags(page)
    assert "script" not in tags.tags and "img" not in tags.tags
    assert set(tags.tags) == {"html", "head", "meta", "title", "style", "body", "h1", "p", "article", "h2",
                              "ul", "li", "a"}
    assert all(href.startswith("https://") for href in tags.hrefs)
    assert "Content-Security-Policy" in page and "default-src &#x27;none&#x27;" in page
    assert ("Annual report &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;safety&quot; "
            "[click](javascript:alert(1)) *now*") in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    shown = "".join(tags.text)
    assert HOSTILE_TITLE in shown and HOSTILE_SUMMARY in shown
    assert "<h2>Child safeguarding incidents</h2>" in page


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_an_empty_period_says_so(db, fmt):
    period = parse_period("2020-01-01", "2020-01-31", NOW)
    text = render_digest(stories_between(db, period.filters()), NAMES, period, fmt)
    assert "No publications dated 01 January 2020 to 31 January 2020: nothing new in this period." in text


def test_digest_formats_share_their_content():
    assert digest_markdown([], Period(utc(2025, 1, 1), utc(2025, 1, 2))).startswith(
        "# Safeguarding digest: 01 January 2025\n")
    assert "<title>Safeguarding digest: 01 January 2025</title>" in digest_html(
        [], Period(utc(2025, 1, 1), utc(2025, 1, 2)))


# ---------------------------------------------------------------- feed


def test_feed_is_valid_atom_with_one_entry_per_story(db):
    document = build_feed(newest_stories(db), NAMES, NOW)
    feed = feedparser.parse(document)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    # the latest entry's time (the undated item's first sighting), not the build time
    assert feed.feed.updated_parsed == max(e.updated_parsed for e in feed.entries) != NOW.timetuple()
    assert len(feed.entries) == 6
    story = feed.entries[0]
    assert story.title == "Child safeguarding incidents"
    assert story.id == "tag:safeguarding-news,2025:publication/csprp_govuk%3Areport"
    assert story.updated_parsed[:3] == (2025, 1, 6) and story.published_parsed[:4] == (2024, 12, 12, 9)
    assert [(link.rel, link.href) for link in story.links] == [
        ("alternate", "https://www.gov.uk/government/publications/annual-report-2023-to-2024"),
        ("related", "https://learning.nspcc.org.uk/research-resources/briefings/annual-report")]
    assert [a.name for a in story.authors] == ["Child Safeguarding Practice Review Panel", "NSPCC Learning"]
    content = story.content[0]
    assert content.type == "text/html"
    tags = Tags(content.value)
    assert "script" not in tags.tags and "img" not in tags.tags
    assert HOSTILE_SUMMARY in "".join(tags.text)
    # in the feed the earliest member (the report) leads; the briefing's link says where it is
    assert "Read more: <a" in content.value and "Read the briefing on NSPCC Learning: <a" in content.value
    titles = [e.title for e in feed.entries]
    assert HOSTILE_TITLE not in titles  # a story's heading is its cluster's title...
    assert "Terminal [31mred[0m title" in titles  # ...and control characters never reach the XML


def test_feed_entry_ids_are_stable_and_survive_clustering(db, flat_db):
    flat = {e.title: e.id for e in feedparser.parse(build_feed(newest_stories(flat_db), NAMES, NOW)).entries}
    clustered = feedparser.parse(build_feed(newest_stories(db), NAMES, utc(2030, 1, 1))).entries
    # grouping the briefing with the report keeps the report's entry, now updated, rather than a new one
    assert clustered[0].id == flat[HOSTILE_TITLE]
    assert {e.id for e in clustered} < set(flat.values())
    assert entry_id(newest_stories(db)[0]) == clustered[0].id


def test_an_empty_feed_is_still_valid(tmp_path):
    feed = feedparser.parse(build_feed([], NAMES, NOW))
    assert not feed.bozo and feed.entries == [] and feed.feed.updated_parsed[:3] == (2025, 1, 8)


# ---------------------------------------------------------------- export and search results


def export(db, fmt):
    out = io.StringIO(newline="")
    count = write_export(iter_publications(db), EXPORT_COLUMNS, fmt, out)
    return count, out.getvalue()


def test_csv_export_round_trips_hostile_text(db):
    count, text = export(db, "csv")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert count == len(rows) == db.execute("select count(*) from publications").fetchone()[0]
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    report = next(r for r in rows if r["id"] == IDS["report"])
    assert (report["title"], report["summary"]) == (HOSTILE_TITLE, HOSTILE_SUMMARY)
    assert json.loads(report["documents"])[0]["size"] == "1.7 MB"


def test_csv_export_defuses_spreadsheet_formulas():
    out = io.StringIO(newline="")
    write_export([{"title": "=HYPERLINK(\"https://evil\")", "summary": "-1", "version": 2}],
                 ("title", "summary", "version"), "csv", out)
    assert out.getvalue().splitlines()[1] == "\"'=HYPERLINK(\"\"https://evil\"\")\",'-1,2"


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_exports_keep_values_exactly(db, fmt):
    count, text = export(db, fmt)
    records = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    assert count == len(records) == db.execute("select count(*) from publications").fetchone()[0]
    report = next(r for r in records if r["id"] == IDS["report"])
    assert (report["title"], report["summary"]) == (HOSTILE_TITLE, HOSTILE_SUMMARY)
    assert report["documents"][0]["title"] == "Annual report <PDF> & annex"  # nested, not a JSON string
    assert list(report) == list(EXPORT_COLUMNS)


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_an_empty_export_is_valid(fmt):
    out = io.StringIO(newline="")
    assert write_export(iter([]), EXPORT_COLUMNS, fmt, out) == 0
    assert {"csv": ",".join(EXPORT_COLUMNS) + "\r\n", "json": "[]\n", "jsonl": ""}[fmt] == out.getvalue()


def test_exports_write_rows_as_they_come():
    def rows():
        yield {"id": "a", "title": "first"}
        raise RuntimeError("the database went away")

    for fmt in ("csv", "json", "jsonl"):
        out = io.StringIO()
        with pytest.raises(RuntimeError):
            write_export(rows(), ("id", "title"), fmt, out)
        assert "first" in out.getvalue()


def test_search_results_as_text_and_json(db):
    rows = search(db, "script")
    text = results_text(rows)
    assert text.startswith("1. " + HOSTILE_TITLE + "\n   csprp_govuk · report · 12 December 2024\n")
    assert "**script**" in text
    records = json.loads(results_json(rows))
    assert records[0]["rank"] == 1 and records[0]["title"] == HOSTILE_TITLE
    terminal = results_text(search(db, "terminal"))
    assert "\x1b" not in terminal and "Terminal [31mred[0m title" in terminal


# ---------------------------------------------------------------- stats


def test_stats_tables_show_every_month_of_the_range_with_totals():
    from pipeline.outputs.stats import months_between, pivot, render_counts, table

    assert months_between("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    rows = [{"month": "2024-12", "key": "a", "n": 2}, {"month": "2025-02", "key": "b", "n": 3}]
    months, keys, counts = pivot(rows, first="2024-11")
    assert months == ["2024-11", "2024-12", "2025-01", "2025-02"] and keys == ["b", "a"]
    lines = table(months, keys, counts, {"a": "Alpha"}).splitlines()
    assert lines[0].split() == ["month", "b", "Alpha", "total"]
    assert lines[2].split() == ["2024-11", "0", "0", "0"] and lines[-1].split() == ["total", "3", "2", "5"]
    drawn = render_counts(rows, "topic", {}, True, 60)
    assert "(primary topic)" in drawn and "█" in drawn and "\x1b[" not in drawn  # no colour codes in a pipe
    assert render_counts([], "source", {}, True, 60) == "Publications per month per source: no dated publications"
