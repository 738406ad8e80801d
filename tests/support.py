"""Helpers shared by the tests: paths, the CLI in-process, database queries; offline spider driving and fake
responses come from ``pipeline.tools.offline`` and are re-exported here."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from pipeline.tools.offline import OfflineResult, crawl_offline, fake_response

__all__ = ["CONFIG", "FIXTURES", "REALDATA", "ROOT", "SHARED", "OfflineResult", "crawl_offline", "fake_response",
           "query", "run_cli"]

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SHARED = ROOT.parent / "shared"
REALDATA = SHARED / "realdata"
CONFIG = ROOT / "config.yaml"


def run_cli(*args: str) -> Any:
    """Invoke the CLI in-process (crawl processes still start as subprocesses)."""
    from pipeline.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def query(db_path: Path | str, sql: str, params: tuple = ()) -> list[dict]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()
