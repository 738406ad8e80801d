"""Source schedules as APScheduler 3.x triggers, and the questions asked of them: when was a run last
due, is a source overdue. Pure functions of the times given; nothing here reads the clock."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

# Standard crontab numbers weekdays from Sunday (0 or 7); APScheduler 3.x from Monday (0). Numbers are
# turned into names here so that "0 6 * * 0" means Sunday, as every crontab reader expects.
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DOW_PART = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?$")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as UTC or Europe/London)") from None


def _weekday(token: str) -> int:
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    if token[:3] in WEEKDAYS and len(token) == 3:
        return WEEKDAYS.index(token)
    raise ValueError(f"bad day of week {token!r}")


def _day_of_week(field: str) -> str:
    """A crontab day-of-week field as APScheduler names ("1-5" → "mon,tue,wed,thu,fri")."""
    days: set[int] = set()
    for part in field.lower().split(","):
        match = _DOW_PART.match(part)
        if not match:
            raise ValueError(f"bad day of week {part!r}")
        span, step = match.group(1), int(match.group(2) or 1)
        if step < 1:
            raise ValueError(f"bad step in day of week {part!r}")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            first, last = (_weekday(t) for t in span.split("-"))
            last = 7 if last == 0 and span.endswith("7") else last
        else:
            first = last = _weekday(span)
        if first > last:
            raise ValueError(f"bad range in day of week {part!r}")
        days.update(d % 7 for d in range(first, last + 1, step))
    return "*" if len(days) == 7 else ",".join(WEEKDAYS[d] for d in sorted(days))


def cron_trigger(expr: str, timezone: str = "UTC", jitter: int | None = None) -> CronTrigger:
    """A trigger from a standard five-field crontab expression; ValueError naming the problem."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"invalid cron expression {expr!r}: expected 5 fields "
                         f"(minute hour day-of-month month day-of-week), got {len(fields)}")
    minute, hour, day, month, dow = fields
    try:
        return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_day_of_week(dow),
                           timezone=zone(timezone), jitter=jitter or None)
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {expr!r}: {exc}") from None


def trigger_for(cron: str | None, interval_hours: float | None, timezone: str = "UTC",
                jitter: int | None = None) -> BaseTrigger:
    if cron:
        return cron_trigger(cron, timezone, jitter)
    assert interval_hours, "a schedule has a cron expression or an interval"
    return IntervalTrigger(seconds=round(interval_hours * 3600), timezone=zone(timezone),
                           jitter=jitter or None)


def previous_fire(trigger: CronTrigger, ref: datetime) -> datetime | None:
    """The latest time at or before ``ref`` at which ``trigger`` fires (None if none in five years)."""
    for window in (timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=32),
                   timedelta(days=367), timedelta(days=5 * 366)):
        fire = trigger.get_next_fire_time(None, ref - window)
        if fire is not None and fire <= ref:
            while True:
                following = trigger.get_next_fire_time(fire, fire)
                if following is None or following > ref:
                    return fire
                fire = following
    return None


def due_since(cron: str | None, interval_hours: float | None, timezone: str, last: datetime | None,
              now: datetime) -> bool:
    """True when a scheduled time has passed since ``last`` (a run's start), or when there is no ``last``."""
    if last is None:
        return True
    if cron:
        following = cron_trigger(cron, timezone).get_next_fire_time(None, last + timedelta(seconds=1))
        return following is not None and following <= now
    return last + timedelta(hours=interval_hours or 0) <= now


def last_due(cron: str | None, interval_hours: float | None, timezone: str, now: datetime,
             allowance: timedelta) -> datetime | None:
    """The scheduled time whose run should have succeeded by ``now``, given ``allowance`` for jitter, the
    crawl itself and lateness. For an interval the schedule has no fixed phase: ``now - interval``."""
    ref = now - allowance
    if cron:
        return previous_fire(cron_trigger(cron, timezone), ref)
    return ref - timedelta(hours=interval_hours or 0)
