"""Opening the database and every write and named query the pipeline needs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from pipeline.items.schema import Publication
from storage.migrations import migrations

BUSY_TIMEOUT_MS = 60_000  # an analyst's long read or a second writer waits, never loses a batch

TRACKED_FIELDS = ("title", "summary", "body_text", "published_at", "updated_at", "documents", "withdrawn_at")
_PUB_COLUMNS = (
    "id", "source", "url", "title", "summary", "body_text", "content_type", "source_type", "published_at",
    "published_precision", "updated_at", "topics", "documents", "withdrawn_at", "content_hash", "language",
    "links",
)


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


# ---------------------------------------------------------------- publications


@dataclass
class BatchResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


def _row(pub: Publication) -> dict[str, Any]:
    row = {c: getattr(pub, c) for c in _PUB_COLUMNS if c not in ("topics", "documents", "links")}
    row["topics"] = json.dumps(list(pub.topics), ensure_ascii=False)
    row["documents"] = json.dumps([asdict(d) for d in pub.documents], ensure_ascii=False)
    row["links"] = json.dumps(list(pub.links), ensure_ascii=False)
    return row


def store_batch(db: Database, pubs: Iterable[Publication], now: str) -> BatchResult:
    """Upsert publications in one transaction.

    New → version 1. Same content hash → only ``last_seen_at`` moves. Changed → the earlier version is
    copied to ``publication_versions`` with the names of the fields that changed, and ``version`` + 1.
    """
    pubs = list(pubs)
    result = BatchResult()
    if not pubs:
        return result
    with db.atomic():
        marks = ",".join("?" * len(pubs))
        existing = {
            r["id"]: r
            for r in db.query(f"select * from publications where id in ({marks})", [p.id for p in pubs])
        }
        # The same publication reached through another door (a feed's link instead of the API's id) keeps
        # the row it already has: matched by source and canonical URL.
        by_url = {
            (r["source"], r["url"]): r
            for r in db.query(f"select * from publications where url in ({marks})", [p.url for p in pubs])
        }
        for pub in pubs:
            row = _row(pub)
            old = existing.get(pub.id) or by_url.get((pub.source, pub.url))
            if old is not None and old["id"] != pub.id:
                row["id"] = old["id"]
            if old is None:
                row.update(first_seen_at=now, last_seen_at=now, version=1)
                _insert(db, "publications", row)
                result.new += 1
            elif old["content_hash"] == pub.content_hash:
                db.execute("update publications set last_seen_at = ? where id = ?", [now, row["id"]])
                result.unchanged += 1
            else:
                _archive_version(db, old, row, now)
                row.update(last_seen_at=now, version=old["version"] + 1)
                sets = ", ".join(f"[{k}] = ?" for k in row if k != "id")
                db.execute(f"update publications set {sets} where id = ?", [*(v for k, v in row.items()
                                                                                 if k != "id"), row["id"]])
                result.updated += 1
            existing[row["id"]] = by_url[(pub.source, pub.url)] = {**(old or {}), **row}
    return result


def _archive_version(db: Database, old: dict, new: dict, now: str) -> None:
    changed = [f for f in TRACKED_FIELDS if (old.get(f) or None) != (new.get(f) or None)]
    _insert(
        db,
        "publication_versions",
        {
            "publication_id": old["id"], "version": old["version"], "seen_at": old["last_seen_at"],
            "replaced_at": now, "changed_fields": json.dumps(changed), "content_hash": old["content_hash"],
            **{f: old.get(f) for f in TRACKED_FIELDS},
        },
    )


def _insert(db: Database, table: str, row: dict[str, Any]) -> None:
    cols = ", ".join(f"[{c}]" for c in row)
    db.execute(f"insert into [{table}] ({cols}) values ({','.join('?' * len(row))})", list(row.values()))


# ---------------------------------------------------------------- runs

RUN_COUNTERS = ("pages", "items", "new", "updated", "unchanged", "invalid", "errors", "skipped", "duplicates")


def start_run(db: Database, source: str, started_at: str, pid: int | None) -> int:
    with db.atomic():
        cur = db.execute(
            "insert into runs (source, started_at, status, pid) values (?, ?, 'running', ?)",
            [source, started_at, pid],
        )
    return int(cur.lastrowid)


def set_run_pid(db: Database, run_id: int, pid: int) -> None:
    with db.atomic():
        db.execute("update runs set pid = ? where id = ?", [pid, run_id])


def update_run(db: Database, run_id: int, **fields: Any) -> None:
    """Record progress or the end of a run; ``http_errors`` may be given as a dict."""
    if isinstance(fields.get("http_errors"), dict):
        fields["http_errors"] = json.dumps(fields["http_errors"], sort_keys=True)
    if not fields:
        return
    sets = ", ".join(f"[{k}] = ?" for k in fields)
    with db.atomic():
        db.execute(f"update runs set {sets} where id = ?", [*fields.values(), run_id])


def get_run(db: Database, run_id: int) -> dict[str, Any] | None:
    rows = list(db.query("select * from runs where id = ?", [run_id]))
    return rows[0] if rows else None


def close_open_run(db: Database, run_id: int, status: str, message: str, now: str) -> bool:
    """Close a run still marked running (its crawl process died); True if it was still open."""
    with db.atomic():
        cur = db.execute(
            "update runs set status = ?, finished_at = ?, message = trim(message || ' ' || ?) "
            "where id = ? and status = 'running'",
            [status, now, message, run_id],
        )
    return cur.rowcount > 0


def close_dead_runs(db: Database, now: str, is_alive: Callable[[int | None], bool]) -> list[int]:
    """Runs left `running` by a process that no longer exists are closed as `interrupted`."""
    dead = [r["id"] for r in db.query("select id, pid from runs where status = 'running'")
            if not is_alive(r["pid"])]
    for run_id in dead:
        close_open_run(db, run_id, "interrupted", "crawl process ended without closing its run", now)
    return dead


def latest_runs(db: Database) -> list[dict[str, Any]]:
    """Per source: the latest run, the time of its latest successful run and its open alerts."""
    return list(
        db.query(
            """
            select r.*, (select max(finished_at) from runs s where s.source = r.source and s.status = 'ok')
                       as last_success,
                   (select count(*) from alerts a where a.source = r.source and a.resolved_at is null)
                       as open_alerts,
                   (select count(*) from publications p where p.source = r.source) as stored
            from runs r
            where r.id = (select max(id) from runs x where x.source = r.source)
            order by r.source
            """
        )
    )


# ---------------------------------------------------------------- incremental crawling


def load_validators(db: Database, source: str) -> dict[str, tuple[str | None, str | None]]:
    """The ETag and Last-Modified each URL of a source answered with last time."""
    return {r["url"]: (r["etag"], r["last_modified"])
            for r in db.query("select url, etag, last_modified from http_validators where source = ?", [source])}


def save_validators(db: Database, source: str, rows: dict[str, tuple[str | None, str | None]], now: str) -> None:
    with db.atomic():
        db.conn.executemany(
            "insert or replace into http_validators (url, source, etag, last_modified, seen_at) "
            "values (?, ?, ?, ?, ?)",
            [(url, source, etag, modified, now) for url, (etag, modified) in rows.items()],
        )


def known_publications(db: Database, source: str) -> dict[str, str]:
    """Canonical URL → the latest date stored for it (updated or published), for skipping unchanged pages;
    pages skipped on purpose count as known with the date the site gave them."""
    known = {r["url"]: r["source_date"] or "" for r in db.query(
        "select url, source_date from skipped_pages where source = ?", [source])}
    known.update({r["url"]: r["latest"] or "" for r in db.query(
        "select url, max(coalesce(updated_at, ''), coalesce(published_at, '')) as latest "
        "from publications where source = ?", [source])})
    return known


def save_skipped(db: Database, source: str, rows: list[tuple[str, str, str | None]], now: str) -> None:
    """Pages deliberately not stored: ``(url, reason, source_date)``."""
    with db.atomic():
        db.conn.executemany(
            "insert or replace into skipped_pages (url, source, reason, source_date, seen_at) values (?, ?, ?, ?, ?)",
            [(url, source, reason, date, now) for url, reason, date in rows])


def touch_seen(db: Database, source: str, urls: list[str], now: str) -> int:
    """Publications seen unchanged without being parsed (304, or not newer at the source)."""
    touched = 0
    with db.atomic():
        for i in range(0, len(urls), 500):
            part = urls[i : i + 500]
            cur = db.execute(f"update publications set last_seen_at = ? where source = ? and url in "
                             f"({','.join('?' * len(part))})", [now, source, *part])
            touched += cur.rowcount
    return touched


def last_full_walk(db: Database, source: str) -> str | None:
    """When the source's last complete (unconditional) walk that ended ok or partial started."""
    row = db.execute(
        "select max(started_at) from runs where source = ? and status in ('ok', 'partial') "
        "and json_extract(stats, '$.\"sgn/full_walk\"') = 1", [source]).fetchone()
    return row[0] if row else None
