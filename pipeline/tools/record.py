"""``record``: crawl a source's live site with its own spider and production settings, and save every
response as a recorded site (DESIGN 3.3) that ``crawl --replay`` serves back.

The crawl runs in its own process like any crawl (``pipeline.crawl.process --record-dir``), against a
throwaway database, so that it is a full walk and nothing is stored anywhere but the recorded site.
What it keeps of each response is decided inside that process, by ``pipeline.crawl.recording``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipeline.clock import Clock, iso, system_clock

log = logging.getLogger(__name__)
class RecordError(Exception):
    """A recording that could not be made (the crawl process failed to start or ran out of time)."""


# ---------------------------------------------------------------- the command's side

def record_source(config: Any, source: Any, out: str | Path, limit: int | None = None,
                  replay: list[str] | None = None, clock: Clock = system_clock) -> dict[str, Any]:
    """Record ``source`` into ``out``; ``replay`` routes the crawl to recorded sites (for tests only)."""
    from pipeline.replay import ReplayServer
    from storage import db as store

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)  # a new recording replaces the old manifest whole
    started = iso(clock())
    with tempfile.TemporaryDirectory(prefix="sgn-record-") as tmp:
        db_path = str(Path(tmp) / "record.db")
        db = store.open_db(db_path)
        run_id = store.start_run(db, source.slug, started, pid=os.getpid())
        server = ReplayServer(replay).start() if replay else None
        try:
            _crawl(config, source, db_path, run_id, out, limit, server.address if server else None)
        finally:
            if server:
                server.stop()
        run = store.get_run(db, run_id)
        db.close()
    manifest = _read_manifest(out)
    _write_metadata(out, source.slug, started, manifest, limit)
    return {"responses": len(manifest), "items": run.get("items") or 0, "status": run.get("status"),
            "errors": run.get("errors") or 0, "message": run.get("message") or ""}


def _crawl(config: Any, source: Any, db_path: str, run_id: int, out: Path, limit: int | None,
           replay_address: str | None) -> None:
    cmd = [sys.executable, "-m", "pipeline.crawl.process", "--config", config.path, "--source", source.slug,
           "--db", db_path, "--run-id", str(run_id), "--record-dir", str(out.resolve())]
    cmd += ["--record-limit", str(limit)] if limit else []
    cmd += ["--replay-address", replay_address] if replay_address else []
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    try:
        subprocess.run(cmd, env=env, timeout=config.crawl.timeout_seconds, check=False)
    except subprocess.TimeoutExpired:
        raise RecordError(f"recording {source.slug} took longer than crawl.timeout_seconds "
                          f"({config.crawl.timeout_seconds} s); what was recorded is in {out}") from None
    except OSError as exc:
        raise RecordError(f"cannot start the crawl process: {exc}") from None


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

