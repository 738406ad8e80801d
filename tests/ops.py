"""Helpers of the operations tests (scheduler, health checks, alerts, status): configs, synthetic runs,
slow or failing copies of the csprp_govuk recorded site, and a local webhook receiver."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import load_config
from pipeline.items.dates import iso
from pipeline.items.normalise import normalise
from pipeline.items.schema import RawItem
from storage.publications import store_batch
from storage.runs import start_run, update_run
from tests.support import CONFIG, FIXTURES

SLUG = "csprp_govuk"
SITE = FIXTURES / SLUG
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday


def write_config(tmp_path: Path, **sections: Any) -> Path:
    """The repository's config with csprp_govuk as the only source, and ``sections`` merged in
    (``crawl={"timeout_seconds": 5}`` updates the crawl section; ``source={...}`` the source block)."""
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    source = {**data["sources"][SLUG], **sections.pop("source", {})}
    data["sources"] = {SLUG: source}
    for key, value in sections.items():
        data[key] = {**(data.get(key) or {}), **value} if isinstance(value, dict) else value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def config_for(tmp_path: Path, **sections: Any):
    return load_config(write_config(tmp_path, **sections))


def pub(n: int, summary: str = "A summary", published: str = "2026-01-05", **kw: Any):
    return normalise(RawItem(source=SLUG, url=f"https://www.gov.uk/government/publications/p{n}",
                             title=f"Publication {n}", summary=summary, published=published, **kw))


def add_run(db, at: datetime, status: str = "ok", items: int = 10, unchanged: int = 0, pages: int | None = None,
            http: dict | None = None, full: bool = True, pubs: list | None = None, message: str = "",
            stats: dict | None = None) -> int:
    """A finished run as the crawl process leaves it; ``pubs`` are stored (seen) during the run."""
    run_id = start_run(db, SLUG, iso(at), pid=None)
    if pubs:
        store_batch(db, pubs, iso(at + timedelta(seconds=30)))
    update_run(db, run_id, status=status, finished_at=iso(at + timedelta(minutes=1)), items=items,
               unchanged=unchanged, pages=items + 1 if pages is None else pages, http_errors=http or {},
               stats=json.dumps({"sgn/full_walk": int(full), **(stats or {})}), message=message)
    return run_id


def slow_site(tmp_path: Path, delay: float = 60) -> Path:
    """A copy of the recorded site whose oldest publication (the last the search page lists) answers after
    ``delay`` seconds, while the others are fetched and stored."""
    site = tmp_path / "slow-site"
    shutil.copytree(SITE, site)
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    oldest = next(u for u in manifest if u.endswith("/child-safeguarding-practice-review-panel-first-national-review"))
    manifest[oldest]["delay"] = delay
    (site / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return site


def set_search_status(site: Path, status: int | None) -> None:
    """Make the search API pages of a copied site answer ``status`` (None: as recorded)."""
    original = json.loads((SITE / "manifest.json").read_text(encoding="utf-8"))
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    for url in manifest:
        if "/api/search.json" in url:
            manifest[url] = {"status": status} if status else original[url]
    (site / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")


class Webhook:
    """A local webhook receiver on 127.0.0.1: answers each POST with the next status of ``statuses``
    (then 200) and keeps the JSON bodies."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[dict] = []
        self.paths: list[str] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # stdlib naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.received.append(json.loads(body))
                hook.paths.append(self.path)
                self.send_response(hook.statuses.pop(0) if hook.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
