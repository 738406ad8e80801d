"""``record``: crawl a source's live site with its own spider and production settings, and save every
response as a recorded site (docs/crawling.md, "Recorded sites") that ``crawl --replay`` serves back.

The crawl runs in its own process like any crawl (``pipeline.crawl.process --record-dir``), against a
throwaway database, so that it is a full walk and nothing is stored anywhere but the recorded site.
What it keeps of each response is decided inside that process, by ``pipeline.crawl.recording``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pipeline.clock import Clock, system_clock
from pipeline.config import Config, Source
from pipeline.items.dates import iso
from pipeline.ops.launch import launch_crawl
from storage import runs
from storage.db import open_db

log = logging.getLogger(__name__)


class RecordError(Exception):
    """A recording that could not be made (the crawl process failed to start or ran out of time)."""


# ---------------------------------------------------------------- the command's side

def record_source(config: Config, source: Source, out: str | Path, limit: int | None = None,
                  replay: list[str] | None = None, clock: Clock = system_clock) -> dict[str, Any]:
    """Record ``source`` into ``out``; ``replay`` routes the crawl to recorded sites (for tests only)."""
    from pipeline.replay import ReplayServer

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)  # a new recording replaces the old manifest whole
    started = iso(clock())
    with tempfile.TemporaryDirectory(prefix="sgn-record-") as tmp:
        db_path = str(Path(tmp) / "record.db")
        db = open_db(db_path)
        run_id = runs.start_run(db, source.slug, started, pid=os.getpid())
        folders: list[str | Path] = [*(replay or [])]
        server = ReplayServer(folders).start() if folders else None
        try:
            _crawl(config, source, db_path, run_id, out, limit, server.address if server else None)
        finally:
            if server:
                server.stop()
        run = runs.get_run(db, run_id) or {}
        db.close()
    manifest = _read_manifest(out)
    _write_metadata(out, source.slug, started, manifest, limit)
    return {"responses": len(manifest), "items": run.get("items") or 0, "status": run.get("status"),
            "errors": run.get("errors") or 0, "message": run.get("message") or ""}


def _crawl(config: Config, source: Source, db_path: str, run_id: int, out: Path, limit: int | None,
           replay_address: str | None) -> None:
    extra = ["--record-dir", str(out.resolve()), *(["--record-limit", str(limit)] if limit else [])]
    try:
        proc = launch_crawl(config.path, source.slug, db_path, run_id, replay_address=replay_address, extra=extra)
    except OSError as exc:
        raise RecordError(f"cannot start the crawl process: {exc}") from None
    try:
        proc.wait(timeout=config.crawl.timeout_seconds)
    except (subprocess.TimeoutExpired, KeyboardInterrupt) as exc:
        _stop(proc, config.crawl.kill_grace_seconds)  # the crawl is in a session of its own: Ctrl-C is ours
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise RecordError(f"recording {source.slug} took longer than crawl.timeout_seconds "
                          f"({config.crawl.timeout_seconds} s); what was recorded is in {out}") from None


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM (the crawl writes what it recorded and closes its run), SIGKILL after ``grace`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _read_manifest(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def _write_metadata(out: Path, slug: str, started: str, manifest: dict[str, Any], limit: int | None) -> None:
    metadata = {
        "source": slug,
        "origin": "recorded",
        "recorded_at": started,
        "note": (f"Recorded live with `safeguarding-news record --source {slug}`"
                 + (f" --limit {limit}" if limit else "") + ": bodies as the site served them (decompressed); "
                 "headers kept: Content-Type, ETag, Last-Modified and the Location of redirects. No cookie or "
                 "authorisation header is recorded."),
        "files": {entry["file"]: f"recorded from {url}" for url, entry in sorted(manifest.items()) if "file" in entry},
    }
    (out / "metadata.json").write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

