"""The Scrapy side of a run, inside the crawl process: normalise, validate and de-duplicate each item,
store it in batched transactions, and close the run row with its figures and status."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
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


class StorePipeline:
    """Item pipeline: ``RawItem`` → ``Publication`` → the database, counted in the run row."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.run_id = settings.getint("SGN_RUN_ID")
        self.trailing_slash = settings.get("SGN_TRAILING_SLASH", "keep")
        self.batch_size = settings.getint("SGN_BATCH_SIZE", 100)
        self.clock = system_clock
        self.db = open_db(settings.get("SGN_DB_PATH"))
        self.buffer: list[Publication] = []
        self.seen_ids: set[str] = set()
        self.seen_urls: set[str] = set()
        self.invalid: list[str] = []
        self.kept_body: list[str] = []  # pages whose empty or shrunken body did not replace the stored one
        self.write_failures = 0
        self.write_problem = ""  # why the last write that gave up failed, phrased for the run's message
        self.db_lost = False  # the database file was deleted or replaced during the crawl
        self.touched: set[str] = set()  # publications already counted unchanged in this run
        self.run_log = RunLog()  # the spider's own, once it is open
        self.source = str(settings.get("SGN_SOURCE") or "")
        self.counts = {"items": 0, "new": 0, "updated": 0, "unchanged": 0, "duplicates": 0}
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
        if not self.buffer and not self.run_log.unchanged:
            return
        try:  # a database deleted or replaced under the crawl: nothing written there would be kept
            ensure_same_file(self.db)
        except DatabaseReplaced as exc:
            if not self.db_lost:
                log.error("%s", exc)
                self.db_lost = True
                if self.crawler.engine:
                    from scrapy.utils.defer import deferred_from_coro

                    deferred_from_coro(self.crawler.engine.close_spider_async(reason="database_replaced"))
            return
        now = iso(self.clock())
        result = self._write(lambda: publications.store_batch(self.db, self.buffer, now))
        if result is None:
            return  # kept in the buffer for the next flush
        self._write(lambda: topics.assign_new(self.db, [p.id for p in self.buffer], now))  # docs/analysts.md
        self.buffer = []
        self.kept_body += result.kept_body
        for key in ("new", "updated", "unchanged"):
            self.counts[key] += getattr(result, key)
        seen = self.run_log.take_unchanged()
        if seen:
            urls = sorted({canonical_url(u, self.trailing_slash) for u in seen} - self.touched)
            self.touched.update(urls)
            touched = self._write(lambda: publications.touch_seen(self.db, self.source, urls, now))
            self.counts["unchanged"] += touched or 0
            if self.crawler.stats:  # seen unchanged without being parsed: not among `items` (health counts both)
                self.crawler.stats.inc_value("sgn/unchanged_unparsed", touched or 0)
        # progress only: the closing update writes the same figures, so a lock here loses nothing
        self._write(lambda: runs.update_run(self.db, self.run_id, **self.counts, invalid=len(self.invalid)),
                    counted=False)

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
        self.flush()
        if self.kept_body and self.crawler.stats:  # counted with the run (its stats), named in its message
            self.crawler.stats.set_value("sgn/kept_body", len(self.kept_body))
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        errors = self.run_log.error_messages()
        skips = [(canonical_url(s.url, self.trailing_slash), s.message, date_iso(s.source_date))
                 for s in self.run_log.remembered_skips()]
        if skips:
            self._write(lambda: crawl_state.save_skipped(self.db, spider.name, skips, iso(self.clock())))
        if self.buffer:
            errors.append(f"{len(self.buffer)} items could not be written to the database: {self.write_problem}")
        elif self.write_failures:
            errors.append(f"{self.write_failures} database writes gave up: {self.write_problem}")
        status = run_status(stored=self.counts["items"] + self.counts["unchanged"], errors=len(errors), reason=reason,
                            invalid=len(self.invalid))
        message = summary_message(errors, self.invalid, self.kept_body)
        if reason not in ("finished", "shutdown"):
            message = f"closed: {reason}; {message}".rstrip("; ")
        closing = dict(
            **self.counts,
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

        if self._write(close, counted=False) is None:
            # the crawl command closes the run once the lock is gone (process.py), saying why it was late
            closing["message"] = "; ".join(filter(None, [message, "closed late: another program held a write "
                                                         "lock on the database when the crawl ended"]))
            UNCLOSED[self.run_id] = closing
            log.error("run %s could not be closed yet: the database is locked by another program", self.run_id)
        log.info("run %s of %s: %s, %s items (%s new), %s errors", self.run_id, spider.name, status,
                 self.counts["items"], self.counts["new"], len(errors))
        self.db.close()
