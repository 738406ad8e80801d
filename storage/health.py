"""Named queries and writes of the health checks, alerts and their delivery, and `status`."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlite_utils import Database

FINISHED = ("ok", "partial", "failed")  # runs that ran to their end (not running, not interrupted)
SUCCEEDED = ("ok", "partial")  # runs that stored what they found


def _in(values: tuple[str, ...]) -> str:
    return ",".join(f"'{v}'" for v in values)


# ---------------------------------------------------------------- runs


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


def set_run_coverage(db: Database, run_id: int, date_coverage: float | None,
                     summary_coverage: float | None) -> None:
    with db.atomic():
        db.execute("update runs set date_coverage = ?, summary_coverage = ? where id = ?",
                   [date_coverage, summary_coverage, run_id])


def newest_first_seen(db: Database, source: str) -> str | None:
    return next(db.query("select max(first_seen_at) as t from publications where source = ?", [source]))["t"]


def first_run_started(db: Database, source: str | None = None) -> str | None:
    """When the source (or, without one, any source) was first crawled."""
    if source is None:
        return next(db.query("select min(started_at) as t from runs"))["t"]
    return next(db.query("select min(started_at) as t from runs where source = ?", [source]))["t"]


def last_finished_run(db: Database, source: str) -> dict[str, Any] | None:
    """The latest run that ran to its end: what the catch-up after downtime compares with the schedule."""
    rows = list(db.query(f"select * from runs where source = ? and status in ({_in(FINISHED)}) "
                         "order by id desc limit 1", [source]))
    return rows[0] if rows else None


def running_runs(db: Database, source: str) -> list[dict[str, Any]]:
    return list(db.query("select id, pid, started_at from runs where source = ? and status = 'running'",
                         [source]))


# ---------------------------------------------------------------- alerts


def open_alert(db: Database, source: str, kind: str) -> dict[str, Any] | None:
    rows = list(db.query("select * from alerts where source = ? and kind = ? and resolved_at is null",
                         [source, kind]))
    return rows[0] if rows else None


def open_alerts(db: Database, source: str | None = None) -> list[dict[str, Any]]:
    where, params = ("and source = ?", [source]) if source else ("", [])
    return list(db.query(f"select * from alerts where resolved_at is null {where} order by source, id",
                         params))


def raise_alert(db: Database, source: str, kind: str, run_id: int | None, message: str, now: str,
                channels: list[str]) -> int | None:
    """Open an alert and queue its notification on each channel; None if one of this kind is open."""
    try:
        with db.atomic():
            cur = db.execute(
                "insert into alerts (source, run_id, kind, message, raised_at) values (?, ?, ?, ?, ?)",
                [source, run_id, kind, message, now])
            alert_id = int(cur.lastrowid)
            _queue(db, alert_id, "raised", channels, now)
    except sqlite3.IntegrityError:  # alerts_one_open: another process raised it first
        return None
    return alert_id


def resolve_alert(db: Database, alert_id: int, now: str, channels: list[str]) -> bool:
    with db.atomic():
        cur = db.execute("update alerts set resolved_at = ? where id = ? and resolved_at is null",
                         [now, alert_id])
        if cur.rowcount:
            _queue(db, alert_id, "resolved", channels, now)
    return cur.rowcount > 0


def _queue(db: Database, alert_id: int, event: str, channels: list[str], now: str) -> None:
    for channel in channels:
        db.execute("insert into alert_deliveries (alert_id, event, channel, created_at, next_attempt_at) "
                   "values (?, ?, ?, ?, ?)", [alert_id, event, channel, now, now])


# ---------------------------------------------------------------- alert delivery


def due_deliveries(db: Database, channel: str, now: str) -> list[dict[str, Any]]:
    """Notifications waiting on ``channel`` whose next attempt is due, oldest first, with their alert."""
    return list(db.query(
        """select d.id as delivery_id, d.event, d.attempts, a.id as alert_id, a.source, a.kind, a.message,
                  a.run_id, a.raised_at, a.resolved_at
           from alert_deliveries d join alerts a on a.id = d.alert_id
           where d.channel = ? and d.delivered_at is null and d.gave_up_at is null
             and d.next_attempt_at <= ?
           order by d.id""", [channel, now]))


def mark_delivered(db: Database, ids: list[int], now: str) -> None:
    with db.atomic():
        db.execute(f"update alert_deliveries set delivered_at = ?, attempts = attempts + 1 "
                   f"where id in ({','.join('?' * len(ids))})", [now, *ids])


def mark_failed(db: Database, ids: list[int], error: str, next_attempt_at: str | None, now: str) -> None:
    """One more failed attempt; retried at ``next_attempt_at``, or given up when it is None."""
    marks = ",".join("?" * len(ids))
    with db.atomic():
        db.execute(f"update alert_deliveries set attempts = attempts + 1, last_error = ?, "
                   f"next_attempt_at = coalesce(?, next_attempt_at), "
                   f"gave_up_at = case when ? is null then ? end where id in ({marks})",
                   [error, next_attempt_at, next_attempt_at, now, *ids])


# ---------------------------------------------------------------- status


def source_overview(db: Database, new_since: str) -> list[dict[str, Any]]:
    """Per source that has runs: the latest run, the latest finished run's status, the latest success,
    publications stored and first seen since ``new_since``, and the number of open alerts."""
    return list(db.query(
        f"""
        select r.source, r.id as run_id, r.status, r.started_at, r.finished_at, r.pages, r.items, r.new,
               r.errors, r.message,
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
