"""Issue 22: a corrupted frame in the write-ahead log was silent. SQLite stops reading the log at the first
frame whose checksum fails and drops every later committed frame; quick_check cannot see it. ``status``
verifies the log's checksum chain (storage/wal.py) and reports the database unhealthy, exit 1."""

import json
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

from storage.db import open_db
from storage.wal import FRAME_HEADER, HEADER, wal_damage
from tests.ops import T0, add_run, pub, write_config
from tests.support import run_cli


def runs_in(path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("select count(*) from runs").fetchone()[0]
    finally:
        conn.close()


def copy_with_log(tmp_path):
    """A real database with ten committed runs still in its write-ahead log (a connection holds it open and
    automatic checkpoints are off), copied with its ``-wal`` file as a crash would leave them."""
    path = tmp_path / "live.db"
    db = open_db(path)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.execute("PRAGMA wal_autocheckpoint = 0")
    for n in range(10):
        add_run(db, T0 + timedelta(hours=n), pubs=[pub(100 * n + k, summary=f"Summary {n} " * 30) for k in range(5)])
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    shutil.copy(f"{path}-wal", f"{copy}-wal")
    db.close()
    return copy


def flip_byte_in_frame(copy, frame: int) -> None:
    """Flip one byte in the middle of frame ``frame``'s page (1-based)."""
    wal = f"{copy}-wal"
    with open(wal, "rb") as f:
        page_size = int.from_bytes(f.read(HEADER)[8:12], "big")
    at = HEADER + (frame - 1) * (FRAME_HEADER + page_size) + FRAME_HEADER + page_size // 2
    with open(wal, "r+b") as f:
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0xFF]))


def status_json(tmp_path, db):
    return run_cli("status", "--config", str(write_config(tmp_path)), "--db", str(db), "--json")


def test_status_reports_a_damaged_write_ahead_log(tmp_path):
    copy = copy_with_log(tmp_path)
    frames = (Path(f"{copy}-wal").stat().st_size - HEADER) // (FRAME_HEADER + 4096)
    assert frames >= 20
    middle = frames // 2
    flip_byte_in_frame(copy, middle)
    damage = wal_damage(copy)
    assert damage is not None and damage.frame == middle and damage.frames == frames

    result = status_json(tmp_path, copy)
    assert result.exit_code == 1, result.output
    [entry] = json.loads(result.output)
    assert entry["healthy"] is False
    assert entry["problems"][0].startswith(f"database unhealthy: the write-ahead log is damaged at frame {middle} "
                                           f"of {frames}; committed changes after it would be lost")
    kept = tmp_path / "copy.db-wal.damaged"
    assert f"the damaged log is kept at {kept}" in entry["problems"][0] and kept.is_file()
    # closing the database checkpointed the log's good part and deleted it; the kept copy is still reported
    text = run_cli("status", "--config", str(write_config(tmp_path)), "--db", str(copy))
    assert "write-ahead log is damaged at frame" in text.output and "UNHEALTHY" in text.output
    kept.unlink()
    assert "write-ahead log" not in status_json(tmp_path, copy).output


def test_what_sqlite_silently_drops_after_a_bad_frame(tmp_path):
    """The fault is real: SQLite reads the damaged copy without complaint and with fewer runs."""
    intact = copy_with_log(tmp_path)
    damaged = tmp_path / "damaged.db"
    shutil.copy(intact, damaged)
    shutil.copy(f"{intact}-wal", f"{damaged}-wal")
    flip_byte_in_frame(damaged, 3)
    assert runs_in(damaged) < runs_in(intact) == 10
    conn = sqlite3.connect(tmp_path / "damaged.db")
    assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    conn.close()


def test_an_intact_write_ahead_log_is_healthy(tmp_path):
    copy = copy_with_log(tmp_path)
    assert wal_damage(copy) is None
    result = status_json(tmp_path, copy)
    [entry] = json.loads(result.output)
    assert not any("database" in p for p in entry["problems"]), entry["problems"]


def test_a_damaged_header_or_no_log(tmp_path):
    copy = copy_with_log(tmp_path)
    with open(f"{copy}-wal", "r+b") as f:
        f.seek(16)  # salt-1: the header's checksum no longer matches
        f.write(b"\x00\x00\x00\x01")
    damage = wal_damage(copy)
    assert damage is not None and damage.frame == 0 and "header is damaged" in damage.message()
    assert wal_damage(tmp_path / "no-such.db") is None
