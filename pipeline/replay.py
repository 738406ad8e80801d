"""Recorded sites (DESIGN 3.3): reading ``manifest.json`` folders and a loopback HTTP server that answers from
them. Started by the parent (``crawl --replay``, the scheduler, ``record`` in tests, benchmarks); the crawl
process reaches it through ``pipeline.crawl.replay_handler``. No Scrapy here."""

from __future__ import annotations

import email.utils
import json
import logging
import mimetypes
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

log = logging.getLogger(__name__)
URL_HEADER = "X-Replay-Url"  # the real URL travels in this header; the server never sees a real host


class ReplayError(Exception):
    """A recorded site that cannot be served (missing manifest, bad JSON, a missing file)."""


def url_key(url: str) -> str:
    """Manifest keys match exactly except for the order of query parameters."""
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", query, ""))


@dataclass
class Entry:
    url: str
    file: Path | None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def body(self) -> bytes:
        return self.file.read_bytes() if self.file else b""

    def content_type(self) -> str:
        for k, v in self.headers.items():
            if k.lower() == "content-type":
                return v
        if self.file is None:
            return "text/plain; charset=utf-8"
        guessed = mimetypes.guess_type(self.file.name)[0] or "application/octet-stream"
        return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def load_manifests(folders: list[str | Path]) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for folder in map(Path, folders):
        manifest = folder / "manifest.json"
        try:
            raw = json.loads(manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ReplayError(f"no manifest.json in recorded site {folder}") from None
        except ValueError as exc:
            raise ReplayError(f"{manifest}: not valid JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ReplayError(f"{manifest}: expected an object mapping URLs to entries")
        for url, spec in raw.items():
            entries[url_key(url)] = _entry(manifest, url, spec)
    return entries


def _entry(manifest: Path, url: str, spec: Any) -> Entry:
    if not isinstance(spec, dict) or not url.startswith(("http://", "https://")):
        raise ReplayError(f"{manifest}: entry {url!r} must be an absolute URL mapped to an object")
    file = manifest.parent / spec["file"] if spec.get("file") else None
    if file is not None and (Path(spec["file"]).is_absolute()
                             or not file.resolve().is_relative_to(manifest.parent.resolve())):
        raise ReplayError(f"{manifest}: entry {url}: file {spec['file']!r} is outside the recorded site's folder "
                          f"{manifest.parent} (a recorded site holds its own files: copy them in)")
    if file is not None and not file.is_file():
        raise ReplayError(f"{manifest}: entry {url}: file not found: {file}")
    return Entry(url=url, file=file, status=int(spec.get("status", 200)),
                 headers=dict(spec.get("headers") or {}), delay=float(spec.get("delay", 0)))


@dataclass
class Hit:
    method: str
    url: str
    status: int
    at: float = field(default_factory=time.monotonic)
    headers: dict[str, str] = field(default_factory=dict)


class ReplayServer:
    """Serve recorded sites on 127.0.0.1 in a background thread; ``hits`` lists every request seen."""

    def __init__(self, folders: list[str | Path]) -> None:
        self.entries = load_manifests(folders)
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def address(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> ReplayServer:
        server = self

        class Handler(_Handler):
            replay = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self._httpd.daemon_threads = True
        # Scrapy (asyncio reactor) may open a connection per request: with the default listen backlog of 5,
        # dropped SYNs stalled a crawl 1 s every dozen requests (measured by benchmarks/crawl_overhead.py).
        self._httpd.request_queue_size = 128
        self._httpd.server_bind()
        self._httpd.server_activate()
        threading.Thread(target=self._httpd.serve_forever, name="replay-server", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def record(self, method: str, url: str, status: int, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self.hits.append(Hit(method, url, status, headers=dict(headers or {})))


class _Handler(BaseHTTPRequestHandler):
    replay: ReplayServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: with Nagle's algorithm each response waited ~40 ms for a
    # delayed ACK (measured by benchmarks/crawl_overhead.py), which bounded every replayed crawl.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        log.debug("replay: " + format, *args)

    def do_HEAD(self) -> None:  # stdlib naming
        self.do_GET(send_body=False)

    def do_GET(self, send_body: bool = True) -> None:
        url = self.headers.get(URL_HEADER) or f"http://{self.headers.get('Host', '')}{self.path}"
        entry = self.replay.entries.get(url_key(url))
        if entry is None:
            log.warning("replay: no recording for %s (404)", url)
            return self._send(url, 404, {"Content-Type": "text/plain"}, b"not in the recorded site\n", send_body)
        if entry.delay:
            time.sleep(entry.delay)
        if self._not_modified(entry):
            return self._send(url, 304, {k: v for k, v in entry.headers.items()
                                         if k.lower() in ("etag", "last-modified")}, b"", send_body)
        headers = {**entry.headers, "Content-Type": entry.content_type()}
        self._send(url, entry.status, headers, entry.body(), send_body)

    def _not_modified(self, entry: Entry) -> bool:
        if entry.status != 200:
            return False
        etag = next((v for k, v in entry.headers.items() if k.lower() == "etag"), None)
        if etag and self.headers.get("If-None-Match"):
            return etag in [t.strip() for t in self.headers["If-None-Match"].split(",")]
        modified = next((v for k, v in entry.headers.items() if k.lower() == "last-modified"), None)
        since = self.headers.get("If-Modified-Since")
        if modified and since:
            try:
                return email.utils.parsedate_to_datetime(since) >= email.utils.parsedate_to_datetime(modified)
            except (TypeError, ValueError):
                return False
        return False

    def _send(self, url: str, status: int, headers: dict[str, str], body: bytes, send_body: bool) -> None:
        self.replay.record(self.command, url, status, {k: v for k, v in self.headers.items() if k != URL_HEADER})
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and status != 304:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                log.debug("replay: client went away while reading %s", url)
