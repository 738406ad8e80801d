"""Text only, for every source: a downloader guard that never fetches images, video, audio or other media.

The Internet Watch Foundation works against child sexual abuse imagery; this pipeline must never download an
image from any site. Two checks, both counted in the crawl's stats under ``media/`` (kept in ``runs.stats``):

- a request whose URL path ends in a media extension is refused before anything is sent
  (``media/refused_url``);
- a response whose headers say it is media (``Content-Type`` image/*, video/*, audio/*, ..., or an attachment
  file name with a media extension) is aborted in the ``headers_received`` signal, before its body is read
  (``media/aborted_content_type``, ``media/aborted_filename``).

A download handler that ignores ``StopDownload`` would still deliver the body; such a response is dropped
before any spider sees it (``media/dropped_response``). The spider's errback receives a ``MediaRefused``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Headers, Response

from pipeline.crawl.runlog import run_log_of
from pipeline.items.files import is_media_type, media_extension

log = logging.getLogger(__name__)

_FILENAME = re.compile(r"""filename\*?=(?:[\w-]+'[\w-]*')?["']?([^"';]+)""", re.I)


class MediaRefused(IgnoreRequest):
    """A request or response the guard refused because it is (or would be) media."""


class MediaAborted(StopDownload):
    """Raised in ``headers_received`` to abort a media body; the guard turns it into ``MediaRefused``."""

    def __init__(self, reason: str, stat: str) -> None:
        super().__init__(fail=True)
        self.reason = reason
        self.stat = stat


def media_in_headers(headers: Headers) -> tuple[str, str] | None:
    """``(reason, stats key)`` when response headers announce media, else None."""
    content_type = headers.get(b"Content-Type") or b""
    if is_media_type(content_type):
        return f"Content-Type {content_type.decode('latin-1')}", "media/aborted_content_type"
    disposition = (headers.get(b"Content-Disposition") or b"").decode("latin-1")
    match = _FILENAME.search(disposition)
    if match and media_extension("/" + match.group(1).strip()):
        return f"attachment {match.group(1).strip()}", "media/aborted_filename"
    return None


class MediaGuard:
    """Downloader middleware (first in the chain) plus the ``headers_received`` handler it connects."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        crawler.signals.connect(self.headers_received, signal=signals.headers_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MediaGuard:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        ext = media_extension(request.url)
        if ext:
            self._refuse(request, "media/refused_url", f"URL ends in .{ext}")

    def headers_received(self, headers: Headers, request: Request, **kwargs: Any) -> None:
        found = media_in_headers(headers)
        if found:
            raise MediaAborted(*found)

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, MediaAborted):
            self._refuse(request, exception.stat, f"{exception.reason}, body not read")

    def process_response(self, request: Request, response: Response) -> Response:
        found = media_in_headers(response.headers)
        if found:
            self._refuse(request, "media/dropped_response", f"{found[0]}, body dropped unread by spiders")
        return response

    def _refuse(self, request: Request, stat: str, reason: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(stat)
        log.warning("media guard: refused %s (%s)", request.url, reason)
        run_log = run_log_of(self.crawler.spider)
        if run_log is not None:
            run_log.add_refusal("media", request.url, reason)
        raise MediaRefused(f"media refused ({reason})")
