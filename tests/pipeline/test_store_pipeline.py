"""The item pipeline's writer thread (issue 19): batches are written while the crawl goes on, one in flight,
a full buffer waits for it, and at close the last batch is written before the run's closing write.

A real SQLite file, a real second connection holding the write lock (as an analyst's program would), the
real pipeline; no mock."""

import sqlite3
import threading
import time

from scrapy import Spider
from scrapy.utils.test import get_crawler

from pipeline.crawl.store_pipeline import StorePipeline
from pipeline.items.schema import RawItem
from storage import runs
from storage.db import open_db
from tests.support import query

SOURCE = "wp_test"


class _Spider(Spider):
    name = SOURCE


def item(n: int) -> RawItem:
    return RawItem(source=SOURCE, url=f"https://example.org/news/{n}", title=f"Publication {n}",
                   natural_key=str(n), body_html=f"<p>Paragraph one of {n}.</p><p>Two.</p>",
                   published=f"2025-03-0{1 + n % 9}T10:00:00Z")


def pipeline_for(tmp_path, batch_size: int = 5) -> tuple[StorePipeline, object, int]:
    db_path = tmp_path / "x.db"
    db = open_db(db_path)
    run_id = runs.start_run(db, SOURCE, "2026-01-01T00:00:00Z", pid=None)
    db.close()
    crawler = get_crawler(_Spider, {"SGN_RUN_ID": run_id, "SGN_DB_PATH": str(db_path), "SGN_BATCH_SIZE": batch_size})
    return StorePipeline(crawler), db_path, run_id


def write_lock(db_path) -> sqlite3.Connection:
    holder = sqlite3.connect(db_path, isolation_level=None, timeout=30, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_batch_is_written_while_the_crawl_goes_on(tmp_path):
    """The database is write-locked by another program: a full batch is handed to the writer thread and
    the crawl carries on (before, the reactor waited on the lock); once the lock goes, every item is stored
    and the run row is closed after the last batch, with the counts of all of them."""
    pipe, db_path, run_id = pipeline_for(tmp_path)
    holder = write_lock(db_path)
    try:
        for n in range(8):  # one batch of 5 in flight, 3 buffered
            assert pipe.process_item(item(n)).natural_key == str(n)
        assert pipe.pending is not None and not pipe.pending.done()
        assert len(pipe.buffer) == 3
        assert query(db_path, "select count(*) n from publications")[0]["n"] == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    pipe.spider_closed(_Spider(), "finished")
    assert {r["id"] for r in query(db_path, "select id from publications")} == {f"{SOURCE}:{n}" for n in range(8)}
    [run] = query(db_path, "select status, items, new, finished_at from runs where id = ?", [run_id])
    assert (run["status"], run["items"], run["new"]) == ("ok", 8, 8) and run["finished_at"]
    assert not pipe.writer._threads or all(not t.is_alive() for t in pipe.writer._threads)  # shut down


def test_a_full_buffer_waits_for_the_batch_in_flight(tmp_path):
    """Back-pressure: with one batch in flight and the next one full, the item that fills it waits until
    the first is written, so that at most two batches are held in memory."""
    pipe, db_path, _ = pipeline_for(tmp_path)
    holder = write_lock(db_path)
    for n in range(9):  # 5 in flight, 4 buffered: nothing waits yet
        pipe.process_item(item(n))
    released = threading.Event()

    def release() -> None:
        time.sleep(1.0)
        holder.execute("ROLLBACK")
        holder.close()
        released.set()

    threading.Thread(target=release).start()
    started = time.monotonic()
    pipe.process_item(item(9))  # fills the second batch: waits for the first
    waited = time.monotonic() - started
    assert released.is_set() and waited >= 0.5, waited
    assert query(db_path, "select count(*) n from publications")[0]["n"] >= 5
    assert pipe.buffer == [] and pipe.pending is not None  # the second batch handed over in turn
    pipe.spider_closed(_Spider(), "finished")
    assert query(db_path, "select count(*) n from publications")[0]["n"] == 10
