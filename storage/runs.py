"""The ``runs`` table: a run's life (start, progress, close), the history health checks and the scheduler
compare with, and the per-source overview of ``status``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: quick reads (status, search) do not load sqlite_utils
    from sqlite_utils import Database

from storage import alerts
from storage.db import first_row

FINISHED = ("ok", "partial", "failed")  # runs that ran to their end (not running, not interrupted)
SUCCEEDED = ("ok", "partial")  # runs that stored what they found


def _in(values: tuple[str, ...]) -> str:
    return ",".join(f"'{v}'" for v in values)


# ---------------------------------------------------------------- a run's life


def start_run(db: Database, source: str, started_at: str, pid: int | None) -> int:
    with db.atomic():
        cur = db.execute("insert into runs (source, started_at, status, pid) values (?, ?, 'running', ?)",
                         [source, started_at, pid])
    return int(cur.lastrowid or 0)


def set_run_pid(db: Database, run_id: int, pid: int, log_path: str | None = None) -> None:
    with db.atomic():
        db.execute("update runs set pid = ?, log_path = coalesce(?, log_path) where id = ?", [pid, log_path, run_id])


def not_seen(db: Database, source: str, started_at: str) -> int:
    """Publications of the source stored earlier that a run finished since ``started_at`` did not see."""
    row = next(db.query("select count(*) as n from publications where source = ? and last_seen_at < ?",
                        [source, started_at]))
    return int(row["n"])


def update_run(db: Database, run_id: int, **fields: Any) -> None:
    """Record progress or the end of a run; ``http_errors`` may be given as a dict."""
    if isinstance(fields.get("http_errors"), dict):
        fields["http_errors"] = json.dumps(fields["http_errors"], sort_keys=True)
    if not fields:
        return
    sets = ", ".join(f"[{k}] = ?" for k in fields)
    with db.atomic():
        db.execute(f"update runs set {sets} where id = ?", [*fields.values(), run_id])


def get_run(db: Database, run_id: int) -> dict[str, Any] | None:
    return first_row(db, "select * from runs where id = ?", [run_id])


def close_open_run(db: Database, run_id: int, status: str, message: str, now: str) -> bool:
    """Close a run still marked running (its crawl process died); True if it was still open."""
    with db.atomic():
        cur = db.execute(
            "update runs set status = ?, finished_at = ?, message = trim(message || ' ' || ?) "
            "where id = ? and status = 'running'",
            [status, now, message, run_id],
        )
    return cur.rowcount > 0


def close_dead_runs(db: Database, now: str, is_alive: Callable[[int | None], bool]) -> list[int]:
    """Runs left `running` by a process that no longer exists are closed as `interrupted`."""
    dead = [r["id"] for r in db.query("select id, pid from runs where status = 'running'")
            if not is_alive(r["pid"])]
    for run_id in dead:
        close_open_run(db, run_id, "interrupted", "crawl process ended without closing its run", now)
    return dead


def set_run_coverage(db: Database, run_id: int, date_coverage: float | None,
                     summary_coverage: float | None) -> None:
    with db.atomic():
        db.execute("update runs set date_coverage = ?, summary_coverage = ? where id = ?",
                   [date_coverage, summary_coverage, run_id])


# ---------------------------------------------------------------- history


def earlier_runs(db: Database, source: str, before_id: int, limit: int) -> list[dict[str, Any]]:
    """The source's runs that stored what they found, before ``before_id``, newest first."""
    return list(db.query(
        f"select * from runs where source = ? and id < ? and status in ({_in(SUCCEEDED)}) "
        "order by id desc limit ?", [source, before_id, limit]))


def coverage_counts(db: Database, source: str, started_at: str, finished_at: str) -> dict[str, int]:
    """Publications of the source that a run saw (``last_seen_at`` within the run), and how many of them
    have a publication date and a summary."""
    row = next(db.query(
        """select count(*) as seen,
                  count(nullif(published_at, '')) as with_date,
                  count(nullif(trim(summary), '')) as with_summary
           from publications where source = ? and last_seen_at between ? and ?""",
        [source, started_at, finished_at]))
    return dict(row)


def first_run_started(db: Database, source: str | None = None) -> str | None:
    """When the source (or, without one, any source) was first crawled."""
    if source is None:
        return next(db.query("select min(started_at) as t from runs"))["t"]
    return next(db.query("select min(started_at) as t from runs where source = ?", [source]))["t"]


def last_finished_run(db: Database, source: str) -> dict[str, Any] | None:
    """The latest run that ran to its end: what the catch-up after downtime compares with the schedule."""
    return first_row(db, f"select * from runs where source = ? and status in ({_in(FINISHED)}) "
                         "order by id desc limit 1", [source])


def last_finished_starts(db: Database, sources: list[str]) -> dict[str, str | None]:
    """Per source: when its latest run that ran to its end started (None if none did)."""
    found: dict[str, str | None] = dict.fromkeys(sources)
    for source in sources:
        last = last_finished_run(db, source)
        found[source] = last["started_at"] if last else None
    return found


def running_runs(db: Database, source: str) -> list[dict[str, Any]]:
    return list(db.query("select id, pid, started_at from runs where source = ? and status = 'running'",
                         [source]))


# ---------------------------------------------------------------- status


def source_overview(db: Database, new_since: str) -> list[dict[str, Any]]:
    """Per source that has runs: the latest run, the latest finished run's status, the latest success,
    publications stored and first seen since ``new_since``, and the number of open alerts."""
    return list(db.query(
        f"""
        select r.source, r.id as run_id, r.status, r.started_at, r.finished_at, r.pages, r.items, r.new,
               r.errors, r.message, r.log_path,
               (select f.status from runs f where f.source = r.source and f.status in ({_in(FINISHED)})
                order by f.id desc limit 1) as last_finished_status,
               (select max(s.started_at) from runs s
                where s.source = r.source and s.status in ({_in(SUCCEEDED)})) as last_success_started,
               (select max(s.finished_at) from runs s
                where s.source = r.source and s.status in ({_in(SUCCEEDED)})) as last_success,
               (select count(*) from publications p where p.source = r.source) as stored,
               (select count(*) from publications p where p.source = r.source and p.first_seen_at >= ?)
                   as new_7d,
               (select count(*) from alerts a where a.source = r.source and a.resolved_at is null)
                   as open_alerts
        from runs r
        where r.id = (select max(x.id) from runs x where x.source = r.source)
        order by r.source
        """, [new_since]))


@dataclass(frozen=True)
class StatusSnapshot:
    """What ``status`` reports, read at once."""

    overview: list[dict[str, Any]]  # source_overview's rows
    open_alerts: list[dict[str, Any]]
    first_runs: dict[str, str]  # source → when it was first crawled
    first_run_any: str | None


def status_snapshot(db: Database, new_since: str) -> StatusSnapshot:
    firsts = {r["source"]: r["t"] for r in db.query("select source, min(started_at) as t from runs group by source")}
    return StatusSnapshot(overview=source_overview(db, new_since), open_alerts=alerts.open_alerts(db),
                          first_runs=firsts, first_run_any=min(firsts.values(), default=None))
