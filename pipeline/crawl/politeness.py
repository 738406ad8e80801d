"""Downloader middlewares that make every crawl a polite, incremental and bounded guest.

- ``PoliteRobotsTxtMiddleware``: Scrapy's robots.txt middleware with two fixes. Scrapy 2.19 hands the
  parsed robots.txt only to the first of several requests waiting for it (the others see "no robots.txt"
  and go through, disallowed or not); and it ignores ``Crawl-delay``, which is applied here to the site's
  download slot.
- ``BackoffRetryMiddleware``: Scrapy retries at once; here a retry waits, exponentially with jitter, and a
  429 or 503 with ``Retry-After`` holds back every request to that site for as long as the site asked.
- ``ConditionalRequestsMiddleware``: sends the ``ETag`` / ``Last-Modified`` stored from the last crawl; a
  304 is neither parsed nor written (the publication's ``last_seen_at`` still moves).
- ``BoundaryMiddleware`` and ``RedirectBoundaryMiddleware``: requests and redirects outside the source's
  domains are refused and logged; a redirect loop is an error of the run.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any, Self
from urllib.parse import urlsplit

from protego import Protego
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object
from scrapy.utils.response import response_status_message
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from pipeline.clock import system_clock
from pipeline.crawl.runlog import RefusalKind, run_log_of
from pipeline.items.dates import iso
from pipeline.items.urls import canonical_url, host_in_domains
from storage import crawl_state
from storage.db import open_db

log = logging.getLogger(__name__)


async def _sleep(seconds: float) -> None:
    if seconds > 0:
        await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


def _refused(crawler: Crawler, kind: RefusalKind, url: str, message: str) -> None:
    """A refusal made on purpose, told to the run log of the spider (when it has one)."""
    run_log = run_log_of(crawler.spider)
    if run_log is not None:
        run_log.add_refusal(kind, url, message)


class _Middleware:
    """A downloader middleware made by Scrapy from the crawler, which it keeps; switched off (Scrapy's
    ``NotConfigured``) when its ``required_setting`` is off or empty."""

    required_setting = ""

    def __init__(self, crawler: Crawler) -> None:
        if self.required_setting and not crawler.settings.get(self.required_setting):
            raise NotConfigured
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)


class PoliteRobotsTxtMiddleware(_Middleware):
    """robots.txt, read with Protego (the parser Scrapy itself uses), through public APIs only.

    Every request to a host waits for the one download of that host's robots.txt, however many arrive
    while it is under way (Scrapy 2.19's own middleware let all but the first waiter through, disallowed
    or not). ``Crawl-delay`` is applied to the host's download slot as a minimum pause.
    """

    DOWNLOAD_PRIORITY = 1000  # robots.txt goes before the pages waiting for it
    required_setting = "ROBOTSTXT_OBEY"

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.agent = str(settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT") or "")
        self.parsers: dict[str, Protego | None] = {}  # host → its rules; None: no usable robots.txt
        self.waiting: dict[str, list[Deferred[None]]] = {}  # host → requests waiting for its robots.txt
        self.crawl_delays: dict[str, float] = {}

    async def process_request(self, request: Request, spider: Any = None) -> None:
        if request.meta.get("dont_obey_robotstxt") or request.url.startswith(("data:", "file:")):
            return
        netloc = urlparse_cached(request).netloc
        parser = await self.parser_for(request, netloc)
        if parser is not None and not parser.can_fetch(request.url, self.agent):
            self.crawler.stats.inc_value("robotstxt/forbidden")
            log.debug("forbidden by robots.txt: %s", request.url)
            _refused(self.crawler, "robots", request.url, "forbidden by robots.txt")
            raise IgnoreRequest("Forbidden by robots.txt")
        self.apply_crawl_delay(request, netloc)

    async def parser_for(self, request: Request, netloc: str) -> Protego | None:
        """The host's robots.txt rules, fetched once; every request arriving meanwhile waits for them."""
        if netloc in self.parsers:
            return self.parsers[netloc]
        if netloc in self.waiting:
            settled: Deferred[None] = Deferred()
            self.waiting[netloc].append(settled)
            await maybe_deferred_to_future(settled)
            return self.parsers.get(netloc)
        self.waiting[netloc] = []
        try:
            self.parsers[netloc] = await self.fetch(request, netloc)
        finally:
            self.parsers.setdefault(netloc, None)
            for waiter in self.waiting.pop(netloc):
                waiter.callback(None)
        return self.parsers[netloc]

    async def fetch(self, request: Request, netloc: str) -> Protego | None:
        url = urlparse_cached(request)
        robots = Request(f"{url.scheme}://{netloc}/robots.txt", priority=self.DOWNLOAD_PRIORITY,
                         meta={"dont_obey_robotstxt": True}, callback=NO_CALLBACK)
        stats = self.crawler.stats
        stats.inc_value("robotstxt/request_count")
        try:
            response = await self._download(robots)
        except IgnoreRequest:
            return None
        except Exception as exc:  # a robots.txt that cannot be fetched does not stop the crawl
            stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
            log.error("error downloading %s: %s", robots.url, exc)
            return None
        stats.inc_value("robotstxt/response_count")
        stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        parser = Protego.parse(response.body.decode("utf-8", errors="ignore"))
        delay = parser.crawl_delay(self.agent)
        if delay:
            self.crawl_delays[netloc] = float(delay)
            stats.set_value("sgn/robots_crawl_delay", float(delay))
            log.info("robots.txt of %s asks for a crawl delay of %s s", netloc, delay)
        return parser

    async def _download(self, request: Request) -> Response:
        engine = self.crawler.engine
        assert engine is not None  # a middleware runs inside an open engine
        if hasattr(engine, "download_async"):  # Scrapy 2.14+
            response: Response = await engine.download_async(request)
            return response
        return await maybe_deferred_to_future(engine.download(request))

    def apply_crawl_delay(self, request: Request, netloc: str) -> None:
        """Scrapy varies each delay by ±jitter and AutoThrottle may lower it: the shortest possible pause
        must still be the site's Crawl-delay."""
        delay = self.crawl_delays.get(netloc)
        downloader = self.crawler.engine.downloader if delay and self.crawler.engine else None
        slot = downloader.slots.get(downloader.get_slot_key(request)) if downloader else None
        if delay and slot is not None:
            needed = delay / (1 - slot.jitter) if slot.jitter < 1 else delay
            slot.delay = max(slot.delay, needed)


class BackoffRetryMiddleware(_Middleware):
    """Retries 5xx, 429 and timeouts after a pause: ``Retry-After`` when the site sends one (capped),
    else ``base * 2**attempt`` with ±50 % jitter, capped. Scrapy's ``RETRY_*`` settings apply; the retry
    itself is made by Scrapy's public ``get_retry_request``."""

    required_setting = "RETRY_ENABLED"

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.max_retry_times = settings.getint("RETRY_TIMES")
        self.retry_http_codes = {int(code) for code in settings.getlist("RETRY_HTTP_CODES")}
        self.priority_adjust = settings.getint("RETRY_PRIORITY_ADJUST")
        self.exceptions_to_retry = tuple(
            load_object(e) if isinstance(e, str) else e for e in settings.getlist("RETRY_EXCEPTIONS"))
        self.base = settings.getfloat("SGN_BACKOFF_BASE", 2.0)
        self.cap = settings.getfloat("SGN_BACKOFF_MAX", 120.0)
        self.retry_after_cap = settings.getfloat("SGN_RETRY_AFTER_MAX", 600.0)
        self.not_before: dict[str, float] = {}
        self.rng = random.Random()

    async def process_request(self, request: Request, spider: Any = None) -> None:
        wait = self.not_before.get(urlparse_cached(request).netloc, 0) - time.monotonic()
        await _sleep(wait)

    async def process_response(self, request: Request, response: Response,
                               spider: Any = None) -> Request | Response:
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        retry_after = self._retry_after(response)
        if retry_after is not None and retry_after > self.retry_after_cap:
            self.crawler.stats.inc_value("sgn/retry_after_too_long")
            message = f"{response.status} asks us to wait {retry_after:.0f} s: giving up this request"
            log.warning("%s: %s", message, request.url)
            _refused(self.crawler, "retry_after_too_long", request.url, message)
            return response
        delay = retry_after if retry_after is not None else self._backoff(request)
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        if retry_after is not None:
            self.not_before[urlparse_cached(request).netloc] = time.monotonic() + retry_after
            self.crawler.stats.inc_value("sgn/retry_after_honoured")
        await _sleep(delay)
        return retry

    async def process_exception(self, request: Request, exception: Exception,
                                spider: Any = None) -> Request | None:
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry"):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            await _sleep(self._backoff(request))
        return retry

    def _retry(self, request: Request, reason: str | Exception) -> Request | None:
        """The retry of ``request``, or None when its retries are spent (logged and counted by Scrapy)."""
        if self.crawler.spider is None:
            return None
        return get_retry_request(
            request, spider=self.crawler.spider, reason=reason,
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
            priority_adjust=request.meta.get("priority_adjust", self.priority_adjust))

    def _backoff(self, request: Request) -> float:
        attempt = request.meta.get("retry_times", 0)
        return min(self.cap, self.base * 2**attempt) * self.rng.uniform(0.5, 1.5)

    @staticmethod
    def _retry_after(response: Response) -> float | None:
        value = (response.headers.get(b"Retry-After") or b"").decode("latin-1").strip()
        if response.status not in (429, 503) or not value:
            return None
        if value.isdigit():
            return float(value)
        try:
            from email.utils import parsedate_to_datetime

            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class ConditionalRequestsMiddleware(_Middleware):
    required_setting = "SGN_DB_PATH"

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.source = settings.get("SGN_SOURCE")
        self.db = open_db(settings.get("SGN_DB_PATH"))
        # A full walk asks for everything again, so that what changed without a new validator is found.
        self.validators = ({} if settings.getbool("SGN_FULL_WALK")
                           else crawl_state.load_validators(self.db, self.source))
        self.fresh: dict[str, tuple[str | None, str | None]] = {}
        # after the spider has closed and the recorder has written its last batch
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    def process_request(self, request: Request, spider: Any = None) -> None:
        etag, modified = self.validators.get(request.url, (None, None))
        if etag:
            request.headers.setdefault(b"If-None-Match", etag)
        if modified:
            request.headers.setdefault(b"If-Modified-Since", modified)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        if response.status == 304:
            self.crawler.stats.inc_value("sgn/not_modified")
            run_log = run_log_of(self.crawler.spider)
            if run_log is not None:
                run_log.add_unchanged(request.url)
            raise IgnoreRequest(f"not modified: {request.url}")
        if response.status == 200:
            etag = _header(response, b"ETag")
            modified = _header(response, b"Last-Modified")
            if etag or modified:
                self.fresh[request.url] = (etag, modified)
        return response

    def engine_stopped(self) -> None:
        """Validators are kept for publication pages only: a listing, feed, sitemap or API page must always
        be read, since a 304 there would hide what it lists. Pages whose parse failed are not kept."""
        run_log = run_log_of(self.crawler.spider)
        failed = run_log.failed_urls() if run_log is not None else set()
        slash = self.crawler.settings.get("SGN_TRAILING_SLASH", "keep")
        stored = set(crawl_state.known_publications(self.db, self.source))
        rows = {url: v for url, v in self.fresh.items()
                if url not in failed and canonical_url(url, slash) in stored}
        crawl_state.save_validators(self.db, self.source, rows, iso(system_clock()))
        self.db.close()


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _domains(crawler: Crawler) -> list[str]:
    """The source's domains (the spider's ``allowed_domains``); empty: no boundary."""
    return [str(d) for d in getattr(crawler.spider, "allowed_domains", None) or []]


def _allowed(crawler: Crawler, url: str) -> bool:
    domains = _domains(crawler)
    return not domains or host_in_domains(urlsplit(url).hostname or "", domains)


class BoundaryMiddleware(_Middleware):
    """Replaces Scrapy's off-site filter, without its exceptions (``dont_filter`` and ``allow_offsite`` do
    not open the boundary) and with every refusal logged as a warning and counted."""

    def process_request(self, request: Request, spider: Any = None) -> None:
        if _allowed(self.crawler, request.url):
            return
        self.crawler.stats.inc_value("sgn/offsite_refused")
        message = f"outside {', '.join(_domains(self.crawler))}"
        log.warning("refused %s: %s", request.url, message)
        _refused(self.crawler, "offsite", request.url, message)
        raise IgnoreRequest(f"offsite: {request.url}")


class RedirectBoundaryMiddleware(_Middleware):
    """A redirect to another site is dropped and logged before it is followed, and a redirect back to a
    URL of its own chain is a loop, recorded as an error of the run (Scrapy's duplicate filter would
    drop it silently)."""

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        location = response.headers.get(b"Location")
        if 300 <= response.status < 400 and location:
            target = response.urljoin(location.decode("latin-1"))
            if target in [*request.meta.get("redirect_urls", []), request.url]:
                self.crawler.stats.inc_value("sgn/redirect_loop")
                first = (request.meta.get("redirect_urls") or [request.url])[0]
                log.error("redirect loop: %s", first)
                run_log = run_log_of(self.crawler.spider)
                if run_log is not None:
                    run_log.add_error(first, "redirect loop")
                raise IgnoreRequest(f"redirect loop: {target}")
            if not _allowed(self.crawler, target):
                self.crawler.stats.inc_value("sgn/offsite_redirect")
                log.warning("dropped redirect from %s to %s: outside the source's domains", request.url, target)
                _refused(self.crawler, "offsite_redirect", request.url, f"redirect to {target}")
                raise IgnoreRequest(f"offsite redirect: {target}")
        return response
