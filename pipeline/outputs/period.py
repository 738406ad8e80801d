"""``--since`` / ``--until`` values: relative (``24h``, ``7d``, ``2w``) or absolute (``2024-12-01``,
``2024-12-01T09:30``), read against an injected ``now`` and turned into query bounds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pipeline.items.dates import LONDON, iso, parse_iso
from pipeline.outputs import BadInput
from storage.queries import Filters

_RELATIVE = re.compile(r"^\s*(\d{1,5})\s*([hdw])\s*$", re.I)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
EXAMPLES = "e.g. 7d, 24h, 2w, 2024-12-01 or 2024-12-01T09:30"


@dataclass(frozen=True)
class Period:
    """From ``start`` (inclusive) to ``end`` (exclusive), aware datetimes; either may be open."""

    start: datetime | None = None
    end: datetime | None = None

    def filters(self, sources: tuple[str, ...] = (), content_types: tuple[str, ...] = (),
                coarse_found_since: bool = False) -> Filters:
        return Filters(
            sources=sources,
            content_types=content_types,
            coarse_found_since=coarse_found_since,
            since=(iso(self.start), uk_date(self.start).isoformat()) if self.start else None,
            until=(iso(self.end), uk_date(self.end - timedelta(seconds=1)).isoformat()) if self.end else None,
        )

    def first_day(self) -> date | None:
        return uk_date(self.start) if self.start else None

    def last_day(self) -> date | None:
        return uk_date(self.end - timedelta(seconds=1)) if self.end else None


def uk_date(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


# Dates an analyst may give: datetime's own range, less a day at each end so that moving to the next UK day
# or to UTC never leaves it. Later than this is "no end" (``--until 9999-12-31``), earlier is refused.
FIRST_DAY, LAST_DAY = date(1, 1, 2), date(9999, 12, 30)


def parse_moment(value: str, now: datetime, option: str, *, end_of_day: bool = False) -> datetime | None:
    """One ``--since``/``--until`` value as an aware datetime. A bare date means the start of that UK day,
    or with ``end_of_day`` the start of the next (so ``--until 2024-12-31`` includes the 31st). An
    ``--until`` past the last day a datetime can hold is no bound at all (None)."""
    text = value.strip()
    day = text[:10]
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}(T.*)?", text) and not FIRST_DAY.isoformat() <= day <= LAST_DAY.isoformat():
        if end_of_day and day > LAST_DAY.isoformat():
            return None
        raise BadInput(f"{option}: {value!r} is outside the dates this tool handles "
                       f"({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})")
    try:
        if m := _RELATIVE.match(text):
            return now - timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            start = date.fromisoformat(text) + (timedelta(days=1) if end_of_day else timedelta(0))
            return datetime.combine(start, time(0), tzinfo=LONDON).astimezone(UTC)
        return parse_iso(text, naive=LONDON).astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadInput(f"{option}: cannot read {value!r} as a date or an age ({EXAMPLES})") from None


def parse_period(since: str | None, until: str | None, now: datetime, open_end: bool = True) -> Period:
    """The period of ``--since``/``--until``; without ``--until`` it is open, or ends ``now`` when
    ``open_end`` is false (a digest covers a finished stretch of time)."""
    start = parse_moment(since, now, "--since") if since else None
    end = parse_moment(until, now, "--until", end_of_day=True) if until else None if open_end else now
    if start and end and start >= end:
        raise BadInput(f"--since {since} is not before --until {until}" if until else
                       f"--since {since} is in the future")
    return Period(start, end)
