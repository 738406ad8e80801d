"""Issue 22: corruption of the database was silent. ``status`` runs SQLite's quick_check and reports an
unhealthy database (every source unhealthy, exit 1), tested on a corrupted copy of a real database file."""

import json
import shutil

from pipeline.ops.status import source_status
from storage.db import open_db, quick_check
from tests.ops import T0, add_run, config_for, pub, write_config
from tests.support import run_cli

PAGE = 4096


def real_database(tmp_path):
    """A database as crawls leave it: runs and a few hundred publications, checkpointed into the file."""
    path = tmp_path / "real.db"
    db = open_db(path)
    add_run(db, T0, items=300, pubs=[pub(n, summary=f"Summary {n} " * 20) for n in range(300)])
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


def corrupted_copy(path, tmp_path):
    copy = tmp_path / "corrupt.db"
    shutil.copy(path, copy)
    size = copy.stat().st_size
    with open(copy, "r+b") as f:
        for page in (size // PAGE // 2, size // PAGE // 2 + 1, size // PAGE - 2):
            f.seek(page * PAGE + 8)
            f.write(b"\xde\xad\xbe\xef" * 256)
    return copy


def test_status_reports_a_corrupted_database(tmp_path):
    path = real_database(tmp_path)
    config = config_for(tmp_path)
    sound = open_db(path)
    assert quick_check(sound) == []
    assert not any("database" in p for e in source_status(config, sound, T0) for p in e["problems"])
    sound.close()

    copy = corrupted_copy(path, tmp_path)
    result = run_cli("status", "--config", str(write_config(tmp_path)), "--db", str(copy), "--json")
    assert result.exit_code == 1, result.output
    [entry] = json.loads(result.output)
    assert entry["healthy"] is False
    assert entry["problems"][0].startswith("database unhealthy (quick_check): ")
    text = run_cli("status", "--config", str(write_config(tmp_path)), "--db", str(copy))
    assert "database unhealthy (quick_check)" in text.output and "UNHEALTHY" in text.output
