"""One crawl of several sources: a process per source, a run row per source whatever happens."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline import topics
from pipeline.clock import Clock, system_clock
from pipeline.config import Config, ConfigError, Source
from pipeline.items.dates import iso
from pipeline.ops.launch import launch_crawl
from pipeline.replay import ReplayServer
from storage import runs
from storage.db import StorageError, busy_timeout_text, ensure_same_file, open_db

log = logging.getLogger(__name__)
AfterRunStep = Callable[[Config, Database, list[int], Clock], None]
Progress = Callable[[list[dict[str, Any]]], None]  # the runs rows of this crawl, as they are now
PROGRESS_SECONDS = 0.5  # how often the runs rows are read for a live display
DNS_TIMEOUT_SECONDS = 3.0
EXIT_MESSAGES = {3: "the database was deleted or replaced during the crawl: its results are lost",
                 4: "another crawl of this source is running",
                 5: "another program held a write lock on the database until the crawl ended: its run could not be "
                    "closed"}
DEMO_HINT = "`safeguarding-news demo` crawls recorded sites offline"


def unresolved_hosts(sources: list[Source], timeout: float = DNS_TIMEOUT_SECONDS) -> dict[str, str]:
    """Per source whose site does not resolve (DNS) within ``timeout`` seconds: the host. All lookups run
    at once, so that a machine without network knows within seconds instead of retrying for minutes."""
    hosts = {s.slug: s.allowed_domains[0] for s in sources}
    answers: dict[str, bool] = {}

    def look_up(host: str) -> None:
        try:
            socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
            answers[host] = True
        except (OSError, UnicodeError):
            answers[host] = False

    threads = [threading.Thread(target=look_up, args=(h,), daemon=True) for h in set(hosts.values())]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {slug: host for slug, host in hosts.items() if not answers.get(host, False)}


def log_path_for(db_path: str, run_id: int, slug: str) -> Path:
    """Where a crawl process writes its Scrapy log: ``logs/`` beside the database."""
    return Path(db_path).resolve().parent / "logs" / f"run-{run_id}-{slug}.log"


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Child:
    source: Source
    run_id: int
    proc: subprocess.Popen[bytes]
    deadline: float
    terminated_at: float | None = None
    notes: list[str] = field(default_factory=list)


def _adopt_topics(config: Config, db: Database, clock: Clock) -> None:
    """The topic vocabulary for a database that has none, so the crawl's store step assigns topics from the
    first run. A vocabulary that cannot be read is logged, never a reason not to crawl."""
    try:
        assigned = topics.adopt_vocabulary(db, config, iso(clock()))
    except (ConfigError, OSError) as exc:
        log.warning("topics not assigned: %s", exc)
        return
    if assigned:
        log.info("topic vocabulary adopted: %d stored publications assigned", assigned)


def crawl_sources(
    config: Config,
    sources: list[Source],
    db_path: str,
    replay: list[str] | None = None,
    clock: Clock = system_clock,
    parallel: int = 2,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Crawl each source in its own process (up to ``parallel`` at once) and return their run rows.

    ``progress`` is called every PROGRESS_SECONDS with the runs rows, which each crawl process updates as
    it stores batches: the database is the channel, so that a display needs no pipe and shows what is
    really stored. Raises DatabaseReplaced when the database file changed under the crawl."""
    db = _open_for_runs(db_path)
    try:
        closed = runs.close_dead_runs(db, iso(clock()), pid_alive)
        if closed:
            log.warning("closed %d run(s) left open by a dead crawl as interrupted: %s", len(closed), closed)
        _adopt_topics(config, db, clock)
        folders: list[str | Path] = [*(replay or [])]
        offline = {} if folders else unresolved_hosts(sources)
        run_ids = [_fail_unresolved(db, source, offline[source.slug], clock) for source in sources
                   if source.slug in offline]
        if offline and len(offline) == len(sources):
            log.error("no site resolves (DNS): is this machine offline? %s", DEMO_HINT)
        server = ReplayServer(folders).start() if folders else None
        try:
            run_ids += _run_children(config, [s for s in sources if s.slug not in offline], db, db_path, server,
                                     clock, parallel, progress)
        finally:
            if server:
                server.stop()
        ensure_same_file(db)
        after_runs(config, db, run_ids, clock)
        found = [run for run_id in run_ids if (run := runs.get_run(db, run_id))]
        for run in found:
            run["not_seen"] = runs.not_seen(db, run["source"], run["started_at"]) if run["status"] in (
                "ok", "partial") else None
        return found
    finally:
        db.close()  # the scheduler calls this for ever: a connection left open is three file handles


def _open_for_runs(db_path: str) -> Database:
    try:
        return open_db(db_path)
    except StorageError as exc:
        if "locked" in str(exc):
            raise StorageError(f"{exc}: another program has held a write lock on it for more than "
                               f"{busy_timeout_text()}; "
                               "no crawl was started and no run could be recorded") from None
        raise


def _fail_unresolved(db: Database, source: Source, host: str, clock: Clock) -> int:
    run_id = runs.start_run(db, source.slug, iso(clock()), pid=None)
    message = f"no network: {host} does not resolve (DNS)"
    runs.close_open_run(db, run_id, "failed", message, iso(clock()))
    log.warning("%s: %s", source.slug, message)
    return run_id


def after_runs(config: Config, db: Database, run_ids: list[int], clock: Clock) -> None:
    """Source-independent work once the crawl processes have ended: grouping stories across sources,
    then health checks on each run. Each step is guarded so that one failing never loses the runs."""
    from pipeline import stories
    from pipeline.ops import health

    steps: tuple[AfterRunStep, ...] = (stories.after_runs_step, search_index_step, health.check_runs)
    for step in steps:
        try:
            step(config, db, run_ids, clock)
        except Exception:  # a failing step is logged, the crawl's data stays
            log.exception("after-run step %s failed", step.__name__)


def search_index_step(config: Config, db: Database, run_ids: list[int], clock: Clock) -> None:
    """Bring the search index (``<database>.search``, when one was built) up to date with what the runs
    stored, so that ``search`` answers from it at once. Without an index there is nothing to do; an index
    another process is writing, or one of another database, is said in one line and left to
    ``search-index`` (``search`` answers with FTS5 meanwhile)."""
    from storage import search_index

    path = search_index.database_path(db)
    if path is None or not search_index.index_dir(path).is_dir():
        return
    try:
        read = search_index.update(db)
    except search_index.IndexUnavailable as exc:
        log.warning("search index not brought up to date: %s", exc)
        return
    if read:
        log.info("search index: %d publication(s) read", read)


def _run_children(config: Config, sources: list[Source], db: Database, db_path: str, server: ReplayServer | None,
                  clock: Clock, parallel: int, progress: Progress | None = None) -> list[int]:
    pending = list(sources)
    running: list[_Child] = []
    run_ids: list[int] = []
    try:
        _supervise(config, pending, running, run_ids, db, db_path, server, clock, parallel, progress)
    except KeyboardInterrupt:
        _stop_all(config, running, db, clock)
        raise
    return run_ids


def _supervise(config: Config, pending: list[Source], running: list[_Child], run_ids: list[int], db: Database,
               db_path: str, server: ReplayServer | None, clock: Clock, parallel: int,
               progress: Progress | None = None) -> None:
    shown = 0.0
    while pending or running:
        if progress and time.monotonic() - shown >= PROGRESS_SECONDS:
            shown = time.monotonic()
            _report(progress, db, run_ids)
        while pending and len(running) < max(1, parallel):
            run_id, child = _spawn(config, pending.pop(0), db, db_path, server, clock)
            run_ids.append(run_id)
            if child is not None:
                running.append(child)
        for child in list(running):
            if child.proc.poll() is not None:
                _reap(child, db, clock)
                running.remove(child)
            elif time.monotonic() > child.deadline and child.terminated_at is None:
                child.notes.append(f"timed out after {config.crawl.timeout_seconds} s")
                child.proc.terminate()
                child.terminated_at = time.monotonic()
            elif child.terminated_at and time.monotonic() > child.terminated_at + config.crawl.kill_grace_seconds:
                child.proc.kill()
        time.sleep(0.05)
    if progress:
        _report(progress, db, run_ids)


def _report(progress: Progress, db: Database, run_ids: list[int]) -> None:
    try:
        rows = [run for run_id in run_ids if (run := runs.get_run(db, run_id))]
    except sqlite3.OperationalError:  # busy for a moment: the next poll shows it
        return
    progress(rows)


def _stop_all(config: Config, running: list[_Child], db: Database, clock: Clock) -> None:
    """Ctrl-C: each crawl gets SIGTERM and closes its own run as ``interrupted``; one that has not
    ended after ``kill_grace_seconds`` is killed and its run closed as ``interrupted`` here."""
    for child in running:
        child.proc.terminate()
    deadline = time.monotonic() + config.crawl.kill_grace_seconds
    for child in running:
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait()
        runs.close_open_run(db, child.run_id, "interrupted", "crawl stopped by the operator", iso(clock()))


def _spawn(config: Config, source: Source, db: Database, db_path: str, server: ReplayServer | None,
           clock: Clock) -> tuple[int, _Child | None]:
    try:
        run_id = runs.start_run(db, source.slug, iso(clock()), pid=os.getpid())  # alive until the child's is set
    except sqlite3.OperationalError as exc:
        raise StorageError(f"cannot record a run of {source.slug} in {db_path} ({exc}): another program has "
                           f"held a write lock on the database for more than {busy_timeout_text()}; nothing was "
                           "crawled") from None
    log_path = log_path_for(db_path, run_id, source.slug)
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log_file:  # the child keeps its own copy of the handle
            proc = launch_crawl(config.path, source.slug, db_path, run_id,
                                replay_address=server.address if server else None,
                                stdout=log_file, stderr=subprocess.STDOUT)
    except OSError as exc:
        log.error("%s: cannot start the crawl process: %s", source.slug, exc)
        runs.close_open_run(db, run_id, "failed", f"cannot start the crawl process: {exc}", iso(clock()))
        return run_id, None
    runs.set_run_pid(db, run_id, proc.pid, str(log_path))
    log.info("crawling %s (run %d, pid %d, log %s)", source.slug, run_id, proc.pid, log_path)
    return run_id, _Child(source, run_id, proc, time.monotonic() + config.crawl.timeout_seconds)


def _reap(child: _Child, db: Database, clock: Clock) -> None:
    """Close the run of an ended crawl process if it did not; a database locked beyond the busy timeout
    is said in one line (the run stays `running` and the next crawl closes it as interrupted)."""
    try:
        _close_after(child, db, clock)
    except sqlite3.OperationalError as exc:
        log.error("%s: run %d could not be closed (%s): another program has held a write lock on the database "
                  "for more than %s; the next crawl will close it as interrupted", child.source.slug,
                  child.run_id, exc, busy_timeout_text())


def _close_after(child: _Child, db: Database, clock: Clock) -> None:
    code = child.proc.returncode
    if code in (-signal.SIGTERM, -signal.SIGINT) and not child.notes:  # stopped before it could close its run
        if runs.close_open_run(db, child.run_id, "interrupted", f"crawl process ended by "
                               f"{signal.Signals(-code).name}", iso(clock())):
            log.error("%s: crawl process ended by %s", child.source.slug, signal.Signals(-code).name)
        return
    reason = child.notes or [EXIT_MESSAGES.get(code, f"crawl process exited with status {code}") if code else
                             "crawl process ended without closing its run"]
    if child.notes:  # timed out: whatever the child wrote stays, but the run did not finish
        runs.update_run(db, child.run_id, status="failed", finished_at=iso(clock()))
        earlier = (runs.get_run(db, child.run_id) or {}).get("message") or ""
        runs.update_run(db, child.run_id, message=f"{'; '.join(reason)}; {earlier}".strip("; "))
    elif runs.close_open_run(db, child.run_id, "failed", "; ".join(reason), iso(clock())):
        log.error("%s: %s", child.source.slug, "; ".join(reason))
