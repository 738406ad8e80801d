"""The Scrapy side of a run, inside the crawl process: normalise, validate and de-duplicate each item,
store it in batched transactions, and close the run row with its figures and status."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, IgnoreRequest, StopDownload
from scrapy.utils.misc import load_object
from twisted.internet.task import LoopingCall

from pipeline import topics
from pipeline.clock import system_clock
from pipeline.crawl.runlog import RunLog, run_log_of
from pipeline.items.dates import date_iso, iso
from pipeline.items.normalise import InvalidItem, normalise
from pipeline.items.schema import Publication, RawItem
from pipeline.items.urls import canonical_url
from storage import crawl_state, publications, runs
from storage.db import DatabaseReplaced, busy_timeout_ms, busy_timeout_text, ensure_same_file, open_db

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_MESSAGES = 5
# A batch is written when it is full or this many seconds old, so that a crawl killed mid-run loses at
# most a few seconds of parsed items.
FLUSH_SECONDS = 2.0
WRITE_ATTEMPTS = 4  # on top of SQLite's busy timeout: a locked database gets a few more chances


# Runs whose closing write failed after every retry (another program held the write lock): run id → the
# fields of that write, for the crawl command to write once the lock is gone.
UNCLOSED: dict[int, dict[str, Any]] = {}


def run_status(*, stored: int, errors: int, reason: str, invalid: int = 0) -> str:
    """``interrupted`` when the crawl was stopped; ``failed`` when errors left nothing; ``partial`` when
    errors left some; else ``ok``. Invalid items alone are counted, not failures: one malformed item
    must not turn a daily crawl red for ever (the health checks watch the counts); but a run whose every
    item was invalid (nothing stored from a non-empty feed) is ``failed``."""
    if reason in ("shutdown", "interrupted"):
        return "interrupted"
    if errors or (invalid and not stored):
        return "partial" if stored else "failed"
    return "ok"


def http_error_counts(stats: dict[str, Any]) -> dict[str, int]:
    """Failed responses by status, and failed connections by exception. Left out: robots.txt lookups (a
    site without robots.txt is normal), statuses a spider expected (a probe for a feed the site does not
    have) and refusals made on purpose (media, off-site, not modified)."""
    counts: dict[str, int] = {}
    for key, value in stats.items():
        if key.startswith("downloader/response_status_count/"):
            code = key.rsplit("/", 1)[-1]
            value -= stats.get(f"robotstxt/response_status_count/{code}", 0)
            value -= stats.get(f"sgn/expected_status/{code}", 0)
            if code.isdigit() and int(code) >= 400 and value > 0:
                counts[code] = value
        elif key.startswith("downloader/exception_type_count/") and not _deliberate(key.rsplit("/", 1)[-1]):
            counts[key.rsplit("/", 1)[-1].rsplit(".", 1)[-1]] = value
    return counts


RUN_STATS_PREFIXES = ("sgn/", "media/")  # spider and guard counters worth keeping with the run


def _deliberate(exception_path: str) -> bool:
    """Refusals made on purpose (media, robots.txt, off-site, not modified) are not HTTP failures."""
    try:
        return issubclass(load_object(exception_path), IgnoreRequest | StopDownload)
    except (ImportError, AttributeError, ValueError, TypeError):
        return False


def run_stats(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sorted(stats.items()) if k.startswith(RUN_STATS_PREFIXES)}


def summary_message(errors: list[str], invalid: list[str], kept_body: list[str] | None = None) -> str:
    lines = errors + [f"invalid item: {m}" for m in invalid]
    lines += [f"kept the stored text: new body empty or under half as long at {u}" for u in kept_body or []]
    more = f" (+{len(lines) - MAX_MESSAGES} more)" if len(lines) > MAX_MESSAGES else ""
    return "; ".join(lines[:MAX_MESSAGES]) + more


@dataclass
class _Outcome:
    """What the writer thread could not write (to be tried again), and why."""

    batch: list[Publication]
    unchanged: list[str]
    db_lost: bool = False
    touched: int = 0  # publications seen unchanged without being parsed, written as seen
    error: Exception | None = None


class StorePipeline:
    """Item pipeline: ``RawItem`` → ``Publication`` → the database, counted in the run row."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.run_id = settings.getint("SGN_RUN_ID")
        self.trailing_slash = settings.get("SGN_TRAILING_SLASH", "keep")
        self.batch_size = settings.getint("SGN_BATCH_SIZE", 100)
        self.clock = system_clock
        # Every database access of the crawl runs on one writer thread, with its own connection, in the
        # order it was asked for: batches are written while the crawl goes on (docs/crawling.md).
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sgn-writer")
        self.pending: Future[_Outcome] | None = None  # the batch in flight
        try:
            self.db = self.writer.submit(open_db, settings.get("SGN_DB_PATH")).result()
        except BaseException:
            self.writer.shutdown()
            raise
        self.buffer: list[Publication] = []
        self.seen_ids: set[str] = set()
        self.seen_urls: set[str] = set()
        self.invalid: list[str] = []
        self.kept_body: list[str] = []  # pages whose empty or shrunken body did not replace the stored one
        self.write_failures = 0
        self.write_problem = ""  # why the last write that gave up failed, phrased for the run's message
        self.db_lost = False  # the database file was deleted or replaced during the crawl
        self.touched: set[str] = set()  # publications already counted unchanged in this run (writer thread)
        self.unchanged_left: list[str] = []  # URLs seen unchanged whose write gave up: tried again
        self.run_log = RunLog()  # the spider's own, once it is open
        self.source = str(settings.get("SGN_SOURCE") or "")
        self.counts = {"items": 0, "duplicates": 0}  # counted on the reactor's thread
        self.stored = {"new": 0, "updated": 0, "unchanged": 0}  # counted on the writer thread
        self.ticker = LoopingCall(self.flush)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_error, signal=signals.spider_error)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, RawItem):
            raise DropItem(f"not a RawItem: {type(item).__name__}")
        try:
            pub = normalise(item, self.trailing_slash)
        except InvalidItem as exc:
            self.invalid.append(str(exc))
            log.warning("invalid item: %s", exc)
            raise DropItem(str(exc)) from None
        if pub.id in self.seen_ids or pub.url in self.seen_urls:
            self.counts["duplicates"] += 1
            raise DropItem(f"duplicate within this run: {pub.url}")
        self.seen_ids.add(pub.id)
        self.seen_urls.add(pub.url)
        self.counts["items"] += 1
        self.buffer.append(pub)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def spider_opened(self, spider: Spider) -> None:
        self.run_log = run_log_of(spider) or self.run_log
        self.source = spider.name
        self.crawler.stats.set_value("sgn/full_walk", int(self.crawler.settings.getbool("SGN_FULL_WALK", True)))
        self.crawler.stats.set_value("sgn/unchanged_unparsed", 0)
        self.ticker.start(FLUSH_SECONDS, now=False)

    def flush(self) -> None:
        """Hand the buffered items (and the URLs seen unchanged) to the writer thread. One batch is in
        flight at a time: while it is written the crawl goes on filling the next one; a full buffer waits
        for it (back-pressure: at most two batches in memory)."""
        self._collect(wait=False)
        if self.pending is not None:
            if len(self.buffer) < self.batch_size:
                return  # the next item or tick hands it over
            self._collect(wait=True)
        if self.db_lost or (not self.buffer and not self.run_log.unchanged and not self.unchanged_left):
            return
        batch, self.buffer = self.buffer, []
        seen, self.unchanged_left = self.unchanged_left + self.run_log.take_unchanged(), []
        self.pending = self.writer.submit(self._write_batch, batch, seen, dict(self.counts), len(self.invalid))

    def _collect(self, wait: bool) -> None:
        """Take the outcome of the batch in flight (when written, or at once with ``wait``), on the
        reactor's thread: a batch that could not be written goes back to the front of the buffer."""
        if self.pending is None or not (wait or self.pending.done()):
            return
        pending, self.pending = self.pending, None
        outcome = pending.result()
        if outcome.batch or outcome.unchanged:
            self.buffer = outcome.batch + self.buffer
            self.unchanged_left = outcome.unchanged + self.unchanged_left
        if outcome.touched and self.crawler.stats:  # not among `items` (health counts both)
            self.crawler.stats.inc_value("sgn/unchanged_unparsed", outcome.touched)
        if outcome.error is not None:
            raise outcome.error
        if outcome.db_lost and not self.db_lost:
            self.db_lost = True
            if self.crawler.engine:
                from scrapy.utils.defer import deferred_from_coro

                deferred_from_coro(self.crawler.engine.close_spider_async(reason="database_replaced"))

    def _write_batch(self, batch: list[Publication], seen: list[str], counts: dict[str, int],
                     invalid: int) -> _Outcome:
        """On the writer thread: store a batch, its topics and the URLs seen unchanged, then the run's
        progress. Returns what could not be written (kept for the next flush) and an unexpected error,
        raised again on the reactor's thread as the write itself raised it before."""
        try:
            return self._store(batch, seen, counts, invalid)
        except Exception as exc:
            return _Outcome(batch, seen, error=exc)

    def _store(self, batch: list[Publication], seen: list[str], counts: dict[str, int], invalid: int) -> _Outcome:
        if batch or seen:
            try:  # a database deleted or replaced under the crawl: nothing written there would be kept
                ensure_same_file(self.db)
            except DatabaseReplaced as exc:
                log.error("%s", exc)
                return _Outcome(batch, seen, db_lost=True)
        now = iso(self.clock())
        result = self._write(lambda: publications.store_batch(self.db, batch, now))
        if result is None:
            return _Outcome(batch, seen)  # kept in the buffer for the next flush
        self._write(lambda: topics.assign_new(self.db, [p.id for p in batch], now))  # docs/analysts.md
        self.kept_body += result.kept_body
        for key in ("new", "updated", "unchanged"):
            self.stored[key] += getattr(result, key)
        if seen:
            urls = sorted({canonical_url(u, self.trailing_slash) for u in seen} - self.touched)
            self.touched.update(urls)
            touched = self._write(lambda: publications.touch_seen(self.db, self.source, urls, now))
            self.stored["unchanged"] += touched or 0
        # progress only: the closing update writes the same figures, so a lock here loses nothing
        progress = counts | self.stored
        self._write(lambda: runs.update_run(self.db, self.run_id, **progress, invalid=invalid), counted=False)
        return _Outcome([], [], touched=touched or 0 if seen else 0)

    def _write(self, write: Callable[[], T], counted: bool = True) -> T | None:
        """A write retried while the database is locked or busy; None when it still fails (logged in one
        line, and its reason kept for the run's message)."""
        error: sqlite3.OperationalError | None = None
        for attempt in range(WRITE_ATTEMPTS):
            try:
                return write()
            except sqlite3.OperationalError as exc:
                error = exc
                log.warning("database write failed (%s), attempt %d of %d", exc, attempt + 1, WRITE_ATTEMPTS)
                if attempt + 1 < WRITE_ATTEMPTS:
                    time.sleep(min(2**attempt, busy_timeout_ms() / 1000))
        locked = any(word in str(error) for word in ("locked", "busy"))
        problem = (f"another program held a write lock on the database beyond the busy timeout "
                   f"({busy_timeout_text()}, {WRITE_ATTEMPTS} attempts)") if locked else \
            f"database write failed: {error}"
        log.error("%s", problem)
        if counted:
            self.write_failures += 1
            self.write_problem = problem
        return None

    def spider_error(self, failure: Any, response: Any, spider: Spider) -> None:
        problem = self.run_log.add_error(response.url, f"parse error {failure.type.__name__}: "
                                                       f"{failure.getErrorMessage()}")
        log.error("%s", problem)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.ticker.running:
            self.ticker.stop()
        try:
            self._close(spider, reason)
        finally:
            self.writer.submit(self.db.close).result()
            self.writer.shutdown()

    def _on_writer(self, write: Callable[[], T], counted: bool = True) -> T | None:
        """``_write`` on the writer thread (the connection's own), waited for: the run's closing writes."""
        return self.writer.submit(self._write, write, counted).result()

    def _close(self, spider: Spider, reason: str) -> None:
        """The last batch written, then the run's closing write, in that order."""
        self._collect(wait=True)
        self.flush()
        self._collect(wait=True)
        if self.kept_body and self.crawler.stats:  # counted with the run (its stats), named in its message
            self.crawler.stats.set_value("sgn/kept_body", len(self.kept_body))
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        errors = self.run_log.error_messages()
        skips = [(canonical_url(s.url, self.trailing_slash), s.message, date_iso(s.source_date))
                 for s in self.run_log.remembered_skips()]
        if skips:
            self._on_writer(lambda: crawl_state.save_skipped(self.db, spider.name, skips, iso(self.clock())))
        if self.buffer:
            errors.append(f"{len(self.buffer)} items could not be written to the database: {self.write_problem}")
        elif self.write_failures:
            errors.append(f"{self.write_failures} database writes gave up: {self.write_problem}")
        counts = self.counts | self.stored
        status = run_status(stored=counts["items"] + counts["unchanged"], errors=len(errors), reason=reason,
                            invalid=len(self.invalid))
        message = summary_message(errors, self.invalid, self.kept_body)
        if reason not in ("finished", "shutdown"):
            message = f"closed: {reason}; {message}".rstrip("; ")
        closing = dict(
            **counts,
            status=status,
            finished_at=iso(self.clock()),
            pages=stats.get("downloader/response_count", 0) - stats.get("robotstxt/response_count", 0),
            invalid=len(self.invalid),
            errors=len(errors),
            skipped=len(self.run_log.skips),
            http_errors=http_error_counts(stats),
            door=self.run_log.door,
            stats=json.dumps(run_stats(stats), default=str),
            message=message,
        )
        def close() -> bool:  # True: _write's None means the write gave up
            runs.update_run(self.db, self.run_id, **closing)
            return True

        if self._on_writer(close, counted=False) is None:
            # the crawl command closes the run once the lock is gone (process.py), saying why it was late
            closing["message"] = "; ".join(filter(None, [message, "closed late: another program held a write "
                                                         "lock on the database when the crawl ended"]))
            UNCLOSED[self.run_id] = closing
            log.error("run %s could not be closed yet: the database is locked by another program", self.run_id)
        log.info("run %s of %s: %s, %s items (%s new), %s errors", self.run_id, spider.name, status,
                 counts["items"], counts["new"], len(errors))
