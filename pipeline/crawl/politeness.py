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
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from pipeline.clock import iso, system_clock
from pipeline.items.normalise import canonical_url
from storage import crawl_state
from storage.db import open_db

log = logging.getLogger(__name__)


async def _sleep(seconds: float) -> None:
    if seconds > 0:
        await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


def _slot(crawler: Any, request: Request) -> Any:
    downloader = crawler.engine.downloader
    key = request.meta.get("download_slot") or urlparse_cached(request).hostname or ""
    return downloader.slots.get(key)


class PoliteRobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.crawl_delays: dict[str, float] = {}

    async def robot_parser(self, request: Request) -> Any:
        parser = await super().robot_parser(request)
        settled = self._parsers.get(urlparse_cached(request).netloc)
        # Every waiter gets the parser itself, not what an earlier waiter's callback left in the Deferred.
        return parser if isinstance(settled, Deferred) else settled

    async def process_request(self, request: Request, spider: Any = None) -> None:
        await super().process_request(request)
        delay = self.crawl_delays.get(urlparse_cached(request).netloc)
        slot = _slot(self.crawler, request) if delay else None
        if slot is not None:
            # Scrapy varies each delay by ±jitter and AutoThrottle may lower it: the shortest possible
            # pause must still be the site's Crawl-delay.
            needed = delay / (1 - slot.jitter) if slot.jitter < 1 else delay
            if slot.delay < needed:
                slot.delay = needed

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        await super()._parse_robots(response, netloc, request)
        parser = self._parsers.get(netloc)
        agent = self._robotstxt_useragent or self._default_useragent
        delay = getattr(getattr(parser, "rp", None), "crawl_delay", lambda _: None)(agent)
        if delay:
            self.crawl_delays[netloc] = float(delay)
            self._stats.set_value("sgn/robots_crawl_delay", float(delay))
            log.info("robots.txt of %s asks for a crawl delay of %s s", netloc, delay)


class BackoffRetryMiddleware(RetryMiddleware):
    """Retries 5xx, 429 and timeouts after a pause: ``Retry-After`` when the site sends one (capped),
    else ``base * 2**attempt`` with ±50 % jitter, capped."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("SGN_BACKOFF_BASE", 2.0)
        self.cap = settings.getfloat("SGN_BACKOFF_MAX", 120.0)
        self.retry_after_cap = settings.getfloat("SGN_RETRY_AFTER_MAX", 600.0)
        self.not_before: dict[str, float] = {}
        self.rng = random.Random()

    async def process_request(self, request: Request, spider: Any = None) -> None:
        wait = self.not_before.get(urlparse_cached(request).netloc, 0) - time.monotonic()
        await _sleep(wait)

    async def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        retry_after = self._retry_after(response)
        if retry_after is not None and retry_after > self.retry_after_cap:
            self.crawler.stats.inc_value("sgn/retry_after_too_long")
            log.warning("%s asks us to wait %.0f s before %s: giving up this request", response.status,
                        retry_after, request.url)
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

    async def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> Any:
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry"):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            await _sleep(self._backoff(request))
        return retry

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


class ConditionalRequestsMiddleware:
    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        if not settings.get("SGN_DB_PATH"):
            raise NotConfigured
        self.crawler = crawler
        self.source = settings.get("SGN_SOURCE")
        self.db = open_db(settings.get("SGN_DB_PATH"))
        # A full walk asks for everything again, so that what changed without a new validator is found.
        self.validators = {} if settings.getbool("SGN_FULL_WALK") else crawl_state.load_validators(self.db, self.source)
        self.fresh: dict[str, tuple[str | None, str | None]] = {}
        # after the spider has closed and the recorder has written its last batch
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConditionalRequestsMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        etag, modified = self.validators.get(request.url, (None, None))
        if etag:
            request.headers.setdefault(b"If-None-Match", etag)
        if modified:
            request.headers.setdefault(b"If-Modified-Since", modified)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        if response.status == 304:
            self.crawler.stats.inc_value("sgn/not_modified")
            self.crawler.spider.record_unchanged(request.url)
            raise IgnoreRequest(f"not modified: {request.url}")
        if response.status == 200:
            etag = response.headers.get(b"ETag")
            modified = response.headers.get(b"Last-Modified")
            if etag or modified:
                self.fresh[request.url] = (etag and etag.decode("latin-1"), modified and modified.decode("latin-1"))
        return response

    def engine_stopped(self) -> None:
        """Validators are kept for publication pages only: a listing, feed, sitemap or API page must always
        be read, since a 304 there would hide what it lists. Pages whose parse failed are not kept."""
        failed = {e.rsplit(": ", 1)[-1] for e in getattr(self.crawler.spider, "errors", [])}
        slash = self.crawler.settings.get("SGN_TRAILING_SLASH", "keep")
        stored = set(crawl_state.known_publications(self.db, self.source))
        rows = {url: v for url, v in self.fresh.items()
                if url not in failed and canonical_url(url, slash) in stored}
        crawl_state.save_validators(self.db, self.source, rows, iso(system_clock()))
        self.db.close()


def _allowed(spider: Any, url: str) -> bool:
    allowed = [d.lower() for d in getattr(spider, "allowed_domains", None) or []]
    host = (urlsplit(url).hostname or "").lower()
    return not allowed or any(host == d or host.endswith("." + d) for d in allowed)


class BoundaryMiddleware(OffsiteMiddleware):
    """Scrapy's off-site filter, without its exceptions (``dont_filter`` and ``allow_offsite`` do not open
    the boundary) and with every refusal logged as a warning and counted."""

    def process_request(self, request: Request, spider: Any = None) -> None:
        if _allowed(self.crawler.spider, request.url):
            return
        self.stats.inc_value("sgn/offsite_refused")
        log.warning("refused %s: outside %s", request.url, ", ".join(self.crawler.spider.allowed_domains))
        raise IgnoreRequest(f"offsite: {request.url}")


class RedirectBoundaryMiddleware:
    """A redirect to another site is dropped and logged before it is followed, and a redirect back to a
    URL of its own chain is a loop, recorded as an error of the run (Scrapy's duplicate filter would
    drop it silently)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedirectBoundaryMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        location = response.headers.get(b"Location")
        if 300 <= response.status < 400 and location:
            target = response.urljoin(location.decode("latin-1"))
            if target in [*request.meta.get("redirect_urls", []), request.url]:
                self.crawler.stats.inc_value("sgn/redirect_loop")
                self.crawler.spider.record_error((request.meta.get("redirect_urls") or [request.url])[0],
                                                 "redirect loop")
                raise IgnoreRequest(f"redirect loop: {target}")
            if not _allowed(self.crawler.spider, target):
                self.crawler.stats.inc_value("sgn/offsite_redirect")
                log.warning("dropped redirect from %s to %s: outside the source's domains", request.url, target)
                raise IgnoreRequest(f"offsite redirect: {target}")
        return response
