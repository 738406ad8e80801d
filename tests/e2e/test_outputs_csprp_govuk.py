"""After crawling the recorded GOV.UK site, every analyst command gives a correct, safe output."""

import csv
import io
import json
from html.parser import HTMLParser

import feedparser
import pytest

from tests.support import CONFIG, FIXTURES, query, run_cli

pytestmark = pytest.mark.e2e
ANNUAL = "Child Safeguarding Practice Review Panel: annual report 2023 to 2024"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("outputs") / "x.db"
    result = run_cli("crawl", "--source", "csprp_govuk", "--replay", str(FIXTURES / "csprp_govuk"),
                     "--db", str(path), "--config", str(CONFIG))
    assert result.exit_code == 0, result.output
    return path


def cli(db, *args):
    result = run_cli(*args, "--db", str(db), "--config", str(CONFIG))
    assert result.exit_code == 0, result.output
    return result


def test_search(db):
    records = json.loads(cli(db, "search", "annual report", "--json").stdout)
    assert {r["title"] for r in records[:2]} == {ANNUAL, ANNUAL.replace("2023 to 2024", "2022 to 2023")}
    assert all("**annual**" in r["snippet"].lower() for r in records[:2])
    only_reviews = json.loads(cli(db, "search", "child", "--type", "review", "--json").stdout)
    assert only_reviews and {r["content_type"] for r in only_reviews} == {"review"}
    bad = run_cli("search", '"unbalanced', "--db", str(db), "--config", str(CONFIG))
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.output


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_export(db, tmp_path, fmt):
    out = tmp_path / f"all.{fmt}"
    cli(db, "export", "--format", fmt, "--out", str(out))
    text = out.read_bytes().decode("utf-8")
    rows = (list(csv.DictReader(io.StringIO(text, newline=""))) if fmt == "csv" else
            json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()])
    assert len(rows) == query(db, "select count(*) n from publications")[0]["n"] == 7
    annual = next(r for r in rows if r["title"] == ANNUAL)
    assert annual["published_at"] == "2024-12-12T09:30:00Z"
    documents = json.loads(annual["documents"]) if fmt == "csv" else annual["documents"]
    assert [(d["size"], d["pages"]) for d in documents] == [("1.7 MB", 168)]


def test_feed(db):
    feed = feedparser.parse(cli(db, "feed").stdout.encode("utf-8"))
    assert not feed.bozo, feed.get("bozo_exception")
    live = query(db, "select count(*) n from publications where withdrawn_at is null")[0]["n"]
    assert len(feed.entries) == live == 7  # one entry per story; withdrawn publications left out
    first = feed.entries[0]
    assert first.title == ANNUAL and first.updated_parsed[:5] == (2024, 12, 12, 9, 30)
    assert first.link == "https://www.gov.uk/government/publications/" \
                         "child-safeguarding-practice-review-panel-annual-report-2023-to-2024"
    assert feed.feed.updated_parsed == first.updated_parsed
    assert len({e.id for e in feed.entries}) == 7
    # the Panel's own publications only: no other organisation's GOV.UK examples (tests/fixtures/_govuk_types)
    assert all("safeguard" in e.link or "i-wanted-them-all-to-notice" in e.link for e in feed.entries)


def test_digest_markdown(db):
    text = cli(db, "digest", "--since", "2024-01-01", "--until", "2024-12-31").stdout
    assert text.startswith("# Safeguarding digest: 01 January 2024 to 31 December 2024\n\n"
                           "3 stories from 1 source, published 01 January 2024 to 31 December 2024.")
    assert f"## {ANNUAL}\n\nSource: Child Safeguarding Practice Review Panel · Date published: 12 December 2024" \
           in text
    assert ("Read the report: [Child Safeguarding Practice Review Panel annual report 2023 to 2024]"
            "(https://assets.publishing.service.gov.uk/media/675a9c1e4f2b3d0011c8e7a1/"
            "CSPRP_annual_report_2023_to_2024.pdf) (PDF, 1.7 MB, 168 pages)") in text  # number_of_pages shown
    # published 00:00 BST on 1 April 2019 (23:00 UTC the day before): the UK date is shown
    april = cli(db, "digest", "--since", "2019-04-01", "--until", "2019-04-01").stdout
    assert "Date published: 01 April 2019" in april and "practice guidance" in april


def test_digest_html(db, tmp_path):
    out = tmp_path / "digest.html"
    cli(db, "digest", "--since", "2024-01-01", "--until", "2024-12-31", "--format", "html", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    tags = []
    parser = HTMLParser()
    parser.handle_starttag = lambda tag, attrs: tags.append(tag)
    parser.feed(page)
    assert tags.count("article") == 3 and "script" not in tags
    assert "&#x27;" in page  # "The panel's annual report": values are escaped
