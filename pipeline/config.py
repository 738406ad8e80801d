"""config.yaml loaded into typed, frozen objects; every mistake is one clear line naming the key."""

from __future__ import annotations

import importlib.util
import os
import pkgutil
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.config_file import DEFAULT_CONFIG as DEFAULT_CONFIG  # re-exported: reading the file lives there
from pipeline.config_file import ENV_DB as ENV_DB
from pipeline.config_file import ConfigError as ConfigError
from pipeline.config_file import read_config_data
from pipeline.items.redact import url_problem

DOOR_KEYS = {"feed": "feed_url", "sitemap": "sitemap_url"}


def check_door(kind: str, feed_url: str | None, sitemap_url: str | None, allowed_domains: tuple[str, ...]) -> None:
    """A feed source has a feed_url, a sitemap source a sitemap_url, a coded spider neither; the URL is
    absolute and inside allowed_domains (else the crawl would refuse its own door). ValueError otherwise."""
    from pipeline.items.urls import host_in_domains  # w3lib: loaded only for a source with a door URL

    given = {"feed_url": feed_url, "sitemap_url": sitemap_url}
    wanted = DOOR_KEYS.get(kind)
    for key, value in given.items():
        if value is not None and key != wanted:
            raise ValueError(f"{key} is only for type: {'feed' if key == 'feed_url' else 'sitemap'} (this is {kind})")
    if wanted is None:
        return
    url = given[wanted]
    if not url:
        raise ValueError(f"type: {kind} needs {wanted}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{wanted} must be an absolute http(s) URL (got {url!r})")
    host = parts.hostname.lower()
    if not host_in_domains(host, allowed_domains):
        raise ValueError(f"{wanted} host {host} is not in allowed_domains ({', '.join(allowed_domains)})")



class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Politeness(_Frozen):
    obey_robots_txt: bool = True
    download_delay: float = Field(2.0, ge=0)
    concurrent_requests_per_domain: int = Field(1, ge=1, le=8)
    autothrottle: bool = True
    download_timeout: float = Field(30.0, gt=0)
    retry_times: int = Field(3, ge=0, le=10)
    max_response_bytes: int = Field(20_000_000, gt=0)
    retry_backoff_seconds: float = Field(2.0, ge=0)
    retry_backoff_max_seconds: float = Field(120.0, ge=0)
    retry_after_max_seconds: float = Field(600.0, ge=0)
    redirect_max: int = Field(5, ge=0, le=20)


class CrawlSettings(_Frozen):
    timeout_seconds: int = Field(1800, gt=0)
    kill_grace_seconds: int = Field(30, ge=1)
    batch_size: int = Field(100, ge=1)
    full_walk_days: int = Field(7, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"


class SourceSchedule(_Frozen):
    """When the scheduler crawls a source: a crontab expression or an interval, not both."""

    cron: str | None = None
    interval_hours: float | None = Field(None, gt=0)

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        from pipeline.schedules import cron_trigger

        if value is not None:
            cron_trigger(value)
        return value

    @model_validator(mode="after")
    def _one_of(self) -> SourceSchedule:
        if (self.cron is None) == (self.interval_hours is None):
            raise ValueError("give either cron (a crontab expression) or interval_hours")
        return self

    def __str__(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {self.interval_hours:g} h"


class HealthSettings(_Frozen):
    history_runs: int = Field(10, ge=1)
    min_history_runs: int = Field(3, ge=1)
    min_items_fraction: float = Field(0.5, gt=0, le=1)
    stale_days: float = Field(60, gt=0)
    max_http_failure_rate: float = Field(0.2, ge=0, le=1)
    max_coverage_drop: float = Field(0.25, gt=0, le=1)
    min_coverage_items: int = Field(5, ge=1)
    overdue_grace_hours: float = Field(1.0, ge=0)


class SchedulerSettings(_Frozen):
    timezone: str = "UTC"
    misfire_grace_seconds: int = Field(3600, ge=1)
    jitter_seconds: int = Field(300, ge=0)
    max_parallel_crawls: int = Field(2, ge=1, le=8)
    stop_grace_seconds: int = Field(300, ge=0)
    catch_up: bool = True

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from pipeline.schedules import zone

        zone(value)
        return value


def _env_name(key: str, value: str) -> None:
    """A secret's environment variable is named in config.yaml; the secret itself never is (nor is it
    repeated in the error, which is why this runs on the whole section)."""
    if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(f"{key} must be the name of an environment variable (e.g. SAFEGUARDING_NEWS_"
                         f"WEBHOOK_URL), not the secret itself: secrets do not belong in config.yaml")


class EmailSettings(_Frozen):
    smtp_host: str
    smtp_port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password_env: str = ""  # the name of the environment variable holding the password, never the password
    sender: str
    recipients: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_secret(self) -> EmailSettings:
        _env_name("password_env", self.password_env)
        return self


class AlertSettings(_Frozen):
    webhook_url_env: str = ""  # the name of the environment variable holding the webhook URL (a secret)
    email: EmailSettings | None = None
    timeout_seconds: float = Field(10.0, gt=0)
    retry_minutes: float = Field(5.0, gt=0)
    max_attempts: int = Field(12, ge=1)

    @model_validator(mode="after")
    def _no_secret(self) -> AlertSettings:
        _env_name("webhook_url_env", self.webhook_url_env)
        return self


class DigestSettings(_Frozen):
    """The weekly e-mail of the digest (`digest --send` and the scheduler's digest job)."""

    schedule: str | None = None  # a crontab expression in `timezone`, e.g. "0 7 * * mon"; None: no job
    timezone: str = "Europe/London"
    days: int = Field(7, ge=1, le=92)  # the period each e-mail covers, ending when it is sent
    group_by_topic: bool = False
    subject: str = "Safeguarding digest: {period}"
    unsubscribe: str = ""  # a mailto: or https: address for the List-Unsubscribe header
    email: EmailSettings | None = None  # the SMTP server, sender and recipients (as for alerts)

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        from pipeline.schedules import cron_trigger

        if value is not None:
            cron_trigger(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from pipeline.schedules import zone

        zone(value)
        return value


class Source(_Frozen):
    slug: str
    type: Literal["spider", "feed", "sitemap"] = "spider"  # feed and sitemap sources need no code
    enabled: bool = True
    name: str
    organisation: str
    allowed_domains: tuple[str, ...] = Field(min_length=1)
    trailing_slash: Literal["keep", "strip", "add"] = "keep"
    schedule: SourceSchedule = SourceSchedule(cron="0 6 * * *")
    health: HealthSettings | None = None  # only the keys given here override the top-level `health`
    options: dict[str, str | int | float | bool | list[str]] = Field(default_factory=dict)
    feed_url: str | None = None  # type: feed — its RSS, Atom or JSON Feed
    sitemap_url: str | None = None  # type: sitemap — its sitemap (XML, index, .gz or text) or robots.txt

    @field_validator("schedule", mode="before")
    @classmethod
    def _cron_string(cls, value: Any) -> Any:
        return {"cron": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _door_of_type(self) -> Source:
        check_door(self.type, self.feed_url, self.sitemap_url, self.allowed_domains)
        return self


class Config(_Frozen):
    database: str = "safeguarding.db"
    user_agent: str
    crawl: CrawlSettings = CrawlSettings()
    politeness: Politeness = Politeness()
    scheduler: SchedulerSettings = SchedulerSettings()
    health: HealthSettings = HealthSettings()
    alerts: AlertSettings = AlertSettings()
    topics_file: str = "topics.yaml"  # the topic vocabulary, relative to this file (docs/analysts.md)
    digest: DigestSettings = DigestSettings()
    sources: dict[str, Source]
    path: str = ""

    @field_validator("user_agent")
    @classmethod
    def _honest_agent(cls, value: str) -> str:
        if "@" not in value and "http" not in value:
            raise ValueError("must carry a contact address (an e-mail or a URL) so site owners can reach us")
        return value

    def source(self, slug: str) -> Source:
        if slug not in self.sources:
            raise ConfigError(f"unknown source {slug!r}; known sources: {', '.join(sorted(self.sources))}")
        return self.sources[slug]

    def enabled_sources(self) -> list[Source]:
        return [s for s in self.sources.values() if s.enabled]

    def health_for(self, slug: str) -> HealthSettings:
        """The health thresholds of a source: the top-level `health`, with the source's own overrides."""
        own = self.sources[slug].health if slug in self.sources else None
        if own is None:
            return self.health
        return self.health.model_copy(update={k: getattr(own, k) for k in own.model_fields_set})


def spider_slugs() -> set[str]:
    """Slugs of the coded spiders: every public module of the `spiders` package (bases start with `_`),
    found on disk without importing a spider (configuration never loads crawl code)."""
    spec = importlib.util.find_spec("spiders")
    folders = list(spec.submodule_search_locations or []) if spec else []
    return {m.name for m in pkgutil.iter_modules(folders) if not m.name.startswith("_")}


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def load_config(path: str | os.PathLike | None = None, db_override: str | None = None) -> Config:
    """Read and validate config.yaml; raise ConfigError with one line naming the problem."""
    cfg_path, data = read_config_data(path)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
        raise ConfigError(f"{cfg_path}: {_where(err['loc'])}: {err['msg']}{got}") from None
    known = spider_slugs()
    for slug, source in config.sources.items():
        if source.type == "spider" and slug not in known:
            raise ConfigError(
                f"{cfg_path}: sources.{slug}: no spider module spiders/{slug}.py "
                f"(known: {', '.join(sorted(known))})"
            )
    from pipeline.source_options import unknown_option

    for slug, source in config.sources.items():
        if problem := unknown_option(slug, source.type, list(source.options)):
            raise ConfigError(f"{cfg_path}: {problem}")
    hook_env = config.alerts.webhook_url_env
    problem = url_problem(os.environ[hook_env]) if hook_env and os.environ.get(hook_env) else None
    if problem:  # the value is a secret: the message names the variable, never its value
        raise ConfigError(f"{cfg_path}: alerts.webhook_url_env: environment variable {hook_env} {problem}")
    override = db_override or os.environ.get(ENV_DB)
    return config.model_copy(update={"database": override}) if override else config
