"""One crawl of several sources: a process per source, a run row per source whatever happens."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline.clock import Clock, system_clock
from pipeline.config import Config, Source
from pipeline.items.dates import iso
from pipeline.ops.launch import launch_crawl
from pipeline.replay import ReplayServer
from storage import runs
from storage.db import open_db

log = logging.getLogger(__name__)
AfterRunStep = Callable[[Config, Database, list[int], Clock], None]


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


def crawl_sources(
    config: Config,
    sources: list[Source],
    db_path: str,
    replay: list[str] | None = None,
    clock: Clock = system_clock,
    parallel: int = 2,
) -> list[dict[str, Any]]:
    """Crawl each source in its own process (up to ``parallel`` at once) and return their run rows."""
    db = open_db(db_path)
    closed = runs.close_dead_runs(db, iso(clock()), pid_alive)
    if closed:
        log.warning("closed %d run(s) left open by a dead crawl as interrupted: %s", len(closed), closed)
    folders: list[str | Path] = [*(replay or [])]
    server = ReplayServer(folders).start() if folders else None
    try:
        run_ids = _run_children(config, sources, db, db_path, server, clock, parallel)
    finally:
        if server:
            server.stop()
    after_runs(config, db, run_ids, clock)
    return [run for run_id in run_ids if (run := runs.get_run(db, run_id))]


def after_runs(config: Config, db: Database, run_ids: list[int], clock: Clock) -> None:
    """Source-independent work once the crawl processes have ended: grouping stories across sources,
    then health checks on each run. Each step is guarded so that one failing never loses the runs."""
    from pipeline import stories
    from pipeline.ops import health

    steps: tuple[AfterRunStep, ...] = (stories.after_runs_step, health.check_runs)
    for step in steps:
        try:
            step(config, db, run_ids, clock)
        except Exception:  # a failing step is logged, the crawl's data stays
            log.exception("after-run step %s failed", step.__name__)


def _run_children(config: Config, sources: list[Source], db: Database, db_path: str, server: ReplayServer | None,
                  clock: Clock, parallel: int) -> list[int]:
    pending = list(sources)
    running: list[_Child] = []
    run_ids: list[int] = []
    try:
        _supervise(config, pending, running, run_ids, db, db_path, server, clock, parallel)
    except KeyboardInterrupt:
        _stop_all(config, running, db, clock)
        raise
    return run_ids


def _supervise(config: Config, pending: list[Source], running: list[_Child], run_ids: list[int], db: Database,
               db_path: str, server: ReplayServer | None, clock: Clock, parallel: int) -> None:
    while pending or running:
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
    run_id = runs.start_run(db, source.slug, iso(clock()), pid=os.getpid())  # alive until the child's is set
    try:
        proc = launch_crawl(config.path, source.slug, db_path, run_id,
                            replay_address=server.address if server else None)
    except OSError as exc:
        log.error("%s: cannot start the crawl process: %s", source.slug, exc)
        runs.close_open_run(db, run_id, "failed", f"cannot start the crawl process: {exc}", iso(clock()))
        return run_id, None
    runs.set_run_pid(db, run_id, proc.pid)
    log.info("crawling %s (run %d, pid %d)", source.slug, run_id, proc.pid)
    return run_id, _Child(source, run_id, proc, time.monotonic() + config.crawl.timeout_seconds)


def _reap(child: _Child, db: Database, clock: Clock) -> None:
    code = child.proc.returncode
    reason = child.notes or [f"crawl process exited with status {code}" if code else
                             "crawl process ended without closing its run"]
    if child.notes:  # timed out: whatever the child wrote stays, but the run did not finish
        runs.update_run(db, child.run_id, status="failed", finished_at=iso(clock()))
        earlier = (runs.get_run(db, child.run_id) or {}).get("message") or ""
        runs.update_run(db, child.run_id, message=f"{'; '.join(reason)}; {earlier}".strip("; "))
    elif runs.close_open_run(db, child.run_id, "failed", "; ".join(reason), iso(clock())):
        log.error("%s: %s", child.source.slug, "; ".join(reason))
