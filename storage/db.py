"""Opening the database, and the small helpers every storage module shares."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from storage.migrations import migrations

BUSY_TIMEOUT_MS = 60_000  # an analyst's long read or a second writer waits, never loses a batch


class StorageError(Exception):
    """The database cannot be opened or written; phrased for the operator."""


def open_db(path: str | Path, migrate: bool = True) -> Database:
    """Open (creating if needed) the database in WAL mode and bring its schema up to date."""
    try:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = Database(path)
        db.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.conn.execute("PRAGMA foreign_keys = ON")
        if str(path) != ":memory:":
            db.enable_wal()
        if migrate:
            migrations.apply(db)
    except (sqlite3.DatabaseError, OSError) as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from None
    return db


def insert_row(db: Database, table: str, row: dict[str, Any]) -> int:
    """Insert one row; returns its rowid."""
    cols = ", ".join(f"[{c}]" for c in row)
    cur = db.execute(f"insert into [{table}] ({cols}) values ({','.join('?' * len(row))})", list(row.values()))
    return int(cur.lastrowid or 0)


def marks(values: list[Any] | tuple[Any, ...]) -> str:
    """``?,?,?``: one placeholder per value, for ``in (...)``."""
    return ",".join("?" * len(values))


def first_row(db: Database, sql: str, params: list[Any] | dict[str, Any]) -> dict[str, Any] | None:
    return next(iter(db.query(sql, params)), None)


@contextmanager
def opened(path: str | Path) -> Iterator[Database]:
    """``open_db`` for one ``with`` block: the connection is closed at its end."""
    db = open_db(path)
    try:
        yield db
    finally:
        db.close()
