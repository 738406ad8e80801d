"""Opening the database, and the small helpers every storage module shares."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # sqlite_utils is loaded when a database is opened for writing (a tenth of a second)
    from sqlite_utils import Database

BUSY_TIMEOUT_MS = 60_000  # an analyst's long read or a second writer waits, never loses a batch
BUSY_TIMEOUT_ENV = "SGN_BUSY_TIMEOUT_MS"  # tests shorten it (crawl children inherit the environment)


def busy_timeout_ms() -> int:
    """How long a statement waits for another connection's lock: ``SGN_BUSY_TIMEOUT_MS`` if set, else 60 s."""
    value = os.environ.get(BUSY_TIMEOUT_ENV, "").strip()
    return int(value) if value.isdigit() else BUSY_TIMEOUT_MS


def busy_timeout_text() -> str:
    """The busy timeout as an operator reads it: ``60 s``."""
    return f"{busy_timeout_ms() / 1000:g} s"


class StorageError(Exception):
    """The database cannot be opened or written; phrased for the operator."""


class DatabaseReplaced(StorageError):
    """The database file was deleted or replaced while a connection had it open: writes would be lost."""


def file_identity(path: str | Path) -> tuple[int, int] | None:
    """The file's device and inode (None when it does not exist): what a delete or a replace changes."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def ensure_same_file(db: Database) -> None:
    """Raise DatabaseReplaced when the file ``db`` was opened from is gone or another file now."""
    opened_as = getattr(db, "_sgn_identity", None)
    path = getattr(db, "_sgn_path", None)
    if opened_as is None or path is None:
        return
    now = file_identity(path)
    if now != opened_as:
        what = "gone" if now is None else "another file now"
        raise DatabaseReplaced(f"database {path} was deleted or replaced ({what}) while this process had it open; "
                               "what this run found cannot be stored there")


def open_db(path: str | Path, migrate: bool = True) -> Database:
    """Open (creating if needed) the database in WAL mode and bring its schema up to date."""
    from sqlite_utils import Database

    from storage.migrations import migrations

    try:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = Database(path)
        db.conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
        db.conn.execute("PRAGMA foreign_keys = ON")
        if str(path) != ":memory:":
            db.enable_wal()
        if migrate:
            migrations.apply(db)
        if str(path) != ":memory:":
            db._sgn_path = str(path)  # type: ignore[attr-defined]
            db._sgn_identity = file_identity(path)  # type: ignore[attr-defined]
    except (sqlite3.DatabaseError, OSError) as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from None
    return db


class _ReadView:
    """The read half of ``sqlite_utils.Database`` on a plain sqlite3 connection: ``conn``, ``execute``,
    ``query`` (rows as dicts, as sqlite_utils gives them) and ``close``."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self._sgn_path = path
        self._sgn_identity = file_identity(path)

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params or ())

    def query(self, sql: str, params: Any = ()) -> Iterator[dict[str, Any]]:
        cursor = self.conn.execute(sql, params or ())
        keys = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(keys, row, strict=True))

    def close(self) -> None:
        self.conn.close()


_MIGRATION = re.compile(r"^@migrations\((?:name=[\"'](\w+)[\"'])?[^)]*\)\s*\ndef (\w+)", re.M)


def schema_names() -> set[str] | None:
    """The names of every migration, read from storage/migrations.py's text (importing it loads
    sqlite_utils); None when the file cannot be read."""
    try:
        text = Path(__file__).with_name("migrations.py").read_text(encoding="utf-8")
    except OSError:
        return None
    return {name or func for name, func in _MIGRATION.findall(text)} or None


def open_read(path: str | Path) -> Database:
    """The database for a quick read command (``status``, ``search``): a plain sqlite3 connection when its
    schema is up to date, so that the command does not load sqlite_utils; else ``open_db`` (which migrates,
    or says in one line why it cannot open it). Only reads go through what this returns."""
    wanted = schema_names()
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False)
    except sqlite3.DatabaseError:
        return open_db(path)
    try:
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
        applied = {r[0] for r in conn.execute(
            "select name from _sqlite_migrations where migration_set = 'safeguarding-news'")}
    except sqlite3.DatabaseError:  # no such table (an empty or old file), not a database, locked: the long way
        applied = set()
    if wanted is None or not wanted <= applied:
        conn.close()
        return open_db(path)
    return cast("Database", _ReadView(conn, str(path)))


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


def quick_check(db: Database, limit: int = 5) -> list[str]:
    """SQLite's ``PRAGMA quick_check``: [] when the database is sound, else up to ``limit`` problems (a
    corrupt page, a file that is not a database), each one line."""
    try:
        rows = [str(r[0]) for r in db.conn.execute(f"PRAGMA quick_check({int(limit)})")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows

