import json
import sqlite3

import pytest

from pipeline.items.normalise import normalise
from pipeline.items.schema import RawItem
from storage.db import StorageError, open_db
from storage.migrations import migrations
from storage.publications import store_batch
from storage.runs import close_dead_runs, get_run, start_run, update_run

CONTRACT = {
    "publications": {"id", "source", "url", "title", "summary", "body_text", "content_type", "source_type",
                     "published_at", "published_precision", "updated_at", "topics", "documents",
                     "first_seen_at", "last_seen_at", "content_hash", "version", "cluster_id", "withdrawn_at"},
    "publication_versions": {"publication_id", "version", "seen_at"},
    "runs": {"id", "source", "started_at", "finished_at", "status", "pages", "items", "new", "updated",
             "unchanged", "invalid", "errors", "http_errors", "message"},
    "alerts": {"id", "source", "run_id", "kind", "message", "raised_at", "resolved_at"},
    "clusters": {"id", "title", "first_published_at", "size"},
}


def pub(n=1, **kw):
    fields = {"source": "s", "url": f"https://example.org/{n}", "title": f"Title {n}",
              "summary": "A summary", "body_html": "<p>Body about neglect</p>", "published": "2024-04-16",
              **kw}
    return normalise(RawItem(**fields))


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "t.db")
    yield database
    database.close()


def test_contract_tables_and_wal(db):
    for table, columns in CONTRACT.items():
        assert columns <= set(db[table].columns_dict), table
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert "publications_fts" in db.table_names()


def test_new_unchanged_changed(db):
    first = store_batch(db, [pub(1), pub(2)], "2025-01-01T00:00:00Z")
    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    again = store_batch(db, [pub(1), pub(2)], "2025-01-02T00:00:00Z")
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    row = db["publications"].get("s:https://example.org/1")
    assert (row["version"], row["first_seen_at"], row["last_seen_at"]) == (
        1, "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z")
    assert db["publication_versions"].count == 0

    changed = store_batch(db, [pub(1, title="Title 1 (revised)")], "2025-01-03T00:00:00Z")
    assert changed.updated == 1
    row = db["publications"].get("s:https://example.org/1")
    assert (row["title"], row["version"], row["first_seen_at"]) == ("Title 1 (revised)", 2, "2025-01-01T00:00:00Z")
    old = list(db.query("select * from publication_versions"))
    assert len(old) == 1
    assert old[0]["version"] == 1 and old[0]["title"] == "Title 1"
    assert json.loads(old[0]["changed_fields"]) == ["title"]
    assert (old[0]["seen_at"], old[0]["replaced_at"]) == ("2025-01-02T00:00:00Z", "2025-01-03T00:00:00Z")


def test_full_text_index_stays_in_step(db):
    store_batch(db, [pub(1), pub(2, body_html="<p>Online harms</p>")], "2025-01-01T00:00:00Z")
    search = "select p.id from publications_fts f join publications p on p.rowid = f.rowid " \
             "where publications_fts match ?"
    assert [r["id"] for r in db.query(search, ["neglect"])] == ["s:https://example.org/1"]
    store_batch(db, [pub(1, body_html="<p>Now about exploitation</p>")], "2025-01-02T00:00:00Z")
    assert list(db.query(search, ["neglect"])) == []
    assert [r["id"] for r in db.query(search, ["exploitation"])] == ["s:https://example.org/1"]


def test_a_failed_batch_writes_nothing(db):
    # the second row's insert fails inside SQLite (a temporary trigger raises, as a full disk would)
    db.execute("create temp trigger fail_second before insert on publications when new.url like '%/2' "
                "begin select raise(abort, 'disk I/O error'); end")
    with pytest.raises(sqlite3.DatabaseError, match="disk I/O error"):
        store_batch(db, [pub(1), pub(2)], "2025-01-01T00:00:00Z")
    assert db["publications"].count == 0
    assert db.execute("select count(*) from publications_fts").fetchone()[0] == 0
    assert db.execute("select after_rowid from fts_deferred").fetchone()[0] is None, "indexing no longer deferred"
    db.execute("drop trigger fail_second")
    store_batch(db, [pub(1), pub(2)], "2025-01-01T00:00:00Z")
    assert db.execute("select count(*) from publications_fts where publications_fts match 'neglect'"
                      ).fetchone()[0] == 2


def test_old_database_upgrades_in_place(tmp_path):
    path = tmp_path / "old.db"
    old = open_db(path, migrate=False)
    migrations.apply(old, stop_before="m002_search_and_run_details")
    assert "publications_fts" not in old.table_names()
    old["publications"].insert({"id": "s:1", "source": "s", "url": "https://example.org/1", "title": "Kept",
                                "content_hash": "h", "version": 1, "first_seen_at": "2024-01-01T00:00:00Z",
                                "last_seen_at": "2024-01-01T00:00:00Z"})
    old.close()
    upgraded = open_db(path)
    assert upgraded["publications"].get("s:1")["title"] == "Kept"
    assert {"language", "links"} <= set(upgraded["publications"].columns_dict)
    hits = list(upgraded.query("select rowid from publications_fts where publications_fts match 'kept'"))
    assert len(hits) == 1, "existing rows are indexed by the upgrade"
    assert not migrations.pending(upgraded)


def test_runs_lifecycle_and_dead_runs(db):
    run_id = start_run(db, "s", "2025-01-01T00:00:00Z", pid=None)
    assert get_run(db, run_id)["status"] == "running"
    update_run(db, run_id, items=3, http_errors={"500": 2})
    assert json.loads(get_run(db, run_id)["http_errors"]) == {"500": 2}
    alive = start_run(db, "t", "2025-01-01T00:00:00Z", pid=123)
    closed = close_dead_runs(db, "2025-01-01T01:00:00Z", is_alive=lambda pid: pid == 123)
    assert closed == [run_id]
    assert get_run(db, run_id)["status"] == "interrupted"
    assert get_run(db, run_id)["finished_at"] == "2025-01-01T01:00:00Z"
    assert get_run(db, alive)["status"] == "running"


def test_unopenable_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="cannot open database"):
        open_db(bad)


def test_same_publication_through_another_door_keeps_its_row(db):
    store_batch(db, [pub(1, natural_key="wp-17")], "2025-01-01T00:00:00Z")
    # the feed gives no post id, only the link: the same canonical URL of the same source is the same row
    result = store_batch(db, [pub(1, url="https://EXAMPLE.org/1?utm_source=feed")], "2025-01-02T00:00:00Z")
    assert (result.new, result.unchanged) == (0, 1)
    rows = list(db.query("select id, last_seen_at from publications"))
    assert rows == [{"id": "s:wp-17", "last_seen_at": "2025-01-02T00:00:00Z"}]
    other_source = store_batch(db, [pub(1, source="t")], "2025-01-03T00:00:00Z")
    assert other_source.new == 1, "another source's copy is its own publication"


def test_touching_a_publication_does_not_rewrite_its_text_index(db):
    store_batch(db, [pub(1)], "2025-01-01T00:00:00Z")
    changes = db.execute("select total_changes()").fetchone()[0]
    db.execute("update publications set last_seen_at = 'x', cluster_id = 7")
    # one row updated; the full-text index (whose writes count too) is not touched
    assert db.execute("select total_changes()").fetchone()[0] - changes == 1
    store_batch(db, [pub(1, title="Renamed")], "2025-01-02T00:00:00Z")
    hits = list(db.query("select rowid from publications_fts where publications_fts match 'renamed'"))
    assert len(hits) == 1


def _fts_consistent(db):
    db.execute("insert into publications_fts (publications_fts, rank) values ('integrity-check', 1)")
    return db.execute("select count(*) from publications_fts").fetchone()[0]


def test_deferred_indexing_gives_the_index_the_triggers_would(db, tmp_path):
    from storage.publications import store_many

    now = "2025-01-01T00:00:00Z"
    store_batch(db, [pub(1), pub(2)], now)
    # a batch with new rows, an unchanged one, a changed one, and one publication met twice (new, then changed)
    batch = [pub(3), pub(1), pub(2, body_html="<p>Now about exploitation</p>"), pub(4),
             pub(4, body_html="<p>Exploitation and neglect</p>")]
    result = store_batch(db, batch, "2025-01-02T00:00:00Z")
    assert (result.new, result.unchanged, result.updated) == (2, 1, 2)
    assert _fts_consistent(db) == 4
    cache = db.execute("pragma cache_size").fetchone()[0]
    many = store_many(db, (pub(n) for n in range(5, 2505)), now, chunk=700)
    assert many.new == 2500 and _fts_consistent(db) == 2504
    assert db.execute("pragma cache_size").fetchone()[0] == cache, "the bulk load's larger page cache is given back"
    # a writer that is not storage (an analyst's insert) is still indexed by the trigger
    db.execute("insert into publications (id, source, url, title, first_seen_at, last_seen_at, content_hash) "
               "values ('x:1', 'x', 'https://example.org/x', 'Hand-written neglect note', ?, ?, 'h')", [now, now])
    assert _fts_consistent(db) == 2505
    hits = db.execute("select count(*) from publications_fts where publications_fts match 'exploitation'")
    assert hits.fetchone()[0] == 2
    db.execute("delete from publications where id = 'x:1'")
    assert _fts_consistent(db) == 2504


def _fts_hashsize(db):
    row = db.execute("select v from publications_fts_config where k = 'hashsize'").fetchone()
    return None if row is None else int(row[0])


def test_bulk_load_gathers_more_terms_per_index_segment_and_puts_the_setting_back(db, tmp_path):
    from storage.publications import BULK_FTS_HASH_BYTES, FTS_DEFAULT_HASH_BYTES, store_many

    now = "2025-01-01T00:00:00Z"
    seen_during = []

    def pubs():
        for n in range(300):
            if n == 150:
                seen_during.append(_fts_hashsize(db))
            yield pub(n, body_html=f"<p>Body {n} about neglect and {'exploitation' if n % 3 else 'grooming'}</p>")

    assert _fts_hashsize(db) is None  # FTS5's default, 1 MiB
    store_many(db, pubs(), now, chunk=100)
    assert seen_during == [BULK_FTS_HASH_BYTES]
    assert _fts_hashsize(db) == FTS_DEFAULT_HASH_BYTES
    assert _fts_consistent(db) == 300

    # the same publications stored by a crawl's batches give the same index: the same matches, same ranks
    other = open_db(tmp_path / "batches.db")
    for first in range(0, 300, 100):
        store_batch(other, [pub(n, body_html=f"<p>Body {n} about neglect and "
                                             f"{'exploitation' if n % 3 else 'grooming'}</p>")
                            for n in range(first, first + 100)], now)
    query = ("select p.id, round(bm25(publications_fts), 6) from publications_fts "
             "join publications p on p.rowid = publications_fts.rowid where publications_fts match ? "
             "order by 2, 1")
    for words in ("grooming", "neglect", "body exploitation", '"about neglect"'):
        assert db.execute(query, [words]).fetchall() == other.execute(query, [words]).fetchall(), words
    assert len(db.execute(query, ["grooming"]).fetchall()) == 100
    other.close()


def test_a_failed_bulk_load_leaves_neither_rows_nor_the_larger_setting(db):
    from storage.publications import store_many

    def pubs():
        yield from (pub(n) for n in range(50))
        raise RuntimeError("the import's source broke")

    db.execute("insert into publications_fts (publications_fts, rank) values ('hashsize', 2097152)")
    with pytest.raises(RuntimeError, match="source broke"):
        store_many(db, pubs(), "2025-01-01T00:00:00Z", chunk=20)
    assert db["publications"].count == 0 and _fts_consistent(db) == 0
    assert _fts_hashsize(db) == 2097152
    store_many(db, (pub(n) for n in range(10)), "2025-01-01T00:00:00Z")  # and the next load works
    assert _fts_hashsize(db) == 2097152 and _fts_consistent(db) == 10


def test_a_load_into_an_empty_table_finds_what_it_stored_in_an_earlier_chunk(tmp_path):
    """``store_many`` into an empty table looks up only what it stored itself: a publication met again in a
    later chunk (changed, unchanged, or through another id with the same URL) is found all the same, and the
    tables end as a crawl's batches leave them."""
    from dataclasses import replace

    from storage.publications import store_many

    first = [pub(n) for n in range(8)]
    again = [pub(2, title="Title 2 (revised)"), pub(3), replace(pub(4), id="s:another-door"),
             pub(5, body_html="<p></p>")]
    sequence = first[:4] + again[:1] + first[4:] + again[1:] + [pub(9)]
    now = "2025-01-01T00:00:00Z"
    bulk, batches = open_db(tmp_path / "bulk.db"), open_db(tmp_path / "batches.db")
    many = store_many(bulk, sequence, now, chunk=3)
    for i in range(0, len(sequence), 3):
        store_batch(batches, sequence[i:i + 3], now)
    assert (many.new, many.updated, many.unchanged) == (9, 1, 3)
    assert many.kept_body == ["https://example.org/5"]

    def rows(db):
        return (db.execute("select * from publications order by id").fetchall(),
                db.execute("select * from publication_versions order by publication_id, version").fetchall())

    assert rows(bulk) == rows(batches)
    assert bulk["publications"].get("s:https://example.org/2")["version"] == 2
    assert _fts_consistent(bulk) == 9
    hits = bulk.execute("select count(*) from publications_fts where publications_fts match 'revised'")
    assert hits.fetchone()[0] == 1
    bulk.close(), batches.close()
