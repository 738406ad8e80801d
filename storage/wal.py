"""Checking a database's write-ahead log (the ``-wal`` file beside it) as SQLite's file format documents it
(https://www.sqlite.org/fileformat2.html#walformat).

SQLite reads the log up to its first frame whose checksum fails and silently drops every later frame, even
committed ones, and ``PRAGMA quick_check`` cannot see them. This reader verifies the header and each frame's
cumulative checksum and says where the log breaks when committed frames would be lost after the break.
"""

from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

HEADER = 32
FRAME_HEADER = 24
MAGIC_LITTLE = 0x377F0682  # checksums over little-endian words
MAGIC_BIG = 0x377F0683  # checksums over big-endian words
MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class WalDamage:
    """Where the log breaks: ``frame`` (1-based; 0 for the header) of ``frames`` frames in the file."""

    frame: int
    frames: int

    def message(self) -> str:
        if self.frame == 0:
            return (f"the write-ahead log header is damaged; its {self.frames} frames of committed changes "
                    "would be lost")
        return (f"the write-ahead log is damaged at frame {self.frame} of {self.frames}; "
                "committed changes after it would be lost")


def checksum(data: bytes, big_endian: bool, s0: int = 0, s1: int = 0) -> tuple[int, int]:
    """SQLite's WAL checksum of ``data`` (a multiple of 8 bytes), continuing from ``(s0, s1)``."""
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & MASK
        s1 = (s1 + words[i + 1] + s0) & MASK
    return s0, s1


def wal_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}-wal")


def kept_path(db_path: str | Path) -> Path:
    """Where a damaged log is copied: closing the database checkpoints the log's good part and deletes it."""
    return Path(f"{db_path}-wal.damaged")


def wal_damage(db_path: str | Path) -> WalDamage | None:
    """The database's ``-wal`` file checked: see ``log_damage``."""
    return log_damage(wal_path(db_path))


def check_log(db_path: str | Path) -> str | None:
    """None when the database's write-ahead log is sound; else one line saying where it breaks. The damaged
    log is copied beside the database first (the last connection's close would delete it), and that copy
    keeps being reported until the operator removes it."""
    damage = wal_damage(db_path)
    kept = kept_path(db_path)
    if damage is not None:
        try:
            shutil.copyfile(wal_path(db_path), kept)
        except OSError as exc:  # a read-only folder: the damage is still reported
            return f"{damage.message()} (the damaged log could not be kept at {kept}: {exc.strerror})"
    elif kept.exists():
        damage = log_damage(kept)
    if damage is None:
        return None
    return f"{damage.message()} (the damaged log is kept at {kept}; remove it once dealt with)"


def log_damage(log: Path) -> WalDamage | None:
    """None when there is no write-ahead log, an empty one, or one whose committed frames all verify (a torn
    last transaction that never reached its commit frame is not damage); else where it breaks."""
    try:
        data = log.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    if len(data) < HEADER:
        return None
    magic, _version, page_size, _seq, salt1, salt2, c0, c1 = struct.unpack(">8I", data[:HEADER])
    if magic not in (MAGIC_LITTLE, MAGIC_BIG) or not (512 <= page_size <= 65536) or page_size & (page_size - 1):
        return WalDamage(0, 0)
    big = magic == MAGIC_BIG
    frame_size = FRAME_HEADER + page_size
    frames = (len(data) - HEADER) // frame_size
    if checksum(data[:24], big) != (c0, c1):
        return WalDamage(0, frames)
    first_bad: int | None = None
    s0, s1 = c0, c1
    for n in range(frames):
        at = HEADER + n * frame_size
        _page, commit_size, f_salt1, f_salt2, f0, f1 = struct.unpack(">6I", data[at:at + FRAME_HEADER])
        if (f_salt1, f_salt2) != (salt1, salt2):
            break  # frames left from before the log was restarted: not part of it
        computed = checksum(data[at + FRAME_HEADER:at + frame_size], big, *checksum(data[at:at + 8], big, s0, s1))
        if computed != (f0, f1) and first_bad is None:
            first_bad = n + 1
        if first_bad is not None and commit_size:
            return WalDamage(first_bad, frames)  # a commit at or after the break would be dropped
        s0, s1 = f0, f1  # the next frame chains from this one's stored checksum
    return None
