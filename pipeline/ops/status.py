"""What ``safeguarding-news status`` reports per source, and whether the source is healthy.

Unhealthy: its last finished run failed, it has an open alert, or it is overdue: no successful run (``ok``
or ``partial``) since the scheduled time that should have produced one by now, allowing for jitter, the
crawl time limit and ``health.overdue_grace_hours``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from pipeline.clock import iso
from pipeline.config import Config
from pipeline.schedules import last_due
from storage import health as store

NEW_WINDOW = timedelta(days=7)
ALERT_FIELDS = ("id", "kind", "message", "raised_at", "run_id")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


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


def source_status(config: Config, db, now: datetime) -> list[dict[str, Any]]:
    """One entry per source with runs (by slug), then each enabled source that never ran."""
    rows = {r["source"]: r for r in store.source_overview(db, iso(now - NEW_WINDOW))}
    alerts: dict[str, list[dict]] = defaultdict(list)
    for alert in store.open_alerts(db):
        alerts[alert["source"]].append({k: alert[k] for k in ALERT_FIELDS})
    never = [s.slug for s in config.enabled_sources() if s.slug not in rows]
    first_any = store.first_run_started(db)
    return [_entry(config, slug, rows.get(slug), alerts[slug],
                   store.first_run_started(db, slug) or first_any, now) for slug in [*sorted(rows), *never]]


def _entry(config: Config, slug: str, row: dict | None, alerts: list[dict], first_run: str | None,
           now: datetime) -> dict[str, Any]:
    """``first_run``: when the source (or, if it never ran, the pipeline) was first crawled; a source
    that never succeeded is overdue once a scheduled run after that should have succeeded."""
    row = row or {}
    success = row.get("last_success")
    age = int((now - _parse(success)).total_seconds()) if success else None
    due = _due(config, slug, now)
    reference = row.get("last_success_started") or first_run
    overdue = bool(due and reference and _parse(reference) < due)
    problems = []
    if row.get("last_finished_status") == "failed":
        problems.append("its last finished run failed")
    if alerts:
        problems.append(f"{len(alerts)} open alert(s): {', '.join(a['kind'] for a in alerts)}")
    if overdue:
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
        "open_alerts": len(alerts), "alerts": alerts, "healthy": not problems, "problems": problems,
    }


def _due(config: Config, slug: str, now: datetime) -> datetime | None:
    """The scheduled time whose run should have succeeded by now (None for sources not scheduled)."""
    source = config.sources.get(slug)
    if source is None or not source.enabled:
        return None
    allowance = (timedelta(seconds=config.scheduler.jitter_seconds + config.crawl.timeout_seconds)
                 + timedelta(hours=config.health_for(slug).overdue_grace_hours))
    return last_due(source.schedule.cron, source.schedule.interval_hours, config.scheduler.timezone, now,
                    allowance)
