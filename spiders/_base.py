"""What every source spider shares: error and skip records, the door used, requests with an errback.

Spiders fetch and parse only. They never read the clock, touch the database or request media; what
goes wrong is recorded here and written to the run by ``pipeline.recorder``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure


class SourceSpider(scrapy.Spider):
    """Base class of every source spider. ``options`` comes from the source's block in config.yaml."""

    custom_settings: dict[str, Any] = {}

    def __init__(self, *args: Any, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options: dict[str, Any] = dict(options or {})
        self.errors: list[str] = []
        self.skipped: list[str] = []
        self.door: str = ""

    # -- what the run records ------------------------------------------------

    def record_error(self, url: str, message: str) -> None:
        """Something the run should report: a failed page, an unreadable document."""
        self.errors.append(f"{message}: {url}")
        self.logger.error("%s: %s", message, url)

    def record_skip(self, url: str, reason: str) -> None:
        """A page that is deliberately not a publication (a redirect, a translation)."""
        self.skipped.append(f"{reason}: {url}")
        self.logger.info("skipped (%s): %s", reason, url)

    def use_door(self, door: str) -> None:
        """Say which way into the site this run takes (API, feed, sitemap, listings)."""
        if self.door != door:
            self.door = door
            self.logger.info("door: %s", door)

    # -- requests ------------------------------------------------------------

    def request(self, url: str, callback: Callable, **kwargs: Any) -> scrapy.Request:
        kwargs.setdefault("errback", self.on_request_error)
        return scrapy.Request(url, callback=callback, **kwargs)

    def on_request_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        if response is not None:
            self.record_error(request.url, f"HTTP {response.status}")
        else:
            self.record_error(request.url, f"{failure.type.__name__}: {failure.getErrorMessage()}")

    def load_json(self, response: Response) -> Any | None:
        """The response's JSON, or None (recorded as an error) when it is not JSON."""
        try:
            return json.loads(response.text)
        except (ValueError, AttributeError) as exc:
            self.record_error(response.url, f"malformed JSON ({str(exc)[:80]})")
            return None
