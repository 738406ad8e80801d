"""What every source spider shares: error and skip records, the door used, requests with an errback.

Spiders fetch and parse only. They never read the clock, touch the database or request media; what
goes wrong is recorded here and written to the run by ``pipeline.crawl.store_pipeline``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from twisted.python.failure import Failure

from pipeline.crawl.runlog import RunLog
from pipeline.items.dates import parse_date
from pipeline.items.urls import canonical_url


class SourceSpider(scrapy.Spider):
    """Base class of every source spider. ``options`` comes from the source's block in config.yaml."""

    custom_settings: dict[str, Any] = {}

    def __init__(self, *args: Any, options: dict[str, Any] | None = None, known: dict[str, str] | None = None,
                 full_walk: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options: dict[str, Any] = dict(options or {})
        # What this run has to tell the item pipeline (errors, skips, unchanged pages, the door taken).
        self.run_log = RunLog()
        # What the database already holds (canonical URL → its latest stored date), given by the pipeline;
        # on a full walk nothing is taken as known, so that every page is fetched again.
        self.known: dict[str, str] = {} if full_walk else dict(known or {})
        self.full_walk = full_walk

    # -- what the run records ------------------------------------------------

    @property
    def errors(self) -> list[str]:
        """The run's errors as its message shows them (``"<message>: <url>"``), read-only."""
        return self.run_log.error_messages()

    @property
    def skipped(self) -> list[str]:
        """The run's deliberate skips (``"<reason>: <url>"``), read-only."""
        return self.run_log.skip_messages()

    @property
    def door(self) -> str:
        return self.run_log.door

    def record_error(self, url: str, message: str) -> None:
        """Something the run should report: a failed page, an unreadable document."""
        self.run_log.add_error(url, message)
        self.logger.error("%s: %s", message, url)

    def record_skip(self, url: str, reason: str, source_date: str | None = None) -> None:
        """A page that is deliberately not a publication (a redirect, a translation). With the site's own
        date for it, it is remembered and not fetched again until that date moves."""
        self.run_log.add_skip(url, reason, source_date)
        self.logger.info("skipped (%s): %s", reason, url)

    def record_unmatched(self, url: str, found_on: str) -> None:
        """A link that looks like an article (under one of the site's content sections) but matches no
        pattern the spider follows: counted (``sgn/unmatched_article_links``) and named in the log, so that a
        new URL shape on the site is seen instead of silently dropped."""
        if self.run_log.add_unmatched(url, found_on):
            self.count("unmatched_article_links")
            self.logger.warning("article-like link matches no known pattern (not followed): %s (on %s)",
                                url, found_on)

    def record_unchanged(self, url: str) -> None:
        """A publication seen unchanged without being parsed (a 304, or not newer at the source)."""
        self.run_log.add_unchanged(url)

    # -- incremental crawling --------------------------------------------------

    def is_known(self, url: str) -> bool:
        return canonical_url(url, self.trailing_slash) in self.known

    def unchanged_at_source(self, url: str, source_date: str | None) -> bool:
        """True when the page is stored and the site's own date for it (an API timestamp, a sitemap
        ``lastmod``, a listing date) is not newer than what is stored: then it need not be fetched."""
        stored = self.known.get(canonical_url(url, self.trailing_slash)) if self.known else None
        if not stored or not source_date:
            return False
        seen = parse_date(source_date)
        if seen is None:
            return False
        common = min(len(stored), len(seen.iso))  # compare at the precision both dates have
        return seen.iso[:common] <= stored[:common]

    def only_known(self, urls: list[str]) -> bool:
        """A listing page whose links are all stored already: the walk can stop here."""
        return bool(urls) and not self.full_walk and all(self.is_known(u) for u in urls)

    @property
    def trailing_slash(self) -> str:
        return self.settings.get("SGN_TRAILING_SLASH", "keep") if hasattr(self, "crawler") else "keep"

    def count(self, key: str, n: int = 1) -> None:
        """Add ``n`` to the crawl's ``sgn/<key>`` counter (kept with the run in ``runs.stats``)."""
        stats = getattr(getattr(self, "crawler", None), "stats", None)  # none for a spider made in a test
        if stats is not None:
            stats.inc_value(f"sgn/{key}", n)

    def reached(self, date: str) -> None:
        """Note a publication date seen (a card or a page): the run says how far back it reached, as the
        ``sgn/reached_back_to`` stat (the oldest date, ISO at its precision)."""
        parsed = parse_date(date) if date else None
        stats = getattr(getattr(self, "crawler", None), "stats", None)
        if parsed is None:
            return
        oldest = getattr(self, "_reached", None)
        if oldest is None or parsed.iso < oldest:
            self._reached = parsed.iso
            if stats is not None:
                stats.set_value("sgn/reached_back_to", parsed.iso)

    @property
    def reached_back_to(self) -> str:
        return getattr(self, "_reached", None) or ""

    def expected_status(self, response: Response) -> None:
        """A status the spider asked for and handles (a 404 from probing a feed or a sitemap that the
        site does not have): not counted among the run's HTTP failures."""
        self.count(f"expected_status/{response.status}")

    def use_door(self, door: str) -> None:
        """Say which way into the site this run takes (API, feed, sitemap, listings)."""
        if self.run_log.use_door(door):
            self.logger.info("door: %s", door)

    # -- requests ------------------------------------------------------------

    def request(self, url: str, callback: Callable, **kwargs: Any) -> scrapy.Request:
        kwargs.setdefault("errback", self.on_request_error)
        return scrapy.Request(url, callback=callback, **kwargs)

    def on_request_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        deliberate = failure.check(IgnoreRequest) and response is None  # HttpError is an IgnoreRequest too
        if deliberate and "max redirections" not in failure.getErrorMessage():
            # refused on purpose (robots.txt, off-site, media, not modified): counted where refused
            self.logger.debug("not fetched: %s (%s)", request.url, failure.getErrorMessage())
            return
        if response is not None:
            self.record_error(request.url, f"HTTP {response.status}")
        else:
            self.record_error(request.url, f"{type(failure.value).__name__}: {failure.getErrorMessage()}")

    def load_json(self, response: Response) -> Any | None:
        """The response's JSON, or None (recorded as an error) when it is not JSON. JSON is UTF-8 (or
        UTF-16/32, detected by ``json``): a document with invalid bytes is decoded with U+FFFD in place
        of each bad byte only, never re-guessed as another encoding as a whole, and counted
        (``sgn/json_invalid_utf8``)."""
        try:
            try:
                return json.loads(response.body)
            except UnicodeDecodeError:
                self.count("json_invalid_utf8")
                return json.loads(response.body.decode("utf-8", errors="replace"))
        except (ValueError, AttributeError) as exc:
            self.record_error(response.url, f"malformed JSON ({str(exc)[:80]})")
            return None
