"""The search index beside the database (storage/search_index.py): built from SQLite, kept in step with
what is stored, changed and deleted, searched with the same filters and errors as FTS5, and FTS5 when it
cannot answer (missing, behind, locked, broken, another database's, syntax it does not read)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from pipeline.items.normalise import normalise
from pipeline.items.schema import RawItem
from pipeline.items.text import html_to_text
from pipeline.outputs.period import parse_period
from storage import search_index
from storage.db import open_db
from storage.publications import store_batch
from storage.queries import Filters, QueryError
from storage.queries import search as fts5_search
from tests.pipeline.outputs_data import NOW, build_db, publications
from tests.support import FIXTURES, ROOT, run_cli

IDS = {key: pub.id for key, pub in publications().items()}
KEY = {v: k for k, v in IDS.items()}


def keys(rows):
    return [KEY[r["id"]] for r in rows]


@pytest.fixture(autouse=True)
def index_answers_few_matches_too(monkeypatch):
    """These databases are small: every search has fewer matches than FTS5_BELOW, so FTS5 would answer;
    here the index answers whatever the number (test_few_matches_are_ranked_by_fts5 keeps the default)."""
    monkeypatch.setattr(search_index, "FTS5_BELOW", 0)


@pytest.fixture
def db(tmp_path):
    database = open_db(build_db(tmp_path / "t.db"))
    search_index.rebuild(database)
    return database


def test_the_index_is_a_folder_beside_the_database_and_answers(db, tmp_path):
    assert (tmp_path / "t.db.search" / "meta.json").is_file()
    answer = search_index.search(db, "neglect")
    assert answer.engine == "tantivy" and not answer.problem
    assert keys(answer.rows)[0] == "withdrawn"  # the only title match
    assert set(keys(answer.rows)) == {"withdrawn", "report", "briefing"}
    assert all("**neglect**" in r["snippet"].lower() for r in answer.rows)
    assert [r["score"] for r in answer.rows] == sorted(r["score"] for r in answer.rows)
    assert set(answer.rows[0]) == set(fts5_search(db, "neglect")[0])  # the same fields as FTS5's rows


@pytest.mark.parametrize("text", ["neglect", "annual report", '"annual report"', "neglect OR abuse",
                                  "(neglect OR abuse) AND annual", "neglect NOT withdrawn", "safety", "<script>",
                                  "child's \"safety\" - online"])
@pytest.mark.parametrize("filters", [Filters(), Filters(sources=("nspcc_learning",)),
                                     Filters(content_types=("report", "news")),
                                     parse_period("2025-01-01", None, NOW).filters(),
                                     parse_period("2024-12-01", "2024-12-31", NOW).filters()])
def test_the_index_finds_and_ranks_what_fts5_does_with_the_same_filters(db, text, filters):
    answer = search_index.search(db, text, filters)
    assert answer.engine == "tantivy"
    _same_as_fts5(answer.rows, fts5_search(db, text, filters))


def _same_as_fts5(rows, expected):
    """The same publications in the same order, with FTS5's bm25 (to rounding) and the same fields."""
    assert [r["id"] for r in rows] == [r["id"] for r in expected]
    assert [r["score"] for r in rows] == pytest.approx([r["score"] for r in expected], rel=1e-9, abs=1e-15)
    assert [{k: v for k, v in r.items() if k != "score"} for r in rows] == \
        [{k: v for k, v in r.items() if k != "score"} for r in expected]


def test_topic_filters_are_checked_in_sqlite(db):
    db.execute("insert into publication_topics (publication_id, topic, method, is_primary) values (?, ?, ?, 1)",
               [IDS["briefing"], "neglect", "rule"])
    db.conn.commit()
    answer = search_index.search(db, "neglect", Filters(topics=("neglect",)))
    assert answer.engine == "tantivy" and keys(answer.rows) == ["briefing"]


@pytest.mark.parametrize("text", ["title:neglect", "neglect*", "NEAR(annual report, 5)"])
def test_syntax_the_index_does_not_read_is_answered_by_fts5(db, text):
    answer = search_index.search(db, text)
    assert answer.engine == "fts5" and "does not read" in answer.note and not answer.problem
    assert answer.rows == fts5_search(db, text)


@pytest.mark.parametrize(("text", "said"), [("abuse OR", "'OR' at the end needs a word after it"),
                                            ('neglect OR "child abuse', "the double quote"),
                                            ("author:smith OR abuse", "'author:' is not a field")])
def test_query_errors_are_the_same_words(db, text, said):
    with pytest.raises(QueryError, match=said):
        search_index.search(db, text)


def test_the_limit_and_the_tie_break_by_date_then_id(tmp_path):
    db = open_db(tmp_path / "ties.db")
    base = next(iter(publications().values()))
    pubs = [replace(base, id=f"s:{i:03d}", url=f"https://example.org/{i}", title="Neglect review",
                    published_at=None if i % 7 == 0 else f"2024-01-{1 + i % 28:02d}") for i in range(60)]
    store_batch(db, pubs, NOW)
    search_index.rebuild(db)
    for limit in (1, 5, 20):
        answer = search_index.search(db, "neglect", limit=limit)
        assert answer.engine == "tantivy"
        assert [r["id"] for r in answer.rows] == [r["id"] for r in fts5_search(db, "neglect", limit=limit)]


def _item(key: str, title: str, body: str) -> RawItem:
    return RawItem(source="csprp_govuk", natural_key=key, url=f"https://www.gov.uk/government/news/{key}",
                   title=title, summary="", body_text=body, source_type="news_story", published="2025-01-02")


def test_new_changed_and_deleted_publications_are_read_by_the_next_search(db, tmp_path):
    before = json.loads((tmp_path / "t.db.search" / search_index.STATE_FILE).read_text())
    store_batch(db, [normalise(_item("new", "Kinship care", "Grandparents raising children."))], NOW)
    answer = search_index.search(db, "grandparents")
    assert answer.engine == "tantivy" and [r["title"] for r in answer.rows] == ["Kinship care"]
    # the same publication with other text: found by its new words, no longer by the old ones
    store_batch(db, [normalise(_item("new", "Kinship care", "Aunts and uncles raising children."))],
                "2025-01-09T06:00:00Z")
    assert [r["title"] for r in search_index.search(db, "uncles").rows] == ["Kinship care"]
    assert search_index.search(db, "grandparents").rows == []
    db.execute("delete from publications where id = ?", [IDS["withdrawn"]])
    db.conn.commit()
    answer = search_index.search(db, "neglect")
    assert answer.engine == "tantivy" and "withdrawn" not in keys(answer.rows)
    after = json.loads((tmp_path / "t.db.search" / search_index.STATE_FILE).read_text())
    assert after["max_rowid"] > before["max_rowid"] and after["change_id"] > before["change_id"]
    assert search_index.update(db) == 0  # up to date: nothing to read
    assert sorted(r["id"] for r in search_index.search(db, "children OR neglect", limit=50).rows) == \
        sorted(r["id"] for r in fts5_search(db, "children OR neglect", limit=50))


def test_far_behind_the_search_uses_fts5_and_says_to_update(db, monkeypatch):
    monkeypatch.setattr(search_index, "CATCH_UP_MAX", 1)
    store_batch(db, [normalise(_item(f"n{i}", f"Kinship care {i}", "Grandparents.")) for i in range(3)], NOW)
    answer = search_index.search(db, "grandparents")
    assert answer.engine == "fts5" and answer.problem and "3 publications behind" in answer.note
    assert len(answer.rows) == 3
    assert search_index.update(db) == 3
    assert search_index.search(db, "grandparents").engine == "tantivy"


def test_few_matches_are_ranked_by_fts5(db, monkeypatch):
    monkeypatch.setattr(search_index, "FTS5_BELOW", 10_000)
    answer = search_index.search(db, "neglect")
    assert answer.engine == "fts5" and not answer.problem and "at most 3 matches" in answer.note
    assert answer.rows == fts5_search(db, "neglect")


def test_no_index_means_fts5_without_a_problem(tmp_path):
    db = open_db(build_db(tmp_path / "plain.db"))
    answer = search_index.search(db, "neglect")
    assert answer.engine == "fts5" and not answer.problem and "no search index" in answer.note
    assert answer.rows == fts5_search(db, "neglect")


def test_a_broken_index_means_fts5_and_a_note_never_a_traceback(db, tmp_path):
    (tmp_path / "t.db.search" / "meta.json").write_text("{not json")
    answer = search_index.search(db, "neglect")
    assert answer.engine == "fts5" and answer.problem and "rebuild" in answer.note
    assert answer.rows == fts5_search(db, "neglect")
    search_index.rebuild(db)
    assert search_index.search(db, "neglect").engine == "tantivy"


def test_a_rebuild_replaces_the_index_whole_and_clears_a_build_killed_half_way(db, tmp_path):
    killed = tmp_path / "t.db.search.building-999999999"  # no such process
    killed.mkdir()
    (killed / "segment").write_text("half")
    assert search_index.rebuild(db) == 8
    assert not killed.exists() and sorted(p.name for p in tmp_path.iterdir() if ".search" in p.name) == ["t.db.search"]
    assert search_index.search(db, "neglect").engine == "tantivy"


def test_an_index_of_another_database_is_not_used(db, tmp_path):
    other = open_db(tmp_path / "other.db")
    store_batch(other, [normalise(_item("other", "Kinship care", "Grandparents raising children."))], NOW)
    search_index.rebuild(other, tmp_path / "t.db.search")  # built from another file, at t.db's path
    answer = search_index.search(db, "neglect")
    assert answer.engine == "fts5" and answer.problem and "another database" in answer.note


def test_an_index_locked_by_another_process_is_still_read_and_never_blocks(db, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from storage import search_index
        import tantivy
        index = search_index._open(tantivy, search_index.Path({str(tmp_path / 't.db.search')!r}))
        writer = index.writer(heap_size=15_000_000, num_threads=1)
        print("locked", flush=True)
        sys.stdin.readline()
        """)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert search_index.search(db, "neglect").engine == "tantivy"  # up to date: read while locked
        store_batch(db, [normalise(_item("new", "Kinship care", "Grandparents raising children."))], NOW)
        answer = search_index.search(db, "grandparents")  # behind and locked: FTS5 answers, right
        assert answer.engine == "fts5" and answer.problem and "another process" in answer.note
        assert [r["title"] for r in answer.rows] == ["Kinship care"]
    finally:
        holder.communicate("\n", timeout=30)
    assert search_index.search(db, "grandparents").engine == "tantivy"


# ---------------------------------------------------------------- ranking: FTS5's, on real GOV.UK documents


@pytest.fixture
def govuk(tmp_path):
    """The real GOV.UK Content API documents (tests/fixtures/_govuk_types, byte for byte from realdata):
    title, description, body."""
    items = []
    for path in sorted((FIXTURES / "_govuk_types" / "content").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not doc.get("title"):  # the 'gone' and 'redirect' documents: nothing to search
            continue
        items.append(RawItem(source="csprp_govuk", natural_key=path.stem, url=f"https://www.gov.uk/{path.stem}",
                             title=doc["title"], summary=doc.get("description") or "",
                             body_text=html_to_text(doc.get("details", {}).get("body")),
                             source_type=doc.get("document_type") or "guidance",
                             published=doc.get("first_published_at")))
    db = open_db(tmp_path / "govuk.db")
    store_batch(db, [normalise(i) for i in items], NOW)
    search_index.rebuild(db)
    return db


@pytest.mark.parametrize("limit", [1, 3, 20])
def test_the_real_documents_are_ranked_as_fts5_ranks_them(govuk, limit):
    # every word of the real titles, alone, in pairs and as a phrase: the index's answer is FTS5's, in
    # order and score (its best candidates scored again with FTS5's bm25)
    titles = [r["title"] for r in govuk.query("select title from publications")]
    words = sorted({w for t in titles for w in re.findall(r"[a-z]{4,}", t.lower())})
    queries = [*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False)),
               *(f'"{t.split(":")[0]}"' for t in titles), "review OR guidance", "children NOT sexual"]
    for text in queries:
        answer = search_index.search(govuk, text, limit=limit)
        assert answer.engine == "tantivy"
        _same_as_fts5(answer.rows, fts5_search(govuk, text, limit=limit))


def test_words_in_most_publications_rank_as_fts5_ranks_them(tmp_path):
    # "children" in every publication and "kinship" in two: FTS5 gives a word in half the rows or more a
    # weight of 1e-6, tantivy never does; the index's candidates are weighed with FTS5's idf and scored
    # again with its formula, so the order is FTS5's
    db = open_db(tmp_path / "idf.db")
    filler = [normalise(_item(f"f{i}", f"Annual report {i}", "Children and families." * (i % 4 + 1)))
              for i in range(10)]
    store_batch(db, [*filler, normalise(_item("a", "Report", "Kinship kinship care for children.")),
                     normalise(_item("b", "Report", "Kinship care for children, children."))], NOW)
    search_index.rebuild(db)
    for text in ("kinship children", "children", "annual children", "report"):
        answer = search_index.search(db, text)
        assert answer.engine == "tantivy"
        _same_as_fts5(answer.rows, fts5_search(db, text))


# ---------------------------------------------------------------- the commands


def test_search_index_command_builds_updates_and_search_says_which_engine(tmp_path):
    path = build_db(tmp_path / "cli.db")
    result = run_cli("search", "neglect", "--db", str(path), "--verbose")
    assert result.exit_code == 0 and "answered by SQLite FTS5" in result.stderr
    result = run_cli("search-index", "--db", str(path))
    assert result.exit_code == 0 and "built from 8 publications" in result.output
    result = run_cli("search", "neglect", "--db", str(path), "--verbose", "--json")
    assert result.exit_code == 0 and "answered by search index (tantivy)" in result.stderr
    assert [r["rank"] for r in json.loads(result.stdout)] == [1, 2, 3]
    result = run_cli("search-index", "--db", str(path))
    assert result.exit_code == 0 and "already up to date" in result.output
    (path.parent / "cli.db.search" / search_index.STATE_FILE).write_text("{}")
    result = run_cli("search", "neglect", "--db", str(path))
    assert result.exit_code == 0 and "note: answered by SQLite FTS5" in result.stderr
    result = run_cli("search-index", "--db", str(path))
    assert result.exit_code == 0 and "rebuilt" in result.output
    result = run_cli("search", "neglect OR", "--db", str(path))
    assert result.exit_code == 2 and "'OR' at the end needs a word after it" in result.output + result.stderr
