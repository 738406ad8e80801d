"""Source schedules as APScheduler 3.x triggers, and the questions asked of them: when was a run last
due, is a source overdue. Pure functions of the times given; nothing here reads the clock.

APScheduler (and the asyncio it imports, a tenth of a second) is loaded only when a trigger is made: ``status``
asks only when a cron schedule last fired, which ``CronFields`` answers for plain crontab expressions (numbers,
``*``, ranges, steps, lists, weekday and month names) with APScheduler's meaning (day of month AND day of
week, as its CronTrigger does; tests/pipeline/test_scheduler.py compares the two). Where APScheduler 3.x
skips a fire across a DST change ("0 0 1 * *" in Europe/London: after 1 March comes 1 May), this answers
1 April. Other expressions go to APScheduler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger
    from apscheduler.triggers.cron import CronTrigger

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
    from apscheduler.triggers.cron import CronTrigger

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
    from apscheduler.triggers.interval import IntervalTrigger

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
        fields = CronFields.parse(cron)
        if fields is not None:
            return fields.previous(ref, zone(timezone))
        return previous_fire(cron_trigger(cron, timezone), ref)
    return ref - timedelta(hours=interval_hours or 0)


MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_PLAIN_PART = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?$")


def _values(field: str, first: int, last: int, names: tuple[str, ...] = (), name_base: int = 0) -> frozenset[int]:
    """The values of a plain crontab field (``*``, ``5``, ``1-5``, ``*/15``, ``mon``, lists); ValueError else."""
    def number(token: str) -> int:
        if token.isdigit():
            return int(token)
        if token in names:
            return names.index(token) + name_base
        raise ValueError(token)

    out: set[int] = set()
    for part in field.lower().split(","):
        match = _PLAIN_PART.match(part)
        if not match:
            raise ValueError(part)
        span, step = match.group(1), int(match.group(2) or 1)
        if span == "*":
            low, high = first, last
        elif "-" in span:
            low, high = (number(t) for t in span.split("-"))
        else:  # "5" is 5; "5/15" is 5, 20, 35... as in APScheduler
            low = number(span)
            high = last if match.group(2) else low
        if step < 1 or not first <= low <= high <= last:
            raise ValueError(part)
        out.update(range(low, high + 1, step))
    return frozenset(out)


@dataclass(frozen=True)
class CronFields:
    """A plain five-field crontab expression as sets of values: when it last fired, without APScheduler."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Monday, as datetime.weekday()

    @classmethod
    def parse(cls, expr: str) -> CronFields | None:
        """The fields of ``expr``; None for what only APScheduler reads (``L``, ``last``, ``#``...)."""
        fields = expr.split()
        if len(fields) != 5:
            return None
        try:
            dow = _day_of_week(fields[4])
            weekdays = frozenset(range(7)) if dow == "*" else frozenset(
                (WEEKDAYS.index(d) - 1) % 7 for d in dow.split(","))
            return cls(_values(fields[0], 0, 59), _values(fields[1], 0, 23), _values(fields[2], 1, 31),
                       _values(fields[3], 1, 12, MONTHS, 1), weekdays)
        except (ValueError, IndexError):
            return None

    def previous(self, ref: datetime, tz: ZoneInfo) -> datetime | None:
        """The latest time at or before ``ref`` (aware) at which the schedule fires in ``tz`` (None if none in
        five years). A local time that happens twice (autumn) fires at both; one in the spring gap fires at
        the instant its old offset names (01:30 GMT for 01:30 in London's gap), as APScheduler does."""
        limit = ref.astimezone(UTC)
        day = ref.astimezone(tz).date() + timedelta(days=1)
        for _ in range(5 * 366 + 2):
            if day.month in self.months and day.day in self.days and day.weekday() in self.weekdays:
                fires = {fire for hour in self.hours for minute in self.minutes
                         for fire in _instants(datetime(day.year, day.month, day.day, hour, minute), tz)}
                if past := [f for f in fires if f <= limit]:
                    return max(past).astimezone(tz)
            day -= timedelta(days=1)
        return None


def _instants(naive: datetime, tz: ZoneInfo) -> set[datetime]:
    """The UTC instants of a local time: two in the autumn overlap, the old offset's one in the spring gap."""
    first = naive.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:  # in the gap
        return {first.astimezone(UTC)}
    return {first.astimezone(UTC), naive.replace(tzinfo=tz, fold=1).astimezone(UTC)}
