"""``safeguarding-news schedule``: the long-running scheduler (APScheduler 3.x).

Each enabled source is a job on its cron expression or interval, with jitter, ``coalesce=True``,
``max_instances=1`` and ``misfire_grace_time`` from config (APScheduler's default of one second would
silently drop a run that starts late). A job runs :func:`pipeline.ops.runner.crawl_sources` for its source,
which crawls in a subprocess with a time limit, writes the run row whatever happens (a killed child gives
a ``failed`` run) and runs the after-run steps (clustering, health checks, alert delivery): one code path
with ``crawl``. On start, sources overdue according to the ``runs`` table run once (catch-up after
downtime). One scheduler per database, by an exclusive lock on ``<database>.scheduler.lock``.
SIGTERM/SIGINT: no new runs; running crawls get ``stop_grace_seconds`` to finish, then they are sent
SIGTERM (the crawl closes its run as ``interrupted``) and, after ``crawl.kill_grace_seconds``, SIGKILL
(the run is closed as ``interrupted`` first). A second signal skips the grace period.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler, SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler

from pipeline.clock import Clock, system_clock
from pipeline.config import Config
from pipeline.items.dates import iso, parse_iso
from pipeline.ops import delivery
from pipeline.ops.runner import crawl_sources, pid_alive
from pipeline.schedules import cron_trigger, due_since, trigger_for, zone
from storage import runs
from storage.db import opened

log = logging.getLogger(__name__)
DIGEST_TIMEOUT_SECONDS = 600  # the digest e-mail job (a process of its own) is ended after this
DELIVERY_POLL_SECONDS = 60  # how often queued alert notifications are looked at (each has its own retry time)
STALE_RUN_MARGIN = timedelta(minutes=5)


class SchedulerLocked(Exception):
    """Another scheduler holds this database; phrased for the operator."""


class SchedulerLock:
    """An exclusive ``flock`` on ``<database>.scheduler.lock``: released by the kernel if we die."""

    def __init__(self, db_path: str, clock: Clock = system_clock) -> None:
        self.db_path = db_path
        self.path = Path(f"{Path(db_path).resolve()}.scheduler.lock")
        self.clock = clock
        self._file: Any = None

    def __enter__(self) -> SchedulerLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # held open as long as we run
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "pid unknown"
            handle.close()
            raise SchedulerLocked(f"another scheduler is already running for {self.db_path} ({holder}); "
                                  f"stop it first (lock file {self.path})") from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} since {iso(self.clock())}\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file:
            self._file.truncate(0)
            self._file.close()  # releases the lock
            self._file = None


def overdue_sources(config: Config, last_started: dict[str, str | None], now: datetime) -> list[str]:
    """Enabled sources whose schedule has come round since their last finished run started (or that
    never finished one): ``last_started`` maps each slug to that run's ``started_at``."""
    tz = config.scheduler.timezone
    return [source.slug for source in config.enabled_sources()
            if due_since(source.schedule.cron, source.schedule.interval_hours, tz,
                         parse_iso(last) if (last := last_started.get(source.slug)) else None, now)]


def _child_of_us(pid: int) -> bool:
    """True if ``pid`` is a child of this process (Linux /proc); where that cannot be read, assume so."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return pid_alive(pid)
    return int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid()


class CrawlScheduler:
    """The jobs, the catch-up, the lock and the graceful stop. ``crawl`` and ``scheduler_cls`` are
    injectable so that tests drive jobs directly (no waiting for schedules)."""

    def __init__(self, config: Config, db_path: str, *, replay: list[str] | None = None,
                 clock: Clock = system_clock, crawl: Callable[..., list[dict]] = crawl_sources,
                 scheduler_cls: type[BaseScheduler] = BlockingScheduler) -> None:
        self.config = config
        self.db_path = str(db_path)
        self.replay = list(replay or [])
        self.clock = clock
        self.crawl = crawl
        settings = config.scheduler
        self.scheduler = scheduler_cls(
            timezone=zone(settings.timezone),
            # one worker per parallel crawl, and one so that alert delivery never waits behind crawls
            executors={"default": ThreadPoolExecutor(settings.max_parallel_crawls + 1)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": settings.misfire_grace_seconds},
        )
        self.stopping = threading.Event()
        self.stop_now = threading.Event()
        self._busy = {s.slug: threading.Lock() for s in config.sources.values()}
        self._active: set[str] = set()
        self._active_changed = threading.Condition()
        self._served = threading.Event()

    # ------------------------------------------------------------ jobs

    def add_jobs(self) -> list[str]:
        """A job per enabled source, a one-off catch-up run for each overdue one, and alert delivery.
        Returns the slugs caught up."""
        settings = self.config.scheduler
        if not self.config.enabled_sources():
            log.warning("no enabled source in %s: nothing will be crawled", self.config.path)
        for source in self.config.enabled_sources():
            trigger = trigger_for(source.schedule.cron, source.schedule.interval_hours, settings.timezone,
                                  settings.jitter_seconds)
            self.scheduler.add_job(self.run_source, trigger, args=[source.slug], id=f"crawl:{source.slug}",
                                   name=f"crawl {source.slug}")
            log.info("scheduled %s: %s (%s, jitter up to %d s)", source.slug, source.schedule,
                     settings.timezone, settings.jitter_seconds)
        overdue = self.overdue() if settings.catch_up else []
        for slug in overdue:
            log.info("%s is overdue according to the runs table: one catch-up run now", slug)
            self.scheduler.add_job(self.run_source, "date", args=[slug], id=f"catch-up:{slug}",
                                   name=f"catch-up crawl {slug}")
        self.scheduler.add_job(self.deliver_alerts, "interval", seconds=DELIVERY_POLL_SECONDS,
                               id="deliver-alerts", name="deliver alert notifications")
        if self.config.digest.schedule:  # the weekly e-mail (docs/analysts.md)
            self.scheduler.add_job(self.send_digest, cron_trigger(self.config.digest.schedule,
                                                                  self.config.digest.timezone),
                                   id="digest", name="send the digest e-mail")
            log.info("scheduled the digest e-mail: cron %s (%s)", self.config.digest.schedule,
                     self.config.digest.timezone)
        return overdue

    def send_digest(self) -> int:
        """``digest --send`` in a process of its own (as a crawl is): the outbox makes a repeat harmless."""
        command = [sys.executable, "-m", "pipeline", "digest", "--send", "--db", self.db_path]
        command += ["--config", self.config.path] if self.config.path else []
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=DIGEST_TIMEOUT_SECONDS,
                                  check=False)
        except subprocess.TimeoutExpired:
            log.error("digest e-mail: gave up after %d s", DIGEST_TIMEOUT_SECONDS)
            return -1
        for line in (proc.stderr or "").splitlines():
            (log.info if proc.returncode == 0 else log.error)("digest e-mail: %s", line)
        return proc.returncode

    def overdue(self) -> list[str]:
        """Enabled sources whose schedule has come round since their last finished run (or never ran)."""
        slugs = [s.slug for s in self.config.enabled_sources()]
        with opened(self.db_path) as db:
            last_started = runs.last_finished_starts(db, slugs)
        return overdue_sources(self.config, last_started, self.clock())

    def run_source(self, slug: str) -> list[dict] | None:
        """The job of one source. Never raises: a failing crawl must not stop the scheduler."""
        if self.stopping.is_set():
            log.info("%s: not started, the scheduler is stopping", slug)
            return None
        busy = self._busy.setdefault(slug, threading.Lock())
        if not busy.acquire(blocking=False):
            log.warning("%s: the previous run is still crawling; this run is skipped", slug)
            return None
        try:
            other = self._crawling_elsewhere(slug)
            if other:
                log.warning("%s: run %d (pid %s) is still crawling; this run is skipped", slug, other["id"],
                            other["pid"])
                return None
            self._set_active(slug, True)
            log.info("%s: scheduled crawl starting", slug)
            return self.crawl(self.config, [self.config.source(slug)], self.db_path,
                              replay=self.replay or None, clock=self.clock, parallel=1)
        except Exception:  # logged; the next run is scheduled as usual
            log.exception("%s: the scheduled crawl failed", slug)
            return None
        finally:
            self._set_active(slug, False)
            busy.release()

    def _crawling_elsewhere(self, slug: str) -> dict | None:
        """A run of this source left ``running`` by a live process (say a manual ``crawl``). A run older
        than the crawl time limit is not trusted: its pid may belong to another program by now."""
        limit = self.config.crawl.timeout_seconds + self.config.crawl.kill_grace_seconds
        oldest = self.clock() - timedelta(seconds=limit) - STALE_RUN_MARGIN
        with opened(self.db_path) as db:
            running = runs.running_runs(db, slug)
        return next((r for r in running if pid_alive(r["pid"]) and parse_iso(r["started_at"]) > oldest), None)

    def deliver_alerts(self) -> None:
        try:
            with opened(self.db_path) as db:
                delivery.deliver_due(self.config, db, self.clock)
        except Exception:  # delivery never stops the scheduler
            log.exception("alert delivery failed; it will be retried")

    def _set_active(self, slug: str, active: bool) -> None:
        with self._active_changed:
            (self._active.add if active else self._active.discard)(slug)
            self._active_changed.notify_all()

    # ------------------------------------------------------------ running and stopping

    def serve(self) -> None:
        """Run until SIGTERM or SIGINT, holding the database's scheduler lock."""
        # APScheduler logs two lines per job run, the alert poll included; ours say what matters.
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
        with SchedulerLock(self.db_path, self.clock):
            self.add_jobs()
            self._warn_missing_secrets()
            previous = {sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
            try:
                log.info("scheduler running for %s (pid %d); SIGTERM or SIGINT stops it", self.db_path,
                         os.getpid())
                if not self.stopping.is_set():
                    self.scheduler.start()
                self._served.set()
                self.drain()
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        log.info("scheduler stopped")

    def request_stop(self, signum: int | None = None, frame: Any = None) -> None:
        """Signal handler: take no new runs; a second signal ends running crawls without grace."""
        name = signal.Signals(signum).name if signum else "stop request"
        if self.stopping.is_set():
            log.warning("%s again: ending running crawls now", name)
            self.stop_now.set()
            with self._active_changed:
                self._active_changed.notify_all()
            return
        self.stopping.set()
        log.info("%s: taking no new runs; running crawls have %d s to finish", name,
                 self.config.scheduler.stop_grace_seconds)
        # APScheduler's shutdown takes locks the interrupted main thread may hold: not in the handler.
        threading.Thread(target=self._shutdown_scheduler, name="scheduler-shutdown", daemon=True).start()

    def _shutdown_scheduler(self) -> None:
        while not self._served.is_set():
            try:
                self.scheduler.shutdown(wait=False)
                return
            except SchedulerNotRunningError:  # the signal came before start(): serve() will not start it
                time.sleep(0.05)

    def drain(self) -> None:
        """Let running crawls finish within the grace period, then end them and wait for their jobs."""
        deadline = time.monotonic() + self.config.scheduler.stop_grace_seconds
        self._wait_idle(deadline, stop_early=True)
        if self._active:
            self.end_running_crawls()
        self._wait_idle(time.monotonic() + self.config.crawl.kill_grace_seconds + 60)

    def _wait_idle(self, deadline: float, stop_early: bool = False) -> bool:
        with self._active_changed:
            while self._active and time.monotonic() < deadline:
                if stop_early and self.stop_now.is_set():
                    break
                self._active_changed.wait(min(0.5, max(0.0, deadline - time.monotonic())))
            return not self._active

    def end_running_crawls(self) -> None:
        """SIGTERM to each crawl child of ours (it closes its run as ``interrupted``); SIGKILL to those
        still there after ``crawl.kill_grace_seconds``, their runs closed as ``interrupted`` first."""
        children = self._our_running_children()
        for run in children:
            log.warning("%s: run %d did not finish in time; ending it (SIGTERM to pid %d)", run["source"],
                        run["id"], run["pid"])
            _signal(run["pid"], signal.SIGTERM)
        deadline = time.monotonic() + self.config.crawl.kill_grace_seconds
        while children and time.monotonic() < deadline:
            time.sleep(0.1)
            children = [r for r in self._our_running_children() if r["id"] in {c["id"] for c in children}]
        with opened(self.db_path) as db:
            for run in children:
                runs.close_open_run(db, run["id"], "interrupted",
                                    "ended by the scheduler's shutdown (SIGKILL)", iso(self.clock()))
                log.warning("%s: run %d still running; SIGKILL to pid %d", run["source"], run["id"],
                            run["pid"])
                _signal(run["pid"], signal.SIGKILL)

    def _our_running_children(self) -> list[dict]:
        with self._active_changed:
            active = sorted(self._active)
        with opened(self.db_path) as db:
            running = [{**r, "source": slug} for slug in active for r in runs.running_runs(db, slug)]
        return [r for r in running if r["pid"] and _child_of_us(r["pid"])]

    def _warn_missing_secrets(self) -> None:
        alerts = self.config.alerts
        names = [alerts.webhook_url_env] if alerts.webhook_url_env else []
        if alerts.email and alerts.email.password_env:
            names.append(alerts.email.password_env)
        for name in names:
            if not os.environ.get(name):
                log.warning("environment variable %s (named in config.yaml alerts) is not set: alerts will "
                            "be queued and their delivery retried until it is", name)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
