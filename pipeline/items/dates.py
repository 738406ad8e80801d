"""Dates: every date a source shows, read once, here; and the timestamps the pipeline writes and reads back.

- ``parse_date``: a site's own date text (a label, a card, an API field) to ISO 8601 with its precision
  (year, month, day or datetime), without guessing what the site did not say.
- ``iso`` / ``parse_iso``: the pipeline's own UTC timestamps (``2025-01-06T09:30:00Z``), written to every
  ``*_at`` column and read back from it.
- ``MONTHS``: English month names and abbreviations to their numbers, the one table of them
  (``MONTH_NAMES``: the full names in order, for the spiders' patterns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil import parser as dateparser

LONDON = ZoneInfo("Europe/London")


def iso(moment: datetime) -> str:
    """UTC, second precision, with a Z: the format of every *_at column the pipeline writes."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str, naive: tzinfo = UTC) -> datetime:
    """A timestamp the pipeline wrote (or any ISO 8601 datetime) back to an aware datetime; one without an
    offset is taken to be in ``naive`` (UTC, or UK time for what a person typed). ValueError when it is not
    ISO 8601 (or out of range)."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except OverflowError:
        raise ValueError(f"date out of range: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=naive)


def start_of(value: str | None) -> datetime | None:
    """A stored date of any precision (``2024``, ``2024-12``, ``2024-12-12``, a UTC datetime) as the aware
    moment it starts (a date starts at midnight UK time); None when it is empty or not ISO 8601."""
    text = (value or "").strip()
    try:
        if len(text) > 10:
            return parse_iso(text).astimezone(UTC)
        padded = {4: "-01-01", 7: "-01", 10: ""}.get(len(text))
        if padded is None:
            return None
        return datetime.combine(date.fromisoformat(text + padded), time(0), tzinfo=LONDON).astimezone(UTC)
    except ValueError:
        return None


_LABEL = re.compile(
    r"^\s*(?:last\s+updated|updated|published|first\s+published|date\s+published|posted)\s*:?\s*", re.I
)
_YEAR = re.compile(r"^\(?\s*(?:published\s+)?((?:19|20)\d\d)\s*\)?$", re.I)
_ISO_START = re.compile(r"^\d{4}-\d\d")
_ISO_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$")
# "5 March 2024", "March 2024", "5 Sept 2024": the commonest label of the HTML sites, read without dateutil
# (tests/pipeline/test_normalise.py checks every day of every month name against the dateutil reading).
_DAY_MONTH_YEAR = re.compile(r"^(?:(\d{1,2}) )?([A-Za-z]+) ((?:19|20)\d\d)$")
_URL_MONTH = re.compile(r"^((?:19|20)\d\d)/([a-z]+)$", re.I)
_MONTH_NAMES = (
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
    ("december", "dec"),
)
MONTHS = {m: i for i, names in enumerate(_MONTH_NAMES, start=1) for m in names}
MONTH_NAMES = tuple(names[0].capitalize() for names in _MONTH_NAMES)  # "January" ... "December"
# Two defaults that differ in every field: a field that comes out different under the two parses was
# not in the string, which tells the precision the site gave without guessing.
_DEFAULT_A = datetime(2000, 1, 1, 0, 0, 0)
_DEFAULT_B = datetime(2001, 2, 2, 1, 1, 1)


@dataclass(frozen=True)
class ParsedDate:
    iso: str
    precision: str


def parse_date(raw: str | None) -> ParsedDate | None:
    """Any date a source shows, to ISO 8601 and its precision; ``None`` if there is no date in it.

    Datetimes become UTC (``2016-12-25T00:15:06Z``); a datetime without an offset is read as UK local
    time, since every source is a UK site. Day-first is assumed for numeric dates (UK usage).
    """
    return _parse_date(" ".join((raw or "").split()))


@lru_cache(maxsize=4096)
def _parse_date(text: str) -> ParsedDate | None:
    """parse_date of a whitespace-folded text; cached, since one crawl sees the same dates many times."""
    text = _LABEL.sub("", text).strip(" .,;")
    if not text:
        return None
    if m := _YEAR.match(text):
        return ParsedDate(m.group(1), "year")
    if m := _URL_MONTH.match(text):
        month = MONTHS.get(m.group(2).lower())
        return ParsedDate(f"{m.group(1)}-{month:02d}", "month") if month else None
    if (m := _DAY_MONTH_YEAR.match(text)) and (month := MONTHS.get(m.group(2).lower())):
        if m.group(1) is None:
            return ParsedDate(f"{m.group(3)}-{month:02d}", "month")
        try:
            return ParsedDate(date(int(m.group(3)), month, int(m.group(1))).isoformat(), "day")
        except ValueError:
            return None
    if _ISO_DATETIME.match(text):  # API timestamps: the standard library reads them ten times faster
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            return _utc_datetime(moment)
    dayfirst = not _ISO_START.match(text)
    try:
        a = dateparser.parse(text, default=_DEFAULT_A, dayfirst=dayfirst, fuzzy=True)
        b = dateparser.parse(text, default=_DEFAULT_B, dayfirst=dayfirst, fuzzy=True)
    except (ValueError, OverflowError):
        return None
    if a.year != b.year:
        return None  # no year in the text: a bare "5 March" is not a usable date
    if a.month != b.month:
        return ParsedDate(f"{a.year:04d}", "year")
    if a.day != b.day:
        return ParsedDate(f"{a.year:04d}-{a.month:02d}", "month")
    if (a.hour, a.minute) != (b.hour, b.minute):
        return ParsedDate(a.date().isoformat(), "day")
    return _utc_datetime(a)


def _utc_datetime(moment: datetime) -> ParsedDate:
    """A datetime as UTC to the second; one without an offset is UK local time (every source is a UK site)."""
    local = moment if moment.tzinfo else moment.replace(tzinfo=LONDON)
    return ParsedDate(local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "datetime")


def date_iso(raw: str | None) -> str | None:
    parsed = parse_date(raw)
    return parsed.iso if parsed else None
