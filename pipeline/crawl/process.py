"""The crawl of one source, run as its own process (``python -m pipeline.crawl.process``) by the runner.

Twisted's reactor cannot restart, and a crash or a leak in one crawl must stay contained; the parent
creates the run row and passes its id, this process fills it in and closes it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import IO, Any

from pipeline.clock import system_clock
from pipeline.config import Config, ConfigError, Source, load_config
from pipeline.crawl.recording import with_recording
from pipeline.crawl.registry import spider_for
from pipeline.items.dates import iso, parse_iso
from pipeline.logs import use_log_format

PR_SET_PDEATHSIG = 1  # linux/prctl.h
EXIT_DATABASE_REPLACED = 3
EXIT_LOCKED = 4
EXIT_RUN_NOT_CLOSED = 5  # another program held the database's write lock until the very end
LATE_CLOSE_ATTEMPTS = 5
# After SIGTERM, Scrapy stops gracefully; a spider stuck in its own code never lets it: the run is closed
# as interrupted and the process ends this many seconds later, whatever it is doing.
TERM_GRACE_SECONDS = 5.0
WRITER_SWITCH_SECONDS = 0.0005  # sys.setswitchinterval of the crawl process (Python's default: 0.005)


def scrapy_settings(config: Config, source: Source, db_path: str, run_id: int,
                    replay_address: str | None, full_walk: bool = True) -> dict[str, Any]:
    p = config.politeness
    settings: dict[str, Any] = {
        "BOT_NAME": "safeguarding-news",
        "SPIDER_MODULES": ["spiders"],
        "USER_AGENT": config.user_agent,
        "ROBOTSTXT_OBEY": p.obey_robots_txt,
        "DOWNLOAD_DELAY": p.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": p.concurrent_requests_per_domain,
        "AUTOTHROTTLE_ENABLED": p.autothrottle,
        "DOWNLOAD_TIMEOUT": p.download_timeout,
        "RETRY_TIMES": p.retry_times,
        # Scrapy retries at once; ours wait (exponential backoff with jitter, or the site's Retry-After).
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "SGN_BACKOFF_BASE": p.retry_backoff_seconds,
        "SGN_BACKOFF_MAX": p.retry_backoff_max_seconds,
        "SGN_RETRY_AFTER_MAX": p.retry_after_max_seconds,
        # Scrapy follows 20 redirects; a chain longer than a few is a loop or a trap.
        "REDIRECT_MAX_TIMES": p.redirect_max,
        "DOWNLOAD_MAXSIZE": p.max_response_bytes,
        "DOWNLOAD_WARNSIZE": p.max_response_bytes // 2,
        # No session is needed to read public pages, and no cookie of a child-protection site is kept.
        "COOKIES_ENABLED": False,
        # An unattended crawler exposes no console and no control port.
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": config.crawl.log_level,
        "LOG_ENABLED": config.crawl.log_format == "text",  # JSON lines: pipeline.logs installs the handler
        "ITEM_PIPELINES": {"pipeline.crawl.store_pipeline.StorePipeline": 100},
        # The item pipeline is synchronous; Scrapy's 100 parallel item tasks per response only cost CPU
        # (measured by benchmarks/crawl_overhead.py).
        "CONCURRENT_ITEMS": 1,
        # Scrapy reads and parses a callback's source for every response to warn about a generator that
        # returns a value (its cache is keyed by a bound method made anew for each request): a check for
        # development, ~0.2 ms of CPU per page here (benchmarks/crawl_overhead.py --profile).
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        # A title or date the spider could not find is filled by the generic extractor, counted and logged.
        "SPIDER_MIDDLEWARES": {"pipeline.crawl.fallback.FallbackExtractor": 600},
        "DOWNLOADER_MIDDLEWARES": {
            # Text only, for every source: media is refused first in the chain, before robots.txt or a retry.
            "pipeline.crawl.guards.MediaGuard": 10,
            "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
            "pipeline.crawl.politeness.BoundaryMiddleware": 50,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "pipeline.crawl.politeness.PoliteRobotsTxtMiddleware": 100,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "pipeline.crawl.politeness.BackoffRetryMiddleware": 550,
            "pipeline.crawl.politeness.ConditionalRequestsMiddleware": 580,
            "pipeline.crawl.politeness.RedirectBoundaryMiddleware": 650,  # sees a redirect before it is followed
        },
        "SGN_RUN_ID": run_id,
        "SGN_DB_PATH": db_path,
        "SGN_BATCH_SIZE": config.crawl.batch_size,
        "SGN_TRAILING_SLASH": source.trailing_slash,
        "SGN_SOURCE": source.slug,
        "SGN_FULL_WALK": full_walk,
    }
    if replay_address:
        settings.update(
            REPLAY_ADDRESS=replay_address,
            DOWNLOAD_HANDLERS={
                "http": "pipeline.crawl.replay_handler.ReplayDownloadHandler",
                "https": "pipeline.crawl.replay_handler.ReplayDownloadHandler",
            },
            # The replay server is ours on loopback, not someone else's site: no delay is owed to it.
            DOWNLOAD_DELAY=0,
            AUTOTHROTTLE_ENABLED=False,
            SGN_BACKOFF_BASE=min(p.retry_backoff_seconds, 0.05),
        )
    return settings


def incremental_state(config: Config, source: Source, db_path: str) -> tuple[bool, dict[str, str]]:
    """Whether this crawl walks everything again (none yet, or the last is ``full_walk_days`` old), and
    otherwise what is already stored, so that the spider fetches only what is new or newer."""
    from storage import crawl_state
    from storage.db import open_db

    database = open_db(db_path)
    try:
        last = crawl_state.last_full_walk(database, source.slug)
        age = (system_clock() - parse_iso(last)).days if last else None
        full_walk = age is None or age >= config.crawl.full_walk_days
        return full_walk, ({} if full_walk else crawl_state.known_publications(database, source.slug))
    finally:
        database.close()


def die_with_parent(parent_pid: int) -> None:
    """Linux: the kernel sends SIGTERM when the parent dies (even by SIGKILL), which ends this crawl as
    ``interrupted``; a parent already gone before this call ends it at once."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGTERM)


def source_lock(db_path: str, slug: str) -> IO[str] | None:
    """An exclusive lock on ``<database>.<source>.crawl.lock`` held for the life of this process (the
    kernel releases it when the process ends, however): None when another crawl of the source holds it."""
    path = Path(f"{Path(db_path).resolve()}.{slug}.crawl.lock")
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held until the process ends)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        log_holder = holder or "pid unknown"
        logging.getLogger(__name__).error("another crawl of %s is running (%s)", slug, log_holder)
        return None
    handle.truncate(0)
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle


def close_run(db_path: str, run_id: int, status: str, message: str) -> None:
    """Close the run from outside Scrapy (a config error, a lock, a stuck crawl), if it is still open."""
    from storage import runs
    from storage.db import open_db

    database = open_db(db_path)
    try:
        runs.close_open_run(database, run_id, status, message, iso(system_clock()))
    finally:
        database.close()


def close_late(db_path: str, run_id: int) -> bool:
    """Write the closing update the spider could not (the database was locked by another program), retried
    for a few busy timeouts; False (said in one line on stderr) when the lock is still held."""
    import sqlite3

    from pipeline.crawl.store_pipeline import UNCLOSED
    from storage import runs
    from storage.db import StorageError, busy_timeout_text, open_db

    closing = UNCLOSED.pop(run_id, None)
    if closing is None:
        return True
    for _ in range(LATE_CLOSE_ATTEMPTS):
        try:
            database = open_db(db_path, migrate=False)
            try:
                runs.update_run(database, run_id, **closing)
            finally:
                database.close()
            return True
        except (sqlite3.OperationalError, StorageError):
            continue
    print(f"error: run {run_id} could not be closed: another program has held a write lock on the database for "
          f"more than {LATE_CLOSE_ATTEMPTS} × {busy_timeout_text()}", file=sys.stderr)
    return False


def _arm_term_watchdog(db_path: str, run_id: int) -> None:
    """Chain onto Scrapy's SIGTERM/SIGINT handlers: after TERM_GRACE_SECONDS the run is closed as
    interrupted and the process exits, even when the reactor never gets control back."""
    fired = threading.Event()

    def watchdog(signum: int) -> None:
        if fired.wait(TERM_GRACE_SECONDS):
            return
        with contextlib.suppress(Exception):
            close_run(db_path, run_id, "interrupted", f"stopped by {signal.Signals(signum).name}; the crawl "
                      f"did not stop within {TERM_GRACE_SECONDS:g} s and was ended")
        os._exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            threading.Thread(target=watchdog, args=(signum,), daemon=True).start()
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, handler)
    _finished.append(fired)


_finished: list[threading.Event] = []


def _log_from(level: str) -> None:
    """Records below ``level`` are not made at all (Scrapy's handlers drop them anyway): the root logger
    and Scrapy's own, which Scrapy sets to DEBUG."""
    for name in ("", "scrapy"):
        logging.getLogger(name).setLevel(level)
    logging.getLogger(__name__).debug("root logger level: %s", level)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.crawl.process")
    parser.add_argument("--config", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--run-id", type=int, required=True)
    parser.add_argument("--replay-address")
    parser.add_argument("--record-dir", help="save every response here as a recorded site (the record command)")
    parser.add_argument("--record-limit", type=int, help="with --record-dir: stop after this many pages")
    parser.add_argument("--parent-pid", type=int, help="end with this process (Linux PR_SET_PDEATHSIG)")
    args = parser.parse_args(argv)

    def stopped_early(signum: int, frame: Any) -> None:  # before Scrapy's handlers replace this one
        with contextlib.suppress(Exception):
            close_run(args.db, args.run_id, "interrupted", f"stopped by {signal.Signals(signum).name} while starting")
        os._exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stopped_early)
    if args.parent_pid:
        die_with_parent(args.parent_pid)

    from storage.db import file_identity

    try:
        config = load_config(args.config, db_override=args.db)
        source = config.source(args.source)
    except ConfigError as exc:  # the one line is the run's message (and the alert's text)
        print(f"error: {exc}", file=sys.stderr)
        close_run(args.db, args.run_id, "failed", str(exc))
        return 2
    lock = source_lock(args.db, source.slug)
    if lock is None:
        close_run(args.db, args.run_id, "failed", f"another crawl of {source.slug} is running; this one did not start")
        return EXIT_LOCKED
    identity = file_identity(args.db)
    full_walk, known = incremental_state(config, source, args.db)

    from scrapy.crawler import CrawlerProcess

    use_log_format(config.crawl.log_format, config.crawl.log_level)  # JSON lines, if configured
    settings = with_recording(scrapy_settings(config, source, args.db, args.run_id, args.replay_address, full_walk),
                              args.record_dir, args.record_limit)
    settings["LOG_INSTALL_ROOT_HANDLER"] = True
    # The item pipeline's writer thread (store_pipeline) holds the GIL between SQLite calls: the reactor
    # gets it back within 0.5 ms instead of Python's 5 ms (measured by benchmarks/crawl_overhead.py).
    sys.setswitchinterval(WRITER_SWITCH_SECONDS)
    process = CrawlerProcess(settings)
    process.crawl(spider_for(source), options=dict(source.options), allowed_domains=list(source.allowed_domains),
                  known=known, full_walk=full_walk)
    from twisted.internet import reactor  # the one CrawlerProcess installed

    # after Scrapy's own handlers, which it installs once the reactor has started
    reactor.callWhenRunning(reactor.callLater, 0, _arm_term_watchdog, args.db, args.run_id)
    # Scrapy leaves the root logger at NOTSET and its own at DEBUG, and filters by level in its handlers, so
    # each of its debug messages (two or more per page: "Crawled", "Scraped from") is made into a record and
    # dropped: at the configured level none is made below it (the same output; benchmarks/crawl_overhead.py).
    reactor.callWhenRunning(_log_from, config.crawl.log_level)
    process.start()
    for event in _finished:
        event.set()
    logging.shutdown()
    if file_identity(args.db) != identity:
        print(f"error: database {args.db} was deleted or replaced during the crawl: this run's results are "
              "lost", file=sys.stderr)
        return EXIT_DATABASE_REPLACED
    if not close_late(args.db, args.run_id):
        return EXIT_RUN_NOT_CLOSED
    # Scrapy stopped before its spider closed the run (a second signal forces an unclean shutdown, or a
    # signal came before the spider opened): closed here, as nobody else may be left to do it.
    close_run(args.db, args.run_id, "interrupted", "the crawl stopped before it could close its run")
    lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
