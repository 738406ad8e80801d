import inspect
import json
import tracemalloc
from dataclasses import replace

import pytest

from pipeline.items.normalise import normalise
from pipeline.items.schema import PUBLICATION_COLUMNS, RawItem
from pipeline.outputs.period import parse_period
from storage.db import open_db
from storage.publications import store_batch
from storage.queries import (
    EXPORT_COLUMNS,
    Filters,
    QueryError,
    count_publications,
    fts_query,
    iter_publications,
    newest_stories,
    search,
    stories_between,
)
from tests.pipeline.outputs_data import NOW, build_db, publications

IDS = {key: pub.id for key, pub in publications().items()}
KEY = {v: k for k, v in IDS.items()}


@pytest.fixture
def db(tmp_path):
    return open_db(build_db(tmp_path / "t.db"))


@pytest.fixture
def flat_db(tmp_path):
    return open_db(build_db(tmp_path / "flat.db", clustered=False))


def keys(rows):
    return [KEY[r["id"]] for r in rows]


def period(since=None, until=None, **kw):
    return parse_period(since, until, NOW).filters(**kw)


# ---------------------------------------------------------------- search


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("neglect", '"neglect"'),
        ("child's \"safety\" - online", '"child\'s" "safety" "online"'),
        ("children (under 5)", '"children" "(under" "5)"'),
        ("covid-19", '"covid-19"'),
        ("neglect OR abuse", "neglect OR abuse"),
        ("safeguard*", "safeguard*"),
        ("title:review", "title:review"),
        ('"unbalanced', '"unbalanced'),
    ],
)
def test_fts_query_quotes_plain_text_and_passes_fts_syntax(text, match):
    assert fts_query(text) == match


def test_search_ranks_title_matches_first_and_highlights_terms(db):
    rows = search(db, "neglect")
    assert keys(rows)[0] == "withdrawn"  # the only title match
    assert set(keys(rows)) == {"withdrawn", "report", "briefing"}
    assert all("**neglect**" in r["snippet"].lower() for r in rows)
    assert [r["score"] for r in rows] == sorted(r["score"] for r in rows)


def test_search_filters(db):
    assert keys(search(db, "neglect", Filters(sources=("nspcc_learning",)))) == ["briefing"]
    assert keys(search(db, "neglect", Filters(content_types=("report",)))) == ["report"]
    assert set(keys(search(db, "neglect", period(since="2025-01-01")))) == {"withdrawn", "briefing"}
    assert keys(search(db, "neglect", period(since="2024-12-01", until="2024-12-31"))) == ["report"]
    assert len(search(db, "neglect", limit=1)) == 1


def test_search_reads_punctuated_user_text_as_words(db):
    assert search(db, "child's \"safety\" - online") == []  # searched, not a syntax error
    assert keys(search(db, 'annual - "safety"!')) == ["report"]
    assert keys(search(db, "<script>")) == ["report"]


@pytest.mark.parametrize("text", ['"unbalanced', "AND OR", "neglect NOT", "NEAR(neglect"])
def test_search_syntax_errors_are_query_errors(db, text):
    with pytest.raises(QueryError, match="cannot search for"):
        search(db, text)


@pytest.mark.parametrize(("text", "said"), [
    ("abuse AND", "'AND' at the end needs a word after it"),
    ("abuse OR", "'OR' at the end needs a word after it"),
    ("AND abuse", "'AND' needs a word before it"),
    ("abuse AND OR neglect", "'AND' needs a word after it, not 'OR'"),
    ("NOT abuse", "'NOT' at the start needs a word before it"),
    ('neglect OR "child abuse', "the double quote before 'child abuse' is not closed"),
    ("(abuse OR neglect", "a bracket '(' is not closed"),
    ("abuse OR neglect)", "a closing bracket ')' has no '(' before it"),
    ("author:smith OR abuse", "'author:' is not a field that can be searched"),
    ("child's OR abuse", "put \"child's\" in double quotes"),
])
def test_malformed_queries_are_explained_in_words(db, text, said):
    with pytest.raises(QueryError) as caught:
        search(db, text)
    assert said in str(caught.value)
    assert "fts5" not in str(caught.value) and 'near ""' not in str(caught.value)


@pytest.mark.parametrize("text", ["neglect OR abuse", "title:neglect", "NEAR(annual report, 5)", "neglect NOT abuse",
                                  "(neglect OR abuse) AND annual", 'neglect OR ""'])
def test_well_formed_fts_syntax_is_not_flagged(db, text):
    search(db, text)  # no QueryError


@pytest.mark.parametrize("limit", [0, -1, 10_001, 10**20])
def test_search_limit_is_bounded(db, limit):
    with pytest.raises(QueryError, match="between 1 and 10,000"):
        search(db, "neglect", limit=limit)


def _reference_search(db, match, filters=None, limit=20):
    """The ranking before ranking moved inside the index: every match joined, then sorted."""
    where, params = (filters or Filters()).where("p")
    return [r[0] for r in db.execute(
        f"""select p.id from publications_fts join publications p on p.rowid = publications_fts.rowid
            where publications_fts match ? and {where}
            order by bm25(publications_fts, 10.0, 4.0, 1.0), p.published_at desc, p.id limit ?""",
        [match, *params, limit])]


def test_ranking_inside_the_index_keeps_the_tie_break_by_date_then_id(tmp_path):
    # 60 publications with the same text tie on score: the order is then newest first, then id, and the
    # tie runs past the candidates ranked inside the index
    db = open_db(tmp_path / "ties.db")
    base = next(iter(publications().values()))
    pubs = [replace(base, id=f"s:{i:03d}", url=f"https://example.org/{i}", title="Neglect review",
                    published_at=None if i % 7 == 0 else f"2024-01-{1 + i % 28:02d}") for i in range(60)]
    store_batch(db, pubs, NOW)
    for limit in (1, 5, 20, 45):
        got = [r["id"] for r in search(db, "neglect", limit=limit)]
        assert got == _reference_search(db, '"neglect"', limit=limit)
        assert len(got) == limit


def test_ranking_inside_the_index_gives_the_same_results_as_before(db):
    for text in ("neglect", "report", "annual OR safety", "child*"):
        for filters in (Filters(), Filters(sources=("nspcc_learning",)), period(since="2025-01-01")):
            got = [r["id"] for r in search(db, text, filters, limit=3)]
            assert got == _reference_search(db, fts_query(text), filters, limit=3)


@pytest.mark.parametrize("text", ["", "  ", "-", "()"])
def test_search_without_words_is_a_query_error(db, text):
    with pytest.raises(QueryError, match="nothing to search for"):
        search(db, text)


# ---------------------------------------------------------------- date filters


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        # a day, month or year matches when it overlaps; undated publications never match
        ("2025-01-01", None, {"briefing", "month", "withdrawn"}),
        ("2024-12-12", "2024-12-12", {"report", "year"}),
        ("2024-12-13", "2024-12-31", {"year"}),
        # 00:01 BST on 1 July is 23:01 UTC on 30 June: it belongs to the UK's 1 July
        ("2024-07-01", "2024-07-01", {"summer", "year"}),
        ("2024-06-30", "2024-06-30", {"year"}),
        ("7d", None, {"briefing", "month", "withdrawn"}),
        (None, "2024-06-30", {"year"}),
        ("2024-12-12T09:30:00Z", "2024-12-12T09:30:01Z", {"report", "year"}),
        ("2024-12-12T09:30:01Z", "2024-12-12T23:00", {"year"}),
    ],
)
def test_period_filters(db, since, until, expected):
    rows = list(iter_publications(db, period(since, until)))
    assert set(keys(rows)) == expected
    assert count_publications(db, period(since, until)) == len(expected)


# ---------------------------------------------------------------- export


def test_iter_publications_streams_every_row_with_the_contract_columns(db):
    rows = iter_publications(db)
    assert inspect.isgenerator(rows)
    rows = list(rows)
    assert len(rows) == db.execute("select count(*) from publications").fetchone()[0] == count_publications(db)
    assert list(rows[0]) == list(EXPORT_COLUMNS) == list(PUBLICATION_COLUMNS)
    dated = [r["published_at"] for r in rows if r["published_at"]]
    assert dated == sorted(dated) and rows[-1]["published_at"] is None


def test_iter_publications_holds_one_row_at_a_time(tmp_path):
    db = open_db(tmp_path / "big.db")
    body = "word " * 1000  # 5 KB a row, 10 MB in all
    store_batch(db, [normalise(RawItem(source="s", url=f"https://example.org/{n}", title=f"T {n}",
                                       body_text=f"{n} {body}")) for n in range(2000)], "2025-01-01T00:00:00Z")

    def peak(consume):
        tracemalloc.start()
        try:
            consume(iter_publications(db))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    streamed = peak(lambda rows: sum(1 for _ in rows))
    held = peak(list)
    assert held > 10_000_000  # the measure sees a table held in memory...
    assert streamed < 1_000_000  # ...and streaming never holds it


# ---------------------------------------------------------------- stories


def test_without_clusters_every_publication_is_a_story(flat_db):
    stories = newest_stories(flat_db)
    assert [KEY[s.members[0]["id"]] for s in stories] == [
        "briefing", "month", "report", "review", "summer", "year", "undated"]  # withdrawn left out
    assert all(len(s.members) == 1 and s.cluster_id is None and s.id.startswith("publication:")
               for s in stories)
    assert len(newest_stories(flat_db, limit=2)) == 2


def test_a_cluster_is_one_story_with_every_member_in_date_order(db):
    stories = newest_stories(db)
    story = stories[0]
    assert (story.id, story.cluster_id, story.cluster_title) == ("cluster:1", 1, "Child safeguarding incidents")
    assert keys(story.members) == ["report", "briefing"]
    assert story.matched == {IDS["report"], IDS["briefing"]}
    assert len(stories) == 6


def test_stories_between_selects_by_matching_members_and_keeps_the_rest(db):
    stories = stories_between(db, period(since="7d"))
    assert [s.id for s in stories] == ["cluster:1", f"publication:{IDS['month']}"]
    assert keys(stories[0].members) == ["report", "briefing"]
    assert stories[0].matched == {IDS["briefing"]}
    assert stories_between(db, period(since="2020-01-01", until="2020-12-31")) == []


# ---------------------------------------------------------------- views


def test_views_group_stories_with_and_without_clusters(db, flat_db):
    stories = {r["story_id"]: r for r in db.query("select * from stories")}
    cluster = stories["cluster:1"]
    assert (cluster["title"], cluster["size"]) == ("Child safeguarding incidents", 2)
    assert set(cluster["sources"].split(",")) == {"csprp_govuk", "nspcc_learning"}
    assert [m["id"] for m in json.loads(cluster["members"])] == [IDS["report"], IDS["briefing"]]
    assert len(stories) == 7  # 8 publications, two in one story
    flat = list(flat_db.query("select * from stories"))
    assert len(flat) == 8 and all(r["size"] == 1 and r["story_id"].startswith("publication:") for r in flat)
    assert next(r for r in flat if r["story_id"] == f"publication:{IDS['report']}")["title"].startswith(
        "Annual report <script>")
    members = list(db.query("select * from story_members where story_id = 'cluster:1'"))
    assert {m["publication_id"] for m in members} == {IDS["report"], IDS["briefing"]}


def test_latest_publications_newest_first_with_story_title(db):
    rows = list(db.query("select * from latest_publications"))
    assert keys(rows)[:3] == ["briefing", "withdrawn", "month"] and keys(rows)[-1] == "undated"
    assert rows[0]["story_title"] == "Child safeguarding incidents" and rows[0]["source"] == "nspcc_learning"


def test_publication_changes_since_a_date(db):
    changed = replace(publications()["month"], title="Podcast: online safety (updated)", content_hash="changed")
    store_batch(db, [changed], "2025-01-08T07:00:00Z")
    rows = list(db.query("select * from publication_changes where changed_at >= ?", ["2025-01-08"]))
    assert len(rows) == 1
    assert (rows[0]["publication_id"], rows[0]["old_title"], rows[0]["title"]) == (
        IDS["month"], "Podcast: online safety", "Podcast: online safety (updated)")
    assert (rows[0]["old_version"], rows[0]["new_version"]) == (1, 2)
    assert list(db.query("select * from publication_changes where changed_at >= '2025-01-09'")) == []


def test_monthly_counts_use_uk_months(db):
    store_batch(db, [normalise(RawItem(source="csprp_govuk", url="https://www.gov.uk/winter", title="Winter",
                                       published="2024-11-30T23:30:00Z"))], "2025-01-08T00:00:00Z")
    counts = {(r["month"], r["source"]): r["publications"] for r in db.query("select * from monthly_counts")}
    assert counts[("2024-07", "csprp_govuk")] == 1  # 23:01 UTC on 30 June is 1 July in BST
    assert counts[("2024-11", "csprp_govuk")] == 2  # 23:30 UTC on 30 November is still November (GMT)
    assert counts[("2025-01", "nspcc_learning")] == 2
    assert counts[("2024", "csprp_govuk")] == 1 and counts[(None, "csprp_govuk")] == 1
    assert sum(counts.values()) == db.execute("select count(*) from publications").fetchone()[0]


def test_a_month_dated_publication_is_digest_news_once(db):
    """It overlaps every week of its month; a digest counts it only if found since the period began."""
    later_week = {"since": "2025-01-08", "until": "2025-01-14"}
    assert IDS["month"] in {p for s in stories_between(db, period(**later_week)) for p in s.matched}
    digest_filters = period(**later_week, coarse_found_since=True)
    assert IDS["month"] not in {p for s in stories_between(db, digest_filters) for p in s.matched}
    this_week = period(since="7d", coarse_found_since=True)  # first found on 7 January: this week's news
    assert IDS["month"] in {p for s in stories_between(db, this_week) for p in s.matched}
