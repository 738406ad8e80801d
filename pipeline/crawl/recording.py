"""Recording a crawl as a recorded site (DESIGN 3.3), inside the crawl process: ``RecordMiddleware`` sits in
the downloader chain just after decompression and just before the conditional-request, retry and spider
layers, so it sees each body as the spider will, and the redirects that led to it (``redirect_urls``). It
keeps Content-Type, ETag and Last-Modified (and the Location of a redirect), nothing else: no cookie, no
authorisation header is ever written, and no URL keeps its userinfo or token-like query parameters.
``pipeline.tools.record`` runs such a crawl for the ``record`` command.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from scrapy import Request, signals
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro

from pipeline.items.files import DOCUMENT_EXTENSIONS
from pipeline.items.redact import without_secrets

log = logging.getLogger(__name__)
KEPT_HEADERS = ("Content-Type", "ETag", "Last-Modified")  # what replay needs; never Set-Cookie, never auth
POSITION = 585  # after HttpCompression (590) has decoded the body, before conditional requests (580)
SAVE_EVERY = 20  # manifest written every so many responses, so that a killed recording keeps most of it
EXTENSIONS = {"text/html": ".html", "application/xhtml+xml": ".html", "application/json": ".json",
              "text/plain": ".txt", "text/xml": ".xml", "application/xml": ".xml", "text/csv": ".csv",
              "application/pdf": ".pdf"}
# A URL already ending in one of these keeps its name; anything else gets the extension of its Content-Type.
OWN_EXTENSIONS = {*EXTENSIONS.values(), ".htm", ".rss", ".atom", ".gz", *(f".{e}" for e in DOCUMENT_EXTENSIONS)}



def with_recording(settings: dict[str, Any], record_dir: str | None, limit: int | None) -> dict[str, Any]:
    """The crawl settings, plus the recorder when ``record_dir`` is given."""
    if not record_dir:
        return settings
    middlewares = {**settings.get("DOWNLOADER_MIDDLEWARES", {}), "pipeline.crawl.recording.RecordMiddleware": POSITION}
    return {**settings, "DOWNLOADER_MIDDLEWARES": middlewares, "SGN_RECORD_DIR": record_dir,
            "SGN_RECORD_LIMIT": limit or 0}


# ---------------------------------------------------------------- file names

def _safe(part: str) -> str:
    part = re.sub(r"[^A-Za-z0-9._-]+", "-", part).strip("-.") or "_"
    return part if len(part) <= 80 else f"{part[:70]}-{hashlib.sha1(part.encode()).hexdigest()[:8]}"


def _extension(content_type: str) -> str:
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in EXTENSIONS:
        return EXTENSIONS[mime]
    if mime.endswith(("+xml", "/xml")):
        return ".xml"
    if mime.endswith("+json"):
        return ".json"
    return mimetypes.guess_extension(mime) or ".bin"


def file_for(url: str, content_type: str) -> str:
    """A readable relative path named after the URL: ``host/path/segments.ext``; ``/`` and paths ending
    in ``/`` become ``index``; the query joins the name after ``__``."""
    parts = urlsplit(url)
    host = _safe((parts.hostname or "host") + (f"_{parts.port}" if parts.port else ""))
    segments = [_safe(s) for s in unquote(parts.path).split("/") if s not in ("", ".", "..")]
    if parts.path.endswith("/") or not segments:
        segments.append("index")
    name = segments[-1] + (f"__{_safe(parts.query)}" if parts.query else "")
    if parts.query or os.path.splitext(name)[1].lower() not in OWN_EXTENSIONS:
        name += _extension(content_type)
    return "/".join([host, *segments[:-1], name])


# ---------------------------------------------------------------- the downloader middleware

class RecordMiddleware:
    """Write each response's body to a readable file and its entry to ``manifest.json``."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.out = Path(crawler.settings.get("SGN_RECORD_DIR"))
        self.limit = crawler.settings.getint("SGN_RECORD_LIMIT", 0)
        self.manifest: dict[str, dict[str, Any]] = {}
        self.owners: dict[str, str] = {}  # file → the URL it holds
        self.pages = 0
        self.unsaved = 0
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> RecordMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        if response.status == 304 or (self.limit and self.pages >= self.limit):
            return response
        # Every URL written (manifest keys, redirect Locations, file names) without userinfo or token-like
        # parameters: a redirect to https://user:pw@host/ or ?token=… never reaches a recorded site.
        chain = [without_secrets(u) for u in [*(request.meta.get("redirect_urls") or []), response.url]]
        for i, origin in enumerate(chain[:-1]):
            reason = (request.meta.get("redirect_reasons") or [])[i:i + 1]
            status = reason[0] if reason and isinstance(reason[0], int) else 302
            self._keep(origin, {"status": status, "headers": {"Location": chain[i + 1]}})
        if chain[-1] and self._replaces(chain[-1], response.status):
            self._keep(chain[-1], self._entry(response, chain[-1]))
        if not urlsplit(response.url).path.endswith("/robots.txt"):
            self.pages += 1
            if self.limit and self.pages >= self.limit:
                log.info("record: %d pages recorded (--limit): closing the crawl", self.pages)
                deferred_from_coro(self.crawler.engine.close_spider_async(reason="record_limit"))
        return response

    def _entry(self, response: Response, url: str) -> dict[str, Any]:
        headers = {}
        for name in KEPT_HEADERS:
            value = response.headers.get(name)
            if value:
                headers[name] = value.decode("latin-1")
        entry: dict[str, Any] = {}
        if response.body:
            entry["file"] = self._write(url, headers.get("Content-Type", ""), response.body)
        if response.status != 200:
            entry["status"] = response.status
        if headers:
            entry["headers"] = headers
        return entry

    def _write(self, url: str, content_type: str, body: bytes) -> str:
        name = file_for(url, content_type)
        if self.owners.get(name, url) != url or (self.out / name).is_dir():
            stem, ext = os.path.splitext(name)
            name = f"{stem}-{hashlib.sha1(url.encode()).hexdigest()[:8]}{ext}"
        self.owners[name] = url
        path = self.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        return name

    def _replaces(self, url: str, status: int) -> bool:
        """A good answer is not replaced by a later failure of the same URL (a retry that failed again)."""
        old = self.manifest.get(url)
        return not (old and old.get("status", 200) < 300 and status >= 400)

    def _keep(self, url: str, entry: dict[str, Any]) -> None:
        self.manifest[url] = entry
        self.unsaved += 1
        if self.unsaved >= SAVE_EVERY:
            self.save()

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        tmp = self.out / "manifest.json.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(self.out / "manifest.json")
        self.unsaved = 0

    def spider_closed(self, spider: Any, reason: str) -> None:
        self.save()
        log.info("record: %d responses written to %s (%s)", len(self.manifest), self.out, reason)


