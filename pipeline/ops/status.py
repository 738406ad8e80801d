"""What ``safeguarding-news status`` reports per source, and whether the source is healthy.

Unhealthy: its last finished run failed, it has an open alert, or it is overdue: no successful run (``ok``
or ``partial``) since the scheduled time that should have produced one by now, allowing for jitter, the
crawl time limit and ``health.overdue_grace_hours``.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipeline.items.dates import iso, parse_iso
from pipeline.schedules import last_due
from storage import runs
from storage.db import quick_check
from storage.wal import check_log

if TYPE_CHECKING:  # `status` reads the quick view of config.yaml and a plain sqlite3 connection (start-up)
    from sqlite_utils import Database

    from pipeline.config import Config
    from pipeline.config_file import QuickConfig

NEW_WINDOW = timedelta(days=7)
ALERT_FIELDS = ("id", "kind", "message", "raised_at", "run_id")


def age_text(seconds: int | None) -> str:
    if seconds is None:
        return ""
    days, rest = divmod(max(0, seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m" if minutes else f"{secs}s"


def source_status(config: Config | QuickConfig, db: Database, now: datetime) -> list[dict[str, Any]]:
    """One entry per source with runs (by slug), then each enabled source that never ran. A database that
    fails SQLite's quick_check, or whose write-ahead log is damaged, makes every source unhealthy, saying why
    (corruption is never silent)."""
    path = getattr(db, "_sgn_path", None)
    broken_log = check_log(path) if path else None  # SQLite drops what follows a bad frame in silence
    damage = quick_check(db)
    try:
        snapshot = runs.status_snapshot(db, iso(now - NEW_WINDOW))
    except sqlite3.DatabaseError as exc:
        if not damage:
            raise
        damage.append(f"cannot read runs: {exc}")
        snapshot = runs.StatusSnapshot(overview=[], open_alerts=[], first_runs={}, first_run_any=None)
    entries = status_entries(config, snapshot, now)
    found = ([f"database unhealthy: {broken_log}"] if broken_log else []) \
        + ([f"database unhealthy (quick_check): {'; '.join(damage)}"] if damage else [])
    for entry in entries:
        entry["problems"] = [*found, *entry["problems"]]
        entry["healthy"] = entry["healthy"] and not found
    return entries


def status_entries(config: Config | QuickConfig, snapshot: runs.StatusSnapshot, now: datetime) -> list[dict[str, Any]]:
    """The pure half of ``status``: entries from what was read."""
    open_by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in snapshot.open_alerts:
        open_by_source[alert["source"]].append({k: alert[k] for k in ALERT_FIELDS})
    rows = {r["source"]: r for r in snapshot.overview}
    never = [s.slug for s in config.enabled_sources() if s.slug not in rows]
    return [_entry(config, slug, rows.get(slug), open_by_source[slug],
                   snapshot.first_runs.get(slug) or snapshot.first_run_any, now) for slug in [*sorted(rows), *never]]


def _entry(config: Config | QuickConfig, slug: str, row: dict[str, Any] | None, open_alerts: list[dict[str, Any]],
           first_run: str | None, now: datetime) -> dict[str, Any]:
    """``first_run``: when the source (or, if it never ran, the pipeline) was first crawled; a source
    that never succeeded is overdue once a scheduled run after that should have succeeded."""
    row = row or {}
    success = row.get("last_success")
    age = int((now - parse_iso(success)).total_seconds()) if success else None
    due = _due(config, slug, now)
    reference = row.get("last_success_started") or first_run
    overdue = bool(due and reference and parse_iso(reference) < due)
    problems = []
    if row.get("last_finished_status") == "failed":
        problems.append("its last finished run failed")
    if open_alerts:
        problems.append(f"{len(open_alerts)} open alert(s): {', '.join(a['kind'] for a in open_alerts)}")
    if due and overdue:
        since = f"since {iso(due)}" if success else f"scheduled for {iso(due)}"
        problems.append(f"overdue: no successful run {since}")
    source = config.sources.get(slug)
    return {
        "source": slug, "status": row.get("status", "never run"), "run_id": row.get("run_id"),
        "started_at": row.get("started_at"), "finished_at": row.get("finished_at"),
        "last_success": success, "last_success_age": age_text(age), "last_success_age_seconds": age,
        "schedule": str(source.schedule) if source else "", "overdue": overdue,
        "items": row.get("items"), "new": row.get("new"), "errors": row.get("errors"),
        "new_7d": row.get("new_7d", 0), "stored": row.get("stored", 0), "message": row.get("message"),
        "log_path": row.get("log_path"),
        "open_alerts": len(open_alerts), "alerts": open_alerts, "healthy": not problems, "problems": problems,
    }


def _due(config: Config | QuickConfig, slug: str, now: datetime) -> datetime | None:
    """The scheduled time whose run should have succeeded by now (None for sources not scheduled)."""
    source = config.sources.get(slug)
    if source is None or not source.enabled:
        return None
    allowance = (timedelta(seconds=config.scheduler.jitter_seconds + config.crawl.timeout_seconds)
                 + timedelta(hours=config.health_for(slug).overdue_grace_hours))
    return last_due(source.schedule.cron, source.schedule.interval_hours, config.scheduler.timezone, now,
                    allowance)
