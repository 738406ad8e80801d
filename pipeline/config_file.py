"""config.yaml as a file: reading its YAML (every mistake one line), and the quick view of the few settings
that ``status`` and ``search`` read, without pydantic.

Building the full pydantic model of ``pipeline.config`` (every section, every source's options and doors)
costs about 0.15 s of a command's start, more than a quick read command may take in all (the target is
0.2 s: benchmarks/startup.py). So ``status`` and ``search`` read config.yaml with ``load_quick_config``:
the same YAML reading and the same one-line errors for the keys they use (``database``, ``topics_file``,
``crawl.timeout_seconds``, ``crawl.log_format``, ``scheduler.timezone``, ``scheduler.jitter_seconds``,
``health.overdue_grace_hours``, and each source's ``enabled``, ``schedule`` and
``health.overdue_grace_hours``), with the defaults of ``pipeline.config`` (a test compares the two). A
mistake elsewhere in the file (a misspelt key, a bad source option) is not theirs to find: ``crawl``,
``schedule`` and every other command validate the whole file with ``pipeline.config.load_config``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path("config.yaml")
# Environment variables may override the database path and secrets only, never behaviour.
ENV_DB = "SAFEGUARDING_NEWS_DB"
TRUE = {"true", "yes", "on", "1", "t", "y"}
FALSE = {"false", "no", "off", "0", "f", "n"}


class ConfigError(Exception):
    """A config problem, already phrased for the operator; the CLI prints it and exits 2."""


def read_config_data(path: str | os.PathLike | None) -> tuple[Path, dict[str, Any]]:
    """The YAML of config.yaml as a mapping (each source block with its ``slug``, and ``path``); ConfigError
    naming the problem when the file is missing, unreadable, not YAML or has no sources."""
    import yaml

    cfg_path = Path(path) if path else DEFAULT_CONFIG
    try:
        # libyaml's loader when the wheel has it: a third of the pure-Python one's time (start-up)
        data = yaml.load(cfg_path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {cfg_path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {cfg_path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{cfg_path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{cfg_path}: expected a mapping of settings at the top level")
    sources = data.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise ConfigError(f"{cfg_path}: sources: at least one source is required")
    data = {**data, "sources": {k: {**(v or {}), "slug": k} if isinstance(v, dict) or v is None else v
                                for k, v in sources.items()}, "path": str(cfg_path)}
    return cfg_path, data


# -- the quick view ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuickSchedule:
    cron: str | None = None
    interval_hours: float | None = None

    def __str__(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {self.interval_hours:g} h"


@dataclass(frozen=True)
class QuickHealth:
    overdue_grace_hours: float = 1.0


@dataclass(frozen=True)
class QuickCrawl:
    timeout_seconds: int = 1800
    log_format: str = "text"


@dataclass(frozen=True)
class QuickScheduler:
    timezone: str = "UTC"
    jitter_seconds: int = 300


@dataclass(frozen=True)
class QuickSource:
    slug: str
    enabled: bool = True
    schedule: QuickSchedule = QuickSchedule(cron="0 6 * * *")
    health: QuickHealth | None = None


@dataclass(frozen=True)
class QuickConfig:
    """What ``status`` and ``search`` read of config.yaml, with the names and defaults of ``Config``."""

    sources: dict[str, QuickSource]
    database: str = "safeguarding.db"
    topics_file: str = "topics.yaml"
    path: str = ""
    crawl: QuickCrawl = QuickCrawl()
    scheduler: QuickScheduler = QuickScheduler()
    health: QuickHealth = QuickHealth()

    def source(self, slug: str) -> QuickSource:
        if slug not in self.sources:
            raise ConfigError(f"unknown source {slug!r}; known sources: {', '.join(sorted(self.sources))}")
        return self.sources[slug]

    def enabled_sources(self) -> list[QuickSource]:
        return [s for s in self.sources.values() if s.enabled]

    def health_for(self, slug: str) -> QuickHealth:
        own = self.sources[slug].health if slug in self.sources else None
        return own or self.health


class _Reader:
    """Typed reads of one mapping of config.yaml; a wrong value is a ConfigError naming its key."""

    def __init__(self, cfg_path: Path, data: Any, where: str) -> None:
        self.cfg_path, self.where = cfg_path, where
        if data is not None and not isinstance(data, dict):
            self.fail("", "expected a mapping", data)
        self.data: dict[str, Any] = data or {}

    def fail(self, key: str, problem: str, value: Any) -> None:
        name = ".".join(p for p in (self.where, key) if p) or "(top level)"
        got = f" (got {value!r})" if not isinstance(value, dict) else ""
        raise ConfigError(f"{self.cfg_path}: {name}: {problem}{got}")

    def section(self, key: str) -> _Reader:
        return _Reader(self.cfg_path, self.data.get(key), ".".join(p for p in (self.where, key) if p))

    def text(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            self.fail(key, "expected a string", value)
        return str(value)

    def number(self, key: str, default: float, *, minimum: float = 0, above: bool = False,
               whole: bool = False) -> float:
        value = self.data.get(key, default)
        try:
            number = float(value) if not isinstance(value, bool) else float("nan")
        except (TypeError, ValueError):
            number = float("nan")
        if number != number or (whole and number != int(number)):
            self.fail(key, "expected a whole number" if whole else "expected a number", value)
        if number < minimum or (above and number == minimum):
            self.fail(key, f"must be {'greater than' if above else 'at least'} {minimum:g}", value)
        return number

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, (str, int)) and str(value).lower() in TRUE | FALSE:
            return str(value).lower() in TRUE
        self.fail(key, "expected true or false", value)
        return False


def _schedule(reader: _Reader, timezone: str) -> QuickSchedule:
    value = reader.data.get("schedule", "0 6 * * *")
    schedule = _Reader(reader.cfg_path, {"cron": value} if isinstance(value, str) else value,
                       f"{reader.where}.schedule")
    cron = schedule.data.get("cron")
    interval = schedule.data.get("interval_hours")
    if (cron is None) == (interval is None):
        schedule.fail("", "give either cron (a crontab expression) or interval_hours", schedule.data)
    if cron is not None:
        if not isinstance(cron, str):
            schedule.fail("cron", "expected a crontab expression", cron)
        from pipeline.schedules import CronFields, cron_trigger

        if CronFields.parse(cron) is None:  # what the quick parser does not read, APScheduler judges
            try:
                cron_trigger(cron, timezone)
            except ValueError as exc:
                schedule.fail("cron", str(exc), cron)
        return QuickSchedule(cron=cron)
    return QuickSchedule(interval_hours=schedule.number("interval_hours", 0, above=True))


def load_quick_config(path: str | os.PathLike | None = None, db_override: str | None = None) -> QuickConfig:
    """The quick view of config.yaml (see the module's docstring); ConfigError naming the problem."""
    cfg_path, data = read_config_data(path)
    top = _Reader(cfg_path, data, "")
    scheduler = top.section("scheduler")
    timezone = scheduler.text("timezone", "UTC")
    from pipeline.schedules import zone

    try:
        zone(timezone)
    except ValueError as exc:
        scheduler.fail("timezone", str(exc), timezone)
    crawl = top.section("crawl")
    log_format = crawl.text("log_format", "text")
    if log_format not in ("text", "json"):
        crawl.fail("log_format", "expected text or json", log_format)
    sources = {}
    for slug in data["sources"]:
        block = top.section("sources").section(slug)
        own = block.data.get("health")
        sources[slug] = QuickSource(
            slug=slug, enabled=block.flag("enabled", True), schedule=_schedule(block, timezone),
            health=QuickHealth(block.section("health").number("overdue_grace_hours", 1.0))
            if isinstance(own, dict) and "overdue_grace_hours" in own else None)
    return QuickConfig(
        sources=sources,
        database=db_override or os.environ.get(ENV_DB) or top.text("database", "safeguarding.db"),
        topics_file=top.text("topics_file", "topics.yaml"), path=str(cfg_path),
        crawl=QuickCrawl(int(crawl.number("timeout_seconds", 1800, above=True, whole=True)), log_format),
        scheduler=QuickScheduler(timezone, int(scheduler.number("jitter_seconds", 300, whole=True))),
        health=QuickHealth(top.section("health").number("overdue_grace_hours", 1.0)),
    )
