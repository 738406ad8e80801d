"""Over every recorded site: topic headings over every story, a December 2024 digest a reader cannot
misread (each place with its own date and site, the most precise date first), --topic on every output,
Atom categories, and `stats`."""

import csv
import io
import json
import re

import feedparser
import pytest

from tests.support import CONFIG, FIXTURES, query, run_cli

pytestmark = pytest.mark.e2e
SOURCES = ["csprp_govuk", "csprp_panel_site", "nspcc_learning", "childrens_commissioner", "iwf"]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("topics") / "all.db"
    for slug in SOURCES:
        result = run_cli("crawl", "--source", slug, "--replay", str(FIXTURES / slug), "--db", str(path),
                         "--config", str(CONFIG))
        assert result.exit_code in (0, 1), result.output  # 1: a partial run (fixtures with faults)
    assert run_cli("topics", "reassign", "--db", str(path), "--config", str(CONFIG)).exit_code == 0
    return path


def cli(db, *args):
    result = run_cli(*args, "--db", str(db), "--config", str(CONFIG))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_every_story_has_a_topic_heading_and_the_seed_headings_appear(db):
    text = cli(db, "digest", "--since", "2000-01-01", "--until", "2030-12-31")
    blocks = text.split("\n\n")
    stories = [i for i, b in enumerate(blocks) if b.startswith("### ")]
    assert len(stories) >= 20
    assert all(blocks[i - 1].startswith("## ") for i in stories)  # a topic heading right above each
    headings = {b[3:] for b in blocks if b.startswith("## ")}
    assert {"Child safeguarding incidents", "Intrafamilial child sexual abuse",
            "Children with Complex Needs"} <= headings
    grouped = cli(db, "digest", "--since", "2000-01-01", "--until", "2030-12-31", "--group-by-topic")
    topic_lines = [line for line in grouped.splitlines() if line.startswith("## ")]
    assert len(topic_lines) == len(set(topic_lines)) < len(stories)  # each topic once
    page = cli(db, "digest", "--since", "2000-01-01", "--until", "2030-12-31", "--group-by-topic", "--format", "html")
    groups = re.findall(r'<h2 class="group">([^<]+)</h2>', page)
    assert len(groups) == len(topic_lines) and page.count("<h3>") == len(stories) and "<p class=\"topic\">" not in page


def test_december_2024_cannot_be_misread(db):
    text = cli(db, "digest", "--since", "2024-12-01", "--until", "2024-12-31")
    stories = ["### " + part for part in text.split("\n### ")[1:]]
    annual = next(s for s in stories if "on GOV.UK · Date published: 12 December 2024" in s)  # the Panel's report
    # the Panel's report in its two homes, each with its own date and where it is
    assert ("Source: Child Safeguarding Practice Review Panel on GOV.UK · Date published: 12 December 2024"
            in annual)
    assert ("Source: Child Safeguarding Practice Review Panel on childsafeguarding.independent-panel.uk · "
            "Date published: 02 February 2024") in annual
    assert annual.index("on GOV.UK · Date published: 12 December 2024") < annual.index("02 February 2024")
    read_more = [line.split(":")[0] for line in annual.splitlines() if line.startswith("Read more")]
    assert "Read more on GOV.UK" in read_more and "Read more on childsafeguarding.independent-panel.uk" in read_more
    assert len(set(read_more)) == len(read_more)  # no two links read the same
    # the national review: NSPCC's briefing is dated only "2024": a dated home leads, with its summary
    review = next(s for s in stories if s.startswith("### “I wanted them all to notice”"))
    sources = [line for line in review.split("\n\n") if line.startswith("Source: ")][:3]
    assert not sources[0].endswith("Date published: 2024")
    assert sources[-1] == "Source: NSPCC Learning · Date published: 2024"
    summary = next(b for b in review.split("\n\n")[1:] if not b.startswith(("Source:", "Read ", "#")))
    assert not summary.startswith("A summary of the Child Safeguarding Practice Review Panel")


def test_topic_filters_every_output(db):
    ids = {r["publication_id"] for r in query(db, "select publication_id from publication_topics "
                                                 "where topic = 'online-csa'")}
    assert ids
    exported = list(csv.DictReader(io.StringIO(cli(db, "export", "--topic", "online-csa"))))
    assert {r["id"] for r in exported} == ids
    both = list(csv.DictReader(io.StringIO(cli(db, "export", "--topic", "online-csa", "--topic", "neglect"))))
    assert len(both) >= len(exported)
    found = json.loads(cli(db, "search", "abuse", "--topic", "Online child sexual abuse", "--json"))
    assert found and {r["id"] for r in found} <= ids
    feed = feedparser.parse(cli(db, "feed", "--topic", "online-csa"))
    assert feed.entries and all("online-csa" in [t.term for t in e.tags] for e in feed.entries)
    digest = cli(db, "digest", "--since", "2000-01-01", "--until", "2030-12-31", "--topic", "online-csa")
    assert "## Online child sexual abuse" in digest and "Panel: annual report" not in digest
    bad = run_cli("export", "--topic", "nonsense", "--db", str(db), "--config", str(CONFIG))
    assert bad.exit_code == 2 and bad.stderr.startswith("error: unknown topic 'nonsense'; topics: ")


def test_atom_entries_carry_their_topics_as_categories(db):
    feed = feedparser.parse(cli(db, "feed", "--limit", "200"))
    tagged = [e for e in feed.entries if e.get("tags")]
    assert len(tagged) >= 20
    review = next(e for e in feed.entries if e.title.startswith("“I wanted them all to notice”"))
    assert review.tags[0].term == "intrafamilial-csa" and review.tags[0].label == "Intrafamilial child sexual abuse"
    assert review.tags[0].scheme == "tag:safeguarding-news,2025:topics"


def test_stats_prints_tables_and_charts(db):
    text = cli(db, "stats", "--since", "2024-01", "--until", "2024-12", "--width", "80")
    assert text.count("Publications per month per") >= 4  # two tables, two chart titles
    table = text.split("\n\n")[1].splitlines()
    assert table[0].split()[0] == "month" and "csprp_govuk" in table[0] and table[0].split()[-1] == "total"
    assert [line.split()[0] for line in table[2:]] == [f"2024-{m:02d}" for m in range(1, 13)] + ["total"]
    december = dict(zip(table[0].split(), table[-2].split(), strict=True))
    dated = query(db, "select count(*) n from publications where published_at like '2024-12%' "
                      "and withdrawn_at is null")[0]["n"]
    assert int(december["total"]) == dated
    assert "Child safeguarding incidents" in text and re.search(r"[█▇▆▅▄▃▂▁]", text) and "\x1b[" not in text
    only_topics = cli(db, "stats", "--by", "topic", "--no-chart")
    assert "per topic" in only_topics and "per source" not in only_topics and "█" not in only_topics
    bad = run_cli("stats", "--since", "2024", "--db", str(db), "--config", str(CONFIG))
    assert bad.exit_code == 2 and "expected a month as YYYY-MM" in bad.stderr
